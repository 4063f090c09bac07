"""Observations and care episodes as pydantic models: what a gateway sends and serve stores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kraamwacht.contract._ids import PseudoId
from kraamwacht.contract._signals import BilirubinMethod, QualityFlag, Role, Signal, ThermometerMethod
from kraamwacht.contract._time import require_utc

__all__ = [
    "MAX_SAMPLES_PER_MESSAGE",
    "MAX_SEQ",
    "CareEpisode",
    "Model",
    "Observation",
    "ObservationMessage",
    "SampleIn",
    "Signature",
    "Subject",
]

MAX_SAMPLES_PER_MESSAGE = 1000
MAX_SEQ = 2**63 - 1  # SQLite's INTEGER: a larger sequence number could not be stored


# an HMAC-SHA256 in hex: a staff member's signature on a command or a typed-in reading (kraamwacht.staffkeys)
Signature = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Model(BaseModel):
    """Frozen and strict: an unknown field is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Subject(Model):
    subject: PseudoId
    role: Role
    born_at: datetime | None = None  # newborns: birth time (UTC); mothers: none
    gestational_age_w: float | None = Field(default=None, ge=20, le=45)


class CareEpisode(Model):
    """A kraamperiode: the mother and her newborn(s), with delivery time and gestational age."""

    episode: PseudoId
    site: PseudoId
    delivered_at: datetime
    gestational_age_w: float = Field(ge=20, le=45)
    subjects: tuple[Subject, ...]

    @field_validator("delivered_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return require_utc(v)


class SampleIn(Model):
    """One sample on the wire (inside an :class:`ObservationMessage`)."""

    signal: str
    value: float
    t: datetime  # device time, UTC
    seq: int = Field(ge=0, le=MAX_SEQ)
    q: tuple[QualityFlag, ...] = ()
    method: BilirubinMethod | ThermometerMethod | None = None  # bilirubin: tcb/tsb; thermometer: where
    site: str | None = Field(default=None, max_length=32)  # bilirubin: forehead / sternum / heel
    entered_by: str | None = Field(default=None, max_length=64)

    @field_validator("t")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return require_utc(v)


class ObservationMessage(Model):
    """Payload of ``kraamwacht/v1/<site>/<episode>/<subject>/obs``: several samples of one device.

    ``stream`` names the numbering the ``seq`` values belong to: a random id a gateway draws each
    time it opens its spool (and a typed-in entry per process). A sample is identified by
    ``(device, stream, seq)``, so a reinstalled gateway, a moved wearable or a spool rolled back by
    a power cut starts a new numbering instead of reusing one.
    """

    v: Literal[1]
    device: PseudoId
    stream: PseudoId | None = None  # None: the legacy numbering, identified by (device, seq)
    episode: PseudoId
    subject: PseudoId
    samples: tuple[SampleIn, ...] = Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)
    # a typed-in reading: HMAC-SHA256 with the key of the staff member named in entered_by
    # (kraamwacht.staffkeys; what it covers: kraamwacht.contract.entry_signed_bytes)
    signature: Signature | None = None


class Observation(Model):
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
    stream: str = ""  # "" for a message without a stream
    quality: tuple[QualityFlag, ...] = ()
    method: BilirubinMethod | ThermometerMethod | None = None
    site: str | None = None
    entered_by: str | None = None

    @classmethod
    def trusted(cls, fields: dict[str, object]) -> Observation:
        """An observation from fields already validated field by field (the contract's fast path).

        Skips pydantic's per-field work, which costs more than the whole check of a wearable's
        sample; ``fields`` must name every field with its validated type. A unit test holds the
        result equal to the validated model, so a change in pydantic shows up there.
        """
        observation = cls.__new__(cls)
        object.__setattr__(observation, "__dict__", fields)
        object.__setattr__(observation, "__pydantic_fields_set__", set(fields))
        object.__setattr__(observation, "__pydantic_extra__", None)
        object.__setattr__(observation, "__pydantic_private__", None)
        return observation
