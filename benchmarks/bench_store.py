"""The embedded store's layout under live homes: the current version (5) against version 2, in the same process.

    python benchmarks/bench_store.py [--homes 3600] [--seconds 120] [--batch 2000] [--history-s 600]

Live homes send one message a second with a temperature and a heart rate; serve commits them in
batches (up to 2,000 messages). Each home's rows land on its own pages of every B-tree the layout
keeps ordered by device or subject, so a commit writes about one page per home per tree; this
measures what that costs per message for:

* version 2: rows ordered by identity (``WITHOUT ROWID``), indexes by subject and by episode;
* the current version as ``SqliteStore`` writes it: rows appended (rowid), a unique identity index,
  each subject's time line (by time, then signal), an index of the sparse signals, the small
  subjects table, a 64 MB page cache and checkpoints every 10,000 pages.

The current version is timed through ``SqliteStore.write`` itself (duplicate check included); version 2 by
the same statements on its layout (without the duplicate check, so its figure is a lower bound).

Then a store that has been running (``--history-s`` of 1 Hz rows per home stored first): each
home's newest rows now fill pages of their own in both indexes, which a fresh store's first
minutes do not show; the case gives the CPU and the WAL bytes a live message costs, per page size,
and what the store's reads cost per subject on such a store.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from kraamwacht.contract import SIGNAL_UNITS, Observation, Signal  # noqa: E402
from kraamwacht.storage import layouts  # noqa: E402
from kraamwacht.storage.sqlite import SqliteStore  # noqa: E402


def batches(homes: int, seconds: int, batch: int, *, first_s: int = 0) -> list[list[Observation]]:
    """Second by second from ``first_s``, every home's two samples, cut into serve's batches of ``batch`` messages."""
    t0 = datetime.now(tz=UTC).timestamp() // 60 * 60 - 86400
    out: list[list[Observation]] = []
    current: list[Observation] = []
    for s in range(first_s, first_s + seconds):
        when = datetime.fromtimestamp(t0 + s, tz=UTC)
        for h in range(homes):
            for k, (signal, value) in enumerate(((Signal.TEMPERATURE_C, 36.6), (Signal.HEART_RATE_BPM, 78.0))):
                current.append(
                    Observation(episode=f"ep{h}", subject=f"m{h}", device=f"wb{h}", signal=signal, value=value,
                                unit=SIGNAL_UNITS[signal], device_time=when, receive_time=when, seq=2 * s + k)
                )  # fmt: skip
            if len(current) >= 2 * batch:
                out.append(current)
                current = []
    return [*out, current] if current else out


def version_2(path: Path, work: list[list[Observation]]) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(layouts.VERSION_2)  # its outbox stays empty: serve's store keeps none
    rows = [
        [(o.device, o.seq, o.episode, o.subject, o.signal.value, o.value, o.unit, o.device_time.timestamp(),
          o.receive_time.timestamp(), "", None, None, None, o.stream) for o in batch]
        for batch in work
    ]  # fmt: skip
    start = time.perf_counter()
    for batch in rows:
        db.execute("BEGIN")
        db.executemany("INSERT OR IGNORE INTO observations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def current(path: Path, work: list[list[Observation]]) -> float:
    store = SqliteStore(path)
    start = time.perf_counter()
    for batch in work:
        store.write(batch)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed


def seed(store: SqliteStore, homes: int, history_s: int, batch: int) -> None:
    """``history_s`` of 1 Hz rows per home, ending where :func:`batches`' live seconds begin."""
    for part in batches(homes, history_s, batch, first_s=-history_s):
        store.write(part)


def running(path: Path, homes: int, history_s: int, seconds: int, batch: int, page_bytes: int) -> tuple[float, float]:
    """A store that has been running: every home with ``history_s`` of 1 Hz rows already stored, then
    live seconds in serve's batches. (µs per message, WAL bytes written per message); no checkpoint
    runs while it is measured, so the WAL's size is what the commits wrote."""
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA page_size={page_bytes}")  # takes effect before the first table is created
    db.execute("VACUUM")
    db.close()
    store = SqliteStore(path)
    seed(store, homes, history_s, batch)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store._db.execute("PRAGMA wal_autocheckpoint=0")
    work = batches(homes, seconds, batch)
    start = time.process_time()
    for part in work:
        store.write(part)
    cpu_s = time.process_time() - start
    wal_bytes = path.with_name(path.name + "-wal").stat().st_size
    store.close()
    return cpu_s / (homes * seconds) * 1e6, wal_bytes / (homes * seconds)


def reads(path: Path, homes: int, history_s: int) -> dict[str, float]:
    """Milliseconds per subject of the store's reads (rebuild, board, handover) after ``history_s`` of 1 Hz rows."""
    store = SqliteStore(path)
    seed(store, homes, history_s, 2000)
    end_s = batches(1, 1, 1)[0][0].device_time.timestamp()  # where the history ends
    cases = {
        "all signals": lambda s: store.read(subject=s),
        "one signal": lambda s: store.read(subject=s, signals=["temperature_c"]),
        "newest value": lambda s: store.latest(s, "temperature_c", since_s=0),
        "newest thermometer reading": lambda s: store.latest(s, "thermometer_c", since_s=0),
        "mean over 10 minutes": lambda s: store.mean(s, "heart_rate_bpm", start_s=end_s - 600, end_s=end_s),
    }
    out = {}
    for name, read in cases.items():
        start = time.perf_counter()
        for h in range(homes):
            read(f"m{h}")
        out[name] = (time.perf_counter() - start) / homes * 1e3
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--homes", type=int, default=3600)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--batch", type=int, default=2000, help="messages per commit (serve's batch_max)")
    parser.add_argument(
        "--history-s", type=int, default=600, help="1 Hz rows per home before the running case (0: skip it)"
    )
    parser.add_argument("--running-homes", type=int, default=600)
    parser.add_argument("--running-seconds", type=int, default=30)
    parser.add_argument(
        "--running-batch", type=int, default=100, help="messages per commit, as serve's when it keeps up"
    )
    parser.add_argument("--read-homes", type=int, default=200)
    parser.add_argument("--read-history-s", type=int, default=1800)
    parser.add_argument("--page-bytes", type=int, nargs="+", default=[4096, 1024], help="SQLite page sizes to compare")
    args = parser.parse_args()
    work = batches(args.homes, args.seconds, args.batch)
    messages = args.homes * args.seconds
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        old = version_2(Path(tmp) / "v2.db", work)
        new = current(Path(tmp) / "current.db", work)
    print(f"{args.homes} homes × {args.seconds} s, {args.batch} messages per commit:")
    print(f"| version 2 (rows by identity, 3 trees) | {old / messages * 1e6:.1f} µs per message |")
    print(f"| current (SqliteStore.write)           | {new / messages * 1e6:.1f} µs per message |")
    print(f"| version 2 / current                   | {old / new:.2f} × |")
    if args.history_s:
        print(f"a store that has been running: {args.running_homes} homes with {args.history_s} s of 1 Hz rows each,")
        print(f"then {args.running_seconds} s live in batches of {args.running_batch} messages (SqliteStore.write):")
        print("| page size | CPU per message | WAL written per message |")
        for page_bytes in args.page_bytes:
            with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
                us, wal = running(Path(tmp) / "run.db", args.running_homes, args.history_s, args.running_seconds,
                                  args.running_batch, page_bytes)  # fmt: skip
            print(f"| {page_bytes:,} B | {us:.1f} µs | {wal / 1e3:.1f} kB |")
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            timed = reads(Path(tmp) / "reads.db", args.read_homes, args.read_history_s)
        print(f"reads: {args.read_homes} homes with {args.read_history_s} s of 1 Hz rows each, ms per subject:")
        for name, ms in timed.items():
            print(f"| {name} | {ms:.3f} ms |")


if __name__ == "__main__":
    main()
