"""Bilirubin advice → alert transitions, through the same tracker as the mother's rules.

Each reading is one step: ``warning`` and ``urgent`` advice raise or escalate the baby's jaundice
alert, the next ``ok`` reading resolves it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kraamwacht.contract import AlertEvent, AlertEventKind
from kraamwacht.jaundice import Advice
from kraamwacht.signal import TrackerState, track

__all__ = ["jaundice_events"]


def jaundice_events(
    subject: str, advices: Sequence[Advice], *, state: TrackerState, first_index: int = 0
) -> tuple[list[AlertEvent], TrackerState]:
    """Alert events for consecutive readings ``first_index ..`` of one baby."""
    levels = np.array([a.level.rank for a in advices], dtype=np.int8)
    transitions, state = track(levels, start_epoch=first_index, state=state, resolve_after=1, min_reraise=0)
    events = []
    for tr in transitions:
        advice = advices[tr.epoch - first_index]
        resolved = tr.kind == "resolved"
        values: dict[str, float | int | str | None] = {
            "value_umol_l": round(advice.reading.value_umol_l, 1),
            "method": advice.reading.method.value,
            "age_h": round(advice.age_h, 1),
            "phototherapy_umol_l": round(advice.thresholds.phototherapy_umol_l, 1) if advice.thresholds else None,
            "distance_umol_l": round(advice.distance_umol_l, 1) if advice.distance_umol_l is not None else None,
            "standard": advice.standard.value,
        }
        prefix_nl, prefix_en = ("Opgeheven: ", "Resolved: ") if resolved else ("", "")
        events.append(
            AlertEvent(
                time=advice.reading.measured_at,
                subject=subject,
                alert_id=f"{subject}:jaundice:{tr.number}",
                event=AlertEventKind(tr.kind),
                level=tr.level,
                category="clinical",
                rule=advice.rule,
                message=prefix_nl + advice.summary_nl(),
                message_en=prefix_en + advice.summary_en(),
                values=values,
                source=advice.standard.citation,
            )
        )
    return events, state
