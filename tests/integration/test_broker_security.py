"""The secured deployment against a real mosquitto with ``kraamwacht broker-config``'s output:
TLS only, no anonymous access, and each account confined to its own site and role."""

from __future__ import annotations

import json
import os
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from kraamwacht.broker_config import secrets_dir_for
from kraamwacht.contract import Topics
from kraamwacht.publish import BrokerAddress
from kraamwacht.waiting import wait_for
from tests.integration.conftest import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


class Secured:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.secrets = secrets_dir_for(folder)  # broker-config's default, beside the broker's folder
        self.port = free_port()
        result = subprocess.run(
            [sys.executable, "-m", "kraamwacht.cli", "broker-config", str(folder), "--site", "s1", "--site", "s2",
             "--gateway", "s1:gw1", "--gateway", "s1:gw2", "--gateway", "s2:gw1", "--port", str(self.port), "--bind", "127.0.0.1",
             "--run-as", "root", "--board-hostname", "127.0.0.1"],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        self.output = result.stdout
        self.proc = subprocess.Popen(["mosquitto", "-c", str(folder / "mosquitto.conf")], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
        wait_for_port(self.port)

    def password(self, account: str) -> str:
        return (self.secrets / "credentials" / account).read_text().strip()

    def url(self, account: str) -> str:
        return f"mqtts://{account}@127.0.0.1:{self.port}?ca={self.folder / 'ca.crt'}&password_file={self.secrets / 'credentials' / account}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Secured]:
    broker = Secured(tmp_path / "broker")
    yield broker
    broker.stop()


class Client:
    """A paho client that records what it receives and how its connection was answered."""

    def __init__(self, address: BrokerAddress, *, subscribe: str | list[str] | None = None) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.answer: mqtt.ReasonCode | None = None
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        address.apply(self.client)
        self.subscribed = threading.Event()

        def on_connect(client: mqtt.Client, _u: object, _f: object, reason: mqtt.ReasonCode, _p: object) -> None:
            self.answer = reason
            self.connected.set()
            if subscribe and not reason.is_failure:
                client.subscribe([(t, 1) for t in ([subscribe] if isinstance(subscribe, str) else subscribe)])

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, m.payload))
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        assert self.connected.wait(10), "no CONNACK"
        if subscribe and not self.answer.is_failure:
            assert self.subscribed.wait(10)

    def publish(self, topic: str, payload: bytes) -> mqtt.MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        return info

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _obs(
    site: str,
    seq: int,
    *,
    gateway: str | None = "gw1",
    device: str = "wb-0001",
    episode: str = "ep1",
    subject: str = "m1",
) -> tuple[str, bytes]:
    """A wearable's observation on ``gateway``'s topic (the open topic with None)."""
    body = {"v": 1, "device": device, "episode": episode, "subject": subject,
            "samples": [{"signal": "temperature_c", "value": 36.7, "t": datetime.now(tz=UTC).isoformat(), "seq": seq}]}  # fmt: skip
    return Topics.observations(site, episode, subject, gateway=gateway), json.dumps(body).encode()


def _entry(site: str, seq: int) -> tuple[str, bytes]:
    """A typed-in thermometer reading on the entries' topic (the board's to write)."""
    body = {"v": 1, "device": "manual-anna", "episode": "ep1", "subject": "m1",
            "samples": [{"signal": "thermometer_c", "value": 37.0, "t": datetime.now(tz=UTC).isoformat(), "seq": seq,
                         "q": ["manual"], "entered_by": "anna", "method": "rectal"}]}  # fmt: skip
    return Topics.entries(site, "ep1", "m1"), json.dumps(body).encode()


def test_anonymous_wrong_password_and_plain_tcp_are_refused(secured: Secured) -> None:
    anonymous = Client(BrokerAddress.parse(f"mqtts://127.0.0.1:{secured.port}?ca={secured.folder / 'ca.crt'}"))
    assert anonymous.answer.is_failure  # "Not authorized"
    anonymous.close()
    wrong = Client(
        BrokerAddress("127.0.0.1", secured.port, "gw-s1-gw1", "not-the-password", True, str(secured.folder / "ca.crt"))
    )
    assert wrong.answer.is_failure
    wrong.close()
    assert not _plain_tcp_gets_a_connack(secured.port, "gw-s1-gw1", secured.password("gw-s1-gw1"))
    untrusted = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    untrusted.tls_set()  # the system's authorities do not know this deployment's CA: the certificate is refused
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusted.connect("127.0.0.1", secured.port)


def _plain_tcp_gets_a_connack(port: int, user: str, password: str) -> bool:
    plain = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    plain.username_pw_set(user, password)
    try:
        plain.connect("127.0.0.1", port, keepalive=5)
    except OSError:
        return False
    plain.loop_start()
    deadline = time.monotonic() + 5
    while not plain.is_connected() and time.monotonic() < deadline:
        time.sleep(0.1)
    plain.loop_stop()
    return plain.is_connected()


def test_a_gateway_writes_only_its_own_site_and_reads_nothing(secured: Secured) -> None:
    serve1 = Client(BrokerAddress.parse(secured.url("serve-s1")), subscribe=Topics.observations_filters("s1"))
    serve2 = Client(BrokerAddress.parse(secured.url("serve-s2")), subscribe=Topics.observations_filters("s2"))
    board1 = Client(BrokerAddress.parse(secured.url("board-s1")), subscribe=f"{Topics.ROOT}/#")
    spy = Client(BrokerAddress.parse(secured.url("gw-s1-gw1")), subscribe="#")  # tries to read everything
    gateway = Client(BrokerAddress.parse(secured.url("gw-s1-gw1")))
    gw2 = Client(BrokerAddress.parse(secured.url("gw-s2-gw1")))
    try:
        assert not gateway.answer.is_failure
        own = gateway.publish(*_obs("s1", 1))
        gateway.publish(*_obs("s2", 2))  # another site's topic
        assert own.rc == mqtt.MQTT_ERR_SUCCESS
        serve1.publish(
            Topics.alert_state("s1", "ep1"), b'{"episode": "ep1", "open_alerts": []}'
        )  # refused for serve? no: its own
        board1.publish(Topics.commands("s1"), b'{"v": 1}')
        serve2.publish(Topics.observations("s1", "ep1", "m1"), _obs("s1", 3)[1])  # serve may not write observations
        # positive controls, sent after the forbidden ones: once they have arrived, so would have anything before them
        control_s2 = gw2.publish(*_obs("s2", 9))  # site s2's own gateway: serve2 must read this one
        assert control_s2.rc == mqtt.MQTT_ERR_SUCCESS
        gateway.publish(*_obs("s1", 10))  # and serve1 this one
        wait_for(lambda: serve2.received, 60, what="the control observation of site s2 at serve-s2")
        wait_for(lambda: len(serve1.received) >= 2, 60, what="the control observation of site s1 at serve-s1")
        wait_for(lambda: Topics.alert_state("s1", "ep1") in {t for t, _ in board1.received}, 60, what="alert state")
        own_topic = Topics.observations("s1", "ep1", "m1", gateway="gw1")
        assert [t for t, _ in serve1.received] == [own_topic] * 2  # only the gateway's own
        assert [json.loads(p)["samples"][0]["seq"] for _, p in serve1.received] == [
            1,
            10,
        ]  # not serve2's forged one (seq 3)
        assert [json.loads(p)["samples"][0]["seq"] for _, p in serve2.received] == [
            9
        ]  # the write to site s2 by gw-s1 was dropped
        assert spy.received == []  # a gateway reads nothing, not even its own site (the controls above came later)
        board_topics = {t for t, _ in board1.received}
        assert Topics.alert_state("s1", "ep1") in board_topics  # the board reads its site's alerts ...
        assert own_topic not in board_topics  # ... never the raw observations
    finally:
        for c in (serve1, serve2, board1, spy, gateway, gw2):
            c.close()


def test_a_board_reads_only_its_own_site(secured: Secured) -> None:
    from kraamwacht.doctor import DROPPED_TOPIC

    board2 = Client(BrokerAddress.parse(secured.url("board-s2")), subscribe=f"{Topics.ROOT}/#")
    serve1 = Client(BrokerAddress.parse(secured.url("serve-s1")))
    serve2 = Client(BrokerAddress.parse(secured.url("serve-s2")))
    doctor = Client(BrokerAddress.parse(secured.url("board-s1")), subscribe=DROPPED_TOPIC)
    gateway = Client(BrokerAddress.parse(secured.url("gw-s1-gw1")), subscribe=DROPPED_TOPIC)
    try:
        serve1.publish(Topics.alert_state("s1", "ep1"), b'{"episode": "ep1", "open_alerts": []}')
        serve1.publish(Topics.alert_events("s1"), b"{}")
        serve2.publish(
            Topics.alert_state("s2", "ep2"), b'{"episode": "ep2", "open_alerts": []}'
        )  # control: its own site
        wait_for(lambda: board2.received, 60, what="site s2's alert state at board-s2")
        wait_for(lambda: doctor.received, 60, what="the doctor's $SYS read")
        assert [t for t, _ in board2.received] == [Topics.alert_state("s2", "ep2")]  # nothing of site s1 before it
        assert [t for t, _ in doctor.received] == [DROPPED_TOPIC]  # the doctor's one $SYS read
        assert gateway.received == []  # the same $SYS topic, refused to a gateway
    finally:
        for c in (board2, serve1, serve2, doctor, gateway):
            c.close()


def test_serve_and_a_typed_in_reading_over_tls_and_no_secret_in_the_logs(secured: Secured, tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    log = tmp_path / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KRAAMWACHT_MQTT_PASSWORD": secured.password("serve-s1")}
    serve_url = (
        f"mqtts://serve-s1@127.0.0.1:{secured.port}?ca={secured.folder / 'ca.crt'}"  # password from the environment
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", "-v", "serve", "--broker", serve_url, "--site", "s1",
         "--store", f"sqlite:///{db}", "--state-dir", str(tmp_path / "serve")],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    now = datetime.now(tz=UTC)
    try:
        time.sleep(3)
        entered = subprocess.run(
            [sys.executable, "-m", "kraamwacht.cli", "-v", "bili", "enter", "--broker", secured.url("board-s1"),
             "--site", "s1", "--episode", "ep1", "--subject", "b1", "--entered-by", "anna",
             "--birth", (now - timedelta(hours=40)).isoformat(), "--measured", (now - timedelta(minutes=5)).isoformat(),
             "--ga-weeks", "39", "--value", "150", "--method", "tcb"],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=False,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        rows = 0
        while time.monotonic() < deadline and rows == 0:
            if db.exists():
                with sqlite3.connect(db) as conn:
                    rows = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
            time.sleep(0.3)
        status = subprocess.run(
            [sys.executable, "-m", "kraamwacht.cli", "status", "--broker", secured.url("board-s1"), "--site", "s1"],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        serve.terminate()
        serve.wait(20)
    assert entered.returncode == 0, entered.stdout + entered.stderr
    assert rows == 1  # the board's reading, through TLS and the ACL, stored by serve
    assert status.returncode == 0, status.stdout + status.stderr
    assert "stored" in json.loads(status.stdout)  # the board's account reads serve's status (the doctor uses it)
    logs = log.read_text() + entered.stdout + entered.stderr + status.stdout + status.stderr + secured.output
    for account in ("serve-s1", "board-s1", "gw-s1-gw1"):
        assert secured.password(account) not in logs  # secrets never in logs or on the screen
    assert "mqtts://serve-s1@127.0.0.1" in log.read_text()  # the account is named, its password is not


def test_a_refused_publish_is_never_taken_for_delivered(secured: Secured, tmp_path) -> None:
    """MQTT 5 reason codes: a typed-in reading the ACL refuses says so; a gateway keeps a refused sample spooled."""
    from kraamwacht.gateway.publisher import SpoolPublisher
    from kraamwacht.gateway.spool import Spool
    from kraamwacht.publish import PublishError, publish
    from kraamwacht.waiting import wait_for

    board = BrokerAddress.parse(secured.url("board-s1"))
    publish(board, [_entry("s1", 1)])  # its own site: accepted
    with pytest.raises(PublishError, match=r"refused .*Not authorized"):
        publish(board, [_entry("s2", 2)])  # another site's readings: refused, and said
    spool = Spool(tmp_path / "spool.db")
    now = datetime.now(tz=UTC)
    for site in ("s1", "s2"):  # the second is not this gateway's to write
        spool.append(
            site=site, episode="ep1", subject="m1", device=f"wb-{site}", samples=[("temperature_c", 36.6, now, ())]
        )
    publisher = SpoolPublisher(
        spool, BrokerAddress.parse(secured.url("gw-s1-gw1")), site="s1", gateway="gw1", batch_s=0.2
    )
    stop = threading.Event()
    worker = threading.Thread(target=publisher.run, args=(stop,), daemon=True)
    worker.start()
    try:
        wait_for(lambda: publisher.published == 1 and publisher.refused >= 1, 60, what="one delivered, one refused")
    finally:
        stop.set()
        worker.join(20)
    assert len(spool) == 1  # the refused sample stays spooled, to go when the broker takes it
    assert [m.topic for m in spool.next_messages()] == [Topics.observations("s2", "ep1", "m1")]


def test_a_board_command_the_broker_refuses_is_told_as_refused(secured: Secured) -> None:
    """The board's commands speak MQTT 5: one to another site is refused with the broker's reason at
    once, while one to its own site is taken by the broker (and, with no serve running, unanswered)."""
    from kraamwacht.dashboard.feed import BoardFeed

    board = BrokerAddress.parse(secured.url("board-s1"))
    foreign = BoardFeed(board, "s2")
    own = BoardFeed(board, "s1")
    try:
        wait_for(lambda: foreign.connected.is_set() and own.connected.is_set(), 30, what="the board's connections")
        refused = foreign.command("acknowledge", "a1", actor="anna", timeout_s=30)
        assert not refused.accepted
        assert "refused by the broker" in refused["reason"]
        assert "Not authorized" in refused["reason"]
        taken = own.command("acknowledge", "a1", actor="anna", timeout_s=3)  # the control: the broker took it
        assert not taken.accepted
        assert taken["reason"] == "no answer from the alert service"
    finally:
        foreign.close()
        own.close()


def test_a_packet_over_the_contracts_size_is_refused_at_the_broker(secured: Secured) -> None:
    from kraamwacht.broker_config import MAX_PACKET_BYTES
    from kraamwacht.publish import PublishError, publish

    assert f"max_packet_size {MAX_PACKET_BYTES}" in (secured.folder / "mosquitto.conf").read_text()
    board = BrokerAddress.parse(secured.url("board-s1"))
    topic = Topics.entries("s1", "ep1", "m1")
    with pytest.raises(PublishError):  # the broker closes the connection: the publisher is told, not fooled
        publish(board, [(topic, b"x" * (MAX_PACKET_BYTES + 1))], timeout_s=10)
    publish(board, [_entry("s1", 5)])  # and a normal reading still goes


def _handshake(secured: Secured, *, version: ssl.TLSVersion, server_hostname: str) -> str:
    """The TLS version the broker agreed to, or raises the error of a refused handshake."""
    import socket

    context = ssl.create_default_context(cafile=str(secured.folder / "ca.crt"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # asking for TLS 1.1 on purpose
        context.minimum_version = context.maximum_version = version
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer old versions: the broker must refuse them
    with (
        socket.create_connection(("127.0.0.1", secured.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        return str(tls.version())


def test_tls_below_1_2_and_a_wrong_host_name_are_refused(secured: Secured) -> None:
    assert _handshake(secured, version=ssl.TLSVersion.TLSv1_2, server_hostname="127.0.0.1") == "TLSv1.2"  # control
    with pytest.raises(ssl.SSLError) as old:
        _handshake(secured, version=ssl.TLSVersion.TLSv1_1, server_hostname="127.0.0.1")
    assert "ALERT_PROTOCOL_VERSION" in str(old.value).upper().replace(" ", "_"), old.value  # the broker's alert
    with pytest.raises(ssl.SSLCertVerificationError) as wrong:
        _handshake(secured, version=ssl.TLSVersion.TLSv1_2, server_hostname="broker.elsewhere.example")
    assert "hostname mismatch" in str(wrong.value).lower() or "doesn't match" in str(wrong.value)


def test_the_broker_folder_holds_no_secret_it_does_not_need(secured: Secured) -> None:
    """The CA key and the passwords are written apart, for moving off the broker host; the broker
    (running from its own folder alone, as the other tests show) needs neither."""
    broker_files = {p.relative_to(secured.folder).as_posix() for p in secured.folder.rglob("*") if p.is_file()}
    assert {"mosquitto.conf", "ca.crt", "server.crt", "server.key", "passwd", "acl"} <= broker_files
    assert not any(name.endswith("ca.key") or name.startswith("credentials") for name in broker_files)
    assert (secured.secrets / "ca.key").stat().st_mode & 0o077 == 0  # mode 600
    for account in ("serve-s1", "board-s1", "gw-s1-gw1"):
        password = secured.password(account)
        assert (secured.secrets / "credentials" / account).stat().st_mode & 0o077 == 0
        for path in secured.folder.rglob("*"):  # no password in plain text anywhere in the broker's folder
            if path.is_file() and path.suffix != ".db":
                assert password not in path.read_text(errors="ignore"), path
    assert "move" in secured.output
    assert str(secured.secrets) in secured.output


def test_a_secrets_folder_inside_the_broker_folder_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kraamwacht.cli", "broker-config", str(tmp_path / "b"), "--site", "s1",
         "--secrets-dir", str(tmp_path / "b" / "keys")],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "must not lie inside" in result.stdout + result.stderr
    assert not (tmp_path / "b" / "keys" / "ca.key").exists()


def test_the_board_over_https_with_the_deployments_ca_and_its_feed_over_tls(secured: Secured, tmp_path: Path) -> None:
    """The board's HTTPS certificate comes from broker-config's CA: a client trusting that CA gets the
    board, one that does not is refused, plain HTTP gets nothing; in a browser the login works over it."""
    import http.client
    import urllib.request

    from playwright.sync_api import expect, sync_playwright

    from kraamwacht.dashboard.auth import UserStore

    board = secured.secrets / "board"
    UserStore(tmp_path / "board" / "users.json").add("anna", "kraam-wacht-2026", "kraamverzorgende")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", "dashboard", "--broker", secured.url("board-s1"), "--site", "s1",
         "--store", f"sqlite:///{tmp_path / 'k.db'}", "--board-dir", str(tmp_path / "board"), "--port", str(port),
         "--tls-cert", str(board / "board.crt"), "--tls-key", str(board / "board.key")],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=(tmp_path / "board.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, 60)
        trusted = ssl.create_default_context(cafile=str(board / "ca.crt"))
        url = f"https://127.0.0.1:{port}/_stcore/health"
        health = wait_for(lambda: urllib.request.urlopen(url, context=trusted, timeout=10).read(), 60, what="health")
        assert health == b"ok"
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(url, context=ssl.create_default_context(), timeout=10)  # the system's CAs: no

        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def plain_http() -> http.client.HTTPResponse:
            plain.request("GET", "/_stcore/health")
            return plain.getresponse()

        try:
            with pytest.raises((http.client.HTTPException, ConnectionError)):
                plain_http()  # an HTTPS port answers no plain HTTP
        finally:
            plain.close()  # a connection left open keeps the board's server waiting when it stops
        with sync_playwright() as p:  # Chromium has no way to take a CA file; the check above did that part
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_context(ignore_https_errors=True, locale="nl-NL").new_page()
            page.goto(f"https://127.0.0.1:{port}")
            page.get_by_label("Gebruikersnaam").fill("anna")
            page.get_by_label("Wachtwoord").fill("kraam-wacht-2026")
            page.get_by_role("button", name="Inloggen").click()
            expect(page.get_by_role("heading", name="Overzicht")).to_be_visible(timeout=30_000)
            browser.close()
    finally:  # what is tested above is the transport; a board slow to stop on a loaded machine is killed
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(20)


def _status_until(watcher: Client, until: object) -> dict:
    """serve's newest status as ``watcher`` received it, once ``until(status)`` holds (published every 5 s)."""

    def newest() -> dict | None:
        status = json.loads(watcher.received[-1][1]) if watcher.received else None
        return status if status is not None and until(status) else None  # type: ignore[operator]

    return wait_for(newest, 120, what="serve's status to show it", interval_s=0.5)


def test_a_gateway_or_the_board_forging_a_wearable_is_refused_and_counted(secured: Secured, tmp_path: Path) -> None:
    """Per-gateway write rights: the ACL keeps every account on its own topics, and serve, with the
    pairings, takes a wearable's data only from the gateway it is paired to, for its wearer."""
    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.pairings import PairingRegistry
    from kraamwacht.publish import PublishError, publish
    from kraamwacht.service._mqtt import status_topic

    board_db = tmp_path / "board" / "episodes.db"
    episodes = EpisodeRegistry(board_db)
    now = datetime.now(tz=UTC)
    for ep, mother in (("ep1", "m1"), ("ep2", "m2")):
        episodes.add(ep, site="s1", mother=mother, newborn=f"b-{mother}", birth_at=now - timedelta(hours=30),
                     ga_weeks=39, language="nl", label="")  # fmt: skip
    pairings = PairingRegistry(board_db)
    pairings.pair("wb-0001", site="s1", episode="ep1", subject="m1", gateway="gw1")
    pairings.pair("wb-0002", site="s1", episode="ep2", subject="m2", gateway="gw2")
    db = tmp_path / "k.db"
    serve = subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", "serve", "--broker", secured.url("serve-s1"), "--site", "s1",
         "--store", f"sqlite:///{db}", "--state-dir", str(tmp_path / "serve"), "--episodes", str(board_db),
         "--require-pairing"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=(tmp_path / "serve.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    gw1 = BrokerAddress.parse(secured.url("gw-s1-gw1"))
    gw2 = BrokerAddress.parse(secured.url("gw-s1-gw2"))
    board = BrokerAddress.parse(secured.url("board-s1"))
    watcher = Client(board, subscribe=status_topic("s1"))  # the board's account reads serve's status
    try:
        _status_until(watcher, lambda st: st.get("state") == "online")
        # refused at the broker, and the publisher is told (MQTT 5 reason code)
        for who, (topic, payload) in (
            (gw2, _obs("s1", 1)),  # gw2 on gw1's topic
            (gw2, _obs("s1", 2, gateway=None)),  # the open topic: nobody's in a secured deployment
            (board, _obs("s1", 3)),  # the board on a gateway's topic
            (board, _obs("s1", 4, gateway=None)),
        ):
            with pytest.raises(PublishError, match=r"Not authorized"):
                publish(who, [(topic, payload)])
        # taken by the broker (the account's own topics), refused by serve
        publish(gw2, [_obs("s1", 5, gateway="gw2")])  # gw1's wearable from gw2: not paired to it
        publish(gw2, [_obs("s1", 6, gateway="gw2", device="wb-0002", episode="ep1", subject="m1")])  # wrong mother
        publish(gw2, [_obs("s1", 7, gateway="gw2", device="wb-0099", episode="ep2", subject="m2")])  # paired to nobody
        wearable_on_entries = json.loads(_obs("s1", 8)[1])
        publish(board, [(Topics.entries("s1", "ep1", "m1"), json.dumps(wearable_on_entries).encode())])
        # the controls, sent last: each gateway's own wearable, and a typed-in reading
        publish(gw1, [_obs("s1", 10, gateway="gw1")])
        publish(gw2, [_obs("s1", 11, gateway="gw2", device="wb-0002", episode="ep2", subject="m2")])
        publish(board, [_entry("s1", 12)])
        status = _status_until(watcher, lambda st: st.get("stored", 0) >= 3)
    finally:
        watcher.close()
        serve.terminate()
        serve.wait(30)
    assert status["pairing_required"] is True
    assert status["rejected"] == {"not_paired": 3, "not_an_entry": 1}, status["rejected"]
    with sqlite3.connect(db) as conn:
        stored = sorted(conn.execute("SELECT device, seq FROM observations").fetchall())
    assert [(d, q) for d, q in stored if not d.startswith("manual")] == [("wb-0001", 10), ("wb-0002", 11)]
    assert len(stored) == 3  # the controls, and nothing forged


def test_the_doctor_reports_an_acl_that_lets_a_gateway_write_beyond_its_own(secured: Secured, tmp_path: Path) -> None:
    acl = secured.folder / "acl"
    loose = tmp_path / "loose.acl"
    loose.write_text(acl.read_text().replace(
        Topics.gateway_observations_filter("s1", "gw2"), Topics.gateway_observations_filter("s1")))  # fmt: skip

    def doctor(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kraamwacht.cli", "doctor", "--broker", secured.url("board-s1"), "--site", "s1",
             "--wait-s", "1", "--broker-acl", str(path)],
            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"}, capture_output=True, text=True, check=False,
        )  # fmt: skip

    good, bad = doctor(acl), doctor(loose)
    assert "broker ACL: each gateway writes only its own" in good.stdout, good.stdout
    assert "broker ACL: accounts may write wearable data of a gateway not theirs: gw-s1-gw2" in bad.stdout, bad.stdout
    assert "gw-s1-gw1" not in bad.stdout.split("broker ACL")[1].split("\n")[0]  # gw1 is still confined
    assert bad.returncode == 1
