"""The wearable's side of the GATT formats: readings → characteristic bytes.

Written from the Bluetooth specifications independently of the gateway's decoder
(``kraamwacht.gateway.decode``), so that tests comparing the two sides mean something.
"""

from __future__ import annotations

import math
import struct
from datetime import datetime

from kraamwacht.errors import InvalidValueError

__all__ = ["battery_level", "current_time", "heart_rate_measurement", "temperature_measurement"]

ARMPIT = 1  # Temperature Type: armpit


def _float32(value: float, exponent: int = -2) -> bytes:
    """IEEE-11073 FLOAT with a fixed base-10 exponent (0.01 °C resolution at -2)."""
    mantissa = round(value * 10 ** (-exponent))
    if not -(2**23) + 3 <= mantissa <= 2**23 - 3 or not math.isfinite(value):
        raise InvalidValueError(f"{value!r} does not fit an IEEE-11073 FLOAT at exponent {exponent}")
    return struct.pack("<i", mantissa)[:3] + struct.pack("<b", exponent)


def temperature_measurement(temp_c: float, *, at: datetime | None, temperature_type: int | None = ARMPIT) -> bytes:
    """Temperature Measurement (0x2A1C): Celsius, optional time stamp and temperature type."""
    flags = (0x02 if at is not None else 0) | (0x04 if temperature_type is not None else 0)
    out = bytes([flags]) + _float32(temp_c)
    if at is not None:
        out += struct.pack("<HBBBBB", at.year, at.month, at.day, at.hour, at.minute, at.second)
    if temperature_type is not None:
        out += bytes([temperature_type])
    return out


def heart_rate_measurement(hr_bpm: int, *, skin_contact: bool, rr_s: tuple[float, ...] = ()) -> bytes:
    """Heart Rate Measurement (0x2A37): uint8 or uint16 rate, sensor contact supported, RR in 1/1024 s."""
    wide = hr_bpm > 255
    flags = (0x01 if wide else 0) | 0x04 | (0x02 if skin_contact else 0) | (0x10 if rr_s else 0)
    out = bytes([flags]) + hr_bpm.to_bytes(2 if wide else 1, "little")
    return out + b"".join(round(rr * 1024).to_bytes(2, "little") for rr in rr_s)


def battery_level(pct: int) -> bytes:
    """Battery Level (0x2A19)."""
    return bytes([max(0, min(100, pct))])


def current_time(at: datetime) -> bytes:
    """Current Time (0x2A2B), Exact Time 256: date time, ISO day of week, fractions of 1/256 s, adjust reason 0."""
    fraction = min(255, int(at.microsecond / 1_000_000 * 256))
    return struct.pack(
        "<HBBBBBBBB", at.year, at.month, at.day, at.hour, at.minute, at.second, at.isoweekday(), fraction, 0
    )


# --- malformed payloads: what a faulty or hostile wearable might send --------------------------

_TS = struct.pack("<HBBBBB", 2026, 11, 23, 12, 0, 0)
_T36_6 = _float32(36.6)
# (characteristic, payload, what is wrong); every one breaks the GATT specification, so a strict
# decoder must refuse it (values that decode but are implausible are the contract's job, at serve)
MALFORMED: tuple[tuple[str, bytes, str], ...] = (
    ("temperature", b"", "empty"),
    ("temperature", b"\x00\x6e\x01", "FLOAT cut short"),
    ("temperature", b"\x02" + _T36_6 + _TS[:3], "time stamp flagged, cut short"),
    ("temperature", b"\xf8" + _T36_6, "reserved flag bits"),
    ("temperature", b"\x00\xff\xff\x7f\x00", "FLOAT NaN"),
    ("temperature", b"\x00\xfe\xff\x7f\x00", "FLOAT +INFINITY"),
    ("temperature", b"\x00\x00\x00\x80\x00", "FLOAT NRes"),
    ("temperature", b"\x00\x02\x00\x80\x00", "FLOAT -INFINITY"),
    ("temperature", b"\x02" + _T36_6 + struct.pack("<HBBBBB", 2026, 13, 40, 25, 61, 61), "impossible time stamp"),
    ("temperature", b"\x04" + _T36_6 + b"\x42", "undefined temperature type"),
    ("temperature", b"\x00" + _T36_6 + b"\x00\x00\x00", "trailing bytes"),
    ("temperature", bytes(range(256)) * 2, "512 bytes of garbage"),
    ("heart_rate", b"", "empty"),
    ("heart_rate", b"\x01\x50", "16-bit rate flagged, one byte sent"),
    ("heart_rate", b"\xe0\x50", "reserved flag bits"),
    ("heart_rate", b"\x10\x50\x00", "odd RR-interval byte"),
    ("heart_rate", b"\x00\x50\x00\x00", "trailing bytes, no RR flagged"),
    ("heart_rate", b"\x08\x50\x01", "energy expended flagged, cut short"),
)


def malformed_payloads(n: int) -> list[tuple[str, bytes]]:
    """``n`` malformed payloads, cycling through :data:`MALFORMED`."""
    return [(MALFORMED[i % len(MALFORMED)][0], MALFORMED[i % len(MALFORMED)][1]) for i in range(n)]
