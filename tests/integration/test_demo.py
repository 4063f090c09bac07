"""``kraamwacht demo`` as a newcomer runs it (what ``make demo`` starts): every process, the
embedded broker, the time-lapse, and Ctrl-C. Within two minutes of the start a warning appears,
is acknowledged, and the fever escalates it; the loose sensor and the newborn's bilirubin raise
their own alerts; the board answers; Ctrl-C stops everything with exit status 0."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from kraamwacht.dashboard.feed import BoardFeed
from kraamwacht.publish import BrokerAddress
from kraamwacht.waiting import port_open
from tests.integration.conftest import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
START_IN_S = 8.0


def _alerts(feed: BoardFeed, episode: str) -> list[dict]:
    state = feed.state(episode)
    return list(state["open_alerts"]) if state else []


def _wait(what: str, check, timeout_s: float) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (found := check()) is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout_s:g} s")


def test_make_demo_shows_warning_acknowledge_escalation_and_stops_cleanly(tmp_path: Path) -> None:
    broker_port, board_port = free_port(), free_port()
    log = tmp_path / "demo.out"
    demo = subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", "demo", "--out-dir", str(tmp_path / "demo"), "--time-lapse", "60",
         "--start-in-s", str(START_IN_S), "--port", str(board_port), "--broker-port", str(broker_port)],
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a failed test stops every process the demo started
    )  # fmt: skip
    feed = None
    try:
        wait_for_port(broker_port, 60)
        feed = BoardFeed(BrokerAddress("127.0.0.1", broker_port, mqtt_version="3.1.1"), "demo")  # amqtt

        def rule(episode: str, name: str, level: str | None = None):
            return next(
                (a for a in _alerts(feed, episode) if a["rule"] == name and a["level"] == (level or a["level"])), None
            )

        # generous deadlines, never a timed assertion: the demo's own clock says when (see the README)
        early = ("temp_rise", "temp_rise_hr")  # with or without her heart rate: an early-rise warning either way
        warning = _wait("Kamer 2's early-rise warning",
                        lambda: next((a for r in early if (a := rule("demo-2", r, "warning"))), None), 240)  # fmt: skip
        assert warning["values"]["rise_c"] >= 0.4
        assert warning["values"]["baseline_core_c"] > 36
        from kraamwacht.demo.run import DEMO_PASSWORD, DEMO_USER
        from kraamwacht.staffkeys import derive_key

        unsigned = feed.command("acknowledge", warning["alert_id"], actor=DEMO_USER)
        assert not unsigned.accepted  # the demo's serve checks who acts: a name alone is refused
        # signed as the board signs after her login: with the key her password gives
        result = feed.command("acknowledge", warning["alert_id"], actor=DEMO_USER,
                              signing_key=derive_key(DEMO_USER, DEMO_PASSWORD))  # fmt: skip
        assert result.accepted, result.reason
        _wait("the acknowledgement", lambda: rule("demo-2", warning["rule"]) if rule("demo-2", warning["rule"]) and
              rule("demo-2", warning["rule"])["status"] == "acknowledged" else None, 10)  # fmt: skip
        escalated = _wait("the fever escalation", lambda: rule("demo-2", "fever", "urgent"), 240)
        assert escalated["alert_id"] == warning["alert_id"]  # the same alert, escalated by the fever rule
        assert escalated["status"] == "open"  # an escalation needs a new acknowledgement
        _wait("Kamer 3's loose sensor", lambda: rule("demo-3", "sensor_loose"), 30)
        _wait("Kamer 4's jaundice alert", lambda: rule("demo-4", "bili_phototherapy", "urgent"), 60)
        assert all(a["rule"] != "no_data" for a in _alerts(feed, "demo-4"))  # typed-in readings are not a sensor
        assert not [a for a in _alerts(feed, "demo-1") if a["category"] == "clinical"]  # the healthy mother
        with urllib.request.urlopen(f"http://127.0.0.1:{board_port}/", timeout=10) as page:
            assert page.status == 200
        assert demo.poll() is None
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        assert demo.wait(timeout=90) == 0
    finally:
        if feed is not None:
            feed.close()
        if demo.poll() is None:  # the test failed midway: Ctrl-C first (the demo stops its parts), then the group
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGKILL)  # anything of the group still running
    out = log.read_text()
    assert "gateway exit 0, sim exit 0, serve exit 0, board exit 0, broker exit 0" in out, out[-3000:]
    for port in (broker_port, board_port):  # nothing left listening
        assert not port_open("127.0.0.1", port), f"port {port} still answers after Ctrl-C"


def test_demo_says_which_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "kraamwacht.cli", "demo", "--out-dir", str(tmp_path / "demo"), "--port", str(port),
             "--broker-port", str(free_port())],
            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"already in use: the board's port {port} (use --port)" in result.stdout


def test_demo_on_a_real_mosquitto_and_influxdb(mosquitto: str, influx_server, tmp_path: Path) -> None:
    """The same command pointed at real servers: samples and the stored history reach InfluxDB."""
    result = subprocess.run(
        [sys.executable, "-m", "kraamwacht.cli", "demo", "--out-dir", str(tmp_path / "demo"), "--broker", mosquitto,
         "--store", f"influx+v1://127.0.0.1:{influx_server.port}/kraamwacht", "--port", str(free_port()),
         "--start-in-s", "5", "--run-for-s", "40"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "broker exit" not in result.stdout  # no embedded broker was started
    assert "gateway exit 0, sim exit 0, serve exit 0, board exit 0" in result.stdout
    assert influx_server.count() > 4 * 2 * 24 * 60  # a day of history per mother, forwarded from serve's ledger
    live = json.loads(
        urllib.request.urlopen(
            f"{influx_server.base}/query?db=kraamwacht&q="
            + urllib.parse.quote('SELECT count("value") FROM "kraamwacht" WHERE "device" = \'wb-0002\''),
            timeout=10,
        ).read()
    )
    assert live["results"][0]["series"][0]["values"][0][1] > 20  # the live readings through the gateway
