"""Advice for one bilirubin reading, in the context of the baby's earlier readings.

Levels: ``urgent`` (call the midwife / paediatrician now), ``warning`` (get a serum bilirubin
today), ``ok`` (with the distance to the line and when to measure again). Every reason names its
rule, its numbers and its source (``shared/reference/README.md``):

urgent
    * visible jaundice or any reading in the first 24 h of life: refer to the paediatrician now
      (NVK; NICE CG98);
    * TSB at or above the phototherapy line of the standard in use (AAP ≥, NICE >);
    * a reading at or above escalation of care (AAP: exchange − 2 mg/dL) or above the exchange
      line (NICE);
    * rate of rise ≥ 0.3 mg/dL/h under 24 h of age, ≥ 0.2 mg/dL/h later (AAP 2022, any method,
      consecutive readings of the same method), or serum rising > 8.5 µmol/L/h (NICE CG98).
warning (TcB readings)
    * TcB + 50 µmol/L at or above the phototherapy line (NVK, always applied);
    * AAP: TcB within 3 mg/dL of the phototherapy line, or TcB ≥ 15 mg/dL;
      NICE: TcB > 250 µmol/L;
    * TcB where it is not valid: first 24 h, below 35 weeks, during or after phototherapy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kraamwacht.contract import BilirubinMethod, Severity
from kraamwacht.errors import InvalidValueError
from kraamwacht.jaundice._tables import MG_DL_TO_UMOL_L
from kraamwacht.jaundice._thresholds import (
    BhutaniZone,
    Standard,
    Thresholds,
    above,
    at_or_above,
    bhutani_zone,
    thresholds,
)

__all__ = ["JAUNDICE_RULES", "Advice", "Baby", "Reading", "Reason", "RiskFactor", "assess", "check_units"]

# every rule an advice can name, in the order of severity they usually carry
JAUNDICE_RULES = (
    "bili_first_24h",
    "bili_exchange",
    "bili_escalation",
    "bili_phototherapy",
    "bili_rate",
    "bili_tcb_margin",
    "bili_tcb_near_line",
    "bili_tcb_high",
    "bili_tcb_invalid",
    "bili_ok",
)

TCB_MARGIN_UMOL_L = 50.0  # NVK: add 50 µmol/L to a TcB value before comparing with the line
AAP_TCB_WITHIN_MG_DL = 3.0  # AAP 2022: TcB within 3 mg/dL of the phototherapy threshold → TSB
AAP_TCB_HIGH_MG_DL = 15.0  # AAP 2022: TcB ≥ 15 mg/dL → TSB
NICE_TCB_HIGH_UMOL_L = 250.0  # NICE CG98: TcB > 250 µmol/L → serum
AAP_RATE_FIRST_DAY_MG_DL_H = 0.3  # AAP 2022, < 24 h of age
AAP_RATE_LATER_MG_DL_H = 0.2  # AAP 2022, later
NICE_RATE_UMOL_L_H = 8.5  # NICE CG98: serum bilirubin rising > 8.5 µmol/L/h
FIRST_DAY_H = 24.0


class RiskFactor(StrEnum):
    """AAP 2022 hyperbilirubinaemia neurotoxicity risk factors (GA < 38 w is in the per-week columns)."""

    ALBUMIN_LOW = "albumin<3.0"
    ISOIMMUNE = "isoimmune"  # isoimmune haemolytic disease, positive DAT
    G6PD = "g6pd"  # G6PD deficiency or another haemolytic condition
    SEPSIS = "sepsis"
    UNSTABLE = "unstable"  # significant clinical instability in the previous 24 h


@dataclass(frozen=True, slots=True)
class Baby:
    born_at: datetime
    ga_weeks: float
    risk_factors: tuple[RiskFactor, ...] = ()
    phototherapy: bool = False  # during or after phototherapy

    def age_h(self, at: datetime) -> float:
        return (at - self.born_at).total_seconds() / 3600.0


@dataclass(frozen=True, slots=True)
class Reading:
    measured_at: datetime
    value_umol_l: float
    method: BilirubinMethod


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    level: Severity
    text_nl: str
    text_en: str
    source: str


@dataclass(frozen=True, slots=True)
class Advice:
    level: Severity
    reasons: tuple[Reason, ...]
    standard: Standard
    age_h: float
    reading: Reading
    thresholds: Thresholds | None
    distance_umol_l: float | None  # phototherapy line minus the (TcB: + 50) value; > 0 is below
    bhutani: BhutaniZone | None
    remeasure_within_h: float | None
    notes: tuple[str, ...] = field(default=())

    @property
    def rule(self) -> str:
        """The decisive rule: the first reason at the advice's level (``ok`` when none)."""
        return next((r.rule for r in self.reasons if r.level is self.level), "bili_ok")

    def summary_nl(self) -> str:
        head = {
            Severity.URGENT: "DRINGEND: bel nu de verloskundige / kinderarts.",
            Severity.WARNING: "Vandaag serumbilirubine (hielprik) laten bepalen.",
            Severity.OK: "Geen actie nodig.",
        }[self.level]
        return " ".join([head, *(r.text_nl for r in self.reasons)])

    def summary_en(self) -> str:
        head = {
            Severity.URGENT: "URGENT: call the midwife / paediatrician now.",
            Severity.WARNING: "Get a serum bilirubin (heel prick) today.",
            Severity.OK: "No action needed.",
        }[self.level]
        return " ".join([head, *(r.text_en for r in self.reasons)])


def _u(x: float) -> str:
    return f"{x:.0f} µmol/L"


def _mg(x_umol_l: float) -> str:
    return f"{x_umol_l / MG_DL_TO_UMOL_L:.1f} mg/dL"


def _mg_nl(x_umol_l: float) -> str:
    return _mg(x_umol_l).replace(".", ",")


def _nl(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}".replace(".", ",")


def assess(
    reading: Reading,
    baby: Baby,
    *,
    earlier: Sequence[Reading] = (),
    standard: Standard = Standard.AAP2022,
    remeasure_within_h: float = 24.0,
) -> Advice:
    """Advice for ``reading`` (see the module docstring for the rules and their sources).

    ``remeasure_within_h`` is when an ``ok`` advice suggests measuring again if the baby still
    looks yellow: a kraamwacht default, not a guideline value; set it per local protocol. Raises :class:`~kraamwacht.jaundice.ThresholdError` where the standard has no
    line for this baby (e.g. AAP below 35 weeks) and ``ValueError`` for a reading before birth.
    """
    age = baby.age_h(reading.measured_at)
    if age < 0:
        raise InvalidValueError(
            f"measured {-age:.1f} h before the birth time: check the birth time and the time of measurement"
        )
    value = reading.value_umol_l
    tcb = reading.method is BilirubinMethod.TCB
    reasons: list[Reason] = []

    def add(rule: str, level: Severity, nl: str, en: str, source: str) -> None:
        reasons.append(Reason(rule, level, nl, en, source))

    if age < FIRST_DAY_H:  # a reading this early means jaundice was visible in the first day
        add(
            "bili_first_24h",
            Severity.URGENT,
            f"Geelzucht in de eerste 24 uur (leeftijd {age:.0f} uur): direct naar de kinderarts, altijd serumbilirubine.",
            f"Jaundice in the first 24 hours (age {age:.0f} h): refer to the paediatrician now; always a serum bilirubin.",
            "NVK guideline; NICE CG98 (serum within 2 h)",
        )
    line = thresholds(age, ga_weeks=baby.ga_weeks, risk_factors=bool(baby.risk_factors), standard=standard)
    cmp = "≥" if line.inclusive else ">"
    if not tcb and line.reaches(value, line.phototherapy_umol_l):
        add(
            "bili_phototherapy",
            Severity.URGENT,
            f"Serumbilirubine {_u(value)} {cmp} fototherapiegrens {_u(line.phototherapy_umol_l)} ({standard.value}, {age:.0f} uur).",
            f"Serum bilirubin {_u(value)} {cmp} phototherapy threshold {_u(line.phototherapy_umol_l)} ({standard.value}, {age:.0f} h).",
            standard.citation,
        )
    if line.escalation_umol_l is not None and at_or_above(value, line.escalation_umol_l):
        add(
            "bili_escalation",
            Severity.URGENT,
            f"Bilirubine {_u(value)} ≥ grens voor escalatie van zorg {_u(line.escalation_umol_l)} (wisseltransfusiegrens − 2 mg/dL).",
            f"Bilirubin {_u(value)} ≥ escalation-of-care threshold {_u(line.escalation_umol_l)} (exchange − 2 mg/dL).",
            "AAP 2022",
        )
    if line.escalation_umol_l is None and above(value, line.exchange_umol_l):
        add(
            "bili_exchange",
            Severity.URGENT,
            f"Bilirubine {_u(value)} > wisseltransfusiegrens {_u(line.exchange_umol_l)}.",
            f"Bilirubin {_u(value)} > exchange transfusion threshold {_u(line.exchange_umol_l)}.",
            standard.citation,
        )
    reasons += _rate_reasons(reading, baby, earlier, standard, age)
    distance = line.phototherapy_umol_l - (value + TCB_MARGIN_UMOL_L if tcb else value)
    if tcb:
        reasons += _tcb_reasons(value, baby, line, standard, age)
    level = max((r.level for r in reasons), default=Severity.OK)
    remeasure = None
    if level is Severity.OK:
        margin = line.phototherapy_umol_l - value
        remeasure = remeasure_within_h
        add(
            "bili_ok",
            Severity.OK,
            f"{'TcB' if tcb else 'Serum'} {_u(value)} ligt {_u(margin)} onder de fototherapiegrens {_u(line.phototherapy_umol_l)}"
            + (f" (met de TcB-marge van 50: {_u(distance)})" if tcb else "")
            + f". Meet opnieuw binnen {remeasure:.0f} uur als de baby nog geel ziet.",
            f"{'TcB' if tcb else 'Serum'} {_u(value)} is {_u(margin)} below the phototherapy threshold {_u(line.phototherapy_umol_l)}"
            + (f" ({_u(distance)} with the TcB margin of 50)" if tcb else "")
            + f". Measure again within {remeasure:.0f} h if the baby still looks yellow.",
            f"{standard.citation}; re-measure interval: kraamwacht default, set per local protocol",
        )
    zone = bhutani_zone(age, value, ga_weeks=baby.ga_weeks)
    notes = [f"Bhutani-zone: {zone.value} (Bhutani 1999, gedigitaliseerde curve)"] if zone else []
    return Advice(level, tuple(reasons), standard, age, reading, line, distance, zone, remeasure, tuple(notes))


def _rate_reasons(
    reading: Reading, baby: Baby, earlier: Sequence[Reading], standard: Standard, age: float
) -> list[Reason]:
    same = [r for r in earlier if r.method is reading.method and r.measured_at < reading.measured_at]
    if not same:
        return []
    previous = max(same, key=lambda r: r.measured_at)
    hours = (reading.measured_at - previous.measured_at).total_seconds() / 3600.0
    if hours <= 0:
        return []
    rate_umol = (reading.value_umol_l - previous.value_umol_l) / hours
    rate_mg = rate_umol / MG_DL_TO_UMOL_L
    out: list[Reason] = []
    limit_mg = AAP_RATE_FIRST_DAY_MG_DL_H if age < FIRST_DAY_H else AAP_RATE_LATER_MG_DL_H
    if standard is Standard.AAP2022 and at_or_above(rate_umol, limit_mg * MG_DL_TO_UMOL_L):
        out.append(
            Reason(
                "bili_rate",
                Severity.URGENT,
                f"Snelle stijging: {_nl(rate_mg, 2)} mg/dL per uur ({_nl(rate_umol, 1)} µmol/L/u) sinds de vorige meting "
                f"{hours:.0f} uur eerder (grens {_nl(limit_mg, 1)} mg/dL/u): verdacht voor hemolyse.",
                f"Rapid rise: {rate_mg:.2f} mg/dL per hour ({rate_umol:.1f} µmol/L/h) since the previous reading {hours:.0f} h earlier "
                f"(limit {limit_mg} mg/dL/h): suggests haemolysis.",
                "AAP 2022",
            )
        )
    if (
        standard is Standard.NICE_CG98
        and reading.method is BilirubinMethod.TSB
        and above(rate_umol, NICE_RATE_UMOL_L_H)
    ):
        out.append(
            Reason(
                "bili_rate",
                Severity.URGENT,
                f"Serumbilirubine stijgt {_nl(rate_umol, 1)} µmol/L per uur (> {_nl(NICE_RATE_UMOL_L_H, 1)}).",
                f"Serum bilirubin rising {rate_umol:.1f} µmol/L per hour (> {NICE_RATE_UMOL_L_H}).",
                "NICE CG98",
            )
        )
    return out


def _tcb_reasons(value: float, baby: Baby, line: Thresholds, standard: Standard, age: float) -> list[Reason]:
    out: list[Reason] = []
    warn = Severity.WARNING
    if at_or_above(value + TCB_MARGIN_UMOL_L, line.phototherapy_umol_l):
        out.append(
            Reason(
                "bili_tcb_margin",
                warn,
                f"TcB {_u(value)} + 50 = {_u(value + TCB_MARGIN_UMOL_L)} ≥ fototherapiegrens {_u(line.phototherapy_umol_l)}.",
                f"TcB {_u(value)} + 50 = {_u(value + TCB_MARGIN_UMOL_L)} ≥ phototherapy threshold {_u(line.phototherapy_umol_l)}.",
                "NVK (NL)",
            )
        )
    if standard is Standard.AAP2022:
        within = line.phototherapy_umol_l - AAP_TCB_WITHIN_MG_DL * MG_DL_TO_UMOL_L
        if at_or_above(value, within):
            out.append(
                Reason(
                    "bili_tcb_near_line",
                    warn,
                    f"TcB {_mg_nl(value)} ligt binnen 3 mg/dL van de fototherapiegrens {_mg_nl(line.phototherapy_umol_l)}.",
                    f"TcB {_mg(value)} is within 3 mg/dL of the phototherapy threshold {_mg(line.phototherapy_umol_l)}.",
                    "AAP 2022",
                )
            )
        if at_or_above(value, AAP_TCB_HIGH_MG_DL * MG_DL_TO_UMOL_L):
            out.append(
                Reason(
                    "bili_tcb_high",
                    warn,
                    f"TcB {_mg_nl(value)} ≥ 15 mg/dL.",
                    f"TcB {_mg(value)} ≥ 15 mg/dL.",
                    "AAP 2022",
                )
            )
    if standard is Standard.NICE_CG98 and above(value, NICE_TCB_HIGH_UMOL_L):
        out.append(
            Reason(
                "bili_tcb_high", warn, f"TcB {_u(value)} > 250 µmol/L.", f"TcB {_u(value)} > 250 µmol/L.", "NICE CG98"
            )
        )
    invalid = []  # below 35 weeks no line exists here at all: thresholds() refuses, saying why
    if age < FIRST_DAY_H:
        invalid.append(("eerste 24 uur", "first 24 hours"))
    if baby.phototherapy:
        invalid.append(("tijdens of na fototherapie", "during or after phototherapy"))
    if invalid:
        out.append(
            Reason(
                "bili_tcb_invalid",
                warn,
                f"TcB is niet betrouwbaar ({', '.join(nl for nl, _ in invalid)}): bepaal serumbilirubine.",
                f"TcB is not valid here ({', '.join(en for _, en in invalid)}): measure serum bilirubin.",
                "NVK; NICE CG98",
            )
        )
    return out


def check_units(value: float, unit: str) -> tuple[float, str | None]:
    """Convert to µmol/L; return a warning when the number looks like the other unit.

    Raises ``ValueError`` for an unknown unit, a negative or absurd value (> 1,000 µmol/L).
    """
    normalised = unit.replace("µ", "u").replace("μ", "u").replace(" ", "").lower()
    if normalised in {"umol/l", "umol"}:
        umol = value
        suspicious = value < 25 and math.isfinite(value) and value > 0
        hint = (
            f"{value:g} µmol/L is very low: was it mg/dL ({value:g} mg/dL = {value * MG_DL_TO_UMOL_L:.0f} µmol/L)?"
            if suspicious
            else None
        )
    elif normalised in {"mg/dl", "mg"}:
        umol = value * MG_DL_TO_UMOL_L
        suspicious = value > 35
        hint = f"{value:g} mg/dL would be {umol:.0f} µmol/L: was it µmol/L?" if suspicious else None
    else:
        raise InvalidValueError(f"unknown unit {unit!r}: use umol/L or mg/dL")
    if not math.isfinite(umol) or umol < 0:
        raise InvalidValueError(f"bilirubin {value!r} {unit} is not a possible value")
    if umol > 1000:
        mixup = f" ({hint})" if hint else ""
        raise InvalidValueError(f"bilirubin {umol:.0f} µmol/L is above 1,000 µmol/L: not a plausible reading{mixup}")
    return umol, hint
