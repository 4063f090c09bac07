"""`kraamwacht bili assess` and `bili enter` (published to a real mosquitto)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from typer.testing import CliRunner

from kraamwacht.cli import app
from kraamwacht.contract import Topics, parse_observation_message
from kraamwacht.waiting import wait_for

runner = CliRunner()
BIRTH = "2026-11-20T03:00:00Z"
AT_60H = "2026-11-22T15:00:00Z"


def bili(*args: str):
    return runner.invoke(app, ["bili", *args], catch_exceptions=False)


def assess_at_60h(*args: str):
    """`bili assess` for a 39-week baby measured at 60 h, plus ``args``."""
    return bili("assess", "--birth", BIRTH, "--measured", AT_60H, "--ga-weeks", "39", *args)


def test_assess_prints_json_advice_and_a_nomogram(tmp_path: Path) -> None:
    png = tmp_path / "n.png"
    result = bili(
        "assess", "--birth", BIRTH, "--measured", AT_60H, "--ga-weeks", "39", "--value", "290", "--unit", "umol/L",
        "--method", "tsb", "--previous", "2026-11-21T19:00:00Z=180:tsb", "--json", "--plot", str(png),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    advice = json.loads(result.output)
    assert advice["level"] == "urgent"
    assert advice["rule"] == "bili_rate"  # 110 µmol/L in 20 h = 0.32 mg/dL/h
    assert advice["phototherapy_umol_l"] == pytest.approx(18.1 * 17.1, abs=0.01)
    assert advice["standard"] == "aap2022"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_assess_text_names_standard_and_disclaimer() -> None:
    result = assess_at_60h("--value", "210", "--standard", "nice-cg98")
    assert result.exit_code == 0
    assert "NICE CG98" in result.output
    assert "leeftijd 60,0 uur" in result.output
    assert "geen gecertificeerd medisch hulpmiddel" in result.output


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--value", "-5"], "not a possible value"),
        (["--value", "1200"], "above 1,000"),
        (["--value", "210", "--unit", "mmol/L"], "unknown unit"),
        (["--value", "40", "--unit", "mg/dL"], "--confirm-unit"),
        (["--value", "12", "--unit", "umol/L"], "was it mg/dL"),
        (["--value", "210", "--ga-weeks", "34"], "defined from 35 weeks"),
        (["--value", "210", "--measured", "2026-11-19T03:00:00Z"], "before the birth time"),
        (["--value", "210", "--birth", "2026-11-20T03:00:00"], "needs Z or a UTC offset"),
    ],
)
def test_assess_refuses_bad_input_with_a_reason(extra: list[str], words: str) -> None:
    args = {"--birth": BIRTH, "--measured": AT_60H, "--ga-weeks": "39"}
    pairs = dict(zip(extra[::2], extra[1::2], strict=True))
    merged = [x for k, v in {**args, **pairs}.items() for x in (k, v)]
    result = bili("assess", *merged)
    assert result.exit_code == 2
    assert words in result.output


def test_missing_birth_time_is_an_error() -> None:
    result = runner.invoke(app, ["bili", "assess", "--measured", AT_60H, "--ga-weeks", "39", "--value", "210"])
    assert result.exit_code == 2
    assert "--birth" in result.output


def test_confirmed_unit_is_accepted() -> None:
    result = assess_at_60h("--value", "12", "--unit", "umol/L", "--confirm-unit")
    assert result.exit_code == 0


class Collector:
    def __init__(self, url: str, topic: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.messages: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-collector")
        self.client.on_message = lambda _c, _u, msg: self.messages.append((msg.topic, msg.payload))
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.connect(host, int(port))
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        assert self.subscribed.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _enter(url: str, *extra: str):
    return bili(
        "enter", "--broker", url, "--site", "s1", "--episode", "ep7", "--subject", "baby7", "--entered-by", "kv-12",
        "--birth", BIRTH, "--measured", AT_60H, "--ga-weeks", "39", *extra,
    )  # fmt: skip


def test_enter_publishes_a_valid_observation(mosquitto: str) -> None:
    collector = Collector(mosquitto, Topics.entries_filter("s1"))
    try:
        result = _enter(mosquitto, "--value", "12.5", "--unit", "mg/dL", "--method", "tcb", "--body-site", "forehead")
        assert result.exit_code == 0, result.output
        assert "stored:" in result.output
        wait_for(lambda: collector.messages, 60, what="the entered reading")
        assert len(collector.messages) == 1
        topic, payload = collector.messages[0]
        assert topic == "kraamwacht/v1/s1/ep7/baby7/entry"  # the typed-in readings' topic, never a wearable's
        observations, rejections = parse_observation_message(
            payload, topic=topic, receive_time=datetime(2026, 11, 22, 15, 1, tzinfo=UTC)
        )
        assert rejections == []
        (obs,) = observations
        assert obs.signal == "bilirubin_umol_l"
        assert obs.value == pytest.approx(12.5 * 17.1, abs=0.05)
        assert (obs.method, obs.site, obs.entered_by, obs.device) == ("tcb", "forehead", "kv-12", "manual-kv-12")
        assert "manual" in obs.quality
    finally:
        collector.close()


def test_bad_entry_sends_nothing(mosquitto: str) -> None:
    collector = Collector(mosquitto, Topics.entries_filter("s1"))
    try:
        result = _enter(mosquitto, "--value", "1500")
        assert result.exit_code == 2
        assert "nothing was sent" in result.output
        control = _enter(mosquitto, "--value", "150")  # a good one after it must arrive, and be the only one
        assert control.exit_code == 0, control.output
        wait_for(lambda: collector.messages, 60, what="the control reading")
        values = [json.loads(payload)["samples"][0]["value"] for _topic, payload in collector.messages]
        assert values == [150.0]
    finally:
        collector.close()


def test_unreachable_broker_says_the_reading_was_not_stored() -> None:
    result = _enter("mqtt://127.0.0.1:9", "--value", "200")
    assert result.exit_code == 1
    assert "NOT stored" in result.output


def test_a_risk_factor_given_with_an_entry_is_added_to_the_episode(mosquitto: str, tmp_path: Path) -> None:
    from kraamwacht.episodes import EpisodeRegistry

    registry = EpisodeRegistry(tmp_path / "episodes.db")
    registry.add("ep7", site="s1", mother="m7", newborn="baby7", birth_at=datetime(2026, 11, 20, 3, tzinfo=UTC),
                 ga_weeks=39.0, risk_factors=("g6pd",))  # fmt: skip
    result = _enter(mosquitto, "--value", "250", "--method", "tsb", "--risk-factor", "isoimmune",
                    "--board-dir", str(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert registry.get("ep7").risk_factors == ("g6pd", "isoimmune")  # type: ignore[union-attr] # added, none lost
    unknown = _enter(mosquitto, "--value", "250", "--risk-factor", "sepsis", "--board-dir", str(tmp_path / "none"))
    assert unknown.exit_code == 2  # no such episode there: said, and nothing sent
    assert "nothing was sent" in unknown.output
    alone = _enter(mosquitto, "--value", "250", "--risk-factor", "sepsis")
    assert "change only the advice above" in alone.output  # never silently different from the board
