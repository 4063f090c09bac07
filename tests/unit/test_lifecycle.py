"""The alert lifecycle: acknowledge, snooze limits, escalation timing, repeats, stale data, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kraamwacht.alerts._lifecycle import AlertBook, Command
from kraamwacht.contract import AlertEvent, AlertEventKind, Severity
from kraamwacht.signal.config import AlertConfig

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def detector_event(
    kind: str = "raised", level: str = "warning", minutes: float = 0, rule: str = "temp_rise"
) -> AlertEvent:
    return AlertEvent(
        time=at(minutes), subject="m1", alert_id="m1:clinical:1", event=AlertEventKind(kind), level=Severity(level),
        category="clinical", rule=rule, message="Temperatuur stijgt", message_en="Temperature rising",
        values={"core_c": 37.6}, source="test",
    )  # fmt: skip


def command(action: str, minutes: float, **kw) -> Command:
    return Command(
        command_id=f"c-{action}-{minutes}",
        action=action,
        alert_id="m1:clinical:1",
        actor="kv-12",
        issued_at=at(minutes),
        **kw,
    )  # type: ignore[arg-type]


@pytest.fixture
def book() -> AlertBook:
    b = AlertBook(AlertConfig())
    b.on_event("ep1", detector_event())
    return b


def kinds(events) -> list[tuple[str, str]]:
    return [(e.event.value, e.level.value) for e in events]


def test_unacknowledged_warning_escalates_at_the_timeout(book: AlertBook) -> None:
    assert book.tick(at(29.99)) == []
    escalated = book.tick(at(30))
    assert kinds(escalated) == [("escalated", "urgent")]
    assert "Niet bevestigd binnen 30 min" in escalated[0].message


def test_urgent_repeats_until_acknowledged(book: AlertBook) -> None:
    book.tick(at(30))
    assert book.tick(at(39.99)) == []
    assert kinds(book.tick(at(40))) == [("repeated", "urgent")]
    outcome = book.on_command(command("acknowledge", 41, note="thermometer 38,2; verloskundige gebeld"), now=at(41))
    assert outcome.accepted
    assert kinds(outcome.events) == [("acknowledged", "urgent")]
    assert outcome.events[0].values["actor"] == "kv-12"
    assert book.tick(at(100)) == []
    (state,) = book.open_alerts("ep1")
    assert (state["status"], state["acknowledged_by"]) == ("acknowledged", "kv-12")
    assert state["audit"][0]["note"] == "thermometer 38,2; verloskundige gebeld"


def test_snooze_holds_re_firing_and_ends(book: AlertBook) -> None:
    assert book.on_command(command("snooze", 1, duration_min=60), now=at(1)).accepted
    assert book.tick(at(60.99)) == []  # no escalation, no repeat while snoozed
    assert kinds(book.tick(at(61))) == [("repeated", "warning")]


def test_snooze_durations_and_maximum_per_level(book: AlertBook) -> None:
    refused = book.on_command(command("snooze", 1, duration_min=45), now=at(1))
    assert (refused.accepted, refused.reason) == (False, "snooze must be one of [15, 30, 60, 120] minutes")
    book.on_event("ep1", detector_event("escalated", "urgent", 2, rule="fever"))
    too_long = book.on_command(command("snooze", 3, duration_min=60), now=at(3))
    assert (too_long.accepted, too_long.reason) == (False, "a urgent alert can be snoozed for at most 30 minutes")
    assert book.on_command(command("snooze", 4, duration_min=30), now=at(4)).accepted


def test_a_snooze_never_silences_a_higher_level(book: AlertBook) -> None:
    book.on_command(command("snooze", 1, duration_min=120), now=at(1))
    book.on_event("ep1", detector_event("escalated", "urgent", 5, rule="fever"))
    (state,) = book.open_alerts("ep1")
    assert state["snoozed_until"] is None
    assert kinds(book.tick(at(15))) == [("repeated", "urgent")]


def test_an_escalation_needs_a_new_acknowledgement(book: AlertBook) -> None:
    book.on_command(command("acknowledge", 1), now=at(1))
    book.on_event("ep1", detector_event("escalated", "urgent", 5, rule="fever"))
    assert book.open_alerts("ep1")[0]["status"] == "open"


def test_commands_are_checked(book: AlertBook) -> None:
    assert not book.on_command(Command("x1", "acknowledge", "nope", "kv-12", at(1)), now=at(1)).accepted
    assert not book.on_command(Command("x2", "acknowledge", "m1:clinical:1", " ", at(1)), now=at(1)).accepted
    first = book.on_command(command("acknowledge", 1), now=at(1))
    again = book.on_command(command("acknowledge", 1), now=at(2))  # the same command id, redelivered
    assert (first.reason, again.reason, again.events) == ("applied", "duplicate command, already applied", ())
    book.on_event("ep1", detector_event("resolved", "warning", 9))
    late = book.on_command(command("snooze", 10, duration_min=15), now=at(10))
    assert (late.accepted, late.reason) == (False, "alert m1:clinical:1 is already resolved")
    assert book.open_alerts("ep1") == []


def test_stale_data_warning_then_urgent_then_resolved() -> None:
    book = AlertBook(AlertConfig())
    book.on_data("ep1", "m1", received_at=at(0))
    assert book.tick(at(14.99)) == []
    raised = book.tick(at(15))
    assert [(e.event.value, e.level.value, e.category, e.rule) for e in raised] == [
        ("raised", "warning", "technical", "no_data")
    ]
    assert book.tick(at(29.99)) == []
    assert kinds(book.tick(at(30))) == [("escalated", "urgent")]
    resolved = book.on_data("ep1", "m1", received_at=at(31))
    assert kinds(resolved) == [("resolved", "urgent")]
    assert book.open_alerts("ep1") == []
    book.tick(at(47))
    assert book.open_alerts("ep1")[0]["alert_id"] == "m1:no_data:2"


def test_the_time_to_acknowledge_runs_from_notification_not_measurement() -> None:
    book = AlertBook(AlertConfig())
    # data from 3 hours ago arrives now (a gateway's spool after an outage)
    book.on_event("ep1", detector_event(minutes=-180), now=at(0))
    assert book.tick(at(29.99)) == []
    assert kinds(book.tick(at(30))) == [("escalated", "urgent")]


def test_low_battery_with_hysteresis() -> None:
    book = AlertBook(AlertConfig())
    assert book.on_battery("ep1", "m1", "wb1", 15.1, at=at(0)) == []
    raised = book.on_battery("ep1", "m1", "wb1", 15.0, at=at(1))
    assert [(e.event.value, e.rule, e.category) for e in raised] == [("raised", "low_battery", "technical")]
    assert book.on_battery("ep1", "m1", "wb1", 14.0, at=at(2)) == []  # no re-raise
    assert book.on_battery("ep1", "m1", "wb1", 25.0, at=at(3)) == []  # not above the ok mark yet
    assert kinds(book.on_battery("ep1", "m1", "wb1", 25.1, at=at(4))) == [("resolved", "warning")]


def test_gateway_offline_is_urgent_and_technical_until_it_is_back() -> None:
    book = AlertBook(AlertConfig())
    assert book.on_gateway("gw1", online=True, at=at(0)) == []
    down = book.on_gateway("gw1", online=False, at=at(1))
    assert [(e.event.value, e.level.value, e.rule, e.category) for e in down] == [
        ("raised", "urgent", "gateway_offline", "technical")
    ]
    assert book.on_gateway("gw1", online=False, at=at(2)) == []
    assert book.open_alerts("site")[0]["rule"] == "gateway_offline"
    assert kinds(book.on_gateway("gw1", online=True, at=at(3))) == [("resolved", "urgent")]


def test_alerts_of_the_older_per_condition_model_are_closed_with_the_reason() -> None:
    def logged(alert_id: str, kind: str, minutes: float) -> AlertEvent:
        return detector_event(kind, minutes=minutes).model_copy(update={"alert_id": alert_id})

    book = AlertBook(AlertConfig())
    for event in (
        logged("m1:temperature:1", "raised", 0),
        logged("m1:heart_rate:1", "raised", 5),
        logged("m1:heart_rate:1", "resolved", 50),
        logged("m1:clinical:1", "raised", 60),
    ):
        book.restore(event)
    book.restore(
        AlertEvent(time=at(10), subject="m1", alert_id="m1:temperature:1", event=AlertEventKind.ACKNOWLEDGED,
                   level=Severity.WARNING, category="clinical", rule="temp_rise", message="", message_en="",
                   values={"actor": "kv-12"}, source="test")
    )  # fmt: skip
    assert book.records["m1:temperature:1"].status == "acknowledged"
    assert book.close_superseded(at(70)) == ["m1:temperature:1"]
    old = book.records["m1:temperature:1"]
    assert (old.status, old.audit[-1]["action"], old.acknowledged_by) == ("resolved", "superseded", "kv-12")
    assert book.records["m1:clinical:1"].status == "open"
    assert book.close_superseded(at(80)) == []


def test_a_finding_that_joins_shows_at_once_and_keeps_the_acknowledgement(book: AlertBook) -> None:
    book.on_command(command("acknowledge", 5), now=at(5))
    joined = detector_event("joined", minutes=20, rule="tachycardia").model_copy(
        update={"values": {"hr_bpm": 104.0, "rules": "temp_rise,tachycardia"}}
    )
    assert book.on_event("ep1", joined, now=at(20)) == []
    record = book.records["m1:clinical:1"]
    assert (record.status, record.acknowledged_by, record.level, record.rule) == (
        "acknowledged", "kv-12", "warning", "temp_rise"
    )  # fmt: skip
    assert record.values == {"core_c": 37.6, "rules": "temp_rise,tachycardia"}
    assert book.tick(at(200)) == []  # acknowledged: a join does not start the clock to escalate again
    restored = AlertBook(AlertConfig())
    for event in (detector_event(), joined):
        restored.restore(event)
    assert restored.records["m1:clinical:1"].values["rules"] == "temp_rise,tachycardia"
