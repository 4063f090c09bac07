"""Publishing observations over MQTT (paho-mqtt): one small, blocking publisher for the shell.

Used by ``kraamwacht bili enter``; the gateway's publisher builds on it. MQTT 3.1.1 with QoS 1, so
that it works with mosquitto and with the embedded amqtt broker alike; a publish only counts once
the broker's PUBACK has arrived.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import paho.mqtt.client as mqtt

from kraamwacht.errors import InvalidValueError, KraamwachtError

__all__ = [
    "PASSWORD_ENV",
    "BrokerAddress",
    "PubackReasons",
    "PublishError",
    "publish",
]

_LOGGER = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 10.0


class PublishError(KraamwachtError):
    """A message could not be handed to the broker (nothing is assumed delivered)."""


PASSWORD_ENV = "KRAAMWACHT_MQTT_PASSWORD"


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    mqtt_version: str = "5"  # 5 reads the broker's reason code (an ACL refusal); 3.1.1 for the embedded amqtt

    @property
    def protocol(self) -> int:
        """paho's protocol constant for :attr:`mqtt_version`."""
        return mqtt.MQTTv5 if self.mqtt_version == "5" else mqtt.MQTTv311

    @classmethod
    def parse(cls, url: str, environ: Mapping[str, str] = os.environ) -> BrokerAddress:
        """``mqtt://[user[:password]@]host[:1883]`` or ``mqtts://user@host[:8883][?ca=/path/ca.crt]``.

        ``?mqtt=3.1.1`` speaks MQTT 3.1.1 (the embedded amqtt broker knows no other); the default,
        MQTT 5, lets a publisher read the broker's reason code, so a publish the ACL refuses is not
        taken for a delivered one.

        A password is better given in ``KRAAMWACHT_MQTT_PASSWORD`` (or ``?password_file=``) than in
        the URL, where ``ps`` shows it. ``?ca=`` names the certificate authority that signed the
        broker's certificate (``kraamwacht broker-config`` writes one); without it the system's.
        """
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
            raise InvalidValueError(
                f"broker {cls._hide(url)!r} must look like mqtt://host:1883 or mqtts://user@host:8883"
            )
        query = parse_qs(parsed.query)
        unknown = set(query) - {"ca", "password_file", "mqtt"}
        if unknown:
            raise InvalidValueError(f"broker URL: unknown option(s) {sorted(unknown)}; known: ca, password_file, mqtt")
        version = query.get("mqtt", ["5"])[0]
        if version not in ("5", "3.1.1"):
            raise InvalidValueError(f"broker URL: mqtt={version!r}; use 5 or 3.1.1")
        password = parsed.password
        if password is None and "password_file" in query:
            password = Path(query["password_file"][0]).read_text().strip()
        if password is None and parsed.username:
            password = environ.get(PASSWORD_ENV) or None
        tls = parsed.scheme == "mqtts"
        ca = query["ca"][0] if "ca" in query else None
        if ca is not None and not Path(ca).is_file():
            raise InvalidValueError(f"broker URL: certificate authority file {ca} does not exist")
        port = parsed.port or (8883 if tls else 1883)
        return cls(parsed.hostname, port, parsed.username, password, tls, ca, version)

    @staticmethod
    def _hide(url: str) -> str:
        parsed = urlparse(url)
        return url.replace(f":{parsed.password}@", ":***@") if parsed.password else url

    def apply(self, client: mqtt.Client) -> None:
        """Credentials and TLS (certificate and host name checked) on a paho client."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(ca_certs=self.ca_file)

    def __str__(self) -> str:  # never shows the password
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


class PubackReasons:
    """The reason code of each PUBACK, by message id (MQTT 5; under 3.1.1 every PUBACK is a success).

    paho calls :meth:`on_publish` on its network thread just before it marks the message
    published, so once ``wait_for_publish`` returns the reason is here.
    """

    def __init__(self) -> None:
        self._refused: dict[int, str] = {}
        self._lock = threading.Lock()

    def on_publish(self, _client: object, _userdata: object, mid: int, reason: object, _properties: object) -> None:
        if getattr(reason, "is_failure", False):
            with self._lock:
                self._refused[mid] = str(reason)

    def refusal(self, mid: int) -> str | None:
        """Why the broker refused message ``mid``, or None if it accepted it."""
        with self._lock:
            return self._refused.pop(mid, None)


def publish(
    address: BrokerAddress,
    messages: Sequence[tuple[str, bytes]],
    *,
    client_prefix: str = "kraamwacht-entry",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    retain: bool = False,
) -> None:
    """Publish ``(topic, payload)`` pairs with QoS 1 and wait for every PUBACK.

    ``retain`` keeps each as its topic's retained message; an empty payload clears that.

    With MQTT 5 the PUBACK's reason code is read: a publish the broker refuses (its ACL: "Not
    authorized") raises :class:`PublishError` naming the reason, instead of passing for stored.
    """
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"{client_prefix}-{uuid.uuid4().hex[:8]}",
        protocol=address.protocol,
    )
    address.apply(client)
    reasons = PubackReasons()
    client.on_publish = reasons.on_publish
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:
        raise PublishError(f"cannot reach the broker at {address}: {exc}") from exc
    client.loop_start()
    try:
        for topic, payload in messages:
            info = client.publish(topic, payload, qos=1, retain=retain)
            info.wait_for_publish(timeout=timeout_s)
            if info.rc != mqtt.MQTT_ERR_SUCCESS or not info.is_published():
                raise PublishError(f"the broker at {address} did not acknowledge {topic} within {timeout_s:g} s")
            refused = reasons.refusal(info.mid)
            if refused is not None:
                raise PublishError(f"the broker at {address} refused {topic}: {refused}")
            _LOGGER.info("published %d bytes to %s", len(payload), topic)
    except RuntimeError as exc:  # paho raises this when the connection was refused or lost
        raise PublishError(f"publishing to {address} failed: {exc}") from exc
    finally:
        client.disconnect()
        client.loop_stop()
