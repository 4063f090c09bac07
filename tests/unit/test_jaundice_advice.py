"""Each jaundice rule on hand-computed cases, at and around its boundary (≥ versus >).

Values read by hand from the reference tables (39 weeks, no risk factors):
AAP phototherapy 39w_norisk: hour 20 → 12.1, hour 60 → 18.1 mg/dL; AAP exchange norisk_38 at hour
60 → 25.1 mg/dL, so escalation of care at 23.1 mg/dL. NICE CG98: 60 h → phototherapy 275,
exchange 450 µmol/L; 96 h → 350 / 450.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kraamwacht.contract import BilirubinMethod, Severity
from kraamwacht.jaundice import (
    MG_DL_TO_UMOL_L,
    Baby,
    Reading,
    RiskFactor,
    Standard,
    ThresholdError,
    assess,
    check_units,
)

BORN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
BABY = Baby(born_at=BORN, ga_weeks=39.0)
TCB, TSB = BilirubinMethod.TCB, BilirubinMethod.TSB
NICE = Standard.NICE_CG98


def reading(hours: float, value: float, method: BilirubinMethod = TSB, *, mg_dl: bool = False) -> Reading:
    return Reading(BORN + timedelta(hours=hours), value * MG_DL_TO_UMOL_L if mg_dl else value, method)


def rules(advice) -> set[str]:
    return {r.rule for r in advice.reasons}


# --- urgent --------------------------------------------------------------------------------------


def test_tsb_at_the_aap_line_is_urgent_and_just_below_is_not() -> None:
    at = assess(reading(60, 18.1, mg_dl=True), BABY)
    assert (at.level, at.rule) == (Severity.URGENT, "bili_phototherapy")
    assert "aap2022" in at.summary_nl()
    below = assess(reading(60, 18.0, mg_dl=True), BABY)
    assert below.level is Severity.OK
    assert below.distance_umol_l == pytest.approx(0.1 * MG_DL_TO_UMOL_L)


def test_nice_line_is_strictly_greater_than() -> None:
    assert assess(reading(60, 275.0), BABY, standard=NICE).level is Severity.OK
    over = assess(reading(60, 275.1), BABY, standard=NICE)
    assert (over.level, over.rule) == (Severity.URGENT, "bili_phototherapy")
    assert "nice-cg98" in over.summary_en()


def test_escalation_of_care_at_exchange_minus_two() -> None:
    assert "bili_escalation" in rules(assess(reading(60, 23.1, mg_dl=True), BABY))
    assert "bili_escalation" not in rules(assess(reading(60, 23.0, mg_dl=True), BABY))
    # a TcB that high is urgent too: TcB under-reads serum
    assert assess(reading(60, 23.1, TCB, mg_dl=True), BABY).level is Severity.URGENT


def test_nice_exchange_is_strict() -> None:
    assert "bili_exchange" not in rules(assess(reading(60, 450.0), BABY, standard=NICE))
    assert "bili_exchange" in rules(assess(reading(60, 450.1), BABY, standard=NICE))


def test_aap_rate_of_rise_after_the_first_day() -> None:
    earlier = [reading(40, 10.0, mg_dl=True)]
    at = assess(reading(60, 14.0, mg_dl=True), BABY, earlier=earlier)  # 4 mg/dL in 20 h = 0.2/h
    assert (at.level, at.rule) == (Severity.URGENT, "bili_rate")
    assert "0,20 mg/dL per uur" in at.summary_nl()
    below = assess(reading(60, 13.9, mg_dl=True), BABY, earlier=earlier)  # 0.195/h
    assert "bili_rate" not in rules(below)


def test_aap_rate_of_rise_in_the_first_day() -> None:
    earlier = [reading(10, 5.0, mg_dl=True)]
    assert "bili_rate" in rules(assess(reading(20, 8.0, mg_dl=True), BABY, earlier=earlier))  # 0.3/h
    assert "bili_rate" not in rules(assess(reading(20, 7.9, mg_dl=True), BABY, earlier=earlier))


def test_rate_uses_the_latest_earlier_reading_of_the_same_method() -> None:
    earlier = [reading(40, 10.0, mg_dl=True), reading(50, 11.0, mg_dl=True), reading(55, 3.0, TCB, mg_dl=True)]
    # from the TSB at 50 h: 3 mg/dL in 10 h = 0.3/h; the TcB at 55 h is not compared with a TSB
    advice = assess(reading(60, 14.0, mg_dl=True), BABY, earlier=earlier)
    assert "bili_rate" in rules(advice)
    assert "10 uur eerder" in advice.summary_nl()


def test_nice_rate_of_rise_serum_only_and_strict() -> None:
    earlier = [reading(40, 100.0)]
    assert "bili_rate" not in rules(assess(reading(60, 270.0), BABY, earlier=earlier, standard=NICE))  # 8.5/h
    assert "bili_rate" in rules(assess(reading(60, 272.0), BABY, earlier=earlier, standard=NICE))  # 8.6/h
    tcb_earlier = [reading(40, 100.0, TCB)]
    assert "bili_rate" not in rules(assess(reading(60, 200.0, TCB), BABY, earlier=tcb_earlier, standard=NICE))


def test_any_reading_in_the_first_24_hours_is_urgent() -> None:
    early = assess(reading(23.99, 60.0, TCB), BABY)
    assert (early.level, early.rule) == (Severity.URGENT, "bili_first_24h")
    assert "bili_tcb_invalid" in rules(early)
    assert "kinderarts" in early.summary_nl()
    assert assess(reading(24.0, 60.0, TCB), BABY).level is Severity.OK


# --- warning: get a serum bilirubin today ------------------------------------------------------------


def test_nvk_tcb_plus_50_at_the_line() -> None:
    at = assess(reading(60, 225.0, TCB), BABY, standard=NICE)  # 225 + 50 = 275 = line
    assert (at.level, at.rule) == (Severity.WARNING, "bili_tcb_margin")
    assert assess(reading(60, 224.9, TCB), BABY, standard=NICE).level is Severity.OK


def test_aap_tcb_within_3_mg_dl_of_the_line() -> None:
    at = assess(reading(60, 15.1, TCB, mg_dl=True), BABY)  # line 18.1 - 3
    assert "bili_tcb_near_line" in rules(at)
    assert at.level is Severity.WARNING
    assert "bili_tcb_near_line" not in rules(assess(reading(60, 15.0, TCB, mg_dl=True), BABY))


def test_aap_tcb_of_15_mg_dl_or_more() -> None:
    late = Baby(born_at=BORN, ga_weeks=40.0)  # 40w at 200 h: line well above 18 mg/dL
    assert "bili_tcb_high" in rules(assess(reading(200, 15.0, TCB, mg_dl=True), late))
    assert assess(reading(200, 14.9, TCB, mg_dl=True), late).level is Severity.OK


def test_nice_tcb_above_250() -> None:
    assert assess(reading(96, 250.0, TCB), BABY, standard=NICE).level is Severity.OK
    over = assess(reading(96, 250.1, TCB), BABY, standard=NICE)
    assert (over.level, over.rule) == (Severity.WARNING, "bili_tcb_high")


def test_tcb_during_or_after_phototherapy_is_not_valid() -> None:
    treated = Baby(born_at=BORN, ga_weeks=39.0, phototherapy=True)
    advice = assess(reading(80, 150.0, TCB), treated)
    assert (advice.level, advice.rule) == (Severity.WARNING, "bili_tcb_invalid")
    assert "fototherapie" in advice.summary_nl()


def test_risk_factors_use_the_lower_lines() -> None:
    at_risk = Baby(born_at=BORN, ga_weeks=39.0, risk_factors=(RiskFactor.G6PD,))
    # 38w_risk at hour 60 is lower than 18.1: a TSB of 17 mg/dL is urgent only with the risk factor
    assert assess(reading(60, 17.0, mg_dl=True), at_risk).level is Severity.URGENT
    assert assess(reading(60, 17.0, mg_dl=True), BABY).level is Severity.OK


# --- ok ------------------------------------------------------------------------------------------


def test_ok_names_the_distance_and_when_to_measure_again() -> None:
    advice = assess(reading(60, 210.0, TCB), BABY)
    assert advice.level is Severity.OK
    assert advice.distance_umol_l == pytest.approx(18.1 * MG_DL_TO_UMOL_L - 260.0)
    assert advice.remeasure_within_h == 24.0
    assert "onder de fototherapiegrens" in advice.summary_nl()
    assert advice.bhutani is not None


# --- bad input ---------------------------------------------------------------------------------------


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="before the birth time"):
        assess(reading(-1, 100.0), BABY)
    with pytest.raises(ThresholdError, match="35 weeks"):
        assess(reading(60, 100.0), Baby(born_at=BORN, ga_weeks=34.5))
    with pytest.raises(ValueError, match="unknown unit"):
        check_units(10, "mmol/L")
    with pytest.raises(ValueError, match="not a possible value"):
        check_units(-3, "umol/L")
    with pytest.raises(ValueError, match="above 1,000"):
        check_units(1000.5, "umol/L")
    assert check_units(1000, "µmol/L") == (1000, None)


def test_values_that_look_like_the_other_unit_are_flagged() -> None:
    umol, hint = check_units(40, "mg/dL")  # 684 µmol/L: possible, but more likely 40 µmol/L
    assert umol == pytest.approx(40 * MG_DL_TO_UMOL_L)
    assert hint is not None
    assert "was it µmol/L" in hint
    with pytest.raises(ValueError, match="was it µmol/L"):
        check_units(210, "mg/dL")
    _, hint = check_units(12, "umol/L")
    assert hint is not None
    assert "mg/dL" in hint
    assert check_units(12, "mg/dL")[1] is None
    assert check_units(210, "umol/L")[1] is None
