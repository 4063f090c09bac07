"""Board users: bcrypt-hashed passwords, a role each, sessions that time out.

Users live in a JSON file next to the board's state (``kraamwacht dashboard user add``); the file
holds hashes only. Roles: ``kraamverzorgende`` and ``verloskundige`` see and act on alerts and enter
bilirubin; ``onderzoeker`` sees the research page only; ``beheerder`` manages users and episodes.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from kraamwacht.errors import InvalidValueError

__all__ = ["ROLES", "User", "UserStore", "can", "session_expired"]

ROLES = ("kraamverzorgende", "verloskundige", "onderzoeker", "beheerder")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
PAGES_BY_ROLE = {
    "kraamverzorgende": {"overzicht", "meldingen", "client"},
    "verloskundige": {"overzicht", "meldingen", "client"},
    "onderzoeker": {"onderzoek"},
    "beheerder": {"overzicht", "meldingen", "client", "onderzoek", "beheer"},
}
MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str


def can(user: User, page: str) -> bool:
    return page in PAGES_BY_ROLE.get(user.role, set())


def session_expired(last_active_s: float, now_s: float, timeout_min: float) -> bool:
    return now_s - last_active_s > timeout_min * 60


class UserStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def add(self, name: str, password: str, role: str) -> User:
        if not _NAME.match(name):
            raise InvalidValueError(f"user name {name!r}: 2–32 lower-case letters, digits, . _ -")
        if role not in ROLES:
            raise InvalidValueError(f"role {role!r}: use one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise InvalidValueError(f"a password needs at least {MIN_PASSWORD} characters")
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        with self._lock:
            users = self._load()
            users[name] = {"role": role, "hash": hashed}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(users, indent=1))
            tmp.chmod(0o600)
            tmp.replace(self.path)
        return User(name, role)

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right; ``None`` otherwise (same work either way)."""
        entry = self._load().get(name)
        hashed = entry["hash"].encode() if entry else bcrypt.hashpw(b"-", bcrypt.gensalt())
        ok = bcrypt.checkpw(password.encode(), hashed)
        return User(name, entry["role"]) if entry and ok else None

    def names(self) -> list[tuple[str, str]]:
        return sorted((name, entry["role"]) for name, entry in self._load().items())
