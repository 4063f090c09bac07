"""Every tabulated value of the AAP 2022 and NICE CG98 tables, through the public API, in both units."""

from __future__ import annotations

import csv
import io
import math
from importlib import resources
from pathlib import Path

import pytest

from kraamwacht.jaundice import (
    MG_DL_TO_UMOL_L,
    BhutaniZone,
    Standard,
    ThresholdError,
    bhutani_zone,
    thresholds,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference"
TABLES = (
    "aap2022_phototherapy_mgdl.csv",
    "aap2022_exchange_mgdl.csv",
    "nice_cg98_term.csv",
    "bhutani1999_percentiles_mgdl.csv",
)


def rows(name: str) -> tuple[str, list[dict[str, str]]]:
    text = resources.files("kraamwacht.jaundice").joinpath("tables", name).read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    return first, list(csv.DictReader(io.StringIO(body)))


def plateau(table: list[dict[str, str]], column: str, index: int) -> float:
    """The cell, or the last filled cell above it (a blank is the column's plateau)."""
    for row in reversed(table[: index + 1]):
        if row[column]:
            return float(row[column])
    raise AssertionError("no value")


@pytest.mark.parametrize("name", TABLES)
def test_shipped_tables_are_verbatim_copies_with_provenance(name: str) -> None:
    shipped = resources.files("kraamwacht.jaundice").joinpath("tables", name).read_bytes()
    assert shipped.startswith(b"# ")
    if SHARED.exists():  # the project's reference folder, beside the checkout in development and CI
        assert shipped == (SHARED / name).read_bytes()


def _aap_columns(header: list[str]) -> list[tuple[str, int, bool]]:
    out = []
    for column in header[1:]:
        weeks = int("".join(ch for ch in column if ch.isdigit()))
        out.append((column, weeks, "risk" in column and "norisk" not in column))
    return out


def test_every_aap_phototherapy_value() -> None:
    _, table = rows("aap2022_phototherapy_mgdl.csv")
    checked = 0
    for index, row in enumerate(table):
        hour = int(row["hour"])
        for column, weeks, risk in _aap_columns(list(row)):
            want = plateau(table, column, index)
            for age in (hour, hour + 0.99):  # the completed hour
                got = thresholds(age, ga_weeks=weeks + 0.5, risk_factors=risk)
                assert got.phototherapy_mg_dl == pytest.approx(want, abs=1e-9), (column, hour)
                assert got.phototherapy_umol_l == pytest.approx(want * MG_DL_TO_UMOL_L, abs=1e-9)
                checked += 1
    assert checked == 2 * 336 * 10


def test_every_aap_exchange_and_escalation_value() -> None:
    _, table = rows("aap2022_exchange_mgdl.csv")
    for index, row in enumerate(table):
        hour = int(row["hour"])
        for column in list(row)[1:]:
            risk, weeks = column.split("_")
            want = plateau(table, column, index)
            got = thresholds(hour + 0.5, ga_weeks=int(weeks), risk_factors=risk == "risk")
            assert got.exchange_mg_dl == pytest.approx(want, abs=1e-9), (column, hour)
            assert got.exchange_umol_l == pytest.approx(want * MG_DL_TO_UMOL_L, abs=1e-9)
            assert got.escalation_mg_dl == pytest.approx(want - 2.0, abs=1e-9)
            assert got.escalation_umol_l == pytest.approx((want - 2.0) * MG_DL_TO_UMOL_L, abs=1e-9)


def test_aap_exchange_beyond_100_hours_follows_the_header_note() -> None:
    header, _ = rows("aap2022_exchange_mgdl.csv")
    assert "no-risk 35 wk rises to 26.3 at 336 h" in header
    assert "with risk 35 wk to 22.9, 36 and 37 wk to 23.5, 38+ wk flat 23.5" in header
    assert thresholds(336, ga_weeks=35, risk_factors=False).exchange_mg_dl == pytest.approx(26.3)
    assert thresholds(500, ga_weeks=35, risk_factors=True).exchange_mg_dl == pytest.approx(22.9)
    assert thresholds(218, ga_weeks=40, risk_factors=False).exchange_mg_dl == pytest.approx(27.0)
    # halfway between 100 h (24.5) and 336 h (26.3)
    assert thresholds(218, ga_weeks=35, risk_factors=False).exchange_mg_dl == pytest.approx(24.5 + 0.9)


def test_aap_edges_hour_zero_plateau_and_week_caps() -> None:
    at1 = thresholds(1, ga_weeks=39, risk_factors=False)
    assert thresholds(0.2, ga_weeks=39, risk_factors=False).phototherapy_mg_dl == at1.phototherapy_mg_dl
    assert thresholds(900, ga_weeks=35, risk_factors=False).phototherapy_mg_dl == pytest.approx(19.6)
    assert (
        thresholds(50, ga_weeks=42, risk_factors=False).phototherapy_mg_dl
        == thresholds(50, ga_weeks=40, risk_factors=False).phototherapy_mg_dl
    )
    assert (
        thresholds(50, ga_weeks=41, risk_factors=True).phototherapy_mg_dl
        == thresholds(50, ga_weeks=38, risk_factors=True).phototherapy_mg_dl
    )


def test_every_nice_value_and_the_straight_lines_between() -> None:
    _, table = rows("nice_cg98_term.csv")
    for row in table:
        age = float(row["age_h"])
        got = thresholds(age, ga_weeks=38, risk_factors=False, standard=Standard.NICE_CG98)
        assert got.phototherapy_umol_l == float(row["phototherapy_umol_l"])
        assert got.exchange_umol_l == float(row["exchange_umol_l"])
        assert got.phototherapy_mg_dl == pytest.approx(float(row["phototherapy_umol_l"]) / MG_DL_TO_UMOL_L)
        assert got.exchange_mg_dl == pytest.approx(float(row["exchange_umol_l"]) / MG_DL_TO_UMOL_L)
        assert got.escalation_umol_l is None
        assert not got.inclusive  # NICE: treat when GREATER THAN the value
    mid = thresholds(27, ga_weeks=40, risk_factors=False, standard=Standard.NICE_CG98)
    assert (mid.phototherapy_umol_l, mid.exchange_umol_l) == (206.0, 325.0)
    late = thresholds(200, ga_weeks=40, risk_factors=False, standard=Standard.NICE_CG98)
    assert (late.phototherapy_umol_l, late.exchange_umol_l) == (350.0, 450.0)


def test_bhutani_zones_at_and_between_rows() -> None:
    _, table = rows("bhutani1999_percentiles_mgdl.csv")
    for row in table:
        age = float(row["age_h"])
        p40, p75, p95 = (float(row[c]) * MG_DL_TO_UMOL_L for c in ("p40_mg_dl", "p75_mg_dl", "p95_mg_dl"))
        assert bhutani_zone(age, p95, ga_weeks=38) is BhutaniZone.HIGH
        assert bhutani_zone(age, p95 - 0.01, ga_weeks=38) is BhutaniZone.HIGH_INTERMEDIATE
        assert bhutani_zone(age, p75, ga_weeks=38) is BhutaniZone.HIGH_INTERMEDIATE
        assert bhutani_zone(age, p40, ga_weeks=38) is BhutaniZone.LOW_INTERMEDIATE
        assert bhutani_zone(age, p40 - 0.01, ga_weeks=38) is BhutaniZone.LOW
    assert bhutani_zone(11.9, 500, ga_weeks=38) is None
    assert bhutani_zone(144.1, 500, ga_weeks=38) is None
    assert bhutani_zone(48, 500, ga_weeks=34.9) is None


@pytest.mark.parametrize(
    ("ga", "standard", "words"),
    [(34.9, Standard.AAP2022, "defined from 35 weeks"), (37.9, Standard.NICE_CG98, "38 weeks")],
)
def test_no_line_below_the_standards_gestation(ga: float, standard: Standard, words: str) -> None:
    with pytest.raises(ThresholdError, match=words):
        thresholds(48, ga_weeks=ga, risk_factors=False, standard=standard)


def test_negative_age_is_refused() -> None:
    with pytest.raises(ThresholdError, match="after birth"):
        thresholds(-0.1, ga_weeks=39, risk_factors=False)
    assert not math.isnan(thresholds(0, ga_weeks=39, risk_factors=False).phototherapy_umol_l)
