"""The gateway's spool and publisher against a real mosquitto: a broker outage and a killed gateway lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt

from kraamwacht.gateway.publisher import SpoolPublisher
from kraamwacht.gateway.spool import Spool
from kraamwacht.publish import BrokerAddress
from kraamwacht.waiting import wait_for
from tests.integration.conftest import Mosquitto

T0 = datetime.now(tz=UTC) - timedelta(hours=1)


class Counter:
    """A persistent-session subscriber that records every (device, seq) it receives."""

    def __init__(self, port: int) -> None:
        self.seen: list[tuple[str, int]] = []
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="counter", clean_session=False, protocol=mqtt.MQTTv311
        )
        self.client.on_connect = lambda c, *_: c.subscribe("kraamwacht/v1/s1/+/+/obs", qos=1)
        self.client.on_message = lambda _c, _u, m: self.seen.extend(
            (json.loads(m.payload)["device"], s["seq"]) for s in json.loads(m.payload)["samples"]
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def fill(spool: Spool, devices: int, per_device: int) -> None:
    for d in range(devices):
        samples = [("temperature_c", 36.5, T0 + timedelta(seconds=i), ()) for i in range(per_device)]
        spool.append(site="s1", episode="ep1", subject=f"m{d}", device=f"wb{d}", samples=samples)


def test_spool_numbers_persist_and_evicts_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_samples=250)
    fill(spool, 1, 200)
    reopened = Spool(tmp_path / "s.db", max_samples=250)
    assert reopened.append(
        site="s1", episode="ep1", subject="m0", device="wb0", samples=[("heart_rate_bpm", 80, T0, ())] * 100
    ) == list(range(200, 300))  # numbering carries on after a restart
    assert (len(reopened), reopened.evicted) == (250, 50)
    first = json.loads(reopened.next_messages(max_samples=1)[0].payload)
    assert first["samples"][0]["seq"] == 50  # the oldest 50 went first


def test_broker_outage_loses_nothing(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    broker.start()
    counter = Counter(broker.port)
    spool = Spool(tmp_path / "spool.db")
    stop = threading.Event()
    publisher = SpoolPublisher(spool, BrokerAddress("127.0.0.1", broker.port), site="s1", gateway="gw1")
    thread = threading.Thread(target=publisher.run, args=(stop,))
    thread.start()
    try:
        fill(spool, 10, 200)
        wait_for(lambda: len(spool) == 0)
        broker.stop()  # the broker goes away; BLE keeps delivering
        fill(spool, 10, 300)
        time.sleep(2)
        assert len(spool) == 3000
        broker.start()  # back, with the counter's session
        wait_for(lambda: len(spool) == 0)
        wait_for(lambda: len(set(counter.seen)) == 5000)
        assert set(counter.seen) == {(f"wb{d}", s) for d in range(10) for s in range(500)}
    finally:
        stop.set()
        thread.join(10)
        counter.close()
        broker.stop()


def test_gateway_killed_and_restarted_loses_nothing(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    broker.start()
    counter = Counter(broker.port)
    spool = Spool(tmp_path / "spool.db")
    fill(spool, 20, 500)
    spool.close()
    code = (
        "import sys, threading; sys.path.insert(0, {root!r});"
        "from kraamwacht.gateway.spool import Spool; from kraamwacht.gateway.publisher import SpoolPublisher;"
        "from kraamwacht.publish import BrokerAddress;"
        "SpoolPublisher(Spool({db!r}), BrokerAddress('127.0.0.1', {port}), site='s1', gateway='gw1').run(threading.Event())"
    ).format(root=str(Path(__file__).parents[2]), db=str(tmp_path / "spool.db"), port=broker.port)
    try:
        gateway = subprocess.Popen([sys.executable, "-c", code])
        wait_for(lambda: len(set(counter.seen)) >= 2000)
        os.kill(gateway.pid, signal.SIGKILL)  # mid-stream
        gateway.wait()
        assert len(set(counter.seen)) < 10_000
        gateway = subprocess.Popen([sys.executable, "-c", code])
        wait_for(lambda: len(set(counter.seen)) == 10_000)
        assert set(counter.seen) == {(f"wb{d}", s) for d in range(20) for s in range(500)}
        gateway.kill()
        gateway.wait()
    finally:
        counter.close()
        broker.stop()
