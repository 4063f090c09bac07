"""Reading and writing recorded streams, subjects, labels and alert files (the researcher's files).

Stream files are long form, ``time,subject,signal,value``: ``time`` ISO 8601 with ``Z`` or an
offset, rows in any order, CSV or Parquet. A malformed row stops the read with its line number,
unless ``skip_bad`` is set, in which case it is counted (per reason) and left out.
"""

from __future__ import annotations

import csv
import json
import logging
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from kraamwacht.contract import SIGNAL_RANGES, AlertEvent, Signal
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


def read_streams(path: Path, *, skip_bad: bool = False) -> StreamReadResult:
    """Read a stream file (``.csv``, ``.csv.gz`` or ``.parquet``) into per-subject arrays."""
    if not path.exists():
        raise InputFileError(path, None, "file not found")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        header_missing = [c for c in STREAM_COLUMNS if c not in frame.columns]
        if header_missing:
            raise InputFileError(path, None, f"missing columns {header_missing}; expected {','.join(STREAM_COLUMNS)}")
        frame = frame[list(STREAM_COLUMNS)]
        if pd.api.types.is_datetime64_any_dtype(frame["time"]):
            if frame["time"].dt.tz is None:
                raise InputFileError(path, None, "time column has no time zone; store UTC timestamps")
            frame["time"] = frame["time"].dt.tz_convert("UTC").map(lambda t: t.isoformat())
        frame = frame.astype({"time": str, "subject": str, "signal": str, "value": str})
        bad_lines: list[tuple[int, str]] = []
        line_offset = 1  # Parquet rows are reported 1-based
    else:
        frame, bad_lines = _read_csv(path, skip_bad=skip_bad)
        line_offset = 2  # the header is line 1
    skipped: Counter[str] = Counter()
    for line, reason in bad_lines:
        skipped[reason] += 1
        _LOGGER.warning("%s line %d skipped: %s", path, line, reason)
    rows = len(frame) + len(bad_lines)
    frame = frame.reset_index(drop=True)
    times, values, problems = _parse_columns(frame)
    if problems.any():
        reasons = _row_reasons(frame, times, values, problems)
        first = int(np.flatnonzero(problems)[0])
        if not skip_bad:
            raise InputFileError(
                path, first + line_offset, reasons[first] + " (use --skip-bad to count and skip such rows)"
            )
        for index in np.flatnonzero(problems):
            skipped[reasons[int(index)]] += 1
            _LOGGER.warning("%s line %d skipped: %s", path, int(index) + line_offset, reasons[int(index)])
        keep = ~problems
        frame, times, values = frame[keep], times[keep], values[keep]
    recordings: dict[str, Recording] = {}
    subjects = frame["subject"].to_numpy()
    signals = frame["signal"].to_numpy()
    order = np.lexsort((signals, subjects))
    subjects, signals, times, values = subjects[order], signals[order], times[order], values[order]
    keys = np.char.add(np.char.add(subjects.astype(str), "\x00"), signals.astype(str)) if len(order) else np.array([])
    boundaries = np.flatnonzero(keys[1:] != keys[:-1]) + 1 if len(order) else np.array([], dtype=int)
    starts = np.concatenate(([0], boundaries)) if len(order) else np.array([], dtype=int)
    ends = np.concatenate((boundaries, [len(order)])) if len(order) else np.array([], dtype=int)
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        recordings.setdefault(str(subjects[s]), {})[str(signals[s])] = (times[s:e], values[s:e])
    return StreamReadResult(recordings, rows, skipped)


def _read_csv(path: Path, *, skip_bad: bool) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    bad: list[tuple[int, str]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                on_bad_lines="warn" if skip_bad else "error",
                engine="c",
            )
        except pd.errors.ParserError as exc:
            line = _line_from_message(str(exc))
            raise InputFileError(
                path, line, f"wrong number of fields ({exc}); use --skip-bad to count and skip"
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise InputFileError(
                path, None, "the file is empty; expected the header time,subject,signal,value"
            ) from exc
    for warning in caught:
        for text in str(warning.message).splitlines():
            if text.startswith("Skipping line"):
                bad.append((_line_from_message(text) or 0, "wrong number of fields"))
    if tuple(frame.columns) != STREAM_COLUMNS:
        raise InputFileError(path, 1, f"header is {','.join(frame.columns)}; expected {','.join(STREAM_COLUMNS)}")
    return frame, bad


def _line_from_message(text: str) -> int | None:
    import re

    match = re.search(r"line (\d+)", text)
    return int(match.group(1)) if match else None


def _parse_columns(frame: pd.DataFrame) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    time_text = frame["time"].astype(str)
    has_zone = time_text.str.contains(_TIME_WITH_ZONE, regex=True).to_numpy()
    parsed = pd.to_datetime(time_text.where(has_zone, None), utc=True, format="ISO8601", errors="coerce")
    # seconds since the epoch whatever resolution pandas chose; NaT becomes NaN
    times = ((parsed - _EPOCH) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64)
    known = frame["signal"].isin([s.value for s in Signal]).to_numpy()
    problems = np.isnan(times) | ~np.isfinite(values) | ~known | (frame["subject"].str.len() == 0).to_numpy()
    ranged = np.zeros(len(frame), dtype=bool)
    for signal, (low, high) in SIGNAL_RANGES.items():
        rows = (frame["signal"] == signal.value).to_numpy()
        with np.errstate(invalid="ignore"):
            ranged |= rows & ((values < low) | (values > high))
    return times, values, problems | ranged


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
            reasons[index] = f"time {row['time'][:40]!r} is not ISO 8601 with Z or an offset"
        elif not np.isfinite(values[index]):
            reasons[index] = f"value {row['value'][:40]!r} is not a finite number"
        else:
            low, high = SIGNAL_RANGES[Signal(row["signal"])]
            reasons[index] = f"{row['signal']} {values[index]:g} outside {low:g}–{high:g}"
    return reasons


def write_streams(path: Path, chunks: Iterable[tuple[str, str, FloatArray, FloatArray]]) -> int:
    """Write ``(subject, signal, t_s, values)`` chunks as one stream file (CSV, or Parquet by suffix)."""
    frames = []
    for subject, signal, t_s, values in chunks:
        stamps = np.datetime_as_string(np.round(np.asarray(t_s) * 1000).astype("datetime64[ms]"), unit="ms")
        frames.append(
            pd.DataFrame({"time": np.char.add(stamps, "Z"), "subject": subject, "signal": signal, "value": values})
        )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(STREAM_COLUMNS))
    if path.suffix == ".parquet":
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
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputFileError(path, line, f"{column} {text!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise InputFileError(path, line, f"{column} {text!r} needs Z or a UTC offset")
    return moment.timestamp()


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
                    t = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
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
            writer.writerow([c.subject, _iso(c.start_s), _iso(c.end_s), c.windows, c.windows_with_data])


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


def _iso(t_s: float) -> str:
    return datetime.fromtimestamp(t_s, tz=UTC).isoformat().replace("+00:00", "Z")
