"""The doctor's judgement (pure): every problem becomes a finding with a fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kraamwacht.doctor import Snapshot, judge

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def levels(snapshot: Snapshot) -> dict[str, str]:
    return {f.check: f.level for f in judge(snapshot, now=NOW)}


def test_an_unreachable_broker_is_the_only_finding() -> None:
    (finding,) = judge(Snapshot(broker_error="cannot reach"), now=NOW)
    assert finding.level == "error"
    assert "mosquitto" in finding.fix


def test_a_healthy_deployment() -> None:
    snap = Snapshot(
        serve={"state": "online", "updated_at": (NOW - timedelta(seconds=4)).isoformat(), "stored": 10},
        gateways={"gw1": "online"},
        devices={"wb-0001": {"connected": True, "battery_pct": 80, "last_seen": NOW.isoformat()}},
        store_count=10, store_newest_s=NOW.timestamp() - 5, users=2, episodes=1,
    )  # fmt: skip
    assert set(levels(snap).values()) == {"ok"}


def test_problems_are_named_with_their_fix() -> None:
    snap = Snapshot(
        serve={"state": "online", "updated_at": (NOW - timedelta(minutes=5)).isoformat(), "jaundice_without_episode": 0},
        gateways={"gw1": "offline"},
        devices={
            "wb-0001": {"connected": False, "last_seen": (NOW - timedelta(hours=2)).isoformat()},
            "wb-0002": {"connected": False, "last_seen": (NOW - timedelta(minutes=2)).isoformat()},
            "wb-0003": {"connected": True, "battery_pct": 9},
        },
        store_count=10, store_newest_s=NOW.timestamp() - 3600, users=0, episodes=0,
    )  # fmt: skip
    found = levels(snap)
    assert found["serve"] == "error"  # its status is five minutes old: hung
    assert found["gateway gw1"] == "error"
    assert found["wearable wb-0001"] == "error"  # silent for two hours
    assert found["wearable wb-0002"] == "warning"  # just dropped
    assert found["wearable wb-0003"] == "warning"  # battery
    assert found["store"] == "warning"
    assert found["board users"] == "error"
    assert found["care episodes"] == "warning"
    assert all(f.fix for f in judge(snap, now=NOW) if f.level != "ok")
    assert levels(Snapshot(serve={"state": "offline"}))["serve"] == "error"  # its last will
    assert levels(Snapshot(serve={"state": "stopped"}))["serve"] == "error"  # stopped cleanly
    assert levels(Snapshot())["serve"] == "error"  # no status at all
    assert levels(Snapshot(broker_dropped=17))["broker queue"] == "error"  # mosquitto dropped messages
    assert "broker queue" not in levels(Snapshot(broker_dropped=0))


def test_serve_that_does_not_check_who_acted_is_named() -> None:
    fresh = {"state": "online", "updated_at": (NOW - timedelta(seconds=4)).isoformat()}
    assert levels(Snapshot(serve={**fresh, "actors_verified": False}))["serve actors"] == "warning"
    assert "serve actors" not in levels(Snapshot(serve={**fresh, "actors_verified": True}))
    (finding,) = [
        f for f in judge(Snapshot(serve={**fresh, "actors_verified": False}), now=NOW) if f.check == "serve actors"
    ]
    assert "--staff-keys" in finding.fix
