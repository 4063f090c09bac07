"""`kraamwacht episode add/update/list`: the newborn's risk factors and standard, where serve and the board read them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kraamwacht.cli import app
from kraamwacht.episodes import EpisodeRegistry

runner = CliRunner()


def episode(*args: str):
    return runner.invoke(app, ["episode", *args], catch_exceptions=False)


def test_risk_factors_are_kept_with_the_episode_and_can_be_changed(tmp_path: Path) -> None:
    board = ["--board-dir", str(tmp_path)]
    added = episode("add", "ep1", "--mother", "m1", "--newborn", "b1", "--birth", "2026-11-20T03:00:00Z",
                    "--ga-weeks", "39", "--risk-factor", "isoimmune", "--risk-factor", "g6pd", *board)  # fmt: skip
    assert added.exit_code == 0, added.output
    item = EpisodeRegistry(tmp_path / "episodes.db").get("ep1")
    assert item is not None
    assert (item.risk_factors, item.standard) == (("isoimmune", "g6pd"), "aap2022")
    assert [r.value for r in item.baby.risk_factors] == ["isoimmune", "g6pd"]
    changed = episode("update", "ep1", "--risk-factor", "sepsis", "--standard", "nice-cg98", *board)
    assert changed.exit_code == 0, changed.output
    assert "risk factors sepsis; nice-cg98" in changed.output
    assert "\tsepsis\tnice-cg98" in episode("list", *board).output
    cleared = episode("update", "ep1", *board)
    assert "risk factors none" in cleared.output


def test_an_unknown_risk_factor_is_refused(tmp_path: Path) -> None:
    result = episode("add", "ep1", "--mother", "m1", "--newborn", "b1", "--birth", "2026-11-20T03:00:00Z",
                     "--ga-weeks", "39", "--risk-factor", "jaundice", "--board-dir", str(tmp_path))  # fmt: skip
    assert result.exit_code == 2
    assert "unknown risk factor(s) ['jaundice']" in result.output
    assert EpisodeRegistry(tmp_path / "episodes.db").get("ep1") is None
