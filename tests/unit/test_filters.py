"""The carried-state primitives: hand-computed values, and chunked == whole (bit for bit)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kraamwacht.signal._circadian import local_hour
from kraamwacht.signal._filters import (
    BlockMedianState,
    CarryState,
    WarmupMeanState,
    block_medians,
    carry_forward,
    ewma,
    forward_fill,
    hysteresis,
    rapid_rise,
    run_length,
    running_peak,
    trailing_nanmedian,
    warmup_then_ewma,
    window_cusum,
)

values = arrays(
    np.float64,
    st.integers(1, 300),
    elements=st.one_of(st.floats(30, 42, allow_nan=False), st.just(np.nan)),
)


def cuts(n: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, n), max_size=6).map(lambda c: sorted({0, n, *c}))


def test_window_cusum_by_hand() -> None:
    inc = np.array([1.0, 1.0, -3.0, 2.0, 0.5])
    s, c, _ = window_cusum(inc, window=2, history=np.zeros(1))
    # C = [1, 2, -1, 1, 1.5]; S[n] = C[n] - min(C[n-2..n]) with C[-1] = 0
    np.testing.assert_array_equal(c, [1, 2, -1, 1, 1.5])
    np.testing.assert_array_equal(s, [1, 2, 0, 2, 2.5])


def test_trailing_median_by_hand() -> None:
    y, hist = trailing_nanmedian(np.array([1.0, 5.0, np.nan, 3.0, 100.0]), window=3, history=np.full(2, np.nan))
    np.testing.assert_array_equal(y, [1.0, 3.0, 3.0, 4.0, 51.5])
    np.testing.assert_array_equal(hist, [3.0, 100.0])


def test_hysteresis_by_hand() -> None:
    x = np.array([0.0, 1.0, 0.6, np.nan, 0.4, 1.0])
    on, state = hysteresis(x, on=1.0, off=0.5)
    np.testing.assert_array_equal(on, [False, True, True, True, False, True])
    assert state is True
    strict, _ = hysteresis(x, on=1.0, off=0.5, strict=True)
    assert not strict.any()


def test_run_length_holds_through_unknown() -> None:
    flag = np.array([True, True, False, True, True, True])
    known = np.array([True, True, False, True, True, False])
    runs, state = run_length(flag, known=known, state=3)
    np.testing.assert_array_equal(runs, [4, 5, 5, 6, 7, 7])
    assert state == 7


def test_warmup_then_ewma_by_hand() -> None:
    level, ready, _ = warmup_then_ewma(
        np.array([1.0, np.nan, 3.0, 5.0, np.nan]), warmup=2, alpha=0.5, state=WarmupMeanState()
    )
    # warm-up mean 1, 1, 2; then EWMA from 2: 0.5*5 + 0.5*2 = 3.5; a gap holds the last value 5
    np.testing.assert_array_equal(level, [1.0, 1.0, 2.0, 3.5, 4.25])
    np.testing.assert_array_equal(ready, [False, False, True, True, True])


def test_rapid_rise_masks_hold_epochs() -> None:
    x = np.array([36.0, 36.0, 36.1, 36.9, 36.9, 36.9, 36.9])
    mask, _, since = rapid_rise(x, lag=2, threshold=0.4, hold=2, history=np.full(2, np.nan), since=99)
    # rises over 2 epochs: 0.9 at epoch 3 and 0.8 at epoch 4 trigger; each holds 2 epochs
    np.testing.assert_array_equal(mask, [False, False, False, True, True, True, False])
    assert since == 2


@pytest.mark.parametrize("bad", [0, -1])
def test_invalid_window_is_rejected(bad: int) -> None:
    with pytest.raises(ValueError, match="window"):
        window_cusum(np.zeros(3), window=bad, history=np.zeros(1))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), x=values)
def test_every_primitive_is_chunk_invariant(data: st.DataObject, x: np.ndarray) -> None:
    split = data.draw(cuts(x.size))

    def chunked(step):
        outs = []
        for a, b in itertools.pairwise(split):
            outs.append(step(x[a:b], a))
        return np.concatenate(outs) if outs else np.zeros(0)

    whole_med, _ = trailing_nanmedian(x, window=5, history=np.full(4, np.nan))
    hist = [np.full(4, np.nan)]

    def med(chunk, _a):
        y, hist[0] = trailing_nanmedian(chunk, window=5, history=hist[0])
        return y

    np.testing.assert_array_equal(chunked(med), whole_med)

    inc = np.nan_to_num(x - 36.0)
    whole_s, _, _ = window_cusum(inc, window=7, history=np.zeros(1))
    ch = [np.zeros(1)]

    def cus(chunk, _a):
        s, _c, ch[0] = window_cusum(np.nan_to_num(chunk - 36.0), window=7, history=ch[0])
        return s

    np.testing.assert_array_equal(chunked(cus), whole_s)

    whole_l, _, _ = warmup_then_ewma(x, warmup=3, alpha=0.1, state=WarmupMeanState())
    ws = [WarmupMeanState()]

    def wte(chunk, _a):
        y, _r, ws[0] = warmup_then_ewma(chunk, warmup=3, alpha=0.1, state=ws[0])
        return y

    np.testing.assert_array_equal(chunked(wte), whole_l)

    whole_b = block_medians(x, first_epoch=1037, block=60, state=BlockMedianState())[1]
    bs = [BlockMedianState()]

    def blk(chunk, a):
        _ids, m, bs[0] = block_medians(chunk, first_epoch=1037 + a, block=60, state=bs[0])
        return m

    np.testing.assert_array_equal(chunked(blk), whole_b)

    whole_h, _ = hysteresis(x, on=38.0, off=37.5)
    hs = [False]

    def hyst(chunk, _a):
        y, hs[0] = hysteresis(chunk, on=38.0, off=37.5, state=hs[0])
        return y

    np.testing.assert_array_equal(chunked(hyst), whole_h)

    flag = np.nan_to_num(x) > 36.0
    whole_r, _ = run_length(flag, known=~np.isnan(x))
    rs = [0]

    def runs(chunk, a):
        y, rs[0] = run_length(np.nan_to_num(chunk) > 36.0, known=~np.isnan(chunk), state=rs[0])
        return y

    np.testing.assert_array_equal(chunked(runs), whole_r)

    whole_f, _ = forward_fill(x, last=np.nan)
    fs = [np.nan]

    def ffill(chunk, _a):
        y, fs[0] = forward_fill(chunk, last=fs[0])
        return y

    np.testing.assert_array_equal(chunked(ffill), whole_f)

    filled = np.nan_to_num(x, nan=36.0)
    whole_e, _ = ewma(filled, alpha=0.2, zi=0.8 * 36.0)
    es = [0.8 * 36.0]

    def ew(chunk, _a):
        y, es[0] = ewma(np.nan_to_num(chunk, nan=36.0), alpha=0.2, zi=es[0])
        return y

    np.testing.assert_array_equal(chunked(ew), whole_e)


# values on the thresholds below, so that ">=" against ">" and "<" are all exercised
edgy = arrays(
    np.float64,
    st.integers(1, 60),
    elements=st.one_of(st.floats(30, 42, allow_nan=False), st.just(np.nan), st.sampled_from([37.5, 38.0])),
)


@settings(max_examples=150, deadline=None)
@given(x=edgy, strict=st.booleans())
def test_one_epoch_at_a_time_equals_the_whole(x: np.ndarray, strict: bool) -> None:
    """A live update closes one epoch, which the primitives take on Python floats (a fifth of the
    cost of their array code); fed one value at a time they give what one call on the whole gives."""
    n = x.size

    def one_by_one(step):
        return np.concatenate([step(x[i : i + 1]) for i in range(n)])

    med = [np.full(8, np.nan)]

    def median_step(v):
        y, med[0] = trailing_nanmedian(v, window=9, history=med[0])
        return y

    np.testing.assert_array_equal(
        one_by_one(median_step), trailing_nanmedian(x, window=9, history=np.full(8, np.nan))[0]
    )

    inc = np.nan_to_num(x - 37.0)
    history = np.cumsum(np.linspace(-1.0, 1.0, 5))  # a history shorter than the window, as at the start
    cus = [history]

    def cusum_step(v):
        s, _c, cus[0] = window_cusum(np.nan_to_num(v - 37.0), window=12, history=cus[0])
        return s

    np.testing.assert_array_equal(one_by_one(cusum_step), window_cusum(inc, window=12, history=history)[0])

    hyst = [True]

    def hysteresis_step(v):
        y, hyst[0] = hysteresis(v, on=38.0, off=37.5, strict=strict, state=hyst[0])
        return y

    whole_on, whole_state = hysteresis(x, on=38.0, off=37.5, strict=strict, state=True)
    np.testing.assert_array_equal(one_by_one(hysteresis_step), whole_on)
    assert hyst[0] == whole_state

    flag, known = np.nan_to_num(x) >= 38.0, ~np.isnan(x)
    run = [2]

    def run_step(v):
        y, run[0] = run_length(np.nan_to_num(v) >= 38.0, known=~np.isnan(v), state=run[0])
        return y

    whole_runs, whole_run = run_length(flag, known=known, state=2)
    np.testing.assert_array_equal(one_by_one(run_step), whole_runs)
    assert run[0] == whole_run

    carry = [CarryState(36.9, 2)]
    ages = []

    def carry_step(v):
        y, age, carry[0] = carry_forward(v, max_gap=3, state=carry[0])
        ages.append(age)
        return y

    whole_y, whole_age, whole_carry = carry_forward(x, max_gap=3, state=CarryState(36.9, 2))
    np.testing.assert_array_equal(one_by_one(carry_step), whole_y)
    np.testing.assert_array_equal(np.concatenate(ages), whole_age)
    assert carry[0] == whole_carry

    peak = [(3, 38.2)]

    def peak_step_at(i):
        y, p = running_peak(x[i : i + 1], whole_runs[i : i + 1], prev_run=peak[0][0], peak=peak[0][1])
        peak[0] = (int(whole_runs[i]), p)
        return y

    whole_peak, whole_last = running_peak(x, whole_runs, prev_run=3, peak=38.2)
    np.testing.assert_array_equal(np.concatenate([peak_step_at(i) for i in range(n)]), whole_peak)
    assert peak[0][1] == whole_last


def test_local_hour_across_a_change_of_daylight_saving_time() -> None:
    """One day takes the fast path (one offset); days on both sides of a change keep their own."""
    # 2026-03-29: CET (+1 h) becomes CEST (+2 h) in Amsterdam
    noon_before, noon_after = 1_774_612_800.0, 1_774_785_600.0  # 2026-03-27 and 2026-03-29 12:00 UTC
    np.testing.assert_array_equal(local_hour(np.array([noon_before]), timezone="Europe/Amsterdam"), [13.0])
    np.testing.assert_array_equal(local_hour(np.array([noon_after]), timezone="Europe/Amsterdam"), [14.0])
    both = local_hour(np.array([noon_before, noon_after]), timezone="Europe/Amsterdam")
    np.testing.assert_array_equal(both, [13.0, 14.0])
