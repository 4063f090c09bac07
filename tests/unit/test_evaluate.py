"""Alarm-quality metrics on hand-made alarms and labels."""

from __future__ import annotations

import math

import pytest

from kraamwacht.signal.evaluate import Alarm, Coverage, Label, evaluate

H = 3600.0
DAY = 86_400.0


def cov(subject: str, days: float = 2.0, with_data: int = 288) -> Coverage:
    return Coverage(subject, 0.0, days * DAY, 288, with_data)


def test_metrics_by_hand() -> None:
    labels = {
        "a": Label("a", True, onset_s=10 * H, reference_s=20 * H),
        "b": Label("b", True, onset_s=10 * H, reference_s=20 * H),
        "c": Label("c", False),
    }
    alarms = [
        Alarm("a", 12 * H, "temp_rise"),  # true, 8 h lead
        Alarm("a", 30 * H, "fever"),  # true (within reference + 24 h), not a new detection
        Alarm("b", 21 * H, "fever"),  # true but after the reference: b is missed
        Alarm("c", 5 * H, "temp_rise"),  # false
        Alarm("c", 6 * H, "tachycardia"),  # not a temperature rule: ignored
        Alarm("a", 3 * H, "temp_rise"),  # 7 h before onset: outside the 6 h tolerance, false
    ]
    r = evaluate(alarms, labels, {s: cov(s, with_data=144) for s in "abc"})
    assert (r.subjects, r.febrile, r.febrile_with_reference, r.detected) == (3, 2, 2, 1)
    assert r.sensitivity == 0.5
    assert r.lead_h_median == 8.0
    assert (r.alarms, r.true_alarms, r.false_alarms) == (5, 3, 2)
    assert r.subject_days == 6.0
    assert r.false_alarms_per_subject_day == pytest.approx(2 / 6)
    assert r.ppv == pytest.approx(3 / 5)
    assert r.data_availability == 0.5
    assert r.missed == ("b",)


def test_onset_tolerance_boundary_is_inclusive() -> None:
    labels = {"a": Label("a", True, onset_s=10 * H, reference_s=20 * H)}
    at_edge = evaluate([Alarm("a", 4 * H, "fever")], labels, {"a": cov("a")})
    assert (at_edge.detected, at_edge.lead_h_median) == (1, 16.0)
    beyond = evaluate([Alarm("a", 4 * H - 1, "fever")], labels, {"a": cov("a")})
    assert (beyond.detected, beyond.false_alarms) == (0, 1)


def test_undefined_metrics_are_nan() -> None:
    r = evaluate([], {}, {"c": cov("c")})
    assert math.isnan(r.sensitivity)
    assert math.isnan(r.ppv)
    assert math.isnan(r.lead_h_median)
    assert r.false_alarms_per_subject_day == 0.0


def test_all_rules_counts_heart_rate_too() -> None:
    r = evaluate([Alarm("c", 5 * H, "tachycardia")], {}, {"c": cov("c")}, rules=None)
    assert r.false_alarms == 1
