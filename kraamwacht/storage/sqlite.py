"""The embedded store: one SQLite file in WAL mode, for a single machine with no server.

``(device, stream, seq)`` is a unique key (the sample identity of ``docs/contract.md``), so a
sample redelivered after a reconnect or a restart is counted as a duplicate and not stored twice,
across restarts of the service; a sample with a stored identity but other content (signal, value,
device time, subject) is a *conflict*, never dropped silently: :class:`WriteResult` marks it and
serve dead-letters it with the reason ``conflicting_duplicate``. WAL with
``synchronous=NORMAL`` keeps every committed batch when the process is killed; an operating-system
crash may lose the last batches (use ``synchronous=FULL`` via ``durable=True`` where that matters).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kraamwacht.contract import Observation, QualityFlag, Signal
from kraamwacht.storage._base import Series, StoreError, WriteResult

__all__ = ["SqliteStore"]

_COLUMNS = """
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    episode TEXT NOT NULL,
    subject TEXT NOT NULL,
    signal TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    device_time REAL NOT NULL,
    receive_time REAL NOT NULL,
    quality TEXT NOT NULL DEFAULT '',
    method TEXT,
    site TEXT,
    entered_by TEXT,
    stream TEXT NOT NULL DEFAULT ''
"""

# Version 4. Rows are appended in arrival order (a rowid table) and found through the identity and
# each subject's time line. A batch of live homes touches one page per home in each B-tree it
# writes, and that is the cost of a commit (docs/benchmarks.md). The time line is ordered by time
# before signal, so a wearable's temperature and heart rate of one second share a page (version 3
# ordered by signal first: two pages per home, 4.0 pages written per live message against 2.8);
# the sparse signals (typed-in readings, battery) have an index of their own, by signal, so that
# finding a subject's thermometer readings does not walk her every wearable sample. A query uses it
# by repeating its condition, ``_SPARSE`` (SQLite's rule for partial indexes). Version 2 kept the
# rows ordered by device and had an index by episode: the small ``subjects`` table replaced it.
_WEARABLE = ("temperature_c", "heart_rate_bpm")  # the signals a wearable sends every second
_SPARSE = f"signal NOT IN ({', '.join(repr(s) for s in _WEARABLE)})"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS observations ({_COLUMNS});
CREATE UNIQUE INDEX IF NOT EXISTS observations_identity ON observations (device, stream, seq);
CREATE INDEX IF NOT EXISTS observations_timeline ON observations (subject, device_time, signal);
CREATE INDEX IF NOT EXISTS observations_sparse ON observations (subject, signal, device_time) WHERE {_SPARSE};
CREATE TABLE IF NOT EXISTS subjects (
    episode TEXT NOT NULL,
    subject TEXT NOT NULL,
    PRIMARY KEY (episode, subject)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    stream TEXT NOT NULL DEFAULT '',
    UNIQUE (device, stream, seq)
);
"""
_VERSION = 4
_NAMES = [line.split()[0] for line in _COLUMNS.strip().splitlines()]

# version 1 (no streams: identity (device, seq)) and version 2 (rows ordered by identity, an index
# by episode) are moved into version 4 in one transaction, every row kept
_MIGRATE = """
ALTER TABLE observations RENAME TO observations_before;
DROP INDEX IF EXISTS observations_by_subject;
DROP INDEX IF EXISTS observations_by_episode;
"""
# version 3 had the same rows and one time line ordered by signal first: only the indexes change
_REINDEX = "DROP INDEX IF EXISTS observations_by_subject;"

# what makes a redelivery the same sample: everything the device said (receive time is serve's own)
_SAME_CONTENT = ("episode", "subject", "signal", "value", "device_time")

_CACHE_KIB = 64 * 1024
_CHECKPOINT_PAGES = 10_000  # 40 MB of WAL; SQLite's default is 1,000


class SqliteStore:
    def __init__(self, path: str | Path, *, durable: bool = False, outbox: bool = False) -> None:
        """``outbox``: also queue every new sample for a downstream store (see :meth:`pending`)."""
        self.path = Path(path)
        self.outbox = outbox
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            # the pages a batch of homes touches stay in memory between commits, and the WAL is copied
            # back less often (a page changed by many commits is copied once): docs/benchmarks.md
            self._db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            self._db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
            self._open_schema()
            # the identities of the batch being written, joined with the store (see _classify)
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS batch_keys (device TEXT, stream TEXT, seq INTEGER)")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
        self._lock = threading.Lock()

    def _open_schema(self) -> None:
        """Create version 4, or move an older store into it with every row (one transaction)."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version >= _VERSION:
            return  # a reader beside a running serve writes nothing here (it would wait for serve's lock)
        columns = [row[1] for row in self._db.execute("PRAGMA table_info(observations)")]
        if not columns:
            self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={_VERSION}; COMMIT;")
            return
        if version == 3:  # the new indexes are built in one pass over the rows
            self._db.executescript(f"BEGIN IMMEDIATE; {_REINDEX} {_SCHEMA} PRAGMA user_version={_VERSION}; COMMIT;")
            return
        stream = "stream" if "stream" in columns else "''"  # version 1 numbered samples per device only
        outbox = [row[1] for row in self._db.execute("PRAGMA table_info(outbox)")]
        old_outbox = bool(outbox) and "stream" not in outbox  # version 2's outbox stays as it is
        self._db.executescript(
            "BEGIN;"
            + _MIGRATE
            + ("ALTER TABLE outbox RENAME TO outbox_before;" if old_outbox else "")
            + _SCHEMA
            + f"INSERT INTO observations SELECT {', '.join(_NAMES[:-1])}, {stream} FROM observations_before"
            " ORDER BY receive_time;"
            "INSERT OR IGNORE INTO subjects SELECT DISTINCT episode, subject FROM observations;"
            + (
                "INSERT INTO outbox (device, seq, stream) SELECT device, seq, '' FROM outbox_before ORDER BY rowid;"
                " DROP TABLE outbox_before;"
                if old_outbox
                else ""
            )
            + f"DROP TABLE observations_before; PRAGMA user_version={_VERSION}; COMMIT;"
        )

    def write(self, observations: Sequence[Observation]) -> WriteResult:
        rows = [
            (
                o.device,
                o.seq,
                o.episode,
                o.subject,
                o.signal.value,
                o.value,
                o.unit,
                o.device_time.timestamp(),
                o.receive_time.timestamp(),
                ",".join(q.value for q in o.quality),
                o.method.value if o.method else None,
                o.site,
                o.entered_by,
                o.stream,
            )
            for o in observations
        ]
        with self._lock:
            try:
                with self._transaction():
                    fresh, conflicts = self._classify(rows)
                    new_rows = [row for row, new in zip(rows, fresh, strict=True) if new]
                    self._db.executemany(
                        "INSERT OR IGNORE INTO observations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", new_rows
                    )
                    self._db.executemany("INSERT OR IGNORE INTO subjects VALUES (?, ?)", {r[2:4] for r in new_rows})
                    if self.outbox:  # in the same transaction: stored means queued for forwarding
                        self._db.executemany(
                            "INSERT OR IGNORE INTO outbox (device, seq, stream) VALUES (?, ?, ?)",
                            [(row[0], row[1], row[13]) for row in new_rows],
                        )
            except sqlite3.Error as exc:
                raise StoreError(f"writing to {self.path} failed: {exc}") from exc
        stored = sum(fresh)
        conflicting = sum(conflicts)
        return WriteResult(
            stored=stored,
            duplicates=len(rows) - stored - conflicting,
            fresh=tuple(fresh),
            conflicts=tuple(conflicts),
        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction: committed when the block ends, rolled back if it raises (the caller holds the lock)."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _classify(self, rows: list[tuple]) -> tuple[list[bool], list[bool]]:
        """Per row: new (not stored yet, nor earlier in the batch), and conflicting (identity taken, content other).

        The batch's identities go into a temporary table joined with the store on its primary key:
        one statement for the whole batch instead of one per device (a live batch holds one or two
        samples of hundreds of devices).
        """
        keys = [(row[0], row[13], row[1]) for row in rows]
        self._db.execute("DELETE FROM temp.batch_keys")
        self._db.executemany("INSERT INTO temp.batch_keys VALUES (?, ?, ?)", keys)
        existing: dict[tuple[str, str, int], tuple] = {
            (device, stream, seq): tuple(content)
            for device, stream, seq, *content in self._db.execute(
                f"SELECT o.device, o.stream, o.seq, {', '.join('o.' + c for c in _SAME_CONTENT)}"
                " FROM temp.batch_keys k CROSS JOIN observations o"  # CROSS: the batch drives, the key is looked up
                " ON o.device = k.device AND o.stream = k.stream AND o.seq = k.seq"
            )
        }
        if not existing and len(set(keys)) == len(keys):  # the common batch: all new, nothing repeated
            return [True] * len(rows), [False] * len(rows)
        fresh, conflicts = [], []
        for key, row in zip(keys, rows, strict=True):
            content = (row[2], row[3], row[4], row[5], row[7])  # as _SAME_CONTENT
            stored = existing.get(key)
            fresh.append(stored is None)
            conflicts.append(stored is not None and not _same(stored, content))
            existing.setdefault(key, content)
        return fresh, conflicts

    def read(
        self,
        *,
        subject: str,
        signals: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Series:
        sql = "SELECT signal, device_time, value FROM observations WHERE subject = ?"
        args: list[object] = [subject]
        if signals:
            sql += f" AND signal IN ({','.join('?' * len(signals))})" + _sparse_term(*signals)
            args += list(signals)
        if start is not None:
            sql += " AND device_time >= ?"
            args.append(start.timestamp())
        if end is not None:
            sql += " AND device_time < ?"
            args.append(end.timestamp())
        sql += " ORDER BY device_time, device, seq"  # the time line's order: each signal's rows keep it
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        out: Series = {}
        if not rows:
            return out
        names = np.array([r[0] for r in rows])
        times = np.array([r[1] for r in rows], dtype=np.float64)
        values = np.array([r[2] for r in rows], dtype=np.float64)
        for name in sorted(set(names.tolist())):
            mask = names == name
            out[name] = (times[mask], values[mask])
        return out

    def latest(self, subject: str, signal: str, *, since_s: float) -> tuple[float, float] | None:
        """``(time_s, value)`` of the subject's newest sample of ``signal`` after ``since_s`` (an index seek)."""
        with self._lock:
            row = self._db.execute(
                "SELECT device_time, value FROM observations WHERE subject = ? AND signal = ? AND device_time > ?"
                f"{_sparse_term(signal)} ORDER BY device_time DESC LIMIT 1",
                (subject, signal, since_s),
            ).fetchone()
        return None if row is None else (float(row[0]), float(row[1]))

    def mean(self, subject: str, signal: str, *, start_s: float, end_s: float) -> float | None:
        """Mean of ``signal`` in ``[start_s, end_s)`` (an index range scan); ``None`` without samples."""
        with self._lock:
            (value,) = self._db.execute(
                "SELECT avg(value) FROM observations WHERE subject = ? AND signal = ? AND device_time >= ?"
                f" AND device_time < ?{_sparse_term(signal)}",
                (subject, signal, start_s, end_s),
            ).fetchone()
        return None if value is None else float(value)

    def last_received(self, subject: str, signals: Sequence[str]) -> float | None:
        """When the newest device sample of these signals of ``subject`` arrived (receive time, UTC seconds).

        Typed-in readings do not count: a thermometer or a pulse counted by hand is no device that can go quiet.
        """
        with self._lock:
            (value,) = self._db.execute(
                "SELECT max(receive_time) FROM observations WHERE subject = ? AND quality NOT LIKE '%manual%'"
                f" AND signal IN ({','.join('?' * len(signals))})",
                (subject, *signals),
            ).fetchone()
        return None if value is None else float(value)

    def devices(self, subject: str) -> list[tuple[str, str]]:
        """``(device, signal)`` pairs that measured ``subject`` (for a handover's Device resources)."""
        with self._lock:
            return self._db.execute(
                "SELECT DISTINCT device, signal FROM observations WHERE subject = ? ORDER BY device, signal", (subject,)
            ).fetchall()

    def newest_per_device(self, subject: str, signal: str) -> list[tuple[str, float, float]]:
        """``(device, receive_time_s, value)`` of the newest sample of ``signal`` from each of the subject's devices.

        A restart re-judges each device's battery from this, as live did from the sample itself.
        """
        with self._lock:
            return self._db.execute(
                "SELECT device, receive_time, value FROM ("
                " SELECT device, receive_time, value, row_number() OVER"
                "  (PARTITION BY device ORDER BY device_time DESC, receive_time DESC) AS n"
                f" FROM observations WHERE subject = ? AND signal = ?{_sparse_term(signal)}) WHERE n = 1 ORDER BY device",
                (subject, signal),
            ).fetchall()

    def newest_time(self) -> float | None:
        """Device time of the newest sample of any subject."""
        with self._lock:
            (value,) = self._db.execute("SELECT max(device_time) FROM observations").fetchone()
        return value

    def with_method(self, subject: str, signal: str) -> list[tuple[float, float, str | None]]:
        """Readings ``(time_s, value, method)`` of one signal in time order (bilirubin advice needs the method)."""
        with self._lock:
            return self._db.execute(
                f"SELECT device_time, value, method FROM observations WHERE subject = ? AND signal = ?{_sparse_term(signal)}"
                " ORDER BY device_time, device, seq",
                (subject, signal),
            ).fetchall()

    def subjects(self, *, episode: str | None = None) -> list[tuple[str, str]]:
        sql = "SELECT episode, subject FROM subjects"
        args: list[object] = []
        if episode is not None:
            sql += " WHERE episode = ?"
            args.append(episode)
        with self._lock:
            return [(e, s) for e, s in self._db.execute(sql + " ORDER BY episode, subject", args)]

    # --- outbox for a downstream store (serve forwarding to InfluxDB) ---------------------------------
    def pending(self, limit: int) -> list[Observation]:
        """Queued observations not yet forwarded downstream, oldest first.

        The outbox holds only what is still to go, so this costs the same after months of data.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT o.* FROM outbox b JOIN observations o"
                " ON o.device = b.device AND o.stream = b.stream AND o.seq = b.seq "
                "ORDER BY b.rowid LIMIT ?",
                (limit,),
            ).fetchall()
        return [_observation(row) for row in rows]

    def mark_forwarded(self, observations: Sequence[Observation]) -> None:
        """The downstream store has these: they leave the outbox."""
        with self._lock, self._transaction():
            self._db.executemany(
                "DELETE FROM outbox WHERE device = ? AND stream = ? AND seq = ?",
                [(o.device, o.stream, o.seq) for o in observations],
            )

    def backlog(self) -> int:
        """Samples still to be forwarded."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM observations").fetchone()[0])

    def delete_episode(self, episode: str, *, before: datetime) -> None:
        with self._lock, self._transaction():
            # through the subject index: the episode's subjects are few, the rows of all episodes many
            self._db.execute(
                "DELETE FROM observations WHERE subject IN (SELECT subject FROM subjects WHERE episode = ?)"
                " AND episode = ? AND device_time < ?",
                (episode, episode, before.timestamp()),
            )
            self._db.execute(
                "DELETE FROM subjects WHERE episode = ? AND NOT EXISTS (SELECT 1 FROM observations o"
                " WHERE o.subject = subjects.subject AND o.episode = subjects.episode)",
                (episode,),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _same(stored: tuple, content: tuple) -> bool:
    """The same sample again: equal ids and value, the device time within a microsecond (a float round trip)."""
    return stored[:4] == content[:4] and abs(float(stored[4]) - float(content[4])) < 1e-6


def _observation(row: tuple) -> Observation:
    (device, seq, episode, subject, signal, value, unit, device_time, receive_time, quality, method, site, entered_by,
     stream) = row  # fmt: skip
    return Observation(
        episode=episode,
        subject=subject,
        device=device,
        signal=Signal(signal),
        value=value,
        unit=unit,
        device_time=datetime.fromtimestamp(device_time, tz=UTC),
        receive_time=datetime.fromtimestamp(receive_time, tz=UTC),
        seq=seq,
        stream=stream,
        quality=tuple(QualityFlag(q) for q in quality.split(",") if q),
        method=method,  # the model parses tcb/tsb or the thermometer method
        site=site,
        entered_by=entered_by,
    )


def _sparse_term(*signals: str) -> str:
    """The partial index's condition, repeated in a query for sparse signals only, so that SQLite uses
    that index (a query must contain its condition) instead of walking the subject's time line."""
    return "" if any(s in _WEARABLE for s in signals) else f" AND {_SPARSE}"
