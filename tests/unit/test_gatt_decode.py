"""GATT decoding against an independent encoder written from the Bluetooth specifications."""

from __future__ import annotations

import struct
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kraamwacht.firmware_sim.gatt_encode import MALFORMED, current_time
from kraamwacht.gateway.decode import (
    BatteryReading,
    DecodeError,
    DecodeReason,
    HeartRateReading,
    TemperatureReading,
    decode,
    decode_current_time,
    decode_heart_rate,
    decode_temperature,
    ieee11073_float,
)


def encode_float(mantissa: int, exponent: int) -> bytes:
    """IEEE-11073 FLOAT: 24-bit two's-complement mantissa, then the exponent byte."""
    return (mantissa & 0xFFFFFF).to_bytes(3, "little") + (exponent & 0xFF).to_bytes(1, "little")


def encode_temperature(
    mantissa: int, exponent: int, *, fahrenheit: bool, stamp: datetime | None, kind: int | None
) -> bytes:
    flags = (1 if fahrenheit else 0) | (2 if stamp else 0) | (4 if kind is not None else 0)
    out = bytes([flags]) + encode_float(mantissa, exponent)
    if stamp:
        out += struct.pack("<HBBBBB", stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    if kind is not None:
        out += bytes([kind])
    return out


def encode_heart_rate(hr: int, *, wide: bool, contact: bool | None, energy: int | None, rr: list[int]) -> bytes:
    flags = (
        (1 if wide else 0)
        | (0 if contact is None else 4 | (2 if contact else 0))
        | (8 if energy is not None else 0)
        | (16 if rr else 0)
    )
    out = bytes([flags]) + hr.to_bytes(2 if wide else 1, "little")
    if energy is not None:
        out += energy.to_bytes(2, "little")
    return out + b"".join(v.to_bytes(2, "little") for v in rr)


def test_by_hand() -> None:
    # 36.85 °C = 3685 × 10^-2, armpit, with a time stamp
    data = bytes([0x06]) + encode_float(3685, -2) + struct.pack("<HBBBBB", 2026, 11, 23, 9, 30, 5) + bytes([1])
    assert decode("2a1c", data) == TemperatureReading(36.85, datetime(2026, 11, 23, 9, 30, 5), "armpit")
    assert decode("2a37", bytes([0x16, 72, 0x00, 0x04])) == HeartRateReading(72, True, None, (1.0,))
    assert decode("00002a19-0000-1000-8000-00805f9b34fb", bytes([87])) == BatteryReading(87)
    assert ieee11073_float(encode_float(-5, 1)) == -50.0


@settings(max_examples=300, deadline=None)
@given(
    mantissa=st.integers(-(2**23) + 3, 2**23 - 3),
    exponent=st.integers(-4, 2),
    fahrenheit=st.booleans(),
    stamp=st.none()
    | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    ),
    kind=st.none() | st.integers(1, 9),
)
def test_temperature_round_trip(
    mantissa: int, exponent: int, fahrenheit: bool, stamp: datetime | None, kind: int | None
) -> None:
    reading = decode("2a1c", encode_temperature(mantissa, exponent, fahrenheit=fahrenheit, stamp=stamp, kind=kind))
    value = mantissa * 10.0**exponent
    want = (value - 32) * 5 / 9 if fahrenheit else value
    assert reading.temp_c == pytest.approx(want, rel=1e-9, abs=1e-6)
    assert reading.timestamp == stamp
    assert (reading.temperature_type is None) == (kind is None)


@settings(max_examples=300, deadline=None)
@given(
    wide=st.booleans(),
    hr=st.integers(0, 255),
    contact=st.none() | st.booleans(),
    energy=st.none() | st.integers(0, 65535),
    rr=st.lists(st.integers(0, 65535), max_size=8),
)
def test_heart_rate_round_trip(wide: bool, hr: int, contact: bool | None, energy: int | None, rr: list[int]) -> None:
    reading = decode("2a37", encode_heart_rate(hr, wide=wide, contact=contact, energy=energy, rr=rr))
    assert reading == HeartRateReading(hr, contact, energy, tuple(v / 1024 for v in rr))


@pytest.mark.parametrize(
    ("uuid", "data", "reason"),
    [
        ("2a1c", bytes([0x00, 1, 2, 3]), DecodeReason.TOO_SHORT),
        ("2a1c", bytes([0x08]) + encode_float(3685, -2), DecodeReason.RESERVED_FLAGS),
        ("2a1c", bytes([0x00]) + bytes.fromhex("ffff7f00"), DecodeReason.SPECIAL_VALUE),  # NaN
        ("2a1c", bytes([0x00]) + bytes.fromhex("00008000"), DecodeReason.SPECIAL_VALUE),  # NRes
        (
            "2a1c",
            bytes([0x02]) + encode_float(3685, -2) + struct.pack("<HBBBBB", 2026, 13, 1, 0, 0, 0),
            DecodeReason.BAD_TIMESTAMP,
        ),
        ("2a1c", bytes([0x04]) + encode_float(3685, -2) + bytes([42]), DecodeReason.BAD_TEMPERATURE_TYPE),
        ("2a1c", bytes([0x00]) + encode_float(3685, -2) + b"\x00", DecodeReason.TOO_LONG),
        ("2a37", bytes([0x01, 72]), DecodeReason.TOO_SHORT),
        ("2a37", bytes([0x10, 72, 0x00]), DecodeReason.TOO_SHORT),
        ("2a37", bytes([0x00, 72, 0x00]), DecodeReason.TOO_LONG),
        ("2a37", bytes([0x20, 72]), DecodeReason.RESERVED_FLAGS),
        ("2a19", bytes([101]), DecodeReason.OUT_OF_RANGE),
        ("2a19", b"", DecodeReason.TOO_SHORT),
        ("2a6e", bytes([1, 2]), DecodeReason.UNKNOWN_CHARACTERISTIC),
    ],
)
def test_bad_bytes_give_a_reason(uuid: str, data: bytes, reason: DecodeReason) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(uuid, data)
    assert caught.value.reason is reason
    assert str(caught.value).startswith(reason.value)


@pytest.mark.parametrize("uuid", ["2a1c", "2a37", "2a19"])  # 1,000 inputs for each characteristic
@settings(max_examples=1000, deadline=None)
@given(data=st.binary(max_size=40))
def test_any_bytes_decode_or_raise_decode_error_only(uuid: str, data: bytes) -> None:
    outcome: object
    try:
        outcome = decode(uuid, data)
    except DecodeError as exc:  # anything else (struct.error, IndexError...) fails the test
        outcome = exc
    assert isinstance(outcome, DecodeError | TemperatureReading | HeartRateReading | BatteryReading)
    assert not isinstance(outcome, DecodeError) or isinstance(outcome.reason, DecodeReason)


@given(
    at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
)
def test_current_time_round_trip(at: datetime) -> None:
    decoded = decode_current_time(current_time(at))
    assert abs((decoded - at).total_seconds()) < 1 / 256 + 1e-9  # Exact Time 256: 1/256 s resolution
    assert decoded <= at


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes(9), DecodeReason.TOO_SHORT),
        (bytes(11), DecodeReason.TOO_LONG),
        (struct.pack("<HBBBBBBBB", 2026, 13, 1, 0, 0, 0, 0, 0, 0), DecodeReason.BAD_TIMESTAMP),  # month 13
        (struct.pack("<HBBBBBBBB", 2026, 11, 23, 25, 0, 0, 0, 0, 0), DecodeReason.BAD_TIMESTAMP),  # hour 25
        (
            struct.pack("<HBBBBBBBB", 2026, 11, 23, 9, 0, 0, 3, 0, 0),
            DecodeReason.BAD_TIMESTAMP,
        ),  # a Monday, not Wednesday
    ],
)
def test_bad_current_time_gives_a_reason(data: bytes, reason: DecodeReason) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_current_time(data)
    assert caught.value.reason is reason


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=16))
def test_any_current_time_bytes_decode_or_raise_decode_error_only(data: bytes) -> None:
    outcome: object
    try:
        outcome = decode_current_time(data)
    except DecodeError as exc:  # anything else fails the test
        outcome = exc.reason
    assert isinstance(outcome, datetime | DecodeReason)


@pytest.mark.parametrize(("characteristic", "payload", "what"), MALFORMED, ids=[m[2] for m in MALFORMED])
def test_every_malformed_payload_of_the_emulated_wearable_is_refused(
    characteristic: str, payload: bytes, what: str
) -> None:
    decoder = decode_temperature if characteristic == "temperature" else decode_heart_rate
    with pytest.raises(DecodeError) as refused:
        decoder(payload)
    assert refused.value.detail  # a reason a person can read, logged and counted by the gateway
