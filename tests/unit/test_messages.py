"""Every number an alert prints satisfies the rule it prints, rounding included, over whole cohorts."""

from __future__ import annotations

import re

import numpy as np
import pytest

from kraamwacht.alerts import RULES, detect_alerts
from kraamwacht.firmware_sim.physiology import generate_cohort
from kraamwacht.signal import DetectorConfig

# "38,0 °C (≥ 38,0 °C)", "tot 131/min (> 130)", "37,6 °C geschatte kern (≥ 37,6 °C, ..."
COMPARISON = re.compile(r"(-?\d+(?:[.,]\d+)?) ?(?:°C|/min)[^()]{0,40}\((≥|>) (-?\d+(?:[.,]\d+)?)")


def number(text: str) -> float:
    return float(text.replace(",", "."))


def comparisons(message: str) -> list[tuple[float, str, float]]:
    return [(number(a), op, number(b)) for a, op, b in COMPARISON.findall(message)]


def test_the_pattern_finds_what_it_must() -> None:
    assert comparisons("Koorts: geschatte kerntemperatuur tot 38,04 °C (≥ 38,0 °C) sinds 30 min.") == [
        (38.04, "≥", 38.0)
    ]
    assert comparisons("Heart rate very high: up to 130.5/min (> 130) for 15 min.") == [(130.5, ">", 130.0)]


@pytest.mark.parametrize(("noise", "interval_s", "thermometer"), [("A", 60.0, False), ("B", 300.0, True)])
def test_every_printed_number_satisfies_its_printed_rule(noise: str, interval_s: float, thermometer: bool) -> None:
    checked = 0
    for scenario in generate_cohort(24, seed=5, days=5, febrile_fraction=0.5, noise=noise):  # type: ignore[arg-type]
        samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=interval_s)
        if thermometer:
            checks = scenario.spot_checks()
            samples["thermometer_c"] = (np.array([c.time_s for c in checks]), np.array([c.temp_c for c in checks]))
        for event in detect_alerts(samples, DetectorConfig(), subject=scenario.subject).events:
            if event.event.value not in ("raised", "escalated", "joined"):
                continue
            for message in (event.message, event.message_en):
                for value, op, limit in comparisons(message):
                    assert value >= limit if op == "≥" else value > limit, f"{event.rule}: {message}"
                    checked += 1
    assert checked > 20  # fevers, thermometer readings and tachycardia were all printed and checked


def test_every_source_is_a_reference_the_project_ships() -> None:
    for rule in RULES.values():
        assert "shared/reference" not in rule.source, rule.rule_id
    clinical = [r for r in RULES.values() if r.category == "clinical" and not r.rule_id.startswith("bili_")]
    assert all(r.source.startswith("docs/references.md#") for r in clinical)
