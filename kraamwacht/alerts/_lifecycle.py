"""The alert lifecycle of a site: acknowledge, snooze, escalate when nobody responds, stale data.

A pure state object: the service feeds it the detectors' alert events (:meth:`AlertBook.on_event`),
the board's commands (:meth:`on_command`), data arrival (:meth:`on_data`) and the clock
(:meth:`tick`), and publishes what comes back. It answers the usual complaints about
home-monitoring alarms: a snooze is for one alert at one level (a higher level always gets
through), an alert that is snoozed does not re-fire, stale data raises its own technical alert,
and every acknowledgement names who did it, when, and why (the audit trail).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from kraamwacht.alerts._rules import RULES, render
from kraamwacht.contract import AlertEvent, AlertEventKind, Severity, format_time, parse_time
from kraamwacht.signal.config import AlertConfig

__all__ = ["AlertBook", "AlertRecord", "Command", "Outcome"]

# what the detectors say about an alert; the rest (acknowledged, snoozed, repeated) the book says itself
_DETECTOR_EVENTS = frozenset(
    {AlertEventKind.RAISED, AlertEventKind.ESCALATED, AlertEventKind.JOINED, AlertEventKind.RESOLVED}
)

Status = Literal["open", "acknowledged", "resolved"]
# alert groups of event logs written before temperature and pulse shared the mother's clinical alert
_SUPERSEDED_GROUPS = frozenset({"temperature", "heart_rate"})
_MAX_REMEMBERED_COMMANDS = 10_000


@dataclass(frozen=True, slots=True)
class Command:
    """A person's action on an alert, sent by the board on the commands topic."""

    command_id: str
    action: Literal["acknowledge", "snooze", "note"]
    alert_id: str
    actor: str
    issued_at: datetime
    duration_min: int | None = None
    note: str | None = None
    verified: bool = False  # serve checked the actor's signature (kraamwacht.staffkeys)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A command's result: accepted or refused with the reason, and the events it caused."""

    accepted: bool
    reason: str
    events: tuple[AlertEvent, ...] = ()


@dataclass(slots=True)
class AlertRecord:
    """One alert as the book keeps it: level, status, texts, who acknowledged it, and its audit trail."""

    alert_id: str
    episode: str
    subject: str
    category: str
    rule: str
    level: str
    status: Status
    raised_at: datetime
    message: str
    message_en: str
    values: dict[str, Any]
    source: str
    last_notified_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_level: str | None = None
    audit: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = format_time(value)
        return data


class AlertBook:
    """Every alert of a site and what people did with them (see the module docstring)."""

    def __init__(self, cfg: AlertConfig | None = None) -> None:
        self.cfg = cfg or AlertConfig()
        self.records: dict[str, AlertRecord] = {}
        self._commands: dict[str, None] = {}  # ordered set of handled command ids
        self._last_data: dict[tuple[str, str], datetime] = {}
        self._stale_count: dict[tuple[str, str], int] = {}

    # --- inputs -------------------------------------------------------------------------------------
    def on_event(self, episode: str, event: AlertEvent, *, now: datetime | None = None) -> list[AlertEvent]:
        """Take a detector event (raised / escalated / joined / resolved) into the book.

        ``now`` is when it reaches the care team: the time to acknowledge runs from then, not from
        the (possibly much older) measurement, so a backlog replayed after an outage does not
        escalate on arrival.
        """
        notified = max(event.time, now) if now is not None else event.time
        record = self.records.get(event.alert_id)
        if event.event is AlertEventKind.RAISED:
            self.records[event.alert_id] = AlertRecord(
                event.alert_id, episode, event.subject, event.category, event.rule, event.level.value, "open",
                event.time, event.message, event.message_en, dict(event.values), event.source, notified,
            )  # fmt: skip
        elif record is not None and event.event is AlertEventKind.ESCALATED:
            record.level, record.rule, record.message, record.message_en = (
                event.level.value,
                event.rule,
                event.message,
                event.message_en,
            )
            record.values = dict(event.values)
            record.status = "open"  # an escalation needs a new acknowledgement
            record.last_notified_at = notified
            if record.snoozed_level is not None and Severity(record.snoozed_level) < Severity(record.level):
                record.snoozed_until = record.snoozed_level = None  # a snooze never silences a higher level
        elif record is not None and event.event is AlertEventKind.JOINED:
            # what else is in it (the board's "ook: ..."); its level, words and acknowledgement stand
            record.values["rules"] = event.values.get("rules")
        elif record is not None and event.event is AlertEventKind.RESOLVED:
            record.status = "resolved"
            record.snoozed_until = record.snoozed_level = None
        return []

    def on_command(self, command: Command, *, now: datetime) -> Outcome:
        """Check and apply a command; a refused command changes nothing and says why."""
        if command.command_id in self._commands:
            return Outcome(True, "duplicate command, already applied")
        record = self.records.get(command.alert_id)
        if not command.actor.strip():
            return Outcome(False, "a command must name who gives it")
        if record is None:
            return Outcome(False, f"no alert {command.alert_id!r}")
        if record.status == "resolved":
            return Outcome(False, f"alert {command.alert_id} is already resolved")
        entry: dict[str, Any] = {
            "time": format_time(now),
            "actor": command.actor,
            "action": command.action,
            "note": command.note,
            "verified": command.verified,
        }
        if command.action == "acknowledge":
            record.status, record.acknowledged_by, record.acknowledged_at = "acknowledged", command.actor, now
            record.snoozed_until = record.snoozed_level = None
            event = self._event(record, AlertEventKind.ACKNOWLEDGED, now,
                                f"Bevestigd door {command.actor}" + (f": {command.note}" if command.note else "."),
                                f"Acknowledged by {command.actor}" + (f": {command.note}" if command.note else "."),
                                {"actor": command.actor, "note": command.note, "verified": int(command.verified)})  # fmt: skip
        elif command.action == "snooze":
            limit = self.cfg.snooze_max_urgent_min if record.level == "urgent" else self.cfg.snooze_max_warning_min
            if command.duration_min not in self.cfg.snooze_choices_min:
                return Outcome(False, f"snooze must be one of {list(self.cfg.snooze_choices_min)} minutes")
            if command.duration_min > limit:
                return Outcome(False, f"a {record.level} alert can be snoozed for at most {limit:g} minutes")
            record.snoozed_until = now + timedelta(minutes=command.duration_min)
            record.snoozed_level = record.level
            entry["duration_min"] = command.duration_min
            until = record.snoozed_until.strftime("%H:%M")
            event = self._event(record, AlertEventKind.SNOOZED, now,
                                f"Gesnoozed door {command.actor} tot {until} UTC (alleen op dit niveau).",
                                f"Snoozed by {command.actor} until {until} UTC (this level only).",
                                {"actor": command.actor, "snoozed_until": format_time(record.snoozed_until),
                                 "duration_min": command.duration_min, "verified": int(command.verified)})  # fmt: skip
        elif command.action == "note":
            if not command.note:
                return Outcome(False, "a note needs text")
            record.audit.append(entry)
            self._remember(command.command_id)
            return Outcome(True, "noted")
        else:  # the contract allows no other action; a Command built by hand might
            return Outcome(False, f"unknown action {command.action!r}")  # type: ignore[unreachable]
        record.audit.append(entry)
        self._remember(command.command_id)
        return Outcome(True, "applied", (event,))

    def on_data(self, episode: str, subject: str, *, received_at: datetime) -> list[AlertEvent]:
        """Data arrived from a subject's device: a stale-data alert resolves."""
        key = (episode, subject)
        previous = self._last_data.get(key)
        self._last_data[key] = max(received_at, previous) if previous else received_at
        record = self._stale_record(key)
        if record is None:
            return []
        record.status = "resolved"
        return [self._event(record, AlertEventKind.RESOLVED, received_at, *render("no_data", "resolved", {}), {})]

    def watch(self, episode: str, subject: str, *, last_seen: datetime) -> None:
        """Resume the stale-data watch after a restart (from the newest stored sample); resolves nothing."""
        key = (episode, subject)
        previous = self._last_data.get(key)
        self._last_data[key] = max(last_seen, previous) if previous else last_seen

    def tick(self, now: datetime) -> list[AlertEvent]:
        """Escalate, repeat and detect stale data as time passes."""
        out: list[AlertEvent] = []
        for record in list(self.records.values()):
            if record.status != "open":
                continue
            if record.snoozed_until is not None:
                if now < record.snoozed_until:
                    continue
                record.snoozed_until = record.snoozed_level = None
                record.last_notified_at = now
                out.append(self._event(record, AlertEventKind.REPEATED, now, "Snooze voorbij: " + record.message,
                                       "Snooze over: " + record.message_en, {}))  # fmt: skip
                continue
            waited = (now - record.last_notified_at).total_seconds() / 60.0
            if record.level == "warning" and waited >= self.cfg.ack_timeout_warning_min:
                record.level, record.last_notified_at = "urgent", now
                out.append(self._event(record, AlertEventKind.ESCALATED, now,
                                       f"Niet bevestigd binnen {self.cfg.ack_timeout_warning_min:g} min, nu dringend: {record.message}",
                                       f"Not acknowledged within {self.cfg.ack_timeout_warning_min:g} min, now urgent: {record.message_en}",
                                       {"reason": "not acknowledged"}))  # fmt: skip
            elif record.level == "urgent" and waited >= self.cfg.urgent_repeat_min:
                record.last_notified_at = now
                out.append(self._event(record, AlertEventKind.REPEATED, now, "Herhaling, nog niet bevestigd: " + record.message,
                                       "Repeat, not yet acknowledged: " + record.message_en, {}))  # fmt: skip
        out += self._stale(now)
        return out

    def restore(self, event: AlertEvent) -> None:
        """Re-apply a published event from the event log (restart: the book comes back as it was)."""
        episode = event.episode or str(event.values.get("episode", ""))  # event logs before the field: in values
        if event.event in _DETECTOR_EVENTS:
            if event.rule == "no_data":
                self._restore_stale(episode, event)
                return
            if event.rule in ("low_battery", "gateway_offline"):
                self._restore_condition(episode, event)
                return
            self.on_event(episode, event)
            return
        record = self.records.get(event.alert_id)
        if record is None:
            return
        if event.event is AlertEventKind.ACKNOWLEDGED:
            record.status, record.acknowledged_at = "acknowledged", event.time
            record.acknowledged_by = str(event.values.get("actor"))
            record.audit.append({"time": format_time(event.time), "actor": record.acknowledged_by, "action": "acknowledge",
                                 "note": event.values.get("note")})  # fmt: skip
        elif event.event is AlertEventKind.SNOOZED:
            record.snoozed_until = parse_time(str(event.values["snoozed_until"]))
            record.snoozed_level = record.level
        elif event.event is AlertEventKind.REPEATED:
            record.last_notified_at = event.time
            record.snoozed_until = record.snoozed_level = None

    def close_superseded(self, now: datetime) -> list[str]:
        """Close the restored alerts of groups that no longer exist; returns their ids.

        An event log from before temperature and pulse shared one clinical alert holds alerts such
        as ``m1:temperature:1`` that no detector will resolve again; the rebuild raises what is still
        true under the new ids. The old ones stay in the book, closed, with the reason in their audit.
        """
        closed = []
        for record in self.records.values():
            parts = record.alert_id.rsplit(":", 2)
            if record.status != "resolved" and len(parts) == 3 and parts[1] in _SUPERSEDED_GROUPS:
                record.status = "resolved"
                record.snoozed_until = record.snoozed_level = None
                record.audit.append({"time": format_time(now), "actor": "kraamwacht", "action": "superseded",
                                     "note": "replaced by the mother's clinical alert after an upgrade"})  # fmt: skip
                closed.append(record.alert_id)
        return closed

    def _restore_condition(self, episode: str, event: AlertEvent) -> None:
        if event.event is AlertEventKind.RAISED:
            self.records[event.alert_id] = AlertRecord(
                event.alert_id, episode, event.subject, "technical", event.rule, event.level.value, "open", event.time,
                event.message, event.message_en, dict(event.values), event.source, event.time,
            )  # fmt: skip
        elif event.alert_id in self.records and event.event is AlertEventKind.RESOLVED:
            self.records[event.alert_id].status = "resolved"

    def _restore_stale(self, episode: str, event: AlertEvent) -> None:
        key = (episode, event.subject)
        number = int(event.alert_id.rsplit(":", 1)[1])
        self._stale_count[key] = max(self._stale_count.get(key, 0), number)
        if event.event is AlertEventKind.RAISED:
            self.records[event.alert_id] = AlertRecord(
                event.alert_id, episode, event.subject, "technical", "no_data", event.level.value, "open", event.time,
                event.message, event.message_en, {}, event.source, event.time,
            )  # fmt: skip
        elif event.alert_id in self.records:
            record = self.records[event.alert_id]
            record.level = event.level.value
            record.status = "resolved" if event.event is AlertEventKind.RESOLVED else "open"

    # --- device and gateway conditions: technical alerts -------------------------------------------------
    def on_battery(self, episode: str, subject: str, device: str, pct: float, *, at: datetime) -> list[AlertEvent]:
        """Low battery of a device: raised at or below the low mark, resolved above the ok mark."""
        alert_id = f"{subject}:battery:{device}"
        record = self.records.get(alert_id)
        active = record is not None and record.status != "resolved"
        if not active and pct <= self.cfg.battery_low_pct:
            values: dict[str, float | int | str | None] = {"battery_pct": pct, "device": device}
            nl, en = render("low_battery", "raised", values)
            record = AlertRecord(alert_id, episode, subject, "technical", "low_battery", "warning", "open", at, nl, en,
                                 values, RULES["low_battery"].source, at)  # fmt: skip
            self.records[alert_id] = record
            return [self._event(record, AlertEventKind.RAISED, at, nl, en, {})]
        if active and record is not None and pct > self.cfg.battery_ok_pct:
            record.status = "resolved"
            texts = render("low_battery", "resolved", {"battery_pct": pct})
            return [self._event(record, AlertEventKind.RESOLVED, at, *texts, {"battery_pct": pct})]
        return []

    def on_gateway(self, gateway: str, *, online: bool, at: datetime) -> list[AlertEvent]:
        """A gateway's availability (its retained status, ``offline`` by MQTT last will)."""
        alert_id = f"gateway-{gateway}:gateway:1"
        record = self.records.get(alert_id)
        active = record is not None and record.status != "resolved"
        if not online and not active:
            nl, en = render("gateway_offline", "raised", {"gateway": gateway})
            record = AlertRecord(alert_id, "site", f"gateway-{gateway}", "technical", "gateway_offline", "urgent", "open", at, nl, en,
                                 {"gateway": gateway}, RULES["gateway_offline"].source, at)  # fmt: skip
            self.records[alert_id] = record
            return [self._event(record, AlertEventKind.RAISED, at, nl, en, {})]
        if online and active and record is not None:
            record.status = "resolved"
            texts = render("gateway_offline", "resolved", {"gateway": gateway})
            return [self._event(record, AlertEventKind.RESOLVED, at, *texts, {})]
        return []

    # --- stale data: a technical alert per subject ---------------------------------------------------
    def _stale_record(self, key: tuple[str, str]) -> AlertRecord | None:
        count = self._stale_count.get(key)
        record = self.records.get(f"{key[1]}:no_data:{count}") if count else None
        return record if record is not None and record.status != "resolved" else None

    def _stale(self, now: datetime) -> list[AlertEvent]:
        out = []
        for key, last in self._last_data.items():
            age_min = (now - last).total_seconds() / 60.0
            level = (
                "urgent"
                if age_min >= self.cfg.stale_urgent_min
                else "warning"
                if age_min >= self.cfg.stale_warning_min
                else None
            )
            record = self._stale_record(key)
            if level is None:
                continue
            text_nl, text_en = render("no_data", "raised", {"minutes_without_data": age_min})
            if record is None:
                self._stale_count[key] = self._stale_count.get(key, 0) + 1
                alert_id = f"{key[1]}:no_data:{self._stale_count[key]}"
                record = AlertRecord(alert_id, key[0], key[1], "technical", "no_data", level, "open", now, text_nl, text_en,
                                     {"minutes_without_data": round(age_min, 1)}, RULES["no_data"].source, now)  # fmt: skip
                self.records[alert_id] = record
                out.append(self._event(record, AlertEventKind.RAISED, now, text_nl, text_en, {}))
            elif Severity(level) > Severity(record.level):
                record.level, record.message, record.message_en, record.status = level, text_nl, text_en, "open"
                record.last_notified_at = now
                out.append(self._event(record, AlertEventKind.ESCALATED, now, text_nl, text_en, {}))
        return out

    def prune(self, *, before: datetime) -> int:
        """Forget resolved alerts raised before ``before`` (their history stays in the event log)."""
        old = [k for k, r in self.records.items() if r.status == "resolved" and r.raised_at < before]
        for key in old:
            del self.records[key]
        return len(old)

    # --- output ---------------------------------------------------------------------------------------
    def open_alerts(self, episode: str) -> list[dict[str, Any]]:
        records = [r for r in self.records.values() if r.episode == episode and r.status != "resolved"]
        records.sort(key=lambda r: (-Severity(r.level).rank, r.category != "clinical", r.raised_at))
        return [r.as_json() for r in records]

    def _event(
        self, record: AlertRecord, kind: AlertEventKind, now: datetime, nl: str, en: str, extra: dict[str, Any]
    ) -> AlertEvent:
        return AlertEvent(
            time=now,
            subject=record.subject,
            alert_id=record.alert_id,
            event=kind,
            level=Severity(record.level),
            category=record.category,
            rule=record.rule,
            message=nl,
            message_en=en,
            values={**{k: v for k, v in record.values.items() if isinstance(v, int | float | str) or v is None}, **extra},
            episode=record.episode,
            source=record.source,
        )  # fmt: skip

    def _remember(self, command_id: str) -> None:
        self._commands[command_id] = None
        while len(self._commands) > _MAX_REMEMBERED_COMMANDS:
            self._commands.pop(next(iter(self._commands)))
