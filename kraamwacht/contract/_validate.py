"""Validation of observation messages that never raises on bad input.

:func:`parse_observation_message` returns the accepted observations *and* a :class:`Rejection`
with a machine-readable :class:`RejectReason` for every sample or message it refused, so the
caller can log and count each one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import orjson
from pydantic import Field, ValidationError

from kraamwacht.contract._columns import ColumnsMessage, SampleColumn, column_arrays
from kraamwacht.contract._ids import PseudoId
from kraamwacht.contract._models import MAX_SAMPLES_PER_MESSAGE, MAX_SEQ, Model, Observation, SampleIn, Signature
from kraamwacht.contract._signals import (
    SIGNAL_UNITS,
    BilirubinMethod,
    QualityFlag,
    Signal,
    ThermometerMethod,
    out_of_range,
    range_problem,
)
from kraamwacht.contract._time import format_time
from kraamwacht.contract._topics import Topics

__all__ = [
    "FUTURE_TOLERANCE",
    "MAX_MESSAGE_BYTES",
    "MESSAGE_VERSIONS",
    "PAST_LIMIT",
    "ParsedMessage",
    "RejectReason",
    "Rejection",
    "parse_message",
    "parse_observation_message",
    "validate_value",
]

MAX_MESSAGE_BYTES = 256 * 1024
FUTURE_TOLERANCE = timedelta(minutes=5)
PAST_LIMIT = timedelta(days=31)
# a message's layout (its "v"): 1 an object per sample, 2 a wearable's samples as columns (kraamwacht.contract._columns)
MESSAGE_VERSIONS = (1, 2)


class RejectReason(StrEnum):
    MESSAGE_TOO_LARGE = "message_too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    SCHEMA = "schema"
    UNSUPPORTED_VERSION = "unsupported_version"
    TOPIC_MISMATCH = "topic_mismatch"
    UNKNOWN_SIGNAL = "unknown_signal"
    NOT_FINITE = "not_finite"
    OUT_OF_RANGE = "out_of_range"
    FUTURE_TIME = "future_time"
    ANCIENT_TIME = "ancient_time"
    MISSING_METHOD = "missing_method"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # the store's verdict: same identity, other content
    UNVERIFIED_ACTOR = "unverified_actor"  # a typed-in reading not signed by the staff member it names
    NOT_AN_ENTRY = "not_an_entry"  # on the typed-in readings' topic, a sample that is not a typed-in reading
    NOT_PAIRED = "not_paired"  # serve's verdict: a wearable not paired to the gateway that sent it
    UNATTRIBUTED = "unattributed"  # serve's verdict: the open topic, where serve requires a known sender


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message or one of its samples was refused; ``index`` is the sample's position."""

    reason: RejectReason
    detail: str
    index: int | None = None


def validate_value(signal: Signal, value: float) -> Rejection | None:
    """Range check for one value; None when it is acceptable."""
    problem = range_problem(signal, value)
    if problem is None:
        return None
    reason = RejectReason.NOT_FINITE if not math.isfinite(value) else RejectReason.OUT_OF_RANGE
    return Rejection(reason, problem)


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """What one payload holds: version 1's observations or version 2's columns, and every refusal."""

    observations: list[Observation]
    columns: list[SampleColumn]
    rejections: list[Rejection]


def parse_observation_message(
    payload: bytes, *, topic: str | None, receive_time: datetime
) -> tuple[list[Observation], list[Rejection]]:
    """Validate one MQTT payload; return what is accepted and why anything was refused.

    A message-level fault (not JSON, wrong schema, wrong version, topic that contradicts the
    payload) rejects the whole message; a sample-level fault rejects only that sample. A version 2
    message's columns come back as the observations version 1 would have given.
    """
    parsed = parse_message(payload, topic=topic, receive_time=receive_time)
    return parsed.observations + [o for c in parsed.columns for o in c.observations()], parsed.rejections


def parse_message(payload: bytes, *, topic: str | None, receive_time: datetime) -> ParsedMessage:
    """Validate one MQTT payload of either version, keeping version 2's columns as arrays (serve's path)."""

    def refused(reason: RejectReason, detail: str) -> ParsedMessage:
        return ParsedMessage([], [], [Rejection(reason, detail)])

    if len(payload) > MAX_MESSAGE_BYTES:
        return refused(RejectReason.MESSAGE_TOO_LARGE, f"{len(payload)} bytes > {MAX_MESSAGE_BYTES}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return refused(RejectReason.NOT_UTF8, f"payload is not UTF-8: {exc.reason} at byte {exc.start}")
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return refused(RejectReason.NOT_JSON, f"payload is not JSON: {str(exc)[:120]}")
    if isinstance(raw, dict) and raw.get("v") not in (None, *MESSAGE_VERSIONS):
        return refused(RejectReason.UNSUPPORTED_VERSION, f"payload version {raw.get('v')!r}, expected 1 or 2")
    # the envelope first; samples one by one below, so one bad sample does not sink its neighbours
    try:
        message = (_ColumnsEnvelope if isinstance(raw, dict) and raw.get("v") == 2 else _Envelope).model_validate(raw)
    except ValidationError as exc:
        return refused(RejectReason.SCHEMA, _schema_detail(exc))
    if topic is not None:
        parsed = Topics.parse_observations(topic)
        if parsed is None or (parsed.episode, parsed.subject) != (message.episode, message.subject):
            detail = f"topic {topic[:120]!r} does not match the payload's episode/subject"
            return refused(RejectReason.TOPIC_MISMATCH, detail)
        if parsed.source == "entry" and isinstance(message, _ColumnsEnvelope):
            return refused(
                RejectReason.NOT_AN_ENTRY, "a version 2 message carries a wearable's samples, not typed-in readings"
            )
        if parsed.source == "entry" and isinstance(message, _Envelope) and (wrong := _not_entries(message.samples)):
            detail = f"sample(s) {wrong[:10]} on the typed-in readings' topic lack entered_by or the manual flag"
            return refused(RejectReason.NOT_AN_ENTRY, detail)
    if isinstance(message, _ColumnsEnvelope):  # a message without true or false has no boolean hidden in a column
        return _columns(message, receive_time, bool_free=b"true" not in payload and b"false" not in payload)
    accepted: list[Observation] = []
    rejected: list[Rejection] = []
    shared = _Shared(message, receive_time)
    for index, item in enumerate(message.samples):
        # anything unusual, and every refusal, takes the full validation
        result = _plain_sample(item, shared) or _validate_sample(item, message, receive_time)
        if isinstance(result, Rejection):
            rejected.append(Rejection(result.reason, result.detail, index))
        else:
            accepted.append(result)
    return ParsedMessage(accepted, [], rejected)


class _ColumnsEnvelope(ColumnsMessage):
    """A version 2 message whose columns are not yet read."""


def _columns(message: _ColumnsEnvelope, receive_time: datetime, *, bool_free: bool = False) -> ParsedMessage:
    """A version 2 message's columns, each checked in one pass; a refused sample's index counts across the columns.

    A column that is not lists of numbers of one length refuses the message (``schema``); a value
    or a time that version 1 would refuse refuses that sample, with version 1's reason and words.
    """
    if sum(len(c["seq"]) for c in message.columns if type(c) is dict and type(c.get("seq")) is list) > (
        MAX_SAMPLES_PER_MESSAGE
    ):
        return ParsedMessage(
            [], [], [Rejection(RejectReason.SCHEMA, f"columns: more than {MAX_SAMPLES_PER_MESSAGE} samples")]
        )
    receive_time = receive_time.astimezone(UTC)
    t0_s = message.t0.timestamp()
    latest_s, oldest_s = (receive_time + FUTURE_TOLERANCE).timestamp(), (receive_time - PAST_LIMIT).timestamp()
    columns: list[SampleColumn] = []
    rejected: list[Rejection] = []
    names: set[str] = set()
    offset = 0
    for k, raw in enumerate(message.columns):
        arrays = column_arrays(raw, k, bool_free=bool_free)
        if isinstance(arrays, str):
            return ParsedMessage([], [], [Rejection(RejectReason.SCHEMA, arrays)])
        name, seq, t_s, value, flags = arrays
        if name in names:
            return ParsedMessage([], [], [Rejection(RejectReason.SCHEMA, f"columns.{k}: a second column of {name}")])
        names.add(name)
        signal = Signal(name)
        device_time_s = t0_s + t_s
        refused = out_of_range(signal, value) | (device_time_s > latest_s) | (device_time_s < oldest_s)
        for i in np.flatnonzero(refused).tolist():
            rejected.append(_refused_sample(signal, float(value[i]), float(device_time_s[i]), receive_time, offset + i))
        offset += len(seq)
        column = SampleColumn(
            message.episode,
            message.subject,
            message.device,
            message.stream or "",
            signal,
            receive_time,
            seq,
            device_time_s,
            value,
            flags,
        )
        if not refused.all():
            columns.append(column.take(~refused) if refused.any() else column)
    return ParsedMessage([], columns, rejected)


def _refused_sample(
    signal: Signal, value: float, device_time_s: float, receive_time: datetime, index: int
) -> Rejection:
    """Why one sample of a column is refused, as version 1 says it for the same sample."""
    problem = validate_value(signal, value)
    if problem is not None:
        return Rejection(problem.reason, problem.detail, index)
    try:
        when = format_time(datetime.fromtimestamp(device_time_s, tz=UTC))
    except (OverflowError, OSError, ValueError):  # beyond the calendar: say it in seconds
        when = f"{device_time_s:.0f} s after 1970"
    if device_time_s > receive_time.timestamp():
        ahead = device_time_s - receive_time.timestamp()
        return Rejection(RejectReason.FUTURE_TIME, f"device time {when} is {ahead:.0f} s after receive time", index)
    return Rejection(RejectReason.ANCIENT_TIME, f"device time {when} is more than {PAST_LIMIT.days} days old", index)


class _Envelope(Model):
    """An :class:`ObservationMessage` whose samples are not yet validated."""

    v: Literal[1]
    device: PseudoId
    stream: PseudoId | None = None
    episode: PseudoId
    subject: PseudoId
    samples: tuple[Any, ...] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)
    signature: Signature | None = None  # checked by serve (staff keys)


# A wearable's sample, as gateways send it: the shape the fast path below takes (any other goes through pydantic).
_PLAIN_KEYS = frozenset({"signal", "value", "t", "seq", "q"})
_PLAIN_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|\+00:00)")
_PLAIN_SIGNALS = {s.value: s for s in Signal if s not in (Signal.BILIRUBIN_UMOL_L, Signal.THERMOMETER_C)}
_FLAGS = {f.value: f for f in QualityFlag}


def _not_entries(samples: tuple[Any, ...]) -> list[int]:
    """Positions of the samples that are not typed in: no ``entered_by`` or no ``manual`` flag (a wearable's)."""
    return [
        i
        for i, item in enumerate(samples)
        if not (isinstance(item, dict) and item.get("entered_by") and QualityFlag.MANUAL.value in (item.get("q") or ()))
    ]


_MAX_FLOAT_INT = 2**1023  # JSON allows any integer; float() refuses the ones beyond this with an exception


class _Shared:
    """What every sample of one message shares, computed once per message for :func:`_plain_sample`."""

    __slots__ = ("latest", "message", "oldest", "receive_time")

    def __init__(self, message: _Envelope, receive_time: datetime) -> None:
        self.message = message
        self.receive_time = receive_time.astimezone(UTC)
        self.latest = receive_time + FUTURE_TOLERANCE
        self.oldest = receive_time - PAST_LIMIT


def _plain_sample(item: Any, shared: _Shared) -> Observation | None:
    """The common, valid wearable sample, accepted without pydantic's per-sample cost; None otherwise.

    Only a subset of what :func:`_validate_sample` accepts, giving the very same observation (a
    property test holds the two to that); anything else, and every sample that is refused, goes
    through the full validation so that its rejection reason is the same either way.
    """
    if type(item) is not dict or not item.keys() <= _PLAIN_KEYS or len(item) < 4:
        return None
    signal = _PLAIN_SIGNALS.get(item["signal"]) if type(item["signal"]) is str else None
    value, t, seq = item["value"], item["t"], item["seq"]
    if signal is None or type(value) not in (float, int) or type(seq) is not int or type(t) is not str:
        return None
    if type(value) is int and abs(value) > _MAX_FLOAT_INT:
        return None  # beyond any float: the full validation says why
    value = float(value)
    if range_problem(signal, value) is not None or not 0 <= seq <= MAX_SEQ or _PLAIN_TIME.fullmatch(t) is None:
        return None
    device_time = datetime.fromisoformat(t).astimezone(UTC)
    if not shared.oldest <= device_time <= shared.latest:
        return None
    flags = item.get("q", ())
    if flags:
        if type(flags) is not list or not all(type(f) is str and f in _FLAGS for f in flags):
            return None
        quality = tuple(_FLAGS[f] for f in flags)
    else:
        if type(flags) not in (list, tuple):
            return None
        quality = ()
    m = shared.message
    return Observation.trusted(
        {  # in the order the model declares its fields
            "episode": m.episode,
            "subject": m.subject,
            "device": m.device,
            "signal": signal,
            "value": value,
            "unit": SIGNAL_UNITS[signal],
            "device_time": device_time,
            "receive_time": shared.receive_time,
            "seq": seq,
            "stream": m.stream or "",
            "quality": quality,
            "method": None,
            "site": None,
            "entered_by": None,
        }
    )


def _validate_sample(item: Any, message: _Envelope, receive_time: datetime) -> Observation | Rejection:
    try:
        sample = SampleIn.model_validate(item)
    except ValidationError as exc:
        return Rejection(RejectReason.SCHEMA, _schema_detail(exc))
    try:
        signal = Signal(sample.signal)
    except ValueError:
        known = ", ".join(s.value for s in Signal)
        return Rejection(RejectReason.UNKNOWN_SIGNAL, f"unknown signal {sample.signal[:40]!r}; known: {known}")
    problem = validate_value(signal, sample.value)
    if problem is not None:
        return problem
    if sample.t > receive_time + FUTURE_TOLERANCE:
        ahead = (sample.t - receive_time).total_seconds()
        return Rejection(
            RejectReason.FUTURE_TIME, f"device time {format_time(sample.t)} is {ahead:.0f} s after receive time"
        )
    if sample.t < receive_time - PAST_LIMIT:
        return Rejection(
            RejectReason.ANCIENT_TIME, f"device time {format_time(sample.t)} is more than {PAST_LIMIT.days} days old"
        )
    if signal is Signal.BILIRUBIN_UMOL_L and not isinstance(sample.method, BilirubinMethod):
        return Rejection(RejectReason.MISSING_METHOD, "bilirubin needs method 'tcb' or 'tsb'")
    if (
        signal is Signal.THERMOMETER_C
        and sample.method is not None
        and not isinstance(sample.method, ThermometerMethod)
    ):
        known = ", ".join(m.value for m in ThermometerMethod)
        return Rejection(RejectReason.MISSING_METHOD, f"a thermometer reading's method is one of {known}")
    if signal not in (Signal.BILIRUBIN_UMOL_L, Signal.THERMOMETER_C) and sample.method is not None:
        return Rejection(RejectReason.SCHEMA, f"{signal.value} takes no method")
    return Observation(
        episode=message.episode,
        subject=message.subject,
        device=message.device,
        signal=signal,
        value=sample.value,
        unit=SIGNAL_UNITS[signal],
        device_time=sample.t,
        receive_time=receive_time.astimezone(UTC),
        seq=sample.seq,
        stream=message.stream or "",
        quality=sample.q,
        method=sample.method,
        site=sample.site,
        entered_by=sample.entered_by,
    )


def _schema_detail(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"[:200]
