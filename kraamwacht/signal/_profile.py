"""Her own heart rate by hour of the day, learnt from her own data.

A resting heart rate runs some beats higher in the afternoon than at night. Measured against one
24-hour baseline, every afternoon looks like a heart that "agrees" with a warm skin, and every night
like one that speaks against a fever. The profile learns, per hour of the day, how far her hourly
median usually sits from her baseline, so that a rise is judged against her own rate at that hour.
"""

from __future__ import annotations

import math
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
    sums, weights = state.sums.tolist(), state.weights.tolist()  # Python floats: 24 slots, a loop per hour
    if n == 0:
        return np.zeros(0), ClockProfileState(np.array(sums), np.array(weights), open_hour)
    decay = math.exp(-1.0 / tau_days)
    hour_of_epoch = (first_epoch + np.arange(n)) // epochs_per_hour
    first_hour = int(hour_of_epoch[0])
    chunk_hours = range(first_hour, int(hour_of_epoch[-1]) + 1)  # consecutive epochs: every hour between
    index = {hour: k for k, hour in enumerate(chunk_hours)}
    values = [0.0] * len(index)
    completed = dict(zip(ids.tolist(), medians.tolist(), strict=True))
    for hour in sorted(index.keys() | completed.keys()):
        slot = hour % _HOURS
        k = index.get(hour)
        if k is not None:  # the profile as it stands before this hour is complete
            weight = weights[slot] + prior_days
            values[k] = sums[slot] / weight if weight > 0 else 0.0
        median = completed.get(hour, math.nan)
        if math.isfinite(median):
            sums[slot] = sums[slot] * decay + median
            weights[slot] = weights[slot] * decay + 1.0
    out = np.asarray(values)[hour_of_epoch - first_hour]
    return out, ClockProfileState(np.array(sums), np.array(weights), open_hour)
