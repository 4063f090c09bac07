"""The demo's families and what happens to them, relative to the time-lapse origin.

Four families, each with an emulated wearable:

* Kamer 1: a healthy mother;
* Kamer 2: a mother whose temperature starts to rise 40 minutes before the time-lapse starts: an
  early-rise warning comes first and the fever rule escalates it;
* Kamer 3: a healthy mother whose sensor comes loose 25 minutes in (a technical alert, never a
  clinical one) and is put back an hour later;
* Kamer 4: a healthy mother whose newborn's bilirubin rises; two readings were entered earlier
  and two are entered during the demo, the last one above the AAP 2022 phototherapy line.

A day of history per mother (from the same physiology scenario) is stored before serve starts,
so every personal baseline is warm when the demo begins. The numbers are a script for a
demonstration, not clinical data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from kraamwacht.contract import SIGNAL_UNITS, BilirubinMethod, Observation, QualityFlag, Signal, ThermometerMethod
from kraamwacht.firmware_sim.physiology import MotherScenario

__all__ = ["HISTORY_H", "BilirubinEntry", "Member", "demo_cast", "history_observations"]

_H = 3600.0
_MIN = 60.0
HISTORY_H = 24.0  # stored before the demo: more than the baseline's 12 h warm-up + 4 h lag
QUIET_BEFORE_FEVER_H = 5.0  # no spot check this close before Kamer 2's fever (the quiet time after one is 4 h)
DELIVERED_H_BEFORE = 40.0


@dataclass(frozen=True, slots=True)
class BilirubinEntry:
    at_s: float  # measured at, on the shared clock
    value_umol_l: float
    method: BilirubinMethod


@dataclass(frozen=True, slots=True)
class Member:
    serial: str  # the wearable's serial number
    episode: str
    mother: str
    newborn: str
    label: str  # what the board calls the family (no names)
    language: str
    scenario: MotherScenario
    birth_at_s: float
    ga_weeks: float
    bilirubin: tuple[BilirubinEntry, ...] = ()
    loose: tuple[float, float] | None = None  # (from_s, until_s): the sensor is off the skin

    @property
    def device(self) -> str:
        return f"wb-{self.serial}"

    @property
    def birth_at(self) -> datetime:
        return datetime.fromtimestamp(self.birth_at_s, tz=UTC)


def demo_cast(origin_s: float) -> list[Member]:
    """The four families for a time-lapse starting at ``origin_s`` (Unix seconds)."""
    born = origin_s - DELIVERED_H_BEFORE * _H

    def mother(n: int, seed: int) -> MotherScenario:
        return MotherScenario.draw(f"m-demo-{n}", "healthy", seed=seed, delivered_at_s=born, days=3.0, artefacts=False)

    tcb, serum = BilirubinMethod.TCB, BilirubinMethod.TSB
    common = {"birth_at_s": born, "ga_weeks": 39.0}
    return [
        Member("0001", "demo-1", "m-demo-1", "b-demo-1", "Kamer 1", "nl", mother(1, 11), **common),
        Member(
            "0002",
            "demo-2",
            "m-demo-2",
            "b-demo-2",
            "Kamer 2",
            "nl",
            mother(2, 12).with_infection(
                origin_s - 55 * _MIN, amplitude_c=2.2, rise_h=3.0, hr_per_c=10.0, hr_extra_bpm=8.0
            ),
            **common,
        ),
        Member(
            "0003",
            "demo-3",
            "m-demo-3",
            "b-demo-3",
            "Kamer 3",
            "en",
            mother(3, 13),
            loose=(origin_s + 10 * _MIN, origin_s + 70 * _MIN),
            **common,
        ),
        Member(
            "0004",
            "demo-4",
            "m-demo-4",
            "b-demo-4",
            "Kamer 4",
            "tr",
            mother(4, 15),
            bilirubin=(
                BilirubinEntry(born + 26 * _H, 168.0, tcb),
                BilirubinEntry(born + 36 * _H, 198.0, tcb),
                BilirubinEntry(origin_s + 30 * _MIN, 213.0, tcb),
                BilirubinEntry(origin_s + 75 * _MIN, 270.0, serum),
            ),
            **common,
        ),
    ]


def history_observations(member: Member, *, until_s: float, interval_s: float = 60.0) -> list[Observation]:
    """The mother's wearable readings over the :data:`HISTORY_H` hours before ``until_s``.

    Stored under the device ``history-<serial>`` so that their sequence numbers never meet the
    gateway's, and flagged ``replayed``: they did not come through the live path.
    """
    samples = member.scenario.wearable_samples(until_s - HISTORY_H * _H, until_s, interval_s=interval_s)
    # the kraamverzorgende's rectal spot checks at 09:00 and 17:00 (they calibrate the wearable). A normal
    # reading rightly holds the wearable's warnings back for some hours (thermometer.quiet_after_normal_min);
    # the script keeps a feverish mother's last check before that, so her early warning shows at any hour
    last_s = until_s
    if member.scenario.infection is not None:
        last_s = min(until_s, member.scenario.infection.start_s - QUIET_BEFORE_FEVER_H * _H)
    checks = [c for c in member.scenario.spot_checks() if until_s - HISTORY_H * _H <= c.time_s < last_s]
    samples["thermometer_c"] = (np.array([c.time_s for c in checks]), np.array([c.temp_c for c in checks]))
    received = datetime.fromtimestamp(until_s, tz=UTC)
    out: list[Observation] = []
    for signal, (times, values) in samples.items():
        for t, value in zip(times, values, strict=True):
            out.append(
                Observation(
                    episode=member.episode,
                    subject=member.mother,
                    device=f"history-{member.serial}",
                    signal=Signal(signal),
                    value=float(value),
                    unit=SIGNAL_UNITS[Signal(signal)],
                    device_time=datetime.fromtimestamp(float(t), tz=UTC),
                    receive_time=received,
                    seq=len(out),
                    quality=(QualityFlag.REPLAYED, QualityFlag.MANUAL)
                    if signal == Signal.THERMOMETER_C
                    else (QualityFlag.REPLAYED,),
                    method=ThermometerMethod.RECTAL if signal == Signal.THERMOMETER_C else None,
                    entered_by="demo" if signal == Signal.THERMOMETER_C else None,
                )
            )
    return out
