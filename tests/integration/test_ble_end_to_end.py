"""Emulated wearables → HCI over TCP → gateway (plain bleak on the bumble backend) → spool → mosquitto
→ serve → store, each its own process: every sample the wearables sent is stored once, in order."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from kraamwacht.firmware_sim.control import control
from tests.integration.conftest import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def _control(port: int, command: str) -> str:
    return control(port, command, timeout_s=5)


def _stored(db: Path) -> list[tuple[str, str, int, float]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT device, signal, seq, device_time FROM observations WHERE signal IN ('temperature_c', 'heart_rate_bpm') ORDER BY device, seq"
        ).fetchall()


def test_every_sample_from_the_wearables_is_stored_once_in_order(mosquitto: str, tmp_path: Path) -> None:
    hci, control = free_port(), free_port()
    processes = [
        _cli(
            "sim", "--wearables", "4", "--hci-port", str(hci), "--control-port", str(control), log=tmp_path / "sim.log"
        )
    ]
    try:
        wait_for_port(control, 30)
        state = ["--state-dir", str(tmp_path / "gw")]
        for n in range(1, 5):
            paired = subprocess.run(
                [sys.executable, "-m", "kraamwacht.cli", "gateway", "pair", f"{n:04d}", "--site", "s1", "--episode", f"ep{n}", "--subject", f"m{n}", *state],
                env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, check=False,
            )  # fmt: skip
            assert paired.returncode == 0, paired.stderr
        db = tmp_path / "store" / "k.db"
        processes.append(
            _cli(
                "serve",
                "--broker",
                mosquitto,
                "--site",
                "s1",
                "--store",
                f"sqlite:///{db}",
                "--state-dir",
                str(tmp_path / "serve"),
                log=tmp_path / "serve.log",
            )
        )
        processes.append(
            _cli(
                "gateway",
                "run",
                "--broker",
                mosquitto,
                "--site",
                "s1",
                "--ble",
                f"bumble:tcp-client:127.0.0.1:{hci}",
                *state,
                log=tmp_path / "gw.log",
            )
        )
        time.sleep(15)  # 4 wearables at 1 Hz, temperature and heart rate
        _control(control, "pause")
        sent = {serial: s["sent"] for serial, s in json.loads(_control(control, "stats")).items()}
        total = sum(sent.values())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_stored(db)) < total:
            time.sleep(0.5)
        rows = _stored(db)
        assert total > 4 * 2 * 8  # at least 8 s of data from every wearable
        assert len(rows) == total  # every sample sent is stored, none twice ((device, seq) is the key)
        per_device: dict[str, int] = {}
        for device, *_ in rows:
            per_device[device] = per_device.get(device, 0) + 1
        assert per_device == {f"wb-{serial}": count for serial, count in sent.items()}
        for device in per_device:  # in order: each signal's times rise with the sequence numbers
            for signal in ("temperature_c", "heart_rate_bpm"):
                times = [t for d, s, _, t in rows if d == device and s == signal]
                assert times == sorted(times)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
