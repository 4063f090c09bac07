"""Decoding the standard GATT characteristics the wearables send (pure: bytes in, readings out).

* Temperature Measurement 0x2A1C (Health Thermometer 0x1809): flags, IEEE-11073 32-bit FLOAT,
  optional time stamp (Date Time), optional temperature type (2 = armpit... see ``TEMPERATURE_TYPES``);
* Heart Rate Measurement 0x2A37 (Heart Rate 0x180D): flags, uint8 or uint16 rate, sensor contact,
  optional energy expended, RR intervals in 1/1024 s;
* Battery Level 0x2A19 (Battery 0x180F): uint8 percent;
* Current Time 0x2A2B (Current Time 0x1805): the wearable's clock, read at connect to measure its
  offset from the gateway's clock (Exact Time 256: date time, day of week, 1/256 s, adjust reason).

Strict: a wrong length, reserved bits, a special FLOAT value (NaN, NRes, ±INF) or an impossible
date is a :class:`DecodeError` with a :class:`DecodeReason`, never another exception, so the
gateway can count and log it and carry on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "BATTERY_LEVEL",
    "CURRENT_TIME",
    "HEART_RATE_MEASUREMENT",
    "TEMPERATURE_MEASUREMENT",
    "BatteryReading",
    "DecodeError",
    "DecodeReason",
    "HeartRateReading",
    "TemperatureReading",
    "decode",
    "decode_battery",
    "decode_current_time",
    "decode_heart_rate",
    "decode_temperature",
    "ieee11073_float",
]

TEMPERATURE_MEASUREMENT = "00002a1c-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT = "00002a37-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
CURRENT_TIME = "00002a2b-0000-1000-8000-00805f9b34fb"

# Health Thermometer Service spec, Temperature Type characteristic
TEMPERATURE_TYPES = {
    1: "armpit",
    2: "body",
    3: "ear",
    4: "finger",
    5: "gastro-intestinal",
    6: "mouth",
    7: "rectum",
    8: "toe",
    9: "tympanum",
}

_FLOAT_SPECIAL = {0x007FFFFF: "NaN", 0x00800000: "NRes", 0x007FFFFE: "+INF", 0x00800002: "-INF", 0x00800001: "reserved"}


class DecodeReason(StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    RESERVED_FLAGS = "reserved_flags"
    SPECIAL_VALUE = "special_value"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_TEMPERATURE_TYPE = "bad_temperature_type"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_CHARACTERISTIC = "unknown_characteristic"


class DecodeError(ValueError):
    def __init__(self, reason: DecodeReason, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class TemperatureReading:
    temp_c: float
    timestamp: datetime | None  # the device's clock (no zone in the characteristic)
    temperature_type: str | None


@dataclass(frozen=True, slots=True)
class HeartRateReading:
    hr_bpm: int
    skin_contact: bool | None  # None: the sensor does not report contact
    energy_kj: int | None
    rr_s: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class BatteryReading:
    battery_pct: int


def ieee11073_float(raw: bytes) -> float:
    """IEEE-11073 32-bit FLOAT: a signed 24-bit mantissa and a signed 8-bit base-10 exponent."""
    if len(raw) != 4:
        raise DecodeError(DecodeReason.TOO_SHORT, f"a FLOAT needs 4 bytes, got {len(raw)}")
    value = int.from_bytes(raw, "little")
    mantissa = value & 0x00FFFFFF
    if mantissa in _FLOAT_SPECIAL and (value >> 24) == 0:
        raise DecodeError(DecodeReason.SPECIAL_VALUE, f"FLOAT {_FLOAT_SPECIAL[mantissa]}")
    if mantissa >= 0x800000:
        mantissa -= 0x1000000
    exponent = raw[3] - 256 if raw[3] >= 128 else raw[3]
    return mantissa * 10.0**exponent


def _date_time(what: str, year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    """A GATT Date Time (0x2A08) field, or :class:`DecodeError` naming the impossible date."""
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise DecodeError(
            DecodeReason.BAD_TIMESTAMP, f"{what} {year}-{month}-{day} {hour}:{minute}:{second}: {exc}"
        ) from exc


def decode_temperature(data: bytes) -> TemperatureReading:
    if len(data) < 5:
        raise DecodeError(DecodeReason.TOO_SHORT, f"temperature measurement of {len(data)} bytes, at least 5 needed")
    flags = data[0]
    if flags & 0xF8:
        raise DecodeError(DecodeReason.RESERVED_FLAGS, f"flags 0x{flags:02x} set reserved bits")
    expected = 5 + (7 if flags & 0x02 else 0) + (1 if flags & 0x04 else 0)
    if len(data) != expected:
        reason = DecodeReason.TOO_SHORT if len(data) < expected else DecodeReason.TOO_LONG
        raise DecodeError(reason, f"flags 0x{flags:02x} mean {expected} bytes, got {len(data)}")
    value = ieee11073_float(bytes(data[1:5]))
    temp_c = (value - 32.0) * 5.0 / 9.0 if flags & 0x01 else value
    offset = 5
    timestamp = None
    if flags & 0x02:
        timestamp = _date_time("time stamp", *struct.unpack_from("<HBBBBB", data, offset))
        offset += 7
    temperature_type = None
    if flags & 0x04:
        code = data[offset]
        if code not in TEMPERATURE_TYPES:
            raise DecodeError(DecodeReason.BAD_TEMPERATURE_TYPE, f"temperature type {code} is not defined")
        temperature_type = TEMPERATURE_TYPES[code]
    return TemperatureReading(round(temp_c, 6), timestamp, temperature_type)


def decode_heart_rate(data: bytes) -> HeartRateReading:
    if len(data) < 2:
        raise DecodeError(DecodeReason.TOO_SHORT, f"heart rate measurement of {len(data)} bytes, at least 2 needed")
    flags = data[0]
    if flags & 0xE0:
        raise DecodeError(DecodeReason.RESERVED_FLAGS, f"flags 0x{flags:02x} set reserved bits")
    offset = 1
    width = 2 if flags & 0x01 else 1
    fixed = 1 + width + (2 if flags & 0x08 else 0)
    if len(data) < fixed:
        raise DecodeError(DecodeReason.TOO_SHORT, f"flags 0x{flags:02x} need at least {fixed} bytes, got {len(data)}")
    hr = int.from_bytes(data[offset : offset + width], "little")
    offset += width
    contact = bool(flags & 0x02) if flags & 0x04 else None
    energy = None
    if flags & 0x08:
        energy = int.from_bytes(data[offset : offset + 2], "little")
        offset += 2
    rest = len(data) - offset
    rr: tuple[float, ...] = ()
    if flags & 0x10:
        if rest == 0 or rest % 2:
            raise DecodeError(DecodeReason.TOO_SHORT, f"RR intervals need pairs of bytes, {rest} left")
        rr = tuple(v / 1024.0 for v in struct.unpack_from(f"<{rest // 2}H", data, offset))
    elif rest:
        raise DecodeError(DecodeReason.TOO_LONG, f"{rest} bytes after the heart rate, but no RR intervals flagged")
    return HeartRateReading(hr, contact, energy, rr)


def decode_battery(data: bytes) -> BatteryReading:
    if len(data) != 1:
        raise DecodeError(
            DecodeReason.TOO_SHORT if not data else DecodeReason.TOO_LONG,
            f"battery level of {len(data)} bytes, 1 expected",
        )
    if data[0] > 100:
        raise DecodeError(DecodeReason.OUT_OF_RANGE, f"battery level {data[0]} % above 100")
    return BatteryReading(data[0])


def decode_current_time(data: bytes) -> datetime:
    """Current Time (0x2A2B) as a naive datetime in the device's clock, to 1/256 s."""
    if len(data) != 10:
        raise DecodeError(
            DecodeReason.TOO_SHORT if len(data) < 10 else DecodeReason.TOO_LONG,
            f"current time of {len(data)} bytes, 10 expected",
        )
    *date_time, weekday, fraction, _adjust = struct.unpack("<HBBBBBBBB", data)
    at = _date_time("current time", *date_time)
    if weekday not in (0, at.isoweekday()):  # 0 means unknown
        raise DecodeError(DecodeReason.BAD_TIMESTAMP, f"day of week {weekday} does not match {at.date()}")
    return at + timedelta(seconds=fraction / 256)


_DECODERS = {
    TEMPERATURE_MEASUREMENT: decode_temperature,
    HEART_RATE_MEASUREMENT: decode_heart_rate,
    BATTERY_LEVEL: decode_battery,
}


def decode(uuid: str, data: bytes) -> TemperatureReading | HeartRateReading | BatteryReading:
    """Decode a characteristic value by its UUID (16-bit ``"2a1c"`` or the full 128-bit form)."""
    key = uuid.lower()
    if len(key) == 4:
        key = f"0000{key}-0000-1000-8000-00805f9b34fb"
    decoder = _DECODERS.get(key)
    if decoder is None:
        raise DecodeError(DecodeReason.UNKNOWN_CHARACTERISTIC, f"no decoder for characteristic {uuid[:40]}")
    return decoder(bytes(data))
