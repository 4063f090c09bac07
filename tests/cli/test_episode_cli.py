"""`kraamwacht episode add/update/list`: the newborn's risk factors and standard, where serve and the board read them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
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


@pytest.mark.parametrize("lang", ["nl", "ar", "uk"])
def test_the_handout_qr_code_opens_her_page_and_a_renewed_code_closes_the_old_one(tmp_path: Path, lang: str) -> None:
    """The PDF is rendered to an image (poppler's pdftoppm) and its QR code read back (zbar's zbarimg)."""
    for tool in ("pdftoppm", "zbarimg"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: apt-get install poppler-utils zbar-tools (.ci/run does this)")
    board = ["--board-dir", str(tmp_path)]
    added = episode("add", "ep1", "--mother", "m1", "--newborn", "b1", "--birth", "2026-11-20T03:00:00Z",
                    "--ga-weeks", "39", "--site", "s1", "--language", lang, "--label", "kamer 1", *board)  # fmt: skip
    assert added.exit_code == 0, added.output
    assert episode("site-phone", "s1", "+31 20 123 4567", *board).exit_code == 0
    assert episode("site-phone", "s1", "call me", *board).exit_code == 2  # not a number: refused
    pdf = tmp_path / "folder.pdf"
    made = episode("handout", "ep1", "--url", "https://kraamwacht.example.nl", "--out", str(pdf), *board)
    assert made.exit_code == 0, made.output
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page.png")], capture_output=True, text=True)
    registry = EpisodeRegistry(tmp_path / "episodes.db")
    code = registry.get("ep1").mother_code  # type: ignore[union-attr]
    assert decoded.stdout.strip() == f"https://kraamwacht.example.nl/?moeder={code}&taal={lang}"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "+31 20 123 4567" in text  # the number to call
    assert f"/?moeder={code}&taal={lang}" in episode("code", "ep1", *board).output  # shown again for staff
    renewed = episode("code", "ep1", "--renew", *board)
    assert renewed.exit_code == 0
    assert registry.by_code(code) is None  # the old link stops working
    new_code = registry.get("ep1").mother_code  # type: ignore[union-attr]
    assert new_code != code and registry.by_code(new_code) is not None  # noqa: PT018
    assert episode("handout", "ep1", "--url", "kraamwacht.example.nl", "--out", str(pdf), *board).exit_code == 2


def test_twins_are_one_episode_with_a_newborn_each(tmp_path: Path) -> None:
    board = ["--board-dir", str(tmp_path)]
    added = episode("add", "ep2", "--mother", "m2", "--newborn", "b2a", "--newborn", "b2b", "--birth",
                    "2026-11-20T03:00:00Z", "--ga-weeks", "36.5", *board)  # fmt: skip
    assert added.exit_code == 0, added.output
    item = EpisodeRegistry(tmp_path / "episodes.db").get("ep2")
    assert item is not None
    assert (item.newborn, item.twins, item.newborns) == ("b2a", ("b2b",), ("b2a", "b2b"))
    assert "\tm2\tb2a,b2b\t" in episode("list", *board).output
    same = episode("add", "ep3", "--mother", "m3", "--newborn", "b3", "--newborn", "b3", "--birth",
                   "2026-11-20T03:00:00Z", "--ga-weeks", "39", *board)  # fmt: skip
    assert same.exit_code == 2  # two babies with one id would mix their readings
    assert "ids of their own" in same.output
    own = episode("update", "ep2", "--risk-factor", "b2b:g6pd", *board)  # one twin's risk factor
    assert own.exit_code == 0, own.output
    item = EpisodeRegistry(tmp_path / "episodes.db").get("ep2")
    assert item is not None
    assert (item.risk_factors_of("b2a"), item.risk_factors_of("b2b")) == ((), ("g6pd",))
    stranger = episode("update", "ep2", "--risk-factor", "b9:g6pd", *board)
    assert stranger.exit_code == 2
    assert "name no newborn" in stranger.output


def test_a_registry_from_before_twins_is_migrated_in_place(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "episodes.db") as db:  # the layout before risk factors and twins
        db.execute(
            "CREATE TABLE episodes (episode TEXT PRIMARY KEY, site TEXT NOT NULL, mother TEXT NOT NULL,"
            " newborn TEXT NOT NULL, birth_at TEXT NOT NULL, ga_weeks REAL NOT NULL, mother_code TEXT NOT NULL UNIQUE,"
            " language TEXT NOT NULL, label TEXT NOT NULL, ended_at TEXT)"
        )
        db.execute(
            "INSERT INTO episodes VALUES ('ep0','site1','m0','b0','2026-11-20T03:00:00Z',39.0,'c0de','nl','',NULL)"
        )
    registry = EpisodeRegistry(tmp_path / "episodes.db")
    old = registry.get("ep0")
    assert old is not None
    assert (old.newborns, old.risk_factors, old.standard) == (("b0",), (), "aap2022")
    from datetime import UTC, datetime

    registry.add("ep9", site="site1", mother="m9", newborn="b9", twins=("b9b",),
                 birth_at=datetime(2026, 11, 21, tzinfo=UTC), ga_weeks=37.0)  # fmt: skip
    assert registry.get("ep9").newborns == ("b9", "b9b")  # type: ignore[union-attr]


def test_a_twin_born_later_keeps_her_own_birth_time(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    board = ["--board-dir", str(tmp_path)]
    added = episode("add", "ep4", "--mother", "m4", "--newborn", "b4a", "--newborn", "b4b", "--birth",
                    "2026-11-20T03:00:00Z", "--twin-birth", "b4b=2026-11-20T03:40:00+00:00", "--ga-weeks", "37", *board)  # fmt: skip
    assert added.exit_code == 0, added.output
    item = EpisodeRegistry(tmp_path / "episodes.db").get("ep4")
    assert item is not None
    assert item.birth_of("b4a") == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    assert item.birth_of("b4b") == datetime(2026, 11, 20, 3, 40, tzinfo=UTC)  # her age counts from her own birth
    assert item.baby_of("b4b").born_at == datetime(2026, 11, 20, 3, 40, tzinfo=UTC)
    assert "b4b born 2026-11-20T03:40:00+00:00" in episode("list", *board).output
    for wrong, said in (("b9=2026-11-20T03:40:00Z", "not one of the twins"), ("b4b", "NEWBORN=TIME")):
        refused = episode("add", "ep5", "--mother", "m5", "--newborn", "b4a", "--newborn", "b4b", "--birth",
                          "2026-11-20T03:00:00Z", "--twin-birth", wrong, "--ga-weeks", "37", *board)  # fmt: skip
        assert refused.exit_code == 2
        assert said in refused.output


def test_the_office_pairs_a_wearable_to_a_gateway_and_a_wearer(tmp_path: Path) -> None:
    from kraamwacht.pairings import PairingRegistry

    board = ["--board-dir", str(tmp_path)]
    assert episode("add", "ep6", "--mother", "m6", "--newborn", "b6", "--birth", "2026-11-20T03:00:00Z",
                   "--ga-weeks", "39", "--site", "s1", *board).exit_code == 0  # fmt: skip
    paired = episode("pair", "ep6", "--device", "wb-0006", "--subject", "m6", "--gateway", "gw3", *board)
    assert paired.exit_code == 0, paired.output
    assert "wb-0006: ep6/m6 through gateway gw3 (s1)" in paired.output
    stranger = episode("pair", "ep6", "--device", "wb-0007", "--subject", "m9", "--gateway", "gw3", *board)
    assert stranger.exit_code == 2  # not a person of this episode
    assert "not in episode ep6" in stranger.output
    assert "wb-0006\ts1\tep6\tm6\tgw3\t" in episode("pairings", *board).output
    ended = episode("end", "ep6", *board)
    assert "1 wearable(s) unpaired" in ended.output  # her wearable is nobody's once her care ended
    assert PairingRegistry(tmp_path / "episodes.db").all() == []
    assert episode("unpair", "wb-0006", *board).exit_code == 2  # already gone: said
