"""The second channel against a real local HTTP receiver (apprise's json:// webhook)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kraamwacht.contract import AlertEvent, AlertEventKind, Severity
from kraamwacht.service._notify import Notifier, needs_a_person


def event(kind: str, level: str = "warning", category: str = "clinical") -> AlertEvent:
    return AlertEvent(
        time=datetime(2026, 11, 23, 9, tzinfo=UTC), subject="m1", alert_id="m1:clinical:1", event=AlertEventKind(kind),
        level=Severity(level), category=category, rule="temp_rise", message="Temperatuur stijgt: 37,6 °C",
        message_en="Temperature rising: 37.6 °C", values={}, source="test",
    )  # fmt: skip


def test_alerts_that_need_a_person_reach_the_webhook(webhook: tuple[str, list]) -> None:
    url, received = webhook
    notifier = Notifier([url])
    notifier.notify([event("raised"), event("acknowledged"), event("resolved"), event("raised", category="technical")])
    assert notifier.sent == 1
    assert len(received) == 1
    assert "WARNING: temp_rise (m1)" in received[0]["title"]
    assert "Temperatuur stijgt: 37,6 °C" in received[0]["message"]


def test_a_failing_channel_is_counted_not_raised() -> None:
    notifier = Notifier(["json://127.0.0.1:9/hook"])
    notifier.notify([event("escalated", "urgent")])
    assert (notifier.sent, notifier.failed) == (0, 1)


def test_who_gets_paged() -> None:
    assert needs_a_person(event("repeated", "urgent"))
    assert needs_a_person(event("raised", "urgent", "technical"))
    assert not needs_a_person(event("raised", "warning", "technical"))
    assert not needs_a_person(event("snoozed"))
    assert not needs_a_person(event("joined", "urgent"))  # another finding in an alert already on the tablet
    with pytest.raises(ValueError, match="does not accept"):
        Notifier(["nonsense://x"])
