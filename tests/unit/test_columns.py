"""Version 2 of the observation message (a wearable's samples as columns) says what version 1 says.

The same samples sent either way must give the same observations and the same refusals, each
with the same reason; a malformed column refuses the whole message, and nothing raises.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kraamwacht.contract import (
    MAX_SAMPLES_PER_MESSAGE,
    QualityFlag,
    RejectReason,
    Topics,
    columns_payload,
    parse_message,
    parse_observation_message,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TOPIC = Topics.observations("s1", "ep1", "m1")
WEARABLE_FLAGS = [QualityFlag.NO_SKIN_CONTACT.value, QualityFlag.CLOCK_SKEW.value, QualityFlag.REPLAYED.value]

samples = st.lists(
    st.tuples(
        st.sampled_from(["temperature_c", "heart_rate_bpm", "battery_pct"]),
        st.one_of(st.floats(min_value=-50, max_value=400), st.integers(min_value=-5, max_value=300)),
        # from beyond the 31 days to beyond the 5 minutes ahead, to the microsecond
        st.integers(min_value=-32 * 86_400_000_000, max_value=600_000_000).map(
            lambda us: NOW + timedelta(microseconds=us)
        ),
        st.lists(st.sampled_from(WEARABLE_FLAGS), max_size=2, unique=True),
    ),
    min_size=1,
    max_size=60,
)


def version_1(rows: list[tuple]) -> bytes:
    return json.dumps(
        {
            "v": 1,
            "device": "wb1",
            "stream": "gw-1",
            "episode": "ep1",
            "subject": "m1",
            "samples": [
                {"signal": s, "value": v, "t": t.isoformat(), "seq": seq, "q": flags}
                for seq, (s, v, t, flags) in enumerate(rows)
            ],
        }
    ).encode()


def version_2(rows: list[tuple]) -> bytes:
    return columns_payload(
        device="wb1",
        stream="gw-1",
        episode="ep1",
        subject="m1",
        samples=[(s, v, t, seq, flags) for seq, (s, v, t, flags) in enumerate(rows)],
    )


def by_seq(payload: bytes) -> tuple[dict[int, tuple], dict[int, str]]:
    """Accepted observations and refusals, each keyed by the sample's sequence number (flags in either order)."""
    body = json.loads(payload)
    if body["v"] == 1:
        seqs = [s["seq"] for s in body["samples"]]
    else:
        seqs = [seq for column in body["columns"] for seq in column["seq"]]
    accepted, refused = parse_observation_message(payload, topic=TOPIC, receive_time=NOW)
    return (
        {
            o.seq: (
                o.signal,
                o.value,
                o.unit,
                round(o.device_time.timestamp(), 6),
                set(o.quality),
                o.stream,
                o.receive_time,
            )
            for o in accepted
        },
        {seqs[r.index]: r.reason for r in refused if r.index is not None},
    )


@settings(max_examples=300, deadline=None)
@given(samples)
def test_the_same_samples_as_columns_give_the_same_observations_and_refusals(rows: list[tuple]) -> None:
    one, two = by_seq(version_1(rows)), by_seq(version_2(rows))
    assert one == two
    assert len(one[0]) + len(one[1]) == len(rows)  # every sample is accepted or refused, with its reason


def test_a_backlog_as_columns_is_a_fraction_of_the_bytes() -> None:
    rows = [
        (s, 36.6 if s == "temperature_c" else 78.0, NOW - timedelta(seconds=500 - i), [])
        for i in range(500)
        for s in ("temperature_c", "heart_rate_bpm")
    ]
    assert len(version_2(rows)) < len(version_1(rows)) / 4


def columns(*cols: object, **envelope: object) -> bytes:
    body = {"v": 2, "device": "wb1", "episode": "ep1", "subject": "m1", "t0": "2026-11-30T11:00:00Z"} | envelope
    return json.dumps(body | {"columns": list(cols)}).encode()


def column(**fields: object) -> dict:
    return {"signal": "temperature_c", "seq": [1, 3], "t": [0, 1.5], "value": [36.6, 36.7]} | fields


def test_a_valid_column_message_and_its_flags() -> None:
    parsed = parse_message(
        columns(column(q={"replayed": [1]}), column(signal="heart_rate_bpm", seq=[2, 4])),
        topic=TOPIC,
        receive_time=NOW,
    )
    assert parsed.rejections == []
    temperature, heart_rate = parsed.columns
    assert temperature.seq.tolist() == [1, 3]
    assert heart_rate.seq.tolist() == [2, 4]
    assert temperature.device_time_s.tolist() == [
        datetime(2026, 11, 30, 11, tzinfo=UTC).timestamp(),
        datetime(2026, 11, 30, 11, 0, 1, 500000, tzinfo=UTC).timestamp(),
    ]
    assert [o.quality for o in temperature.observations()] == [(), (QualityFlag.REPLAYED,)]


def test_malformed_columns_refuse_the_whole_message_and_never_raise() -> None:
    too_many = MAX_SAMPLES_PER_MESSAGE // 2 + 1
    old_offset = (
        b'{"v":2,"device":"wb1","episode":"ep1","subject":"m1","t0":"2026-11-30T11:00:00Z",'
        b'"columns":[{"signal":"temperature_c","seq":[1],"t":[1e400],"value":[36.6]}]}'
    )
    cases = {
        "unequal lengths": columns(column(t=[0])),
        "true as a sequence number": columns(column(seq=[1, True])),
        "a float sequence number": columns(column(seq=[1, 2.0])),
        "a negative sequence number": columns(column(seq=[-1, 2])),
        "a sequence number beyond SQLite": columns(column(seq=[1, 2**63])),
        "a string value": columns(column(value=[36.6, "36.7"])),
        # numpy would read these as numbers, or as something else, without a word: each is refused
        "a string of digits as a time": columns(column(t=[0, "1.5"])),
        "a string sequence number": columns(column(seq=[1, "3"])),
        "a null value": columns(column(value=[36.6, None])),
        "a list as a time": columns(column(t=[[0], [1]])),
        "a list among the values": columns(column(value=[36.6, [36.7]])),
        "false as a value": columns(column(value=[36.6, False])),
        "an unknown flag": columns(column(q={"bogus": [0]})),
        "a typed-in flag": columns(column(q={"manual": [0]})),
        "a flag outside the column": columns(column(q={"replayed": [2]})),
        "a typed-in reading": columns(column(signal="thermometer_c")),
        "an unknown signal": columns(column(signal="spo2")),
        "a list as a signal": columns(column(signal=["temperature_c"])),
        "a column twice": columns(column(), column(seq=[5, 7])),
        "an empty column": columns(column(seq=[], t=[], value=[])),
        "an unknown field": columns(column(method="rectal")),
        "a local t0": columns(column(), t0="2026-11-30T11:00:00"),
        "too many samples": columns(
            column(seq=list(range(too_many)), t=[0] * too_many, value=[36.6] * too_many),
            column(signal="heart_rate_bpm", seq=list(range(too_many)), t=[0] * too_many, value=[80] * too_many),
        ),
        "no columns": columns(),
    }
    # a number no 64-bit float holds is no JSON serve reads, in either version
    unreadable = {
        "an infinite offset": old_offset,
        "a value beyond any float": columns(column(value=[36.6, 10**400])),
        "an offset beyond any float": columns(column(t=[0, -(10**400)])),
    }
    for name, payload in [*cases.items(), *unreadable.items()]:
        parsed = parse_message(payload, topic=TOPIC, receive_time=NOW)
        assert (parsed.observations, parsed.columns) == ([], []), name
        reason = RejectReason.NOT_JSON if name in unreadable else RejectReason.SCHEMA
        assert [r.reason for r in parsed.rejections] == [reason], name
        assert parsed.rejections[0].index is None, name


def test_an_integer_beyond_a_float_is_out_of_range_or_no_json_and_never_raises() -> None:
    for value, reasons in ((10**30, [(RejectReason.OUT_OF_RANGE, 0)]), (10**400, [(RejectReason.NOT_JSON, None)])):
        samples = [
            {"signal": "temperature_c", "value": v, "t": "2026-11-30T11:00:00Z", "seq": i}
            for i, v in enumerate([value, 36.6])
        ]
        body = {"v": 1, "device": "wb1", "episode": "ep1", "subject": "m1", "samples": samples}
        accepted, refused = parse_observation_message(json.dumps(body).encode(), topic=TOPIC, receive_time=NOW)
        assert [o.seq for o in accepted] == ([1] if reasons[0][1] == 0 else [])
        assert [(r.reason, r.index) for r in refused] == reasons
        # the same in a column (numpy reads 10**30 as an object, not a number: the full check takes it)
        accepted, refused = parse_observation_message(
            columns(column(seq=[0, 1], t=[0, 0], value=[value, 36.6])), topic=TOPIC, receive_time=NOW
        )
        assert [o.seq for o in accepted] == ([1] if reasons[0][1] == 0 else [])
        assert [(r.reason, r.index) for r in refused] == reasons


def test_a_sequence_number_beyond_sqlite_refuses_its_sample_in_version_1() -> None:
    """A number SQLite cannot store would fail the store's write, batch and all, and come back after every restart."""
    samples = [
        {"signal": "temperature_c", "value": 36.6, "t": "2026-11-30T11:00:00Z", "seq": s} for s in (2**63, 2**63 - 1)
    ]
    body = {"v": 1, "device": "wb1", "episode": "ep1", "subject": "m1", "samples": samples}
    accepted, refused = parse_observation_message(json.dumps(body).encode(), topic=TOPIC, receive_time=NOW)
    assert [o.seq for o in accepted] == [2**63 - 1]
    assert [(r.reason, r.index) for r in refused] == [(RejectReason.SCHEMA, 0)]


def test_columns_on_the_typed_in_readings_topic_are_refused() -> None:
    parsed = parse_message(columns(column()), topic=Topics.entries("s1", "ep1", "m1"), receive_time=NOW)
    assert [r.reason for r in parsed.rejections] == [RejectReason.NOT_AN_ENTRY]
    assert parsed.columns == []


def test_a_refused_sample_keeps_its_neighbours_and_is_named_by_its_place() -> None:
    parsed = parse_message(
        columns(column(value=[36.6, 99.0]), column(signal="heart_rate_bpm", seq=[2, 4], t=[0, 7200.0])),
        topic=TOPIC,
        receive_time=NOW,
    )
    assert [(r.reason, r.index) for r in parsed.rejections] == [
        (RejectReason.OUT_OF_RANGE, 1),
        (RejectReason.FUTURE_TIME, 3),  # the second column's second sample
    ]
    assert [(c.signal.value, c.seq.tolist()) for c in parsed.columns] == [
        ("temperature_c", [1]),
        ("heart_rate_bpm", [2]),
    ]
