"""Which wearable belongs to whom: the gateway's allow-list, keyed by a stable identity.

The identity is the wearable's serial number (Device Information 0x2A25; the emulated wearables
also advertise it in their name ``KW-<serial>``), not its Bluetooth address, which a device may
change. Pairing is a command (``kraamwacht gateway pair``), not a config-file edit; the registry is
a small SQLite file so that the gateway and the pair command can both use it.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from kraamwacht.contract import is_pseudo_id
from kraamwacht.errors import InvalidValueError

__all__ = ["Assignment", "Registry"]


@dataclass(frozen=True, slots=True)
class Assignment:
    serial: str
    site: str
    episode: str
    subject: str

    @property
    def device_id(self) -> str:
        """The pseudonymous device id used on the wire."""
        return f"wb-{self.serial}"


class Registry:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS wearables (serial TEXT PRIMARY KEY, site TEXT NOT NULL, episode TEXT NOT NULL, subject TEXT NOT NULL)"
        )
        # wearables whose status this gateway left retained on the broker: cleared once unpaired
        self._db.execute("CREATE TABLE IF NOT EXISTS retained_statuses (device TEXT PRIMARY KEY, serial TEXT NOT NULL)")
        self._lock = threading.Lock()

    def pair(self, serial: str, *, site: str, episode: str, subject: str) -> Assignment:
        for name, value in (("serial", serial), ("site", site), ("episode", episode), ("subject", subject)):
            if not is_pseudo_id(value):
                raise InvalidValueError(f"{name} {value!r} is not a pseudonymous id (letters, digits, . _ -)")
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO wearables VALUES (?, ?, ?, ?)", (serial, site, episode, subject))
        return Assignment(serial, site, episode, subject)

    def unpair(self, serial: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM wearables WHERE serial = ?", (serial,)).rowcount == 1

    def get(self, serial: str) -> Assignment | None:
        with self._lock:
            row = self._db.execute(
                "SELECT serial, site, episode, subject FROM wearables WHERE serial = ?", (serial,)
            ).fetchone()
        return Assignment(*row) if row else None

    def all(self) -> list[Assignment]:
        with self._lock:
            return [
                Assignment(*row)
                for row in self._db.execute("SELECT serial, site, episode, subject FROM wearables ORDER BY serial")
            ]

    def status_retained(self, device: str, serial: str) -> None:
        """The broker now holds a retained status of this wearable, published by this gateway."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO retained_statuses VALUES (?, ?)", (device, serial))

    def stale_statuses(self) -> list[str]:
        """Wearables whose retained status this gateway published and which are no longer paired:
        the broker would show them to ``kraamwacht doctor`` and the board for ever."""
        with self._lock:
            return [
                device
                for (device,) in self._db.execute(
                    "SELECT device FROM retained_statuses WHERE serial NOT IN (SELECT serial FROM wearables)"
                    " ORDER BY device"
                )
            ]

    def status_cleared(self, device: str) -> None:
        """The broker no longer holds this wearable's retained status."""
        with self._lock:
            self._db.execute("DELETE FROM retained_statuses WHERE device = ?", (device,))
