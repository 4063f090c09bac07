"""Board users: bcrypt-hashed passwords, a role each, sessions that time out.

Users live in a JSON file next to the board's state (``kraamwacht dashboard user add``); the file
holds hashes only. Roles: ``kraamverzorgende`` and ``verloskundige`` see and act on alerts and enter
bilirubin; ``onderzoeker`` sees the research page only; ``beheerder`` manages users and episodes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from kraamwacht.errors import InvalidValueError, KraamwachtError
from kraamwacht.staffkeys import StaffKeys, derive_key

__all__ = ["ROLES", "LockedOutError", "User", "UserStore", "can", "session_expired"]

ROLES = ("kraamverzorgende", "verloskundige", "onderzoeker", "beheerder")
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,31}")  # used with fullmatch: no trailing newline slips through
PAGES_BY_ROLE = {
    "kraamverzorgende": {"overzicht", "meldingen", "client"},
    "verloskundige": {"overzicht", "meldingen", "client"},
    "onderzoeker": {"onderzoek"},
    "beheerder": {"overzicht", "meldingen", "client", "onderzoek", "beheer"},
}
MIN_PASSWORD = 10
# a hash checked when the name is unknown, so an unknown name costs the same one bcrypt check as a known one
_UNKNOWN_HASH = bcrypt.hashpw(b"no such user", bcrypt.gensalt())


class LockedOutError(KraamwachtError):
    """Too many wrong passwords for this name; ``until_s`` is when the next try is allowed (epoch s)."""

    def __init__(self, until_s: float) -> None:
        super().__init__(until_s)
        self.until_s = until_s


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str


def can(user: User, page: str) -> bool:
    return page in PAGES_BY_ROLE.get(user.role, set())


def session_expired(last_active_s: float, now_s: float, timeout_min: float) -> bool:
    return now_s - last_active_s > timeout_min * 60


class UserStore:
    """Users in a JSON file, and the failed logins per name (in memory: a restart forgets them).

    ``max_failures`` wrong passwords within ``lockout_min`` minutes lock that name for ``lockout_min``
    minutes, known or unknown (an engineering choice after OWASP's authentication cheat sheet: slow a
    guesser down without letting a stranger lock staff out for long).
    """

    def __init__(self, path: str | Path, *, max_failures: int = 5, lockout_min: float = 15.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.max_failures = max_failures
        self.lockout_min = lockout_min
        self._failures: dict[str, list[float]] = {}

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def add(self, name: str, password: str, role: str) -> User:
        if not _NAME.fullmatch(name):
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
        self.staff_keys.set(name, derive_key(name, password))  # serve checks her commands with it
        return User(name, role)

    @property
    def staff_keys(self) -> StaffKeys:
        """The staff's signing keys, next to the users (serve reads them: ``serve --staff-keys``)."""
        return StaffKeys(self.path.parent / "staff-keys.json")

    def signing_key(self, user: User, password: str) -> bytes:
        """Her key, derived from the password she just logged in with (kept in her session only).

        A user added before keys existed gets hers stored now, so serve can check her from this login on.
        """
        key = derive_key(user.name, password)
        if not self.staff_keys.known(user.name):
            self.staff_keys.set(user.name, key)
        return key

    def verify(self, name: str, password: str, *, now_s: float | None = None) -> User | None:
        """The user if the password is right; ``None`` otherwise; one bcrypt check either way.

        Raises
        ------
        LockedOutError
            This name had too many wrong passwords lately; the password is not even checked.
        """
        now_s = time.time() if now_s is None else now_s
        window_s = self.lockout_min * 60
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if now_s - t < window_s]
            self._failures[name] = recent
        if len(recent) >= self.max_failures:
            raise LockedOutError(recent[-1] + window_s)
        entry = self._load().get(name)
        hashed = entry["hash"].encode() if entry else _UNKNOWN_HASH
        ok = bcrypt.checkpw(password.encode(), hashed)
        if entry and ok:
            with self._lock:
                self._failures.pop(name, None)
            return User(name, entry["role"])
        with self._lock:
            self._failures.setdefault(name, []).append(now_s)
        return None

    def names(self) -> list[tuple[str, str]]:
        return sorted((name, entry["role"]) for name, entry in self._load().items())
