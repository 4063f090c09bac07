"""Replay recorded streams through exactly the detectors that run live, and sweep thresholds."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from kraamwacht.alerts import detect_alerts
from kraamwacht.contract import AlertEvent, parse_time
from kraamwacht.errors import InvalidValueError
from kraamwacht.recordings import Recording
from kraamwacht.signal import DetectorConfig
from kraamwacht.signal.evaluate import Alarm, Coverage, Label, Report, evaluate

__all__ = ["ReplayResult", "SweepRow", "grid_settings", "parse_grid", "raised_alarms", "replay", "sweep"]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    events: list[AlertEvent]
    coverage: dict[str, Coverage]
    samples: int


def replay(
    recordings: Mapping[str, Recording],
    cfg: DetectorConfig,
    *,
    subjects: Mapping[str, Mapping[str, str]] | None = None,
    progress: Callable[[Iterable[str]], Iterable[str]] = lambda it: it,
) -> ReplayResult:
    """Batch detection per subject. Subjects listed with a role other than ``mother`` are skipped."""
    events: list[AlertEvent] = []
    coverage: dict[str, Coverage] = {}
    samples = 0
    epoch_s = cfg.epoch.epoch_s
    for subject in progress(sorted(recordings)):
        role = (subjects or {}).get(subject, {}).get("role") or "mother"
        if role != "mother":
            continue
        result = detect_alerts(recordings[subject], cfg, subject=subject)
        samples += result.n_samples
        frame = result.frame
        if frame.epoch.size == 0:
            continue
        coverage[subject] = coverage_of(subject, frame.time_s, frame.temp_c, epoch_s=epoch_s)
        delivered = (subjects or {}).get(subject, {}).get("delivered_at")
        for event in result.events:
            if delivered:
                born = parse_time(delivered, what="delivered_at")
                hours = round((event.time - born).total_seconds() / 3600.0, 1)
                event = event.model_copy(update={"values": {**event.values, "postpartum_h": hours}})
            events.append(event)
    return ReplayResult(events, coverage, samples)


AVAILABILITY_WINDOW_S = 600


def coverage_of(subject: str, time_s: np.ndarray, temp_c: np.ndarray, *, epoch_s: int) -> Coverage:
    """The monitored span and its 10-minute windows that hold at least one temperature value."""
    window = (time_s // AVAILABILITY_WINDOW_S).astype(np.int64)
    with_data = np.unique(window[~np.isnan(temp_c)]).size
    return Coverage(
        subject,
        float(time_s[0]),
        float(time_s[-1] + epoch_s),
        int(window[-1] - window[0] + 1),
        int(with_data),
    )


def parse_grid(specs: Sequence[str], base: DetectorConfig) -> dict[str, list[float | int]]:
    """``["rise.k_c=0.3,0.4", ...]`` → ``{"rise.k_c": [0.3, 0.4]}``, typed like the parameter."""
    grid: dict[str, list[float | int]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        section, _, name = key.strip().partition(".")
        if not sep or not name or not hasattr(base, section):
            raise InvalidValueError(f"grid {spec!r} must look like section.key=v1,v2 (e.g. rise.k_c=0.3,0.4)")
        kinds = {f.name: type(getattr(getattr(base, section), f.name)) for f in fields(getattr(base, section))}
        if name not in kinds:
            raise InvalidValueError(f"unknown parameter {key!r}; known in [{section}]: {sorted(kinds)}")
        cast = kinds[name]
        try:
            grid[key.strip()] = [cast(float(v)) if cast is int else cast(v) for v in values.split(",") if v.strip()]
        except ValueError as exc:
            raise InvalidValueError(f"grid {spec!r}: {exc}") from exc
        if not grid[key.strip()]:
            raise InvalidValueError(f"grid {spec!r} has no values")
    return grid


@dataclass(frozen=True, slots=True)
class SweepRow:
    overrides: dict[str, float | int]
    report: Report


def grid_settings(grid: Mapping[str, Sequence[float | int]]) -> list[dict[str, float | int]]:
    """Every combination of the grid, in the order the sweep table lists them."""
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def raised_alarms(result: ReplayResult) -> list[Alarm]:
    """A replay's raised alerts as :func:`evaluate` scores them."""
    return [Alarm(e.subject, e.time.timestamp(), e.rule) for e in result.events if e.event == "raised"]


def sweep(
    recordings: Mapping[str, Recording],
    labels: Mapping[str, Label],
    base: DetectorConfig,
    grid: Mapping[str, Sequence[float | int]],
    *,
    rules: frozenset[str] | None,
    onset_tolerance_h: float = 6.0,
    post_reference_h: float = 24.0,
    progress: Callable[[Iterable[dict[str, float | int]]], Iterable[dict[str, float | int]]] = lambda it: it,
) -> list[SweepRow]:
    """Evaluate every combination of the grid over recordings read once."""
    rows: list[SweepRow] = []
    for overrides in progress(grid_settings(grid)):
        result = replay(recordings, base.with_overrides(overrides))
        report = evaluate(
            raised_alarms(result),
            labels,
            result.coverage,
            rules=rules,
            onset_tolerance_h=onset_tolerance_h,
            post_reference_h=post_reference_h,
        )
        rows.append(SweepRow(overrides, report))
    return rows


SWEEP_METRICS = (
    "sensitivity",
    "lead_h_median",
    "lead_h_q1",
    "lead_h_q3",
    "false_alarms_per_subject_day",
    "ppv",
    "alarms",
)


def write_sweep_table(path: Path, parameters: Sequence[str], rows: Sequence[SweepRow]) -> None:
    """The sweep as CSV: one row per setting, its parameter values, then :data:`SWEEP_METRICS`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*parameters, *SWEEP_METRICS])
        for row in rows:
            values = row.report.as_dict()
            writer.writerow([*row.overrides.values(), *(values[m] for m in SWEEP_METRICS)])
