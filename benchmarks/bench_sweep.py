"""A sweep in one process against the same sweep on a local Dask cluster of 1 and 2 workers.

    python benchmarks/bench_sweep.py [--subjects 60] [--days 4] [--interval-s 30] [--dataset]

Same cohort, same grid (3 × 2 settings), same machine, one run after the other; the tables must be
equal (the script checks), the times are what Dask costs and gains here. With ``--dataset`` the
cohort is first written as a Parquet dataset partitioned by subject and the workers read their own
subjects' partitions (as from an object store), instead of being sent the recordings from this
process. Last, the projection of
issue 18's national-scale sweep from the rate per worker measured here: every Dutch kraamweek of a
year (165,000 births × 8 days at 1 Hz, temperature and heart rate ≈ 2.3 × 10¹¹ samples) times a
grid of 50 settings.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


import numpy as np  # noqa: E402

from kraamwacht.distributed import DatasetBlocks, open_client, sweep_on_cluster  # noqa: E402
from kraamwacht.firmware_sim.physiology import generate_cohort  # noqa: E402
from kraamwacht.recordings import write_streams  # noqa: E402
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
    parser.add_argument("--dataset", action="store_true", help="the workers read a partitioned dataset themselves")
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
    folder = Path(tempfile.mkdtemp(prefix="kw-bench-sweep-")) / "streams"
    if args.dataset:
        write_streams(folder, ((s, k, t, v) for s, series in recordings.items() for k, (t, v) in series.items()))
    for workers in (1, 2):
        with open_client(workers=workers) as client:
            source = DatasetBlocks(folder) if args.dataset else recordings
            start = time.perf_counter()
            rows = sweep_on_cluster(client, source, labels, base, GRID, rules=None)
            took = time.perf_counter() - start
        for a, b in zip(rows, reference, strict=True):
            for key, value in a.report.as_dict().items():
                other = b.report.as_dict()[key]
                same = value == other or (isinstance(value, float) and np.isnan(value) and np.isnan(other))
                assert same, f"the cluster's table differs: {a.overrides} {key} {value} != {other}"
        how = "reading the dataset" if args.dataset else "sent the recordings"
        print(f"| Dask, {workers} local worker{'s' if workers > 1 else ''}, {how} | {took:.1f} | "
              f"{samples * len(rows) / took / 1e6:.1f} M | {one / took:.2f}× |")  # fmt: skip
        if workers == 1:
            fixed_s = took - one  # what one worker spends besides the detectors: reading (or receiving), Dask
    shutil.rmtree(folder.parent, ignore_errors=True)
    # per sample: read once per worker, then run once per setting (at one process's rate)
    per_sample_s = fixed_s / samples + NATIONAL_SETTINGS * one / (samples * len(reference))
    core_h = NATIONAL_SAMPLES * per_sample_s / 3600
    print(f"\nnational sweep, {NATIONAL_SAMPLES:.2e} samples × {NATIONAL_SETTINGS} settings: reading and Dask"
          f" {fixed_s / samples * 1e9:.0f} ns per sample, the detectors {one / (samples * len(reference)) * 1e9:.0f} ns"
          f" per sample and setting: {core_h:,.0f} core-hours; {core_h / 256:.1f} h on 256 workers"
          f" (8 machines × 32 cores), {core_h / 1024:.2f} h on 1,024")  # fmt: skip


if __name__ == "__main__":
    main()
