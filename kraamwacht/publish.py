"""Publishing observations over MQTT (paho-mqtt): one small, blocking publisher for the shell.

Used by ``kraamwacht bili enter``; the gateway's publisher builds on it. MQTT 3.1.1 with QoS 1, so
that it works with mosquitto and with the embedded amqtt broker alike; a publish only counts once
the broker's PUBACK has arrived.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from kraamwacht.errors import KraamwachtError

__all__ = ["BrokerAddress", "PublishError", "publish"]

_LOGGER = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 10.0


class PublishError(KraamwachtError):
    """A message could not be handed to the broker (nothing is assumed delivered)."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://[user:password@]host[:port]`` (TLS arrives with the secured deployment)."""
        parsed = urlparse(url)
        if parsed.scheme != "mqtt" or not parsed.hostname:
            raise ValueError(f"broker {url!r} must look like mqtt://host:1883")
        return cls(parsed.hostname, parsed.port or 1883, parsed.username, parsed.password)

    def __str__(self) -> str:  # never shows the password
        return f"mqtt://{self.host}:{self.port}"


def publish(
    address: BrokerAddress,
    messages: Sequence[tuple[str, bytes]],
    *,
    client_prefix: str = "kraamwacht-entry",
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Publish ``(topic, payload)`` pairs with QoS 1 and wait for every PUBACK."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"{client_prefix}-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
    )
    if address.username:
        client.username_pw_set(address.username, address.password)
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:
        raise PublishError(f"cannot reach the broker at {address}: {exc}") from exc
    client.loop_start()
    try:
        for topic, payload in messages:
            info = client.publish(topic, payload, qos=1)
            info.wait_for_publish(timeout=timeout_s)
            if info.rc != mqtt.MQTT_ERR_SUCCESS or not info.is_published():
                raise PublishError(f"the broker at {address} did not acknowledge {topic} within {timeout_s:g} s")
            _LOGGER.info("published %d bytes to %s", len(payload), topic)
    except RuntimeError as exc:  # paho raises this when the connection was refused or lost
        raise PublishError(f"publishing to {address} failed: {exc}") from exc
    finally:
        client.disconnect()
        client.loop_stop()
