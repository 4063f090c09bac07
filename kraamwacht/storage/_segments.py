"""A segment: one column of a version 2 message kept as one row of arrays in the embedded store.

The encoding only (what a segment's row holds, how its arrays are packed, how a segment is cut);
``sqlite.py`` decides when a column becomes a segment and reads segments beside the rows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kraamwacht.contract import QUALITY_BITS, SampleColumn, flags_of

__all__ = [
    "COLUMNS",
    "QUALITY_WORDS",
    "SEGMENT_MIN",
    "SEGMENT_SPAN",
    "Segment",
    "StoredSample",
    "find",
    "floats",
    "segment_row",
    "seqs",
    "shares",
]

COLUMNS = """
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    seq_first INTEGER NOT NULL,
    seq_last INTEGER NOT NULL,
    episode TEXT NOT NULL,
    subject TEXT NOT NULL,
    signal TEXT NOT NULL,
    t_first REAL NOT NULL,
    t_last REAL NOT NULL,
    receive_time REAL NOT NULL,
    n INTEGER NOT NULL,
    seq BLOB NOT NULL,
    device_time BLOB NOT NULL,
    value BLOB NOT NULL,
    quality BLOB NOT NULL
"""
SEGMENT_MIN = 32  # fewer samples are stored as rows: a live message's one or two gain nothing from a segment
SEGMENT_SPAN = 8192  # the widest range of sequence numbers one segment covers (bounds the search for an identity)
# the quality column's words for each combination of a column's flag bits, as a row stores them
QUALITY_WORDS = [",".join(q.value for q in flags_of(bits)) for bits in range(1 << len(QUALITY_BITS))]


class StoredSample(NamedTuple):
    """One stored sample as :meth:`SqliteStore.identities` lists it (``quality``: flags joined by commas)."""

    device: str
    stream: str
    seq: int
    signal: str
    device_time_s: float
    quality: str


class Segment(NamedTuple):
    """A segment's arrays, unpacked (little-endian 64-bit sequence numbers, times and values, a byte of flags)."""

    seq: NDArray[np.int64]
    device_time_s: NDArray[np.float64]
    value: NDArray[np.float64]
    flags: NDArray[np.uint8]

    @classmethod
    def unpack(cls, seq: bytes, device_time: bytes, value: bytes, quality: bytes) -> Segment:
        """From the row's blobs, without copying."""
        return cls(seqs(seq), floats(device_time), floats(value), np.frombuffer(quality, dtype=np.uint8))

    def packed(self) -> tuple[int, int, float, float, int, bytes, bytes, bytes, bytes]:
        """``seq_first, seq_last, t_first, t_last, n`` and the four blobs, as the row stores them."""
        return (
            int(self.seq[0]),
            int(self.seq[-1]),
            float(self.device_time_s.min()),
            float(self.device_time_s.max()),
            len(self.seq),
            self.seq.astype("<i8").tobytes(),
            self.device_time_s.astype("<f8").tobytes(),
            self.value.astype("<f8").tobytes(),
            self.flags.astype(np.uint8).tobytes(),
        )

    def since(self, start_s: float) -> Segment:
        """The samples measured at or after ``start_s`` (retention keeps the newer part of a segment)."""
        keep = self.device_time_s >= start_s
        return Segment(self.seq[keep], self.device_time_s[keep], self.value[keep], self.flags[keep])


def seqs(blob: bytes) -> NDArray[np.int64]:
    """A segment's sequence numbers, from its ``seq`` blob (a query that needs no other array)."""
    return np.frombuffer(blob, dtype="<i8")


def floats(blob: bytes) -> NDArray[np.float64]:
    """A segment's times or values, from its ``device_time`` or ``value`` blob."""
    return np.frombuffer(blob, dtype="<f8")


def segment_row(column: SampleColumn) -> tuple[object, ...]:
    """The ``segments`` row that holds ``column``, in the order of :data:`COLUMNS`."""
    seq_first, seq_last, t_first, t_last, n, *blobs = Segment(
        column.seq, column.device_time_s, column.value, column.flags
    ).packed()
    return (
        column.device,
        column.stream,
        seq_first,
        seq_last,
        column.episode,
        column.subject,
        column.signal.value,
        t_first,
        t_last,
        column.receive_time.timestamp(),
        n,
        *blobs,
    )


def find(ordered: NDArray[np.int64], other: ArrayLike) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Where each of ``other`` is in the increasing numbers ``ordered``, and whether it is there at all
    (a binary search each, no sort)."""
    at = np.minimum(np.searchsorted(ordered, other), len(ordered) - 1)
    return at, ordered[at] == other


def shares(ordered: NDArray[np.int64], other: NDArray[np.int64]) -> bool:
    """Whether ``other`` holds any of the increasing numbers ``ordered``."""
    return bool(find(ordered, other)[1].any())
