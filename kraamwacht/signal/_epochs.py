"""Samples → regular epochs: the one place irregular sampling, gaps and arrival order are handled.

Values are quantised to 1/100 of their unit (0.01 °C, 0.01 /min) before summing. Sums of such
integers are exact in float64, so an epoch's mean does not depend on the order in which its
samples arrived or on how a stream was cut into chunks: batch replay and live monitoring see the
very same epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["EpochAccumulator", "EpochBins", "bin_samples", "epoch_index", "epoch_means"]

QUANTUM_PER_UNIT = 100.0


@dataclass(frozen=True, slots=True)
class EpochBins:
    """Sums (in 1/100 units) and sample counts per epoch for epochs ``start .. start+n-1``."""

    start: int
    sums: dict[str, NDArray[np.float64]]
    counts: dict[str, NDArray[np.int64]]

    @property
    def n(self) -> int:
        return next(iter(self.counts.values())).size if self.counts else 0


def epoch_index(t_s: NDArray[np.float64], epoch_s: int) -> NDArray[np.int64]:
    """Absolute epoch number of each time (``floor(t / epoch_s)``); the only place it is computed."""
    return np.floor(np.asarray(t_s, dtype=np.float64) / epoch_s).astype(np.int64)


def bin_samples(
    t_s: NDArray[np.float64], value: NDArray[np.float64], *, start: int, n: int, epoch_s: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Quantised sums and counts of samples into epochs ``start .. start+n-1``.

    Samples outside those epochs or with a non-finite time or value are ignored (callers count
    them). This is the hot loop of a replay: a handful of vectorised passes per sample.
    """
    idx = epoch_index(t_s, epoch_s)
    idx -= start
    keep = idx.view(np.uint64) < n  # negative indices wrap to huge unsigned values
    keep &= np.isfinite(value)
    if not keep.all():
        idx = idx[keep]
        value = value[keep]
    q = np.rint(value * QUANTUM_PER_UNIT)
    sums = np.bincount(idx, weights=q, minlength=n)
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
    still stored by the service). Memory is bounded by the grace period, not by time.
    """

    signals: tuple[str, ...]
    epoch_s: int
    reorder_grace_s: int
    next_epoch: int | None = None
    max_t_s: float = float("-inf")
    late: int = 0
    invalid: int = 0
    _pending_t: dict[str, list[NDArray[np.float64]]] = field(default_factory=dict)
    _pending_v: dict[str, list[NDArray[np.float64]]] = field(default_factory=dict)

    def add(self, signal: str, t_s: NDArray[np.float64], value: NDArray[np.float64]) -> None:
        t_s = np.asarray(t_s, dtype=np.float64)
        value = np.asarray(value, dtype=np.float64)
        ok = np.isfinite(t_s) & np.isfinite(value)
        if self.next_epoch is not None:
            late = epoch_index(t_s, self.epoch_s) < self.next_epoch
            self.late += int((late & ok).sum())
            ok &= ~late
        self.invalid += int((~np.isfinite(t_s) | ~np.isfinite(value)).sum())
        if not ok.any():
            return
        t_s, value = t_s[ok], value[ok]
        self._pending_t.setdefault(signal, []).append(t_s)
        self._pending_v.setdefault(signal, []).append(value)
        self.max_t_s = max(self.max_t_s, float(t_s.max()))

    def close_ready(self) -> EpochBins | None:
        """Bin and release every epoch that the grace period allows to close."""
        if self.max_t_s == float("-inf"):
            return None
        last = int(epoch_index(np.array([self.max_t_s - self.reorder_grace_s]), self.epoch_s)[0]) - 1
        return self._close_through(last)

    def flush(self) -> EpochBins | None:
        """Close everything buffered (end of a recording or an orderly shutdown)."""
        last = max(
            (int(epoch_index(t, self.epoch_s).max()) for ts in self._pending_t.values() for t in ts),
            default=None,
        )
        return None if last is None else self._close_through(last)

    def _close_through(self, last: int) -> EpochBins | None:
        if self.next_epoch is None:
            first = min(
                (int(epoch_index(t, self.epoch_s).min()) for ts in self._pending_t.values() for t in ts),
                default=None,
            )
            if first is None or first > last:
                return None
            self.next_epoch = first
        start = self.next_epoch
        n = last - start + 1
        if n <= 0:
            return None
        sums: dict[str, NDArray[np.float64]] = {}
        counts: dict[str, NDArray[np.int64]] = {}
        for signal in self.signals:
            ts = self._pending_t.get(signal, [])
            vs = self._pending_v.get(signal, [])
            t_all = np.concatenate(ts) if ts else np.zeros(0)
            v_all = np.concatenate(vs) if vs else np.zeros(0)
            sums[signal], counts[signal] = bin_samples(t_all, v_all, start=start, n=n, epoch_s=self.epoch_s)
            keep = t_all >= (last + 1) * self.epoch_s
            self._pending_t[signal] = [t_all[keep]] if keep.any() else []
            self._pending_v[signal] = [v_all[keep]] if keep.any() else []
        self.next_epoch = last + 1
        return EpochBins(start=start, sums=sums, counts=counts)
