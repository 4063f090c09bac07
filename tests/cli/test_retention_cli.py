"""`kraamwacht episode retention`: an episode's raw data goes after the retention period, never earlier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from kraamwacht.cli import app
from kraamwacht.contract import Observation
from kraamwacht.episodes import EpisodeRegistry
from kraamwacht.storage.sqlite import SqliteStore

runner = CliRunner()


def test_retention_deletes_only_episodes_past_the_period(tmp_path: Path) -> None:
    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(tmp_path / "board" / "episodes.db")
    for name in ("old", "recent", "active"):
        registry.add(
            name, site="s1", mother=f"m-{name}", newborn=f"b-{name}", birth_at=now - timedelta(days=60), ga_weeks=39.0
        )
    registry.end("old", at=now - timedelta(days=40))
    registry.end("recent", at=now - timedelta(days=10))
    store = SqliteStore(tmp_path / "k.db")
    store.write([
        Observation(episode=name, subject=f"m-{name}", device=f"wb-{name}", signal="temperature_c", value=36.8,
                    unit="Cel", device_time=now - timedelta(days=50, minutes=k), receive_time=now, seq=k)
        for name in ("old", "recent", "active") for k in range(10)
    ])  # fmt: skip
    args = ["episode", "retention", "--store", f"sqlite:///{tmp_path / 'k.db'}", "--keep-days", "30",
            "--board-dir", str(tmp_path / "board")]  # fmt: skip
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete the raw data of old" in dry.output
    assert store.count() == 30  # a dry run deletes nothing
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "1 episode(s)" in done.output
    assert {episode for episode, _ in store.subjects()} == {"recent", "active"}
    assert store.count() == 20


def old_and_active(board: Path) -> datetime:
    """Two episodes of site s1: "old" ended 40 days ago, "active" still running; returns now."""
    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(board / "episodes.db")
    for name in ("old", "active"):
        registry.add(name, site="s1", mother=f"m-{name}", newborn=f"b-{name}", birth_at=now - timedelta(days=60),
                     ga_weeks=39.0)  # fmt: skip
    registry.end("old", at=now - timedelta(days=40))
    return now


def test_retention_removes_staff_names_and_notes_from_the_event_log(tmp_path: Path) -> None:
    from kraamwacht.contract import AlertEvent
    from kraamwacht.service import EventLog

    now = old_and_active(tmp_path / "board")
    log = EventLog(tmp_path / "state" / "events.db")
    log.record([
        AlertEvent(time=now - timedelta(days=45 if name == "old" else 1), subject=f"m-{name}", episode=name,
                   alert_id=f"m-{name}:clinical:1", event="acknowledged", level="urgent", category="clinical",
                   rule="fever", message="Bevestigd door anna: belde de verloskundige om 10:05",
                   message_en="Acknowledged by anna: belde de verloskundige om 10:05",
                   values={"actor": "anna", "note": "belde de verloskundige om 10:05"}, source="docs/references.md#fever")
        for name in ("old", "active")
    ])  # fmt: skip
    log.close()
    done = runner.invoke(app, ["episode", "retention", "--store", f"sqlite:///{tmp_path / 'k.db'}", "--keep-days",
                               "30", "--board-dir", str(tmp_path / "board"), "--events",
                               str(tmp_path / "state" / "events.db")])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "removed from 1 alert event(s) of old" in done.output
    by_episode = {e.episode: e for e in EventLog(tmp_path / "state" / "events.db").all()}
    old, active = by_episode["old"], by_episode["active"]
    assert "anna" not in old.model_dump_json()  # the name is gone from values and both messages
    assert "verloskundige om" not in old.model_dump_json()  # and so is the note
    assert (old.values["actor"], old.event.value, old.rule) == ("staff", "acknowledged", "fever")  # the record stays
    assert "een medewerker" in old.message
    assert active.values == {"actor": "anna", "note": "belde de verloskundige om 10:05"}  # care still running: kept
