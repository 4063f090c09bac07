"""Each subject's epochs start at her own second of the minute, so thousands of homes do not close theirs at once."""

from __future__ import annotations

from collections import Counter

import numpy as np

from kraamwacht.alerts import detect_alerts
from kraamwacht.signal import DetectorConfig, SubjectMonitor
from kraamwacht.signal._epochs import subject_phase_s
from tests.conftest import T0

T_START = T0 - T0 % 60  # on the clock's minute


def test_the_phase_is_stable_and_spreads_homes_over_the_minute() -> None:
    phases = [subject_phase_s(f"m{h}", 60) for h in range(3600)]
    assert phases == [subject_phase_s(f"m{h}", 60) for h in range(3600)]  # the same id, the same phase
    counts = Counter(phases)
    assert set(counts) == set(range(60))
    assert max(counts.values()) < 2 * 3600 / 60  # no second holds more than twice its share


def _closing_second(subject: str, cfg: DetectorConfig) -> int:
    """The second of the minute at which a 1 Hz stream first closes an epoch after the warm-up."""
    monitor = SubjectMonitor(cfg, subject=subject)
    closed = 0
    for k in range(600):
        t = T_START + k
        monitor.update({"temperature_c": ([t], [36.5]), "heart_rate_bpm": ([t], [75.0])})
        if monitor.epochs_closed > closed and k > 240:
            return int(t % 60)
        closed = monitor.epochs_closed
    raise AssertionError("no epoch closed")


PHASED = DetectorConfig().with_overrides({"epoch.phase_by_subject": True})


def test_a_subjects_epochs_close_at_her_own_second_of_the_minute() -> None:
    cfg = PHASED
    subjects = [s for s in (f"m{h}" for h in range(40)) if subject_phase_s(s, 60) not in (0, 59)][:3]
    for subject in subjects:
        # an epoch [60e + phase, 60e + phase + 60) closes at the sample reorder_grace_s past its end
        assert _closing_second(subject, cfg) == subject_phase_s(subject, 60)
    assert {_closing_second(subject, DetectorConfig()) for subject in subjects} == {0}  # the default


def test_alert_times_fall_on_her_own_epoch_edges_in_batch_and_live() -> None:
    cfg = PHASED
    t = T_START + np.arange(0, 8 * 3600, 5.0)
    temp = np.where(t < T_START + 5 * 3600, 36.4, 38.2)  # a fever after five hours
    samples = {"temperature_c": (t, temp), "heart_rate_bpm": (t, np.where(temp > 38, 112.0, 76.0))}
    subject = next(s for s in (f"m{h}" for h in range(40)) if subject_phase_s(s, 60) > 0)
    batch = detect_alerts(samples, cfg, subject=subject).events
    assert batch
    assert {int(e.time.timestamp()) % 60 for e in batch} == {subject_phase_s(subject, 60)}
    monitor = SubjectMonitor(cfg, subject=subject)
    live = []
    for i in range(0, t.size, 12):  # a minute at a time
        live += monitor.update({k: (ts[i : i + 12], vs[i : i + 12]) for k, (ts, vs) in samples.items()})
    live += monitor.flush()
    assert [(x.time, x.rule, x.kind) for x in live] == [(e.time, e.rule, e.event.value) for e in batch]
