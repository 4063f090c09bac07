"""Faults through every real process, counting every sample end to end.

emulated wearables (``kraamwacht sim``) → BLE → gateway (disk spool) → mosquitto (persistence)
→ serve (SQLite ledger, persistent session) → InfluxDB 1.6 (a real server, forwarded from the
ledger). After each fault the wearables pause and the test waits until everything has drained,
then checks, per wearable:

* what the gateway took in (its spool's sequence numbers 0..last) is in the ledger and in
  InfluxDB exactly once: 0 lost, 0 duplicated;
* what the wearables sent over the air equals what the gateway took in, except readings that were
  on the way to a gateway killed with -9 (BLE notifications have no acknowledgement): those are
  counted and bounded, never hidden;
* a wearable out of range: its buffered temperatures arrive later with their own times, its heart
  rate while away is a gap (counted ``unheard`` by the wearable), never invented.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from kraamwacht.clock import ENV, Clock
from kraamwacht.firmware_sim.control import control
from kraamwacht.gateway.registry import Registry
from tests.integration.conftest import (
    CONTROL_DEVICE,
    InfluxServer,
    Mosquitto,
    free_port,
    send_control,
    spool_backlog,
    stored_samples,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[2]
REPORT = os.environ.get("KRAAMWACHT_FAULT_REPORT")  # append each checkpoint's counts here (docs)


@dataclass(frozen=True, slots=True)
class Tally:
    sent: int  # readings over the air to a listening gateway (sent - lost_in_air)
    readings: int  # of those, stored (temperature and heart rate)
    spooled: int  # all samples the gateway took in, battery included: its sequence numbers 0..last
    ledger: int
    influx: int | None
    lost_at_gateway_kill: int  # sent but never taken in: on the way to a gateway killed with -9


class Plant:
    def __init__(self, folder: Path, n: int, *, influx: InfluxServer | None, env: dict[str, str] | None = None) -> None:
        self.folder, self.n, self.influx = folder, n, influx
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.broker = Mosquitto(folder)
        self.hci, self.control_port = free_port(), free_port()
        self.ledger = folder / "serve" / ("outbox.db" if influx else "k.db")
        self.spool = folder / "gw" / "spool.db"
        self.procs: dict[str, subprocess.Popen] = {}
        self.in_flight_lost: dict[str, int] = {}  # per device, measured at a gateway kill

    def _start(self, name: str, *args: str) -> None:
        log = (self.folder / f"{name}.log").open("a")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "kraamwacht.cli", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def start(self, *, interval_s: float = 1.0) -> None:
        self.broker.start()
        self._start("sim", "sim", "--wearables", str(self.n), "--buffer", "3600", "--interval-s", f"{interval_s:g}",
                    "--hci-port", str(self.hci), "--control-port", str(self.control_port))  # fmt: skip
        wait_for_port(self.control_port, 60)
        registry = Registry(self.folder / "gw" / "registry.db")
        for k in range(1, self.n + 1):
            registry.pair(f"{k:04d}", site="s1", episode=f"ep{k}", subject=f"m{k}")
        self.start_serve()
        self.start_gateway()

    def start_serve(self) -> None:
        store = f"influx+v1://127.0.0.1:{self.influx.port}/kraamwacht" if self.influx else f"sqlite:///{self.ledger}"
        self._start("serve", "serve", "--broker", self.broker.url, "--site", "s1", "--store", store,
                    "--state-dir", str(self.folder / "serve"))  # fmt: skip

    def start_gateway(self) -> None:
        self._start("gateway", "gateway", "run", "--broker", self.broker.url, "--site", "s1",
                    "--ble", f"bumble:tcp-client:127.0.0.1:{self.hci}", "--state-dir", str(self.folder / "gw"))  # fmt: skip

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def control(self, command: str) -> str:
        return control(self.control_port, command, timeout_s=10)

    def stats(self) -> dict[str, dict]:
        return json.loads(self.control("stats"))

    def close(self) -> None:
        for name in ("gateway", "sim", "serve"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if self.broker.proc is not None and self.broker.proc.poll() is None:
            self.broker.stop()

    # --- counting --------------------------------------------------------------------------------

    def spooled(self) -> tuple[dict[str, int], int]:
        """Per device, how many samples the gateway took in (its sequence numbers are 0..last),
        and how many still wait in its spool for the broker's acknowledgement."""
        with sqlite3.connect(self.spool) as db:
            taken = {d: last + 1 for d, last in db.execute("SELECT device, last_seq FROM sequences")}
        return taken, spool_backlog(self.spool)

    def ledger_seqs(self) -> tuple[dict[str, list[int]], dict[str, int]]:
        """Per device: the stored sequence numbers, and how many are readings the wearable counts
        as sent (temperature and heart rate; the battery level is read, not sent on a schedule)."""
        seqs: dict[str, list[int]] = {}
        readings: dict[str, int] = {}
        # rows and a backlog's segments alike, by sequence number (a restarted gateway numbers on in a new stream)
        for sample in sorted(stored_samples(self.ledger), key=lambda s: (s.device, s.seq)):
            if sample.device == CONTROL_DEVICE:
                continue
            seqs.setdefault(sample.device, []).append(sample.seq)
            if sample.signal in ("temperature_c", "heart_rate_bpm"):
                readings[sample.device] = readings.get(sample.device, 0) + 1
        return seqs, readings

    def influx_seqs(self) -> dict[str, list[int]]:
        assert self.influx is not None
        query = urllib.parse.urlencode({"db": "kraamwacht", "q": 'SELECT "seq", "device" FROM "kraamwacht"'})
        body = json.loads(urllib.request.urlopen(f"{self.influx.base}/query?{query}", timeout=30).read())
        out: dict[str, list[int]] = {}
        for series in body["results"][0].get("series", []):
            for _t, seq, device in series["values"]:
                if device != CONTROL_DEVICE:
                    out.setdefault(device, []).append(int(seq))
        return {d: sorted(s) for d, s in out.items()}

    def checkpoint(self, name: str, *, timeout_s: float = 120.0, gateway_was_killed: bool = False) -> Tally:
        """Pause the wearables, wait until everything has drained, and check every sample.

        After a gateway kill, readings on the way to it are lost in BLE (no acknowledgement for a
        notification); they are counted, per device, and expected from then on.
        """
        assert self.control("pause") == "ok"
        stats = self.stats()
        sent = {f"wb-{s}": st["sent"] - st["lost_in_air"] for s, st in stats.items()}
        expected = {d: c - self.in_flight_lost.get(d, 0) for d, c in sent.items() if c}
        deadline = time.monotonic() + timeout_s
        while True:
            spooled, waiting = self.spooled()
            ledger, readings = self.ledger_seqs()
            influx = self.influx_seqs() if self.influx else ledger
            drained = waiting == 0 and all(ledger.get(d) == list(range(c)) for d, c in spooled.items())
            drained = drained and all(influx.get(d) == list(range(c)) for d, c in spooled.items())
            if drained and gateway_was_killed:
                time.sleep(2.0)  # nothing more can arrive: the wearables are paused and the spool is empty
                if self.spooled()[0] == spooled:
                    for device, count in expected.items():
                        self.in_flight_lost[device] = (
                            self.in_flight_lost.get(device, 0) + count - readings.get(device, 0)
                        )
                    expected = readings
            if drained and readings == expected:
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{name}: not drained after {timeout_s:g} s: readings sent {sum(expected.values())}, "
                    f"stored {sum(readings.values())}; spooled {sum(spooled.values())}, waiting {waiting}, "
                    f"ledger {sum(map(len, ledger.values()))}, "
                    f"influx {sum(map(len, influx.values()))}; logs in {self.folder}"
                )
            time.sleep(0.5)
        send_control(self.broker.url, "s1", self.ledger)  # whatever came late (a duplicate) is handled before it
        ledger, readings = self.ledger_seqs()
        influx = self.influx_seqs() if self.influx else ledger
        assert readings == expected, f"{name}: readings changed after the control"
        for device, count in spooled.items():  # 0 lost, 0 duplicated, in ledger and database
            assert ledger[device] == list(range(count)), f"{name}: {device} ledger differs from the spool"
            assert influx[device] == list(range(count)), f"{name}: {device} database differs from the spool"
        tally = Tally(
            sum(sent.values()), sum(readings.values()), sum(spooled.values()), sum(map(len, ledger.values())),
            sum(map(len, influx.values())) if self.influx else None, sum(self.in_flight_lost.values()),
        )  # fmt: skip
        if REPORT:
            with open(REPORT, "a") as f:
                f.write(json.dumps({"checkpoint": name, **asdict(tally)}) + "\n")
        assert self.control("resume") == "ok"
        return tally


@pytest.fixture
def plant(tmp_path: Path, influx_server: InfluxServer) -> Iterator[Plant]:
    p = Plant(tmp_path, 10, influx=influx_server)
    p.start()
    yield p
    p.close()


def test_every_fault_loses_nothing_the_gateway_took_in(plant: Plant, influx_server: InfluxServer) -> None:
    time.sleep(15)  # all ten connected and sending at 1 Hz
    first = plant.checkpoint("steady")
    assert first.spooled > 10 * 2 * 8

    plant.broker.kill()  # kill -9 mid-stream; the gateway spools, serve waits
    time.sleep(5)
    plant.broker.start()
    time.sleep(8)
    assert plant.checkpoint("broker kill -9 and restart").spooled > first.spooled

    influx_server.stop()  # the database is down; serve keeps its ledger
    time.sleep(15)
    influx_server.start()
    plant.checkpoint("database down 15 s and back")

    assert plant.control("vanish 0003 1") == "ok"  # out of range; the link drops after 1 s
    time.sleep(15)
    before = plant.stats()["0003"]
    assert plant.control("reappear 0003") == "ok"
    time.sleep(8)
    away = plant.checkpoint("wearable out of range 15 s and back")
    after = plant.stats()["0003"]
    assert before["buffered"] >= 10  # temperatures kept on the wearable while away ...
    assert after["buffered"] == 0  # ... and delivered after the reconnect
    assert after["unheard"] >= 10  # heart rate while away: a gap, never invented
    replayed = sum(1 for s in stored_samples(plant.ledger) if s.device == "wb-0003" and "replayed" in s.quality)
    assert replayed >= before["buffered"] - 10  # stored with their own times; those older than 10 s flagged replayed

    plant.kill("gateway")  # kill -9 mid-stream: the disk spool survives
    time.sleep(3)
    plant.start_gateway()
    time.sleep(10)
    killed = plant.checkpoint("gateway kill -9 and restart", gateway_was_killed=True)
    assert 0 <= killed.lost_at_gateway_kill <= 2 * 10  # at most what was on the way: about one reading each

    plant.kill("serve")  # kill -9 mid-stream: the broker keeps its persistent session
    time.sleep(5)
    plant.start_serve()
    time.sleep(8)
    last = plant.checkpoint("serve kill -9 and restart")
    assert last.ledger == last.influx == last.spooled
    assert last.spooled > away.spooled


def test_a_ten_minute_broker_outage_of_twenty_wearables_compressed(tmp_path: Path) -> None:
    """20 wearables at 1 Hz, the broker away for 10 minutes of the shared clock (×10 time-lapse:
    one real minute): about 24,000 samples wait in the gateway's spool and all arrive, once."""
    clock = Clock(10.0, time.time() + 20.0)  # real time while everything connects, then ×10
    plant = Plant(tmp_path, 20, influx=None, env={ENV: clock.as_env()})
    try:
        plant.start()
        while time.time() < clock.origin_s + 3.0:
            time.sleep(0.5)
        before = plant.checkpoint("twenty wearables, before the outage")
        plant.broker.stop()
        outage_from = clock.now()
        time.sleep(60.0)
        plant.broker.start()
        outage_s = clock.now() - outage_from
        after = plant.checkpoint("broker away 10 min (×10), twenty wearables", timeout_s=240)
        plant.kill("serve")  # serve away as long: the broker holds its persistent session's queue
        serve_from = clock.now()
        time.sleep(60.0)
        plant.start_serve()
        serve_away_s = clock.now() - serve_from
        last = plant.checkpoint("serve killed, away 10 min (×10), twenty wearables", timeout_s=240)
    finally:
        plant.close()
    assert outage_s >= 600
    assert serve_away_s >= 600
    # the scenario happened: about 10 min of 1 Hz, two signals, waited each time (24,000 at full
    # pace; the emulated air falls a little behind its ×10 clock on a loaded 2-core machine: 21,553
    # was seen beside a CPU hog); the guarantee is the equality below, sample for sample
    assert after.spooled - before.spooled >= 20 * 2 * 600 * 0.75
    assert last.spooled - after.spooled >= 20 * 2 * 600 * 0.75
    assert last.ledger == last.spooled
