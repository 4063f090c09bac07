"""What a fail-over costs: the time a serve worker needs to rebuild one subject's detectors.

    python benchmarks/spike_failover.py [--hours 72] [--subjects 20]

A worker that takes over a partition (docs/scaling.md) knows nothing of its subjects until the
first message of each arrives; then serve rebuilds that subject's detectors from the store
(``IngestCore._rebuild_one``: the last ``rebuild_h`` hours, replayed through the very monitor
that runs live). This measures that rebuild per subject, with the embedded store, for wearables
at 1 Hz (temperature and heart rate) and at one sample a minute, and the whole start-up rebuild
(``IngestCore.rebuild``) of a worker owning ``--subjects`` subjects.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_serve import stored_vitals  # noqa: E402
from kraamwacht.service._core import IngestCore  # noqa: E402
from kraamwacht.service._eventlog import EventLog  # noqa: E402
from kraamwacht.storage.sqlite import SqliteStore  # noqa: E402


def fill(store: SqliteStore, subject: int, *, hours: float, step_s: float, end: datetime) -> int:
    """``hours`` of temperature and heart rate ending at ``end``, one sample of each every ``step_s``."""
    rng = np.random.default_rng(subject)
    t = end.timestamp() - np.arange(int(hours * 3600 / step_s), 0, -1) * step_s
    temp = 36.4 + 0.2 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 0.05, t.size)
    hr = 75 + 5 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 2, t.size)
    rows = stored_vitals(subject, t.tolist(), [round(v, 2) for v in temp.tolist()], [round(v, 2) for v in hr.tolist()])
    for start in range(0, len(rows), 100_000):
        store.write(rows[start : start + 100_000])
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=72.0, help="serve's --rebuild-h (its default: 72)")
    parser.add_argument("--subjects", type=int, default=20)
    args = parser.parse_args()
    end = datetime.now(tz=UTC).replace(microsecond=0)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, step_s in (("1 Hz", 1.0), ("1/min", 60.0)):
            folder = Path(tmp) / label.replace("/", "-").replace(" ", "")
            store = SqliteStore(folder / "k.db")
            samples = sum(fill(store, s, hours=args.hours, step_s=step_s, end=end) for s in range(args.subjects))
            per_subject = []
            for s in range(args.subjects):
                core = IngestCore(site="spike", store=store, events=EventLog(folder / f"e{s}.db"), rebuild_h=args.hours)
                start = time.perf_counter()
                core._rebuild_one(f"ep{s}", f"m{s}", now=end, before=end + timedelta(seconds=1))
                per_subject.append(time.perf_counter() - start)
            core = IngestCore(site="spike", store=store, events=EventLog(folder / "all.db"), rebuild_h=args.hours)
            start = time.perf_counter()
            core.rebuild(now=end, hours=args.hours)
            whole = time.perf_counter() - start
            results[label] = (samples / args.subjects, float(np.median(per_subject)), max(per_subject), whole)
            store.close()
    print(f"rebuild of {args.hours:.0f} h per subject, {args.subjects} subjects, embedded store:")
    print("| wearable | samples per subject | rebuild per subject, median (max) | start-up rebuild of all |")
    print("|---|---|---|---|")
    for label, (samples, median, worst, whole) in results.items():
        print(f"| {label} | {samples:,.0f} | {median * 1000:.0f} ms ({worst * 1000:.0f} ms) | {whole:.1f} s |")


if __name__ == "__main__":
    main()
