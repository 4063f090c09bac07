"""An independent, sample-by-sample implementation of the rules gives the same alerts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kraamwacht.alerts import detect_alerts
from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.signal import DetectorConfig

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from naive_detector import naive_detect

CFG = DetectorConfig().with_overrides({"temperature.warmup_h": 3, "heart_rate.warmup_h": 3})


@pytest.mark.parametrize(("kind", "seed"), [("fast", 4), ("slow", 5), ("healthy", 6), ("fast", 21)])
def test_naive_per_sample_detector_agrees(kind: str, seed: int) -> None:
    scenario = MotherScenario.draw("m", kind, seed=seed, delivered_at_s=1_782_864_000.0, days=3.0)
    samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=30.0)
    epoch_s = CFG.epoch.epoch_s
    batch = [
        (
            int(e.time.timestamp()) // epoch_s - 1,
            f"{e.alert_id.split(':')[1]}:{e.event}",
            2 if e.level == "urgent" else 1,
        )
        for e in detect_alerts(samples, CFG, subject="m").events
    ]
    naive = naive_detect(samples, CFG)
    assert sorted(naive) == sorted(batch)
    assert batch, "the scenario should produce alerts to compare"
