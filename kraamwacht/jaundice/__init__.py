"""Newborn jaundice: hour-specific bilirubin thresholds from the published tables, and advice.

Pure code: the tables ship inside the package (``tables/``, verbatim copies with provenance).
Compute in µmol/L; accept and show mg/dL at the edges (1 mg/dL = 17.1 µmol/L).
"""

from kraamwacht.jaundice._advice import (
    JAUNDICE_RULES,
    Advice,
    Baby,
    Reading,
    Reason,
    RiskFactor,
    assess,
    check_units,
)
from kraamwacht.jaundice._tables import MG_DL_TO_UMOL_L
from kraamwacht.jaundice._thresholds import (
    BhutaniZone,
    Standard,
    ThresholdError,
    Thresholds,
    bhutani_zone,
    thresholds,
)

__all__ = [
    "JAUNDICE_RULES",
    "MG_DL_TO_UMOL_L",
    "Advice",
    "Baby",
    "BhutaniZone",
    "Reading",
    "Reason",
    "RiskFactor",
    "Standard",
    "ThresholdError",
    "Thresholds",
    "assess",
    "bhutani_zone",
    "check_units",
    "thresholds",
]
