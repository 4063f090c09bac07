"""The ingest core without a broker: bounded memory for a service that runs for months."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from kraamwacht.alerts import detect_alerts, display_name, joined_names
from kraamwacht.contract import Topics, columns_payload
from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.service import EventLog, IngestCore, RawMessage
from kraamwacht.service._notify import needs_a_person
from kraamwacht.storage.sqlite import SqliteStore


def messages(samples: dict, received: datetime, *, per: int = 120) -> list[RawMessage]:
    rows = sorted((t, s, v) for s, (ts, vs) in samples.items() for t, v in zip(ts.tolist(), vs.tolist(), strict=True))
    out = []
    for k in range(0, len(rows), per):
        body = {"v": 1, "device": "wb9", "episode": "ep9", "subject": "m9",
                "samples": [{"signal": s, "value": v, "t": datetime.fromtimestamp(t, tz=UTC).isoformat(), "seq": k + j}
                            for j, (t, s, v) in enumerate(rows[k : k + per])]}  # fmt: skip
        out.append(RawMessage(Topics.observations("s1", "ep9", "m9"), json.dumps(body).encode(), received))
    return out


def test_an_idle_subject_is_forgotten_and_rebuilt_exactly_when_data_returns(tmp_path: Path) -> None:
    now = datetime.now(tz=UTC)
    scenario = MotherScenario.draw(
        "m9", "fast", seed=4, delivered_at_s=(now - timedelta(days=2.2)).timestamp(), days=2.0
    )
    samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=60.0)
    core = IngestCore(
        site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"), rebuild_h=200.0
    )
    batches = messages(samples, now)
    half = len(batches) // 2
    live = []
    for message in batches[:half]:
        out = core.handle([message])
        live += out.events
        core.event_log.record(out.events)
    core.tick(now + timedelta(hours=201))  # silent longer than the rebuild window: forgotten
    assert core.episodes() == []
    for message in batches[half:]:  # data returns: the detector is rebuilt from the store, then continues
        out = core.handle([message])
        live += out.events
        core.event_log.record(out.events)
    detector = [
        e for e in live if e.event.value in {"raised", "escalated", "joined", "resolved"} and e.rule not in {"no_data"}
    ]
    replayed = detect_alerts({s: (t, v) for s, (t, v) in samples.items()}, subject="m9").events
    horizon = datetime.fromtimestamp(samples["temperature_c"][0][-1] - 300, tz=UTC)
    assert [(e.alert_id, e.event, e.time) for e in detector if e.time <= horizon] == [
        (e.alert_id, e.event, e.time) for e in replayed if e.time <= horizon
    ]


def test_resolved_alerts_are_pruned_from_memory(tmp_path: Path) -> None:
    from kraamwacht.alerts._lifecycle import AlertBook

    book = AlertBook()
    book.on_data("ep1", "m1", received_at=datetime(2026, 11, 1, tzinfo=UTC))
    book.tick(datetime(2026, 11, 1, 0, 20, tzinfo=UTC))
    book.on_data("ep1", "m1", received_at=datetime(2026, 11, 1, 0, 21, tzinfo=UTC))
    assert len(book.records) == 1
    assert book.prune(before=datetime(2026, 11, 1, 0, 10, tzinfo=UTC)) == 0  # raised after that
    assert book.prune(before=datetime(2026, 11, 2, tzinfo=UTC)) == 1
    assert book.records == {}


def bili_message(value: float, at: datetime, seq: int, *, episode: str = "ep1", subject: str = "b1") -> RawMessage:
    body = {"v": 1, "device": "manual-anna", "episode": episode, "subject": subject,
            "samples": [{"signal": "bilirubin_umol_l", "value": value, "t": at.isoformat(), "seq": seq,
                         "q": ["manual"], "method": "tcb", "site": "sternum", "entered_by": "anna"}]}  # fmt: skip
    return RawMessage(Topics.observations("s1", episode, subject), json.dumps(body).encode(), datetime.now(tz=UTC))


def test_bilirubin_raises_a_jaundice_alert_for_a_known_newborn_only(tmp_path: Path) -> None:
    from kraamwacht.contract import BilirubinMethod
    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.jaundice import Baby, Reading, assess

    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(tmp_path / "episodes.db")
    episode = registry.add(
        "ep1", site="s1", mother="m1", newborn="b1", birth_at=now - timedelta(hours=40), ga_weeks=39.0
    )
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"),
                      episode_of=registry.get)  # fmt: skip
    low = core.handle([bili_message(120.0, now - timedelta(hours=2), 1)])
    assert [e for e in low.events if ":jaundice:" in e.alert_id] == []  # far below the line: no alert
    high = core.handle([bili_message(290.0, now - timedelta(minutes=5), 2)])
    (raised,) = [e for e in high.events if ":jaundice:" in e.alert_id]
    expected = assess(Reading(now - timedelta(minutes=5), 290.0, BilirubinMethod.TCB),
                      Baby(episode.birth_at, 39.0), earlier=[Reading(now - timedelta(hours=2), 120.0, BilirubinMethod.TCB)])  # fmt: skip
    assert raised.event.value == "raised"
    assert raised.level.value == expected.level.value  # the same advice as on entry
    assert raised.values["value_umol_l"] == 290.0
    assert ":jaundice:" in high.alert_states["ep1"]["open_alerts"][0]["alert_id"]  # the board sees it
    again = core.handle([bili_message(290.0, now - timedelta(minutes=5), 2)])  # redelivered: nothing new
    assert [e for e in again.events if ":jaundice:" in e.alert_id] == []
    unknown = core.handle([bili_message(400.0, now, 3, episode="ep7", subject="b7")])
    assert [e for e in unknown.events if ":jaundice:" in e.alert_id] == []
    assert core.counters.jaundice_without_episode == 1  # counted and logged, never guessed


def test_a_typed_in_reading_does_not_start_a_stale_data_watch(tmp_path: Path) -> None:
    """A bilirubin meter is not a wearable: hours without a new reading are not "no data"."""
    now = datetime.now(tz=UTC)
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"))
    core.handle([bili_message(120.0, now - timedelta(minutes=1), 1)])
    later = core.tick(now + timedelta(hours=2))
    assert [e.rule for e in later.events] == []
    assert core.counters.stored == 1


def test_a_risk_factor_in_the_episode_makes_serve_judge_with_the_lower_line(tmp_path: Path) -> None:
    """Serum 250 µmol/L at 48 h, 39 weeks: urgent with isoimmune disease (line ≈ 224), nothing without (≈ 284)."""
    from kraamwacht.episodes import EpisodeRegistry

    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(tmp_path / "episodes.db")
    birth = now - timedelta(hours=48, minutes=5)
    registry.add("ep1", site="s1", mother="m1", newborn="b1", birth_at=birth, ga_weeks=39.0)
    registry.add(
        "ep2", site="s1", mother="m2", newborn="b2", birth_at=birth, ga_weeks=39.0, risk_factors=("isoimmune",)
    )

    def serum(episode: str, subject: str, seq: int) -> RawMessage:
        body = {"v": 1, "device": "manual-anna", "episode": episode, "subject": subject,
                "samples": [{"signal": "bilirubin_umol_l", "value": 250.0, "t": (now - timedelta(minutes=5)).isoformat(),
                             "seq": seq, "q": ["manual"], "method": "tsb", "entered_by": "anna"}]}  # fmt: skip
        return RawMessage(Topics.observations("s1", episode, subject), json.dumps(body).encode(), now)

    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"),
                      episode_of=registry.get)  # fmt: skip
    without = core.handle([serum("ep1", "b1", 1)])
    assert [e for e in without.events if ":jaundice:" in e.alert_id] == []
    with_risk = core.handle([serum("ep2", "b2", 2)])
    (raised,) = [e for e in with_risk.events if ":jaundice:" in e.alert_id]
    assert (raised.level.value, raised.rule) == ("urgent", "bili_phototherapy")
    assert raised.values["phototherapy_umol_l"] < 250.0 < 284.0
    # a risk factor learnt later: the next reading is judged with it
    registry.update_jaundice("ep1", risk_factors=("isoimmune",))
    later = core.handle([serum("ep1", "b1", 3)])
    assert [e.level.value for e in later.events if ":jaundice:" in e.alert_id] == ["urgent"]


def test_each_twin_is_judged_and_the_alerts_stay_apart(tmp_path: Path) -> None:
    """Twins (one episode, two newborns): serum 300 µmol/L at 48 h, 39 weeks, for the second twin only."""
    from kraamwacht.episodes import EpisodeRegistry

    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(tmp_path / "episodes.db")
    registry.add("ep1", site="s1", mother="m1", newborn="b1a", twins=("b1b",), birth_at=now - timedelta(hours=48),
                 ga_weeks=39.0)  # fmt: skip
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"),
                      episode_of=registry.get)  # fmt: skip

    def serum(subject: str, value: float, seq: int) -> RawMessage:
        body = {"v": 1, "device": "manual-anna", "episode": "ep1", "subject": subject,
                "samples": [{"signal": "bilirubin_umol_l", "value": value, "t": (now - timedelta(minutes=5)).isoformat(),
                             "seq": seq, "q": ["manual"], "method": "tsb", "entered_by": "anna"}]}  # fmt: skip
        return RawMessage(Topics.observations("s1", "ep1", subject), json.dumps(body).encode(), now)

    first = core.handle([serum("b1a", 150.0, 1)])
    assert [e for e in first.events if ":jaundice:" in e.alert_id] == []  # the first twin is fine
    second = core.handle([serum("b1b", 300.0, 2)])
    (raised,) = [e for e in second.events if ":jaundice:" in e.alert_id]
    assert (raised.subject, raised.alert_id.split(":")[0], raised.level.value) == ("b1b", "b1b", "urgent")
    assert core.counters.jaundice_without_episode == 0  # the second twin is known: judged, not counted as unknown


def test_a_twin_is_judged_with_her_own_risk_factors(tmp_path: Path) -> None:
    """Twins, serum 250 µmol/L each at 48 h, 39 weeks: G6PD deficiency in the second only makes hers
    urgent (the line with a neurotoxicity risk factor ≈ 224), the first's stays below hers (≈ 284)."""
    import pytest

    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.errors import InvalidValueError

    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(tmp_path / "episodes.db")
    registry.add("ep1", site="s1", mother="m1", newborn="b1a", twins=("b1b",), ga_weeks=39.0,
                 birth_at=now - timedelta(hours=48, minutes=5), risk_factors=("b1b:g6pd",))  # fmt: skip
    item = registry.get("ep1")
    assert item is not None
    assert (item.risk_factors_of("b1a"), item.risk_factors_of("b1b")) == ((), ("g6pd",))
    with pytest.raises(InvalidValueError, match="name no newborn"):
        registry.update_jaundice("ep1", risk_factors=("b9:g6pd",))  # a baby this episode does not have
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"),
                      episode_of=registry.get)  # fmt: skip

    def serum(subject: str, seq: int) -> RawMessage:
        body = {"v": 1, "device": "manual-anna", "episode": "ep1", "subject": subject,
                "samples": [{"signal": "bilirubin_umol_l", "value": 250.0, "t": (now - timedelta(minutes=5)).isoformat(),
                             "seq": seq, "q": ["manual"], "method": "tsb", "entered_by": "anna"}]}  # fmt: skip
        return RawMessage(Topics.observations("s1", "ep1", subject), json.dumps(body).encode(), now)

    assert [e for e in core.handle([serum("b1a", 1)]).events if ":jaundice:" in e.alert_id] == []
    (raised,) = [e for e in core.handle([serum("b1b", 2)]).events if ":jaundice:" in e.alert_id]
    assert (raised.subject, raised.level.value, raised.rule) == ("b1b", "urgent", "bili_phototherapy")
    # a factor for the whole episode (no newborn named) counts for both
    registry.update_jaundice("ep1", risk_factors=("isoimmune",))
    later = core.handle([serum("b1a", 3)])
    assert [e.level.value for e in later.events if ":jaundice:" in e.alert_id] == ["urgent"]


def test_a_twin_born_later_is_judged_at_her_own_age(tmp_path: Path) -> None:
    """Twins born 6 h apart, the same serum value for both 36 h after the first birth: the AAP line
    rises with age, so a value between the first born's line (36 h) and the second's (30 h) is
    urgent for the second twin only."""
    import pytest

    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.errors import InvalidValueError
    from kraamwacht.jaundice import thresholds

    now = datetime.now(tz=UTC)
    first_born, second_born = now - timedelta(hours=36), now - timedelta(hours=30)
    registry = EpisodeRegistry(tmp_path / "episodes.db")
    registry.add("ep1", site="s1", mother="m1", newborn="b1a", twins=("b1b",), birth_at=first_born, ga_weeks=39.0,
                 twin_births={"b1b": second_born})  # fmt: skip
    item = registry.get("ep1")
    assert item is not None
    assert (item.birth_of("b1a"), item.birth_of("b1b")) == (first_born, second_born)
    assert round(item.newborn_age_h(now, "b1b"), 6) == 30.0
    with pytest.raises(InvalidValueError, match="not one of the twins"):
        registry.add("ep2", site="s1", mother="m2", newborn="b2a", birth_at=first_born, ga_weeks=39.0,
                     twin_births={"b2b": second_born})  # fmt: skip
    with pytest.raises(InvalidValueError, match="before the first born"):
        registry.add("ep3", site="s1", mother="m3", newborn="b3a", twins=("b3b",), birth_at=second_born,
                     ga_weeks=39.0, twin_births={"b3b": first_born})  # fmt: skip
    at = now - timedelta(minutes=1)
    older = thresholds(36.0, ga_weeks=39.0, risk_factors=False).phototherapy_umol_l
    younger = thresholds(30.0, ga_weeks=39.0, risk_factors=False).phototherapy_umol_l
    assert younger < older - 10  # room for a value between the two lines
    value = round((older + younger) / 2)
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"),
                      episode_of=registry.get)  # fmt: skip

    def serum(subject: str, seq: int) -> RawMessage:
        body = {"v": 1, "device": "manual-anna", "episode": "ep1", "subject": subject,
                "samples": [{"signal": "bilirubin_umol_l", "value": value, "t": at.isoformat(), "seq": seq,
                             "q": ["manual"], "method": "tsb", "entered_by": "anna"}]}  # fmt: skip
        return RawMessage(Topics.entries("s1", "ep1", subject), json.dumps(body).encode(), now)

    assert [e for e in core.handle([serum("b1a", 1)]).events if ":jaundice:" in e.alert_id] == []  # below her line
    (raised,) = [e for e in core.handle([serum("b1b", 2)]).events if ":jaundice:" in e.alert_id]
    assert (raised.subject, raised.level.value, raised.rule) == ("b1b", "urgent", "bili_phototherapy")


def test_a_crash_before_publishing_loses_no_jaundice_alert_and_no_stale_data_watch(tmp_path: Path) -> None:
    """Stored, then killed before the broker had the events: a restart derives them again from the store."""
    from kraamwacht.episodes import EpisodeRegistry

    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(tmp_path / "episodes.db")
    registry.add("ep1", site="s1", mother="m1", newborn="b1", birth_at=now - timedelta(hours=40), ga_weeks=39.0)

    def core() -> IngestCore:
        return IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"),
                          episode_of=registry.get)  # fmt: skip

    first = core()
    out = first.handle([bili_message(290.0, now - timedelta(minutes=5), 1)])
    (urgent,) = [e for e in out.events if ":jaundice:" in e.alert_id]  # derived, stored ... and never published
    t = (now - timedelta(minutes=50)).timestamp() + np.arange(0, 600, 60.0)  # ten minutes of wear, 50 min ago ...
    wear = {"temperature_c": (t, np.full(t.size, 36.4)), "heart_rate_bpm": (t, np.full(t.size, 80.0))}
    first.handle(messages(wear, now - timedelta(minutes=40)))  # ... then the wearable went quiet
    restarted = core()
    missed = restarted.rebuild(now=now, hours=72)
    assert [(e.alert_id, e.event.value, e.level.value) for e in missed if ":jaundice:" in e.alert_id] == [
        (urgent.alert_id, "raised", urgent.level.value)
    ]
    restarted.event_log.record(missed)
    assert [e for e in core().rebuild(now=now, hours=72) if ":jaundice:" in e.alert_id] == []  # at most once more
    stale = restarted.tick(now)
    assert [(e.rule, e.level.value) for e in stale.events] == [("no_data", "urgent")]  # 41 min without data


def test_a_conflicting_duplicate_is_dead_lettered_and_counted_and_a_new_stream_is_stored(tmp_path: Path) -> None:
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"))
    now = datetime.now(tz=UTC)

    def message(stream: str | None, value: float, minutes_ago: float) -> RawMessage:
        t = (now - timedelta(minutes=minutes_ago)).isoformat()
        body = {"v": 1, "device": "wb9", "episode": "ep9", "subject": "m9",
                "samples": [{"signal": "temperature_c", "value": value, "t": t, "seq": 0}]}  # fmt: skip
        if stream is not None:
            body["stream"] = stream
        return RawMessage(Topics.observations("s1", "ep9", "m9"), json.dumps(body).encode(), now)

    assert core.handle([message("gw-a", 36.5, 10)]).dead_letters == []
    assert core.handle([message("gw-a", 36.5, 10)]).dead_letters == []  # a redelivery: a duplicate
    (dead,) = core.handle([message("gw-a", 39.9, 5)]).dead_letters  # the same identity, other content
    assert json.loads(dead[1])["reason"] == "conflicting_duplicate"
    assert core.handle([message("gw-b", 36.6, 5)]).dead_letters == []  # a reinstalled gateway: stored
    assert core.handle([message(None, 36.7, 4)]).dead_letters == []  # the legacy numbering is its own stream
    counts = core.counters.as_dict()
    assert (counts["stored"], counts["duplicates"], counts["rejected"]) == (3, 1, {"conflicting_duplicate": 1})
    assert counts["samples"] == counts["stored"] + counts["duplicates"] + counts["rejected_total"]


def test_a_crash_before_publishing_loses_no_low_battery_alert_and_a_recharge_resolves_it(tmp_path: Path) -> None:
    now = datetime.now(tz=UTC)

    def core() -> IngestCore:
        return IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"))

    def battery(pct: float, seq: int, minutes_ago: float) -> RawMessage:
        t = (now - timedelta(minutes=minutes_ago)).isoformat()
        body = {"v": 1, "device": "wb9", "stream": "gw-1", "episode": "ep9", "subject": "m9",
                "samples": [{"signal": "battery_pct", "value": pct, "t": t, "seq": seq}]}  # fmt: skip
        return RawMessage(Topics.observations("s1", "ep9", "m9"), json.dumps(body).encode(), now)

    first = core()
    first.handle([battery(40.0, 0, 30)])
    (low,) = first.handle([battery(12.0, 1, 20)]).events  # derived, stored ... and never published
    assert (low.rule, low.event.value) == ("low_battery", "raised")
    restarted = core()
    missed = restarted.rebuild(now=now, hours=72)
    assert [(e.alert_id, e.event.value, e.time) for e in missed] == [(low.alert_id, "raised", low.time)]
    restarted.event_log.record(missed)
    assert core().rebuild(now=now, hours=72) == []  # published once: not again after another restart
    again = core()
    again.rebuild(now=now, hours=72)
    again.handle([battery(95.0, 2, 10)])  # recharged, and killed before the "resolved" was published
    after = core().rebuild(now=now, hours=72)
    assert [(e.alert_id, e.event.value) for e in after] == [(low.alert_id, "resolved")]


def test_a_baseline_is_published_once_per_new_point_not_with_every_message(tmp_path: Path) -> None:
    """A wearable's message a second closes an epoch once a minute, and a point of the board's baseline
    (one per 10 minutes) once in ten: each point goes out once, not again with every later message."""
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"))
    now = datetime.now(tz=UTC)
    t0 = (now - timedelta(hours=1)).timestamp() // 600 * 600
    published = []
    for k in range(35 * 60):
        at = datetime.fromtimestamp(t0 + k, tz=UTC).isoformat()
        body = {"v": 1, "device": "wb9", "episode": "ep9", "subject": "m9",
                "samples": [{"signal": "temperature_c", "value": 36.5, "t": at, "seq": 2 * k},
                            {"signal": "heart_rate_bpm", "value": 75.0, "t": at, "seq": 2 * k + 1}]}  # fmt: skip
        out = core.handle([RawMessage(Topics.observations("s1", "ep9", "m9"), json.dumps(body).encode(), now)])
        published += [message for key, message in out.baselines.items() if key == ("ep9", "m9")]
    assert len(published) >= 3, "no baseline points were published"
    assert len(published) == len(published[-1].t_s)  # one message per new point
    assert [len(m.t_s) for m in published] == list(range(1, len(published) + 1))


def column_messages(samples: dict, received: datetime, *, per: int = 1000) -> list[RawMessage]:
    """The same samples as :func:`messages`, numbered the same, as version 2 messages of up to ``per`` samples."""
    rows = sorted((t, s, v) for s, (ts, vs) in samples.items() for t, v in zip(ts.tolist(), vs.tolist(), strict=True))
    return [
        RawMessage(
            Topics.observations("s1", "ep9", "m9"),
            columns_payload(
                device="wb9",
                stream=None,
                episode="ep9",
                subject="m9",
                samples=[
                    (s, v, datetime.fromtimestamp(t, tz=UTC), k + j, ())
                    for j, (t, s, v) in enumerate(rows[k : k + per])
                ],
            ),
            received,
        )
        for k in range(0, len(rows), per)
    ]


def test_a_backlog_sent_as_columns_gives_the_alerts_and_the_store_of_the_same_samples_sent_one_by_one(
    tmp_path: Path,
) -> None:
    now = datetime.now(tz=UTC)
    scenario = MotherScenario.draw(
        "m9", "fast", seed=4, delivered_at_s=(now - timedelta(days=2.2)).timestamp(), days=2.0
    )
    samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=60.0)
    cores = {}
    columns = column_messages(samples, now)
    for name, batches, hold_s in (
        ("objects", messages(samples, now, per=1000), 0.0),
        ("columns", columns, 0.0),
        ("held", columns, 5.0),  # as serve runs: a backlog waits for its detection, done in one update
    ):
        store = SqliteStore(tmp_path / f"{name}.db")
        core = IngestCore(
            site="s1", store=store, events=EventLog(tmp_path / f"{name}-e.db"), rebuild_h=200.0, backlog_hold_s=hold_s
        )
        events = []
        for k in range(0, len(batches), 3):  # three messages to a batch
            out = core.handle(batches[k : k + 3])
            events += out.events
            core.event_log.record(out.events)
        assert core.held_for_detection == (sum(len(t) for t, _ in samples.values()) if name == "held" else 0)
        events += core.tick(now + timedelta(seconds=5)).events
        assert core.held_for_detection == 0
        events += core.tick(now + timedelta(minutes=10)).events  # the last epochs close
        cores[name] = (core, [(e.alert_id, e.event, e.time, e.rule, e.message, e.values) for e in events])
    # held, the alerts are raised 5 s later, so an urgent one is repeated 5 s later too
    held_events = cores["held"][1]
    assert held_events
    assert [e for e in held_events if e[1] != "repeated"] == [e for e in cores["columns"][1] if e[1] != "repeated"]
    (by_object, object_events), (by_column, column_events) = cores["objects"], cores["columns"]
    assert column_events == object_events
    assert {"temp_rise_hr", "fever"} <= {rule for _, _, _, rule, _, _ in column_events}
    n = sum(len(t) for t, _ in samples.values())
    assert by_column.counters.stored == by_object.counters.stored == by_column.store.count() == n
    assert by_column.store._db.execute("SELECT count(*) FROM observations").fetchone() == (0,)  # all in segments
    replayed = detect_alerts({s: (t, v) for s, (t, v) in samples.items()}, subject="m9").events
    horizon = datetime.fromtimestamp(samples["temperature_c"][0][-1] - 300, tz=UTC)
    assert [(a, e, t) for a, e, t, rule, *_ in column_events if t <= horizon and rule != "no_data"] == [
        (e.alert_id, e.event, e.time) for e in replayed if e.time <= horizon
    ]


def test_a_finding_that_joins_an_alert_reaches_the_board_with_its_own_event(tmp_path: Path) -> None:
    """The pulse that joins her temperature alert (or the reverse) changes the open alert serve publishes
    at once: the board names it ("ook: ...") without waiting for the alert's next raise or resolve."""
    now = datetime.now(tz=UTC)
    scenario = MotherScenario.draw(
        "m9", "fast", seed=21, delivered_at_s=(now - timedelta(days=3.2)).timestamp(), days=3.0
    )
    samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=60.0)
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"))
    seen = []
    for message in messages(samples, now):
        out = core.handle([message])
        joined = [e for e in out.events if e.event.value == "joined"]
        if joined:
            alert = next(a for a in out.alert_states["ep9"]["open_alerts"] if a["alert_id"] == joined[0].alert_id)
            seen.append((joined[0].rule, alert["rule"], joined_names(alert["rule"], alert["values"])))
        assert not [e for e in out.events if e.event.value == "joined" and needs_a_person(e)]
    assert seen, "the scenario's pulse and temperature should meet in one alert"
    rule, raised_by, names = seen[0]
    assert rule != raised_by
    assert display_name(rule) in names
