"""Temperature and pulse share the mother's clinical alert: a finding shortly after another joins it."""

from __future__ import annotations

from datetime import UTC, datetime

from kraamwacht.alerts import detect_alerts, joined_names
from kraamwacht.alerts._rules import render
from kraamwacht.contract import Severity
from kraamwacht.signal import DetectorConfig
from kraamwacht.signal._join import JoinState, join
from kraamwacht.signal._tracker import Transition
from tests.conftest import T0, series

W, U = Severity.WARNING, Severity.URGENT


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(T0 + (epoch + 1) * 60, tz=UTC)


def tr(epoch: int, kind: str, level: Severity, raised_at: int) -> Transition:
    return Transition(epoch, kind, level, 1, raised_at)


def steps_of(steps):
    return [(s.epoch, s.kind, s.level, s.number, s.rule) for s in steps]


def test_a_finding_within_the_window_joins_and_the_alert_resolves_when_both_have() -> None:
    steps = [
        ("temperature", tr(100, "raised", W, 100), "temp_rise"),
        ("heart_rate", tr(580, "raised", W, 580), "tachycardia"),  # 480 epochs later: at the edge, joins
        ("heart_rate", tr(600, "escalated", U, 580), "tachycardia_severe"),  # escalates the joined alert
        ("temperature", tr(700, "resolved", W, 100), "temp_rise"),  # the pulse is still in it: nothing
        ("heart_rate", tr(800, "resolved", U, 580), "tachycardia_severe"),
    ]
    out, state = join(steps, state=JoinState(), window=480)
    assert steps_of(out) == [
        (100, "raised", W, 1, "temp_rise"),
        (580, "joined", W, 1, "tachycardia"),  # at the alert's level: a step of its own, not a raise
        (600, "escalated", U, 1, "tachycardia_severe"),
        (800, "resolved", U, 1, "tachycardia_severe"),
    ]
    assert out[-1].rules == ("temp_rise", "tachycardia", "tachycardia_severe")
    assert out[-1].raised_at == 100
    assert state == JoinState((), 1)


def test_a_finding_after_the_window_raises_an_alert_of_its_own() -> None:
    steps = [
        ("temperature", tr(100, "raised", W, 100), "temp_rise"),
        ("heart_rate", tr(581, "raised", W, 581), "tachycardia"),  # one epoch past the window
        ("temperature", tr(700, "resolved", W, 100), "temp_rise"),
        ("heart_rate", tr(800, "resolved", W, 581), "tachycardia"),
    ]
    out, _ = join(steps, state=JoinState(), window=480)
    assert steps_of(out) == [
        (100, "raised", W, 1, "temp_rise"),
        (581, "raised", W, 2, "tachycardia"),
        (700, "resolved", W, 1, "temp_rise"),
        (800, "resolved", W, 2, "tachycardia"),
    ]


def test_joining_carries_across_chunks() -> None:
    steps = [
        ("temperature", tr(100, "raised", W, 100), "temp_rise"),
        ("heart_rate", tr(200, "raised", W, 200), "tachycardia"),
        ("temperature", tr(300, "escalated", U, 100), "fever"),
        ("heart_rate", tr(400, "resolved", W, 200), "tachycardia"),
        ("temperature", tr(500, "resolved", U, 100), "fever"),
        ("heart_rate", tr(1500, "raised", W, 1500), "tachycardia"),
    ]
    whole, whole_state = join(steps, state=JoinState(), window=480)
    for cut in range(len(steps) + 1):
        first, state = join(steps[:cut], state=JoinState(), window=480)
        rest, state = join(steps[cut:], state=state, window=480)
        assert (first + rest, state) == (whole, whole_state)


def _fever_after_tachycardia(cfg: DetectorConfig):
    # her own pulse 80, then 100/min from epoch 120 (tachycardia raised at 179) until 480; core 37.0
    # until epoch 200, then 38.0: her temperature's own alert opens less than an hour after the pulse's
    hr = series([(120, 80.0), (360, 100.0), (600, 80.0)])
    temp = series([(200, 36.0), (200, 37.0), (680, 36.0)])
    return detect_alerts({"heart_rate_bpm": hr, "temperature_c": temp}, cfg, subject="m").events


def test_a_fever_an_hour_after_a_tachycardia_escalates_her_one_alert(flat_cfg: DetectorConfig) -> None:
    clinical = [e for e in _fever_after_tachycardia(flat_cfg) if e.category == "clinical"]
    assert {e.alert_id for e in clinical} == {"m:clinical:1"}
    assert [(e.event, e.level, e.rule) for e in clinical[:3]] == [
        ("raised", "warning", "tachycardia"),
        ("joined", "warning", "temp_rise_hr"),  # her temperature rises with the pulse: shown, nobody called
        ("escalated", "urgent", "fever"),
    ]
    assert clinical[1].values["rules"] == "tachycardia,temp_rise_hr"
    assert clinical[0].time == at(179)
    resolved = clinical[-1]
    assert resolved.event == "resolved"
    assert {"tachycardia", "fever"} <= set(str(resolved.values["rules"]).split(","))
    assert "temperatuur weer binnen haar eigen bereik" in resolved.message
    assert "hartslag weer normaal voor haar" in resolved.message


def test_without_a_window_the_fever_is_an_alert_of_its_own(flat_cfg: DetectorConfig) -> None:
    cfg = flat_cfg.with_overrides({"alerts.join_window_min": 0.0})
    raises = [e for e in _fever_after_tachycardia(cfg) if e.category == "clinical" and e.event == "raised"]
    assert [(e.alert_id, e.rule) for e in raises][:1] == [("m:clinical:1", "tachycardia")]
    assert [e.alert_id for e in raises][1:2] == ["m:clinical:2"]
    assert raises[1].rule in ("temp_rise_hr", "fever")


def test_a_resolved_tachycardia_never_says_below_the_limit() -> None:
    # her baseline has caught up with 102/min: the warning ends, the rate is still above 100
    values = {"hr_bpm": 102.0, "core_c": 37.2, "alert_duration_min": 223.0}
    text_nl, text_en = render("tachycardia", "resolved", values)
    assert text_nl == "Opgeheven na 223 min: hartslag weer normaal voor haar (102/min)."
    assert "below" not in text_en


def test_the_board_names_what_else_joined_an_alert() -> None:
    values = {"rules": "temp_rise_hr,fever,tachycardia,tachycardia_severe"}
    assert joined_names("fever", values) == ["Hartslag zeer hoog"]
    assert joined_names("tachycardia_severe", values, "en") == ["Fever"]
    assert joined_names("fever", {"rules": "temp_rise,fever"}) == []
    assert joined_names("sensor_loose", {}) == []


def test_joining_at_the_alerts_level_is_one_step_and_rising_within_it_is_none() -> None:
    steps = [
        ("temperature", tr(100, "raised", U, 100), "fever"),
        ("heart_rate", tr(150, "raised", W, 150), "tachycardia"),  # below the alert's level: joins
        ("heart_rate", tr(160, "escalated", U, 150), "tachycardia_severe"),  # a member rising to its level
        ("heart_rate", tr(300, "resolved", U, 150), "tachycardia_severe"),
        ("heart_rate", tr(400, "raised", U, 400), "tachycardia_severe"),  # back within the window: joins again
    ]
    out, _ = join(steps, state=JoinState(), window=480)
    assert steps_of(out) == [
        (100, "raised", U, 1, "fever"),
        (150, "joined", U, 1, "tachycardia"),
        (400, "joined", U, 1, "tachycardia_severe"),
    ]
    assert out[1].rules == ("fever", "tachycardia")
    assert out[2].rules == ("fever", "tachycardia", "tachycardia_severe")
