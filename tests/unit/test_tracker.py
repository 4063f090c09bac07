"""Alert transitions from desired levels: raise, escalate, resolve with hysteresis, re-raise limit."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kraamwacht.contract import Severity
from kraamwacht.signal import TrackerState, track


def run(levels: list[int], resolve_after: int = 3, min_reraise: int = 5):
    out, state = track(
        np.array(levels, dtype=np.int8),
        start_epoch=100,
        state=TrackerState(),
        resolve_after=resolve_after,
        min_reraise=min_reraise,
    )
    return [(t.epoch, t.kind, t.level.rank, t.number) for t in out], state


def test_one_episode_with_flicker_is_one_alert() -> None:
    # clear for 2 epochs (< resolve_after 3) does not resolve: one alert, not two
    events, _ = run([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0])
    assert events == [(101, "raised", 1, 1), (109, "resolved", 1, 1)]


def test_escalation_and_no_deescalation() -> None:
    events, state = run([1, 2, 1, 1])
    assert events == [(100, "raised", 1, 1), (101, "escalated", 2, 1)]
    assert state.level is Severity.URGENT


def test_warning_reraise_waits_but_urgent_does_not() -> None:
    # resolved at 103 (clear 101-103); a warning at 104 waits until 103 + 5 = 108
    events, _ = run([1, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    assert events == [(100, "raised", 1, 1), (103, "resolved", 1, 1), (108, "raised", 1, 2)]
    events, _ = run([1, 0, 0, 0, 2, 2])
    assert events[-1] == (104, "raised", 2, 2)


def test_exactly_resolve_after_clear_epochs_resolves() -> None:
    events, _ = run([1, 0, 0, 0])
    assert events[-1] == (103, "resolved", 1, 1)
    events, _ = run([1, 0, 0])
    assert events == [(100, "raised", 1, 1)]


@settings(max_examples=150, deadline=None)
@given(levels=st.lists(st.integers(0, 2), min_size=1, max_size=120), data=st.data())
def test_chunked_tracking_equals_whole(levels: list[int], data: st.DataObject) -> None:
    arr = np.array(levels, dtype=np.int8)
    whole, _ = track(arr, start_epoch=0, state=TrackerState(), resolve_after=4, min_reraise=7)
    cuts = sorted({0, arr.size, *data.draw(st.lists(st.integers(0, arr.size), max_size=8))})
    state = TrackerState()
    pieces = []
    for a, b in itertools.pairwise(cuts):
        out, state = track(arr[a:b], start_epoch=a, state=state, resolve_after=4, min_reraise=7)
        pieces += out
    assert pieces == whole
