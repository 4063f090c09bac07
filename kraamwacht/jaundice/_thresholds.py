"""Hour-specific bilirubin thresholds for one baby, per standard, in µmol/L and mg/dL.

* **AAP 2022** (``aap2022``): by *completed* hour of age (hour 0 uses hour 1), per completed
  gestational week (35–40+ without, 35–38+ with neurotoxicity risk factors); a blank cell is the
  column's plateau. Treat when TSB **≥** the phototherapy threshold; escalation of care at the
  exchange threshold − 2 mg/dL. Defined from 35 weeks.
* **NICE CG98** (``nice-cg98``): babies ≥ 38 weeks; straight lines between the 6-hourly rows, the
  96-hour row from then on. Treat when bilirubin **>** the threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from kraamwacht.errors import InvalidValueError
from kraamwacht.jaundice._tables import (
    AAP_EXCHANGE_AT_336H_MG_DL,
    MG_DL_TO_UMOL_L,
    aap_exchange,
    aap_phototherapy,
    bhutani,
    nice,
)

__all__ = [
    "BhutaniZone",
    "Standard",
    "ThresholdError",
    "Thresholds",
    "bhutani_zone",
    "thresholds",
]

TOLERANCE_UMOL_L = 1e-9  # far below any meter's resolution: a value typed in mg/dL on a line is on it


def at_or_above(value_umol_l: float, line_umol_l: float) -> bool:
    """``value >= line`` up to binary rounding of unit conversions."""
    return value_umol_l >= line_umol_l - TOLERANCE_UMOL_L


def above(value_umol_l: float, line_umol_l: float) -> bool:
    """``value > line`` up to binary rounding of unit conversions."""
    return value_umol_l > line_umol_l + TOLERANCE_UMOL_L


ESCALATION_BELOW_EXCHANGE_MG_DL = 2.0  # AAP 2022: escalation of care at exchange - 2 mg/dL
AAP_MIN_GA_W = 35
NICE_MIN_GA_W = 38


class Standard(StrEnum):
    AAP2022 = "aap2022"
    NICE_CG98 = "nice-cg98"

    @property
    def citation(self) -> str:
        return {"aap2022": "AAP 2022 (Kemper et al., Pediatrics 2022)", "nice-cg98": "NICE CG98"}[self.value]


class ThresholdError(InvalidValueError):
    """The standard has no threshold for this baby (too young a gestation, a negative age)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Thresholds for one baby at one age, in µmol/L; ``inclusive`` says whether ≥ or > applies."""

    standard: Standard
    age_h: float
    phototherapy_umol_l: float
    exchange_umol_l: float
    escalation_umol_l: float | None  # AAP only
    inclusive: bool
    source: str

    @property
    def phototherapy_mg_dl(self) -> float:
        return self.phototherapy_umol_l / MG_DL_TO_UMOL_L

    @property
    def exchange_mg_dl(self) -> float:
        return self.exchange_umol_l / MG_DL_TO_UMOL_L

    @property
    def escalation_mg_dl(self) -> float | None:
        return None if self.escalation_umol_l is None else self.escalation_umol_l / MG_DL_TO_UMOL_L

    def reaches(self, value_umol_l: float, line_umol_l: float) -> bool:
        """Whether a value reaches a line under this standard's comparison (≥ for AAP, > for NICE)."""
        return at_or_above(value_umol_l, line_umol_l) if self.inclusive else above(value_umol_l, line_umol_l)


def thresholds(
    age_h: float, *, ga_weeks: float, risk_factors: bool, standard: Standard = Standard.AAP2022
) -> Thresholds:
    """Phototherapy, exchange and (AAP) escalation thresholds for this baby at ``age_h``."""
    if not math.isfinite(age_h) or age_h < 0:
        raise ThresholdError(f"age {age_h!r} h: the measurement must be at or after birth")
    completed_w = math.floor(ga_weeks)
    if standard is Standard.AAP2022:
        if completed_w < AAP_MIN_GA_W:
            raise ThresholdError(
                f"gestational age {ga_weeks:g} weeks: the AAP 2022 thresholds are defined from 35 weeks; "
                "below that, use the neonatologist's own thresholds"
            )
        photo = _aap_phototherapy_mg_dl(age_h, completed_w, risk_factors)
        exchange = _aap_exchange_mg_dl(age_h, completed_w, risk_factors)
        return Thresholds(
            standard,
            age_h,
            photo * MG_DL_TO_UMOL_L,
            exchange * MG_DL_TO_UMOL_L,
            (exchange - ESCALATION_BELOW_EXCHANGE_MG_DL) * MG_DL_TO_UMOL_L,
            inclusive=True,
            source=standard.citation,
        )
    if completed_w < NICE_MIN_GA_W:
        raise ThresholdError(
            f"gestational age {ga_weeks:g} weeks: the NICE CG98 table in kraamwacht covers babies of 38 weeks and more"
        )
    table = nice()
    age = min(age_h, float(table.age_h[-1]))
    photo = float(np.interp(age, table.age_h, table.columns["phototherapy_umol_l"]))
    exchange = float(np.interp(age, table.age_h, table.columns["exchange_umol_l"]))
    return Thresholds(standard, age_h, photo, exchange, None, inclusive=False, source=standard.citation)


def _hour_row(age_h: float, hours: np.ndarray) -> int:
    """Row of the completed hour of age; hour 0 uses hour 1; beyond the table, the last row."""
    hour = min(max(math.floor(age_h), 1), int(hours[-1]))
    return int(np.searchsorted(hours, hour))


def _aap_phototherapy_mg_dl(age_h: float, completed_w: int, risk: bool) -> float:
    table = aap_phototherapy()
    column = f"{min(completed_w, 38)}w_risk" if risk else f"{min(completed_w, 40)}w_norisk"
    return table.plateau(column, _hour_row(age_h, table.age_h))


def _aap_exchange_mg_dl(age_h: float, completed_w: int, risk: bool) -> float:
    table = aap_exchange()
    column = f"{'risk' if risk else 'norisk'}_{min(completed_w, 38)}"
    last_hour = float(table.age_h[-1])
    if math.floor(age_h) <= last_hour:
        return table.plateau(column, _hour_row(age_h, table.age_h))
    at_last = table.plateau(column, len(table.age_h) - 1)
    at_336 = AAP_EXCHANGE_AT_336H_MG_DL[column]
    hour = min(math.floor(age_h), 336)
    return at_last + (at_336 - at_last) * (hour - last_hour) / (336 - last_hour)


class BhutaniZone(StrEnum):
    HIGH = "high"  # >= 95th percentile
    HIGH_INTERMEDIATE = "high-intermediate"  # 75th-95th
    LOW_INTERMEDIATE = "low-intermediate"  # 40th-75th
    LOW = "low"  # < 40th


def bhutani_zone(age_h: float, tsb_umol_l: float, *, ga_weeks: float) -> BhutaniZone | None:
    """Bhutani 1999 risk zone (≥ 35 weeks, 12–144 h; linear between the digitised rows), else None."""
    table = bhutani()
    if ga_weeks < AAP_MIN_GA_W or not table.age_h[0] <= age_h <= table.age_h[-1]:
        return None
    # compare in µmol/L, the unit we compute in, so that a value typed in mg/dL meets the curve exactly
    p40, p75, p95 = (
        float(np.interp(age_h, table.age_h, table.columns[c] * MG_DL_TO_UMOL_L))
        for c in ("p40_mg_dl", "p75_mg_dl", "p95_mg_dl")
    )
    if at_or_above(tsb_umol_l, p95):
        return BhutaniZone.HIGH
    if at_or_above(tsb_umol_l, p75):
        return BhutaniZone.HIGH_INTERMEDIATE
    if at_or_above(tsb_umol_l, p40):
        return BhutaniZone.LOW_INTERMEDIATE
    return BhutaniZone.LOW
