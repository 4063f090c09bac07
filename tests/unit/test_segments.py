"""The store's segments (a column of a version 2 message as one row) read exactly as rows would.

The same samples are written to one store as columns and to another as observations; every read
of the store must then agree. A redelivered or overlapping column is told apart sample by sample,
against rows and segments alike, and retention cuts a segment at its boundary.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from kraamwacht.contract import Observation, SampleColumn, Signal
from kraamwacht.storage.sqlite import SEGMENT_MIN, SqliteStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
T0 = (NOW - timedelta(hours=2)).timestamp()


def column(
    signal: str = "temperature_c",
    seq: range | list[int] = range(0, 400, 2),
    *,
    device: str = "wb1",
    subject: str = "m1",
    value: float | None = None,
    flags: int = 0,
) -> SampleColumn:
    seqs = np.array(list(seq), dtype=np.int64)
    values = 36.0 + (seqs % 17) / 10 if value is None else np.full(len(seqs), value)
    return SampleColumn(
        "ep1",
        subject,
        device,
        "gw-1",
        Signal(signal),
        NOW,
        seqs,
        T0 + seqs / 2,  # both signals' samples of one second share it
        values.astype(np.float64),
        np.full(len(seqs), flags, dtype=np.uint8),
    )


def segments(store: SqliteStore) -> int:
    return store._db.execute("SELECT count(*) FROM segments").fetchone()[0]


def stores(tmp_path: Path, columns: list[SampleColumn]) -> tuple[SqliteStore, SqliteStore]:
    """The same samples: as segments in one store, as rows in the other."""
    held, rows = SqliteStore(tmp_path / "held.db"), SqliteStore(tmp_path / "rows.db")
    result = held.write([], columns)
    assert result.stored == sum(len(c) for c in columns)
    rows.write([o for c in columns for o in c.observations()])
    return held, rows


def test_every_read_of_segments_is_the_read_of_the_same_rows(tmp_path: Path) -> None:
    columns = [
        column("temperature_c", range(0, 400, 2)),
        column("heart_rate_bpm", range(1, 400, 2), flags=4),
        column("temperature_c", range(0, 100, 2), device="wb2", subject="m2"),
    ]
    held, rows = stores(tmp_path, columns)
    assert segments(held) == 3
    assert segments(rows) == 0
    held.write(Observation.trusted(o.__dict__ | {"seq": 10_000}) for o in columns[2].observations()[:1])
    rows.write(Observation.trusted(o.__dict__ | {"seq": 10_000}) for o in columns[2].observations()[:1])
    for subject in ("m1", "m2", "m9"):
        for window in [
            (None, None),
            (datetime.fromtimestamp(T0 + 30, tz=UTC), datetime.fromtimestamp(T0 + 90, tz=UTC)),
        ]:
            for signals in (None, ["temperature_c"], ["heart_rate_bpm", "battery_pct"], ["thermometer_c"]):
                a = held.read(subject=subject, signals=signals, start=window[0], end=window[1])
                b = rows.read(subject=subject, signals=signals, start=window[0], end=window[1])
                assert a.keys() == b.keys()
                for name in a:
                    np.testing.assert_array_equal(a[name][0], b[name][0])
                    np.testing.assert_array_equal(a[name][1], b[name][1])
        for signal in ("temperature_c", "heart_rate_bpm"):
            for since in (T0 - 1, T0 + 50, T0 + 500):
                assert held.latest(subject, signal, since_s=since) == rows.latest(subject, signal, since_s=since)
            assert held.mean(subject, signal, start_s=T0 + 10, end_s=T0 + 70) == pytest.approx(
                rows.mean(subject, signal, start_s=T0 + 10, end_s=T0 + 70), abs=1e-12
            )
            assert held.with_method(subject, signal) == rows.with_method(subject, signal)
            assert held.newest_per_device(subject, signal) == rows.newest_per_device(subject, signal)
        assert held.last_received(subject, ["temperature_c", "heart_rate_bpm"]) == rows.last_received(
            subject, ["temperature_c", "heart_rate_bpm"]
        )
        assert held.devices(subject) == rows.devices(subject)
    assert held.subjects() == rows.subjects() == [("ep1", "m1"), ("ep1", "m2")]
    assert held.count() == rows.count() == 451
    assert held.newest_time() == rows.newest_time()
    assert held.identities() == rows.identities()  # an audit counts every sample, with its flags
    assert [held.has("wb1", seq) for seq in (0, 1, 398, 399, 400)] == [True, True, True, True, False]
    assert (held.has("wb1", 2, stream="gw-1"), held.has("wb1", 2, stream="gw-2")) == (True, False)
    assert len(held.read(subject="m1")["heart_rate_bpm"][0]) == 200


def test_a_redelivered_column_is_a_duplicate_and_a_changed_sample_a_conflict(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "k.db")
    store.write([], [column()])
    again = store.write([], [column()])  # the same message again (a lost PUBACK)
    assert (again.stored, again.duplicates, segments(store)) == (0, 200, 1)
    assert not again.column_fresh[0].any()
    assert not again.column_conflicts[0].any()
    # the same samples as single messages (a gateway that fell back to version 1): duplicates too
    rows = store.write(column(seq=[10, 12]).observations())
    assert (rows.stored, rows.duplicates) == (0, 2)
    changed = store.write(column(seq=[10], value=39.0).observations())
    assert changed.conflicts == (True,)
    # half stored, half new, one of the stored ones changed: sample by sample
    overlapping = column(seq=range(300, 500, 2))
    overlapping.value[1] += 1.0  # seq 302
    result = store.write([], [overlapping])
    assert result.column_fresh[0].tolist() == [False] * 50 + [True] * 50
    assert np.flatnonzero(result.column_conflicts[0]).tolist() == [1]
    assert (result.stored, result.duplicates) == (50, 49)
    assert store.count() == 250
    assert len(store.read(subject="m1")["temperature_c"][0]) == 250


def test_columns_too_short_or_out_of_order_or_for_a_forwarding_store_are_rows(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "k.db")
    store.write([], [column(seq=range(0, 2 * (SEGMENT_MIN - 1), 2))])
    store.write([], [column(seq=[*range(1000, 1100, 2), 1050])])  # a repeated number: sample by sample
    assert segments(store) == 0
    assert store.count() == SEGMENT_MIN - 1 + 50
    forwarding = SqliteStore(tmp_path / "f.db", outbox=True)  # its outbox names rows
    forwarding.write([], [column()])
    assert (segments(forwarding), forwarding.backlog()) == (0, 200)


def test_retention_cuts_a_segment_at_its_boundary(tmp_path: Path) -> None:
    held, rows = stores(tmp_path, [column(), column("heart_rate_bpm", range(1, 400, 2))])
    before = datetime.fromtimestamp(T0 + 50, tz=UTC)
    for store in (held, rows):
        store.delete_episode("ep1", before=before)
    assert held.count() == rows.count() == 300
    a, b = held.read(subject="m1"), rows.read(subject="m1")
    for name in ("temperature_c", "heart_rate_bpm"):
        np.testing.assert_array_equal(a[name][0], b[name][0])
        assert a[name][0].min() >= before.timestamp()
    held.delete_episode("ep1", before=NOW)
    assert (held.count(), segments(held), held.subjects()) == (0, 0, [])
