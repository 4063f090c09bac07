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
    fever = [e for e in events if e.alert_id.endswith("clinical:1")]
    assert [e.event for e in fever] == ["raised", "resolved"]
    assert fever[1].time == at(40 + 59)
    assert fever[1].values["alert_duration_min"] == 99 - 29


def test_fever_hysteresis_keeps_it_between_clear_and_threshold(flat_cfg: DetectorConfig) -> None:
    # core 38.2 then 37.9: below 38.0 but not below 37.8, so the fever stays on
    temp = series([(40, 37.2), (200, 36.9)])
    events = detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events
    assert [e.event for e in events if e.rule == "fever"] == ["raised"]


# --- early temperature rise: window-limited CUSUM of residual - k ----------------------------


def calibrated(temp: tuple[np.ndarray, np.ndarray], *, epoch: int = 0, core_c: float = 37.0) -> dict:
    """The samples with one thermometer reading at ``epoch`` (37.0 = skin 36.0 + flat offset 1.0: the prior)."""
    return {"temperature_c": temp, "thermometer_c": (np.array([T0 + epoch * 60 + 30.0]), np.array([core_c]))}


def test_rise_fires_when_cusum_reaches_h_plus_persistence(flat_cfg: DetectorConfig) -> None:
    # baseline 36.0 (hour 0 median); from epoch 120 the residual is 1.0 and the increment
    # 1.0 - k(0.5) = 0.5, so S = 0.5 * m reaches h = 10 at m = 20 (epoch 139), and the
    # 10-epoch persistence makes it epoch 148. Alone (no heart rate) the rise needs a calibrated
    # estimate of core at or above 37.6: one reading at epoch 0 (offset 1.0), core 38.0.
    cfg = flat_cfg.with_overrides({"thermometer.quiet_after_normal_min": 0.0, "fever.core_c": 39.0})
    temp = series([(120, 36.0), (60, 37.0)])
    events = detect_alerts(calibrated(temp), cfg, subject="m").events
    rise = raised(events, "temp_rise")
    assert len(rise) == 1
    assert rise[0].time == at(148)
    assert rise[0].level == "warning"
    assert rise[0].values["rise_c"] == 1.0
    assert rise[0].values["since_min"] == 29.0  # change point: the epoch before the step
    assert "1,0 °C boven haar eigen basislijn sinds 29 min" in rise[0].message


def test_rise_alone_without_calibration_is_quiet(flat_cfg: DetectorConfig) -> None:
    # the same rise with neither a thermometer reading nor a heart rate: skin swings are not a fever
    cfg = flat_cfg.with_overrides({"fever.core_c": 39.0})
    temp = series([(120, 36.0), (60, 37.0)])
    assert raised(detect_alerts({"temperature_c": temp}, cfg, subject="m").events) == []


def test_rise_alone_needs_the_raised_band(flat_cfg: DetectorConfig) -> None:
    # calibrated, but the estimated core stays at 37.59 (< 37.6): no warning however long the rise
    cfg = flat_cfg.with_overrides({"thermometer.quiet_after_normal_min": 0.0})
    temp = series([(120, 35.5), (300, 36.59)])
    events = detect_alerts(calibrated(temp, core_c=36.5), cfg, subject="m").events
    assert raised(events) == []
    temp = series([(120, 35.5), (300, 36.6)])  # core 37.60: the band's edge counts
    assert [e.rule for e in raised(detect_alerts(calibrated(temp, core_c=36.5), cfg, subject="m").events)] == [
        "temp_rise"
    ]


def test_a_normal_reading_keeps_the_wearable_warnings_quiet(flat_cfg: DetectorConfig) -> None:
    # a rectal 37.0 at epoch 100 (< 37.6: normal) quiets the rise for 240 minutes; it comes at 148 otherwise
    temp = series([(120, 36.0), (400, 37.0)])
    cfg = flat_cfg.with_overrides({"fever.core_c": 39.0})
    events = detect_alerts(calibrated(temp, epoch=100), cfg, subject="m").events
    assert [(e.rule, e.time) for e in raised(events)] == [("temp_rise", at(100 + 240 + 1))]


def test_rise_of_exactly_k_never_accumulates(flat_cfg: DetectorConfig) -> None:
    temp = series([(120, 36.0), (300, 36.5)])  # residual 0.5 = k: increments are 0
    assert raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events, "temp_rise") == []


def test_rise_needs_warm_up(flat_cfg: DetectorConfig) -> None:
    # the step comes in the warm-up hour: there is no baseline yet, so no relative rise
    temp = series([(30, 36.0), (30, 37.0)])
    assert raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events, "temp_rise") == []


def test_rise_with_a_heart_rate_rise_for_half_an_hour_is_a_warning(flat_cfg: DetectorConfig) -> None:
    # the heart rate rises 7/min (= rise_bpm, >=) with the temperature at epoch 120: the heart agrees
    # after 30 epochs (epoch 149), one after the rise itself (148); no thermometer is needed
    assert flat_cfg.heart_rate.rise_bpm == 7.0
    cfg = flat_cfg.with_overrides({"fever.core_c": 39.0})
    temp = series([(120, 36.0), (60, 37.0)])
    hr = series([(120, 80.0), (60, 87.0)])
    events = detect_alerts({"temperature_c": temp, "heart_rate_bpm": hr}, cfg, subject="m").events
    first = raised(events)[0]
    assert (first.rule, first.level, first.time) == ("temp_rise_hr", "warning", at(149))
    assert first.values["hr_rise_bpm"] == 7.0
    assert "hartslag 87/min (7 boven haar basislijn)" in first.message


def test_heart_rate_rise_just_below_limit_does_not_agree(flat_cfg: DetectorConfig) -> None:
    cfg = flat_cfg.with_overrides({"fever.core_c": 39.0})
    temp = series([(120, 36.0), (60, 37.0)])
    hr = series([(120, 80.0), (60, 86.99)])
    events = detect_alerts({"temperature_c": temp, "heart_rate_bpm": hr}, cfg, subject="m").events
    assert raised(events) == []


def test_a_heart_rate_below_her_own_speaks_against_a_calibrated_fever(flat_cfg: DetectorConfig) -> None:
    # skin 37.0 + calibrated offset 1.0 = core 38.0 for two hours, while her heart rate sits 5/min
    # below her own baseline (asleep under the covers): no fever
    temp = series([(120, 36.0), (120, 37.0)])
    lower = series([(120, 80.0), (120, 75.0)])
    events = detect_alerts({**calibrated(temp), "heart_rate_bpm": lower}, flat_cfg, subject="m").events
    assert raised(events, "fever") == []


def test_a_calibrated_fever_needs_a_heart_rate_agree_bpm_above_her_own(flat_cfg: DetectorConfig) -> None:
    # fever raises the rate (about 8.5/min per °C): at her own rate + 4.99 the heart does not agree;
    # at + 5 (= agree_bpm, >=) it does, and the fever is found after its 30 epochs
    assert flat_cfg.heart_rate.agree_bpm == 5.0
    temp = series([(120, 36.0), (120, 37.0)])
    below = series([(120, 80.0), (120, 84.99)])
    events = detect_alerts({**calibrated(temp), "heart_rate_bpm": below}, flat_cfg, subject="m").events
    assert raised(events, "fever") == []
    agrees = series([(120, 80.0), (120, 85.0)])
    events = detect_alerts({**calibrated(temp), "heart_rate_bpm": agrees}, flat_cfg, subject="m").events
    assert [e.time for e in raised(events, "fever")] == [at(149)]


def test_her_afternoon_rate_is_judged_against_her_own_afternoons(flat_cfg: DetectorConfig) -> None:
    # three days at 80/min, except 14:00-16:00 at 90/min every day. Against one baseline every
    # afternoon is a rise of 9 (> rise_bpm 7) that agrees with a warm skin; her clock-hour profile has
    # learnt her afternoons by the third day, so a 0.6 °C warm skin at 14:00 on day 3 is no alert
    cfg = flat_cfg.with_overrides({"fever.core_c": 39.0, "heart_rate.baseline_tau_h": 1000.0})
    minutes = 3 * 24 * 60
    hour = (np.arange(minutes) // 60) % 24
    hr = np.where((hour >= 14) & (hour < 16), 90.0, 80.0)
    skin = np.full(minutes, 36.0)
    warm_day3 = (np.arange(minutes) >= 2 * 1440 + 14 * 60) & (np.arange(minutes) < 2 * 1440 + 16 * 60)
    skin[warm_day3] = 36.6
    t = T0 + 60.0 * np.arange(minutes)
    samples = {"temperature_c": (t, skin), "heart_rate_bpm": (t, hr)}
    assert [e for e in raised(detect_alerts(samples, cfg, subject="m").events) if e.rule.startswith("temp")] == []
    unlearnt = cfg.with_overrides({"heart_rate.profile_prior_days": 1e9})  # no profile: one 24-hour baseline
    rises = [e for e in raised(detect_alerts(samples, unlearnt, subject="m").events) if e.rule == "temp_rise_hr"]
    assert len(rises) == 1
    assert rises[0].time.day == datetime.fromtimestamp(T0, tz=UTC).day + 2


def test_without_calibration_the_wearable_fever_needs_the_margin() -> None:
    # default configuration: prior offset 0.65, margin 0.6: estimated core 38.59 is not enough, 38.6 is
    cfg = DetectorConfig().with_overrides({"temperature.circadian_amplitude_c": 0.0, "temperature.median_epochs": 1})
    quiet = series([(240, 37.94)])
    assert raised(detect_alerts({"temperature_c": quiet}, cfg, subject="m").events, "fever") == []
    hot = series([(240, 37.95)])
    assert len(raised(detect_alerts({"temperature_c": hot}, cfg, subject="m").events, "fever")) == 1


# --- the thermometer: the reference reading ----------------------------------------------------


@pytest.mark.parametrize(("method", "reading", "fires"), [
    ("thermometer_c", 38.0, True), ("thermometer_c", 37.99, False),
    ("thermometer_c:oral", 37.6, True), ("thermometer_c:oral", 37.59, False),
])  # fmt: skip
def test_a_thermometer_reading_at_the_fever_line_is_urgent_at_once(
    flat_cfg: DetectorConfig, method: str, reading: float, fires: bool
) -> None:
    # rectal 38.0 is the line; oral readings get + 0.4 to the core scale (defaults.toml [thermometer])
    temp = series([(240, 36.0)])
    check = (np.array([T0 + 100 * 60 + 30.0]), np.array([reading]))
    events = raised(detect_alerts({"temperature_c": temp, method: check}, flat_cfg, subject="m").events)
    if not fires:
        assert events == []
        return
    assert [(e.rule, e.level, e.time) for e in events] == [("fever_thermometer", "urgent", at(100))]
    assert events[0].values["thermometer_c"] == 38.0
    assert "38,0 °C op kernschaal (≥ 38,0 °C)" in events[0].message


def test_a_fever_reading_holds_until_a_normal_one(flat_cfg: DetectorConfig) -> None:
    temp = series([(600, 36.0)])
    checks = (np.array([T0 + 100 * 60 + 30.0, T0 + 200 * 60 + 30.0]), np.array([38.4, 37.2]))
    events = detect_alerts({"temperature_c": temp, "thermometer_c": checks}, flat_cfg, subject="m").events
    fever = [e for e in events if e.rule == "fever_thermometer"]
    assert [(e.event, e.time) for e in fever] == [("raised", at(100)), ("resolved", at(200 + 59))]


def test_calibration_by_hand(flat_cfg: DetectorConfig) -> None:
    # prior 1.0 weighs as 2 readings; observations 1.4, 1.2, then a bad one (4.0 > offset_max 3.5, refused):
    # after one: (1 * 1.4 + 2 * 1.0) / 3 = 1.133; after two: (2 * 1.3 + 2 * 1.0) / 4 = 1.15
    temp = series([(600, 36.0)])
    checks = (T0 + np.array([100, 200, 300]) * 60 + 30.0, np.array([37.4, 37.2, 40.0]))
    frame = detect_alerts({"temperature_c": temp, "thermometer_c": checks}, flat_cfg, subject="m").frame
    assert frame.offset_c[99] == pytest.approx(1.0)
    assert frame.offset_c[100] == pytest.approx(3.4 / 3)
    assert frame.offset_c[200] == pytest.approx(1.15)
    assert frame.offset_c[300] == pytest.approx(1.15)  # the 40.0 reading is not an offset observation
    assert frame.calibration_n[[99, 100, 200, 599]].tolist() == [0, 1, 2, 2]


# --- tachycardia (NICE: 100-130 moderate-high risk, > 130 high risk) -------------------------


def test_tachycardia_at_100_fires_after_an_hour(flat_cfg: DetectorConfig) -> None:
    # her own rate is 80: 100/min is 20 above it, and at the band: an hour of it (epochs 120..179)
    hr = series([(120, 80.0), (120, 100.0)])
    events = raised(detect_alerts({"heart_rate_bpm": hr}, flat_cfg, subject="m").events)
    assert [(e.rule, e.level, e.time) for e in events] == [("tachycardia", "warning", at(179))]
    assert events[0].values["threshold_bpm"] == 100.0
    assert "tot 100/min (≥ 100)" in events[0].message


def test_a_resting_rate_of_100_that_is_her_own_is_not_new(flat_cfg: DetectorConfig) -> None:
    hr = series([(360, 104.0)])  # above 100 from the start, but never 10 above her own, nor above 110
    assert raised(detect_alerts({"heart_rate_bpm": hr}, flat_cfg, subject="m").events) == []


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
    check = (np.array([T0 + 3600.0]), np.array([36.85]))  # a morning reading calibrates her offset (0.65)
    samples = {"temperature_c": (t, np.round(v, 2)), "thermometer_c": check}
    events = detect_alerts(samples, DetectorConfig(), subject="m").events
    assert [e.rule for e in raised(events)][:1] in (["temp_rise"], ["fever"])


def test_arm_dip_of_a_few_minutes_is_ignored() -> None:
    t, v = series([(6 * 60, 36.2), (3, 34.0), (3 * 60, 36.2)] * 3, per_epoch=6)
    assert raised(detect_alerts({"temperature_c": (t, v)}, DetectorConfig(), subject="m").events) == []


def test_a_reading_stands_for_its_time_within_carry_forward(flat_cfg: DetectorConfig) -> None:
    # 20 epochs of fever, 30 of silence, then normal: the last reading stands for up to 70 minutes, so
    # the 30 minutes of persistence are time, not samples (a wearable every 5 minutes establishes a rule too)
    first = series([(20, 37.5)])
    second = series([(200, 36.0)], start_epoch=50)
    temp = (np.concatenate((first[0], second[0])), np.concatenate((first[1], second[1])))
    fever = raised(detect_alerts({"temperature_c": temp}, flat_cfg, subject="m").events, "fever")
    assert [e.time for e in fever] == [at(29)]


def test_a_gap_beyond_carry_forward_neither_confirms_nor_clears(flat_cfg: DetectorConfig) -> None:
    # carried 5 epochs: 20 + 5 = 25 epochs count before the gap, 5 more after it make 30
    cfg = flat_cfg.with_overrides({"epoch.carry_forward_min": 5.0})
    first = series([(20, 37.5)])
    second = series([(10, 37.5), (200, 37.5)], start_epoch=20 + 240)
    temp = (np.concatenate((first[0], second[0])), np.concatenate((first[1], second[1])))
    fever = raised(detect_alerts({"temperature_c": temp}, cfg, subject="m").events, "fever")
    assert [e.time for e in fever] == [at(20 + 240 + 4)]


@pytest.mark.parametrize("interval_min", [1, 5, 60])
def test_any_sampling_rate_gives_the_same_fever_time(flat_cfg: DetectorConfig, interval_min: int) -> None:
    # core 38.5 from epoch 120: every minute, every 5 minutes or hourly, the fever is confirmed 30 minutes on
    t, v = series([(120, 36.0), (240, 37.5)])
    keep = ((t - T0) // 60) % interval_min == 0
    fever = raised(detect_alerts({"temperature_c": (t[keep], v[keep])}, flat_cfg, subject="m").events, "fever")
    assert [e.time for e in fever] == [at(149)]
