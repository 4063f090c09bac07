"""`kraamwacht serve` as a real process against a real mosquitto: counted end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from kraamwacht.alerts import detect_alerts
from kraamwacht.contract import Topics
from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.storage.sqlite import SqliteStore
from kraamwacht.waiting import wait_for

SITE = "s1"


class Broker:
    """A paho client for the test: publish with QoS 1 and collect what arrives on some topics."""

    def __init__(self, url: str, *topics: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.received: dict[str, list[bytes]] = {}
        self._ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda _c, _u, m: self.received.setdefault(m.topic, []).append(m.payload)
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.connect(host, int(port))
        self.client.loop_start()
        for topic in topics:
            self._ready.clear()
            self.client.subscribe(topic, qos=1)
            assert self._ready.wait(5)

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(5)
        assert info.is_published()

    def messages(self, topic: str) -> list[dict]:
        return [json.loads(p) for p in self.received.get(topic, [])]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class ServeProcess:
    def __init__(self, url: str, tmp: Path) -> None:
        self.url, self.tmp = url, tmp
        self.db = tmp / "data" / "k.db"
        self.proc: subprocess.Popen | None = None
        self.log = tmp / "serve.log"

    def start(self, *extra: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
        store = [] if "--store" in extra else ["--store", f"sqlite:///{self.db}"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kraamwacht.cli", "serve", "--broker", self.url, "--site", SITE,
             *store, "--state-dir", str(self.tmp / "state"), "--rebuild-h", "1000", *extra],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log.open("ab"),  # a file: a full pipe would block serve
        )  # fmt: skip

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=20)

    def count(self) -> int:
        return SqliteStore(self.db).count() if self.db.exists() else 0

    def wait_count(self, n: int, timeout_s: float = 60.0) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.count() >= n:
                return self.count()
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        return self.count()


@pytest.fixture
def serve(mosquitto: str, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(mosquitto, tmp_path)
    yield process
    process.stop()


def message(device: str, seqs: range, *, episode: str = "ep1", subject: str = "m1", t0: datetime) -> bytes:
    samples = [
        {
            "signal": "temperature_c",
            "value": round(36.2 + (i % 7) / 100, 2),
            "t": (t0 + timedelta(seconds=i)).isoformat(),
            "seq": i,
        }
        for i in seqs
    ]
    return json.dumps({"v": 1, "device": device, "episode": episode, "subject": subject, "samples": samples}).encode()


def wait_online(broker: Broker, timeout_s: float = 30.0) -> None:
    topic = f"{Topics.ROOT}/{SITE}/status/serve"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(m.get("state") == "online" for m in broker.messages(topic)):
            return
        time.sleep(0.1)
    raise AssertionError("serve did not come online")


def test_every_sample_once_duplicates_counted_bad_messages_dead_lettered(mosquitto: str, serve: ServeProcess) -> None:
    status = f"{Topics.ROOT}/{SITE}/status/serve"
    broker = Broker(mosquitto, Topics.dead_letter(SITE), status)
    serve.start()
    wait_online(broker)
    t0 = datetime.now(tz=UTC) - timedelta(hours=2)
    topic = {d: Topics.observations(SITE, "ep1", f"m-{d}") for d in ("wb1", "wb2", "wb3")}
    for d in topic:
        for k in range(100):
            broker.publish(topic[d], message(d, range(5 * k, 5 * k + 5), subject=f"m-{d}", t0=t0))
    for k in range(20):  # redelivered by a gateway: counted as duplicates, stored once
        broker.publish(topic["wb1"], message("wb1", range(5 * k, 5 * k + 5), subject="m-wb1", t0=t0))
    bad = [
        (topic["wb1"], b"{not json"),
        (topic["wb1"], message("wb9", range(1), subject="other", t0=t0)),  # topic says m-wb1
        (topic["wb1"], message("wb1", range(900, 901), subject="m-wb1", t0=datetime.now(tz=UTC) + timedelta(hours=1))),
        (topic["wb1"], json.dumps({"v": 1, "device": "wb1", "episode": "ep1", "subject": "m-wb1",
                                   "samples": [{"signal": "glucose", "value": 5, "t": t0.isoformat(), "seq": 950}]}).encode()),
        (topic["wb1"], json.dumps({"v": 1, "device": "wb1", "episode": "ep1", "subject": "m-wb1",
                                   "samples": [{"signal": "heart_rate_bpm", "value": 400, "t": t0.isoformat(), "seq": 960}]}).encode()),
    ]  # fmt: skip
    for t, payload in bad:
        broker.publish(t, payload)
    assert serve.wait_count(1500) == 1500
    time.sleep(6)  # one status period
    assert serve.count() == 1500
    last = broker.messages(status)[-1]
    assert (last["stored"], last["duplicates"], last["rejected_total"]) == (1500, 100, 5)
    assert last["rejected"] == {
        "not_json": 1,
        "topic_mismatch": 1,
        "future_time": 1,
        "unknown_signal": 1,
        "out_of_range": 1,
    }
    reasons = sorted(d["reason"] for d in broker.messages(Topics.dead_letter(SITE)))
    assert reasons == ["future_time", "not_json", "out_of_range", "topic_mismatch", "unknown_signal"]
    broker.close()


def test_nothing_lost_when_serve_is_killed_and_messages_arrive_meanwhile(mosquitto: str, serve: ServeProcess) -> None:
    broker = Broker(mosquitto, f"{Topics.ROOT}/{SITE}/status/serve")
    serve.start()
    wait_online(broker)
    t0 = datetime.now(tz=UTC) - timedelta(hours=3)
    topic = Topics.observations(SITE, "ep1", "m1")
    for k in range(200):
        broker.publish(topic, message("wb1", range(10 * k, 10 * k + 10), t0=t0))
    serve.wait_count(500)
    serve.stop(signal.SIGKILL)  # mid-stream
    stored_at_kill = serve.count()
    for k in range(200, 400):  # published while serve is down: queued in its persistent session
        broker.publish(topic, message("wb1", range(10 * k, 10 * k + 10), t0=t0))
    serve.start()
    assert serve.wait_count(4000) == 4000
    time.sleep(1)
    assert serve.count() == 4000  # 0 lost, and (device, seq) cannot be stored twice
    assert 500 <= stored_at_kill <= 2000  # killed mid-stream: at most the 2,000 published before the kill
    broker.close()


def publish_fever(broker: Broker) -> tuple[dict, list]:
    """A fast fever of the last two days, published as the gateway would (60 samples a message)."""
    now = datetime.now(tz=UTC)
    scenario = MotherScenario.draw(
        "m9", "fast", seed=4, delivered_at_s=(now - timedelta(days=2.2)).timestamp(), days=2.0
    )
    samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=60.0)
    rows = sorted((t, s, v) for s, (ts, vs) in samples.items() for t, v in zip(ts.tolist(), vs.tolist(), strict=True))
    topic = Topics.observations(SITE, "ep9", "m9")
    for k in range(0, len(rows), 60):
        chunk = rows[k : k + 60]
        payload = {"v": 1, "device": "wb9", "episode": "ep9", "subject": "m9",
                   "samples": [{"signal": s, "value": v, "t": datetime.fromtimestamp(t, tz=UTC).isoformat(), "seq": k + j}
                               for j, (t, s, v) in enumerate(chunk)]}  # fmt: skip
        broker.publish(topic, json.dumps(payload).encode())
    return samples, rows


def test_live_alerts_equal_replay_alerts(mosquitto: str, serve: ServeProcess) -> None:
    events_topic = Topics.alert_events(SITE)
    broker = Broker(mosquitto, events_topic, f"{Topics.ROOT}/{SITE}/status/serve", Topics.alert_state(SITE, "ep9"))
    serve.start()
    wait_online(broker)
    samples, rows = publish_fever(broker)
    assert serve.wait_count(len(rows)) == len(rows)
    replayed = detect_alerts({s: (np.asarray(t), np.asarray(v)) for s, (t, v) in samples.items()}, subject="m9").events
    # live closes an epoch once the reorder grace has passed; the last minutes stay open
    horizon = datetime.fromtimestamp(rows[-1][0] - 300, tz=UTC)
    want = [(e.alert_id, e.event, e.rule, e.level, e.time.isoformat()) for e in replayed if e.time <= horizon]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        live = [
            (e["alert_id"], e["event"], e["rule"], e["level"], e["time"].replace("Z", "+00:00"))
            for e in broker.messages(events_topic)
        ]
        if len([x for x in live if x[4] <= horizon.isoformat()]) >= len(want):
            break
        time.sleep(0.2)
    live = [
        x
        for x in live
        if datetime.fromisoformat(x[4]) <= horizon and x[1] in {"raised", "escalated", "joined", "resolved"}
    ]
    assert want, "the fast fever must raise alerts"
    assert live == want
    # the retained state follows the events on its own topic: wait for it, do not assume it came first
    deadline = time.monotonic() + 60
    while not broker.messages(Topics.alert_state(SITE, "ep9")) and time.monotonic() < deadline:
        time.sleep(0.2)
    states = broker.messages(Topics.alert_state(SITE, "ep9"))
    assert states, "serve must publish the episode's alert state"
    assert states[-1]["episode"] == "ep9"
    # what serve recorded, exported and replayed, gives the live alerts again
    from typer.testing import CliRunner

    from kraamwacht.cli import app

    runner = CliRunner()
    out = serve.tmp / "export.csv"
    assert runner.invoke(app, ["export", "--store", f"sqlite:///{serve.db}", "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["replay", str(out), "--out", str(serve.tmp / "replayed.jsonl")]).exit_code == 0
    replayed_live = [json.loads(line) for line in (serve.tmp / "replayed.jsonl").read_text().splitlines()]
    again = [
        (e["alert_id"], e["event"], e["rule"], e["level"], e["time"].replace("Z", "+00:00")) for e in replayed_live
    ]

    def by_time(events: list[tuple[str, ...]]) -> list[tuple[str, ...]]:  # the file is sorted by time, then alert
        return sorted(events, key=lambda x: (x[4], x[0]))

    assert by_time([x for x in again if datetime.fromisoformat(x[4]) <= horizon]) == by_time(live)
    broker.close()


def test_acknowledge_and_snooze_commands_are_checked_audited_and_survive_a_restart(
    mosquitto: str, serve: ServeProcess, webhook: tuple[str, list]
) -> None:
    state_topic = Topics.alert_state(SITE, "ep9")
    results = Topics.command_results(SITE)
    broker = Broker(mosquitto, Topics.alert_events(SITE), results, state_topic, f"{Topics.ROOT}/{SITE}/status/serve")
    hook_url, pushed = webhook
    serve.start("--notify", hook_url)
    wait_online(broker)
    _, rows = publish_fever(broker)
    serve.wait_count(len(rows))
    open_alert = wait_for(
        lambda: next(
            (a for m in broker.messages(state_topic) for a in m["open_alerts"] if a["category"] == "clinical"), None
        )
    )

    def send(command_id: str, action: str, **extra) -> dict:
        body = {"v": 1, "command_id": command_id, "action": action, "alert_id": open_alert["alert_id"], "actor": "kv-12",
                "issued_at": datetime.now(tz=UTC).isoformat(), **extra}  # fmt: skip
        broker.publish(Topics.commands(SITE), json.dumps(body).encode())
        return wait_for(lambda: next((r for r in broker.messages(results) if r["command_id"] == command_id), None))

    wait_for(lambda: pushed)  # the raised alert also went out on the second channel
    assert any("m9" in p["title"] for p in pushed)
    refused = send("c1", "snooze", duration_min=45)
    assert (refused["accepted"], refused["reason"]) == (False, "snooze must be one of [15, 30, 60, 120] minutes")
    accepted = send("c2", "acknowledge", note="thermometer 38,4; verloskundige gebeld")
    assert accepted["accepted"] is True
    acked = wait_for(lambda: [e for e in broker.messages(Topics.alert_events(SITE)) if e["event"] == "acknowledged"])
    assert acked[0]["values"]["actor"] == "kv-12"
    assert "Bevestigd door kv-12" in acked[0]["message"]
    state = wait_for(
        lambda: next(
            (a for a in broker.messages(state_topic)[-1]["open_alerts"] if a["alert_id"] == open_alert["alert_id"]),
            None,
        )
    )
    assert (state["status"], state["acknowledged_by"]) == ("acknowledged", "kv-12")
    assert state["audit"][-1]["note"] == "thermometer 38,4; verloskundige gebeld"

    serve.stop()  # a restart loses nothing: the book comes back from the event log
    broker.received.clear()
    serve.start()
    wait_online(broker)
    restored = wait_for(
        lambda: [
            a for m in broker.messages(state_topic) for a in m["open_alerts"] if a["alert_id"] == open_alert["alert_id"]
        ]
    )
    assert (restored[-1]["status"], restored[-1]["acknowledged_by"]) == ("acknowledged", "kv-12")
    # positive control: a new alert after the restart must arrive; once it has, a re-raise would have too
    low = {"v": 1, "device": "wb9-control", "episode": "ep9", "subject": "m9",
           "samples": [{"signal": "battery_pct", "value": 12, "seq": 1,
                        "t": (datetime.now(tz=UTC) - timedelta(minutes=1)).isoformat()}]}  # fmt: skip
    broker.publish(Topics.observations(SITE, "ep9", "m9"), json.dumps(low).encode())
    wait_for(lambda: [e for e in broker.messages(Topics.alert_events(SITE)) if e["rule"] == "low_battery"], 60)
    raised = [e["rule"] for e in broker.messages(Topics.alert_events(SITE)) if e["event"] == "raised"]
    assert raised == ["low_battery"]  # the control only: nothing re-raised
    broker.close()


def test_serve_on_the_embedded_broker_over_mqtt_3_1_1(tmp_path: Path) -> None:
    from kraamwacht.broker import EmbeddedBroker
    from tests.integration.conftest import free_port

    embedded = EmbeddedBroker(port=free_port())
    embedded.start()
    process = ServeProcess(embedded.url, tmp_path)
    try:
        broker = Broker(embedded.url, f"{Topics.ROOT}/{SITE}/status/serve")
        process.start("--mqtt-version", "3.1.1")
        wait_online(broker)
        t0 = datetime.now(tz=UTC) - timedelta(hours=1)
        for k in range(100):
            broker.publish(Topics.observations(SITE, "ep1", "m1"), message("wb1", range(5 * k, 5 * k + 5), t0=t0))
        assert process.wait_count(500) == 500
        broker.close()
    finally:
        process.stop()
        embedded.stop()


def test_database_down_and_back_loses_nothing(mosquitto: str, influx_server, tmp_path: Path) -> None:
    process = ServeProcess(mosquitto, tmp_path)
    url = f"influx+v1://127.0.0.1:{influx_server.port}/kraamwacht"
    try:
        broker = Broker(mosquitto, f"{Topics.ROOT}/{SITE}/status/serve")
        process.start("--store", url)
        wait_online(broker)
        t0 = datetime.now(tz=UTC) - timedelta(hours=1)
        topic = Topics.observations(SITE, "ep1", "m1")
        for k in range(100):
            broker.publish(topic, message("wb1", range(10 * k, 10 * k + 10), t0=t0))
        wait_for(lambda: influx_server.count() == 1000, 30)
        influx_server.stop()  # the database goes away
        for k in range(100, 300):
            broker.publish(topic, message("wb1", range(10 * k, 10 * k + 10), t0=t0))
        outbox = SqliteStore(tmp_path / "state" / "outbox.db")
        wait_for(lambda: outbox.count() == 3000, 30)  # ingest goes on: committed locally
        assert outbox.backlog() >= 2000
        influx_server.start()  # and comes back
        wait_for(lambda: influx_server.count() == 3000, 90)
        status_topic = f"{Topics.ROOT}/{SITE}/status/serve"

        def drained() -> dict | None:  # serve's own count of what it wrote to InfluxDB, backlog empty
            messages = reversed(broker.messages(status_topic))
            return next((m for m in messages if m.get("forward_backlog") == 0 and m["forwarded"] >= 3000), None)

        status = wait_for(drained, 60, what="a status with the forward backlog empty")
        # counted at the write path, where a second write of a sample would show (InfluxDB's overwrite hides it)
        assert status["forwarded"] == 3000
        assert influx_server.count() == 3000  # 0 lost
        assert outbox.backlog() == 0
        broker.close()
    finally:
        process.stop()


def test_gateway_last_will_low_battery_and_status(mosquitto: str, serve: ServeProcess) -> None:
    import socket

    from typer.testing import CliRunner

    from kraamwacht.cli import app

    events = Topics.alert_events(SITE)
    broker = Broker(mosquitto, events, f"{Topics.ROOT}/{SITE}/status/serve")
    serve.start()
    wait_online(broker)
    host, port = mosquitto.removeprefix("mqtt://").split(":")
    gateway = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw1")
    gateway.will_set(Topics.gateway_status(SITE, "gw1"), json.dumps({"state": "offline"}), qos=1, retain=True)
    gateway.connect(host, int(port), keepalive=5)
    gateway.loop_start()
    gateway.publish(
        Topics.gateway_status(SITE, "gw1"), json.dumps({"state": "online"}), qos=1, retain=True
    ).wait_for_publish(5)
    gateway.loop_stop()
    gateway.socket().shutdown(socket.SHUT_RDWR)  # the gateway loses power: no DISCONNECT, the broker sends its will
    gateway.socket().close()
    down = wait_for(lambda: [e for e in broker.messages(events) if e["rule"] == "gateway_offline"], 30)
    assert (down[0]["event"], down[0]["level"], down[0]["category"]) == ("raised", "urgent", "technical")

    t = (datetime.now(tz=UTC) - timedelta(minutes=1)).isoformat()
    low = {
        "v": 1,
        "device": "wb1",
        "episode": "ep1",
        "subject": "m1",
        "samples": [{"signal": "battery_pct", "value": 12, "t": t, "seq": 1}],
    }
    broker.publish(Topics.observations(SITE, "ep1", "m1"), json.dumps(low).encode())
    battery = wait_for(lambda: [e for e in broker.messages(events) if e["rule"] == "low_battery"])
    assert battery[0]["values"]["battery_pct"] == 12

    time.sleep(6)  # a status period
    result = CliRunner().invoke(app, ["status", "--broker", mosquitto, "--site", SITE])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert (status["state"], status["stored"]) == ("online", 1)
    broker.close()


def test_status_without_serve_says_so(mosquitto: str) -> None:
    from typer.testing import CliRunner

    from kraamwacht.cli import app

    result = CliRunner().invoke(app, ["status", "--broker", mosquitto, "--site", "nobody", "--timeout-s", "1"])
    assert result.exit_code == 2
    assert "is it running?" in result.output


def test_serve_survives_a_broker_restart(tmp_path: Path) -> None:
    from tests.integration.test_gateway_spool import Mosquitto

    broker_process = Mosquitto(tmp_path)
    broker_process.start()
    url = f"mqtt://127.0.0.1:{broker_process.port}"
    process = ServeProcess(url, tmp_path)
    try:
        process.start()
        broker = Broker(url, f"{Topics.ROOT}/{SITE}/status/serve")
        wait_online(broker)
        t0 = datetime.now(tz=UTC) - timedelta(hours=1)
        topic = Topics.observations(SITE, "ep1", "m1")
        for k in range(50):
            broker.publish(topic, message("wb1", range(10 * k, 10 * k + 10), t0=t0))
        assert process.wait_count(500) == 500
        broker.close()
        broker_process.stop()  # the broker goes away, longer than serve's 5 s status period, and comes back
        time.sleep(7)
        broker_process.start()
        broker = Broker(url)
        for k in range(50, 100):
            broker.publish(topic, message("wb1", range(10 * k, 10 * k + 10), t0=t0))
        assert process.wait_count(1000, timeout_s=60) == 1000
        assert process.proc is not None
        assert process.proc.poll() is None  # still running
        broker.close()
    finally:
        process.stop()
        broker_process.stop()


def test_the_board_draws_the_baseline_serve_computes_with_its_own_config(
    mosquitto: str, serve: ServeProcess, tmp_path: Path
) -> None:
    """One truth: serve runs a non-default --config; the board's chart shows that baseline, not its own."""
    import pandas as pd

    from kraamwacht.dashboard.charts import temperature_chart
    from kraamwacht.dashboard.client import chart_frames
    from kraamwacht.dashboard.feed import BoardFeed
    from kraamwacht.publish import BrokerAddress
    from kraamwacht.settings import load_detector_config
    from kraamwacht.signal import detect

    config = tmp_path / "site.toml"
    config.write_text("[temperature]\ncircadian_amplitude_c = 0.0\n\n[rise]\nk_c = 0.55\n")
    cfg = load_detector_config(config)
    feed = BoardFeed(BrokerAddress.parse(mosquitto), SITE)
    broker = Broker(mosquitto, f"{Topics.ROOT}/{SITE}/status/serve")
    serve.start("--config", str(config))
    wait_online(broker)
    samples, rows = publish_fever(broker)
    assert serve.wait_count(len(rows)) == len(rows)
    arrays = {s: (np.asarray(t), np.asarray(v)) for s, (t, v) in samples.items()}
    ours = detect(arrays, cfg, subject="m9").frame
    default = detect(arrays, subject="m9").frame
    last_point = ours.time_s[(ours.time_s % 600 == 0) & (ours.time_s <= rows[-1][0] - 300)][-1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # serve publishes its series as epochs close; wait for the last one
        baseline = feed.baseline("ep9", "m9")
        if baseline is not None and baseline.t_s and baseline.t_s[-1] >= last_point:
            break
        time.sleep(0.2)
    assert baseline is not None, "serve published no baseline for the board"
    assert baseline.t_s
    assert (baseline.rise_k_c, baseline.skin_to_core_offset_c) == (0.55, 0.65)
    at = np.searchsorted(ours.time_s, np.asarray(baseline.t_s))
    drawn = np.array([np.nan if b is None else b for b in baseline.baseline_skin_c])
    established = ~np.isnan(drawn)
    assert established.sum() > 100  # two days of points every 10 min, after the 12 h warm-up
    np.testing.assert_allclose(drawn[established], ours.baseline_c[at][established], atol=0.001)
    assert np.nanmax(np.abs(drawn - default.baseline_c[at])) > 0.1  # the board's old default would differ
    temp, _hr = chart_frames({s: (t, v) for s, (t, v) in arrays.items()})
    spec = json.loads(temperature_chart(temp, baseline, pd.DataFrame(), []).to_json())
    band = [row for data in spec["datasets"].values() for row in data if row.get("serie") == "basislijn (huid)"]
    low = np.array([np.nan if row["low"] is None else row["low"] for row in band])
    high = np.array([np.nan if row["high"] is None else row["high"] for row in band])
    np.testing.assert_allclose(low[~np.isnan(low)], drawn[established], atol=0.001)  # the chart draws serve's
    np.testing.assert_allclose(high[~np.isnan(high)] - low[~np.isnan(low)], 0.55, atol=1e-9)  # serve's k
    feed.close()
    broker.close()


def test_a_command_in_someone_elses_name_is_refused(mosquitto: str, serve: ServeProcess) -> None:
    """serve with the staff's keys: only a command its actor signed is applied (a forged name is refused)."""
    from kraamwacht.contract import CommandMessage
    from kraamwacht.staffkeys import StaffKeys, derive_key, sign

    keys = serve.tmp / "staff-keys.json"
    StaffKeys(keys).set("anna", derive_key("anna", "kraam-wacht-2026"))
    StaffKeys(keys).set("bob", derive_key("bob", "ander-wachtwoord-1"))
    results, events = Topics.command_results(SITE), Topics.alert_events(SITE)
    broker = Broker(mosquitto, results, events, f"{Topics.ROOT}/{SITE}/status/serve")
    serve.start("--staff-keys", str(keys))
    wait_online(broker)
    low = {"v": 1, "device": "wb1", "episode": "ep1", "subject": "m1",
           "samples": [{"signal": "battery_pct", "value": 9, "seq": 1,
                        "t": (datetime.now(tz=UTC) - timedelta(minutes=1)).isoformat()}]}  # fmt: skip
    broker.publish(Topics.observations(SITE, "ep1", "m1"), json.dumps(low).encode())
    alert_id = wait_for(lambda: next((e["alert_id"] for e in broker.messages(events) if e["event"] == "raised"), None))

    def send(command: CommandMessage) -> dict:
        broker.publish(Topics.commands(SITE), command.model_dump_json().encode())
        return wait_for(
            lambda: next((r for r in broker.messages(results) if r["command_id"] == command.command_id), None)
        )

    def ack(command_id: str) -> CommandMessage:
        return CommandMessage(v=1, command_id=command_id, action="acknowledge", alert_id=alert_id, actor="anna",
                              issued_at=datetime.now(tz=UTC))  # fmt: skip

    forged = send(sign(derive_key("bob", "ander-wachtwoord-1"), ack("c1")))  # bob, in anna's name
    assert (forged["accepted"], forged["reason"]) == (False, "not signed by anna: log in again on the board")
    assert send(ack("c2"))["accepted"] is False  # her name alone
    signed = send(sign(derive_key("anna", "kraam-wacht-2026"), ack("c3")))
    assert signed["accepted"] is True  # the control: her own signature
    acked = wait_for(lambda: [e for e in broker.messages(events) if e["event"] == "acknowledged"])
    assert [(e["values"]["actor"], e["values"]["verified"]) for e in acked] == [("anna", 1)]  # once, verified
    broker.close()


def test_a_typed_in_reading_in_someone_elses_name_is_refused(mosquitto: str, serve: ServeProcess) -> None:
    """serve with the staff's keys stores a typed-in reading only if the person it names signed it:
    unsigned, or signed with another's password, it is dead-lettered (unverified_actor), not stored."""
    import sqlite3

    from kraamwacht.staffkeys import StaffKeys, derive_key

    keys = serve.tmp / "staff-keys.json"
    StaffKeys(keys).set("anna", derive_key("anna", "kraam-wacht-2026"))
    dead = Topics.dead_letter(SITE)
    broker = Broker(mosquitto, dead, f"{Topics.ROOT}/{SITE}/status/serve")
    serve.start("--staff-keys", str(keys))
    wait_online(broker)

    def enter(value: float, password: str | None) -> None:
        args = [sys.executable, "-m", "kraamwacht.cli", "temp", "enter", "--broker", mosquitto, "--site", SITE,
                "--episode", "ep1", "--subject", "m1", "--entered-by", "anna", "--value", str(value)]  # fmt: skip
        if password is not None:
            args.append("--password-stdin")
        done = subprocess.run(args, input=f"{password}\n" if password else "", capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr

    enter(37.1, None)  # her name alone
    enter(37.2, "ander-wachtwoord-1")  # someone else's password
    wait_for(lambda: len(broker.messages(dead)) >= 2, 60, what="two dead letters")
    refused = broker.messages(dead)
    assert [m["reason"] for m in refused] == ["unverified_actor", "unverified_actor"]
    assert "anna" in refused[0]["detail"]
    enter(37.3, "kraam-wacht-2026")  # the control: her own password
    assert serve.wait_count(1) == 1
    with sqlite3.connect(serve.db) as db:
        stored = db.execute("SELECT value, entered_by FROM observations").fetchall()
    assert stored == [(37.3, "anna")]  # only the signed one, and nothing of the refused
    broker.close()
