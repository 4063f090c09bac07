"""Forwarding the embedded store's samples to InfluxDB, surviving a database outage.

serve always commits samples to the embedded SQLite store first (the ledger that deduplicates and
the outbox); this thread writes what is pending to the downstream store in batches and marks it
forwarded only after the write succeeded. While the database is away it backs off (capped, with
full jitter) and the backlog grows on disk; when it is back, the backlog drains. Nothing is lost,
and a retried batch cannot double a sample (InfluxDB overwrites the same series and timestamp).
"""

from __future__ import annotations

import logging
import random
import threading

from kraamwacht.storage import SampleStore, StoreError
from kraamwacht.storage.sqlite import SqliteStore

__all__ = ["Forwarder", "backoff_s"]

_LOGGER = logging.getLogger(__name__)
BATCH = 5000
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0  # a database back after an hour is written to within half a minute


def backoff_s(attempt: int, *, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0.0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt))


class Forwarder:
    def __init__(self, local: SqliteStore, downstream: SampleStore, *, idle_s: float = 0.5) -> None:
        self.local = local
        self.downstream = downstream
        self.idle_s = idle_s
        self.forwarded = 0
        self.errors = 0
        self._rng = random.Random()

    def run(self, stop: threading.Event) -> None:
        attempt = 0
        while not stop.is_set():
            batch = self.local.pending(BATCH)
            if not batch:
                stop.wait(self.idle_s)
                continue
            try:
                self.downstream.write(batch)
            except StoreError as exc:
                self.errors += 1
                delay = backoff_s(attempt, rng=self._rng)
                attempt += 1
                _LOGGER.warning("forwarding %d samples failed (%s); retrying in %.1f s", len(batch), exc, delay)
                stop.wait(delay)
                continue
            attempt = 0
            self.local.mark_forwarded(batch)
            self.forwarded += len(batch)
