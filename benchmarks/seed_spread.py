"""The synthetic cohorts over many seeds, and how far single parameters move them.

    python benchmarks/seed_spread.py [--seeds 1-10] [--grid '[{}, {"heart_rate.agree_bpm": 4}]'] [--processes 2]

A median lead over 46 febrile mothers moves by hours from one seed to the next, so a choice made
on one seed can be luck. This runs each configuration on every seed of noise models A, B and C, in
both set-ups of issue 13 (the wearable every 5 minutes with thermometer readings at 09:00 and 17:00;
every minute without a thermometer) and prints the mean over seeds of sensitivity, median lead and
clinical false alarms per mother-day, with the worst seed. Seeds 1-10 are the tuning seeds; keep
others (21 and up) for reporting.
"""

from __future__ import annotations

import argparse
import json
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generalisation import synthetic

from kraamwacht.signal import DetectorConfig


def _one(job: tuple[str, int, bool, str]) -> tuple[str, str, bool, float, float, float]:
    noise, seed, calibrated, overrides = job
    cfg = DetectorConfig().with_overrides(json.loads(overrides))
    row = synthetic(noise, seed=seed, n=120, days=7.0, cfg=cfg, calibrated=calibrated)[0]
    return overrides, noise, calibrated, row.sensitivity, row.lead_h, row.fa_per_day


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1-10")
    parser.add_argument("--grid", default="[{}]", help="JSON list of parameter overrides; {} is the default")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    seeds = _seeds(args.seeds)
    grid = [json.dumps(g, sort_keys=True) for g in json.loads(args.grid)]
    jobs = [(n, s, c, g) for g in grid for c in (True, False) for n in "ABC" for s in seeds]
    results: dict[tuple[str, bool, str], list[tuple[float, float, float]]] = {}
    with Pool(args.processes) as pool:
        for overrides, noise, calibrated, sens, lead, fa in pool.imap(_one, jobs):
            results.setdefault((overrides, calibrated, noise), []).append((sens, lead, fa))
    print(f"seeds {args.seeds}: mean over seeds (worst seed in brackets)")
    print("| overrides | set-up | model | sensitivity | median lead h | false alarms / day |")
    print("|---|---|---|---|---|---|")
    for (overrides, calibrated, noise), rows in results.items():
        a = np.array(rows)
        setup = "5 min + thermometer" if calibrated else "1 min, none"
        print(f"| `{overrides}` | {setup} | {noise} | {100 * a[:, 0].mean():.1f} % ({100 * a[:, 0].min():.1f}) "
              f"| {a[:, 1].mean():.2f} ({a[:, 1].min():.1f}) | {a[:, 2].mean():.3f} ({a[:, 2].max():.3f}) |")  # fmt: skip


if __name__ == "__main__":
    main()
