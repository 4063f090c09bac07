"""Emulated wearables → HCI over TCP → gateway (plain bleak on the bumble backend) → spool → mosquitto
→ serve → store, each its own process: every sample the wearables sent is stored once, in order,
also after the gateway is reinstalled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kraamwacht.firmware_sim.control import control
from kraamwacht.waiting import wait_for
from tests.integration.conftest import free_port, stored_samples, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def _control(port: int, command: str) -> str:
    return control(port, command, timeout_s=5)


def _stored(db: Path) -> list[tuple[str, str, int, float, str]]:
    return [  # rows and a backlog's segments alike
        (s.device, s.signal, s.seq, s.device_time_s, s.stream)
        for s in stored_samples(db)
        if s.signal in ("temperature_c", "heart_rate_bpm")
    ]


def _pair(state: Path) -> None:
    for n in range(1, 5):
        paired = subprocess.run(
            [sys.executable, "-m", "kraamwacht.cli", "gateway", "pair", f"{n:04d}", "--site", "s1", "--episode", f"ep{n}",
             "--subject", f"m{n}", "--state-dir", str(state)],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, check=False,
        )  # fmt: skip
        assert paired.returncode == 0, paired.stderr


def _sent(port: int) -> dict[str, int]:
    return {serial: s["sent"] for serial, s in json.loads(_control(port, "stats")).items()}


def test_every_sample_from_the_wearables_is_stored_once_in_order(mosquitto: str, tmp_path: Path) -> None:
    """Then the gateway is reinstalled (a fresh state folder: its spool numbers from 0 again) and the
    same wearables go on: everything the second gateway sends is stored too, none counted as a duplicate."""
    hci, control = free_port(), free_port()
    processes = [
        _cli(
            "sim", "--wearables", "4", "--hci-port", str(hci), "--control-port", str(control), log=tmp_path / "sim.log"
        )
    ]
    db = tmp_path / "store" / "k.db"
    try:
        wait_for_port(control, 30)
        processes.append(
            _cli("serve", "--broker", mosquitto, "--site", "s1", "--store", f"sqlite:///{db}", "--state-dir",
                 str(tmp_path / "serve"), log=tmp_path / "serve.log")
        )  # fmt: skip
        totals = []
        for name in ("gw-a", "gw-b"):  # the same home box, reinstalled: a new state folder, the same wearables
            _pair(tmp_path / name)
            gateway = _cli("gateway", "run", "--broker", mosquitto, "--site", "s1", "--ble",
                           f"bumble:tcp-client:127.0.0.1:{hci}", "--state-dir", str(tmp_path / name),
                           log=tmp_path / f"{name}.log")  # fmt: skip
            before = sum(_sent(control).values())
            _control(control, "resume")
            # at least 8 readings of each signal from every wearable through this gateway
            wait_for(lambda b=before: sum(_sent(control).values()) >= b + 4 * 2 * 8, 120, what="data flowing")
            _control(control, "pause")
            totals.append(sum(_sent(control).values()))
            wait_for(lambda: len(_stored(db)) >= totals[-1], 60, what="every sample stored")
            gateway.terminate()
            gateway.wait(timeout=20)
        sent = _sent(control)
        rows = _stored(db)
        assert len(rows) == totals[-1] == sum(sent.values())  # every sample sent is stored, none twice
        assert totals[-1] - totals[0] >= 4 * 2 * 8  # and the reinstalled gateway's share is really there
        per_device: dict[str, int] = {}
        for device, *_ in rows:
            per_device[device] = per_device.get(device, 0) + 1
        assert per_device == {f"wb-{serial}": count for serial, count in sent.items()}
        streams = {(d, stream) for d, *_, stream in rows}
        assert len(streams) == 2 * 4  # one numbering per gateway installation and wearable
        for device, stream in streams:  # in order: each signal's times rise with its stream's sequence numbers
            for signal in ("temperature_c", "heart_rate_bpm"):
                times = [t for d, s, _, t, st in rows if (d, st) == (device, stream) and s == signal]
                assert times == sorted(times)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
