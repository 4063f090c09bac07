"""An independent, sample-by-sample implementation of the rules gives the same alerts."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from kraamwacht.alerts import detect_alerts
from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.signal import DetectorConfig

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from naive_detector import naive_detect

CFG = DetectorConfig().with_overrides({"temperature.warmup_h": 3, "heart_rate.warmup_h": 3})


@pytest.mark.parametrize(
    ("kind", "seed", "interval_s", "thermometer"),
    [("fast", 4, 30.0, False), ("slow", 5, 30.0, False), ("healthy", 6, 30.0, False), ("fast", 21, 30.0, False),
     ("slow", 5, 300.0, True), ("fast", 4, 300.0, True)],
)  # fmt: skip
def test_naive_per_sample_detector_agrees(kind: str, seed: int, interval_s: float, thermometer: bool) -> None:
    scenario = MotherScenario.draw("m", kind, seed=seed, delivered_at_s=1_782_864_000.0, days=3.0, noise="B")
    samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=interval_s)
    if thermometer:  # spot checks at 09:00 and 17:00, some taken orally: calibration and the reference reading
        checks = scenario.spot_checks()
        samples["thermometer_c"] = (
            np.array([c.time_s for c in checks[::2]]),
            np.array([c.temp_c for c in checks[::2]]),
        )
        samples["thermometer_c:oral"] = (
            np.array([c.time_s for c in checks[1::2]]),
            np.array([c.temp_c - 0.4 for c in checks[1::2]]),
        )
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
