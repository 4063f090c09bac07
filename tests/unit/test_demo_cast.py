"""The demo's script, checked without any process: the shared clock, and that the cast's story
(warning, escalation, loose sensor, jaundice) is what the detectors and the jaundice rules make of it."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from kraamwacht.clock import Clock
from kraamwacht.demo.cast import HISTORY_H, demo_cast, history_observations
from kraamwacht.jaundice import Baby, Reading, assess
from kraamwacht.replay import replay
from kraamwacht.signal import DetectorConfig

ORIGIN = 1_795_000_000.0


def test_the_clock_runs_real_time_until_the_origin_then_faster() -> None:
    clock = Clock(60.0, ORIGIN)
    assert clock.at(ORIGIN - 10) == ORIGIN - 10
    assert clock.at(ORIGIN + 2) == ORIGIN + 120
    assert clock.wall_at(clock.at(ORIGIN + 7.5)) == pytest.approx(ORIGIN + 7.5)
    assert Clock.from_env({"KRAAMWACHT_TIME_LAPSE": clock.as_env()}) == clock
    assert Clock.from_env({}) == Clock()
    with pytest.raises(ValueError, match="FACTOR@ORIGIN"):
        Clock.from_env({"KRAAMWACHT_TIME_LAPSE": "fast"})
    with pytest.raises(ValueError, match="outside"):
        Clock(0.5, ORIGIN)


@pytest.mark.parametrize("hour", range(24))  # the demo starts whenever someone types `make demo`
def test_the_cast_tells_its_story_to_the_detectors_at_any_hour(hour: int) -> None:
    origin = ORIGIN - ORIGIN % 86_400 + hour * 3600 + 20  # a time-lapse starting at HH:00:20 UTC
    _story_told(origin)


def _story_told(ORIGIN: float) -> None:  # noqa: N803 - the module's origin, moved through the day
    cast = demo_cast(ORIGIN)
    recordings = {}
    for m in cast:
        history = {o: [] for o in ("temperature_c", "heart_rate_bpm", "thermometer_c")}
        for o in history_observations(m, until_s=ORIGIN):
            history[o.signal.value].append((o.device_time.timestamp(), o.value))
        live = m.scenario.wearable_samples(ORIGIN, ORIGIN + 3 * 3600, interval_s=10)
        recordings[m.mother] = {
            s: (
                np.array([t for t, _ in history[s]] + (live[s][0].tolist() if s in live else [])),
                np.array([v for _, v in history[s]] + (live[s][1].tolist() if s in live else [])),
            )
            for s in history
        }
        assert history["temperature_c"][0][0] >= ORIGIN - HISTORY_H * 3600
    events = replay(recordings, DetectorConfig()).events
    story = [
        (e.subject, e.event.value, e.level.value, e.rule, round((e.time.timestamp() - ORIGIN) / 60)) for e in events
    ]
    fever = [s for s in story if s[0] == "m-demo-2"]
    (raised, escalated) = [s[1:4] for s in fever[:2]]
    assert raised in {("raised", "warning", "temp_rise"), ("raised", "warning", "temp_rise_hr")}  # an early rise
    assert escalated == ("escalated", "urgent", "fever")
    assert 20 <= fever[0][4] <= 60  # the warning: within a minute of real time at ×60
    assert fever[0][4] < fever[1][4] <= 100
    assert [s for s in story if s[0] in ("m-demo-1", "m-demo-4")] == []  # healthy mothers stay quiet


def test_the_newborns_readings_go_from_ok_to_warning_to_urgent() -> None:
    member = demo_cast(ORIGIN)[3]
    baby = Baby(member.birth_at, member.ga_weeks)
    levels, earlier = [], []
    for entry in member.bilirubin:
        reading = Reading(datetime.fromtimestamp(entry.at_s, tz=UTC), entry.value_umol_l, entry.method)
        levels.append(assess(reading, baby, earlier=earlier).level.value)
        earlier.append(reading)
    assert levels == ["ok", "ok", "warning", "urgent"]
