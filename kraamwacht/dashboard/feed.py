"""The board's MQTT side: alert states, device statuses, serve's baselines and policy, and commands.

serve publishes each episode's alert state retained, so a board that (re)connects has the whole
picture at once; this feed keeps the newest of each in memory (one per process, shared by all
sessions). Commands (acknowledge, snooze, note) go to serve, which checks and audits them and
answers on the results topic; :meth:`BoardFeed.command` waits for that answer, so the board tells
the user whether it worked instead of assuming it. Under MQTT 5 (the default; 3.1.1 for the
embedded broker) a command the broker refuses (its ACL) is told as refused at once, with the
broker's reason, instead of waiting for an answer that cannot come.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from kraamwacht import clock
from kraamwacht.contract import BaselineMessage, CommandMessage, PolicyMessage, Topics
from kraamwacht.publish import BrokerAddress, PubackReasons
from kraamwacht.staffkeys import sign

__all__ = ["BoardFeed", "CommandResult"]

_M = TypeVar("_M", BaselineMessage, PolicyMessage)


class CommandResult(dict[str, Any]):
    @property
    def accepted(self) -> bool:
        return bool(self.get("accepted"))


class BoardFeed:
    def __init__(self, broker: BrokerAddress, site: str, *, client_id: str | None = None) -> None:
        self.site = site
        self.alert_states: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []  # alert events seen since start, newest last (bounded)
        self.baselines: dict[tuple[str, str], BaselineMessage] = {}  # (episode, subject) → serve's baseline
        self.policy: PolicyMessage | None = None  # the alert policy serve enforces (None until it said)
        self._results: dict[str, CommandResult] = {}
        self._lock = threading.Condition()
        self.connected = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"kraamwacht-board-{uuid.uuid4().hex[:8]}",
            protocol=broker.protocol,
        )
        broker.apply(self.client)
        self._reasons = PubackReasons()
        self.client.on_publish = self._reasons.on_publish
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.connected.clear()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 10)
        self.client.connect_async(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, *_args: Any) -> None:
        client.subscribe(
            [
                (Topics.alert_state_filter(self.site), 1),
                (Topics.alert_events(self.site), 1),
                (Topics.command_results(self.site), 1),
                (Topics.baseline_filter(self.site), 1),
                (Topics.policy(self.site), 1),
            ]
        )
        self.connected.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return  # not ours to judge: serve dead-letters bad input; the board only reads serve's output
        if not isinstance(body, dict):
            return
        with self._lock:
            if message.topic == Topics.command_results(self.site):
                self._results[str(body.get("command_id"))] = CommandResult(body)
            elif message.topic == Topics.alert_events(self.site):
                self.events = [*self.events[-499:], body]
            elif mqtt.topic_matches_sub(Topics.alert_state_filter(self.site), message.topic) and "episode" in body:
                self.alert_states[str(body["episode"])] = body
            elif mqtt.topic_matches_sub(Topics.baseline_filter(self.site), message.topic):
                if (baseline := _parsed(BaselineMessage, body)) is not None:
                    self.baselines[(baseline.episode, baseline.subject)] = baseline
            elif message.topic == Topics.policy(self.site):
                self.policy = _parsed(PolicyMessage, body) or self.policy
            self._lock.notify_all()

    def baseline(self, episode: str, subject: str) -> BaselineMessage | None:
        """serve's baseline series for a mother, if serve has published one."""
        with self._lock:
            return self.baselines.get((episode, subject))

    def state(self, episode: str) -> dict[str, Any] | None:
        with self._lock:
            return self.alert_states.get(episode)

    def command(
        self,
        action: str,
        alert_id: str,
        *,
        actor: str,
        duration_min: int | None = None,
        note: str | None = None,
        signing_key: bytes | None = None,
        timeout_s: float = 10.0,
    ) -> CommandResult:
        """Send a command to serve, signed with the actor's key, and wait for its answer."""
        message = CommandMessage(
            v=1,
            command_id=uuid.uuid4().hex,
            action=action,  # type: ignore[arg-type]
            alert_id=alert_id,
            actor=actor,
            issued_at=clock.utcnow(),
            duration_min=duration_min,
            note=note,
        )
        if signing_key is not None:
            message = sign(signing_key, message)
        info = self.client.publish(Topics.commands(self.site), message.model_dump_json(), qos=1)
        deadline = time.monotonic() + timeout_s
        with contextlib.suppress(RuntimeError, ValueError):  # not connected: "not reachable" below, at the deadline
            info.wait_for_publish(timeout=timeout_s)
        if info.is_published() and (refused := self._reasons.refusal(info.mid)) is not None:
            return CommandResult(
                accepted=False, reason=f"refused by the broker: {refused}", command_id=message.command_id
            )
        with self._lock:
            while message.command_id not in self._results:
                left = deadline - time.monotonic()
                if left <= 0:
                    published = info.is_published()
                    reason = "no answer from the alert service" if published else "the broker is not reachable"
                    return CommandResult(accepted=False, reason=reason, command_id=message.command_id)
                self._lock.wait(left)
            return self._results.pop(message.command_id)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _parsed(model: type[_M], body: dict[str, Any]) -> _M | None:
    try:
        return model.model_validate(body)
    except ValidationError:
        return None  # an older or foreign message: not drawn, never guessed
