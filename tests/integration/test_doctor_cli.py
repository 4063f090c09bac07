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
        assert "--staff-keys" in healthy.stdout  # serve runs without the staff's keys here: said, with the fix
    finally:
        serve.stop()
    gone = doctor("--broker", mosquitto)
    assert gone.returncode == 1
    assert "serve: serve was stopped" in gone.stdout
    nothing = doctor("--broker", f"mqtt://127.0.0.1:{free_port()}")
    assert nothing.returncode == 1
    assert "cannot reach the broker" in nothing.stdout


def test_doctor_notices_a_broker_that_dropped_messages(tmp_path: Path) -> None:
    """mosquitto with its default-sized queue drops what a persistent session cannot hold: the
    gateway had its PUBACK, serve never gets them. The doctor reads mosquitto's own count."""
    import time

    import paho.mqtt.client as mqtt

    from tests.integration.conftest import wait_for_port

    port = free_port()
    conf = tmp_path / "m.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 5\nuser root\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        away = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="serve-away", clean_session=False)
        away.connect("127.0.0.1", port)
        away.subscribe(f"kraamwacht/v1/{SITE}/+/+/obs", qos=1)
        away.loop_start()
        time.sleep(0.5)
        away.loop_stop()
        away.disconnect()  # a persistent session whose client is away, as serve after a crash
        broker = Broker(f"mqtt://127.0.0.1:{port}")
        for _ in range(20):
            broker.publish(f"kraamwacht/v1/{SITE}/ep1/m1/obs", b"{}")
        broker.close()
        time.sleep(11)  # mosquitto updates $SYS every 10 s
        found = doctor("--broker", f"mqtt://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(10)
    assert found.returncode == 1
    assert "the broker dropped 15 messages" in found.stdout
    assert "max_queued_messages 1000000" in found.stdout
