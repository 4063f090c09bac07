"""Bilirubin advice raises, escalates and resolves alerts like the mother's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kraamwacht.alerts import jaundice_events
from kraamwacht.contract import BilirubinMethod
from kraamwacht.jaundice import MG_DL_TO_UMOL_L, Baby, Reading, assess
from kraamwacht.signal import TrackerState

BORN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
BABY = Baby(born_at=BORN, ga_weeks=39.0)


def advice(hours: float, mg_dl: float, method: BilirubinMethod = BilirubinMethod.TCB):
    return assess(Reading(BORN + timedelta(hours=hours), mg_dl * MG_DL_TO_UMOL_L, method), BABY)


def test_warning_escalates_to_urgent_and_an_ok_reading_resolves() -> None:
    readings = [advice(30, 8.0), advice(48, 14.5), advice(60, 18.5, BilirubinMethod.TSB), advice(84, 12.0)]
    assert [a.level.value for a in readings] == ["ok", "warning", "urgent", "ok"]
    events, state = jaundice_events("baby1", readings, state=TrackerState())
    assert [(e.event, e.level, e.rule) for e in events] == [
        ("raised", "warning", "bili_tcb_margin"),  # NVK +50 comes first; AAP near-line applies too
        ("escalated", "urgent", "bili_phototherapy"),
        ("resolved", "urgent", "bili_ok"),
    ]
    assert all(e.alert_id == "baby1:jaundice:1" for e in events)
    assert events[1].values["value_umol_l"] == round(18.5 * MG_DL_TO_UMOL_L, 1)
    assert events[1].message.startswith("DRINGEND")
    assert events[2].message.startswith("Opgeheven")
    assert state.count == 1


def test_readings_fed_one_by_one_give_the_same_events() -> None:
    readings = [
        advice(30, 8.0),
        advice(48, 14.5),
        advice(60, 18.5, BilirubinMethod.TSB),
        advice(84, 12.0),
        advice(90, 16.5),
    ]
    whole, _ = jaundice_events("b", readings, state=TrackerState())
    state, pieces = TrackerState(), []
    for i, a in enumerate(readings):
        events, state = jaundice_events("b", [a], state=state, first_index=i)
        pieces += events
    assert pieces == whole
    assert whole[-1].alert_id == "b:jaundice:2"
