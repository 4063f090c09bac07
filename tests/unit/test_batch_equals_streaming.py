"""Researchers replay exactly what runs live: batch == streaming, bit for bit."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.signal import DetectorConfig, EpochFrame, SubjectMonitor, detect

FAST = DetectorConfig().with_overrides(
    {"temperature.warmup_h": 2, "heart_rate.warmup_h": 2, "temperature.baseline_lag_h": 1}
)
FRAME_FIELDS = [f for f in EpochFrame.__dataclass_fields__ if f != "levels"]


@st.composite
def recordings(draw: st.DrawFn) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    kind = draw(st.sampled_from(["healthy", "slow", "fast"]))
    scenario = MotherScenario.draw(
        "m", kind, seed=draw(st.integers(0, 2**31 - 1)), delivered_at_s=1_782_864_000.0 - 30 * 3600, days=1.5
    )
    interval = draw(st.sampled_from([15.0, 60.0, 97.0]))
    samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=interval)
    # a step of random size at a random time, so that rises, fevers and resolves all occur
    t, v = samples["temperature_c"]
    at = draw(st.floats(0.2, 0.9)) * (t[-1] - t[0]) + t[0]
    step = draw(st.sampled_from([0.0, 0.6, 1.5]))
    samples["temperature_c"] = (t, np.round(v + np.where(t > at, step, 0.0), 2))
    return samples


def stream(samples: dict[str, tuple[np.ndarray, np.ndarray]], cuts: list[float], cfg: DetectorConfig):
    monitor = SubjectMonitor(cfg, subject="m")
    events, frames = [], []
    bounds = [-np.inf, *sorted(cuts), np.inf]
    for lo, hi in itertools.pairwise(bounds):
        chunk = {s: (t[(t >= lo) & (t < hi)], v[(t >= lo) & (t < hi)]) for s, (t, v) in samples.items()}
        events += monitor.update(chunk)
        if monitor.last_frame is not None:
            frames.append(monitor.last_frame)
            monitor.last_frame = None
    events += monitor.flush()
    if monitor.last_frame is not None:
        frames.append(monitor.last_frame)
    assert monitor.late_samples == 0
    return events, EpochFrame.concat(frames)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(samples=recordings(), fractions=st.lists(st.floats(0.0, 1.0), max_size=12))
def test_streaming_in_random_chunks_equals_batch(samples, fractions) -> None:
    t = samples["temperature_c"][0]
    cuts = [t[0] + f * (t[-1] - t[0]) for f in fractions]
    batch = detect(samples, FAST, subject="m")
    events, frame = stream(samples, cuts, FAST)
    assert events == batch.transitions
    for name in FRAME_FIELDS:
        np.testing.assert_array_equal(getattr(frame, name), getattr(batch.frame, name), err_msg=name)
    for group, levels in batch.frame.levels.items():
        np.testing.assert_array_equal(frame.levels[group], levels)


def test_one_sample_at_a_time_equals_batch() -> None:
    scenario = MotherScenario.draw("m", "fast", seed=11, delivered_at_s=1_782_864_000.0, days=1.2)
    samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=60.0)
    merged = sorted((float(t), s) for s, (ts, _) in samples.items() for t in ts)
    cuts = [t + 1e-3 for t, _ in merged]
    events, _ = stream(samples, cuts, FAST)
    assert events == detect(samples, FAST, subject="m").transitions
    assert events, "the fast fever should raise alerts"


def test_late_samples_are_counted_not_used() -> None:
    monitor = SubjectMonitor(subject="m")
    t = 1_782_864_000.0 + np.arange(0, 1800, 1.0)
    monitor.update({"temperature_c": (t, np.full(t.size, 36.4))})
    closed = monitor.epochs_closed
    monitor.update({"temperature_c": (t[:10], np.full(10, 36.4))})  # far older than the grace
    assert monitor.late_samples == 10
    assert monitor.epochs_closed == closed


def test_core_imports_no_io_library() -> None:
    code = (
        "import sys, kraamwacht.signal, kraamwacht.alerts, kraamwacht.signal.evaluate;"
        "bad = [m for m in ('asyncio', 'paho', 'bleak', 'bumble', 'influxdb_client', 'streamlit', 'sqlite3', 'urllib.request')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
