"""InfluxDB storage against real servers: InfluxDB 1.6.7 (v1 /write, InfluxQL) and VictoriaMetrics (v2 write)."""

from __future__ import annotations

import json
import ssl
import urllib.parse
import urllib.request
from datetime import timedelta

import numpy as np
import pytest

from kraamwacht.storage import StoreError, open_store
from kraamwacht.storage.influx import InfluxStore, to_line_protocol
from tests.storage_data import T0, bilirubin, observations


def test_line_protocol_keeps_ids_in_tags_and_numbers_in_fields() -> None:
    line = to_line_protocol(bilirubin())
    assert line.startswith("kraamwacht,episode=ep1,subject=baby1,device=manual-kv-12,signal=bilirubin_umol_l ")
    assert "value=210.0" in line
    assert "seq=1i" in line
    assert 'method="tcb"' in line
    assert line.endswith(str(round(T0.timestamp() * 1000)))


def test_influxdb_1_6_write_read_idempotent_and_retention(influxdb: str) -> None:
    store = open_store(f"influx+v1://{influxdb.removeprefix('http://')}/kraamwacht")
    batch = [*observations(40), bilirubin()]
    assert store.write(batch).stored == 41
    store.write(batch)  # redelivered: same series and timestamps, overwritten not doubled
    count = store.query('SELECT count("value") FROM "kraamwacht"')[0]["series"][0]["values"][0][1]
    assert count == 41
    series = store.read(subject="m1")
    t, v = series["temperature_c"]
    assert t.size == 20
    np.testing.assert_allclose(v, [36.0 + i / 100 for i in range(0, 40, 2)])
    assert t[0] == T0.timestamp()
    only_hr = store.read(subject="m1", signals=["heart_rate_bpm"], start=T0 + timedelta(seconds=30))
    assert list(only_hr) == ["heart_rate_bpm"]
    assert only_hr["heart_rate_bpm"][0].size == 5
    assert store.subjects() == [("ep1", "baby1"), ("ep1", "m1")]
    store.delete_episode("ep1", before=T0 + timedelta(seconds=20))
    assert store.read(subject="m1")["temperature_c"][0].size == 10
    store.close()


def test_unreachable_server_is_a_store_error() -> None:
    store = InfluxStore("http://127.0.0.1:9", database="kraamwacht", api="v1")
    with pytest.raises(StoreError, match="cannot reach"):
        store.write(observations(2))


def _export(base: str, context: ssl.SSLContext | None = None) -> list[dict]:
    urllib.request.urlopen(f"{base}/internal/force_flush", timeout=5, context=context).read()
    query = urllib.parse.urlencode({"match[]": '{__name__=~"kraamwacht_.*"}', "start": "0"})
    body = urllib.request.urlopen(f"{base}/api/v1/export?{query}", timeout=5, context=context).read().decode()
    return [json.loads(line) for line in body.splitlines() if line]


def test_influxdb_client_v2_write_reaches_the_server(victoria_metrics: str) -> None:
    store = open_store(f"influx+v2://{victoria_metrics.removeprefix('http://')}?org=kraamwacht&bucket=kraamwacht")
    assert store.write(observations(30)).stored == 30
    series = _export(victoria_metrics)
    values = {(s["metric"]["__name__"], s["metric"]["signal"]): s for s in series}
    temperature = values[("kraamwacht_value", "temperature_c")]
    assert temperature["metric"]["subject"] == "m1"
    assert temperature["metric"]["episode"] == "ep1"
    assert sorted(temperature["timestamps"]) == [
        round((T0 + timedelta(seconds=i)).timestamp() * 1000) for i in range(0, 30, 2)
    ]
    assert sum(len(s["values"]) for s in series if s["metric"]["__name__"] == "kraamwacht_value") == 30
    assert ("kraamwacht_seq", "heart_rate_bpm") in values
    store.close()


def test_retention_deletes_an_ended_episode_in_the_ledger_and_in_influxdb(influxdb: str, tmp_path) -> None:
    """The AVG/GDPR retention run on a deployment with InfluxDB: both of serve's stores, one command."""
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from kraamwacht.cli import app
    from kraamwacht.contract import Observation
    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.storage.sqlite import SqliteStore

    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(tmp_path / "board" / "episodes.db")
    for name in ("old", "active"):
        registry.add(
            name, site="s1", mother=f"m-{name}", newborn=f"b-{name}", birth_at=now - timedelta(days=60), ga_weeks=39.0
        )
    registry.end("old", at=now - timedelta(days=40))
    batch = [
        Observation(episode=name, subject=f"m-{name}", device=f"wb-{name}", signal="temperature_c", value=36.8,
                    unit="Cel", device_time=now - timedelta(days=50, minutes=k), receive_time=now, seq=k)
        for name in ("old", "active") for k in range(10)
    ]  # fmt: skip
    influx_url = f"influx+v1://{influxdb.removeprefix('http://')}/kraamwacht"
    influx = open_store(influx_url)
    ledger = SqliteStore(tmp_path / "outbox.db")
    influx.write(batch)
    ledger.write(batch)
    result = CliRunner().invoke(app, ["episode", "retention", "--store", f"sqlite:///{tmp_path / 'outbox.db'}",
                                      "--store", influx_url, "--keep-days", "30", "--board-dir", str(tmp_path / "board")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "in 2 store(s)" in result.output
    assert influx.subjects() == [("active", "m-active")]
    assert ledger.subjects() == [("active", "m-active")]
    assert influx.read(subject="m-active")["temperature_c"][0].size == 10  # the active episode is untouched
    down = CliRunner().invoke(app, ["episode", "retention", "--store", "influx+v1://127.0.0.1:9/kraamwacht",
                                    "--keep-days", "30", "--board-dir", str(tmp_path / "board")])  # fmt: skip
    assert down.exit_code == 2
    assert "run it again" in down.output


def test_the_board_reads_influxdb_as_it_reads_the_embedded_store(influxdb: str, tmp_path) -> None:
    """The board's reads go through the store interface only: the same answers on InfluxDB and SQLite."""
    from kraamwacht.dashboard.data import latest_values, temperature_trend
    from kraamwacht.storage.sqlite import SqliteStore

    batch = [*observations(40), bilirubin()]
    influx = open_store(f"influx+v1://{influxdb.removeprefix('http://')}/kraamwacht")
    embedded = SqliteStore(tmp_path / "k.db")
    for store in (influx, embedded):
        store.write(batch)
    now = T0 + timedelta(minutes=5)
    answers = []
    for store in (influx, embedded):
        answers.append(
            (
                latest_values(store, ["m1"], now=now),
                temperature_trend(store, ["m1"], now=T0 + timedelta(seconds=60), hours=1, step_min=1),
                store.with_method("baby1", "bilirubin_umol_l"),
                store.mean("m1", "temperature_c", start_s=T0.timestamp(), end_s=T0.timestamp() + 10),
            )
        )
    latest, trend, bili, mean = answers[0]
    assert latest == answers[1][0]
    assert latest["m1"]["temperature_c"] == (T0.timestamp() + 38, 36.38)
    assert trend == answers[1][1]
    assert trend["m1"], "a sparkline on InfluxDB is not empty"
    assert bili == answers[1][2] == [(T0.timestamp(), 210.0, "tcb")]
    assert mean == pytest.approx(answers[1][3])
    assert mean == pytest.approx(36.04)
    influx.close()
    embedded.close()


def test_influxdb_over_https_with_the_deployments_ca(tmp_path) -> None:
    """InfluxDB behind HTTPS with a certificate from broker-config's CA: ``?ca=`` trusts exactly that
    authority; the system's authorities refuse the certificate; the plain-HTTP URL gets nothing."""
    from kraamwacht.broker_config import write_broker_config
    from tests.integration.conftest import InfluxServer

    write_broker_config(tmp_path / "broker", sites=["s1"], gateways=[], hostnames=["127.0.0.1"])
    broker = tmp_path / "broker"
    (tmp_path / "influx").mkdir()
    server = InfluxServer(tmp_path / "influx", tls=(broker / "server.crt", broker / "server.key", broker / "ca.crt"))
    server.start()
    try:
        address = f"127.0.0.1:{server.port}/kraamwacht"
        store = open_store(f"influx+v1://{address}?ca={broker / 'ca.crt'}")
        assert store.write(observations(10)).stored == 10
        assert server.count() == 10
        assert store.read(subject="m1")["temperature_c"][0].size == 5  # reads go over HTTPS too
        with pytest.raises(StoreError, match="CERTIFICATE_VERIFY_FAILED"):
            open_store(f"influx+v1://{address}?tls=1").write(observations(2))  # the system's CAs do not know it
        with pytest.raises(StoreError):
            open_store(f"influx+v1://{address}").write(observations(2))  # plain HTTP on the HTTPS port
        assert server.count() == 10  # neither refused write reached it
    finally:
        server.stop()


def test_an_unknown_store_option_or_a_missing_ca_file_is_refused(tmp_path) -> None:
    from kraamwacht.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match="unknown option"):
        open_store("influx+v1://127.0.0.1:8086/kraamwacht?verify=0")
    with pytest.raises(InvalidValueError, match="does not exist"):
        open_store(f"influx+v1://127.0.0.1:8086/kraamwacht?ca={tmp_path / 'none.crt'}")


def test_influxdb_client_v2_over_https_with_the_deployments_ca(tmp_path) -> None:
    """The v2 path hands the CA to influxdb-client: written over HTTPS to VictoriaMetrics with a
    certificate from broker-config's CA; the system's authorities refuse it."""
    from kraamwacht.broker_config import write_broker_config
    from tests.integration.conftest import running_victoria_metrics

    write_broker_config(tmp_path / "broker", sites=["s1"], gateways=[], hostnames=["127.0.0.1"])
    broker = tmp_path / "broker"
    tls = (broker / "server.crt", broker / "server.key", broker / "ca.crt")
    with running_victoria_metrics(tmp_path, tls=tls) as base:
        url = f"influx+v2://{base.removeprefix('https://')}?org=kraamwacht&bucket=kraamwacht"
        store = open_store(f"{url}&ca={broker / 'ca.crt'}")
        assert store.write(observations(30)).stored == 30
        store.close()
        untrusted = open_store(f"{url}&tls=1")
        with pytest.raises(StoreError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.write(observations(2))
        untrusted.close()
        series = _export(base, ssl.create_default_context(cafile=str(broker / "ca.crt")))
        assert sum(len(s["values"]) for s in series if s["metric"]["__name__"] == "kraamwacht_value") == 30
