"""What serve computed and the board draws: each mother's baseline series and the alert policy.

Published retained, so the board shows serve's numbers (its ``--config``, its rebuild window)
and never runs a detector of its own: one truth on every screen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from kraamwacht.contract._ids import PseudoId
from kraamwacht.contract._models import Model
from kraamwacht.contract._time import require_utc

__all__ = ["BaselineMessage", "PolicyMessage"]


class BaselineMessage(Model):
    """Payload of ``kraamwacht/v1/<site>/baseline/<episode>/<subject>``: one mother's baseline as serve runs it.

    ``t_s`` are epoch starts (UTC seconds) every ``step_s``; ``baseline_skin_c`` is her personal
    baseline in the wearable's (skin) units with the circadian term, ``hr_baseline_bpm`` her
    own heart rate at that hour (baseline plus her clock-hour profile, what the rules compare with); ``None`` where it is not yet established. ``rise_k_c`` is the rise rule's
    reference allowance above the baseline, ``skin_to_core_offset_c`` the offset serve adds to
    estimate core temperature, and ``fever_core_c`` the fever line on the core scale.
    """

    v: Literal[1] = 1
    episode: PseudoId
    subject: PseudoId
    updated_at: datetime
    step_s: int = Field(gt=0)
    t_s: tuple[float, ...]
    baseline_skin_c: tuple[float | None, ...]
    hr_baseline_bpm: tuple[float | None, ...]
    rise_k_c: float
    skin_to_core_offset_c: float
    fever_core_c: float

    @field_validator("updated_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return require_utc(v)


class PolicyMessage(Model):
    """Payload of ``kraamwacht/v1/<site>/policy``: the alert policy serve enforces (snoozes, timeouts)."""

    v: Literal[1] = 1
    snooze_choices_min: tuple[int, ...]
    snooze_max_warning_min: float
    snooze_max_urgent_min: float
    ack_timeout_warning_min: float
    urgent_repeat_min: float
    stale_warning_min: float
    stale_urgent_min: float
