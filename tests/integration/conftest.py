"""Real servers for integration tests, started on 127.0.0.1 and stopped by PID.

`.ci/run` installs them from Debian (`mosquitto`); on a development machine run
`apt-get install mosquitto` once.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kraamwacht.storage.sqlite import SqliteStore, StoredSample
from kraamwacht.testing import Mosquitto, mosquitto_binary
from kraamwacht.waiting import free_port, wait_for, wait_for_port

__all__ = [
    "CONTROL_DEVICE",
    "Mosquitto",
    "free_port",
    "send_control",
    "spool_backlog",
    "wait_for_port",
]  # the tests import them from here too

CONTROL_DEVICE = "control"  # the positive control's device: never a wearable's, left out of every count


def send_control(
    broker_url: str, site: str, ledger: Path, *, timeout_s: float = 120.0, gateway: str | None = None
) -> None:
    """A positive control for "nothing more arrives": publish one marker sample after everything the
    gateway sent was acknowledged, and wait until serve has stored it.

    One broker delivers to serve's one session in the order it took the messages in, so once the
    marker is stored, every message taken before it (a late duplicate included) has been handled:
    a check that follows sees it, instead of trusting that a sleep was long enough. With ``gateway``,
    on that gateway's topic (a serve that requires pairing needs ``CONTROL_DEVICE`` paired to it).
    """
    import json
    import sqlite3
    from datetime import UTC, datetime

    from kraamwacht.contract import Topics
    from kraamwacht.publish import BrokerAddress, publish

    seq = time.time_ns() // 1000  # a new identity each call
    body = {"v": 1, "device": CONTROL_DEVICE, "episode": "control", "subject": "control",
            "samples": [{"signal": "battery_pct", "value": 90, "t": datetime.now(tz=UTC).isoformat(), "seq": seq}]}  # fmt: skip
    publish(
        BrokerAddress.parse(broker_url),
        [(Topics.observations(site, "control", "control", gateway=gateway), json.dumps(body).encode())],
    )

    def stored() -> bool:
        if not ledger.exists():
            return False
        with sqlite3.connect(ledger) as db:
            query = "SELECT count(*) FROM observations WHERE device = ? AND seq = ?"
            return bool(db.execute(query, (CONTROL_DEVICE, seq)).fetchone()[0])

    wait_for(stored, timeout_s, what="the control sample stored by serve", interval_s=0.2)


def stored_samples(ledger: Path) -> list[StoredSample]:
    """Every sample serve's ledger holds, rows and segments (a gateway's backlog) alike."""
    if not ledger.exists():
        return []
    store = SqliteStore(ledger)
    try:
        return store.identities()
    finally:
        store.close()


def spool_backlog(spool: Path) -> int:
    """Samples in a gateway's spool that the broker has not acknowledged yet."""
    import sqlite3

    with sqlite3.connect(spool) as db:
        return int(db.execute("SELECT count(*) FROM samples").fetchone()[0])


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[str]:
    """A fresh mosquitto on a free local port; yields its mqtt:// URL."""
    if mosquitto_binary() is None:
        pytest.fail("mosquitto is not installed: apt-get install mosquitto (.ci/run does this)")
    broker = Mosquitto(tmp_path / "mosquitto", persistence=False)
    broker.start()
    try:
        yield broker.url
    finally:
        broker.stop()


def _wait_http(url: str, timeout_s: float = 20.0, *, context: object = None) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1, context=context):  # type: ignore[arg-type]
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


def _binary(name: str, package: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed: apt-get install {package} (.ci/run does this)")
    return path


class InfluxServer:
    """Debian's InfluxDB 1.6.7 on free local ports; can be stopped and started on the same data."""

    def __init__(self, folder: Path, *, tls: tuple[Path, Path, Path] | None = None) -> None:
        """``tls``: (certificate, key, the authority that signed it): HTTPS only."""
        import ssl

        self.binary = _binary("influxd", "influxdb")
        self.port, rpc = free_port(), free_port()
        self.conf = folder / "influxdb.conf"
        https = (
            f'  https-enabled = true\n  https-certificate = "{tls[0]}"\n  https-private-key = "{tls[1]}"\n'
            if tls
            else ""
        )
        self.conf.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc}"\n'
            f'[meta]\n  dir = "{folder}/meta"\n'
            f'[data]\n  dir = "{folder}/data"\n  wal-dir = "{folder}/wal"\n  query-log-enabled = false\n'
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n{https}'
            "[monitor]\n  store-enabled = false\n"
        )
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.ssl = ssl.create_default_context(cafile=str(tls[2])) if tls else None
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import urllib.parse
        import urllib.request

        self.proc = subprocess.Popen(
            [self.binary, "-config", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_http(f"{self.base}/ping", context=self.ssl)
        data = urllib.parse.urlencode({"q": "CREATE DATABASE kraamwacht"}).encode()
        request = urllib.request.Request(f"{self.base}/query", data=data)
        urllib.request.urlopen(request, timeout=5, context=self.ssl).read()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def count(self) -> int:
        import json
        import urllib.parse
        import urllib.request

        query = urllib.parse.urlencode({"db": "kraamwacht", "q": 'SELECT count("value") FROM "kraamwacht"'})
        body = json.loads(urllib.request.urlopen(f"{self.base}/query?{query}", timeout=5, context=self.ssl).read())
        series = body["results"][0].get("series")
        return int(series[0]["values"][0][1]) if series else 0


@pytest.fixture
def influx_server(tmp_path: Path) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influxdb(influx_server: InfluxServer) -> str:
    """The base URL of a fresh InfluxDB 1.6.7 with a database "kraamwacht"."""
    return influx_server.base


@contextlib.contextmanager
def running_victoria_metrics(folder: Path, *, tls: tuple[Path, Path, Path] | None = None) -> Iterator[str]:
    """Debian's VictoriaMetrics on a free local port (accepts /api/v2/write); yields its base URL.

    ``tls``: (certificate, key, the authority that signed it): HTTPS only.
    """
    import ssl

    binary = _binary("victoria-metrics", "victoria-metrics")
    port = free_port()
    https = ["-tls", f"-tlsCertFile={tls[0]}", f"-tlsKeyFile={tls[1]}"] if tls else []
    proc = subprocess.Popen(
        [binary, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={folder / 'vm'}", "-retentionPeriod=100y",
         *https],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/health", context=ssl.create_default_context(cafile=str(tls[2])) if tls else None)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[str]:
    """Debian's VictoriaMetrics on a free local port (accepts /api/v2/write); yields its base URL."""
    with running_victoria_metrics(tmp_path) as base:
        yield base


@pytest.fixture
def webhook() -> Iterator[tuple[str, list]]:
    """A real local HTTP receiver for apprise's json:// webhooks; yields its URL and what it got."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"json://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
