"""The contract's fast path for a wearable's samples gives what the full validation gives.

serve checks the common sample without pydantic (``_plain_sample``) because pydantic's
per-sample work was most of its cost; these properties hold the fast path to the full validation,
sample by sample, on valid and invalid input alike, so that the reason for every refusal and
every accepted value stay exactly what they were.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kraamwacht.contract import Observation, Signal, parse_observation_message
from kraamwacht.contract._validate import _Envelope, _plain_sample, _Shared, _validate_sample
from kraamwacht.signal._epochs import _epoch_of, epoch_index

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ENVELOPE = {"v": 1, "device": "wb1", "episode": "ep1", "subject": "m1", "stream": "s1"}

times = st.one_of(
    st.datetimes(min_value=datetime(2026, 10, 1), max_value=datetime(2026, 12, 2), timezones=st.just(UTC)).map(
        lambda t: t.isoformat().replace("+00:00", st_choice(t))
    ),
    st.sampled_from(
        ["2026-11-30T11:00:00", "2026-11-30T11:00:00+01:00", "2026-11-30 11:00:00Z", "20261130T110000Z", "x", ""]
    ),
    st.integers(min_value=1_700_000_000, max_value=1_800_000_000),
    st.none(),
)


def st_choice(t: datetime) -> str:
    return "Z" if t.microsecond % 2 else "+00:00"


values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=20, max_value=260),
    st.integers(min_value=-10, max_value=300),
    st.booleans(),
    st.sampled_from(["37.2", None, [], {}]),
)
samples = st.fixed_dictionaries(
    {
        "signal": st.sampled_from([s.value for s in Signal] + ["spo2", "", 3]),
        "value": values,
        "t": times,
        "seq": st.one_of(st.integers(min_value=-2, max_value=2**64), st.booleans(), st.just("7"), st.just(1.0)),
    },
    optional={
        "q": st.one_of(
            st.lists(st.sampled_from(["no_skin_contact", "replayed", "manual", "bogus", 1]), max_size=3),
            st.just("replayed"),
            st.none(),
        ),
        "method": st.sampled_from(["tcb", "rectal", None]),
        "extra": st.just(1),
    },
)


@settings(max_examples=1500, deadline=None)
@given(item=samples)
def test_the_fast_path_accepts_only_what_the_full_validation_accepts_identically(item: dict) -> None:
    item = json.loads(json.dumps(item))  # as it arrives: JSON types only
    envelope = _Envelope.model_validate({**ENVELOPE, "samples": [item]})
    fast = _plain_sample(item, _Shared(envelope, NOW))
    full = _validate_sample(item, envelope, NOW)
    if fast is not None:
        assert isinstance(full, Observation), full
        assert fast == full
        assert fast.model_dump() == full.model_dump()
        assert list(fast.__dict__) == list(full.__dict__)


def test_a_plain_wearable_message_takes_the_fast_path_and_equals_the_validated_model() -> None:
    t = (NOW - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    item = {"signal": "heart_rate_bpm", "value": 81, "t": t, "seq": 4, "q": ["replayed"]}
    envelope = _Envelope.model_validate({**ENVELOPE, "samples": [item]})
    fast = _plain_sample(item, _Shared(envelope, NOW))
    assert fast is not None  # the fast path is taken at all
    assert fast == _validate_sample(item, envelope, NOW)
    assert isinstance(fast.value, float)
    assert fast.device_time.tzinfo is UTC
    payload = json.dumps({**ENVELOPE, "samples": [item, {**item, "value": 400}]}).encode()
    accepted, rejected = parse_observation_message(payload, topic=None, receive_time=NOW)
    assert accepted == [fast]
    assert [(r.reason.value, r.index) for r in rejected] == [("out_of_range", 1)]


@settings(max_examples=2000, deadline=None)
@given(
    t=st.one_of(
        st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
        st.integers(min_value=-(10**9), max_value=10**10).map(float),
        st.integers(min_value=0, max_value=10**8).map(lambda k: k * 60.0 - 1e-9),
    ),
    epoch_s=st.sampled_from([1, 7, 30, 60, 300]),
)
def test_the_scalar_epoch_agrees_with_the_vectorised_one(t: float, epoch_s: int) -> None:
    assert math.isfinite(t)
    assert _epoch_of(t, epoch_s) == int(epoch_index(np.array([t]), epoch_s)[0])
