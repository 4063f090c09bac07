"""`kraamwacht temp enter` through a real mosquitto into a running serve: the reading is the fever finding."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kraamwacht.cli import app
from kraamwacht.contract import Topics
from tests.integration.test_serve import SITE, Broker, ServeProcess, wait_online

runner = CliRunner()


def enter(broker: str, *args: str):
    return runner.invoke(
        app,
        ["temp", "enter", "--broker", broker, "--site", SITE, "--episode", "ep7", "--subject", "m7",
         "--entered-by", "kv-3", *args],
        catch_exceptions=False,
    )  # fmt: skip


def wait_for_rule(broker: Broker, rule: str, timeout_s: float = 120.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [e for e in broker.messages(Topics.alert_events(SITE)) if e["rule"] == rule]
        if found:
            return found
        time.sleep(0.2)
    return []


def test_a_rectal_reading_of_38_3_is_an_urgent_alert_in_serve(mosquitto: str, tmp_path: Path) -> None:
    # a lone reading has no later sample to close its epoch: serve closes a quiet subject's epochs once
    # the reorder grace has passed on its clock (2 minutes by default; 5 s here, to wait less)
    config = tmp_path / "site.toml"
    config.write_text("[epoch]\nreorder_grace_s = 5\n")
    serve = ServeProcess(mosquitto, tmp_path)
    broker = Broker(mosquitto, Topics.alert_events(SITE), f"{Topics.ROOT}/{SITE}/status/serve")
    serve.start("--config", str(config))
    try:
        wait_online(broker)
        earlier = (
            datetime.now(tz=UTC) - timedelta(minutes=30)
        ).isoformat()  # the morning visit; readings in one minute are averaged
        normal = enter(mosquitto, "--value", "37.1", "--pulse", "84", "--measured", earlier)
        assert normal.exit_code == 0, normal.output
        assert "stored: 37.1 °C (rectal), pulse 84/min" in normal.output
        assert serve.wait_count(2) == 2  # the reading and the pulse
        fever = enter(mosquitto, "--value", "38.3")
        assert fever.exit_code == 0, fever.output
        assert "KOORTS: 38.3 °C" in fever.output
        (raised,) = wait_for_rule(broker, "fever_thermometer")
        assert (raised["event"], raised["level"], raised["episode"]) == ("raised", "urgent", "ep7")
        assert raised["values"]["thermometer_c"] == 38.3
        assert "38,3 °C op kernschaal (≥ 38,0 °C)" in raised["message"]
        assert raised["source"].startswith("docs/references.md#fever")
    finally:
        serve.stop()
        broker.close()


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--value", "50"], "outside the plausible range 25–45"), (["--value", "38", "--method", "armpit"], "armpit")],
)
def test_a_bad_reading_is_refused_and_nothing_is_sent(mosquitto: str, args: list[str], words: str) -> None:
    broker = Broker(mosquitto, Topics.entries_filter(SITE))  # where typed-in readings go
    result = enter(mosquitto, *args)
    assert result.exit_code == 2
    assert words in result.output
    control = enter(mosquitto, "--value", "36.9")  # a good one after it must arrive: the bad one did not
    assert control.exit_code == 0, control.output
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not broker.received:
        time.sleep(0.1)
    payloads = [p for values in broker.received.values() for p in values]
    assert len(payloads) == 1
    assert b'"value":36.9' in payloads[0]
    broker.close()
