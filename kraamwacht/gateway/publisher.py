"""Draining the spool to the broker (paho-mqtt, QoS 1): a row leaves the spool only after PUBACK.

The gateway's availability is a retained status, ``online`` when connected and ``offline`` by MQTT
last will when the gateway loses power or network; serve raises a technical alert from it. Each
wearable's status (connected, last seen, battery, RSSI, last gap) is retained on
``.../device/<device>/status`` whenever it changes (:class:`~kraamwacht.gateway.status.StatusBoard`),
while the wearable is paired; once it is unpaired its retained status is cleared, so that the
broker does not show a wearable that left the gateway as "not connected" for ever.
"""

from __future__ import annotations

import json
import logging
import threading

import paho.mqtt.client as mqtt

from kraamwacht.contract import Topics
from kraamwacht.crashpoints import crash_point
from kraamwacht.gateway.registry import Registry
from kraamwacht.gateway.spool import Spool
from kraamwacht.gateway.status import StatusBoard
from kraamwacht.publish import BrokerAddress, PubackReasons

__all__ = ["SpoolPublisher"]

_LOGGER = logging.getLogger(__name__)
ACK_TIMEOUT_S = 10.0
IDLE_S = 0.2
# Live, one message per wearable per second instead of one per reading: fewer messages for the
# broker to queue while serve is away (mosquitto drops beyond max_queued_messages; see docs/guarantees.md).
BATCH_S = 1.0
MAX_BATCH_SAMPLES = 5000  # a backlog (after an outage) drains in full batches without waiting


class SpoolPublisher:
    def __init__(
        self,
        spool: Spool,
        broker: BrokerAddress,
        *,
        site: str,
        gateway: str,
        board: StatusBoard | None = None,
        registry: Registry | None = None,
        batch_s: float = BATCH_S,
    ) -> None:
        self.spool = spool
        self.batch_s = batch_s
        self.board = board
        self.registry = registry  # None: every status is published and none is ever cleared
        self.site = site
        self.gateway = gateway
        self.published = 0
        self.refused = 0  # samples the broker refused (its ACL): kept in the spool, logged, counted
        self._connected = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"kraamwacht-gateway-{gateway}", protocol=broker.protocol
        )
        broker.apply(self.client)
        self._reasons = PubackReasons()
        self.client.on_publish = self._reasons.on_publish
        status = Topics.gateway_status(site, gateway)
        self.client.will_set(status, json.dumps({"state": "offline"}), qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = lambda c, *_: (
            c.publish(status, json.dumps({"state": "online"}), qos=1, retain=True),
            self._connected.set(),
        )
        self.client.on_disconnect = lambda *_: self._connected.clear()
        self._broker = broker

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up (the spool drains only then)."""
        return self._connected.is_set()

    def run(self, stop: threading.Event) -> None:
        self.client.connect_async(self._broker.host, self._broker.port, keepalive=30)
        self.client.loop_start()  # paho keeps reconnecting while the broker is away
        try:
            while not stop.is_set():
                if not self._connected.wait(IDLE_S):
                    continue
                self._publish_statuses()
                waiting = len(self.spool)
                if not waiting:
                    stop.wait(IDLE_S)
                    continue
                if waiting < MAX_BATCH_SAMPLES:
                    stop.wait(self.batch_s)  # live: gather a second's readings into one message per device
                batch = self.spool.next_messages(max_samples=MAX_BATCH_SAMPLES, gateway=self.gateway, columns=True)
                sent = [(m, self.client.publish(m.topic, m.payload, qos=1)) for m in batch]
                refused_now = False
                for message, info in sent:
                    try:
                        info.wait_for_publish(timeout=ACK_TIMEOUT_S)
                    except (RuntimeError, ValueError):
                        break  # connection lost: what is not acknowledged stays spooled
                    if not info.is_published():
                        break
                    refused = self._reasons.refusal(info.mid)
                    if refused is not None:  # not delivered: it stays in the spool until the broker takes it
                        self.refused += len(message.ids)
                        refused_now = True
                        _LOGGER.warning(
                            "broker refused %s (%s): %d samples kept", message.topic, refused, len(message.ids)
                        )
                        continue
                    crash_point("sent")  # the crash tests: the broker has it, the spool does not know yet
                    self.spool.acknowledge(message.ids)
                    self.published += len(message.ids)
                if refused_now and stop.wait(self.batch_s):
                    break  # a refused batch is retried, but not in a tight loop
        finally:
            self._publish_statuses()
            self.client.disconnect()
            self.client.loop_stop()

    def _publish_statuses(self) -> None:
        if self.board is None or not self._connected.is_set():
            return
        paired = None if self.registry is None else {a.serial for a in self.registry.all()}
        for status in self.board.due():
            if paired is not None and status.serial not in paired:
                self.board.forget(status.device)  # unpaired: its retained status is cleared below
                continue
            topic = Topics.device_status(self.site, self.gateway, status.device)
            if self.registry is not None:  # recorded first: a status on the broker is never unknown here
                self.registry.status_retained(status.device, status.serial)
            self.client.publish(topic, json.dumps(status.to_json_dict()), qos=1, retain=True)
            self.board.mark_sent(status)
        if self.registry is None:
            return
        for device in self.registry.stale_statuses():
            # an empty retained message deletes the retained one; forgotten only once the broker has it
            info = self.client.publish(Topics.device_status(self.site, self.gateway, device), b"", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=ACK_TIMEOUT_S)
            except (RuntimeError, ValueError):
                return  # connection lost: tried again after the reconnect
            if info.is_published():
                self.registry.status_cleared(device)
                _LOGGER.info("%s is no longer paired: its retained status is cleared", device)
