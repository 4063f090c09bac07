"""Benchmark of the signal core; writes docs/benchmarks.md (section "Signal core").

Every figure is a ratio against a baseline measured in the same process on the same data:

* batch replay (``kraamwacht.signal.detect``) on >= 1,000 subject-days of 1 Hz temperature and
  heart rate, against the straightforward per-sample Python implementation of the same detector
  (``naive_detector.py``) and against river's ``PageHinkley`` fed the same temperature series;
* streaming (``SubjectMonitor``): memory per subject, and samples/s for 5,000 subjects fed in
  1-second batches (one temperature and one heart-rate sample per subject per second).

Run: ``make bench`` or ``python benchmarks/bench_signal.py [--subject-days N] [--stream-subjects N]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from naive_detector import naive_detect

from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.signal import DetectorConfig, SubjectMonitor, detect

DAY = 86_400.0
ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def recordings(n_distinct: int, days: float) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    kinds = ["healthy", "slow", "fast"]
    out = []
    for i in range(n_distinct):
        scenario = MotherScenario.draw(f"b{i}", kinds[i % 3], seed=100 + i, delivered_at_s=1_782_864_000.0, days=days)
        out.append(scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=1.0))
    return out


def bench_batch(subject_days: int, cfg: DetectorConfig) -> dict[str, float]:
    days_each = 10.0
    distinct = recordings(10, days_each)
    repeats = int(np.ceil(subject_days / (days_each * len(distinct))))
    samples = 0
    gc.collect()
    start = time.perf_counter()
    for _ in range(repeats):
        for rec in distinct:
            result = detect(rec, cfg, subject="b")
            samples += result.n_samples
    batch_s = time.perf_counter() - start
    batch_rate = samples / batch_s

    # the baselines on one whole recording of the same data (too slow to run on all of it)
    one_day = distinct[1]
    n_day = sum(t.size for t, _ in one_day.values())
    start = time.perf_counter()
    naive_detect(one_day, cfg)
    naive_rate = n_day / (time.perf_counter() - start)
    start = time.perf_counter()
    detect(one_day, cfg, subject="b")
    batch_day_rate = n_day / (time.perf_counter() - start)

    from river.drift import PageHinkley

    temps = one_day["temperature_c"][1].tolist()
    detector = PageHinkley()
    start = time.perf_counter()
    for value in temps:
        detector.update(value)
    river_rate = len(temps) / (time.perf_counter() - start)
    return {
        "subject_days": repeats * len(distinct) * days_each,
        "samples": samples,
        "batch_s": batch_s,
        "batch_rate": batch_rate,
        "batch_day_rate": batch_day_rate,
        "naive_rate": naive_rate,
        "river_rate": river_rate,
    }


def bench_streaming(n_subjects: int, seconds: int, cfg: DetectorConfig) -> dict[str, float]:
    t0 = 1_782_864_000.0
    rng = np.random.default_rng(0)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    monitors = [SubjectMonitor(cfg, subject=f"s{i}") for i in range(n_subjects)]
    # warm every monitor up with ten minutes of data so that its buffers are at working size
    warm_t = t0 + np.arange(600.0)
    for m in monitors:
        m.update({"temperature_c": (warm_t, np.full(600, 36.3)), "heart_rate_bpm": (warm_t, np.full(600, 80.0))})
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    per_subject = sum(s.size_diff for s in after.compare_to(before, "filename")) / n_subjects
    state_bytes = float(np.mean([m.state.nbytes() for m in monitors]))

    temps = np.round(36.3 + rng.normal(0, 0.05, (seconds, n_subjects)), 2)
    hrs = np.round(80 + rng.normal(0, 3, (seconds, n_subjects)))
    samples = 0
    start = time.perf_counter()
    for k in range(seconds):
        t = np.array([t0 + 600.0 + k])
        row_t, row_h = temps[k], hrs[k]
        for i, m in enumerate(monitors):
            m.update({"temperature_c": (t, row_t[i : i + 1]), "heart_rate_bpm": (t, row_h[i : i + 1])})
        samples += 2 * n_subjects
    elapsed = time.perf_counter() - start
    steady = float(np.mean([m.state.nbytes() for m in monitors]))
    pending = float(
        np.mean([sum(len(a) * a.itemsize for a in m._accumulator._pending_t.values()) * 2 for m in monitors])
    )
    return {
        "steady_state_bytes": steady,
        "pending_bytes": pending,
        "subjects": n_subjects,
        "seconds": seconds,
        "samples": samples,
        "rate": samples / elapsed,
        "realtime_factor": seconds / elapsed,
        "memory_per_subject_bytes": per_subject,
        "state_bytes": state_bytes,
    }


def report(batch: dict[str, float], stream: dict[str, float]) -> str:
    now = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""## Signal core

Measured {now} on {machine()}; `python benchmarks/bench_signal.py`. One process, one core
(numpy does not thread these operations). Ratios compare against baselines run in the same process.

### Batch replay (`kraamwacht.signal.detect`)

| measure | value |
|---|---|
| data | {batch["subject_days"]:.0f} subject-days of 1 Hz temperature + heart rate ({batch["samples"] / 1e6:.1f} M samples), physiology scenarios from `firmware_sim` |
| batch replay | **{batch["batch_rate"] / 1e6:.1f} M samples/s** ({batch["batch_s"]:.2f} s in all) |
| per-sample Python implementation of the same detector (`benchmarks/naive_detector.py`), one 10-day recording | {batch["naive_rate"] / 1e3:.1f} k samples/s |
| batch on that same recording | {batch["batch_day_rate"] / 1e6:.1f} M samples/s |
| **ratio batch / per-sample Python** | **{batch["batch_day_rate"] / batch["naive_rate"]:.0f}×** |
| river `PageHinkley` (defaults) fed that recording's temperature samples one by one | {batch["river_rate"] / 1e3:.0f} k samples/s |
| **ratio batch / river PageHinkley** | **{batch["batch_day_rate"] / batch["river_rate"]:.0f}×** |

The per-sample implementation is also an independent check of the rules: a test holds it to the same
alerts as the vectorised core (`tests/unit/test_independent_implementation.py`). PageHinkley is a
single change detector on one signal while the core runs every rule on both signals, so the comparison understates the core's advantage.

### Streaming (`kraamwacht.signal.SubjectMonitor`)

| measure | value |
|---|---|
| subjects fed in 1-second batches | {stream["subjects"]:.0f} × {stream["seconds"]:.0f} s (1 temperature + 1 heart-rate sample each per second) |
| throughput | **{stream["rate"] / 1e3:.1f} k samples/s**, {stream["realtime_factor"]:.1f}× real time for all {stream["subjects"]:.0f} subjects |
| memory per subject (tracemalloc, after a 10-minute warm-up) | {stream["memory_per_subject_bytes"] / 1024:.1f} KiB |
| of which detector state arrays (`MonitorState.nbytes`) | {stream["state_bytes"] / 1024:.1f} KiB after the warm-up, {stream["steady_state_bytes"] / 1024:.1f} KiB after the 1-second feed: ring buffers of fixed length, constant in time |
| samples of the still-open epochs (reorder grace) after the 1-second feed | {stream["pending_bytes"] / 1024:.1f} KiB |
"""


def write_section(text: str, path: Path) -> None:
    existing = (
        path.read_text() if path.exists() else "# Benchmarks\n\nFigures written by the scripts in `benchmarks/`.\n\n"
    )
    start = existing.find("## Signal core")
    if start >= 0:
        end = existing.find("\n## ", start + 1)
        existing = existing[:start] + existing[end + 1 :] if end >= 0 else existing[:start]
    path.write_text(existing.rstrip() + "\n\n" + text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subject-days", type=int, default=1000)
    parser.add_argument("--stream-subjects", type=int, default=5000)
    parser.add_argument("--stream-seconds", type=int, default=120)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    cfg = DetectorConfig()
    batch = bench_batch(args.subject_days, cfg)
    print(
        f"batch {batch['batch_rate'] / 1e6:.1f} M/s; per-sample {batch['naive_rate'] / 1e3:.1f} k/s; river {batch['river_rate'] / 1e3:.0f} k/s"
    )
    stream = bench_streaming(args.stream_subjects, args.stream_seconds, cfg)
    print(f"streaming {stream['rate'] / 1e3:.1f} k/s, {stream['memory_per_subject_bytes'] / 1024:.1f} KiB/subject")
    text = report(batch, stream)
    write_section(text, args.out)
    print(text)


if __name__ == "__main__":
    main()
