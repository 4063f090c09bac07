"""``kraamwacht doctor`` against a real mosquitto and a real serve: healthy, then serve gone, then no broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kraamwacht.dashboard.auth import UserStore
from tests.integration.conftest import free_port
from tests.integration.test_serve import SITE, Broker, ServeProcess, wait_online

ROOT = Path(__file__).resolve().parents[2]


def doctor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kraamwacht.cli", "doctor", "--site", SITE, "--wait-s", "2", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_doctor_says_what_is_wrong(mosquitto: str, tmp_path: Path) -> None:
    board = tmp_path / "board"
    serve = ServeProcess(mosquitto, tmp_path)
    serve.start()
    try:
        broker = Broker(mosquitto, f"kraamwacht/v1/{SITE}/status/serve")
        wait_online(broker)
        broker.close()
        no_users = doctor("--broker", mosquitto, "--store", f"sqlite:///{serve.db}", "--board-dir", str(board))
        assert no_users.returncode == 1
        assert "board users: nobody can log in" in no_users.stdout
        assert "kraamwacht user add" in no_users.stdout
        UserStore(board / "users.json").add("anna", "kraam-wacht-2026", "kraamverzorgende")
        healthy = doctor("--broker", mosquitto, "--store", f"sqlite:///{serve.db}", "--board-dir", str(board))
        assert healthy.returncode == 0, healthy.stdout
        assert "serve: online" in healthy.stdout
    finally:
        serve.stop()
    gone = doctor("--broker", mosquitto)
    assert gone.returncode == 1
    assert "serve: serve was stopped" in gone.stdout
    nothing = doctor("--broker", f"mqtt://127.0.0.1:{free_port()}")
    assert nothing.returncode == 1
    assert "cannot reach the broker" in nothing.stdout
