"""The log of alert events already published, so that none is lost and none repeats in normal use.

Events are recorded only after the broker acknowledged them: a crash in between publishes an
event a second time after the restart (at least once), never loses it.

After a restart serve rebuilds its detectors from the store and regenerates the same events
(batch == streaming); the log tells which of them were published before the restart.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from kraamwacht.contract import AlertEvent, format_time

__all__ = ["EventLog"]


class EventLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS events (alert_id TEXT, event TEXT, time TEXT, body TEXT, "
            "PRIMARY KEY (alert_id, event, time)) WITHOUT ROWID"
        )
        self._lock = threading.Lock()

    def unseen(self, events: Sequence[AlertEvent]) -> list[bool]:
        """True for each event not recorded as published."""
        with self._lock:
            return [
                self._db.execute(
                    "SELECT 1 FROM events WHERE alert_id = ? AND event = ? AND time = ?",
                    (e.alert_id, e.event.value, format_time(e.time)),
                ).fetchone()
                is None
                for e in events
            ]

    def record(self, events: Sequence[AlertEvent]) -> list[bool]:
        """Record events once the broker has acknowledged them; True for each one new to the log."""
        fresh = []
        with self._lock:
            self._db.execute("BEGIN")
            for event in events:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)",
                    (event.alert_id, event.event.value, format_time(event.time), event.model_dump_json()),
                )
                fresh.append(cursor.rowcount == 1)
            self._db.execute("COMMIT")
        return fresh

    def forget_staff(self, episode: str, *, staff_word: tuple[str, str] = ("een medewerker", "staff")) -> int:
        """Remove staff names and free-text notes from an episode's events (retention of personal data).

        The event stays as the pseudonymous care record: who acted becomes "a member of staff" and a
        note is dropped, in the values and in the messages (Dutch, English) that named them.
        Returns how many events changed.
        """
        changed = 0
        with self._lock:
            rows = self._db.execute("SELECT alert_id, event, time, body FROM events").fetchall()
            self._db.execute("BEGIN")
            for alert_id, kind, time, body in rows:
                event = AlertEvent.model_validate_json(body)
                actor, note = event.values.get("actor"), event.values.get("note")
                if event.episode != episode or (actor is None and note is None):
                    continue
                values = {k: v for k, v in event.values.items() if k != "note"}
                message, message_en = event.message, event.message_en
                for text in (str(note) if note else None, str(actor) if actor else None):
                    if text:
                        message = message.replace(text, "" if text == note else staff_word[0])
                        message_en = message_en.replace(text, "" if text == note else staff_word[1])
                if actor is not None:
                    values["actor"] = staff_word[1]
                updated = event.model_copy(update={"values": values, "message": message, "message_en": message_en})
                self._db.execute(
                    "UPDATE events SET body = ? WHERE alert_id = ? AND event = ? AND time = ?",
                    (updated.model_dump_json(), alert_id, kind, time),
                )
                changed += 1
            self._db.execute("COMMIT")
        return changed

    def all(self) -> list[AlertEvent]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM events ORDER BY time, alert_id").fetchall()
        return [AlertEvent.model_validate_json(body) for (body,) in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
