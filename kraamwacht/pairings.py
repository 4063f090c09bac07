"""Which wearable is worn by whom, through which gateway: the pairing authority serve trusts.

A gateway's own list (``kraamwacht gateway pair``) says which wearables it connects; it cannot
also be the proof that a wearable is its to report, or one broken-into home box could write any
family's temperatures. The board's office keeps this second list (``kraamwacht episode pair``) in
the episode registry's file, and serve, reading it, takes a wearable's data only from the gateway
it is paired to, for the mother or newborn it is paired to (:func:`sender_problem`).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kraamwacht import clock
from kraamwacht.contract import ObservationTopic, Rejection, RejectReason, format_time, is_pseudo_id, parse_time
from kraamwacht.errors import InvalidValueError

__all__ = ["Pairing", "PairingRegistry", "sender_problem"]


@dataclass(frozen=True, slots=True)
class Pairing:
    device: str  # the id on the wire (``wb-<serial>``)
    site: str
    episode: str
    subject: str
    gateway: str
    paired_at: datetime


class PairingRegistry:
    """The ``pairings`` table of the board's ``episodes.db``: one gateway, one wearer per device."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pairings (device TEXT PRIMARY KEY, site TEXT NOT NULL, episode TEXT NOT NULL,"
            " subject TEXT NOT NULL, gateway TEXT NOT NULL, paired_at TEXT NOT NULL)"
        )
        self._lock = threading.Lock()

    def pair(self, device: str, *, site: str, episode: str, subject: str, gateway: str) -> Pairing:
        """Pair (or re-pair: a wearable moved to another gateway or mother) one device."""
        fields = {"device": device, "site": site, "episode": episode, "subject": subject, "gateway": gateway}
        for name, value in fields.items():
            if not is_pseudo_id(value):
                raise InvalidValueError(f"{name} {value!r} is not a pseudonymous id (letters, digits, . _ -)")
        pairing = Pairing(device, site, episode, subject, gateway, clock.utcnow())
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO pairings VALUES (?, ?, ?, ?, ?, ?)",
                (device, site, episode, subject, gateway, format_time(pairing.paired_at)),
            )
        return pairing

    def unpair(self, device: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM pairings WHERE device = ?", (device,)).rowcount == 1

    def unpair_episode(self, episode: str) -> int:
        """Every wearable of an ended episode: its data is nobody's until it is paired again."""
        with self._lock:
            return self._db.execute("DELETE FROM pairings WHERE episode = ?", (episode,)).rowcount

    def get(self, device: str) -> Pairing | None:
        found = self._rows("WHERE device = ?", (device,))
        return found[0] if found else None

    def all(self, site: str | None = None) -> list[Pairing]:
        return self._rows() if site is None else self._rows("WHERE site = ?", (site,))

    def _rows(self, where: str = "", args: tuple[object, ...] = ()) -> list[Pairing]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT device, site, episode, subject, gateway, paired_at FROM pairings {where} ORDER BY device", args
            ).fetchall()
        return [Pairing(r[0], r[1], r[2], r[3], r[4], parse_time(r[5])) for r in rows]

    def close(self) -> None:
        self._db.close()


def sender_problem(
    where: ObservationTopic, device: str, pairing: Pairing | None, *, required: bool
) -> Rejection | None:
    """Why serve may not take ``device``'s message from the topic ``where`` (None: it may).

    Typed-in readings (``entry``) are the staff's, checked by their signatures, not here. A wearable
    with a pairing is taken only from its gateway's topic, for its wearer; without one, and from the
    open topic, only when pairing is not ``required`` (a deployment without per-account rights).
    """
    if where.source == "entry":
        return None
    if where.source == "open":
        if not required:
            return None
        detail = f"{device} on the open topic, not a gateway's: this serve takes paired wearables only"
        return Rejection(RejectReason.UNATTRIBUTED, detail)
    if pairing is None:
        return Rejection(RejectReason.NOT_PAIRED, f"{device} is paired to no gateway") if required else None
    sent = (where.site, where.gateway, where.episode, where.subject)
    if (pairing.site, pairing.gateway, pairing.episode, pairing.subject) != sent:
        detail = (
            f"{device} is paired to gateway {pairing.gateway} for {pairing.episode}/{pairing.subject},"
            f" not sent by gateway {where.gateway} for {where.episode}/{where.subject}"
        )
        return Rejection(RejectReason.NOT_PAIRED, detail)
    return None
