"""``[epoch] close_spread_s``: thousands of homes do not close their epochs, and run their detectors, in one second."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from kraamwacht.alerts import detect_alerts
from kraamwacht.errors import InvalidValueError
from kraamwacht.signal import DetectorConfig, SubjectMonitor
from kraamwacht.signal._epochs import subject_slot
from tests.conftest import T0

T_START = T0 - T0 % 60  # on the clock's minute
SPREAD = DetectorConfig().with_overrides({"epoch.close_spread_s": 60})


def test_the_slot_is_stable_and_spreads_homes_over_the_minute() -> None:
    slots = [subject_slot(f"m{h}", 60) for h in range(3600)]
    assert slots == [subject_slot(f"m{h}", 60) for h in range(3600)]  # the same id, the same second
    counts = Counter(slots)
    assert set(counts) == set(range(60))
    assert max(counts.values()) < 2 * 3600 / 60  # no second holds more than twice its share
    assert subject_slot("m1", 0) == 0  # off


def _closing_second(subject: str, cfg: DetectorConfig) -> int:
    """The second of the minute at which a 1 Hz stream stamped on the clock's seconds closes an epoch."""
    monitor = SubjectMonitor(cfg, subject=subject)
    closed = 0
    for k in range(600):
        t = T_START + k
        monitor.update({"temperature_c": ([t], [36.5]), "heart_rate_bpm": ([t], [75.0])})
        if monitor.epochs_closed > closed and k > 240:
            return int(t % 60)
        closed = monitor.epochs_closed
    raise AssertionError("no epoch closed")


def test_a_subjects_epochs_close_at_her_own_second_of_the_minute() -> None:
    subjects = [s for s in (f"m{h}" for h in range(40)) if subject_slot(s, 60) not in (0, 59)][:3]
    for subject in subjects:
        # an epoch closes at the first sample reorder_grace_s + her slot past its end
        assert _closing_second(subject, SPREAD) == subject_slot(subject, 60)
    assert {_closing_second(subject, DetectorConfig()) for subject in subjects} == {0}  # the default: off


def test_the_spread_changes_when_an_alert_comes_never_what_it_says() -> None:
    t = T_START + np.arange(0, 8 * 3600, 5.0)
    temp = np.where(t < T_START + 5 * 3600, 36.4, 38.2)  # a fever after five hours
    samples = {"temperature_c": (t, temp), "heart_rate_bpm": (t, np.where(temp > 38, 112.0, 76.0))}
    subject = next(s for s in (f"m{h}" for h in range(40)) if subject_slot(s, 60) > 30)
    batch = detect_alerts(samples, DetectorConfig(), subject=subject).events
    assert batch
    assert detect_alerts(samples, SPREAD, subject=subject).events == batch  # replay: nothing changes
    for cfg in (DetectorConfig(), SPREAD):
        monitor = SubjectMonitor(cfg, subject=subject)
        live, arrived = [], {}
        for i in range(t.size):  # one sample of each signal every 5 s, as they arrive
            for x in monitor.update({k: (ts[i : i + 1], vs[i : i + 1]) for k, (ts, vs) in samples.items()}):
                live.append(x)
                arrived[(x.time, x.rule, x.kind)] = float(t[i])
        live += monitor.flush()
        assert [(x.time, x.rule, x.kind) for x in live] == [(e.time, e.rule, e.event.value) for e in batch]
        grace = cfg.epoch.reorder_grace_s + subject_slot(subject, cfg.epoch.close_spread_s)
        # each alert came with the first sample past its epoch's end + the grace + her slot
        assert all(0 <= at - (key[0].timestamp() + grace) < 5 for key, at in arrived.items())


def test_a_negative_spread_is_refused_with_its_name() -> None:
    with pytest.raises(InvalidValueError, match=r"epoch\.close_spread_s"):
        DetectorConfig().with_overrides({"epoch.close_spread_s": -1})
