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

import math
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from kraamwacht.contract import SIGNAL_UNITS, Observation, QualityFlag, SampleColumn, Signal
from kraamwacht.storage import _segments as segments
from kraamwacht.storage._base import Series, StoreError, WriteResult
from kraamwacht.storage._checkpoint import Checkpointer
from kraamwacht.storage._segments import SEGMENT_MIN, SEGMENT_SPAN, StoredSample

__all__ = ["SEGMENT_MIN", "SEGMENT_SPAN", "SqliteStore", "StoredSample"]

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
# Version 5 adds segments: a wearable's column of one signal from a version 2 message (a gateway's
# backlog), stored as one row of arrays instead of a row per sample, when none of its identities is
# stored yet (a redelivery or an overlap takes the row path, which sees both tables). Every read
# below reads both.
_WEARABLE = ("temperature_c", "heart_rate_bpm")  # the signals a wearable sends every second
_SPARSE = f"signal NOT IN ({', '.join(repr(s) for s in _WEARABLE)})"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS observations ({_COLUMNS});
CREATE UNIQUE INDEX IF NOT EXISTS observations_identity ON observations (device, stream, seq);
CREATE INDEX IF NOT EXISTS observations_timeline ON observations (subject, device_time, signal);
CREATE INDEX IF NOT EXISTS observations_sparse ON observations (subject, signal, device_time) WHERE {_SPARSE};
CREATE TABLE IF NOT EXISTS segments ({segments.COLUMNS});
CREATE INDEX IF NOT EXISTS segments_identity ON segments (device, stream, seq_first);
CREATE INDEX IF NOT EXISTS segments_timeline ON segments (subject, t_first);
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
_VERSION = 5
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
_BACKSTOP = 4  # with background checkpoints the writer's own runs only at this many times the threshold


class SqliteStore:
    def __init__(
        self, path: str | Path, *, durable: bool = False, outbox: bool = False, background_checkpoints: bool = False
    ) -> None:
        """``outbox``: also queue every new sample for a downstream store (see :meth:`pending`).

        ``background_checkpoints``: copy the WAL back on a thread of its own (``_checkpoint``), not
        in the commit that fills it: for a long-running writer such as serve.
        """
        self.path = Path(path)
        self.outbox = outbox
        self.path.parent.mkdir(parents=True, exist_ok=True)
        synchronous = "FULL" if durable else "NORMAL"  # this connection's, and the checkpoint thread's
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            # the pages a batch of homes touches stay in memory between commits, and the WAL is copied
            # back less often (a page changed by many commits is copied once): docs/benchmarks.md
            self._db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            backstop = _CHECKPOINT_PAGES * (_BACKSTOP if background_checkpoints else 1)
            self._db.execute(f"PRAGMA wal_autocheckpoint={backstop}")
            self._open_schema()
            # the identities of the batch being written, joined with the store (see _classify)
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS batch_keys (device TEXT, stream TEXT, seq INTEGER)")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
        self._lock = threading.Lock()
        self.checkpointer = Checkpointer(self.path, synchronous=synchronous) if background_checkpoints else None

    def _open_schema(self) -> None:
        """Create version 5, or move an older store into it with every row (one transaction)."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version >= _VERSION:
            return  # a reader beside a running serve writes nothing here (it would wait for serve's lock)
        columns = [row[1] for row in self._db.execute("PRAGMA table_info(observations)")]
        if not columns:
            self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={_VERSION}; COMMIT;")
            return
        if version in (3, 4):  # version 3: the new indexes in one pass over the rows; both: the segments' table
            reindex = _REINDEX if version == 3 else ""
            self._db.executescript(f"BEGIN IMMEDIATE; {reindex} {_SCHEMA} PRAGMA user_version={_VERSION}; COMMIT;")
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

    def write(self, observations: Sequence[Observation], columns: Sequence[SampleColumn] = ()) -> WriteResult:
        """Store a batch in one transaction: version 1's observations, then version 2's columns.

        A column becomes one segment when none of its identities is stored (the common case: a
        backlog sent once); otherwise its samples take the row path and are told apart one by one.
        """
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
        column_fresh: list[NDArray[np.bool_]] = []
        column_conflicts: list[NDArray[np.bool_]] = []
        with self._lock:
            try:
                with self._transaction():
                    fresh, conflicts = self._write_rows(rows)
                    for column in columns:
                        new, conflicting = self._write_column(column)
                        column_fresh.append(new)
                        column_conflicts.append(conflicting)
            except sqlite3.Error as exc:
                raise StoreError(f"writing to {self.path} failed: {exc}") from exc
        stored = sum(fresh) + sum(int(new.sum()) for new in column_fresh)
        conflicting = sum(conflicts) + sum(int(c.sum()) for c in column_conflicts)
        return WriteResult(
            stored=stored,
            duplicates=len(rows) + sum(len(c) for c in columns) - stored - conflicting,
            fresh=tuple(fresh),
            conflicts=tuple(conflicts),
            column_fresh=tuple(column_fresh),
            column_conflicts=tuple(column_conflicts),
        )

    def _write_rows(self, rows: list[tuple]) -> tuple[list[bool], list[bool]]:
        """Insert the rows whose identity is new; per row whether it was new and whether it conflicts."""
        if not rows:
            return [], []
        fresh, conflicts = self._classify(rows)
        new_rows = [row for row, new in zip(rows, fresh, strict=True) if new]
        self._db.executemany("INSERT OR IGNORE INTO observations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", new_rows)
        self._db.executemany("INSERT OR IGNORE INTO subjects VALUES (?, ?)", {r[2:4] for r in new_rows})
        if self.outbox:  # in the same transaction: stored means queued for forwarding
            self._db.executemany(
                "INSERT OR IGNORE INTO outbox (device, seq, stream) VALUES (?, ?, ?)",
                [(row[0], row[1], row[13]) for row in new_rows],
            )
        return fresh, conflicts

    def _write_column(self, column: SampleColumn) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """One column as a segment, or row by row when it cannot be one; per sample: new, conflicting."""
        if not self._segment_fits(column):
            fresh, conflicts = self._write_rows(_column_rows(column))
            return np.array(fresh, dtype=bool), np.array(conflicts, dtype=bool)
        self._db.execute("INSERT INTO segments VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", segments.segment_row(column))
        self._db.execute("INSERT OR IGNORE INTO subjects VALUES (?, ?)", (column.episode, column.subject))
        return np.ones(len(column), dtype=bool), np.zeros(len(column), dtype=bool)

    def _segment_fits(self, column: SampleColumn) -> bool:
        """Whether a column can be stored as a segment: a wearable's, long enough, numbered in order,
        and not one of its identities stored already (in either table, this transaction included)."""
        seq = column.seq
        if (
            self.outbox  # the outbox names rows: a store that forwards keeps rows
            or column.signal.value not in _WEARABLE
            or len(seq) < segments.SEGMENT_MIN
            or not bool((np.diff(seq) > 0).all())
            or int(seq[-1]) - int(seq[0]) > segments.SEGMENT_SPAN
        ):
            return False
        first, last = int(seq[0]), int(seq[-1])
        stored = [
            row[0]
            for row in self._db.execute(
                "SELECT seq FROM observations WHERE device = ? AND stream = ? AND seq BETWEEN ? AND ?",
                (column.device, column.stream, first, last),
            )
        ]
        if stored and segments.shares(seq, np.array(stored, dtype=np.int64)):
            return False
        return not any(
            segments.shares(seq, segments.seqs(blob))
            for (blob,) in self._db.execute(
                "SELECT seq FROM segments WHERE device = ? AND stream = ?"
                " AND seq_first BETWEEN ? AND ? AND seq_last >= ?",
                (column.device, column.stream, first - segments.SEGMENT_SPAN, last, first),
            )
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
        if self.checkpointer is not None:
            self.checkpointer.committed()

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
        existing |= self._in_segments()
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

    def _in_segments(self) -> dict[tuple[str, str, int], tuple]:
        """The content of every identity in ``temp.batch_keys`` that a segment holds, as ``_SAME_CONTENT``."""
        found: dict[tuple[str, str, int], tuple] = {}
        wanted: dict[tuple[str, str], list[int]] = {}
        for device, stream, seq in self._db.execute(
            "SELECT k.device, k.stream, k.seq FROM temp.batch_keys k WHERE EXISTS (SELECT 1 FROM segments s"
            " WHERE s.device = k.device AND s.stream = k.stream AND s.seq_first BETWEEN k.seq - ? AND k.seq"
            " AND s.seq_last >= k.seq)",
            (segments.SEGMENT_SPAN,),
        ):
            wanted.setdefault((device, stream), []).append(seq)
        for (device, stream), seqs in wanted.items():
            low, high = min(seqs), max(seqs)
            for episode, subject, signal, seq_blob, time_blob, value_blob in self._db.execute(
                "SELECT episode, subject, signal, seq, device_time, value FROM segments WHERE device = ? AND stream = ?"
                " AND seq_first BETWEEN ? AND ? AND seq_last >= ?",
                (device, stream, low - segments.SEGMENT_SPAN, high, low),
            ):
                stored, times, values = segments.seqs(seq_blob), segments.floats(time_blob), segments.floats(value_blob)
                at, present = segments.find(stored, seqs)
                for seq, i, there in zip(seqs, at.tolist(), present.tolist(), strict=True):
                    if there:
                        found[(device, stream, seq)] = (episode, subject, signal, float(values[i]), float(times[i]))
        return found

    def _segment_samples(
        self, subject: str, signals: Sequence[str] | None, start_s: float, end_s: float
    ) -> _Samples | None:
        """A subject's samples held in segments, in ``[start_s, end_s)``; None when there are none.

        Only a wearable's signals are ever in a segment, so a query of other signals costs nothing.
        """
        if signals is not None and not any(s in _WEARABLE for s in signals):
            return None
        sql = "SELECT signal, device, seq, device_time, value, receive_time FROM segments WHERE subject = ?"
        args: list[object] = [subject]
        if signals:
            sql += f" AND signal IN ({','.join('?' * len(signals))})"
            args += list(signals)
        sql += " AND t_first < ? AND t_last >= ?"
        args += [end_s, start_s]
        parts = []
        for signal, device, seq_blob, time_blob, value_blob, received in self._db.execute(sql, args):
            times = segments.floats(time_blob)
            keep = (times >= start_s) & (times < end_s)
            n = int(keep.sum())
            if n:
                parts.append(
                    (
                        np.full(n, signal, dtype=object),
                        np.full(n, device, dtype=object),
                        segments.seqs(seq_blob)[keep],
                        times[keep],
                        segments.floats(value_blob)[keep],
                        np.full(n, received),
                    )
                )
        if not parts:
            return None
        return _Samples(*(np.concatenate(arrays) for arrays in zip(*parts, strict=True)))

    def read(
        self,
        *,
        subject: str,
        signals: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Series:
        start_s = start.timestamp() if start is not None else -math.inf
        end_s = end.timestamp() if end is not None else math.inf
        sql = "SELECT signal, device_time, value, device, seq FROM observations WHERE subject = ?"
        args: list[object] = [subject]
        if signals:
            sql += f" AND signal IN ({','.join('?' * len(signals))})" + _sparse_term(*signals)
            args += list(signals)
        if start is not None:
            sql += " AND device_time >= ?"
            args.append(start_s)
        if end is not None:
            sql += " AND device_time < ?"
            args.append(end_s)
        sql += " ORDER BY device_time, device, seq"  # the time line's order: each signal's rows keep it
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
            held = self._segment_samples(subject, signals, start_s, end_s)
        out: Series = {}
        if not rows and held is None:
            return out
        names = np.array([r[0] for r in rows], dtype=object)
        times = np.array([r[1] for r in rows], dtype=np.float64)
        values = np.array([r[2] for r in rows], dtype=np.float64)
        if held is not None:  # rows and segments in the rows' order: time, device, sequence number
            devices = np.concatenate([np.array([r[3] for r in rows], dtype=object), held.device])
            seqs = np.concatenate([np.array([r[4] for r in rows], dtype=np.int64), held.seq])
            names = np.concatenate([names, held.signal])
            times = np.concatenate([times, held.time_s])
            values = np.concatenate([values, held.value])
            order = np.lexsort((seqs, np.unique(devices, return_inverse=True)[1], times))
            names, times, values = names[order], times[order], values[order]
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
            held = self._segment_samples(subject, (signal,), math.nextafter(since_s, math.inf), math.inf)
        if held is not None:
            i = int(np.argmax(held.time_s))
            if row is None or held.time_s[i] > row[0]:
                row = (held.time_s[i], held.value[i])
        return None if row is None else (float(row[0]), float(row[1]))

    def mean(self, subject: str, signal: str, *, start_s: float, end_s: float) -> float | None:
        """Mean of ``signal`` in ``[start_s, end_s)`` (an index range scan); ``None`` without samples."""
        with self._lock:
            total, n = self._db.execute(
                "SELECT total(value), count(value) FROM observations WHERE subject = ? AND signal = ?"
                f" AND device_time >= ? AND device_time < ?{_sparse_term(signal)}",
                (subject, signal, start_s, end_s),
            ).fetchone()
            held = self._segment_samples(subject, (signal,), start_s, end_s)
        if held is not None:
            total, n = total + float(held.value.sum()), n + len(held.value)
        return None if n == 0 else float(total / n)

    def last_received(self, subject: str, signals: Sequence[str]) -> float | None:
        """When the newest device sample of these signals of ``subject`` arrived (receive time, UTC seconds).

        Typed-in readings do not count: a thermometer or a pulse counted by hand is no device that can go quiet.
        """
        marks = ",".join("?" * len(signals))
        with self._lock:
            (value,) = self._db.execute(
                "SELECT max(received) FROM (SELECT max(receive_time) AS received FROM observations"
                f" WHERE subject = ? AND quality NOT LIKE '%manual%' AND signal IN ({marks})"
                f" UNION ALL SELECT max(receive_time) FROM segments WHERE subject = ? AND signal IN ({marks}))",
                (subject, *signals, subject, *signals),
            ).fetchone()
        return None if value is None else float(value)

    def devices(self, subject: str) -> list[tuple[str, str]]:
        """``(device, signal)`` pairs that measured ``subject`` (for a handover's Device resources)."""
        with self._lock:
            return self._db.execute(
                "SELECT device, signal FROM observations WHERE subject = ?"
                " UNION SELECT device, signal FROM segments WHERE subject = ? ORDER BY device, signal",
                (subject, subject),
            ).fetchall()

    def newest_per_device(self, subject: str, signal: str) -> list[tuple[str, float, float]]:
        """``(device, receive_time_s, value)`` of the newest sample of ``signal`` from each of the subject's devices.

        A restart re-judges each device's battery from this, as live did from the sample itself.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT device, device_time, receive_time, value FROM ("
                " SELECT device, device_time, receive_time, value, row_number() OVER"
                "  (PARTITION BY device ORDER BY device_time DESC, receive_time DESC) AS n"
                f" FROM observations WHERE subject = ? AND signal = ?{_sparse_term(signal)}) WHERE n = 1",
                (subject, signal),
            ).fetchall()
            held = self._segment_samples(subject, (signal,), -math.inf, math.inf)
        newest = {device: (t, received, value) for device, t, received, value in rows}
        if held is not None:
            for i in range(len(held.time_s)):
                device = held.device[i]
                candidate = (float(held.time_s[i]), float(held.received_s[i]), float(held.value[i]))
                if device not in newest or candidate[:2] > newest[device][:2]:
                    newest[device] = candidate
        return [(device, received, value) for device, (_t, received, value) in sorted(newest.items())]

    def newest_time(self) -> float | None:
        """Device time of the newest sample of any subject."""
        with self._lock:
            (value,) = self._db.execute(
                "SELECT max(t) FROM (SELECT max(device_time) AS t FROM observations"
                " UNION ALL SELECT max(t_last) FROM segments)"
            ).fetchone()
        return value

    def with_method(self, subject: str, signal: str) -> list[tuple[float, float, str | None]]:
        """Readings ``(time_s, value, method)`` of one signal in time order (bilirubin advice needs the method)."""
        if signal in _WEARABLE:  # a wearable's signal has no method, and a backlog of it may be in segments
            times, values = self.read(subject=subject, signals=[signal]).get(signal, ((), ()))
            return [(float(t), float(v), None) for t, v in zip(times, values, strict=True)]
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

    def identities(self) -> list[StoredSample]:
        """Every stored sample's identity, signal, time and flags, rows and segments alike, in identity order.

        For an audit that counts every sample (the fault tests count the ledger so): a segment's
        samples are listed one by one.
        """
        with self._lock:
            out = [
                StoredSample(*row)
                for row in self._db.execute(
                    "SELECT device, stream, seq, signal, device_time, quality FROM observations"
                )
            ]
            held = self._db.execute(
                "SELECT device, stream, signal, seq, device_time, value, quality FROM segments"
            ).fetchall()
        for device, stream, signal, *blobs in held:
            segment = segments.Segment.unpack(*blobs)
            out += [
                StoredSample(device, stream, q, signal, t, segments.QUALITY_WORDS[f])
                for q, t, f in zip(
                    segment.seq.tolist(), segment.device_time_s.tolist(), segment.flags.tolist(), strict=True
                )
            ]
        return sorted(out, key=lambda sample: (sample.device, sample.stream, sample.seq))

    def has(self, device: str, seq: int, *, stream: str | None = None) -> bool:
        """Whether the sample ``(device, stream, seq)`` is stored (any stream when ``stream`` is None)."""
        streams = "" if stream is None else " AND stream = ?"
        args = (device, seq) if stream is None else (device, seq, stream)
        with self._lock:
            if self._db.execute(f"SELECT 1 FROM observations WHERE device = ? AND seq = ?{streams}", args).fetchone():
                return True
            return any(
                seq in segments.seqs(blob)
                for (blob,) in self._db.execute(
                    f"SELECT seq FROM segments WHERE device = ? AND seq_last >= ?{streams} AND seq_first <= ?",
                    (device, seq, *args[2:], seq),
                )
            )

    def count(self) -> int:
        """Samples stored, in rows and in segments."""
        with self._lock:
            (rows,) = self._db.execute("SELECT count(*) FROM observations").fetchone()
            (held,) = self._db.execute("SELECT coalesce(sum(n), 0) FROM segments").fetchone()
        return int(rows) + int(held)

    def delete_episode(self, episode: str, *, before: datetime) -> None:
        with self._lock, self._transaction():
            # through the subject index: the episode's subjects are few, the rows of all episodes many
            self._db.execute(
                "DELETE FROM observations WHERE subject IN (SELECT subject FROM subjects WHERE episode = ?)"
                " AND episode = ? AND device_time < ?",
                (episode, episode, before.timestamp()),
            )
            self._delete_segments(episode, before.timestamp())
            self._db.execute(
                "DELETE FROM subjects WHERE episode = ? AND NOT EXISTS (SELECT 1 FROM observations o"
                " WHERE o.subject = subjects.subject AND o.episode = subjects.episode) AND NOT EXISTS"
                " (SELECT 1 FROM segments s WHERE s.subject = subjects.subject AND s.episode = subjects.episode)",
                (episode,),
            )

    def _delete_segments(self, episode: str, before_s: float) -> None:
        """An episode's segments measured before ``before_s``: wholly older ones go, one that straddles keeps its newer samples."""
        where = "subject IN (SELECT subject FROM subjects WHERE episode = ?) AND episode = ?"
        self._db.execute(f"DELETE FROM segments WHERE {where} AND t_last < ?", (episode, episode, before_s))
        straddling = self._db.execute(
            f"SELECT rowid, seq, device_time, value, quality FROM segments WHERE {where} AND t_first < ?",
            (episode, episode, before_s),
        ).fetchall()
        for rowid, *blobs in straddling:
            self._db.execute(
                "UPDATE segments SET seq_first = ?, seq_last = ?, t_first = ?, t_last = ?, n = ?, seq = ?,"
                " device_time = ?, value = ?, quality = ? WHERE rowid = ?",
                (*segments.Segment.unpack(*blobs).since(before_s).packed(), rowid),
            )

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        with self._lock:
            self._db.close()


def _same(stored: tuple, content: tuple) -> bool:
    """The same sample again: equal ids and value, the device time within a microsecond (a float round trip)."""
    return stored[:4] == content[:4] and abs(float(stored[4]) - float(content[4])) < 1e-6


def _column_rows(column: SampleColumn) -> list[tuple[object, ...]]:
    """A column's samples as the rows of ``observations``, as :meth:`SqliteStore.write` makes them of observations
    (a column that cannot be a segment)."""
    unit, received = SIGNAL_UNITS[column.signal], column.receive_time.timestamp()
    return [
        (column.device, seq, column.episode, column.subject, column.signal.value, value, unit, t_s, received,
         segments.QUALITY_WORDS[bits], None, None, None, column.stream)
        for seq, t_s, value, bits in zip(
            column.seq.tolist(), column.device_time_s.tolist(), column.value.tolist(), column.flags.tolist(), strict=True
        )
    ]  # fmt: skip


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


class _Samples(NamedTuple):
    """Samples read from segments, one array per field."""

    signal: NDArray[np.object_]
    device: NDArray[np.object_]
    seq: NDArray[np.int64]
    time_s: NDArray[np.float64]
    value: NDArray[np.float64]
    received_s: NDArray[np.float64]


def _sparse_term(*signals: str) -> str:
    """The partial index's condition, repeated in a query for sparse signals only, so that SQLite uses
    that index (a query must contain its condition) instead of walking the subject's time line."""
    return "" if any(s in _WEARABLE for s in signals) else f" AND {_SPARSE}"
