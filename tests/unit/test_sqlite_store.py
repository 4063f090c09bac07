"""The embedded SQLite store: exactly once by (device, stream, seq), across restarts and a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from kraamwacht.contract import Observation, Signal
from kraamwacht.storage import layouts, open_store
from kraamwacht.storage import sqlite as sqlite_module
from kraamwacht.storage.sqlite import SqliteStore, _sparse_term
from kraamwacht.waiting import wait_for
from tests.storage_data import T0, bilirubin, observations


def test_write_read_and_deduplicate(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/k.db")
    first = store.write(observations(50))
    assert (first.stored, first.duplicates) == (50, 0)
    again = store.write(observations(60))  # 50 redelivered + 10 new
    assert (again.stored, again.duplicates) == (10, 50)
    assert again.fresh == (False,) * 50 + (True,) * 10
    twice = observations(3, subject="m9", device="wb9")
    assert store.write(twice + twice).fresh == (True, True, True, False, False, False)  # within one batch too
    series = store.read(subject="m1")
    t, v = series["temperature_c"]
    assert t.size == 30
    assert np.all(np.diff(t) > 0)
    assert v[0] == 36.0
    assert series["heart_rate_bpm"][1][-1] == 70.0 + 59
    window = store.read(
        subject="m1", signals=["heart_rate_bpm"], start=T0 + timedelta(seconds=10), end=T0 + timedelta(seconds=20)
    )
    assert list(window) == ["heart_rate_bpm"]
    assert window["heart_rate_bpm"][0].size == 5
    store.write([bilirubin()])
    assert store.subjects() == [("ep1", "baby1"), ("ep1", "m1"), ("ep1", "m9")]
    assert store.subjects(episode="ep2") == []
    store.close()


def test_a_reinstalled_gateway_numbers_in_a_new_stream_and_all_of_it_is_stored(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "k.db")
    assert store.write(observations(49, stream="gw-a")).stored == 49
    later = T0 + timedelta(minutes=5)  # gateway B, fresh state: seq from 0 again, the same wearable
    b = store.write(observations(49, stream="gw-b", start=later))
    assert (b.stored, b.duplicates, sum(b.conflicts)) == (49, 0, 0)
    assert store.count() == 98
    again = store.write(observations(49, stream="gw-b", start=later))  # B's spool redelivers
    assert (again.stored, again.duplicates, sum(again.conflicts)) == (0, 49, 0)


def test_a_taken_identity_with_other_content_is_a_conflict_never_a_silent_duplicate(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "k.db", outbox=True)
    store.write(observations(10, stream="gw-a"))
    forged = observations(10, stream="gw-a", start=T0 + timedelta(hours=1))  # same ids, other times
    mixed = store.write(forged[:4] + observations(10, stream="gw-a")[4:])
    assert mixed.conflicts == (True,) * 4 + (False,) * 6
    assert (mixed.stored, mixed.duplicates) == (0, 6)
    assert store.count() == 10  # the first content stays; the conflict is the caller's to dead-letter
    assert len(store.pending(100)) == 10
    within = observations(2, stream="gw-z")
    other = observations(2, stream="gw-z", start=T0 + timedelta(days=1))
    result = store.write(within + other)  # within one batch: the second of a pair conflicts
    assert (result.fresh, result.conflicts) == ((True, True, False, False), (False, False, True, True))


def _old_store(path: Path, schema: str, rows: list, outbox: tuple, *, streams: bool) -> None:
    """A store as an earlier version of kraamwacht wrote it (``streams``: version 2, else version 1)."""
    import sqlite3

    db = sqlite3.connect(path)
    db.executescript(schema)
    db.executemany(
        f"INSERT INTO observations VALUES ({','.join('?' * (14 if streams else 13))})",
        [(o.device, o.seq, o.episode, o.subject, o.signal.value, o.value, o.unit, o.device_time.timestamp(),
          o.receive_time.timestamp(), "", None, None, None, *((o.stream,) if streams else ())) for o in rows],
    )  # fmt: skip
    db.execute(f"INSERT INTO outbox VALUES ({','.join('?' * len(outbox))})", outbox)
    db.commit()
    db.close()


def test_a_store_from_before_streams_is_migrated_with_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_store(path, layouts.VERSION_1, observations(7), ("wb1", 6), streams=False)
    store = SqliteStore(path, outbox=True)
    assert store.count() == 7
    assert [(o.device, o.stream, o.seq) for o in store.pending(10)] == [("wb1", "", 6)]
    assert store.write(observations(7)).duplicates == 7  # the legacy numbering still deduplicates
    assert store.write(observations(3, stream="gw-new")).stored == 3


def test_a_version_2_store_is_moved_to_the_current_version_with_every_row(tmp_path: Path) -> None:
    """Version 2 kept rows ordered by identity with an index by episode; versions 3 and 4 append rows."""
    path = tmp_path / "v2.db"
    rows = observations(6, stream="gw-a") + observations(4, episode="ep2", subject="m2", device="wb2", stream="gw-a")
    _old_store(path, layouts.VERSION_2, rows, ("wb2", 3, "gw-a"), streams=True)
    store = SqliteStore(path, outbox=True)
    assert store.count() == 10
    assert store.subjects() == [("ep1", "m1"), ("ep2", "m2")]
    assert [(o.device, o.stream, o.seq) for o in store.pending(10)] == [("wb2", "gw-a", 3)]
    assert store.write(rows).duplicates == 10  # the identities still deduplicate
    assert sum(t.size for t, _v in store.read(subject="m2").values()) == 4
    indexes = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "observations_by_episode" not in indexes
    assert "observations_identity" in indexes
    assert store._db.execute("PRAGMA user_version").fetchone() == (5,)
    store.close()
    assert SqliteStore(path).count() == 10  # opened again: nothing moved twice


def _version_3_store(path: Path, rows: list) -> None:
    """A store as version 3 wrote it: the same table, one time line ordered by signal first."""
    import sqlite3

    _old_store(path, layouts.VERSION_3, rows, ("wb1", 2, ""), streams=True)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO subjects VALUES ('ep1', 'm1')")
    db.execute("PRAGMA user_version=3")
    db.commit()
    db.close()


def test_a_version_3_store_gets_the_time_line_by_time_and_the_sparse_signals_index(tmp_path: Path) -> None:
    """Version 4 orders each subject's time line by time (a wearable's two signals of a second on one
    page) and keeps an index by signal for the sparse ones; a sparse query must use that index, or
    finding a thermometer reading walks every wearable sample of the subject."""
    path = tmp_path / "v3.db"
    wearable = observations(6)
    reading = Observation(episode="ep1", subject="m1", device="kv1", signal=Signal.THERMOMETER_C, value=37.2,
                          unit="Cel", device_time=T0 + timedelta(seconds=3), receive_time=T0, seq=1)  # fmt: skip
    _version_3_store(path, [*wearable, reading])
    store = SqliteStore(path, outbox=True)
    assert store._db.execute("PRAGMA user_version").fetchone() == (5,)
    indexes = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"observations_identity", "observations_timeline", "observations_sparse"} <= indexes
    assert "observations_by_subject" not in indexes
    assert store.count() == 7
    assert store.write([*wearable, reading]).duplicates == 7
    assert store.latest("m1", "thermometer_c", since_s=0) == (reading.device_time.timestamp(), 37.2)
    assert [v for _t, v, _m in store.with_method("m1", "thermometer_c")] == [37.2]
    series = store.read(subject="m1")
    assert list(series) == sorted(series)  # signals in name order, each in time order
    assert series["thermometer_c"][1].tolist() == [37.2]

    def plan(sql: str, *args: object) -> str:
        return " ".join(row[-1] for row in store._db.execute(f"EXPLAIN QUERY PLAN {sql}", args))

    sparse = f"SELECT value FROM observations WHERE subject = ? AND signal = ?{_sparse_term('thermometer_c')}"
    assert "observations_sparse" in plan(sparse, "m1", "thermometer_c")
    dense = f"SELECT value FROM observations WHERE subject = ? AND signal = ?{_sparse_term('temperature_c')}"
    assert "observations_timeline" in plan(dense, "m1", "temperature_c")


def test_deduplication_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    SqliteStore(path).write(observations(20))
    reopened = SqliteStore(path)
    assert reopened.write(observations(20)).duplicates == 20
    assert reopened.count() == 20


def test_retention_deletes_an_episode_before_a_time(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "k.db")
    store.write(observations(20) + observations(20, episode="ep2", subject="m2", device="wb2"))
    store.delete_episode("ep1", before=T0 + timedelta(seconds=10))
    assert store.count() == 30
    assert store.read(subject="m1")["temperature_c"][0][0] == (T0 + timedelta(seconds=10)).timestamp()
    assert store.read(subject="m2")["temperature_c"][0].size == 10
    store.delete_episode("ep2", before=T0 + timedelta(days=1))  # all of it: the subject goes from the list too
    assert store.subjects() == [("ep1", "m1")]


@pytest.mark.parametrize("background", [False, True], ids=["checkpoints-in-commits", "background-checkpoints"])
def test_committed_batches_survive_kill_9(tmp_path: Path, background: bool) -> None:
    """Killed after its last commit, whoever copies the WAL back (serve's checkpoint thread may be mid-way)."""
    path = tmp_path / "k.db"
    code = (
        f"import sys, time; sys.path.insert(0, {str(Path(__file__).parents[2])!r}); from tests.storage_data import observations;"
        f"from kraamwacht.storage.sqlite import SqliteStore; s = SqliteStore({str(path)!r}, background_checkpoints={background});"
        "[s.write(observations(100, start_seq=100 * k)) for k in range(10)]; print('written', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert SqliteStore(path).count() == 1000


def test_background_checkpoints_copy_the_wal_back_and_leave_the_writer_a_backstop(tmp_path: Path) -> None:
    """serve's store checkpoints on a thread of its own; SQLite's own checkpoint in a commit only
    as a backstop (far later), and closing stops the thread with every row kept."""
    path = tmp_path / "k.db"
    store = SqliteStore(path, background_checkpoints=True)
    assert store.checkpointer is not None
    ((own,),) = store._db.execute("PRAGMA wal_autocheckpoint").fetchall()
    assert own == sqlite_module._CHECKPOINT_PAGES * sqlite_module._BACKSTOP
    for k in range(10):
        store.write(observations(100, start_seq=100 * k))
    checkpointer = store.checkpointer
    wait_for(lambda: checkpointer.frames_copied > 0, 30, what="a background checkpoint copied the WAL back")
    assert checkpointer.checkpoints >= 1
    store.close()
    assert not checkpointer.running
    assert SqliteStore(path).count() == 1000
    plain = SqliteStore(tmp_path / "plain.db")
    assert plain.checkpointer is None
    assert plain._db.execute("PRAGMA wal_autocheckpoint").fetchone() == (sqlite_module._CHECKPOINT_PAGES,)


def test_bad_store_urls_say_what_to_write() -> None:
    with pytest.raises(ValueError, match="unknown store"):
        open_store("postgres://x")
    with pytest.raises(ValueError, match="name the database"):
        open_store("influx+v1://127.0.0.1:8086")
    with pytest.raises(ValueError, match="bucket"):
        open_store("influx+v2://127.0.0.1:8086")


def test_outbox_queues_only_new_samples_until_forwarded(tmp_path: Path) -> None:
    plain = SqliteStore(tmp_path / "plain.db")
    plain.write(observations(10))
    assert (plain.backlog(), plain.pending(100)) == (0, [])  # nothing queued without an outbox

    store = SqliteStore(tmp_path / "k.db", outbox=True)
    store.write(observations(30))
    store.write(observations(40))  # 30 redelivered, 10 new: the outbox gets the 10, not 30 again
    assert store.backlog() == 40
    first = store.pending(25)
    assert [o.seq for o in first] == list(range(25))  # oldest first
    store.mark_forwarded(first)
    assert store.backlog() == 15
    assert [o.seq for o in store.pending(100)] == list(range(25, 40))
    assert store.count() == 40  # forwarding never removes stored data
