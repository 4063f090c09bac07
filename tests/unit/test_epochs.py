"""Binning samples into epochs: ordered fast path == general path == a plain-Python reference."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kraamwacht.signal._epochs import EpochAccumulator, bin_samples, epoch_index

T0 = 1_782_864_000.0


def reference(t: np.ndarray, v: np.ndarray, start: int, n: int, epoch_s: int):
    sums, counts = [0.0] * n, [0] * n
    for ti, vi in zip(t.tolist(), v.tolist(), strict=True):
        if not (math.isfinite(ti) and math.isfinite(vi)):
            continue
        e = int(ti // epoch_s)
        while e * epoch_s > ti:
            e -= 1
        while (e + 1) * epoch_s <= ti:
            e += 1
        if 0 <= e - start < n:
            sums[e - start] += round(vi * 100)
            counts[e - start] += 1
    return np.array(sums), np.array(counts)


offsets = st.one_of(
    st.floats(0, 3600, allow_nan=False),
    st.integers(0, 60).map(lambda k: k * 60.0),  # exactly on an edge
    st.integers(1, 60).map(lambda k: np.nextafter(k * 60.0, 0.0)),  # just before one
)


@settings(max_examples=200, deadline=None)
@given(
    offs=st.lists(offsets, min_size=0, max_size=80),
    values=st.lists(st.one_of(st.floats(25, 45), st.just(float("nan"))), min_size=80, max_size=80),
    lo=st.integers(-5, 30),
    n=st.integers(1, 70),
    shuffle=st.randoms(use_true_random=False),
)
def test_binning_agrees_with_reference(offs, values, lo, n, shuffle) -> None:
    t = np.sort(T0 + np.array(offs, dtype=np.float64))
    v = np.array(values[: t.size], dtype=np.float64)
    start = int(T0 // 60) + lo
    want = reference(t, v, start, n, 60)
    ordered = bin_samples(t, v, start=start, n=n, epoch_s=60)
    order = list(range(t.size))
    shuffle.shuffle(order)
    mixed = bin_samples(t[order], v[order], start=start, n=n, epoch_s=60)
    for got in (ordered, mixed):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_epoch_index_is_exact_at_edges() -> None:
    edge = 29_714_400 * 60.0
    t = np.array([edge, np.nextafter(edge, 0), edge + 59.999999, edge + 60.0])
    np.testing.assert_array_equal(epoch_index(t, 60), [29_714_400, 29_714_399, 29_714_400, 29_714_401])


def test_accumulator_closes_after_the_grace_and_counts_bad_samples() -> None:
    acc = EpochAccumulator(("temperature_c",), 60, 120)
    acc.add("temperature_c", T0 + np.arange(0, 300.0), np.full(300, 36.5))
    bins = acc.close_ready()
    assert (bins.start, bins.n) == (int(T0 // 60), 2)  # 299 s seen: epochs ending by 179 s close
    acc.add("temperature_c", np.array([T0 + 10.0, np.nan]), np.array([36.5, 36.5]))
    assert (acc.late, acc.invalid) == (1, 1)
    rest = acc.flush()
    assert rest.start == bins.start + 2
    assert rest.counts["temperature_c"].sum() == 180


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-200, 400),  # seconds after T0: some before an epoch that has closed
            st.sampled_from([36.5, 37.25, float("nan"), float("inf")]),
        ),
        min_size=64,
        max_size=300,
    ),
    st.integers(64, 200),
)
def test_many_samples_at_once_are_kept_counted_and_binned_as_one_at_a_time(samples, first) -> None:
    """A backlog's array takes one numpy pass; it must keep, drop and count exactly what the loop does."""
    t = T0 + np.array([s for s, _ in samples], dtype=np.float64)
    v = np.array([x for _, x in samples])
    at_once, one_by_one = EpochAccumulator(("temperature_c",), 60, 120), EpochAccumulator(("temperature_c",), 60, 120)
    for acc, chunks in ((at_once, [(t[:first], v[:first]), (t[first:], v[first:])]), (one_by_one, None)):
        if chunks is None:  # plain lists: the live path's loop
            chunks = [(t[:first].tolist(), v[:first].tolist()), (t[first:].tolist(), v[first:].tolist())]
        acc.add("temperature_c", *chunks[0])
        acc.close_ready()
        acc.add("temperature_c", *chunks[1])
    assert (at_once.late, at_once.invalid, at_once.max_t_s, at_once.min_t_s) == (
        one_by_one.late,
        one_by_one.invalid,
        one_by_one.max_t_s,
        one_by_one.min_t_s,
    )
    a, b = at_once.flush(), one_by_one.flush()
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        assert a.start == b.start
        np.testing.assert_array_equal(a.sums["temperature_c"], b.sums["temperature_c"])
        np.testing.assert_array_equal(a.counts["temperature_c"], b.counts["temperature_c"])
