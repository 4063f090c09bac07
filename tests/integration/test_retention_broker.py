"""`episode retention --broker`: an ended episode's retained alert state and baselines leave the broker."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from typer.testing import CliRunner

from kraamwacht.cli import app
from kraamwacht.contract import Topics
from kraamwacht.publish import BrokerAddress, publish
from tests.cli.test_retention_cli import old_and_active


def _retained(url: str, topics: list[str]) -> dict[str, bytes]:
    """What the broker hands a new subscriber, topic by topic in this order. The last topic is the
    control: once its retained message is here, those of the earlier topics would have come first."""
    address = BrokerAddress.parse(url)
    got: dict[str, bytes] = {}
    done = threading.Event()

    def on_message(_c: object, _u: object, m: mqtt.MQTTMessage) -> None:
        got[m.topic] = m.payload
        if m.topic == topics[-1]:
            done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        for topic in topics:  # one SUBSCRIBE each, in order: mosquitto answers them in order
            client.subscribe(topic, qos=1)
        assert done.wait(30), "the control's retained message did not arrive"
    finally:
        client.loop_stop()
        client.disconnect()
    return got


def test_retention_clears_the_retained_state_of_ended_episodes_only(mosquitto: str, tmp_path: Path) -> None:
    old_and_active(tmp_path / "board")
    state = {"episode": "old", "open_alerts": [{"note": "belde de verloskundige", "actor": "anna"}]}
    topics = {
        name: [Topics.alert_state("s1", name), Topics.baseline("s1", name, f"m-{name}")] for name in ("old", "active")
    }
    publish(BrokerAddress.parse(mosquitto),
            [(t, json.dumps({**state, "episode": name}).encode()) for name, ts in topics.items() for t in ts],
            retain=True)  # fmt: skip
    before = _retained(mosquitto, [*topics["old"], topics["active"][-1]])
    assert set(before) == {*topics["old"], topics["active"][-1]}  # the test's premise: retained and served

    done = CliRunner().invoke(
        app,
        ["episode", "retention", "--store", f"sqlite:///{tmp_path / 'k.db'}", "--keep-days", "30",
         "--board-dir", str(tmp_path / "board"), "--broker", mosquitto],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "3 retained topic(s) of old cleared" in done.output  # alert state, the mother's and the newborn's baseline

    after = _retained(mosquitto, [*topics["old"], topics["active"][-1]])
    assert set(after) == {topics["active"][-1]}  # old's are gone; the running episode's control is still served
    assert b"verloskundige" in after[topics["active"][-1]]
