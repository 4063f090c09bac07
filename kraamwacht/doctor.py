"""``kraamwacht doctor``: check a deployment and say what is wrong and what to do about it.

:func:`look` gathers (the broker's retained statuses of serve, the gateways and the wearables; the
store; the board's users and episodes); :func:`judge` is pure and turns that into findings, each
with a fix. Exit status 1 when anything is wrong, so it can run from cron or a monitoring check.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kraamwacht import clock
from kraamwacht.signal.config import AlertConfig

__all__ = ["Finding", "Snapshot", "judge", "look"]

_ALERTS = AlertConfig()
SERVE_STALE_S = 30.0  # serve publishes its status every 5 s
DEVICE_SILENT_S = _ALERTS.stale_warning_min * 60.0  # as the stale-data alert
BATTERY_LOW_PCT = _ALERTS.battery_low_pct  # as the low-battery alert
DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"  # retained by mosquitto; amqtt has no such count


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    level: str  # ok / warning / error
    detail: str
    fix: str = ""


@dataclass
class Snapshot:
    broker_error: str | None = None
    broker_dropped: int | None = None  # mosquitto's $SYS count of messages it dropped (queue limits)
    serve: dict[str, Any] | None = None
    gateways: dict[str, str] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    store_error: str | None = None
    store_count: int | None = None
    store_newest_s: float | None = None
    users: int | None = None
    episodes: int | None = None
    acl_overreach: dict[str, list[str]] | None = None  # account → topics beyond its own gateway it may write


def _age_s(text: str | None, now: datetime) -> float | None:
    if not text:
        return None
    try:
        return (now - datetime.fromisoformat(text.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return None


def judge(s: Snapshot, *, now: datetime) -> list[Finding]:
    out: list[Finding] = []
    if s.broker_error:
        return [
            Finding(
                "broker",
                "error",
                s.broker_error,
                "start mosquitto (or `kraamwacht broker`), check host, port and credentials",
            )
        ]
    out.append(Finding("broker", "ok", "reachable"))
    if s.broker_dropped:
        out.append(Finding("broker queue", "error",
                           f"the broker dropped {s.broker_dropped} messages since it started (queue limits): samples it "
                           "acknowledged to a gateway may never have reached serve",
                           "set max_queued_messages 1000000 (kraamwacht broker-config does) and keep serve running"))  # fmt: skip
    if s.serve is None:
        out.append(Finding("serve", "error", "no status from serve", "start `kraamwacht serve` for this site"))
    else:
        age = _age_s(s.serve.get("updated_at") or s.serve.get("time"), now)
        state = s.serve.get("state", "online")
        if state == "offline":
            out.append(
                Finding("serve", "error", "serve is offline (its last will)", "restart `kraamwacht serve`; see its log")
            )
        elif state == "stopped":
            out.append(Finding("serve", "error", "serve was stopped", "start `kraamwacht serve` for this site"))
        elif age is not None and age > SERVE_STALE_S:
            out.append(
                Finding(
                    "serve", "error", f"serve's status is {age:.0f} s old", "serve is hung or disconnected: restart it"
                )
            )
        else:
            rejected = s.serve.get("rejected_total", 0)
            detail = f"online; stored {s.serve.get('stored', 0)}, duplicates {s.serve.get('duplicates', 0)}, rejected {rejected}"
            out.append(Finding("serve", "ok", detail))
            if s.serve.get("jaundice_without_episode"):
                out.append(Finding("serve episodes", "warning", "bilirubin readings for newborns serve cannot judge",
                                   "start serve with --episodes BOARD_DIR/episodes.db and add the episodes"))  # fmt: skip
            if s.serve.get("pairing_required") is False:
                out.append(Finding("serve pairing", "warning",
                                   "serve takes a wearable's data from any gateway of the site",
                                   "start serve with --episodes BOARD_DIR/episodes.db --require-pairing;"
                                   " pair each wearable with `kraamwacht episode pair`"))  # fmt: skip
            if s.serve.get("actors_verified") is False:
                out.append(Finding("serve actors", "warning",
                                   "serve applies acknowledgements and snoozes without checking who gave them",
                                   "start serve with --staff-keys BOARD_DIR/staff-keys.json"))  # fmt: skip
    for gateway, state in sorted(s.gateways.items()):
        if state == "online":
            out.append(Finding(f"gateway {gateway}", "ok", "online"))
        else:
            out.append(
                Finding(
                    f"gateway {gateway}",
                    "error",
                    "offline (last will)",
                    "check the gateway's power, network and `journalctl -u kraamwacht-gateway`",
                )
            )
    for device, st in sorted(s.devices.items()):
        seen = _age_s(st.get("last_seen"), now)
        if not st.get("connected"):
            detail = "not connected" + (f", last reading {seen / 60:.0f} min ago" if seen is not None else "")
            out.append(Finding(f"wearable {device}", "warning" if seen is not None and seen < DEVICE_SILENT_S else "error",
                               detail, "bring it near the gateway; charge it; check `gateway list` pairs it"))  # fmt: skip
        elif st.get("battery_pct") is not None and st["battery_pct"] <= BATTERY_LOW_PCT:
            out.append(
                Finding(
                    f"wearable {device}", "warning", f"battery {st['battery_pct']} %", "charge or replace the wearable"
                )
            )
        else:
            out.append(Finding(f"wearable {device}", "ok", f"connected, battery {st.get('battery_pct')} %"))
    if s.acl_overreach:
        accounts = "; ".join(f"{who} → {', '.join(topics)}" for who, topics in sorted(s.acl_overreach.items()))
        out.append(Finding("broker ACL", "error",
                           f"accounts may write wearable data of a gateway not theirs: {accounts}",
                           "write the ACL with `kraamwacht broker-config` (a gateway writes only .../obs/<its id>)"))  # fmt: skip
    elif s.acl_overreach is not None:
        out.append(Finding("broker ACL", "ok", "each gateway writes only its own wearables' topics"))
    if s.store_error:
        out.append(Finding("store", "error", s.store_error, "check --store and that the file or server is reachable"))
    elif s.store_count is not None:
        newest = None if s.store_newest_s is None else now.timestamp() - s.store_newest_s
        if s.store_count and newest is not None and newest > DEVICE_SILENT_S:
            out.append(Finding("store", "warning", f"{s.store_count} samples, the newest {newest / 60:.0f} min old",
                               "no new data: check the gateways and serve"))  # fmt: skip
        else:
            out.append(Finding("store", "ok", f"{s.store_count} samples"))
    if s.users is not None:
        if s.users == 0:
            out.append(
                Finding("board users", "error", "nobody can log in", "kraamwacht user add NAME --role kraamverzorgende")
            )
        else:
            out.append(Finding("board users", "ok", f"{s.users} users"))
    if s.episodes is not None:
        level = "ok" if s.episodes else "warning"
        out.append(
            Finding("care episodes", level, f"{s.episodes} active", "" if s.episodes else "kraamwacht episode add ...")
        )
    return out


PROBE_GATEWAY = "zz-no-such-gateway"  # a gateway no account is: whoever may write its topics may write any


def acl_overreach(acl_text: str, site: str) -> dict[str, list[str]]:
    """The accounts of a mosquitto ACL that may write a wearable's data beyond their own gateway.

    Probes topics of a gateway that no account is (its observations, its wearables' status, its
    status) and the open observation topic; ``pattern`` lines apply to every account with ``%u``
    (and ``%c``, taken as the account name) substituted, lines before any ``user`` to anonymous.
    """
    import paho.mqtt.client as mqtt

    from kraamwacht.contract import Topics

    probes = [
        Topics.observations(site, "ep-probe", "s-probe"),
        Topics.observations(site, "ep-probe", "s-probe", gateway=PROBE_GATEWAY),
        Topics.device_status(site, PROBE_GATEWAY, "wb-probe"),
        Topics.gateway_status(site, PROBE_GATEWAY),
    ]
    writes: dict[str, list[str]] = {"(anonymous)": []}
    patterns: list[str] = []
    user = "(anonymous)"
    for raw in acl_text.splitlines():
        words = raw.split(maxsplit=2)
        if len(words) < 2 or words[0].startswith("#"):
            continue
        if words[0] == "user":
            user = raw.split(maxsplit=1)[1].strip()
            writes.setdefault(user, [])
        elif words[0] in ("topic", "pattern"):
            access, topic = (words[1], words[2].strip()) if len(words) == 3 else ("readwrite", words[1])
            if access in ("write", "readwrite"):
                (patterns if words[0] == "pattern" else writes[user]).append(topic)
    out: dict[str, list[str]] = {}
    for who, topics in writes.items():
        allowed = [*topics, *(p.replace("%u", who).replace("%c", who) for p in patterns)]
        reach = [probe for probe in probes if any(mqtt.topic_matches_sub(rule, probe) for rule in allowed)]
        if reach:
            out[who] = reach
    return out


def look(
    *,
    broker: Any,
    site: str,
    store_url: str | None,
    board_dir: Path | None,
    wait_s: float = 3.0,
    acl_path: Path | None = None,
) -> Snapshot:
    """Gather what :func:`judge` needs (the shell: MQTT, storage, files)."""
    import paho.mqtt.client as mqtt

    from kraamwacht.contract import Topics
    from kraamwacht.service._mqtt import status_topic

    snap = Snapshot()
    lock = threading.Lock()
    serve_topic = status_topic(site)

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(msg.payload)
        except ValueError:
            body = msg.payload.decode(errors="replace").strip()
        with lock:
            if msg.topic == DROPPED_TOPIC and isinstance(body, int):
                snap.broker_dropped = body
            elif msg.topic == serve_topic and isinstance(body, dict):
                snap.serve = body
            elif mqtt.topic_matches_sub(Topics.gateway_status_filter(site), msg.topic):
                state = body.get("state") if isinstance(body, dict) else body
                snap.gateways[msg.topic.split("/")[-2]] = str(state)
            elif mqtt.topic_matches_sub(Topics.device_status_filter(site), msg.topic) and isinstance(body, dict):
                snap.devices[msg.topic.split("/")[-2]] = body

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    broker.apply(client)
    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(
        [
            (serve_topic, 1),
            (Topics.gateway_status_filter(site), 1),
            (Topics.device_status_filter(site), 1),
            (DROPPED_TOPIC, 0),
        ]
    )
    try:
        client.connect(broker.host, broker.port)
    except OSError as exc:
        snap.broker_error = f"cannot reach the broker at {broker}: {exc}"
    else:
        client.loop_start()
        time.sleep(wait_s)  # retained messages arrive at once; live ones within serve's status period
        client.disconnect()
        client.loop_stop()
    if store_url:
        try:
            from kraamwacht.storage import open_store
            from kraamwacht.storage.sqlite import SqliteStore

            store = open_store(store_url)
            if isinstance(store, SqliteStore):
                snap.store_count = store.count()
                snap.store_newest_s = store.newest_time()
            else:
                snap.store_count = len(store.subjects())
        except Exception as exc:  # any store failure is a finding, not a crash of the doctor
            snap.store_error = f"{type(exc).__name__}: {exc}"
    if board_dir is not None:
        from kraamwacht.dashboard.auth import UserStore
        from kraamwacht.episodes import EpisodeRegistry

        snap.users = len(UserStore(board_dir / "users.json").names())
        snap.episodes = (
            len(EpisodeRegistry(board_dir / "episodes.db").active(site)) if (board_dir / "episodes.db").exists() else 0
        )
    if acl_path is not None:
        snap.acl_overreach = acl_overreach(acl_path.read_text(), site)
    return snap


def now_utc() -> datetime:
    return clock.utcnow()
