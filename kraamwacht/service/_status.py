"""Read serve's retained status from the broker (what ``kraamwacht status`` prints)."""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt

from kraamwacht.errors import KraamwachtError
from kraamwacht.publish import BrokerAddress
from kraamwacht.service._mqtt import status_topic

__all__ = ["StatusUnavailableError", "read_status"]


class StatusUnavailableError(KraamwachtError):
    """The broker cannot be reached, or serve has published no status for the site."""


def read_status(address: BrokerAddress, site: str, *, timeout_s: float) -> dict[str, Any]:
    """serve's newest status for ``site``; waits up to ``timeout_s`` for the retained message."""
    got: list[bytes] = []
    done = threading.Event()
    topic = status_topic(site)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    address.apply(client)
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)

    def on_message(_client: object, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        # only serve's own status: some brokers (amqtt) also send unrelated retained messages
        if msg.topic == topic:
            got.append(msg.payload)
            done.set()

    client.on_message = on_message
    try:
        client.connect(address.host, address.port)
    except OSError as exc:
        raise StatusUnavailableError(f"cannot reach the broker at {address}: {exc}") from exc
    client.loop_start()
    done.wait(timeout_s)
    client.disconnect()
    client.loop_stop()
    if not got:
        raise StatusUnavailableError(
            f"no status from serve for site {site} on {address} within {timeout_s:g} s: is it running?"
        )
    return dict(json.loads(got[0]))
