"""The ingest core of ``kraamwacht serve``, without any network: one batch of MQTT messages in,
what to store, publish and count out.

Order of work per batch (the shell acknowledges the MQTT messages only after this returns):
validate every message against the contract → write the accepted samples to the store, which says
which ones are new → feed only the new ones to the per-subject streaming detectors (the very
``AlertMonitor`` that ``kraamwacht replay`` runs in batch) → alert events, left out if the event
log says they were published already, and the alert state of each affected episode. The shell
records events in the log once the broker has acknowledged them.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from kraamwacht.alerts import AlertBook, AlertMonitor, Command, jaundice_events
from kraamwacht.contract import (
    AlertEvent,
    BaselineMessage,
    BilirubinMethod,
    CommandMessage,
    Observation,
    PolicyMessage,
    QualityFlag,
    Rejection,
    RejectReason,
    SampleColumn,
    Signal,
    Topics,
    format_time,
    parse_message,
)
from kraamwacht.episodes import Episode
from kraamwacht.jaundice import Reading, ThresholdError, assess
from kraamwacht.pairings import Pairing, sender_problem
from kraamwacht.service._baselines import BaselineSeries
from kraamwacht.service._eventlog import EventLog
from kraamwacht.service._gather import BacklogHold, join_inputs
from kraamwacht.signal import DetectorConfig, TrackerState, thermometer_key
from kraamwacht.staffkeys import StaffKeys
from kraamwacht.storage.sqlite import SqliteStore

__all__ = ["Counters", "IngestCore", "Output", "RawMessage"]

_LOGGER = logging.getLogger(__name__)
DETECTED_SIGNALS = (Signal.TEMPERATURE_C.value, Signal.HEART_RATE_BPM.value, Signal.THERMOMETER_C.value)


@dataclass(frozen=True, slots=True)
class RawMessage:
    topic: str
    payload: bytes
    received_at: datetime


@dataclass(slots=True)
class Counters:
    """What serve counts; published on the status topic and shown by ``kraamwacht status``."""

    messages: int = 0
    samples: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    late_for_detection: int = 0
    jaundice_without_episode: int = 0  # bilirubin for a newborn the episode registry does not know
    events: int = 0
    lag_s: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))  # receive - device time, last batch

    def as_dict(self) -> dict[str, object]:
        lag = self.lag_s if len(self.lag_s) else np.array([np.nan])
        return {
            "messages": self.messages,
            "samples": self.samples,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "rejected_total": sum(self.rejected.values()),
            "late_for_detection": self.late_for_detection,
            "jaundice_without_episode": self.jaundice_without_episode,
            "alert_events": self.events,
            "lag_p50_s": None if np.isnan(lag).all() else round(float(np.nanpercentile(lag, 50)), 3),
            "lag_p99_s": None if np.isnan(lag).all() else round(float(np.nanpercentile(lag, 99)), 3),
        }


@dataclass(frozen=True, slots=True)
class Output:
    dead_letters: list[tuple[str, bytes]]
    events: list[AlertEvent]
    alert_states: dict[str, dict[str, object]]  # episode → retained state
    baselines: dict[tuple[str, str], BaselineMessage] = field(default_factory=dict)  # (episode, subject) → retained


class IngestCore:
    def __init__(
        self,
        *,
        site: str,
        store: SqliteStore,
        events: EventLog,
        cfg: DetectorConfig | None = None,
        rebuild_h: float = 72.0,
        episode_of: Callable[[str], Episode | None] | None = None,
        staff_keys: StaffKeys | None = None,
        pairing_of: Callable[[str], Pairing | None] | None = None,
        require_pairing: bool = False,
        backlog_hold_s: float = 5.0,
    ) -> None:
        """``episode_of``: the care episode registry's lookup; bilirubin alerts need the birth time and gestation.

        ``staff_keys``: when given, a command is applied only if its actor signed it (``kraamwacht.staffkeys``).
        ``pairing_of``: the pairing authority's lookup (``kraamwacht.pairings``): a paired wearable is
        taken only from its gateway, for its wearer; with ``require_pairing``, an unpaired one not at all.
        ``backlog_hold_s``: how long a backlog (version 2's columns) may wait for its detection, so
        that a flush is detected in one update per subject (``_gather``); 0 detects it on arrival.
        """
        if require_pairing and pairing_of is None:
            raise ValueError("require_pairing needs the pairing registry (pairing_of)")
        self.pairing_of = pairing_of
        self.require_pairing = require_pairing
        self.staff_keys = staff_keys
        self.site = site
        self.episode_of = episode_of
        self.store = store
        self.event_log = events
        self.cfg = cfg or DetectorConfig()
        self.counters = Counters()
        self._monitors: dict[tuple[str, str], AlertMonitor] = {}
        self._last_sample: dict[tuple[str, str], datetime] = {}  # receive time of each subject's latest sample
        self._backlog = BacklogHold(hold_s=backlog_hold_s)  # stored, detection within backlog_hold_s
        self.rebuild_h = rebuild_h
        self.book = AlertBook(self.cfg.alerts)
        self.baselines = BaselineSeries(self.cfg, keep_h=min(48.0, rebuild_h))

    def policy(self) -> PolicyMessage:
        """The alert policy this serve enforces, for the board to offer (published retained)."""
        a = self.cfg.alerts
        return PolicyMessage(
            snooze_choices_min=a.snooze_choices_min,
            snooze_max_warning_min=a.snooze_max_warning_min,
            snooze_max_urgent_min=a.snooze_max_urgent_min,
            ack_timeout_warning_min=a.ack_timeout_warning_min,
            urgent_repeat_min=a.urgent_repeat_min,
            stale_warning_min=a.stale_warning_min,
            stale_urgent_min=a.stale_urgent_min,
        )

    # --- start-up ---------------------------------------------------------------------------------
    def rebuild(self, *, now: datetime, hours: float) -> list[AlertEvent]:
        """Rebuild every recent subject's detector state from the store, exactly as it ran live.

        Returns the alert events that the event log has not seen: a crash between storing a batch
        and publishing its events loses no event, it is published late. That holds for the
        detectors' alerts and for jaundice (re-judged from every stored reading); the stale-data
        watch resumes from each wearable's newest stored sample, so a device that went quiet
        before the crash still raises "no data"; each device's battery is re-judged from its newest
        stored level, at the time that level arrived (as live). Gateway alerts come back with the
        gateways' retained statuses.
        """
        for logged in self.event_log.all():
            self.book.restore(logged)
        if superseded := self.book.close_superseded(now):
            _LOGGER.warning("closed %d alerts of an older alert model: %s", len(superseded), ", ".join(superseded))
        start = now - timedelta(hours=hours)
        missed: list[AlertEvent] = []
        babies: list[tuple[str, str]] = []
        for episode, subject in self.store.subjects():
            if self.store.with_method(subject, Signal.BILIRUBIN_UMOL_L.value):
                babies.append((episode, subject))
            series = self._stored(subject, start=start)
            if not series:
                continue
            monitor = self._monitor(episode, subject)
            self._last_sample[(episode, subject)] = now
            unseen = self._unseen(episode, monitor.update(series))
            self.baselines.take((episode, subject), monitor.last_frame)
            for event in unseen:
                self.book.on_event(episode, event, now=now)
            missed += unseen
            # when its newest sample *arrived*, as live: a backlog of old readings is not a quiet device
            received = self.store.last_received(subject, DETECTED_SIGNALS[:2])
            if received is not None:
                self.book.watch(episode, subject, last_seen=datetime.fromtimestamp(received, tz=UTC))
        for episode, subject in self.store.subjects():
            for device, received_s, pct in self.store.newest_per_device(subject, Signal.BATTERY_PCT.value):
                at = datetime.fromtimestamp(received_s, tz=UTC)
                missed += self._unseen(episode, self.book.on_battery(episode, subject, device, pct, at=at))
        missed += self._jaundice_for(babies, now=now)
        return missed

    # --- one batch ----------------------------------------------------------------------------------
    def handle(self, batch: Sequence[RawMessage]) -> Output:
        dead: list[tuple[str, bytes]] = []
        accepted: list[Observation] = []
        origin: list[RawMessage] = []  # per accepted observation: the message it came in
        columns: list[SampleColumn] = []  # version 2's samples, kept as arrays
        column_origin: list[RawMessage] = []

        def refuse(message: RawMessage, rejection: Rejection) -> None:
            self.counters.rejected[rejection.reason.value] += 1
            dead.append((Topics.dead_letter(self.site), _dead_letter(message, rejection)))
            _LOGGER.warning("rejected from %s: %s (%s)", message.topic, rejection.reason.value, rejection.detail)

        for message in batch:
            self.counters.messages += 1
            # the shell subscribes to this site's observation topics only
            parsed = parse_message(message.payload, topic=message.topic, receive_time=message.received_at)
            observations, rejections = parsed.observations, parsed.rejections
            self.counters.samples += (
                len(observations)
                + sum(len(c) for c in parsed.columns)
                + sum(1 for r in rejections if r.index is not None)
            )
            device = observations[0].device if observations else parsed.columns[0].device if parsed.columns else None
            if device is not None and (refused := self._unpaired(message.topic, device)) is not None:
                observations, rejections = [], [*rejections, refused]  # forged or misrouted: nothing of it is kept
            elif parsed.columns:
                columns += parsed.columns
                column_origin += [message] * len(parsed.columns)
            if self.staff_keys is not None and any(o.entered_by is not None for o in observations):
                unverified = self._unverified_entry(message.payload, observations)
                if unverified is not None:  # a name serve cannot check never reaches the store or the alerts
                    observations, rejections = [], [*rejections, unverified]
            accepted += observations
            origin += [message] * len(observations)
            for rejection in rejections:
                refuse(message, rejection)
        events: list[AlertEvent] = []
        if accepted or columns:
            result = self.store.write(accepted, columns)
            self.counters.stored += result.stored
            self.counters.duplicates += result.duplicates
            conflicting = [
                (o.device, o.stream, o.seq, message)
                for o, message, conflict in zip(
                    accepted, origin, result.conflicts or [False] * len(accepted), strict=True
                )
                if conflict
            ] + [
                (column.device, column.stream, seq, message)
                for column, message, conflicts in zip(columns, column_origin, result.column_conflicts, strict=True)
                for seq in column.seq[conflicts].tolist()
            ]
            # an identity stored with other content: never dropped in silence
            for device, stream, seq, message in conflicting:
                detail = f"{device} stream {stream or '-'} seq {seq} is stored with other content"
                refuse(message, Rejection(RejectReason.CONFLICTING_DUPLICATE, detail, None))
            fresh = [o for o, new in zip(accepted, result.fresh, strict=True) if new]
            fresh_columns = [
                column if new.all() else column.take(new)
                for column, new in zip(columns, result.column_fresh, strict=True)
                if new.any()
            ]
            self.counters.lag_s = np.concatenate(
                [[(o.receive_time - o.device_time).total_seconds() for o in fresh]]
                + [c.receive_time.timestamp() - c.device_time_s for c in fresh_columns]
            )
            latest: dict[tuple[str, str], datetime] = {}
            # a typed-in reading is not a device that can go quiet: no stale-data watch
            received = [(o.episode, o.subject, o.receive_time) for o in accepted if QualityFlag.MANUAL not in o.quality]
            for episode, subject, at in received + [(c.episode, c.subject, c.receive_time) for c in columns]:
                latest[(episode, subject)] = max(latest.get((episode, subject), at), at)
            for (episode, subject), at in latest.items():
                events += self.book.on_data(episode, subject, received_at=at)
            for o in fresh:
                if o.signal is Signal.BATTERY_PCT:
                    events += self.book.on_battery(o.episode, o.subject, o.device, o.value, at=o.receive_time)
            for c in fresh_columns:
                if c.signal is Signal.BATTERY_PCT:
                    for pct in c.value.tolist():
                        events += self.book.on_battery(c.episode, c.subject, c.device, pct, at=c.receive_time)
            now = batch[-1].received_at
            for key, inputs in _detector_inputs((), fresh_columns).items():
                self._backlog.hold(key, inputs, now=now)
                self._last_sample[key] = now
            live = _detector_inputs(fresh, ())  # never held; a subject's live sample takes her backlog along
            groups = {key: join_inputs(self._backlog.take(key), inputs) for key, inputs in live.items()}
            events += self._detect(groups | self._backlog.due(now), now=now)
            events += self._jaundice(fresh, now=now)
        now = batch[-1].received_at
        return Output(dead, events, self._states(events, now=now), self.baselines.changed(now=now))

    def _unpaired(self, topic: str, device: str) -> Rejection | None:
        """Why this gateway may not send this wearable's data (``kraamwacht.pairings``), or None."""
        where = Topics.parse_observations(topic)
        if where is None or self.pairing_of is None:  # no registry: no pairing can be required (__init__)
            return None
        pairing = self.pairing_of(device) if where.source == "gateway" else None  # only a gateway's needs it
        return sender_problem(where, device, pairing, required=self.require_pairing)

    def _unverified_entry(self, payload: bytes, observations: list[Observation]) -> Rejection | None:
        """Why a typed-in reading is refused (not signed by the staff member it names), or None."""
        assert self.staff_keys is not None
        names = sorted({o.entered_by for o in observations if o.entered_by is not None})
        if self.staff_keys.verify_entry(json.loads(payload)):
            return None
        return Rejection(
            RejectReason.UNVERIFIED_ACTOR,
            f"typed-in reading by {', '.join(names)} without a signature that verifies with that name's key",
        )

    def gateway_status(self, topic: str, payload: bytes, *, now: datetime) -> Output:
        """A gateway's retained status (``online`` / ``offline``, the latter also as its last will)."""
        gateway = topic.split("/")[-2]
        try:
            state = json.loads(payload).get("state") if payload.strip().startswith(b"{") else payload.decode().strip()
        except (ValueError, UnicodeDecodeError):
            return Output([], [], {})
        if state not in ("online", "offline"):
            return Output([], [], {})
        events = self.book.on_gateway(gateway, online=state == "online", at=now)
        self.counters.events += len(events)
        return Output([], events, self._states(events, now=now))

    def tick(self, now: datetime) -> Output:
        """Escalations, repeats and stale data as time passes; memory stays bounded.

        A subject from whom nothing arrived for the reorder grace has her open epochs closed: a
        typed-in thermometer reading, with no later sample behind it, is judged within minutes.
        """
        detected = self._detect(self._backlog.due(now), now=now)  # held backlogs first (it counts its own)
        events = self.book.tick(now) + self._close_quiet(now)
        self.counters.events += len(events)
        events = detected + events
        self._prune(now)
        return Output([], events, self._states(events, now=now), self.baselines.changed(now=now))

    @property
    def held_for_detection(self) -> int:
        """Backlog samples stored and waiting for their detection (at most ``backlog_hold_s``)."""
        return len(self._backlog)

    def drain(self, now: datetime) -> Output:
        """Detect every held backlog now: serve is quiet or stopping (a crash leaves it to ``rebuild``)."""
        events = self._detect(self._backlog.all(), now=now)
        return Output([], events, self._states(events, now=now), self.baselines.changed(now=now))

    def _close_quiet(self, now: datetime) -> list[AlertEvent]:
        grace = timedelta(seconds=self.cfg.epoch.reorder_grace_s)
        out: list[AlertEvent] = []
        for (episode, subject), monitor in self._monitors.items():
            if not monitor.has_open_epochs or self._last_sample.get((episode, subject), now) > now - grace:
                continue
            events = self._unseen(episode, monitor.flush())
            self.baselines.take((episode, subject), monitor.last_frame)
            for event in events:
                self.book.on_event(episode, event, now=now)
            out += events
        return out

    def command(self, payload: bytes, *, now: datetime) -> tuple[dict[str, object], Output]:
        """Check and apply one command; the result says whether it was accepted and why."""
        try:
            message = CommandMessage.model_validate_json(payload)
        except ValidationError as exc:
            return {
                "command_id": None,
                "accepted": False,
                "reason": f"not a valid command: {exc.errors()[0]['msg']}",
            }, Output([], [], {})
        verified = self.staff_keys is not None and self.staff_keys.verify(message)
        if self.staff_keys is not None and not verified:  # only names serve can check reach the audit trail
            self.counters.rejected["unverified_actor"] += 1
            _LOGGER.warning("command %s refused: %r did not sign it with her key", message.command_id, message.actor)
            return {
                "command_id": message.command_id,
                "alert_id": message.alert_id,
                "accepted": False,
                "reason": f"not signed by {message.actor}: log in again on the board",
            }, Output([], [], {})
        outcome = self.book.on_command(
            Command(
                message.command_id,
                message.action,
                message.alert_id,
                message.actor,
                message.issued_at,
                message.duration_min,
                message.note,
                verified,
            ),
            now=now,
        )
        events = list(outcome.events)
        self.counters.events += len(events)
        result = {
            "command_id": message.command_id,
            "alert_id": message.alert_id,
            "accepted": outcome.accepted,
            "reason": outcome.reason,
        }
        record = self.book.records.get(message.alert_id)
        states = (
            {record.episode: self.alert_state(record.episode, now=now)}
            if record is not None and outcome.accepted
            else {}
        )
        return result, Output([], events, states)

    def _states(self, events: Sequence[AlertEvent], *, now: datetime) -> dict[str, dict[str, object]]:
        touched = {e.episode for e in events if e.episode}
        return {episode: self.alert_state(episode, now=now) for episode in touched}

    def _detect(self, groups: Mapping[tuple[str, str], Mapping[str, tuple]], *, now: datetime) -> list[AlertEvent]:
        """Feed each subject's new samples ``{key: (t_s, value)}`` to her detectors (see :func:`_detector_inputs`)."""
        out: list[AlertEvent] = []
        for (episode, subject), signals in groups.items():
            if (episode, subject) not in self._monitors:
                # the store already holds this batch (and what was held): stop before it
                first = min(float(np.min(t)) for t, _ in signals.values())
                self._rebuild_one(episode, subject, now=now, before=datetime.fromtimestamp(first, tz=UTC))
            self._last_sample[(episode, subject)] = now
            monitor = self._monitor(episode, subject)
            late_before, closed_before = monitor.late_samples, monitor.epochs_closed
            events = self._unseen(episode, monitor.update(signals))
            if monitor.epochs_closed != closed_before:  # a new frame; the last one was taken when it was made
                self.baselines.take((episode, subject), monitor.last_frame)
            self.counters.late_for_detection += monitor.late_samples - late_before
            for event in events:
                self.book.on_event(episode, event, now=now)
            out += events
        self.counters.events += len(out)
        return out

    def _jaundice(self, observations: Iterable[Observation], *, now: datetime) -> list[AlertEvent]:
        """Jaundice alerts for newborns with a new bilirubin reading, from all of the baby's readings.

        Recomputed from the store each time (a baby has a handful of readings), so a reading that
        arrives late or twice gives the same alerts; the event log drops what was published already.
        """
        babies = sorted({(o.episode, o.subject) for o in observations if o.signal is Signal.BILIRUBIN_UMOL_L})
        return self._jaundice_for(babies, now=now)

    def _jaundice_for(self, babies: Iterable[tuple[str, str]], *, now: datetime) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        for episode_id, subject in babies:
            episode = self.episode_of(episode_id) if self.episode_of is not None else None
            if episode is None or subject not in episode.newborns:
                self.counters.jaundice_without_episode += 1
                _LOGGER.warning(
                    "bilirubin for %s/%s stored, but no alert can be judged: the episode registry has no such newborn"
                    " (birth time and gestation are needed)",
                    episode_id,
                    subject,
                )
                continue
            baby = episode.baby_of(subject)  # her gestation and risk factors (a twin's may differ), as entered
            readings = [
                Reading(datetime.fromtimestamp(t, tz=UTC), value, BilirubinMethod(method or "tcb"))
                for t, value, method in self.store.with_method(subject, Signal.BILIRUBIN_UMOL_L.value)
            ]
            advices = []
            for i, reading in enumerate(readings):
                try:
                    advices.append(assess(reading, baby, earlier=readings[:i], standard=episode.bilirubin_standard))
                except (ThresholdError, ValueError) as exc:  # e.g. outside the tables' ages: said, not guessed
                    _LOGGER.warning("bilirubin reading of %s at %s not assessed: %s", subject, reading.measured_at, exc)
            events, _ = jaundice_events(subject, advices, state=TrackerState())
            for event in self._unseen(episode_id, events):
                self.book.on_event(episode_id, event, now=now)
                out.append(event)
        self.counters.events += len(out)
        return out

    def _rebuild_one(self, episode: str, subject: str, *, now: datetime, before: datetime) -> None:
        """A subject's detectors from what the store holds before this batch (new subject: nothing)."""
        monitor = self._monitor(episode, subject)
        self._last_sample[(episode, subject)] = now
        earlier = self._stored(subject, start=before - timedelta(hours=self.rebuild_h), end=before)
        if earlier:
            events = self._unseen(episode, monitor.update(earlier))
            self.baselines.take((episode, subject), monitor.last_frame)
            for event in events:
                self.book.on_event(episode, event, now=now)

    def _stored(self, subject: str, *, start: datetime, end: datetime | None = None) -> dict[str, tuple]:
        """A subject's stored detector inputs, thermometer readings keyed by their method as live."""
        series: dict[str, tuple] = dict(
            self.store.read(subject=subject, signals=DETECTED_SIGNALS[:2], start=start, end=end)
        )
        readings: dict[str, tuple[list[float], list[float]]] = {}
        lo, hi = start.timestamp(), end.timestamp() if end is not None else float("inf")
        for t, value, method in self.store.with_method(subject, Signal.THERMOMETER_C.value):
            if lo <= t < hi:
                key = thermometer_key(method)
                times, values = readings.setdefault(key, ([], []))
                times.append(t)
                values.append(value)
        series |= {k: (np.array(t), np.array(v)) for k, (t, v) in readings.items()}
        return series

    def _prune(self, now: datetime) -> None:
        """Drop what a long-running service no longer needs: resolved alerts older than the rebuild
        window (the event log keeps them) and detectors of subjects silent for that long (a later
        sample rebuilds one from the store)."""
        horizon = now - timedelta(hours=self.rebuild_h)
        self.book.prune(before=horizon)
        for key in [k for k, seen in self._last_sample.items() if seen < horizon]:
            self._monitors.pop(key, None)
            self.baselines.forget(key)
            del self._last_sample[key]

    def _monitor(self, episode: str, subject: str) -> AlertMonitor:
        key = (episode, subject)
        if key not in self._monitors:
            self._monitors[key] = AlertMonitor(self.cfg, subject=subject)
        return self._monitors[key]

    def _unseen(self, episode: str, events: Sequence[AlertEvent]) -> list[AlertEvent]:
        tagged = [e.model_copy(update={"episode": episode}) for e in events]
        fresh = self.event_log.unseen(tagged)
        return [e for e, new in zip(tagged, fresh, strict=True) if new]

    def alert_state(self, episode: str, *, now: datetime) -> dict[str, object]:
        """The retained state of an episode: its open alerts, most urgent first, with who did what."""
        return {"episode": episode, "updated_at": format_time(now), "open_alerts": self.book.open_alerts(episode)}

    def episodes(self) -> list[str]:
        return sorted({episode for episode, _ in self._monitors})


def _detector_inputs(
    observations: Iterable[Observation], columns: Iterable[SampleColumn]
) -> dict[tuple[str, str], dict[str, tuple]]:
    """New samples of the detected signals per subject, thermometer readings keyed by their method.

    Plain lists for observations (a live batch has one or two per subject, where numpy would cost
    more than the samples' whole handling), arrays joined in for columns. The detectors bin in whole
    quanta, so the order of samples within one update does not change a result.
    """
    groups: dict[tuple[str, str], dict[str, tuple]] = {}
    for o in observations:
        if o.signal.value not in DETECTED_SIGNALS:
            continue
        method = o.method.value if o.method else None
        key = thermometer_key(method) if o.signal is Signal.THERMOMETER_C else o.signal.value
        t, v = groups.setdefault((o.episode, o.subject), {}).setdefault(key, ([], []))
        t.append(o.device_time.timestamp())
        v.append(o.value)
    for c in columns:
        if c.signal.value not in DETECTED_SIGNALS:
            continue
        signals = groups.setdefault((c.episode, c.subject), {})
        t, v = signals.get(c.signal.value, ((), ()))
        signals[c.signal.value] = (np.concatenate([t, c.device_time_s]), np.concatenate([v, c.value]))
    return groups


def _dead_letter(message: RawMessage, rejection: Rejection) -> bytes:
    """The dead-letter record: reason, detail, where it came from, and the payload (base64, capped)."""
    return json.dumps(
        {
            "reason": rejection.reason.value,
            "detail": rejection.detail,
            "sample_index": rejection.index,
            "topic": message.topic[:200],
            "received_at": format_time(message.received_at.astimezone(UTC)),
            "payload_b64": base64.b64encode(message.payload[:4096]).decode(),
            "payload_bytes": len(message.payload),
        }
    ).encode()
