"""Who really acted: a key per member of staff, derived from her password, that serve checks.

Typed-in readings (a thermometer, a pulse, a bilirubin value) are signed the same way: serve
stores one that names a staff member in ``entered_by`` only if her key verifies it.

The board learns a user's key only while she is logged in (it is derived from the password she
types at login); serve holds every key (written at ``user add`` and at a login) and applies a
command, and writes its actor into the audit trail, only when the command's signature verifies
with that actor's key. A gateway, another client on the broker or a board whose account was taken
over cannot act in a nurse's name without her password.

The key file is a secret of serve's: whoever reads it can sign for anyone (it cannot log in to the
board: that is bcrypt). Mode 0600; keep it on the machine that runs serve and the board.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kraamwacht.contract import CommandMessage, entry_signed_bytes

__all__ = ["ITERATIONS", "StaffKeys", "derive_key", "sign"]

ITERATIONS = 200_000  # PBKDF2-HMAC-SHA256 (OWASP's order of magnitude for SHA-256 is hundreds of thousands)


def derive_key(name: str, password: str) -> bytes:
    """The user's signing key: PBKDF2 of her password, salted with her name (never stored by the board)."""
    return hashlib.pbkdf2_hmac("sha256", password.encode(), b"kraamwacht-staff\x00" + name.encode(), ITERATIONS)


def sign(key: bytes, command: CommandMessage) -> CommandMessage:
    """The command with its signature: HMAC-SHA256 over every other field."""
    return command.model_copy(update={"signature": hmac.new(key, command.signed_bytes(), hashlib.sha256).hexdigest()})


class StaffKeys:
    """``staff-keys.json``: name → key (hex), next to the board's users; re-read when it changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}
        self._mtime: float | None = None

    def _current(self) -> dict[str, str]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if mtime != self._mtime:
            self._keys, self._mtime = json.loads(self.path.read_text()), mtime
        return self._keys

    def known(self, name: str) -> bool:
        with self._lock:
            return name in self._current()

    def set(self, name: str, key: bytes) -> None:
        with self._lock:
            keys = dict(self._current())
            keys[name] = key.hex()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(keys, indent=1))
            tmp.chmod(0o600)
            tmp.replace(self.path)
            self._keys, self._mtime = keys, None

    def verify_entry(self, body: Mapping[str, Any]) -> bool:
        """Whether a typed-in reading (the decoded message) was signed by the one staff member it names."""
        samples = body.get("samples")
        names = {s.get("entered_by") for s in samples if isinstance(s, dict)} if isinstance(samples, list) else set()
        signature = body.get("signature")
        if len(names) != 1 or not isinstance(signature, str):
            return False
        (name,) = names
        return isinstance(name, str) and self._signed_by(name, entry_signed_bytes(body), signature)

    def verify(self, command: CommandMessage) -> bool:
        """Whether ``command`` was signed with its actor's key."""
        return command.signature is not None and self._signed_by(
            command.actor, command.signed_bytes(), command.signature
        )

    def _signed_by(self, name: str, data: bytes, signature: str) -> bool:
        """Whether ``signature`` is ``name``'s HMAC-SHA256 of ``data`` (False for a name without a key)."""
        with self._lock:
            hexkey = self._current().get(name)
        if hexkey is None:
            return False
        expected = hmac.new(bytes.fromhex(hexkey), data, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)
