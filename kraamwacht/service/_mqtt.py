"""The MQTT shell of ``kraamwacht serve`` (paho-mqtt): the only place serve touches the network.

Guarantees, with mosquitto:

* a persistent session (MQTT 5: clean start off, session expiry 7 days; MQTT 3.1.1: clean
  session off) and QoS 1, so messages published while serve is down wait in the broker;
* manual acknowledgement: a message is acknowledged only after its samples are stored and its
  dead letters, alert events and alert state are published (and acknowledged by the broker), so a
  crash at any point means redelivery, and redelivery is deduplicated by ``(device, stream, seq)``;
* on start the detectors are rebuilt from the store, and events the event log has not seen are
  published then (late, not lost).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kraamwacht import clock
from kraamwacht.broker_config import MAX_PACKET_BYTES
from kraamwacht.contract import Topics, format_time
from kraamwacht.crashpoints import crash_point
from kraamwacht.episodes import EpisodeRegistry
from kraamwacht.errors import InvalidValueError
from kraamwacht.pairings import PairingRegistry
from kraamwacht.publish import BrokerAddress
from kraamwacht.service._core import IngestCore, Output, RawMessage
from kraamwacht.service._eventlog import EventLog
from kraamwacht.service._forward import Forwarder
from kraamwacht.service._inbox import Inbox
from kraamwacht.service._notify import Notifier
from kraamwacht.service._paho import ReadAheadClient, share_property_tables
from kraamwacht.signal import DetectorConfig
from kraamwacht.staffkeys import StaffKeys
from kraamwacht.storage import open_store
from kraamwacht.storage.sqlite import SqliteStore

__all__ = ["Service", "ServiceOptions", "status_topic"]

_LOGGER = logging.getLogger(__name__)
SESSION_EXPIRY_S = 7 * 24 * 3600
# Unacknowledged messages the broker should send at once (MQTT 5 Receive Maximum; with 3.1.1,
# mosquitto's max_inflight_messages). Messages are acknowledged only after they are stored.
RECEIVE_MAXIMUM = 1000
# Messages waiting in serve's memory at most (each at most MAX_MESSAGE_BYTES). A bound of serve's
# own: mosquitto 2.0.11 was measured handing out far more than the Receive Maximum once
# acknowledgements flow (1,600 unacknowledged with a maximum of 20).
INBOX_MAX = 2000
# ... and bytes waiting at most: a count alone lets 200 messages of the largest allowed size pile up
INBOX_MAX_BYTES = 16 * 2**20
PUBLISH_TIMEOUT_S = 10.0
# messages in a batch that share its fixed cost well enough: measured in one process, 1,200 live
# homes, serve's core per message 224 µs in batches of 1, 140 in batches of 3, 111-127 from 10 up
BATCH_ENOUGH = 32


def status_topic(site: str) -> str:
    return f"{Topics.ROOT}/{site}/status/serve"


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    broker: BrokerAddress
    site: str
    store_path: Path
    state_dir: Path
    mqtt_version: str = "5"  # "5" for mosquitto, "3.1.1" for the embedded amqtt broker
    batch_max: int = 2000
    batch_wait_s: float = 0.2
    # once a message has come, wait this long for BATCH_ENOUGH of them (Kafka's linger.ms): at
    # thousands of messages a second a batch of one costs twice as much per message
    batch_linger_s: float = 0.02
    status_every_s: float = 5.0
    rebuild_h: float = 72.0
    client_id: str | None = None
    notify_urls: tuple[str, ...] = ()  # apprise URLs for the second channel
    forward_url: str | None = None  # a downstream store (InfluxDB) fed from the embedded store
    episodes_path: Path | None = None  # the board's care episode registry (birth times for jaundice alerts)
    staff_keys_path: Path | None = None  # the staff's signing keys: only signed commands are applied
    require_pairing: bool = False  # take a wearable's data only from the gateway it is paired to (episodes_path)


class Service:
    def __init__(self, options: ServiceOptions, cfg: DetectorConfig | None = None) -> None:
        if options.require_pairing and options.episodes_path is None:  # before anything is opened
            raise InvalidValueError("--require-pairing needs --episodes (the registry that holds the pairings)")
        self.options = options
        self.store = SqliteStore(
            options.store_path, outbox=options.forward_url is not None, background_checkpoints=True
        )
        self.event_log = EventLog(options.state_dir / "events.db")
        registry = EpisodeRegistry(options.episodes_path) if options.episodes_path else None
        pairings = PairingRegistry(options.episodes_path) if options.episodes_path else None
        self.core = IngestCore(
            site=options.site,
            store=self.store,
            events=self.event_log,
            cfg=cfg,
            rebuild_h=options.rebuild_h,
            episode_of=registry.get if registry else None,
            staff_keys=StaffKeys(options.staff_keys_path) if options.staff_keys_path else None,
            pairing_of=pairings.get if pairings else None,
            require_pairing=options.require_pairing,
        )
        # bounded: when it is full, paho's reading thread waits, the socket stops being read and
        # the rest of a flood waits in the broker (TCP back-pressure), not in serve's memory
        self._inbox: Inbox[tuple[str, bytes, int, int, datetime]] = Inbox(
            max_messages=INBOX_MAX, max_bytes=INBOX_MAX_BYTES
        )
        self.notifier = Notifier(options.notify_urls) if options.notify_urls else None
        self.forwarder = Forwarder(self.store, open_store(options.forward_url)) if options.forward_url else None
        self._pushes: queue.Queue[list] = queue.Queue()
        self._connected = threading.Event()
        self.started_at = clock.utcnow()
        v5 = options.mqtt_version == "5"
        self._v5 = v5
        if v5:
            share_property_tables()  # every PUBLISH received carries a properties field to decode
        client_id = options.client_id or f"kraamwacht-serve-{options.site}"
        self.client = ReadAheadClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        options.broker.apply(self.client)
        self.client.will_set(status_topic(options.site), json.dumps({"state": "offline"}), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda *_args: self._connected.clear()
        # everything serve publishes goes out on a second connection, so that waiting for its
        # PUBACKs never depends on the reading thread, which may be waiting for room in the inbox
        self.out = ReadAheadClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{client_id}-out",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        )
        options.broker.apply(self.out)
        self.out.reconnect_delay_set(min_delay=1, max_delay=10)
        self._out_connected = threading.Event()
        self.out.on_connect = lambda *_args: self._out_connected.set()
        self.out.on_disconnect = lambda *_args: self._out_connected.clear()

    # --- paho callbacks: they only hand work to the main loop ---------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        _LOGGER.info("connected to %s (%s)", self.options.broker, reason)
        site = self.options.site
        client.subscribe(
            [
                *((topic, 1) for topic in Topics.observations_filters(site)),
                (Topics.commands(site), 1),
                (Topics.gateway_status_filter(site), 1),
            ]
        )
        self._connected.set()

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put((msg.topic, msg.payload, msg.mid, msg.qos, clock.utcnow()), len(msg.payload))

    # --- the main loop ------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        missed = self.core.rebuild(now=clock.utcnow(), hours=self.options.rebuild_h)
        address = self.options.broker
        if self._v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            props.ReceiveMaximum = RECEIVE_MAXIMUM  # asked of the broker; the inbox's bound is serve's own
            props.MaximumPacketSize = MAX_PACKET_BYTES  # the same limit broker-config sets for publishers
            self.client.connect(address.host, address.port, keepalive=30, clean_start=False, properties=props)
        else:
            self.client.connect(address.host, address.port, keepalive=30)
        self.out.connect_async(address.host, address.port, keepalive=30)
        self.out.loop_start()
        self.client.loop_start()
        if self.notifier is not None:
            threading.Thread(target=self._push_loop, name="second-channel", daemon=True).start()
        forwarding = None
        if self.forwarder is not None:
            forwarding = threading.Thread(target=self.forwarder.run, args=(stop,), name="forward-to-store", daemon=True)
            forwarding.start()
        try:
            if not (self._connected.wait(10) and self._out_connected.wait(10)):
                raise ConnectionError(f"no connection to the broker at {address} within 10 s")
            now = clock.utcnow()
            states = {episode: self.core.alert_state(episode, now=now) for episode in self.core.episodes()}
            policy = (Topics.policy(self.options.site), self.core.policy().model_dump_json().encode())
            self._deliver(Output([], missed, states, self.core.baselines.changed(now=now)), [], stop, retained=[policy])
            last_status = last_tick = 0.0
            while not stop.is_set():
                batch = self._take_batch()
                if batch:
                    self._process(batch, stop)
                elif self.core.held_for_detection:  # quiet for batch_wait_s: a held backlog waits for nothing
                    self._deliver(self.core.drain(clock.utcnow()), [], stop)
                if time.monotonic() - last_tick >= 1.0:
                    self._deliver(self.core.tick(clock.utcnow()), [], stop)
                    last_tick = time.monotonic()
                if time.monotonic() - last_status >= self.options.status_every_s:
                    self._publish_status("online")
                    last_status = time.monotonic()
            self._deliver(self.core.drain(clock.utcnow()), [], stop)  # held backlogs' alerts, not left to rebuild
            self._publish_status("stopped")
        finally:
            # paho's reading thread may wait for room in a full inbox: release it, or loop_stop
            # waits for it forever (what it held was never acknowledged: the broker keeps it)
            self._inbox.close()
            if forwarding is not None:
                forwarding.join(timeout=10)
            self.client.disconnect()
            self.client.loop_stop()
            self.out.disconnect()
            self.out.loop_stop()
            self.store.close()
            self.event_log.close()

    def _take_batch(self) -> list[tuple[str, bytes, int, int, datetime]]:
        return self._inbox.take(
            self.options.batch_max,
            timeout=self.options.batch_wait_s,
            linger_s=self.options.batch_linger_s,
            enough=BATCH_ENOUGH,
        )

    def _process(self, batch: list[tuple[str, bytes, int, int, datetime]], stop: threading.Event) -> None:
        commands_topic = Topics.commands(self.options.site)

        def is_gateway(topic: str) -> bool:
            return "/gateway/" in topic and topic.endswith("/status")

        observations = [
            RawMessage(topic, payload, at)
            for topic, payload, _mid, _qos, at in batch
            if topic != commands_topic and not is_gateway(topic)
        ]
        outputs = [self.core.handle(observations)] if observations else []
        if any(output.events for output in outputs):
            crash_point("stored")  # the crash tests: committed, nothing published
        results = []
        for topic, payload, _mid, _qos, at in batch:
            if topic == commands_topic:
                result, output = self.core.command(payload, now=at)
                results.append((Topics.command_results(self.options.site), json.dumps(result).encode()))
                outputs.append(output)
            elif is_gateway(topic):
                outputs.append(self.core.gateway_status(topic, payload, now=at))
        for output in outputs:
            if not self._deliver(output, results, stop):
                return  # unacknowledged: redelivered after the restart, events republished by rebuild
            results = []
        self.client.ack_all(mid for _topic, _payload, mid, qos, _at in batch if qos == 1)
        for _topic, _payload, mid, qos, _at in batch:
            if qos == 2:  # serve subscribes with QoS 1; a broker never sends more, but paho would accept it
                self.client.ack(mid, qos)

    def _deliver(
        self,
        output: Output,
        extra: list[tuple[str, bytes]],
        stop: threading.Event,
        *,
        retained: Sequence[tuple[str, bytes]] = (),
    ) -> bool:
        """Publish what a batch produced; retry while the broker is away. False if stopped first."""
        site = self.options.site
        retained = [
            *retained,
            *(
                (Topics.baseline(site, ep, subj), m.model_dump_json().encode())
                for (ep, subj), m in output.baselines.items()
            ),
        ]
        while True:
            try:
                self._publish_all(
                    [(topic, payload, False) for topic, payload in [*output.dead_letters, *extra]]
                    + [(topic, payload, True) for topic, payload in retained]
                )
                self._publish_events(output.events)
                self._publish_all(
                    [
                        (Topics.alert_state(self.options.site, episode), state, True)
                        for episode, state in output.alert_states.items()
                    ]
                )
                return True
            except ConnectionError as exc:
                if stop.is_set():
                    return False
                _LOGGER.warning("delivery failed (%s); retrying when the broker is back", exc)
                self._out_connected.wait(1.0)
                stop.wait(0.5)

    def _publish_events(self, events: list) -> None:
        self._publish_all([(Topics.alert_events(self.options.site), event.to_json_dict(), False) for event in events])
        if events:
            crash_point("published")  # the crash tests: published, not yet in the event log
        self.event_log.record(events)
        if events:
            crash_point("recorded")  # the crash tests: in the event log, the broker's messages not yet acknowledged
        if self.notifier is not None and events:
            self._pushes.put(events)

    def _push_loop(self) -> None:
        assert self.notifier is not None
        while True:
            self.notifier.notify(self._pushes.get())

    def _publish_status(self, state: str) -> None:
        status = {
            "state": state,
            "site": self.options.site,
            "started_at": format_time(self.started_at),
            "updated_at": format_time(clock.utcnow()),
            "subjects": len(self.core.episodes()),
            "actors_verified": self.core.staff_keys is not None,  # commands checked against the staff's keys
            "pairing_required": self.core.require_pairing,  # wearables only from the gateway they are paired to
            **self.core.counters.as_dict(),
            "held_for_detection": self.core.held_for_detection,  # a backlog's samples, stored, detection within 5 s
            "pushes_sent": self.notifier.sent if self.notifier else None,
            "pushes_failed": self.notifier.failed if self.notifier else None,
            "forwarded": self.forwarder.forwarded if self.forwarder else None,
            "forward_errors": self.forwarder.errors if self.forwarder else None,
            "forward_backlog": self.store.backlog() if self.forwarder else None,
        }
        try:
            self._publish(status_topic(self.options.site), status, retain=True)
        except ConnectionError as exc:  # the status is informative; the next period tries again
            _LOGGER.warning("status not published: %s", exc)

    def _publish(self, topic: str, payload: bytes | dict, *, retain: bool = False) -> None:
        self._publish_all([(topic, payload, retain)])

    def _publish_all(self, messages: Sequence[tuple[str, bytes | dict, bool]]) -> None:
        """Publish ``(topic, payload, retain)`` in order, then wait until the broker acknowledged each.

        Pipelined: a batch that raises hundreds of alerts waits about one round trip, not one per
        message; nothing counts as delivered before its PUBACK.
        """
        sent = []
        for topic, payload, retain in messages:
            data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
            sent.append((topic, self.out.publish(topic, data, qos=1, retain=retain)))
        deadline = time.monotonic() + PUBLISH_TIMEOUT_S
        for topic, info in sent:
            try:
                info.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as exc:  # paho: not connected, or the queue is full
                raise ConnectionError(f"publishing {topic} failed: {exc}") from exc
            if not info.is_published():
                raise ConnectionError(f"the broker did not acknowledge {topic} within {PUBLISH_TIMEOUT_S} s")
