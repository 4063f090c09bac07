"""Severity, alert events and the commands people send about them."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator

from kraamwacht.contract._models import Model, Signature
from kraamwacht.contract._time import format_time, require_utc
from kraamwacht.errors import InvalidValueError

__all__ = ["AlertEvent", "AlertEventKind", "CommandMessage", "Severity"]


class Severity(StrEnum):
    """How serious a finding is. The one order, defined here: ok < warning < urgent."""

    OK = "ok"
    WARNING = "warning"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0, 1 or 2: the position in the declared order."""
        return _ORDER.index(self)

    @classmethod
    def from_rank(cls, rank: int) -> Severity:
        """The severity at position ``rank`` (0 = ok)."""
        return _ORDER[rank]

    def __lt__(self, other: object) -> bool:
        return self.rank < Severity(other).rank if isinstance(other, str) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= Severity(other).rank if isinstance(other, str) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > Severity(other).rank if isinstance(other, str) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= Severity(other).rank if isinstance(other, str) else NotImplemented


_ORDER = tuple(Severity)


class AlertEventKind(StrEnum):
    RAISED = "raised"
    ESCALATED = "escalated"
    JOINED = "joined"  # another finding is now part of the open alert, at its level: shown, nobody called again
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"  # a person took it on (who, when, note in values)
    SNOOZED = "snoozed"  # silenced until values["snoozed_until"], at this level only
    REPEATED = "repeated"  # urgent and still not acknowledged: notify again


class AlertEvent(Model):
    """One step in an alert's life, as written by replay and published on the events topic.

    ``rule`` names the rule that fired and ``values`` the numbers it fired on; ``message`` (Dutch)
    and ``message_en`` say the same in words, with what to do.
    """

    time: datetime
    subject: str
    alert_id: str
    event: AlertEventKind
    level: Severity
    episode: str | None = None  # the care episode; serve sets it, a replay of one recording has none
    category: Literal["clinical", "technical"]
    rule: str
    message: str
    message_en: str
    values: dict[str, float | int | str | None]
    source: str

    @field_validator("level")
    @classmethod
    def _an_alert(cls, v: Severity) -> Severity:
        if v is Severity.OK:
            raise InvalidValueError("an alert event is a warning or urgent, never ok")
        return v

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["time"] = format_time(self.time)
        if self.episode is None:
            del data["episode"]  # a recording's replay: the same lines as before episodes were a field
        return data


class CommandMessage(Model):
    """Payload of ``kraamwacht/v1/<site>/cmd``: a person acts on an alert (checked and audited)."""

    v: Literal[1]
    command_id: str = Field(min_length=1, max_length=64)
    action: Literal["acknowledge", "snooze", "note"]
    alert_id: str = Field(min_length=1, max_length=200)
    actor: str = Field(min_length=1, max_length=64)
    issued_at: datetime
    duration_min: int | None = Field(default=None, gt=0, le=24 * 60)
    note: str | None = Field(default=None, max_length=1000)
    signature: Signature | None = None  # HMAC-SHA256 with the actor's key

    def signed_bytes(self) -> bytes:
        """What the signature covers: every other field, in one canonical JSON form."""
        return json.dumps(self.model_dump(mode="json", exclude={"signature"}), sort_keys=True).encode()

    @field_validator("issued_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return require_utc(v)
