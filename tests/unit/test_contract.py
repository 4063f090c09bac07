"""The data contract: every rejection class with its reason, and what is accepted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kraamwacht.contract import (
    MAX_MESSAGE_BYTES,
    QualityFlag,
    RejectReason,
    Signal,
    Topics,
    parse_observation_message,
    validate_value,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TOPIC = Topics.observations("site1", "ep1", "m1")


def message(*samples: dict, **envelope) -> bytes:
    body = {"v": 1, "device": "dev1", "episode": "ep1", "subject": "m1", "samples": list(samples)} | envelope
    return json.dumps(body).encode()


def sample(**kw) -> dict:
    return {"signal": "temperature_c", "value": 36.8, "t": "2026-11-23T11:59:00Z", "seq": 7} | kw


def test_a_valid_message_becomes_observations() -> None:
    obs, rej = parse_observation_message(
        message(sample(), sample(signal="heart_rate_bpm", value=88, seq=8, q=["no_skin_contact"])),
        topic=TOPIC,
        receive_time=NOW,
    )
    assert rej == []
    assert [(o.signal, o.value, o.unit, o.seq) for o in obs] == [
        (Signal.TEMPERATURE_C, 36.8, "Cel", 7),
        (Signal.HEART_RATE_BPM, 88.0, "/min", 8),
    ]
    assert obs[0].device_time == datetime(2026, 11, 23, 11, 59, tzinfo=UTC)
    assert obs[0].receive_time == NOW
    assert obs[1].quality == (QualityFlag.NO_SKIN_CONTACT,)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", RejectReason.NOT_UTF8),
        (b"{not json", RejectReason.NOT_JSON),
        (b'{"v": 1, "x": NaN}', RejectReason.NOT_JSON),
        (b"[" * 5000 + b"]" * 5000, RejectReason.NOT_JSON),
        (b"x" * (MAX_MESSAGE_BYTES + 1), RejectReason.MESSAGE_TOO_LARGE),
        (json.dumps({"v": 3, "samples": []}).encode(), RejectReason.UNSUPPORTED_VERSION),
        (json.dumps({"v": 2, "samples": []}).encode(), RejectReason.SCHEMA),  # version 2 has columns
        (json.dumps({"v": 1, "device": "d"}).encode(), RejectReason.SCHEMA),
        (json.dumps([1, 2]).encode(), RejectReason.SCHEMA),
    ],
)
def test_message_level_rejections(payload: bytes, reason: RejectReason) -> None:
    obs, rej = parse_observation_message(payload, topic=TOPIC, receive_time=NOW)
    assert obs == []
    assert [r.reason for r in rej] == [reason]
    assert rej[0].detail


def test_topic_must_match_the_payload() -> None:
    obs, rej = parse_observation_message(
        message(sample()), topic=Topics.observations("site1", "ep1", "other"), receive_time=NOW
    )
    assert obs == []
    assert rej[0].reason is RejectReason.TOPIC_MISMATCH


def test_ids_must_be_pseudonymous_tokens() -> None:
    _, rej = parse_observation_message(message(sample(), subject="Jansen, Marieke"), topic=None, receive_time=NOW)
    assert rej[0].reason is RejectReason.SCHEMA


@pytest.mark.parametrize(
    ("bad", "reason", "words"),
    [
        (sample(signal="glucose_mmol_l"), RejectReason.UNKNOWN_SIGNAL, "unknown signal"),
        (sample(value=4.9), RejectReason.OUT_OF_RANGE, "5–45"),
        (sample(value=45.01), RejectReason.OUT_OF_RANGE, "5–45"),
        (sample(signal="heart_rate_bpm", value=251), RejectReason.OUT_OF_RANGE, "25–250"),
        (sample(signal="heart_rate_bpm", value=24), RejectReason.OUT_OF_RANGE, "25–250"),
        (sample(signal="bilirubin_umol_l", value=1000.5, method="tcb"), RejectReason.OUT_OF_RANGE, "0–1000"),
        (sample(signal="bilirubin_umol_l", value=200), RejectReason.MISSING_METHOD, "tcb"),
        (sample(t="2026-11-23T12:05:01Z"), RejectReason.FUTURE_TIME, "after receive time"),
        (sample(t="2026-10-01T00:00:00Z"), RejectReason.ANCIENT_TIME, "days old"),
        (sample(t="2026-11-23T11:59:00"), RejectReason.SCHEMA, "UTC offset"),
        (sample(value="warm"), RejectReason.SCHEMA, "value"),
        (sample(seq=-1), RejectReason.SCHEMA, "seq"),
        (sample(extra=1), RejectReason.SCHEMA, "extra"),
    ],
)
def test_sample_level_rejections_spare_the_neighbours(bad: dict, reason: RejectReason, words: str) -> None:
    obs, rej = parse_observation_message(message(sample(seq=1), bad, sample(seq=3)), topic=TOPIC, receive_time=NOW)
    assert [o.seq for o in obs] == [1, 3]
    assert [(r.reason, r.index) for r in rej] == [(reason, 1)]
    assert words in rej[0].detail


def test_boundaries_of_the_ranges_are_accepted() -> None:
    for signal, value in [(Signal.TEMPERATURE_C, 25.0), (Signal.TEMPERATURE_C, 45.0), (Signal.HEART_RATE_BPM, 250.0)]:
        assert validate_value(signal, value) is None
    assert validate_value(Signal.TEMPERATURE_C, float("inf")).reason is RejectReason.NOT_FINITE


def test_clock_skew_within_tolerance_is_accepted() -> None:
    t = (NOW + timedelta(minutes=4, seconds=59)).isoformat()
    obs, rej = parse_observation_message(message(sample(t=t)), topic=TOPIC, receive_time=NOW)
    assert (len(obs), rej) == (1, [])


def test_topics_are_versioned_and_refuse_bad_ids() -> None:
    assert TOPIC == "kraamwacht/v1/site1/ep1/m1/obs"
    assert Topics.parse_observations(TOPIC) == ("site1", "ep1", "m1", "open", None)
    gateway_topic = Topics.observations("site1", "ep1", "m1", gateway="gw2")
    assert gateway_topic == "kraamwacht/v1/site1/ep1/m1/obs/gw2"
    assert Topics.parse_observations(gateway_topic) == ("site1", "ep1", "m1", "gateway", "gw2")
    assert Topics.parse_observations(Topics.entries("site1", "ep1", "m1")) == ("site1", "ep1", "m1", "entry", None)
    assert Topics.parse_observations("kraamwacht/v1/site1/alerts/ep1") is None
    assert Topics.parse_observations("kraamwacht/v1/site1/ep1/m1/entry/gw2") is None
    assert Topics.parse_observations(Topics.gateway_status("site1", "gw2")) is None
    with pytest.raises(ValueError, match="pseudonymous"):
        Topics.observations("site1", "ep/1", "m1")
    with pytest.raises(ValueError, match="pseudonymous"):
        Topics.observations("site1", "ep1", "m1", gateway="gw/2")


def test_every_observation_topic_is_in_the_filters_and_nothing_else_of_the_site() -> None:
    import paho.mqtt.client as mqtt

    filters = Topics.observations_filters("site1")
    for topic in (TOPIC, Topics.observations("site1", "ep1", "m1", gateway="g"), Topics.entries("site1", "ep1", "m1")):
        assert sum(mqtt.topic_matches_sub(f, topic) for f in filters) == 1, topic
    for other in (Topics.alert_state("site1", "ep1"), Topics.gateway_status("site1", "g"),
                  Topics.device_status("site1", "g", "wb1"), Topics.baseline("site1", "ep1", "m1")):  # fmt: skip
        assert not any(mqtt.topic_matches_sub(f, other) for f in filters), other


def test_the_entries_topic_carries_only_typed_in_readings() -> None:
    entry = sample(signal="thermometer_c", value=37.9, method="rectal", q=["manual"], entered_by="kv-12")
    topic = Topics.entries("site1", "ep1", "m1")
    obs, rej = parse_observation_message(message(entry), topic=topic, receive_time=NOW)
    assert (len(obs), rej) == (1, [])  # the control: a typed-in reading
    for forged in (sample(), sample(q=["manual"]), sample(entered_by="kv-12")):  # a wearable's, half dressed up
        obs, rej = parse_observation_message(message(entry, forged), topic=topic, receive_time=NOW)
        assert (obs, [r.reason for r in rej]) == ([], [RejectReason.NOT_AN_ENTRY]), forged
