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
