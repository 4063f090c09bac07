"""The data contract: observations, care episodes, MQTT topics and payloads, alert events.

Everything that crosses a process boundary is defined here and nowhere else; ``docs/contract.md``
describes the same for people. Identifiers are pseudonymous (no names, no MAC addresses).
Validation never raises on bad input: :func:`parse_observation_message` returns the accepted
observations *and* a :class:`Rejection` with a machine-readable :class:`RejectReason` for every
sample or message it refused, so the caller can log and count each one.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "CONTRACT_VERSION",
    "SIGNAL_RANGES",
    "SIGNAL_UNITS",
    "AlertEvent",
    "AlertEventKind",
    "AlertLevel",
    "BilirubinMethod",
    "CareEpisode",
    "CommandMessage",
    "Observation",
    "ObservationMessage",
    "QualityFlag",
    "RejectReason",
    "Rejection",
    "Role",
    "SampleIn",
    "Signal",
    "Subject",
    "Topics",
    "format_time",
    "format_timestamp",
    "manual_bilirubin_message",
    "parse_observation_message",
    "parse_time",
    "validate_value",
]

CONTRACT_VERSION = 1
MAX_MESSAGE_BYTES = 256 * 1024
MAX_SAMPLES_PER_MESSAGE = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)
PAST_LIMIT = timedelta(days=31)

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)
PseudoId = Annotated[str, Field(pattern=ID_PATTERN)]


class Signal(StrEnum):
    TEMPERATURE_C = "temperature_c"
    HEART_RATE_BPM = "heart_rate_bpm"
    BATTERY_PCT = "battery_pct"
    BILIRUBIN_UMOL_L = "bilirubin_umol_l"


SIGNAL_UNITS: dict[Signal, str] = {
    Signal.TEMPERATURE_C: "Cel",
    Signal.HEART_RATE_BPM: "/min",
    Signal.BATTERY_PCT: "%",
    Signal.BILIRUBIN_UMOL_L: "umol/L",
}

# Plausible ranges: a value outside is a device or entry error, not a patient state. The skin
# sensor reads the room when it comes loose (a bedroom can be 10 °C): such values are real data the
# loose-sensor rule needs, so the lower bound is the coldest room, not the coldest person.
SIGNAL_RANGES: dict[Signal, tuple[float, float]] = {
    Signal.TEMPERATURE_C: (5.0, 45.0),
    Signal.HEART_RATE_BPM: (25.0, 250.0),
    Signal.BATTERY_PCT: (0.0, 100.0),
    Signal.BILIRUBIN_UMOL_L: (0.0, 1000.0),
}


class QualityFlag(StrEnum):
    NO_SKIN_CONTACT = "no_skin_contact"  # HRS sensor-contact bit says not in contact
    CLOCK_SKEW = "clock_skew"  # device clock differs from receive time; device time repaired
    REPLAYED = "replayed"  # sent from the wearable's own buffer after a reconnect
    MANUAL = "manual"  # typed in by a person


class BilirubinMethod(StrEnum):
    TCB = "tcb"  # transcutaneous meter
    TSB = "tsb"  # total serum bilirubin (heel prick, laboratory)


class Role(StrEnum):
    MOTHER = "mother"
    NEWBORN = "newborn"


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


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message or one of its samples was refused; ``index`` is the sample's position."""

    reason: RejectReason
    detail: str
    index: int | None = None


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Subject(_Model):
    subject: PseudoId
    role: Role
    born_at: datetime | None = None  # newborns: birth time (UTC); mothers: none
    gestational_age_w: float | None = Field(default=None, ge=20, le=45)


class CareEpisode(_Model):
    """A kraamperiode: the mother and her newborn(s), with delivery time and gestational age."""

    episode: PseudoId
    site: PseudoId
    delivered_at: datetime
    gestational_age_w: float = Field(ge=20, le=45)
    subjects: tuple[Subject, ...]

    @field_validator("delivered_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return _require_utc(v)


class SampleIn(_Model):
    """One sample on the wire (inside an :class:`ObservationMessage`)."""

    signal: str
    value: float
    t: datetime  # device time, UTC
    seq: int = Field(ge=0)
    q: tuple[QualityFlag, ...] = ()
    method: BilirubinMethod | None = None
    site: str | None = Field(default=None, max_length=32)  # bilirubin: forehead / sternum / heel
    entered_by: str | None = Field(default=None, max_length=64)

    @field_validator("t")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return _require_utc(v)


class ObservationMessage(_Model):
    """Payload of ``kraamwacht/v1/<site>/<episode>/<subject>/obs``: several samples of one device."""

    v: Literal[1]
    device: PseudoId
    episode: PseudoId
    subject: PseudoId
    samples: tuple[SampleIn, ...] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)


class Observation(_Model):
    """A validated observation as stored and processed."""

    episode: str
    subject: str
    device: str
    signal: Signal
    value: float
    unit: str
    device_time: datetime
    receive_time: datetime
    seq: int
    quality: tuple[QualityFlag, ...] = ()
    method: BilirubinMethod | None = None
    site: str | None = None
    entered_by: str | None = None


class AlertLevel(StrEnum):
    WARNING = "warning"
    URGENT = "urgent"


class AlertEventKind(StrEnum):
    RAISED = "raised"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"  # a person took it on (who, when, note in values)
    SNOOZED = "snoozed"  # silenced until values["snoozed_until"], at this level only
    REPEATED = "repeated"  # urgent and still not acknowledged: notify again


class AlertEvent(_Model):
    """One step in an alert's life, as written by replay and published on the events topic.

    ``rule`` names the rule that fired and ``values`` the numbers it fired on; ``message`` (Dutch)
    and ``message_en`` say the same in words, with what to do.
    """

    time: datetime
    subject: str
    alert_id: str
    event: AlertEventKind
    level: AlertLevel
    category: Literal["clinical", "technical"]
    rule: str
    message: str
    message_en: str
    values: dict[str, float | int | str | None]
    source: str

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["time"] = format_time(self.time)
        return data


class CommandMessage(_Model):
    """Payload of ``kraamwacht/v1/<site>/cmd``: a person acts on an alert (checked and audited)."""

    v: Literal[1]
    command_id: str = Field(min_length=1, max_length=64)
    action: Literal["acknowledge", "snooze", "note"]
    alert_id: str = Field(min_length=1, max_length=200)
    actor: str = Field(min_length=1, max_length=64)
    issued_at: datetime
    duration_min: int | None = Field(default=None, gt=0, le=24 * 60)
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("issued_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return _require_utc(v)


class Topics:
    """MQTT topic layout, versioned: ``kraamwacht/v1/<site>/...``."""

    ROOT = f"kraamwacht/v{CONTRACT_VERSION}"

    @classmethod
    def observations(cls, site: str, episode: str, subject: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/{_topic_id(episode)}/{_topic_id(subject)}/obs"

    @classmethod
    def observations_filter(cls, site: str = "+") -> str:
        return f"{cls.ROOT}/{site}/+/+/obs"

    @classmethod
    def alert_state(cls, site: str, episode: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/alerts/{_topic_id(episode)}"

    @classmethod
    def alert_state_filter(cls, site: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/alerts/+"

    @classmethod
    def alert_events(cls, site: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/events"

    @classmethod
    def commands(cls, site: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/cmd"

    @classmethod
    def command_results(cls, site: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/cmd/result"

    @classmethod
    def dead_letter(cls, site: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/dead"

    @classmethod
    def gateway_status(cls, site: str, gateway: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/gateway/{_topic_id(gateway)}/status"

    @classmethod
    def gateway_status_filter(cls, site: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/gateway/+/status"

    @classmethod
    def device_status(cls, site: str, device: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/device/{_topic_id(device)}/status"

    @classmethod
    def device_status_filter(cls, site: str) -> str:
        return f"{cls.ROOT}/{_topic_id(site)}/device/+/status"

    @classmethod
    def parse_observations(cls, topic: str) -> tuple[str, str, str] | None:
        """``(site, episode, subject)`` of an observation topic, or None if it is not one."""
        parts = topic.split("/")
        if len(parts) != 6 or "/".join(parts[:2]) != cls.ROOT or parts[5] != "obs":
            return None
        return parts[2], parts[3], parts[4]


def _topic_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(f"not a valid pseudonymous id for a topic: {value!r}")
    return value


def _require_utc(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("time must carry a UTC offset (e.g. 2026-11-23T09:00:00Z)")
    return v.astimezone(UTC)


def format_time(t: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, the form used on the wire and in files."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def format_timestamp(t_s: float) -> str:
    """:func:`format_time` for seconds since the epoch."""
    return format_time(datetime.fromtimestamp(t_s, tz=UTC))


def parse_time(text: str, *, what: str = "time") -> datetime:
    """An ISO 8601 time that must say its zone (``Z`` or an offset), in UTC.

    Raises ``ValueError`` naming ``what`` and the text, so every caller reports the same way.
    """
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{what} {text!r} is not an ISO 8601 time (e.g. 2026-11-20T03:00:00Z)") from exc
    if moment.tzinfo is None:
        raise ValueError(f"{what} {text!r} needs Z or a UTC offset")
    return moment.astimezone(UTC)


def validate_value(signal: Signal, value: float) -> Rejection | None:
    """Range check for one value; None when it is acceptable."""
    if not math.isfinite(value):
        return Rejection(RejectReason.NOT_FINITE, f"{signal.value} value {value!r} is not a finite number")
    low, high = SIGNAL_RANGES[signal]
    if not low <= value <= high:
        return Rejection(
            RejectReason.OUT_OF_RANGE,
            f"{signal.value} {value:g} {SIGNAL_UNITS[signal]} outside the plausible range {low:g}–{high:g}",
        )
    return None


def parse_observation_message(
    payload: bytes, *, topic: str | None, receive_time: datetime
) -> tuple[list[Observation], list[Rejection]]:
    """Validate one MQTT payload; return what is accepted and why anything was refused.

    A message-level fault (not JSON, wrong schema, wrong version, topic that contradicts the
    payload) rejects the whole message; a sample-level fault rejects only that sample.
    """
    if len(payload) > MAX_MESSAGE_BYTES:
        return [], [Rejection(RejectReason.MESSAGE_TOO_LARGE, f"{len(payload)} bytes > {MAX_MESSAGE_BYTES}")]
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [Rejection(RejectReason.NOT_UTF8, f"payload is not UTF-8: {exc.reason} at byte {exc.start}")]
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        return [], [Rejection(RejectReason.NOT_JSON, f"payload is not JSON: {str(exc)[:120]}")]
    if isinstance(raw, dict) and raw.get("v") not in (None, CONTRACT_VERSION):
        return [], [Rejection(RejectReason.UNSUPPORTED_VERSION, f"payload version {raw.get('v')!r}, expected 1")]
    # the envelope first; samples one by one below, so one bad sample does not sink its neighbours
    try:
        message = _Envelope.model_validate(raw)
    except ValidationError as exc:
        return [], [Rejection(RejectReason.SCHEMA, _schema_detail(exc))]
    if topic is not None:
        parsed = Topics.parse_observations(topic)
        if parsed is None or parsed[1:] != (message.episode, message.subject):
            detail = f"topic {topic[:120]!r} does not match the payload's episode/subject"
            return [], [Rejection(RejectReason.TOPIC_MISMATCH, detail)]
    accepted: list[Observation] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(message.samples):
        result = _validate_sample(item, message, receive_time)
        if isinstance(result, Rejection):
            rejected.append(Rejection(result.reason, result.detail, index))
        else:
            accepted.append(result)
    return accepted, rejected


class _Envelope(_Model):
    """An :class:`ObservationMessage` whose samples are not yet validated."""

    v: Literal[1]
    device: PseudoId
    episode: PseudoId
    subject: PseudoId
    samples: tuple[Any, ...] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)


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
    if signal is Signal.BILIRUBIN_UMOL_L and sample.method is None:
        return Rejection(RejectReason.MISSING_METHOD, "bilirubin needs method 'tcb' or 'tsb'")
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
        quality=sample.q,
        method=sample.method,
        site=sample.site,
        entered_by=sample.entered_by,
    )


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in a payload")


def _schema_detail(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"[:200]


def manual_bilirubin_message(
    *,
    site: str,
    episode: str,
    subject: str,
    value_umol_l: float,
    measured_at: datetime,
    method: BilirubinMethod,
    body_site: str,
    entered_by: str,
    device: str | None = None,
    now: datetime,
) -> tuple[str, bytes]:
    """A typed-in bilirubin reading as ``(topic, payload)``, checked against this contract.

    The device is ``manual-<entered_by>`` unless named, and its sequence number is the entry time
    in milliseconds (increasing per person). Raises ``ValueError`` with what the contract refuses,
    so nothing is sent that serve would dead-letter.
    """
    message = ObservationMessage(
        v=1,
        device=device or f"manual-{entered_by}",
        episode=episode,
        subject=subject,
        samples=(
            SampleIn(
                signal="bilirubin_umol_l",
                value=round(value_umol_l, 1),
                t=measured_at,
                seq=time.time_ns() // 1_000_000,
                q=(QualityFlag.MANUAL,),
                method=method,
                site=body_site,
                entered_by=entered_by,
            ),
        ),
    )
    payload = message.model_dump_json().encode()
    topic = Topics.observations(site, episode, subject)
    accepted, rejected = parse_observation_message(payload, topic=topic, receive_time=now)
    if rejected or len(accepted) != 1:
        raise ValueError("; ".join(r.detail for r in rejected) or "the observation does not pass the contract")
    return topic, payload
