"""Her own heart rate by hour of the day, learnt from her own data.

A resting heart rate runs some beats higher in the afternoon than at night. Measured against one
24-hour baseline, every afternoon looks like a heart that "agrees" with a warm skin, and every night
like one that speaks against a fever. The profile learns, per hour of the day, how far her hourly
median usually sits from her baseline, so that a rise is judged against her own rate at that hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kraamwacht.errors import InvalidValueError
from kraamwacht.signal._filters import BlockMedianState, block_medians

__all__ = ["ClockProfileState", "clock_profile"]

FloatArray = NDArray[np.float64]
_HOURS = 24


@dataclass(frozen=True, slots=True)
class ClockProfileState:
    """Discounted sums and weights of hourly residuals per hour of the day, and the open hour."""

    sums: FloatArray = field(default_factory=lambda: np.zeros(_HOURS))
    weights: FloatArray = field(default_factory=lambda: np.zeros(_HOURS))
    hours: BlockMedianState = field(default_factory=BlockMedianState)


def clock_profile(
    residual: FloatArray,
    *,
    first_epoch: int,
    epochs_per_hour: int,
    tau_days: float,
    prior_days: float,
    state: ClockProfileState,
) -> tuple[FloatArray, ClockProfileState]:
    """Expected residual per epoch for its hour of the day (UTC), from the days before it.

    Each completed hour's median residual updates its hour of the day with an exponential
    forgetting of ``tau_days``; the estimate is shrunk towards 0 as if ``prior_days`` days of 0 had
    been seen, so a first day moves it only part of the way. An epoch uses the profile as it stood
    before its own hour was complete: a fever can never explain itself away within the hour.
    """
    if tau_days <= 0 or prior_days < 0 or epochs_per_hour < 1:
        raise InvalidValueError(f"need tau_days > 0, prior_days >= 0, epochs_per_hour >= 1: {tau_days=} {prior_days=}")
    n = residual.size
    ids, medians, open_hour = block_medians(residual, first_epoch=first_epoch, block=epochs_per_hour, state=state.hours)
    sums, weights = state.sums.copy(), state.weights.copy()
    if n == 0:
        return np.zeros(0), ClockProfileState(sums, weights, open_hour)
    decay = float(np.exp(-1.0 / tau_days))
    hour_of_epoch = (first_epoch + np.arange(n)) // epochs_per_hour
    chunk_hours = np.unique(hour_of_epoch)
    values = np.empty(chunk_hours.size)
    completed = {int(h): float(m) for h, m in zip(ids.tolist(), medians.tolist(), strict=True)}
    for hour in sorted(set(chunk_hours.tolist()) | set(completed)):
        slot = hour % _HOURS
        k = np.searchsorted(chunk_hours, hour)
        if k < chunk_hours.size and chunk_hours[k] == hour:
            values[k] = sums[slot] / (weights[slot] + prior_days) if weights[slot] + prior_days > 0 else 0.0
        median = completed.get(hour, np.nan)
        if np.isfinite(median):
            sums[slot] = sums[slot] * decay + median
            weights[slot] = weights[slot] * decay + 1.0
    out = values[np.searchsorted(chunk_hours, hour_of_epoch)]
    return out, ClockProfileState(sums, weights, open_hour)
