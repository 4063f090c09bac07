"""The board's reads from storage: newest values and sparklines for many mothers at once.

Through the :class:`~kraamwacht.storage.SampleStore` interface only, so the board works the same
on every store: newest values and one-minute means per mother (on SQLite index seeks and range
scans, on InfluxDB ``LAST``/``MEAN``). A board with 200 episodes must not read 200 × 6 hours of
1 Hz samples on every refresh: the first version did, with aggregate queries, and took 22 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from kraamwacht.storage import SampleStore

__all__ = ["SPARK_CHARS", "latest_values", "sparkline", "temperature_trend"]

SPARK_CHARS = "▁▂▃▄▅▆▇█"
SIGNALS = ("temperature_c", "heart_rate_bpm")


def latest_values(
    store: SampleStore, subjects: Sequence[str], *, now: datetime, window: timedelta = timedelta(hours=6)
) -> dict[str, dict[str, tuple[float, float]]]:
    """subject → signal → (time_s, value) of the newest sample within ``window``."""
    out: dict[str, dict[str, tuple[float, float]]] = {s: {} for s in subjects}
    if not subjects:
        return out
    since = (now - window).timestamp()
    for subject in subjects:  # one index seek per subject and signal
        for signal in SIGNALS:
            if (newest := store.latest(subject, signal, since_s=since)) is not None:
                out[subject][signal] = newest
    return out


def temperature_trend(
    store: SampleStore, subjects: Sequence[str], *, now: datetime, hours: int = 6, step_min: int = 30
) -> dict[str, list[float]]:
    """subject → mean temperature of the last minute of each ``step_min`` step over the last ``hours``
    (steps without data left out)."""
    out: dict[str, list[float]] = {s: [] for s in subjects}
    if not subjects:
        return out
    start = now.timestamp() - hours * 3600
    for subject in subjects:  # the mean of one minute at each step: index range scans, not 6 h of samples
        for k in range(hours * 60 // step_min):
            t0 = start + (k + 1) * step_min * 60 - 60
            if (mean := store.mean(subject, "temperature_c", start_s=t0, end_s=t0 + 60)) is not None:
                out[subject].append(mean)
    return out


def sparkline(values: Sequence[float]) -> str:
    """A text sparkline (cheap to draw 200 of them): ``▂▃▅▇``."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    return "".join(SPARK_CHARS[min(7, int((v - lo) / span * 7.999))] for v in values)
