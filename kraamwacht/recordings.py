"""Reading and writing recorded streams, subjects, labels and alert files (the researcher's files).

Stream files are long form, ``time,subject,signal,value``: ``time`` ISO 8601 with ``Z`` or an
offset, rows in any order, CSV or Parquet. A malformed row stops the read with its line number,
unless ``skip_bad`` is set, in which case it is counted (per reason) and left out.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from kraamwacht.contract import (
    AlertEvent,
    Signal,
    ThermometerMethod,
    format_timestamp,
    out_of_range,
    parse_time,
    range_problem,
)
from kraamwacht.datasets import Location, dataset_subjects, ensure_empty_dataset, is_dataset, is_url
from kraamwacht.errors import InputFileError
from kraamwacht.signal.evaluate import Alarm, Coverage, Label

__all__ = [
    "Recording",
    "StreamReadResult",
    "read_alerts",
    "read_coverage",
    "read_labels",
    "read_streams",
    "read_subjects",
    "write_alerts",
    "write_coverage",
    "write_streams",
]

_LOGGER = logging.getLogger(__name__)
STREAM_COLUMNS = ("time", "subject", "signal", "value")
# optional fifth column: where a thermometer reading was taken (rectal, oral, tympanic, axillary);
# empty means the configured default (rectal in Dutch kraamzorg). Recordings key such a reading
# as ``thermometer_c:<method>``, which the detectors understand.
METHOD_COLUMN = "method"
_METHODS = frozenset(m.value for m in ThermometerMethod)
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
_TIME_WITH_ZONE = r"(?:Z|[+-]\d{2}:?\d{2})$"

FloatArray = NDArray[np.float64]
Recording = dict[str, tuple[FloatArray, FloatArray]]


@dataclass(slots=True)
class StreamReadResult:
    """Per-subject recordings plus the rows that were skipped, counted by reason."""

    recordings: dict[str, Recording]
    rows: int
    skipped: Counter[str] = field(default_factory=Counter)


CHUNK_ROWS = 1_000_000


def read_streams(
    path: Location,
    *,
    skip_bad: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[Iterable[pd.DataFrame]], Iterable[pd.DataFrame]] = lambda it: it,
    subjects: Sequence[str] | None = None,
) -> StreamReadResult:
    """Read a stream file (``.csv``, ``.csv.gz``, ``.parquet`` or a handover bundle ``.json``) into per-subject arrays.

    A folder, or an fsspec URL (``s3://bucket/cohort``, :mod:`kraamwacht.datasets`), is a Parquet
    dataset partitioned by subject (``subject=<id>/...``, as ``export`` writes it); ``subjects``
    then reads only those partitions (a worker reads its own block).
    CSV is read ``chunk_rows`` at a time and only float arrays are kept, so memory grows with the
    number of samples (16 bytes each), not with the size of the text.
    """
    if not is_url(path) and not Path(path).exists():
        raise InputFileError(path, None, "file not found")
    parts: dict[tuple[str, str], list[tuple[FloatArray, FloatArray]]] = {}
    skipped: Counter[str] = Counter()
    rows = 0
    bad_lines: list[int] = []
    if is_dataset(path):
        chunks: Iterable[pd.DataFrame] = [_parquet_frame(path, subjects=subjects)]
        first_line = 1
    elif (path := Path(path)).suffix == ".parquet":
        chunks = [_parquet_frame(path)]
        first_line = 1  # Parquet rows are reported 1-based
    elif path.suffix == ".json":  # a FHIR handover bundle (kraamwacht handover): its single readings
        chunks = [_bundle_frame(path)]
        first_line = 1
    else:
        chunks = _csv_chunks(path, skip_bad=skip_bad, chunk_rows=chunk_rows, bad_lines=bad_lines)
        first_line = 2  # the header is line 1
    for frame in progress(chunks):
        rows += len(frame)
        times, values, problems = _parse_columns(frame)
        if problems.any():
            reasons = _row_reasons(frame, times, values, problems)
            for position in np.flatnonzero(problems).tolist():
                line = _line_of(int(frame.index[position]) + first_line, bad_lines)
                if not skip_bad:
                    raise InputFileError(
                        path, line, reasons[position] + " (use --skip-bad to count and skip such rows)"
                    )
                skipped[reasons[position]] += 1
                _LOGGER.warning("%s line %d skipped: %s", path, line, reasons[position])
            keep = ~problems
            frame, times, values = frame[keep], times[keep], values[keep]
        _collect(_with_method_keys(frame), times, values, parts)
    for line in bad_lines:
        skipped["wrong number of fields"] += 1
        _LOGGER.warning("%s line %d skipped: wrong number of fields", path, line)
    rows += len(bad_lines)
    recordings: dict[str, Recording] = {}
    for (subject, signal), pieces in sorted(parts.items()):
        t = np.concatenate([p[0] for p in pieces])
        v = np.concatenate([p[1] for p in pieces])
        recordings.setdefault(subject, {})[signal] = (t, v)
    return StreamReadResult(recordings, rows, skipped)


def _collect(
    frame: pd.DataFrame,
    times: FloatArray,
    values: FloatArray,
    parts: dict[tuple[str, str], list[tuple[FloatArray, FloatArray]]],
) -> None:
    """Append this chunk's samples per (subject, signal), grouping by integer codes."""
    if not len(frame):
        return
    subject_codes, subjects = pd.factorize(frame["subject"])
    signal_codes, signals = pd.factorize(frame["signal"])
    key = subject_codes.astype(np.int64) * len(signals) + signal_codes
    order = np.argsort(key, kind="stable")
    key, times, values = key[order], times[order], values[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(key)) + 1))
    ends = np.concatenate((starts[1:], [key.size]))
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        subject = str(subjects[key[s] // len(signals)])
        signal = str(signals[key[s] % len(signals)])
        parts.setdefault((subject, signal), []).append((times[s:e], values[s:e]))


def _with_method_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Thermometer rows with a method get the signal key ``thermometer_c:<method>``."""
    if METHOD_COLUMN not in frame.columns:
        return frame
    method = frame[METHOD_COLUMN].fillna("").astype(str)
    keyed = (frame["signal"] == Signal.THERMOMETER_C.value) & (method != "")
    if not keyed.any():
        return frame
    frame = frame.copy()
    frame.loc[keyed, "signal"] = frame.loc[keyed, "signal"] + ":" + method[keyed]
    return frame


def _line_of(row_line: int, bad_lines: list[int]) -> int:
    """The file line of a data row, counting the malformed lines the parser skipped before it."""
    line = row_line
    for bad in sorted(bad_lines):
        if bad <= line:
            line += 1
    return line


def _bundle_frame(path: Path) -> pd.DataFrame:
    """A handover bundle's spot checks and bilirubin readings as stream rows (strings, as from CSV)."""
    import json

    from kraamwacht.handover import bundle_rows

    try:
        bundle = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(path, None, f"not JSON: {exc}") from exc
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InputFileError(path, None, "a .json stream must be a FHIR Bundle (kraamwacht handover)")
    frame = bundle_rows(bundle)
    # a stream's method column belongs to thermometer readings; bilirubin's TcB/serum stays in the bundle
    frame[METHOD_COLUMN] = frame[METHOD_COLUMN].where(frame["signal"] == "thermometer_c", "").fillna("")
    return frame.astype(str)


def _parquet_frame(path: Location, *, subjects: Sequence[str] | None = None) -> pd.DataFrame:
    if is_dataset(path) and not dataset_subjects(path):
        raise InputFileError(path, None, "not a stream dataset: no subject=<id> folders (kraamwacht export --out DIR)")
    filters = [("subject", "in", list(subjects))] if subjects is not None else None
    try:
        frame = pd.read_parquet(path, filters=filters)
    except OSError as exc:  # an object store that refuses or cannot be reached, a damaged file
        raise InputFileError(path, None, f"cannot read the Parquet data: {exc}") from None
    missing = [c for c in STREAM_COLUMNS if c not in frame.columns]
    if missing:
        raise InputFileError(path, None, f"missing columns {missing}; expected {','.join(STREAM_COLUMNS)}")
    frame = frame[[*STREAM_COLUMNS, *([METHOD_COLUMN] if METHOD_COLUMN in frame.columns else [])]]
    if pd.api.types.is_datetime64_any_dtype(frame["time"]):
        if frame["time"].dt.tz is None:
            raise InputFileError(path, None, "time column has no time zone; store UTC timestamps")
    else:
        frame["time"] = frame["time"].astype(str)
    # typed columns stay typed (timestamps, numbers): turning 10⁸ of them into text and back was most of a read
    if not isinstance(frame["subject"].dtype, pd.CategoricalDtype):  # a partition key: a category, kept so
        frame["subject"] = frame["subject"].astype(str)
    frame["signal"] = frame["signal"].astype(str)
    if not pd.api.types.is_numeric_dtype(frame["value"]):
        frame["value"] = frame["value"].astype(str)
    if METHOD_COLUMN in frame.columns:
        frame[METHOD_COLUMN] = frame[METHOD_COLUMN].fillna("").astype(str)
    return frame


def _csv_chunks(path: Path, *, skip_bad: bool, chunk_rows: int, bad_lines: list[int]) -> Iterator[pd.DataFrame]:
    """Chunks of the CSV as strings; lines with a wrong number of fields are appended to ``bad_lines``."""
    try:
        reader = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            on_bad_lines="warn" if skip_bad else "error",
            engine="c",
            chunksize=chunk_rows,
        )
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(path, None, "the file is empty; expected the header time,subject,signal,value") from exc
    while True:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                frame = next(reader)
            except StopIteration:
                return
            except pd.errors.ParserError as exc:
                line = _line_from_message(str(exc))
                raise InputFileError(
                    path, line, f"wrong number of fields ({exc}); use --skip-bad to count and skip"
                ) from exc
        for warning in caught:
            for text in str(warning.message).splitlines():
                if text.startswith("Skipping line"):
                    bad_lines.append(_line_from_message(text) or 0)
        if tuple(frame.columns) not in (STREAM_COLUMNS, (*STREAM_COLUMNS, METHOD_COLUMN)):
            expected = ",".join(STREAM_COLUMNS)
            raise InputFileError(path, 1, f"header is {','.join(frame.columns)}; expected {expected}[,method]")
        yield frame


def _line_from_message(text: str) -> int | None:
    match = re.search(r"line (\d+)", text)
    return int(match.group(1)) if match else None


def _parse_columns(frame: pd.DataFrame) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    if pd.api.types.is_datetime64_any_dtype(frame["time"]):  # Parquet timestamps (UTC, checked on reading)
        parsed = frame["time"]
    else:  # text: ISO 8601, and only with a zone
        time_text = frame["time"].astype(str)
        has_zone = time_text.str.contains(_TIME_WITH_ZONE, regex=True).to_numpy()
        parsed = pd.to_datetime(time_text.where(has_zone, None), utc=True, format="ISO8601", errors="coerce")
    # seconds since the epoch whatever resolution pandas chose; NaT becomes NaN
    times = ((parsed - _EPOCH) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64)
    known = frame["signal"].isin([s.value for s in Signal]).to_numpy()
    problems = np.isnan(times) | ~np.isfinite(values) | ~known | (frame["subject"].str.len() == 0).to_numpy()
    if METHOD_COLUMN in frame.columns:
        problems |= _bad_method(frame)
    ranged = np.zeros(len(frame), dtype=bool)
    for signal in Signal:
        rows = (frame["signal"] == signal.value).to_numpy()
        ranged |= rows & out_of_range(signal, values)
    return times, values, problems | ranged


def _bad_method(frame: pd.DataFrame) -> NDArray[np.bool_]:
    """A method on a row that is not a thermometer reading, or one that is not a known method."""
    method = frame[METHOD_COLUMN].fillna("").astype(str)
    thermometer = frame["signal"] == Signal.THERMOMETER_C.value
    given = method != ""
    return (given & (~thermometer | ~method.isin(_METHODS))).to_numpy()


def _row_reasons(
    frame: pd.DataFrame, times: FloatArray, values: FloatArray, problems: NDArray[np.bool_]
) -> dict[int, str]:
    reasons: dict[int, str] = {}
    known = {s.value for s in Signal}
    for index in np.flatnonzero(problems).tolist():
        row = frame.iloc[index]
        if not row["subject"]:
            reasons[index] = "empty subject"
        elif row["signal"] not in known:
            reasons[index] = f"unknown signal {row['signal'][:40]!r}"
        elif np.isnan(times[index]):
            reasons[index] = f"time {str(row['time'])[:40]!r} is not ISO 8601 with Z or an offset"
        elif METHOD_COLUMN in frame.columns and bool(_bad_method(frame.iloc[[index]])[0]):
            reasons[index] = (
                f"method {row[METHOD_COLUMN][:20]!r}: only thermometer_c takes one, of {', '.join(sorted(_METHODS))}"
            )
        elif not np.isfinite(values[index]):
            reasons[index] = f"value {str(row['value'])[:40]!r} is not a finite number"
        else:
            reasons[index] = range_problem(Signal(row["signal"]), float(values[index])) or "out of range"
    return reasons


def write_streams(path: Location, chunks: Iterable[tuple[str, str, FloatArray, FloatArray]]) -> int:
    """Write ``(subject, signal, t_s, values)`` chunks as one stream file (CSV, or Parquet by suffix), or as
    a Parquet dataset partitioned by subject when ``path`` has no suffix (a folder) or is a URL.

    A ``thermometer_c:<method>`` key is written as ``thermometer_c`` with its method in the
    ``method`` column (present only when some reading has one).
    """
    frames = []
    for subject, key, t_s, values in chunks:
        signal, _, method = key.partition(":")
        frames.append(
            pd.DataFrame(
                {
                    "time": np.round(np.asarray(t_s) * 1000).astype("datetime64[ms]"),
                    "subject": subject,
                    "signal": signal,
                    "value": values,
                    METHOD_COLUMN: method,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(STREAM_COLUMNS))
    if METHOD_COLUMN in frame.columns and not (frame[METHOD_COLUMN] != "").any():
        frame = frame.drop(columns=[METHOD_COLUMN])
    dataset = is_url(path) or Path(path).suffix == ""  # partitioned by subject, for workers to read in parallel
    parquet = dataset or Path(path).suffix == ".parquet"
    if len(frame) and parquet:
        frame["time"] = pd.to_datetime(frame["time"]).dt.tz_localize("UTC")  # Parquet keeps UTC timestamps, in ms
    elif len(frame):  # text: ISO 8601 in ms with Z
        frame["time"] = np.char.add(np.datetime_as_string(frame["time"].to_numpy(), unit="ms"), "Z")
    if dataset:
        ensure_empty_dataset(path)
        try:
            frame.to_parquet(path, index=False, partition_cols=["subject"])
        except OSError as exc:
            raise InputFileError(path, None, f"cannot write the dataset: {exc}") from None
    elif parquet:
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, float_format="%.6g")
    return len(frame)


def read_subjects(path: Path) -> dict[str, dict[str, str]]:
    """``subject,delivered_at[,role,gestational_age_w]`` → rows by subject (validated)."""
    out: dict[str, dict[str, str]] = {}
    for line, row in _csv_rows(path, required=("subject", "delivered_at")):
        _parse_time(path, line, row["delivered_at"], column="delivered_at")
        out[row["subject"]] = row
    return out


def read_labels(path: Path) -> dict[str, Label]:
    """``subject,febrile,onset,reference`` → labels; ``onset``/``reference`` may be empty."""
    out: dict[str, Label] = {}
    for line, row in _csv_rows(path, required=("subject", "febrile", "onset", "reference")):
        febrile_text = row["febrile"].strip().lower()
        if febrile_text not in {"0", "1", "true", "false", "yes", "no"}:
            raise InputFileError(path, line, f"febrile must be 0/1, got {row['febrile']!r}")
        febrile = febrile_text in {"1", "true", "yes"}
        onset = _parse_time(path, line, row["onset"], column="onset") if row["onset"] else None
        reference = _parse_time(path, line, row["reference"], column="reference") if row["reference"] else None
        if febrile and onset is None:
            raise InputFileError(path, line, "a febrile subject needs an onset time")
        out[row["subject"]] = Label(row["subject"], febrile, onset, reference)
    return out


def _csv_rows(path: Path, *, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    if not path.exists():
        raise InputFileError(path, None, "file not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InputFileError(path, 1, f"missing columns {missing}; expected {','.join(required)}")
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise InputFileError(path, reader.line_num, "wrong number of fields")
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}


def _parse_time(path: Path, line: int, text: str, *, column: str) -> float:
    try:
        return parse_time(text, what=column).timestamp()
    except ValueError as exc:
        raise InputFileError(path, line, str(exc)) from exc


def write_alerts(path: Path, events: Iterable[AlertEvent]) -> int:
    """One JSON object per line per alert event, sorted by time then subject."""
    ordered = sorted(events, key=lambda e: (e.time, e.subject, e.alert_id))
    with path.open("w", encoding="utf-8") as handle:
        for event in ordered:
            handle.write(json.dumps(event.to_json_dict(), ensure_ascii=False) + "\n")
    return len(ordered)


def read_alerts(path: Path) -> list[Alarm]:
    """Raised events of an ALERTS.jsonl as alarms (other events are not new alarms)."""
    if not path.exists():
        raise InputFileError(path, None, "file not found")
    alarms: list[Alarm] = []
    with path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                event: Mapping[str, Any] = json.loads(text)
                if event["event"] == "raised":
                    t = parse_time(str(event["time"]), what="time")
                    alarms.append(Alarm(str(event["subject"]), t.timestamp(), str(event["rule"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise InputFileError(path, line, f"not an alert event: {exc}") from exc
    return alarms


COVERAGE_COLUMNS = ("subject", "start", "end", "windows", "windows_with_data")


def coverage_path(alerts_path: Path) -> Path:
    """Where replay writes what it monitored, next to the alerts."""
    return alerts_path.with_name(alerts_path.name + ".coverage.csv")


def write_coverage(path: Path, coverage: Iterable[Coverage]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COVERAGE_COLUMNS)
        for c in coverage:
            writer.writerow(
                [c.subject, format_timestamp(c.start_s), format_timestamp(c.end_s), c.windows, c.windows_with_data]
            )


def read_coverage(path: Path) -> dict[str, Coverage]:
    out: dict[str, Coverage] = {}
    for line, row in _csv_rows(path, required=COVERAGE_COLUMNS):
        try:
            out[row["subject"]] = Coverage(
                row["subject"],
                _parse_time(path, line, row["start"], column="start"),
                _parse_time(path, line, row["end"], column="end"),
                int(row["windows"]),
                int(row["windows_with_data"]),
            )
        except ValueError as exc:
            raise InputFileError(path, line, str(exc)) from exc
    return out
