"""Array primitives with explicit carried state, in the manner of ``scipy.signal.lfilter(zi=...)``.

Every function takes the state left by the previous chunk and returns the state for the next one,
so that processing a recording in pieces gives *bit-identical* results to one call on the whole.
That property is what lets live monitoring (streaming) and researcher replay (batch) share one
implementation. Floating-point order of operations is kept identical between the two by always
computing running sums over ``[carried value, new values...]`` in one ``cumsum``.

A live update closes one epoch a minute, and numpy's cost per call, not per value, is then all a
primitive costs: the busiest ones take a single value on Python floats, with the same comparisons
and the same arithmetic (``tests/unit/test_filters.py`` holds them to the array code).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import minimum_filter1d

from kraamwacht.errors import InvalidValueError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

__all__ = [
    "WarmupMeanState",
    "ewma",
    "forward_fill",
    "hysteresis",
    "run_length",
    "trailing_nanmedian",
    "warmup_then_ewma",
    "window_cusum",
]


def trailing_nanmedian(x: FloatArray, *, window: int, history: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Median of the last ``window`` values (NaN ignored), causal.

    Parameters
    ----------
    x : array of float
        New values; NaN marks a missing epoch.
    window : int
        Window length in samples (>= 1).
    history : array of float
        The last ``window - 1`` values seen before ``x`` (NaN-padded at the start of a stream).

    Returns
    -------
    y : array of float
        Median over each trailing window; NaN where the window holds no value.
    history : array of float
        The state for the next call.

    Notes
    -----
    Short artefacts (an arm lifted for a minute, a cough on the heart-rate trace) shorter than
    half the window cannot move a median, which is why it is used before any detector.
    """
    if window < 1:
        raise InvalidValueError(f"window must be >= 1, got {window=}")
    if history.shape != (window - 1,):
        raise InvalidValueError(f"history must have shape ({window - 1},), got {history.shape=}")
    full = np.concatenate((history, x))
    if x.size == 0:
        return x.copy(), history.copy()
    if x.size == 1:  # a live update's one epoch: the same two order statistics, from a Python sort
        valid = sorted(v for v in full.tolist() if not math.isnan(v))
        k = len(valid)
        median = 0.5 * (valid[max((k - 1) // 2, 0)] + valid[k // 2]) if k else math.nan
        return np.array([median]), full[1:].copy()
    # the windows as a copy (an index array is cheaper to build than a strided view of a few
    # rows, and the median sorts a copy anyway)
    windows = full[np.arange(x.size)[:, np.newaxis] + np.arange(window)]
    windows.sort(axis=1)
    y = _sorted_row_nanmedian(windows)
    return y, full[full.size - (window - 1) :].copy()


def _row_nanmedian(rows: FloatArray) -> FloatArray:
    """Median of each row ignoring NaN (NaN for an all-NaN row), by one sort: NaN sorts last."""
    return _sorted_row_nanmedian(np.sort(rows, axis=1))


def _sorted_row_nanmedian(ordered: FloatArray) -> FloatArray:
    """:func:`_row_nanmedian` of rows already sorted (NaN last)."""
    width = ordered.shape[1]
    n_valid = width - np.isnan(ordered).sum(axis=1)
    lo = np.maximum((n_valid - 1) // 2, 0)
    flat = ordered.ravel()
    base = np.arange(0, flat.size, width)
    y: FloatArray = 0.5 * (flat[base + lo] + flat[base + n_valid // 2])
    y[n_valid == 0] = np.nan
    return y


def forward_fill(x: FloatArray, *, last: float) -> tuple[FloatArray, float]:
    """Replace NaN by the last finite value (``last`` carries it across calls; NaN = none yet)."""
    if x.size == 0:
        return x.copy(), last
    full = np.concatenate(([last], x))
    idx = np.where(np.isnan(full), 0, np.arange(full.size))
    np.maximum.accumulate(idx, out=idx)
    filled = full[idx]
    return filled[1:], float(filled[-1])


@dataclass(frozen=True, slots=True)
class CarryState:
    """State of :func:`carry_forward`: the last value and how many positions ago it was seen."""

    value: float = float("nan")
    age: int = 1 << 30


def carry_forward(x: FloatArray, *, max_gap: int, state: CarryState) -> tuple[FloatArray, FloatArray, CarryState]:
    """Fill NaN with the last value seen at most ``max_gap`` positions before; also return each value's age.

    A reading stands for its time until the next one, within a limit: sparse sampling (a reading
    every 5 minutes, or hourly observations) then counts in time, not in samples, while a real
    gap of more than ``max_gap`` stays a gap. Ages are in positions (epochs); NaN where unfilled.

    Examples
    --------
    >>> y, age, st = carry_forward(np.array([1.0, np.nan, np.nan, 2.0]), max_gap=1, state=CarryState())
    >>> y.tolist(), age.tolist()
    ([1.0, 1.0, nan, 2.0], [0.0, 1.0, nan, 0.0])
    """
    n = x.size
    if n == 0:
        return x.copy(), x.copy(), state
    if n == 1:  # a live update's one epoch
        value_one, age_one = float(x[0]), 0
        if math.isnan(value_one):
            value_one, age_one = state.value, state.age + 1
        ok_one = age_one <= max_gap
        return (
            np.array([value_one if ok_one else np.nan]),
            np.array([float(age_one) if ok_one else np.nan]),
            CarryState(value_one, min(age_one, 1 << 30)),
        )
    pos = np.arange(n, dtype=np.int64)
    seen = ~np.isnan(x)
    last_pos = np.where(seen, pos, -1)
    np.maximum.accumulate(last_pos, out=last_pos)
    age = np.where(last_pos >= 0, pos - last_pos, state.age + pos + 1).astype(np.float64)
    value = np.where(last_pos >= 0, x[np.maximum(last_pos, 0)], state.value)
    ok = age <= max_gap
    out = np.where(ok, value, np.nan)
    new_state = CarryState(float(value[-1]), int(min(age[-1], 1 << 30)))
    return out, np.where(ok, age, np.nan), new_state


def ewma(x: FloatArray, *, alpha: float, zi: float) -> tuple[FloatArray, float]:
    """Exponentially weighted moving average ``y[n] = alpha*x[n] + (1-alpha)*y[n-1]``.

    ``zi`` is ``(1 - alpha) * y[-1]`` (the convention of ``scipy.signal.lfilter``). Written as an
    explicit recurrence because ``lfilter`` is not bit-identical between a one-sample call and a
    longer one, and chunked calls must equal one call exactly. It runs on hourly values, so the
    loop costs microseconds.
    """
    if not 0.0 < alpha <= 1.0:
        raise InvalidValueError(f"alpha must be in (0, 1], got {alpha=}")
    y = np.empty(x.size)
    keep = 1.0 - alpha
    state = zi
    for i, value in enumerate(x.tolist()):
        y[i] = alpha * value + state
        state = keep * y[i]
    return y, state


@dataclass(frozen=True, slots=True)
class WarmupMeanState:
    """State of :func:`warmup_then_ewma`.

    ``n_valid`` and ``total`` count and sum the valid values seen; ``last_x`` is the last valid
    value (held through gaps); ``zi`` is the EWMA's state, NaN until the warm-up is complete.
    """

    n_valid: int = 0
    total: float = 0.0
    last_x: float = float("nan")
    zi: float = float("nan")


def warmup_then_ewma(
    x: FloatArray, *, warmup: int, alpha: float, state: WarmupMeanState
) -> tuple[FloatArray, BoolArray, WarmupMeanState]:
    """Personal level: the mean of the first ``warmup`` valid values, then a slow EWMA.

    The warm-up mean avoids anchoring the baseline on the very first minutes (a fresh sensor reads
    up to 1 °C low while it equilibrates); afterwards an EWMA follows slow changes such as a
    re-placed sensor. NaN inputs are held (the last valid value is repeated) so gaps neither pull
    the level nor restart it.

    Returns
    -------
    level : array of float
        NaN before the first valid value.
    ready : array of bool
        True once ``warmup`` valid values have been seen.
    state : WarmupMeanState
    """
    if warmup < 1:
        raise InvalidValueError(f"warmup must be >= 1, got {warmup=}")
    n = x.size
    if n == 0:
        return x.copy(), np.zeros(0, dtype=bool), state
    valid = ~np.isnan(x)
    counts = state.n_valid + np.cumsum(valid)
    sums = np.cumsum(np.concatenate(([state.total], np.where(valid, x, 0.0))))[1:]
    filled, last_x = forward_fill(x, last=state.last_x)
    level = np.full(n, np.nan)
    in_warmup = (counts <= warmup) & (counts > 0)
    level[in_warmup] = sums[in_warmup] / counts[in_warmup]
    after = counts > warmup
    zi = state.zi
    if after.any():
        start = int(np.argmax(after))
        if np.isnan(zi):
            # the first epoch past the warm-up starts from the warm-up mean
            prev_sum = float(sums[start - 1]) if start > 0 else state.total
            prev_count = int(counts[start - 1]) if start > 0 else state.n_valid
            zi = (1.0 - alpha) * (prev_sum / prev_count)
        level[start:], zi = ewma(filled[start:], alpha=alpha, zi=zi)
    state = WarmupMeanState(n_valid=int(counts[-1]), total=float(sums[-1]), last_x=last_x, zi=zi)
    return level, counts >= warmup, state


_FEW = 8  # up to this many new values, a window-by-window loop is cheaper than a whole-array filter


def window_cusum(
    increments: FloatArray, *, window: int, history: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Window-limited one-sided CUSUM, vectorised (Lai 1995).

    ``S[n] = max over j in [n-window, n] of sum(increments[j+1..n])``, computed in closed form as
    ``C[n] - min(C[n-window..n])`` with ``C`` the running sum of the increments. Unlike Page's
    recursive CUSUM it needs no clamp to come back down once a change has passed, and it gives the
    change-point estimate (the argmin) for free.

    Parameters
    ----------
    increments : array of float
        ``residual - k`` per epoch (0 where the epoch is not usable).
    window : int
        Longest change considered, in epochs.
    history : array of float
        The last up to ``window`` values of ``C`` from earlier calls (``[0.0]`` at the start).

    Returns
    -------
    s : array of float
        The statistic, >= 0.
    cumulative : array of float
        ``C`` for these epochs (to locate the change point of an event).
    history : array of float
        State for the next call.
    """
    if window < 1:
        raise InvalidValueError(f"window must be >= 1, got {window=}")
    if history.size == 0 or history.size > window:
        raise InvalidValueError(f"history must hold 1..{window} values, got {history.size=}")
    c: NDArray[np.float64] = np.cumsum(np.concatenate((history[-1:], increments)))[1:]
    full = np.concatenate((history, c))
    if c.size <= _FEW:  # a live update's epoch or two: a minimum per window costs less than the filter's set-up
        new_mins = np.array([full[max(0, p - window) : p + 1].min() for p in range(history.size, full.size)])
    else:
        size = window + 1
        # trailing window [i - window, i]: shift the centred filter by half its size
        new_mins = minimum_filter1d(full, size=size, mode="nearest", origin=(size - 1) // 2)[history.size :]
    s = c - new_mins
    return s, c, full[-window:].copy()


def hysteresis(
    x: FloatArray, *, on: float, off: float, strict: bool = False, state: bool = False
) -> tuple[BoolArray, bool]:
    """Schmitt trigger: switch on at ``x >= on`` (``> on`` if ``strict``), off at ``x < off``.

    Values in between, and NaN (no data), keep the previous state: a gap neither raises nor
    clears a condition.
    """
    if off > on:
        raise InvalidValueError(f"off must be <= on, got {on=} {off=}")
    if x.size == 1:  # a live update's one epoch: the same comparisons on a Python float
        value = float(x[0])
        up_one = value > on if strict else value >= on
        if up_one or value < off:
            state = up_one
        return np.array([state], dtype=bool), bool(state)
    with np.errstate(invalid="ignore"):
        up = (x > on) if strict else (x >= on)
        down = x < off
    decisive = up | down
    n = x.size
    idx = np.where(decisive, np.arange(1, n + 1), 0)
    np.maximum.accumulate(idx, out=idx)
    values = np.concatenate(([state], up))
    out = values[idx]
    return out, bool(out[-1]) if n else state


def run_length(flag: BoolArray, *, state: int = 0, known: BoolArray | None = None) -> tuple[IntArray, int]:
    """Number of consecutive True values ending at each position (0 where False).

    Where ``known`` is False (no data) the run neither grows nor breaks: the value at the last
    known position is repeated, so a gap can neither confirm nor clear a condition.
    """
    if flag.size == 1:  # a live update's one epoch
        run = state if known is not None and not known[0] else state + 1 if flag[0] else 0
        return np.array([run], dtype=np.int64), int(run)
    if known is not None and not known.all():
        runs_known, new_state = run_length(flag[known], state=state)
        rank = np.cumsum(known)  # 0 before the first known position
        return np.concatenate(([state], runs_known))[rank], new_state
    n = flag.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), state
    pos = np.arange(1, n + 1, dtype=np.int64)
    last_false = np.where(flag, 0, pos)
    np.maximum.accumulate(last_false, out=last_false)
    runs = pos - last_false
    # runs that started in an earlier chunk continue
    runs = np.where(last_false == 0, runs + state, runs)
    return runs, int(runs[-1])


def running_peak(x: FloatArray, runs: IntArray, *, prev_run: int, peak: float) -> tuple[FloatArray, float]:
    """The highest value of ``x`` since the current run of ``runs`` began (``-inf`` outside runs).

    A run begins where ``runs`` goes from 0 to 1; ``prev_run`` and ``peak`` carry a run that began
    in an earlier call, so the answer does not depend on chunking. NaN values do not count. The
    peak is always one of the values themselves, bit for bit.

    Examples
    --------
    >>> y, p = running_peak(np.array([1.0, 3.0, 2.0, 5.0, 4.0]), np.array([1, 2, 0, 1, 2]), prev_run=0, peak=-np.inf)
    >>> y.tolist(), p
    ([1.0, 3.0, -inf, 5.0, 5.0], 5.0)
    """
    n = x.size
    if n == 0:
        return x.copy(), peak
    if n == 1:  # a live update's one epoch, on Python floats
        run, one = int(runs[0]), float(x[0])
        one = one if math.isfinite(one) and run > 0 else -math.inf
        one = max(one, peak) if run > 0 and prev_run > 0 else one  # the run carried in goes on
        return np.array([one if run > 0 else -math.inf]), one if run > 0 else -math.inf
    before = np.concatenate(([prev_run], runs[:-1]))
    starts = np.flatnonzero((runs > 0) & (before == 0))
    out = np.where(np.isfinite(x) & (runs > 0), x, -np.inf)
    if prev_run > 0 and runs[0] > 0:  # the run carried in goes on
        out[0] = max(out[0], peak)
    # a maximum per run, exactly (runs are few: a loop over them, not over epochs)
    for a, b in itertools.pairwise([0, *starts.tolist(), n]):
        np.maximum.accumulate(out[a:b], out=out[a:b])
    out[runs == 0] = -np.inf
    return out, float(out[-1]) if runs[-1] > 0 else -np.inf


@dataclass(frozen=True, slots=True)
class BlockMedianState:
    """State of :func:`block_medians`: the values of the block still being filled."""

    block: int | None = None
    values: FloatArray = field(default_factory=lambda: np.zeros(0))


def block_medians(
    x: FloatArray, *, first_epoch: int, block: int, state: BlockMedianState
) -> tuple[IntArray, FloatArray, BlockMedianState]:
    """Median (NaN ignored) of each completed block of ``block`` epochs, blocks aligned to epoch 0.

    Returns the ids (``epoch // block``) and medians of the blocks completed by ``x``; a block's
    unfinished part is carried to the next call. An hour's median ignores a shower, a loose
    sensor's first minutes and arm movements, which is what a baseline needs.
    """
    if block < 1:
        raise InvalidValueError(f"block must be >= 1, got {block=}")
    n = x.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0), state
    carried = state.values if state.block == first_epoch // block else np.zeros(0)
    start = first_epoch - carried.size
    values = np.concatenate((carried, x))
    epochs_end = first_epoch + n  # exclusive
    first_block = start // block
    last_complete = epochs_end // block - 1  # blocks whose last epoch is inside this call
    ids = np.arange(first_block, last_complete + 1, dtype=np.int64)
    pad = start - first_block * block  # the first block may have begun before the stream
    complete = np.concatenate((np.full(pad, np.nan), values[: (last_complete + 1) * block - start]))
    medians = _row_nanmedian(complete.reshape(ids.size, block)) if ids.size else np.zeros(0)
    tail_from = max((last_complete + 1) * block - start, 0)  # negative while the first block is open
    tail = values[tail_from:]
    return ids, medians, BlockMedianState(block=int(epochs_end // block), values=tail.copy())


def rapid_rise(
    x: FloatArray, *, lag: int, threshold: float, hold: int, history: FloatArray, since: int
) -> tuple[BoolArray, FloatArray, int]:
    """Mask epochs within ``hold`` epochs after ``x`` rose by more than ``threshold`` over ``lag``.

    Physiology does not warm the axilla by 0.4 °C in five minutes; a hot shower, a hot-water
    bottle or a sensor being put back on does. Returns the mask, the last ``lag`` values of ``x``
    and the epochs since the last trigger (state for the next call).
    """
    if lag < 1 or hold < 0:
        raise InvalidValueError(f"lag must be >= 1 and hold >= 0, got {lag=} {hold=}")
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=bool), history.copy(), since
    full = np.concatenate((history, x))
    with np.errstate(invalid="ignore"):
        trigger = (full[lag:] - full[:-lag]) > threshold
    pos = np.arange(n)
    last = np.where(trigger, pos, -1)
    np.maximum.accumulate(last, out=last)
    elapsed = np.where(last >= 0, pos - last, since + pos + 1)
    return elapsed < hold, full[-lag:].copy(), int(elapsed[-1])
