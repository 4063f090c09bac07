"""Version 2 of the observation message: a wearable's samples as columns, one per signal.

Version 1 carries an object per sample, and decoding and checking those objects one by one costs
more than anything else serve does with a gateway's backlog (docs/benchmarks.md). Version 2 carries
the same samples as arrays, so that decoding is JSON's fast path for lists of numbers and every
check is one numpy operation per column. It is for a wearable's own signals only: typed-in readings
(method, who entered them, a signature) stay in version 1.

A :class:`SampleColumn` is one signal's accepted samples of one message; :meth:`SampleColumn.observations`
gives the very observations version 1 would have given for the same samples; the checks are in
``_validate``, with version 1's reasons and words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, field_validator

from kraamwacht.contract._ids import PseudoId
from kraamwacht.contract._models import MAX_SEQ, Model, Observation
from kraamwacht.contract._signals import SIGNAL_UNITS, QualityFlag, Signal
from kraamwacht.contract._time import format_time, require_utc

__all__ = [
    "COLUMN_SIGNALS",
    "QUALITY_BITS",
    "ColumnsMessage",
    "SampleColumn",
    "column_arrays",
    "columns_payload",
    "flags_of",
]

# what a wearable measures itself; a typed-in reading needs version 1's per-sample fields
COLUMN_SIGNALS = (Signal.TEMPERATURE_C, Signal.HEART_RATE_BPM, Signal.BATTERY_PCT)
# a sample's quality flags as bits, in this order (``manual`` is no wearable's)
QUALITY_BITS = (QualityFlag.NO_SKIN_CONTACT, QualityFlag.CLOCK_SKEW, QualityFlag.REPLAYED)
_MICROSECOND = timedelta(microseconds=1)
MAX_OFFSET_S = 1e8  # a sample's time within about three years of its message's t0


class ColumnsMessage(Model):
    """The envelope of a version 2 message; each column is read by :func:`column_arrays`.

    ``t0`` is a UTC time and each column's ``t`` the seconds after it, so a column of times costs
    a number each instead of a timestamp string.
    """

    v: Literal[2]
    device: PseudoId
    stream: PseudoId | None = None
    episode: PseudoId
    subject: PseudoId
    t0: datetime
    columns: tuple[Any, ...] = Field(min_length=1, max_length=len(COLUMN_SIGNALS))

    @field_validator("t0")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return require_utc(v)


@dataclass(frozen=True, slots=True, eq=False)
class SampleColumn:
    """One signal's accepted samples of one device's message, as arrays in message order."""

    episode: str
    subject: str
    device: str
    stream: str
    signal: Signal
    receive_time: datetime
    seq: NDArray[np.int64]
    device_time_s: NDArray[np.float64]
    value: NDArray[np.float64]
    flags: NDArray[np.uint8]  # QUALITY_BITS

    def __len__(self) -> int:
        return len(self.seq)

    def take(self, keep: NDArray[np.bool_]) -> SampleColumn:
        """The same column with only the samples where ``keep`` is true."""
        return SampleColumn(
            self.episode,
            self.subject,
            self.device,
            self.stream,
            self.signal,
            self.receive_time,
            self.seq[keep],
            self.device_time_s[keep],
            self.value[keep],
            self.flags[keep],
        )

    def observations(self) -> list[Observation]:
        """The samples as version 1's observations (for code that takes one observation at a time)."""
        return [
            Observation.trusted(
                {
                    "episode": self.episode,
                    "subject": self.subject,
                    "device": self.device,
                    "signal": self.signal,
                    "value": value,
                    "unit": SIGNAL_UNITS[self.signal],
                    "device_time": datetime.fromtimestamp(t_s, tz=UTC),
                    "receive_time": self.receive_time,
                    "seq": seq,
                    "stream": self.stream,
                    "quality": flags_of(bits),
                    "method": None,
                    "site": None,
                    "entered_by": None,
                }
            )
            for seq, t_s, value, bits in zip(
                self.seq.tolist(), self.device_time_s.tolist(), self.value.tolist(), self.flags.tolist(), strict=True
            )
        ]


def columns_payload(
    *,
    device: str,
    stream: str | None,
    episode: str,
    subject: str,
    samples: Sequence[tuple[str, float, datetime, int, Sequence[str]]],
) -> bytes:
    """A version 2 message of a wearable's ``(signal, value, device_time, seq, quality flags)`` samples.

    ``t0`` is the first sample's whole second; times are microseconds exact, whole seconds written
    as integers (the shortest JSON, and the fastest to read).
    """
    t0 = min(t for _s, _v, t, _q, _f in samples).astimezone(UTC).replace(microsecond=0)
    columns: dict[str, dict[str, Any]] = {}
    for signal, value, t, seq, flags in samples:
        column = columns.setdefault(signal, {"signal": signal, "seq": [], "t": [], "value": [], "q": {}})
        offset = (t - t0) // _MICROSECOND
        column["t"].append(offset // 1_000_000 if offset % 1_000_000 == 0 else offset / 1e6)
        column["seq"].append(seq)
        column["value"].append(value)
        for flag in flags:
            column["q"].setdefault(flag, []).append(len(column["seq"]) - 1)
    body = {
        "v": 2,
        "device": device,
        **({"stream": stream} if stream else {}),
        "episode": episode,
        "subject": subject,
        "t0": format_time(t0),
        "columns": [{k: v for k, v in c.items() if v or k != "q"} for c in columns.values()],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def flags_of(bits: int) -> tuple[QualityFlag, ...]:
    """The quality flags a column's bits stand for, in :data:`QUALITY_BITS` order."""
    return tuple(flag for i, flag in enumerate(QUALITY_BITS) if bits >> i & 1)


def column_arrays(
    raw: object, k: int, *, bool_free: bool = False
) -> tuple[str, NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.uint8]] | str:
    """One column's arrays, or why it is malformed (a message-level fault).

    ``bool_free``: the message holds no JSON ``true`` or ``false`` at all, so numpy's own reading of
    a list tells integers and numbers apart without a look at each item's type (a third of the
    check's time); anything it does not read plainly takes the full check.
    """
    where = f"columns.{k}"
    if type(raw) is not dict or not {"signal", "seq", "t", "value"} <= raw.keys() <= _KEYS:
        return f"{where}: a column is an object with signal, seq, t, value and optionally q"
    name = raw["signal"]
    if type(name) is not str or name not in _NAMES:
        known = ", ".join(_NAMES)
        return (
            f"{where}.signal: {str(name)[:40]!r} is not a wearable's signal ({known}); typed-in readings use version 1"
        )
    seq, t_s, value = raw["seq"], raw["t"], raw["value"]
    if not (type(seq) is list and type(t_s) is list and type(value) is list) or not len(seq) == len(t_s) == len(value):
        return f"{where}: seq, t and value are lists of one length"
    if not seq:
        return f"{where}: a column has at least one sample"
    plain = _plain_numbers(seq, t_s, value) if bool_free else None
    if plain is not None:
        seq_array, t_array, value_array = plain
    else:
        # exact types: JSON's true is no number, and a float sequence number no identity
        if not (set(map(type, seq)) <= _INT and set(map(type, t_s)) <= _NUMBER and set(map(type, value)) <= _NUMBER):
            return f"{where}: seq holds integers, t and value numbers"
        try:
            seq_array = np.array(seq, dtype=np.int64)
        except OverflowError:
            seq_array = np.array([-1])
        try:
            t_array, value_array = np.array(t_s, dtype=np.float64), np.array(value, dtype=np.float64)
        except OverflowError:  # JSON allows any integer; a float does not hold every one
            return f"{where}: t and value hold numbers a 64-bit float can hold"
    if (seq_array < 0).any():
        return f"{where}.seq: a sequence number is an integer from 0 to {MAX_SEQ}"
    if not (np.abs(t_array) <= MAX_OFFSET_S).all():  # also JSON's 1e400, which reads as infinity
        return f"{where}.t: seconds after t0, at most {MAX_OFFSET_S:g} either way"
    quality = raw.get("q", {})
    if type(quality) is not dict:
        return f"{where}.q: an object of quality flags ({', '.join(_BITS)}), each with the positions it marks"
    flags = np.zeros(len(seq), dtype=np.uint8)
    for flag, positions in quality.items():
        bit = _BITS.get(flag)
        if bit is None or type(positions) is not list or not set(map(type, positions)) <= _INT:
            return f"{where}.q: an object of quality flags ({', '.join(_BITS)}), each with the positions it marks"
        if positions and not (min(positions) >= 0 and max(positions) < len(seq)):
            return f"{where}.q.{flag}: a position outside the column"
        flags[positions] |= np.uint8(1 << bit)
    return name, seq_array, t_array, value_array, flags


def _plain_numbers(
    seq: list[object], t_s: list[object], value: list[object]
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]] | None:
    """The lists as arrays when numpy reads seq as 64-bit integers and t and value as numbers, else None.

    Without JSON booleans (the caller's promise) that is exactly "every item an int" and "every
    item an int or a float": a string, null, list or an integer beyond 64 bits gives another dtype.
    """
    try:
        arrays = np.array(seq), np.array(t_s), np.array(value)
    except (ValueError, OverflowError):
        return None
    seq_array, t_array, value_array = arrays
    if any(a.ndim != 1 for a in arrays) or seq_array.dtype != np.int64:
        return None
    if t_array.dtype.kind not in "if" or value_array.dtype.kind not in "if":
        return None
    return seq_array, t_array.astype(np.float64, copy=False), value_array.astype(np.float64, copy=False)


_KEYS = frozenset({"signal", "seq", "t", "value", "q"})
_NAMES: Mapping[str, Signal] = {s.value: s for s in COLUMN_SIGNALS}
_INT = frozenset({int})
_NUMBER = frozenset({int, float})
_BITS = {flag.value: i for i, flag in enumerate(QUALITY_BITS)}
