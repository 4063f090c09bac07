"""The gateway's spool and publisher against a real mosquitto: a broker outage and a killed gateway lose nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt

from kraamwacht.contract import Topics, parse_observation_message
from kraamwacht.gateway.publisher import MAX_BATCH_SAMPLES, SpoolPublisher
from kraamwacht.gateway.spool import Spool
from kraamwacht.publish import BrokerAddress
from kraamwacht.waiting import wait_for
from tests.integration.conftest import Mosquitto

T0 = datetime.now(tz=UTC) - timedelta(hours=1)


class Counter:
    """A persistent-session subscriber that records every (device, seq) it receives, in either message version."""

    def __init__(self, port: int) -> None:
        self.seen: list[tuple[str, int]] = []
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="counter", clean_session=False, protocol=mqtt.MQTTv311
        )
        self.client.on_connect = lambda c, *_: c.subscribe(Topics.gateway_observations_filter("s1"), qos=1)
        self.client.on_message = lambda _c, _u, m: self.seen.extend(
            (o.device, o.seq)
            for o in parse_observation_message(m.payload, topic=None, receive_time=datetime.now(tz=UTC))[0]
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


def test_each_opening_numbers_in_its_own_stream_and_spooled_rows_keep_theirs(tmp_path: Path) -> None:
    first = Spool(tmp_path / "s.db")
    fill(first, 1, 3)
    first.close()
    second = Spool(tmp_path / "s.db")  # a restart, or a spool a power cut rolled back
    fill(second, 1, 2)
    messages = [json.loads(m.payload) for m in second.next_messages()]
    assert [(m["stream"], [x["seq"] for x in m["samples"]]) for m in messages] == [
        (first.stream, [0, 1, 2]),  # what was spooled before goes out under the numbering it had
        (second.stream, [3, 4]),
    ]
    assert first.stream != second.stream
    assert all(re.fullmatch(r"gw-[0-9a-f]{16}", m["stream"]) for m in messages)


def test_a_spool_from_before_streams_keeps_its_rows_in_the_legacy_numbering(tmp_path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "old.db")
    db.executescript(
        "CREATE TABLE samples (id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, episode TEXT NOT NULL,"
        " subject TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL, signal TEXT NOT NULL,"
        " value REAL NOT NULL, t TEXT NOT NULL, q TEXT NOT NULL);"
        "INSERT INTO samples (site, episode, subject, device, seq, signal, value, t, q)"
        " VALUES ('s1', 'ep1', 'm0', 'wb0', 7, 'temperature_c', 36.5, '2026-11-20T08:00:00+00:00', '');"
    )
    db.commit()
    db.close()
    (message,) = Spool(tmp_path / "old.db").next_messages()
    body = json.loads(message.payload)
    assert "stream" not in body or body["stream"] is None
    assert body["samples"][0]["seq"] == 7


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
        wait_for(lambda: not publisher.connected, 60, what="the publisher to see the broker gone")
        fill(spool, 10, 300)
        assert len(spool) == 3000  # all kept while the broker is away
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
    """Killed as ``kill -9`` would at the worst moment: the broker has a round of the backlog, the
    spool does not know it yet (``KRAAMWACHT_CRASH_AT=sent``). A kill at a moment the test hopes to
    hit is no test: the whole backlog leaves in milliseconds, before a counter has seen any of it."""
    broker = Mosquitto(tmp_path)
    broker.start()
    counter = Counter(broker.port)
    spool = Spool(tmp_path / "spool.db")
    fill(spool, 20, 500)  # two rounds of MAX_BATCH_SAMPLES
    spool.close()
    code = (
        "import sys, threading; sys.path.insert(0, {root!r});"
        "from kraamwacht.gateway.spool import Spool; from kraamwacht.gateway.publisher import SpoolPublisher;"
        "from kraamwacht.publish import BrokerAddress;"
        "SpoolPublisher(Spool({db!r}), BrokerAddress('127.0.0.1', {port}), site='s1', gateway='gw1').run(threading.Event())"
    ).format(root=str(Path(__file__).parents[2]), db=str(tmp_path / "spool.db"), port=broker.port)
    try:
        gateway = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "KRAAMWACHT_CRASH_AT": "sent"})
        assert gateway.wait(timeout=120) == 137  # died at the crash point, mid-stream
        wait_for(lambda: len(set(counter.seen)) >= 500)  # what the broker took reaches the counter
        assert len(set(counter.seen)) <= MAX_BATCH_SAMPLES  # the second round never left
        reopened = Spool(tmp_path / "spool.db")
        assert len(reopened) == 10_000  # and the spool still holds all of it
        reopened.close()
        gateway = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "KRAAMWACHT_CRASH_AT": ""})
        wait_for(lambda: len(set(counter.seen)) == 10_000)
        assert set(counter.seen) == {(f"wb{d}", s) for d in range(20) for s in range(500)}
        assert len(counter.seen) > 10_000  # the first round came twice; the identities tell the copies apart
        gateway.kill()
        gateway.wait()
    finally:
        counter.close()
        broker.stop()


def retained_statuses(port: int, devices: list[str]) -> dict[str, dict]:
    """The wearables' statuses the broker retains, as a new subscriber sees them at once.

    Subscribed one topic per device in one SUBSCRIBE, with a last topic that always holds a
    retained message (published first): mosquitto sends the retained messages in the order of the
    filters, so once that last one has arrived every retained status has.
    """
    marker = "kraamwacht/s1/test/marker"
    seen: dict[str, dict] = {}
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        if m.topic == marker:
            done.set()
        elif m.payload:
            body = json.loads(m.payload)
            seen[body["device"]] = body

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(marker, b"1", qos=1, retain=True).wait_for_publish(10)
        topics = [(Topics.device_status("s1", "gw1", d), 1) for d in devices] + [(marker, 1)]
        client.subscribe(topics)
        assert done.wait(30), "the broker's retained messages did not arrive"
    finally:
        client.disconnect()
        client.loop_stop()
    return seen


def test_an_unpaired_wearables_retained_status_is_cleared_also_after_a_restart(tmp_path: Path) -> None:
    """A wearable that leaves the gateway must not stay on the broker as 'not connected' for ever
    (``kraamwacht doctor`` would report it as an error for good)."""
    from kraamwacht.gateway.registry import Registry
    from kraamwacht.gateway.status import StatusBoard

    broker = Mosquitto(tmp_path)
    broker.start()
    registry = Registry(tmp_path / "registry.db")
    for serial in ("a1", "b2"):
        registry.pair(serial, site="s1", episode="ep1", subject=f"m-{serial}")

    @contextmanager
    def gateway_running(board: StatusBoard) -> Iterator[None]:
        publisher = SpoolPublisher(
            Spool(tmp_path / "spool.db"), BrokerAddress("127.0.0.1", broker.port),
            site="s1", gateway="gw1", board=board, registry=registry,
        )  # fmt: skip
        stop = threading.Event()
        thread = threading.Thread(target=publisher.run, args=(stop,))
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(20)

    devices = ["wb-a1", "wb-b2"]
    board = StatusBoard()
    for serial in ("a1", "b2"):
        board.update(f"wb-{serial}", serial, connected=True, battery_pct=80)
    try:
        with gateway_running(board):
            wait_for(lambda: set(retained_statuses(broker.port, devices)) == set(devices), 60, what="both statuses")
            registry.unpair("b2")  # while the gateway runs
            board.update("wb-b2", "b2", connected=False)  # the gateway lets it go: a last status it must not publish
            wait_for(lambda: set(retained_statuses(broker.port, devices)) == {"wb-a1"}, 60, what="b2's status cleared")
        registry.unpair("a1")  # while the gateway is stopped: the restarted gateway has an empty board
        with gateway_running(StatusBoard()):
            wait_for(
                lambda: retained_statuses(broker.port, devices) == {}, 60, what="a1's status cleared after a restart"
            )
            assert registry.stale_statuses() == []
    finally:
        broker.stop()  # also when a wait above fails: no mosquitto left behind
