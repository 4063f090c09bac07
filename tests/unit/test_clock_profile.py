"""Her heart rate by hour of the day (:func:`kraamwacht.signal._profile.clock_profile`), by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kraamwacht.errors import InvalidValueError
from kraamwacht.signal._profile import ClockProfileState, clock_profile

PER_HOUR = 2  # two epochs per hour keep the hand computation short


def test_an_hour_learns_from_earlier_days_only_shrunk_and_forgotten() -> None:
    # 3 days; the residual is +6 in hour 14 of every day and 0 elsewhere
    n = 3 * 24 * PER_HOUR
    hour = np.arange(n) // PER_HOUR
    residual = np.where(hour % 24 == 14, 6.0, 0.0)
    out, state = clock_profile(
        residual, first_epoch=0, epochs_per_hour=PER_HOUR, tau_days=2.0, prior_days=1.0, state=ClockProfileState()
    )
    decay = math.exp(-1 / 2)
    day = 24 * PER_HOUR
    first_14 = 14 * PER_HOUR
    assert out[first_14 : first_14 + PER_HOUR].tolist() == [0.0, 0.0]  # day 1: nothing learnt yet
    assert out[day + first_14] == pytest.approx(6.0 / (1.0 + 1.0))  # day 2: one day seen, prior of one day
    two_days = (6.0 * decay + 6.0) / ((decay + 1.0) + 1.0)
    assert out[2 * day + first_14] == pytest.approx(two_days)
    assert np.all(out[hour % 24 != 14] == 0.0)  # other hours learnt 0
    assert state.weights[14] == pytest.approx(decay**2 + decay + 1.0)  # the third day's hour 14 is complete


def test_missing_hours_teach_nothing() -> None:
    residual = np.full(2 * 24 * PER_HOUR, np.nan)
    out, state = clock_profile(
        residual, first_epoch=0, epochs_per_hour=PER_HOUR, tau_days=3.0, prior_days=0.0, state=ClockProfileState()
    )
    assert np.all(out == 0.0)
    assert np.all(state.weights == 0.0)


def test_chunks_give_the_same_profile_as_one_run() -> None:
    rng = np.random.default_rng(5)
    residual = rng.normal(0.0, 4.0, 5 * 24 * PER_HOUR + 1)
    residual[rng.random(residual.size) < 0.1] = np.nan
    kwargs = {"epochs_per_hour": PER_HOUR, "tau_days": 3.0, "prior_days": 1.0}
    whole, _ = clock_profile(residual, first_epoch=1001, state=ClockProfileState(), **kwargs)
    state, parts, start = ClockProfileState(), [], 0
    for end in (1, 2, 7, 50, 51, 200, residual.size):
        part, state = clock_profile(residual[start:end], first_epoch=1001 + start, state=state, **kwargs)
        parts.append(part)
        start = end
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(InvalidValueError):
        clock_profile(
            np.zeros(3), first_epoch=0, epochs_per_hour=2, tau_days=0.0, prior_days=1.0, state=ClockProfileState()
        )
