"""Samples → regular epochs: the one place irregular sampling, gaps and arrival order are handled.

Values are quantised to 1/100 of their unit (0.01 °C, 0.01 /min) before summing. Sums of such
integers are exact in float64, so an epoch's mean does not depend on the order in which its
samples arrived or on how a stream was cut into chunks: batch replay and live monitoring see the
very same epochs.
"""

from __future__ import annotations

import math
import zlib
from array import array
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EpochAccumulator", "EpochBins", "bin_samples", "epoch_index", "epoch_means"]

QUANTUM_PER_UNIT = 100.0


_ARRAY_MIN = 64  # from this many samples at once numpy costs less than a loop over them


def _floats(x: ArrayLike) -> list[float]:
    """Plain floats; a list (a live batch's one or two samples) without a round trip through numpy."""
    if isinstance(x, list):
        return [float(v) for v in x]
    return np.asarray(x, dtype=np.float64).tolist()  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class EpochBins:
    """Sums (in 1/100 units) and sample counts per epoch for epochs ``start .. start+n-1``."""

    start: int
    sums: dict[str, NDArray[np.float64]]
    counts: dict[str, NDArray[np.int64]]

    @property
    def n(self) -> int:
        return next(iter(self.counts.values())).size if self.counts else 0


def subject_slot(subject: str, n: int) -> int:
    """A stable hash of the subject id in ``0 .. n - 1`` (0 when ``n`` is 0): the same on every machine.

    ``[epoch] close_spread_s`` delays the closing of each subject's epochs by her slot in seconds.
    A gateway stamps the heart rate with its own clock, so every home's epoch would otherwise close
    in the same second and a serve of thousands of homes would run all their detectors at once, once
    a minute (docs/benchmarks.md). The epochs themselves, and so every result, stay the same.
    """
    return zlib.crc32(subject.encode("utf-8")) % n if n > 0 else 0


def epoch_index(t_s: NDArray[np.float64], epoch_s: int) -> NDArray[np.int64]:
    """Absolute epoch of each time: the largest ``e`` with ``e * epoch_s <= t`` (exactly).

    ``floor(t / epoch_s)`` alone can be off by one right at an epoch edge, because the division
    rounds; the correction makes the answer agree with comparing against the edges, which is what
    the sorted fast path of :func:`bin_samples` does.
    """
    t = np.asarray(t_s, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # non-finite times give garbage that callers filter out
        idx = np.floor(t / epoch_s).astype(np.int64)
    edge = idx * float(epoch_s)
    idx -= edge > t
    idx += (edge + epoch_s) <= t
    return idx


def _epoch_of(t_s: float, epoch_s: int) -> int:
    """:func:`epoch_index` of one finite time, in plain Python (a live batch asks it per subject)."""
    idx = math.floor(t_s / epoch_s)
    edge = idx * float(epoch_s)
    return idx - (edge > t_s) + ((edge + epoch_s) <= t_s)


def _buffer(values: NDArray[np.float64]) -> array[float]:
    out = array("d")
    out.frombytes(values.tobytes())
    return out


def bin_samples(
    t_s: NDArray[np.float64], value: NDArray[np.float64], *, start: int, n: int, epoch_s: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Quantised sums and counts of samples into epochs ``start .. start+n-1``.

    Samples outside those epochs or with a non-finite time or value are ignored (callers count
    them). This is the hot loop of a replay. Time-ordered input (the usual case) takes a few
    vectorised passes: the epoch edges are found by binary search and the sums by one
    ``reduceat``, exact because the quantised values are integers. Anything else
    (unordered, out of range, non-finite) takes the general path with the same result.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    if t_s.size > 1 and (t_s[1:] >= t_s[:-1]).all():
        edges = (start + np.arange(n + 1, dtype=np.float64)) * epoch_s
        bounds = np.searchsorted(t_s, edges, side="left")
        counts = np.diff(bounds).astype(np.int64)
        filled = counts > 0
        sums = np.zeros(n)
        if filled.any():
            q = np.rint(value[bounds[0] : bounds[-1]] * QUANTUM_PER_UNIT)
            # segment starts of the non-empty epochs, strictly increasing; the last runs to the end
            sums[filled] = np.add.reduceat(q, bounds[:-1][filled] - bounds[0])
        if np.isfinite(sums).all():
            return sums, counts
    idx = epoch_index(t_s, epoch_s) - start
    keep = idx.view(np.uint64) < n  # negative indices wrap to huge unsigned values
    keep &= np.isfinite(value)
    idx = idx[keep]
    q = np.rint(value[keep] * QUANTUM_PER_UNIT)
    sums = np.bincount(idx, weights=q, minlength=n).astype(np.float64, copy=False)
    counts = np.bincount(idx, minlength=n).astype(np.int64, copy=False)
    return sums, counts


def epoch_means(sums: NDArray[np.float64], counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Mean per epoch in the signal's unit; NaN where the epoch has no sample."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts / QUANTUM_PER_UNIT, np.nan)


@dataclass(slots=True)
class EpochAccumulator:
    """Buffers live samples until their epoch can be closed, then bins them like the batch path.

    An epoch closes once a sample ``reorder_grace_s`` past its end has been seen. Samples for an
    epoch that is already closed are *late*: counted here and left out of detection (they are
    still stored by the service). Memory is bounded by the grace period, not by time: one array
    per signal holds the samples of the open epochs.
    """

    signals: tuple[str, ...]
    epoch_s: int
    reorder_grace_s: int
    next_epoch: int | None = None
    max_t_s: float = float("-inf")
    min_t_s: float = float("inf")  # of every sample added before the first epoch closed: where it starts
    late: int = 0
    invalid: int = 0
    # samples of the open epochs in arrival order, as compact float64 buffers filled from plain
    # Python: a live batch adds one or two samples per subject, where each numpy call would cost
    # more than the sample's whole handling
    _pending_t: dict[str, array[float]] = field(default_factory=dict)
    _pending_v: dict[str, array[float]] = field(default_factory=dict)

    def add(self, signal: str, t_s: ArrayLike, value: ArrayLike) -> None:
        edge = self.next_epoch * float(self.epoch_s) if self.next_epoch is not None else -math.inf
        if not isinstance(t_s, list) and np.size(t_s) >= _ARRAY_MIN:
            self._add_array(signal, np.asarray(t_s, dtype=np.float64), np.asarray(value, dtype=np.float64), edge)
            return
        times, values = _floats(t_s), _floats(value)
        keep_t: list[float] = []
        keep_v: list[float] = []
        for t, v in zip(times, values, strict=True):
            if not (math.isfinite(t) and math.isfinite(v)):
                self.invalid += 1
            elif t < edge:  # exact: edges are integers
                self.late += 1
            else:
                keep_t.append(t)
                keep_v.append(v)
        if not keep_t:
            return
        self._pending_t.setdefault(signal, array("d")).extend(keep_t)
        self._pending_v.setdefault(signal, array("d")).extend(keep_v)
        self.max_t_s = max(self.max_t_s, max(keep_t))
        if self.next_epoch is None:
            self.min_t_s = min(self.min_t_s, min(keep_t))

    def _add_array(self, signal: str, times: NDArray[np.float64], values: NDArray[np.float64], edge: float) -> None:
        """:meth:`add` for many samples at once (a backlog, a rebuild): the same samples kept, the same counts."""
        valid = np.isfinite(times) & np.isfinite(values)
        on_time = valid & (times >= edge)
        self.invalid += int(np.count_nonzero(~valid))
        self.late += int(np.count_nonzero(valid & ~on_time))
        if not on_time.any():
            return
        kept_t, kept_v = times[on_time], values[on_time]
        self._pending_t.setdefault(signal, array("d")).frombytes(kept_t.tobytes())
        self._pending_v.setdefault(signal, array("d")).frombytes(kept_v.tobytes())
        self.max_t_s = max(self.max_t_s, float(kept_t.max()))
        if self.next_epoch is None:
            self.min_t_s = min(self.min_t_s, float(kept_t.min()))

    @property
    def pending(self) -> bool:
        """Whether any sample waits in an open epoch."""
        return any(self._pending_t.values())

    def close_ready(self) -> EpochBins | None:
        """Bin and release every epoch that the grace period allows to close."""
        horizon = self.max_t_s - self.reorder_grace_s
        if horizon == float("-inf"):
            return None
        if self.next_epoch is not None and horizon < (self.next_epoch + 1) * float(self.epoch_s):
            return None  # the usual case for a one-second batch: nothing can close yet
        return self._close_through(_epoch_of(horizon, self.epoch_s) - 1)

    def flush(self) -> EpochBins | None:
        """Close everything buffered (end of a recording or an orderly shutdown)."""
        last = max((_epoch_of(max(t), self.epoch_s) for t in self._pending_t.values() if t), default=None)
        return None if last is None else self._close_through(last)

    def _close_through(self, last: int) -> EpochBins | None:
        if self.next_epoch is None:
            if not math.isfinite(self.min_t_s):
                return None  # nothing added yet
            first = _epoch_of(self.min_t_s, self.epoch_s)
            if first > last:
                return None  # the first epoch is still open
            self.next_epoch = first
        start = self.next_epoch
        n = last - start + 1
        if n <= 0:
            return None
        sums: dict[str, NDArray[np.float64]] = {}
        counts: dict[str, NDArray[np.int64]] = {}
        edge = (last + 1) * float(self.epoch_s)
        for signal in self.signals:
            t_all = np.array(self._pending_t.get(signal, ()), dtype=np.float64)
            v_all = np.array(self._pending_v.get(signal, ()), dtype=np.float64)
            sums[signal], counts[signal] = bin_samples(t_all, v_all, start=start, n=n, epoch_s=self.epoch_s)
            keep = t_all >= edge
            if signal in self._pending_t:
                self._pending_t[signal], self._pending_v[signal] = _buffer(t_all[keep]), _buffer(v_all[keep])
        self.next_epoch = last + 1
        return EpochBins(start=start, sums=sums, counts=counts)
