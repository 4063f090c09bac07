"""Each rule on hand-computed cases, at and around its boundary.

With ``flat_cfg`` (no circadian term, no smoothing, 1 h warm-up, no lag) every number below can
be worked out on paper: one sample per one-minute epoch starting at T0 (an hour boundary), and an
event at epoch ``e`` carries the time ``T0 + (e + 1) * 60``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from kraamwacht.alerts import detect_alerts
from kraamwacht.signal import DetectorConfig
from tests.conftest import T0, series


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(T0 + (epoch + 1) * 60, tz=UTC)


def raised(events, rule=None):
    return [e for e in events if e.event == "raised" and (rule is None or e.rule == rule)]


# --- fever: estimated core >= 38.0 °C for 30 epochs ------------------------------------------


def test_fever_at_threshold_fires_after_persistence(flat_cfg: DetectorConfig) -> None:
    # axillary 37.00 + offset 1.00 = core 38.00: exactly at the threshold, which counts (>=)
    temp = series([(120, 37.0)])
    events = detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events
    fever = raised(events, "fever")
    assert len(fever) == 1
    assert fever[0].time == at(29)  # the 30th epoch at >= 38.0
    assert fever[0].level == "urgent"
    assert fever[0].values["core_c"] == 38.0
    assert fever[0].values["duration_min"] == 30.0
    assert "38,0 °C" in fever[0].message
    assert "verloskundige" in fever[0].message


def test_fever_just_below_threshold_never_fires(flat_cfg: DetectorConfig) -> None:
    temp = series([(240, 36.99)])  # core 37.99
    assert raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events, "fever") == []


def test_fever_one_epoch_short_of_persistence_does_not_fire(flat_cfg: DetectorConfig) -> None:
    temp = series([(29, 37.0), (120, 36.0)])
    assert raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events, "fever") == []


def test_fever_resolves_after_clearing_for_resolve_time(flat_cfg: DetectorConfig) -> None:
    # 40 epochs at core 38.5, then core 37.7 (< clear 37.8) from epoch 40: the 60th clear epoch is 99
    temp = series([(40, 37.5), (200, 36.7)])
    events = detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events
    fever = [e for e in events if e.alert_id.endswith("temperature:1")]
    assert [e.event for e in fever] == ["raised", "resolved"]
    assert fever[1].time == at(40 + 59)
    assert fever[1].values["alert_duration_min"] == 99 - 29


def test_fever_hysteresis_keeps_it_between_clear_and_threshold(flat_cfg: DetectorConfig) -> None:
    # core 38.2 then 37.9: below 38.0 but not below 37.8, so the fever stays on
    temp = series([(40, 37.2), (200, 36.9)])
    events = detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events
    assert [e.event for e in events if e.rule == "fever"] == ["raised"]


# --- early temperature rise: window-limited CUSUM of residual - k ----------------------------


def test_rise_fires_when_cusum_reaches_h_plus_persistence(flat_cfg: DetectorConfig) -> None:
    # baseline 36.0 (hour 0 median); from epoch 120 the residual is 1.0 and the increment
    # 1.0 - k(0.5) = 0.5, so S = 0.5 * m reaches h = 10 at m = 20 (epoch 139), and the
    # 10-epoch persistence makes it epoch 148.
    temp = series([(120, 36.0), (60, 37.0)])
    events = detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events
    rise = raised(events, "temp_rise")
    assert len(rise) == 1
    assert rise[0].time == at(148)
    assert rise[0].level == "warning"
    assert rise[0].values["rise_c"] == 1.0
    assert rise[0].values["since_min"] == 29.0  # change point: the epoch before the step
    assert "1,0 °C boven haar eigen basislijn sinds 29 min" in rise[0].message


def test_rise_of_exactly_k_never_accumulates(flat_cfg: DetectorConfig) -> None:
    temp = series([(120, 36.0), (300, 36.5)])  # residual 0.5 = k: increments are 0
    assert raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events, "temp_rise") == []


def test_rise_needs_warm_up(flat_cfg: DetectorConfig) -> None:
    # the step comes in the warm-up hour: there is no baseline yet, so no relative rise
    temp = series([(30, 36.0), (30, 37.0)])
    assert raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events, "temp_rise") == []


def test_rise_with_concurrent_heart_rate_rise_is_urgent(flat_cfg: DetectorConfig) -> None:
    temp = series([(120, 36.0), (60, 37.0)])
    hr = series([(120, 80.0), (60, 90.0)])  # +10 bpm = rise_bpm (>=)
    events = detect_alerts({"temperature_c": temp, "heart_rate_bpm": hr}, flat_cfg, subject="m").events
    first = raised(events)[0]
    assert (first.rule, first.level, first.time) == ("temp_rise_hr", "urgent", at(148))
    assert first.values["hr_rise_bpm"] == 10.0


def test_heart_rate_rise_just_below_limit_does_not_escalate(flat_cfg: DetectorConfig) -> None:
    temp = series([(120, 36.0), (60, 37.0)])
    hr = series([(120, 80.0), (60, 89.99)])
    events = detect_alerts({"temperature_c": temp, "heart_rate_bpm": hr}, flat_cfg, subject="m").events
    assert [(e.rule, e.level) for e in raised(events)] == [("temp_rise", "warning")]


# --- tachycardia (NICE: 100-130 moderate-high risk, > 130 high risk) -------------------------


def test_tachycardia_at_100_fires_after_an_hour(flat_cfg: DetectorConfig) -> None:
    hr = series([(120, 100.0)])
    events = raised(detect_alerts({"heart_rate_bpm": hr}, flat_cfg, subject="m").events)
    assert [(e.rule, e.level, e.time) for e in events] == [("tachycardia", "warning", at(59))]
    assert events[0].values["threshold_bpm"] == 100.0


def test_heart_rate_just_below_100_is_quiet(flat_cfg: DetectorConfig) -> None:
    hr = series([(240, 99.99)])
    assert raised(detect_alerts({"heart_rate_bpm": hr}, flat_cfg, subject="m").events) == []


def test_heart_rate_of_exactly_130_is_not_severe(flat_cfg: DetectorConfig) -> None:
    hr = series([(120, 130.0)])
    events = detect_alerts({"heart_rate_bpm": hr}, flat_cfg, subject="m").events
    assert {e.rule for e in events} == {"tachycardia"}


def test_heart_rate_above_130_is_urgent_after_15_minutes(flat_cfg: DetectorConfig) -> None:
    hr = series([(120, 130.01)])
    events = raised(detect_alerts({"heart_rate_bpm": hr}, flat_cfg, subject="m").events)
    assert [(e.rule, e.level, e.time) for e in events] == [("tachycardia_severe", "urgent", at(14))]
    assert "Bel nu de verloskundige" in events[0].message


def test_activity_burst_shorter_than_half_the_median_window_is_ignored() -> None:
    cfg = DetectorConfig()  # 15-epoch median: a 7-minute burst cannot move it
    hr = series([(120, 80.0), (7, 140.0), (120, 80.0)] * 5)
    assert raised(detect_alerts({"heart_rate_bpm": hr}, cfg, subject="m").events) == []


# --- sensor loose: technical, never clinical -------------------------------------------------


def test_sensor_loose_is_technical_and_resolves(flat_cfg: DetectorConfig) -> None:
    temp = series([(120, 36.0), (20, 28.0), (120, 36.0)])
    events = detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events
    loose = [e for e in events if e.rule == "sensor_loose"]
    assert [(e.event, e.category, e.time) for e in loose] == [
        ("raised", "technical", at(129)),
        ("resolved", "technical", at(140 + 59)),
    ]
    assert "geen klinische bevinding" in loose[0].message
    assert not [e for e in events if e.category == "clinical"]


def test_drop_towards_ambient_relative_to_baseline_is_loose(flat_cfg: DetectorConfig) -> None:
    # 33.9 is plausible in itself but more than 2.0 below her baseline of 36.0
    temp = series([(120, 36.0), (30, 33.9)])
    events = raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events)
    assert [(e.rule, e.time) for e in events] == [("sensor_loose", at(129))]


def test_drop_of_exactly_two_degrees_is_not_loose(flat_cfg: DetectorConfig) -> None:
    temp = series([(120, 36.0), (30, 34.0)])
    assert raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events) == []


# --- artefacts ---------------------------------------------------------------------------------


def _shower_day(minutes_rise: int) -> tuple[np.ndarray, np.ndarray]:
    t, v = series([(8 * 60, 36.2)], per_epoch=6)
    start = T0 + 6 * 3600
    ramp = np.clip((t - start) / (minutes_rise * 60.0), 0.0, 1.0)
    fade = np.exp(-np.maximum(t - start - 20 * 60, 0.0) / 600.0)
    return t, np.round(v + 1.3 * ramp * fade, 2)


def test_hot_shower_is_suppressed() -> None:
    t, v = _shower_day(minutes_rise=2)
    events = detect_alerts({"temperature_c": (t, v)}, DetectorConfig(), subject="m").events
    assert [e for e in events if e.category == "clinical"] == []


def test_the_same_rise_over_an_hour_is_not_an_artefact() -> None:
    t, v = series([(6 * 60, 36.2), (4 * 60, 37.7)], per_epoch=6)
    ramp = np.clip((t - (T0 + 6 * 3600)) / 3600.0, 0.0, 1.0)
    v = np.where(t >= T0 + 6 * 3600, 36.2 + 1.5 * ramp, v)
    events = detect_alerts({"temperature_c": (t, np.round(v, 2))}, DetectorConfig(), subject="m").events
    assert [e.rule for e in raised(events)][:1] in (["temp_rise"], ["fever"])


def test_arm_dip_of_a_few_minutes_is_ignored() -> None:
    t, v = series([(6 * 60, 36.2), (3, 34.0), (3 * 60, 36.2)] * 3, per_epoch=6)
    assert raised(detect_alerts({"temperature_c": (t, v)}, DetectorConfig(), subject="m").events) == []


@pytest.mark.parametrize("gap_epochs", [30, 240])
def test_gap_neither_confirms_nor_clears(flat_cfg: DetectorConfig, gap_epochs: int) -> None:
    # 20 epochs of fever, a gap, then 10 more: 30 epochs with data confirm the fever after the gap
    first = series([(20, 37.5)])
    second = series([(10, 37.5), (200, 37.5)], start_epoch=20 + gap_epochs)
    temp = (np.concatenate((first[0], second[0])), np.concatenate((first[1], second[1])))
    fever = raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events, "fever")
    assert [e.time for e in fever] == [at(20 + gap_epochs + 9)]
