"""A sweep in one process against the same sweep on a local Dask cluster of 1 and 2 workers.

    python benchmarks/bench_sweep.py [--subjects 60] [--days 4] [--interval-s 30]

Same cohort, same grid (3 × 2 settings), same machine, one run after the other; the tables must be
equal (the script checks), the times are what Dask costs and gains here. Last, the projection of
issue 18's national-scale sweep from the rate per worker measured here: every Dutch kraamweek of a
year (165,000 births × 8 days at 1 Hz, temperature and heart rate ≈ 2.3 × 10¹¹ samples) times a
grid of 50 settings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


import numpy as np  # noqa: E402

from kraamwacht.distributed import open_client, sweep_on_cluster  # noqa: E402
from kraamwacht.firmware_sim.physiology import generate_cohort  # noqa: E402
from kraamwacht.replay import sweep  # noqa: E402
from kraamwacht.signal import DetectorConfig  # noqa: E402
from kraamwacht.signal.evaluate import Label  # noqa: E402

GRID = {"rise.k_c": [0.3, 0.4, 0.5], "rise.h_c_epochs": [10, 20]}
NATIONAL_SAMPLES = 165_000 * 8 * 86_400 * 2  # births a year × kraamweek days × 1 Hz × two signals
NATIONAL_SETTINGS = 50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=60)
    parser.add_argument("--days", type=float, default=4.0)
    parser.add_argument("--interval-s", type=float, default=30.0, help="the wearable's sampling interval")
    args = parser.parse_args()
    cohort = generate_cohort(args.subjects, seed=5, days=args.days)
    recordings, labels = {}, {}
    for s in cohort:
        recordings[s.subject] = s.wearable_samples(s.start_s, s.end_s, interval_s=args.interval_s)
        labels[s.subject] = Label(s.subject, s.infection is not None,
                                  s.infection.start_s if s.infection else None, s.reference_s())  # fmt: skip
    samples = sum(int(t.size) for r in recordings.values() for t, _v in r.values())
    base = DetectorConfig()
    start = time.perf_counter()
    reference = sweep(recordings, labels, base, GRID, rules=None)
    one = time.perf_counter() - start
    print(f"{args.subjects} subjects × {args.days:g} days every {args.interval_s:g} s, {samples:,} samples,"
          f" {len(reference)} settings")  # fmt: skip
    print("| run | seconds | samples × settings / s | vs one process |\n|---|---|---|---|")
    print(f"| one process | {one:.1f} | {samples * len(reference) / one / 1e6:.1f} M | 1.00× |")
    for workers in (1, 2):
        with open_client(workers=workers) as client:
            start = time.perf_counter()
            rows = sweep_on_cluster(client, recordings, labels, base, GRID, rules=None)
            took = time.perf_counter() - start
        for a, b in zip(rows, reference, strict=True):
            for key, value in a.report.as_dict().items():
                other = b.report.as_dict()[key]
                same = value == other or (isinstance(value, float) and np.isnan(value) and np.isnan(other))
                assert same, f"the cluster's table differs: {a.overrides} {key} {value} != {other}"
        print(f"| Dask, {workers} local worker{'s' if workers > 1 else ''} | {took:.1f} | "
              f"{samples * len(rows) / took / 1e6:.1f} M | {one / took:.2f}× |")  # fmt: skip
        per_worker = samples * len(rows) / took / workers
    work = NATIONAL_SAMPLES * NATIONAL_SETTINGS
    core_h = work / per_worker / 3600
    print(f"\nnational sweep: {NATIONAL_SAMPLES:.2e} samples × {NATIONAL_SETTINGS} settings at"
          f" {per_worker / 1e6:.1f} M samples × settings / s per worker: {core_h:,.0f} core-hours;"
          f" {core_h / 256:.1f} h on 256 workers (8 machines × 32 cores), {core_h / 1024:.1f} h on 1,024")  # fmt: skip


if __name__ == "__main__":
    main()
