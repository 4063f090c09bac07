"""WAL checkpoints on a thread of their own, so that serve's commits never wait for one.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit
copies every page the WAL holds back into the database file and waits for two ``fsync`` calls.
With 3,600 homes sending a message a second one commit a second crosses it, and the messages
in serve's inbox wait for it (docs/benchmarks.md, "Where one serve's time goes"). A passive
checkpoint on another connection copies the same pages without blocking the writer, and
Python's ``sqlite3`` releases the GIL while it runs, so the copying and the waiting move off
serve's main loop. The writer keeps SQLite's own checkpoint as a backstop at four times its usual
threshold, should this thread fall behind or stop.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["Checkpointer"]

_LOGGER = logging.getLogger(__name__)


class Checkpointer:
    """A daemon thread that checkpoints ``path``'s WAL passively, at most every ``interval_s``, after a commit."""

    def __init__(self, path: Path, *, interval_s: float = 1.0, synchronous: str = "NORMAL") -> None:
        self.path = path
        self.interval_s = interval_s
        self.synchronous = synchronous
        self.checkpoints = 0  # passive checkpoints run (tests read these two)
        self.frames_copied = 0  # WAL frames copied back by them
        self._committed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """A commit added to the WAL: checkpoint within ``interval_s``."""
        self._committed.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop after the checkpoint in progress (the writer's close checkpoints what is left)."""
        self._stop.set()
        self._committed.set()
        self._thread.join()

    def _run(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute(f"PRAGMA synchronous={self.synchronous}")  # as the writer: the checkpoint's fsyncs
            while not self._stop.is_set():
                self._committed.wait()
                if self._stop.is_set():
                    break
                self._committed.clear()
                started = time.monotonic()
                try:
                    _busy, _log, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # e.g. the disk: the writer's backstop checkpoint remains
                    _LOGGER.warning("background checkpoint of %s failed: %s", self.path, exc)
                else:
                    self.checkpoints += 1
                    self.frames_copied += max(copied, 0)
                self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
        finally:
            db.close()
