"""The gateway's disk spool between BLE and MQTT: nothing is lost to a broker outage or a restart.

Every decoded sample is committed to SQLite (WAL) first, with the device's next sequence number
and the spool's *stream*: a random id drawn each time the spool is opened. A sample is identified
by ``(device, stream, seq)`` (see ``docs/contract.md``): a reinstalled gateway, a wearable moved to
another gateway, or a spool whose last commits a power cut rolled back (``synchronous=NORMAL``
keeps every commit across a killed process, not across an operating-system crash) all number in a
new stream, so they can never reuse an identity serve has already stored. A sample leaves the spool
only when the broker has acknowledged the message that carried it (PUBACK); a crash between PUBACK
and the delete sends it again under its old stream, which serve's deduplication absorbs.

**When the disk budget is full** (``max_samples``), the oldest samples are evicted first and
counted: for early warning the newest data matters most, and an eviction is never silent (it is
in :attr:`Spool.evicted` and the gateway's status).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kraamwacht.contract import MAX_SAMPLES_PER_MESSAGE, ObservationMessage, SampleIn, Topics, columns_payload
from kraamwacht.errors import InvalidValueError

__all__ = ["COLUMNS_FROM", "Spool", "SpooledMessage"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL, episode TEXT NOT NULL, subject TEXT NOT NULL, device TEXT NOT NULL,
    seq INTEGER NOT NULL, signal TEXT NOT NULL, value REAL NOT NULL, t TEXT NOT NULL, q TEXT NOT NULL,
    stream TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sequences (device TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


COLUMNS_FROM = 32  # a device's run of this many samples goes as columns (fewer: a live second's, as objects)


@dataclass(frozen=True, slots=True)
class SpooledMessage:
    """One MQTT message built from spooled samples, and the rows to delete once it is acknowledged."""

    topic: str
    payload: bytes
    ids: tuple[int, ...]


class Spool:
    def __init__(self, path: str | Path, *, max_samples: int = 5_000_000) -> None:
        if max_samples < 1:
            raise InvalidValueError("max_samples must be >= 1")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_samples = max_samples
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(samples)")}
        if "stream" not in columns:  # a spool from before streams: its rows keep the legacy numbering
            self._db.execute("ALTER TABLE samples ADD COLUMN stream TEXT NOT NULL DEFAULT ''")
        self.stream = f"gw-{secrets.token_hex(8)}"  # this opening's numbering (never reused)
        self._lock = threading.Lock()
        # one process owns the spool: count once, then keep the count (append must not scan the table)
        self._count = int(self._db.execute("SELECT count(*) FROM samples").fetchone()[0])

    def append(
        self,
        *,
        site: str,
        episode: str,
        subject: str,
        device: str,
        samples: Sequence[tuple[str, float, datetime, Sequence[str]]],
    ) -> list[int]:
        """Commit ``(signal, value, device_time, quality flags)`` samples; returns their sequence numbers."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT last_seq FROM sequences WHERE device = ?", (device,)).fetchone()
            first = (row[0] + 1) if row else 0
            seqs = list(range(first, first + len(samples)))
            self._db.executemany(
                "INSERT INTO samples (site, episode, subject, device, seq, signal, value, t, q, stream)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        site,
                        episode,
                        subject,
                        device,
                        seq,
                        signal,
                        value,
                        t.astimezone(UTC).isoformat(),
                        ",".join(q),
                        self.stream,
                    )
                    for seq, (signal, value, t, q) in zip(seqs, samples, strict=True)
                ],
            )
            if seqs:
                self._db.execute("INSERT OR REPLACE INTO sequences VALUES (?, ?)", (device, seqs[-1]))
            evicted = self._evict_over_budget(self._count + len(seqs))
            self._db.execute("COMMIT")
            self._count += len(seqs) - evicted
        return seqs

    def _evict_over_budget(self, count: int) -> int:
        over = count - self.max_samples
        if over > 0:
            self._db.execute("DELETE FROM samples WHERE id IN (SELECT id FROM samples ORDER BY id LIMIT ?)", (over,))
            self._db.execute(
                "INSERT INTO counters VALUES ('evicted', ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (over,),
            )
        return max(over, 0)

    def next_messages(
        self, *, max_samples: int = 5000, per_message: int = 100, gateway: str | None = None, columns: bool = False
    ) -> list[SpooledMessage]:
        """The oldest spooled samples as messages of one device each (at most ``per_message`` samples).

        With ``gateway``, on that gateway's own observation topic (the only one its account may write).
        With ``columns``, a device's run of at least :data:`COLUMNS_FROM` samples (a backlog) goes
        in version 2 messages of up to :data:`~kraamwacht.contract.MAX_SAMPLES_PER_MESSAGE`
        samples, which cost serve about a fifteenth of the time (docs/benchmarks.md); a live
        second's one or two samples stay in version 1.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT id, site, episode, subject, device, seq, signal, value, t, q, stream FROM samples"
                " ORDER BY id LIMIT ?",
                (max_samples,),
            ).fetchall()
        groups: dict[tuple[str, str, str, str, str], list[tuple]] = {}
        for row in rows:
            groups.setdefault((row[1], row[2], row[3], row[4], row[10]), []).append(row)
        out = []
        for (site, episode, subject, device, stream), items in groups.items():
            as_columns = columns and len(items) >= COLUMNS_FROM
            size = MAX_SAMPLES_PER_MESSAGE if as_columns else per_message
            for start in range(0, len(items), size):
                part = items[start : start + size]
                payload = (_columns if as_columns else _samples)(device, stream, episode, subject, part)
                out.append(
                    SpooledMessage(
                        Topics.observations(site, episode, subject, gateway=gateway),
                        payload,
                        tuple(r[0] for r in part),
                    )
                )
        return out

    def acknowledge(self, ids: Sequence[int]) -> None:
        """The broker acknowledged the message carrying these rows: they may go."""
        with self._lock:
            self._db.execute("BEGIN")
            deleted = self._db.executemany("DELETE FROM samples WHERE id = ?", [(i,) for i in ids]).rowcount
            self._db.execute("COMMIT")
            self._count -= deleted

    def __len__(self) -> int:
        with self._lock:
            return self._count

    @property
    def evicted(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = 'evicted'").fetchone()
        return int(row[0]) if row else 0

    def status(self) -> str:
        return json.dumps({"spooled": len(self), "evicted": self.evicted})

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _samples(device: str, stream: str, episode: str, subject: str, rows: Sequence[tuple]) -> bytes:
    """Version 1: an object per sample."""
    message = ObservationMessage(
        v=1,
        device=device,
        stream=stream or None,
        episode=episode,
        subject=subject,
        samples=tuple(
            SampleIn(
                signal=r[6],
                value=r[7],
                t=datetime.fromisoformat(r[8]),
                seq=r[5],
                q=tuple(x for x in r[9].split(",") if x),
            )
            for r in rows
        ),
    )
    return message.model_dump_json().encode()


def _columns(device: str, stream: str, episode: str, subject: str, rows: Sequence[tuple]) -> bytes:
    """Version 2: the samples as columns, one per signal."""
    samples = [(r[6], r[7], datetime.fromisoformat(r[8]), r[5], [x for x in r[9].split(",") if x]) for r in rows]
    return columns_payload(device=device, stream=stream or None, episode=episode, subject=subject, samples=samples)
