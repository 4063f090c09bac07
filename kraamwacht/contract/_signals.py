"""What is measured: signals with their units and plausible ranges, quality flags, methods.

One range check, vectorised (:func:`out_of_range`), serves the contract, recordings and the
cohort generator, so a value is judged the same wherever it enters.
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SIGNAL_RANGES",
    "SIGNAL_UNITS",
    "BilirubinMethod",
    "QualityFlag",
    "Role",
    "Signal",
    "ThermometerMethod",
    "out_of_range",
    "range_problem",
]


class Signal(StrEnum):
    TEMPERATURE_C = "temperature_c"
    HEART_RATE_BPM = "heart_rate_bpm"
    BATTERY_PCT = "battery_pct"
    BILIRUBIN_UMOL_L = "bilirubin_umol_l"
    THERMOMETER_C = "thermometer_c"  # a spot check with a clinical thermometer, typed in


SIGNAL_UNITS: dict[Signal, str] = {
    Signal.TEMPERATURE_C: "Cel",
    Signal.HEART_RATE_BPM: "/min",
    Signal.BATTERY_PCT: "%",
    Signal.BILIRUBIN_UMOL_L: "umol/L",
    Signal.THERMOMETER_C: "Cel",
}

# Plausible ranges: a value outside is a device or entry error, not a patient state. The skin
# sensor reads the room when it comes loose (a bedroom can be 10 °C): such values are real data the
# loose-sensor rule needs, so the lower bound is the coldest room, not the coldest person.
SIGNAL_RANGES: dict[Signal, tuple[float, float]] = {
    Signal.TEMPERATURE_C: (5.0, 45.0),
    Signal.HEART_RATE_BPM: (25.0, 250.0),
    Signal.BATTERY_PCT: (0.0, 100.0),
    Signal.BILIRUBIN_UMOL_L: (0.0, 1000.0),
    # a clinical thermometer on a living person: below 25 or above 45 °C is a typing or device error
    Signal.THERMOMETER_C: (25.0, 45.0),
}


class QualityFlag(StrEnum):
    NO_SKIN_CONTACT = "no_skin_contact"  # HRS sensor-contact bit says not in contact
    CLOCK_SKEW = "clock_skew"  # device clock differs from receive time; device time repaired
    REPLAYED = "replayed"  # sent from the wearable's own buffer after a reconnect
    MANUAL = "manual"  # typed in by a person


class BilirubinMethod(StrEnum):
    TCB = "tcb"  # transcutaneous meter
    TSB = "tsb"  # total serum bilirubin (heel prick, laboratory)


class ThermometerMethod(StrEnum):
    """Where a spot check was taken; Dutch kraamzorg measures rectally unless agreed otherwise."""

    RECTAL = "rectal"
    ORAL = "oral"
    TYMPANIC = "tympanic"
    AXILLARY = "axillary"


class Role(StrEnum):
    MOTHER = "mother"
    NEWBORN = "newborn"


def out_of_range(signal: Signal, values: ArrayLike) -> NDArray[np.bool_]:
    """True where a value is not finite or lies outside the signal's plausible range."""
    low, high = SIGNAL_RANGES[signal]
    array = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return ~((array >= low) & (array <= high))


def range_problem(signal: Signal, value: float) -> str | None:
    """Why one value is refused, in words; None when it is acceptable."""
    if not math.isfinite(value):
        return f"{signal.value} value {value!r} is not a finite number"
    low, high = SIGNAL_RANGES[signal]
    if not low <= value <= high:  # plain floats: numpy's errstate per value costs more than the check
        return f"{signal.value} {value:g} {SIGNAL_UNITS[signal]} outside the plausible range {low:g}–{high:g}"
    return None
