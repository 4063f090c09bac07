"""Each mother's baseline as serve computes it, kept for the board (one truth on every screen).

The detectors' per-epoch frames pass through here; one point every ``step_s`` over the last
``keep_h`` hours is kept per subject and published retained (:class:`BaselineMessage`), so the
board draws serve's baseline, with serve's configuration, instead of recomputing one.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from kraamwacht.contract import BaselineMessage
from kraamwacht.signal import DetectorConfig, EpochFrame

__all__ = ["BaselineSeries"]

Point = tuple[float | None, float | None]


def _value(x: float) -> float | None:
    return round(float(x), 3) if math.isfinite(x) else None


class BaselineSeries:
    """Points ``t_s → (baseline_skin_c, hr_baseline_bpm)`` per (episode, subject), and which changed."""

    def __init__(self, cfg: DetectorConfig, *, step_s: int = 600, keep_h: float = 48.0) -> None:
        self.cfg = cfg
        self.step_s = step_s
        self.keep_s = keep_h * 3600.0
        self._points: dict[tuple[str, str], dict[float, Point]] = {}
        self._changed: set[tuple[str, str]] = set()

    def take(self, key: tuple[str, str], frame: EpochFrame | None) -> None:
        """Keep the frame's points that fall on the step grid; forget those older than the window."""
        if frame is None or frame.time_s.size == 0:
            return
        on_grid = np.flatnonzero(np.mod(frame.time_s, self.step_s) == 0)
        if on_grid.size == 0:
            return
        points = self._points.setdefault(key, {})
        for i in on_grid.tolist():
            points[float(frame.time_s[i])] = (_value(frame.baseline_c[i]), _value(frame.hr_baseline_bpm[i]))
        horizon = max(points) - self.keep_s
        for t in [t for t in points if t < horizon]:
            del points[t]
        self._changed.add(key)

    def forget(self, key: tuple[str, str]) -> None:
        """A subject's detector was dropped (idle): its series goes too."""
        self._points.pop(key, None)
        self._changed.discard(key)

    def changed(self, *, now: datetime) -> dict[tuple[str, str], BaselineMessage]:
        """Messages for the subjects whose series changed since the last call."""
        out = {key: self.message(key, now=now) for key in sorted(self._changed)}
        self._changed.clear()
        return out

    def message(self, key: tuple[str, str], *, now: datetime) -> BaselineMessage:
        """The subject's series as published."""
        points = sorted(self._points.get(key, {}).items())
        return BaselineMessage(
            episode=key[0],
            subject=key[1],
            updated_at=now,
            step_s=self.step_s,
            t_s=tuple(t for t, _ in points),
            baseline_skin_c=tuple(p[0] for _, p in points),
            hr_baseline_bpm=tuple(p[1] for _, p in points),
            rise_k_c=self.cfg.rise.k_c,
            skin_to_core_offset_c=self.cfg.temperature.axillary_to_core_offset_c,
            fever_core_c=self.cfg.fever.core_c,
        )
