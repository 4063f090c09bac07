"""A backlog waits at most a moment for its detection, and never a live sample (service._gather)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from kraamwacht.contract import Topics, columns_payload
from kraamwacht.service import EventLog, IngestCore, RawMessage
from kraamwacht.service._gather import BacklogHold, join_inputs
from kraamwacht.storage.sqlite import SqliteStore

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def inputs(n: int, start_s: float = 0.0) -> dict[str, tuple]:
    t = start_s + np.arange(n, dtype=float)
    return {"temperature_c": (t, np.full(n, 36.8)), "heart_rate_bpm": (t, np.full(n, 80.0))}


def test_held_inputs_are_joined_per_detector_key_in_arrival_order() -> None:
    hold = BacklogHold(hold_s=1.0)
    hold.hold(("e", "m"), inputs(3), now=NOW)
    hold.hold(("e", "m"), {"temperature_c": (np.array([10.0]), np.array([37.0]))}, now=NOW)
    assert len(hold) == 7
    taken = hold.take(("e", "m"))
    assert taken["temperature_c"][0].tolist() == [0.0, 1.0, 2.0, 10.0]
    assert taken["temperature_c"][1].tolist() == [36.8, 36.8, 36.8, 37.0]
    assert taken["heart_rate_bpm"][0].tolist() == [0.0, 1.0, 2.0]
    assert len(hold) == 0
    assert hold.take(("e", "m")) == {}


def test_join_takes_lists_and_arrays_alike() -> None:
    joined = join_inputs({"thermometer_c": (np.array([1.0]), np.array([37.2]))}, {"thermometer_c": ([2.0], [38.1])})
    assert joined["thermometer_c"][0].tolist() == [1.0, 2.0]
    assert joined["thermometer_c"][1].tolist() == [37.2, 38.1]


def test_a_subject_is_released_after_the_hold_or_at_her_cap_and_all_at_the_total_cap() -> None:
    hold = BacklogHold(hold_s=1.0, subject_max=100, total_max=250)
    hold.hold(("e", "early"), inputs(10), now=NOW)
    hold.hold(("e", "late"), inputs(10), now=NOW + timedelta(seconds=0.5))
    assert hold.due(NOW + timedelta(seconds=0.99)) == {}
    assert list(hold.due(NOW + timedelta(seconds=1.0))) == [("e", "early")]
    hold.hold(("e", "big"), inputs(50), now=NOW + timedelta(seconds=1.2))  # 100 samples: her cap
    assert list(hold.due(NOW + timedelta(seconds=1.2))) == [("e", "big")]
    hold.hold(("e", "a"), inputs(60), now=NOW + timedelta(seconds=1.2))
    hold.hold(("e", "b"), inputs(60), now=NOW + timedelta(seconds=1.2))  # 10 + 120 + 120 = 250: everyone
    assert sorted(hold.due(NOW + timedelta(seconds=1.2))) == [("e", "a"), ("e", "b"), ("e", "late")]
    assert len(hold) == 0


def backlog(seq0: int, t0: datetime, n: int) -> RawMessage:
    samples = [
        (signal, value, t0 + timedelta(seconds=k), seq0 + 2 * k + j, ())
        for k in range(n)
        for j, (signal, value) in enumerate((("temperature_c", 36.8), ("heart_rate_bpm", 80.0)))
    ]
    payload = columns_payload(device="wb1", stream=None, episode="ep1", subject="m1", samples=samples)
    return RawMessage(Topics.observations("s1", "ep1", "m1"), payload, NOW)


def live(seq: int, at: datetime) -> RawMessage:
    body = {"v": 1, "device": "wb1", "episode": "ep1", "subject": "m1",
            "samples": [{"signal": "temperature_c", "value": 36.8, "t": at.isoformat(), "seq": seq}]}  # fmt: skip
    return RawMessage(Topics.observations("s1", "ep1", "m1"), json.dumps(body).encode(), NOW)


def test_serve_stores_a_backlog_at_once_holds_its_detection_and_a_live_sample_takes_it_along(tmp_path: Path) -> None:
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"))
    start = NOW - timedelta(hours=1)
    core.handle([backlog(0, start, 400)])
    assert core.store.count() == 800  # stored (and so acknowledged) at once: only detection waits
    assert core.held_for_detection == 800
    before = core._monitors[("ep1", "m1")].epochs_closed if ("ep1", "m1") in core._monitors else 0
    core.handle([live(800, start + timedelta(seconds=400))])  # her live sample: nothing of hers waits
    assert core.held_for_detection == 0
    assert core._monitors[("ep1", "m1")].epochs_closed > before  # the backlog's minutes were detected


def test_a_tick_detects_a_held_backlog_after_the_hold_and_a_drain_detects_the_rest(tmp_path: Path) -> None:
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"))
    core.handle([backlog(0, NOW - timedelta(hours=1), 400)])
    core.tick(NOW + timedelta(seconds=4.9))
    assert core.held_for_detection == 800
    core.tick(NOW + timedelta(seconds=5))  # serve's default hold
    assert core.held_for_detection == 0
    assert core._monitors[("ep1", "m1")].epochs_closed > 0
    core.handle([backlog(800, NOW - timedelta(minutes=50), 400)])
    assert core.held_for_detection == 800
    core.drain(NOW)  # serve stopping
    assert core.held_for_detection == 0
