"""A local mosquitto for kraamwacht's own tests and benchmarks (one helper, shared by both).

Debian's mosquitto on 127.0.0.1 and a free port; its log goes to a file in its folder (a pipe
nobody reads would fill and block it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kraamwacht.broker_config import MAX_QUEUED_MESSAGES
from kraamwacht.waiting import free_port, wait_for_port

__all__ = ["Mosquitto", "mosquitto_binary"]


def mosquitto_binary() -> str | None:
    """Debian's mosquitto, or None when it is not installed (``apt-get install mosquitto``)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return binary if Path(binary).exists() else None


class Mosquitto:
    """A mosquitto on a fixed free port; with ``persistence`` it keeps sessions across its own restart."""

    def __init__(
        self, folder: Path, *, persistence: bool = True, max_queued_messages: int = MAX_QUEUED_MESSAGES
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "user root"]
        if persistence:
            lines += ["persistence true", f"persistence_location {folder}/", "autosave_interval 1"]
        else:
            lines.append("persistence false")
        lines.append(f"max_queued_messages {max_queued_messages}")  # as kraamwacht broker-config writes it
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and return once it listens."""
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed: apt-get install mosquitto (.ci/run does this)")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port)

    def stop(self) -> None:
        """SIGTERM: it saves its state and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def kill(self) -> None:
        """kill -9: what was not yet saved (autosave_interval 1 s) is gone with it."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT``."""
        return f"mqtt://127.0.0.1:{self.port}"
