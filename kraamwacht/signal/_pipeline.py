"""The mother's early-warning pipeline: epochs → cleaning → baseline → detectors → alert transitions.

One function, :func:`process_epochs`, does all the work on a run of epochs with explicit carried
state. :func:`detect` calls it once over a whole recording (batch replay); :class:`SubjectMonitor`
calls it whenever the live stream has closed some epochs. Because every stage is chunk-invariant
(see ``_filters``), both give identical alerts: what researchers replay is what runs live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kraamwacht.contract import Severity
from kraamwacht.signal._circadian import circadian_offset_c
from kraamwacht.signal._epochs import EpochAccumulator, EpochBins, bin_samples, epoch_index, epoch_means, subject_slot
from kraamwacht.signal._filters import (
    BlockMedianState,
    CarryState,
    WarmupMeanState,
    block_medians,
    carry_forward,
    hysteresis,
    rapid_rise,
    run_length,
    running_peak,
    trailing_nanmedian,
    warmup_then_ewma,
    window_cusum,
)
from kraamwacht.signal._join import JoinedStep, JoinState, join
from kraamwacht.signal._profile import ClockProfileState, clock_profile
from kraamwacht.signal._tracker import TrackerState, Transition, track
from kraamwacht.signal.config import DetectorConfig, ThermometerConfig

__all__ = [
    "CONDITIONS",
    "GROUPS",
    "RULE_CONDITIONS",
    "RULE_GROUPS",
    "THERMOMETER",
    "Detection",
    "EpochFrame",
    "MonitorState",
    "RuleTransition",
    "SubjectMonitor",
    "calibrate",
    "core_scale",
    "detect",
    "process_epochs",
    "thermometer_key",
]

TEMPERATURE = "temperature_c"
HEART_RATE = "heart_rate_bpm"
THERMOMETER = "thermometer_c"  # spot checks, already on the core scale (see :func:`core_equivalent`)
SIGNALS = (TEMPERATURE, HEART_RATE, THERMOMETER)
# what the core judges, each with its own level per epoch (EpochFrame.levels)
CONDITIONS = ("temperature", "heart_rate", "sensor")
# alert groups: temperature and pulse join in the mother's clinical alerts (kraamwacht.signal._join),
# the sensor has its technical one; words live in kraamwacht.alerts
GROUPS = ("clinical", "sensor")
# every rule the core can decide, with the condition that decides it
RULE_CONDITIONS = {
    "temp_rise": "temperature",
    "temp_rise_hr": "temperature",
    "fever": "temperature",
    "fever_thermometer": "temperature",
    "tachycardia": "heart_rate",
    "tachycardia_severe": "heart_rate",
    "sensor_loose": "sensor",
}
# ... and the alert group it opens or moves
RULE_GROUPS = {rule: "sensor" if condition == "sensor" else "clinical" for rule, condition in RULE_CONDITIONS.items()}

FloatArray = NDArray[np.float64]
Values = dict[str, float | int | str | None]


@dataclass(frozen=True, slots=True)
class RuleTransition:
    """One step of an alert (raised, escalated, resolved) with the numbers behind it.

    The core says *what* changed and on which numbers; ``kraamwacht.alerts`` turns it into an
    alert event with words, category and source.
    """

    time: datetime  # end of the epoch in which it happened
    subject: str
    group: str  # one of GROUPS; the sensor has one open alert at a time, a mother may have two clinical ones
    # when a finding comes later than alerts.join_window_min after the first (kraamwacht.signal._join)
    number: int  # which alert of the group (1, 2, ...)
    kind: str  # "raised" | "escalated" | "joined" (another condition, at the alert's level) | "resolved"
    level: Severity
    rule: str
    values: Values


def _alpha(tau: float) -> float:
    """EWMA weight for a time constant ``tau`` in steps."""
    return 1.0 - math.exp(-1.0 / tau)


@dataclass(frozen=True, slots=True)
class BaselineState:
    """Hourly personal baseline: the open hour, the level filter, and recent hourly levels."""

    hours: BlockMedianState = field(default_factory=BlockMedianState)
    level: WarmupMeanState = field(default_factory=WarmupMeanState)
    recent_first_hour: int | None = None
    recent: FloatArray = field(default_factory=lambda: np.zeros(0))


def hourly_baseline(
    x: FloatArray,
    *,
    first_epoch: int,
    epochs_per_hour: int,
    warmup_h: int,
    tau_h: float,
    lag_h: int,
    state: BaselineState,
) -> tuple[FloatArray, BaselineState]:
    """Personal baseline per epoch: the level of the hour ``lag_h + 1`` hours before it.

    Hourly medians feed a warm-up mean followed by an EWMA (:func:`warmup_then_ewma`); NaN until
    the warm-up is complete.
    """
    ids, medians, hours = block_medians(x, first_epoch=first_epoch, block=epochs_per_hour, state=state.hours)
    level, ready, level_state = warmup_then_ewma(medians, warmup=warmup_h, alpha=_alpha(tau_h), state=state.level)
    level = np.where(ready, level, np.nan)
    first_hour = state.recent_first_hour if state.recent_first_hour is not None else (int(ids[0]) if ids.size else None)
    recent = np.concatenate((state.recent, level))
    out = np.full(x.size, np.nan)
    if first_hour is not None:
        wanted = (first_epoch + np.arange(x.size)) // epochs_per_hour - 1 - lag_h
        index = wanted - first_hour
        ok = (index >= 0) & (index < recent.size)
        out[ok] = recent[index[ok]]
        keep = lag_h + 2
        if recent.size > keep:
            first_hour += recent.size - keep
            recent = recent[-keep:]
    return out, BaselineState(hours, level_state, first_hour, recent.copy())


@dataclass(frozen=True, slots=True)
class MonitorState:
    """Everything a subject's pipeline carries from one run of epochs to the next (bounded)."""

    temp_median: FloatArray
    hr_median: FloatArray
    temp_base: BaselineState
    hr_base: BaselineState
    cusum: FloatArray
    rapid_history: FloatArray
    rapid_since: int = 1 << 30
    rise_on: bool = False
    rise_run: int = 0
    fever_on: bool = False
    fever_run: int = 0
    margin_on: bool = False
    fever_peak: float = float("-inf")
    tachy_peak: float = float("-inf")
    severe_peak: float = float("-inf")
    loose_run: int = 0
    tachy_on: bool = False
    tachy_run: int = 0
    severe_on: bool = False
    severe_run: int = 0
    hr_rise_on: bool = False
    hr_rise_run: int = 0
    hr_rise_median: FloatArray = field(default_factory=lambda: np.zeros(0))
    hr_profile: ClockProfileState = field(default_factory=ClockProfileState)
    temp_fill: CarryState = field(default_factory=CarryState)
    hr_fill: CarryState = field(default_factory=CarryState)
    thermo_last: CarryState = field(default_factory=CarryState)
    offsets: tuple[float, ...] = ()  # the newest skin → core offset observations (calibration)
    trackers: Mapping[str, TrackerState] = field(default_factory=lambda: {c: TrackerState() for c in CONDITIONS})
    rules: Mapping[str, str] = field(default_factory=dict)  # per condition: the rule of its open alert
    joined: JoinState = field(default_factory=JoinState)

    @classmethod
    def initial(cls, cfg: DetectorConfig) -> MonitorState:
        t, h = cfg.temperature, cfg.heart_rate
        return cls(
            temp_median=np.full(t.median_epochs - 1, np.nan),
            hr_median=np.full(h.median_epochs - 1, np.nan),
            temp_base=BaselineState(),
            hr_base=BaselineState(),
            cusum=np.zeros(1),
            rapid_history=np.full(cfg.artefact.rapid_rise_epochs, np.nan),
            hr_rise_median=np.full(h.agree_epochs - 1, np.nan),
        )

    def nbytes(self) -> int:
        """Approximate memory held by the arrays of this state (constant in time)."""
        arrays = (self.temp_median, self.hr_median, self.hr_rise_median, self.cusum)
        baselines = (self.temp_base, self.hr_base)
        return sum(a.nbytes for a in arrays) + sum(b.recent.nbytes + b.hours.values.nbytes for b in baselines)


@dataclass(frozen=True, slots=True)
class EpochFrame:
    """Per-epoch intermediate series, for plots, the dashboard and tests. Times are epoch starts."""

    epoch: NDArray[np.int64]
    time_s: FloatArray
    temp_c: FloatArray  # epoch mean as measured (axillary)
    temp_smooth_c: FloatArray  # after artefact suppression
    core_c: FloatArray  # estimated core; NaN where unusable
    offset_c: FloatArray  # skin → core offset in use (calibrated by thermometer readings, else the prior)
    calibration_n: NDArray[np.int64]  # thermometer readings behind the offset
    thermometer_c: FloatArray  # spot checks on the core scale, NaN between them
    baseline_c: FloatArray  # personal baseline in measured units, circadian term included
    residual_c: FloatArray
    rise_stat: FloatArray
    hr_bpm: FloatArray
    hr_smooth_bpm: FloatArray
    hr_baseline_bpm: (
        FloatArray  # her own rate at this hour: baseline + clock-hour profile (what rises are measured from)
    )
    sensor_loose: NDArray[np.bool_]
    levels: Mapping[str, NDArray[np.int8]]  # per condition (CONDITIONS), before they are merged into alerts

    @staticmethod
    def concat(frames: list[EpochFrame]) -> EpochFrame:
        names = [f for f in EpochFrame.__dataclass_fields__ if f != "levels"]
        data = {n: np.concatenate([getattr(fr, n) for fr in frames]) for n in names}
        levels = {c: np.concatenate([fr.levels[c] for fr in frames]) for c in CONDITIONS}
        return EpochFrame(**data, levels=levels)


def process_epochs(
    bins: EpochBins, state: MonitorState, cfg: DetectorConfig, *, subject: str
) -> tuple[EpochFrame, list[RuleTransition], MonitorState]:
    """Run the whole pipeline over consecutive epochs ``bins.start ..`` with carried ``state``."""
    tc, rc, fc, sc, hc, th = cfg.temperature, cfg.rise, cfg.fever, cfg.sensor, cfg.heart_rate, cfg.thermometer
    n = bins.n
    epochs = bins.start + np.arange(n, dtype=np.int64)
    epoch_s = cfg.epoch.epoch_s
    per_min = 60.0 / epoch_s
    carry = int(cfg.epoch.carry_forward_min * per_min)
    time_s = (epochs * epoch_s).astype(np.float64)

    # --- temperature: clean, de-circadianise, personal baseline ------------------------------
    temp = epoch_means(bins.sums[TEMPERATURE], bins.counts[TEMPERATURE])
    temp_s, temp_median = trailing_nanmedian(temp, window=tc.median_epochs, history=state.temp_median)
    ac = cfg.artefact
    artefact, rapid_history, rapid_since = rapid_rise(
        temp_s,
        lag=ac.rapid_rise_epochs,
        threshold=ac.rapid_rise_c,
        hold=ac.hold_epochs,
        history=state.rapid_history,
        since=state.rapid_since,
    )
    # a reading stands for its time until the next one (within carry_forward_min): rules run in time
    temp_f, _age, temp_fill = carry_forward(np.where(artefact, np.nan, temp_s), max_gap=carry, state=state.temp_fill)
    with np.errstate(invalid="ignore"):
        in_range = (temp_f >= tc.plausible_min_c) & (temp_f <= tc.plausible_max_c)
    circ = circadian_offset_c(
        time_s + epoch_s / 2,
        amplitude_c=tc.circadian_amplitude_c,
        peak_hour=tc.circadian_peak_hour,
        timezone=tc.timezone,
    )
    with np.errstate(invalid="ignore"):
        measured_ok = (temp_s >= tc.plausible_min_c) & (temp_s <= tc.plausible_max_c) & ~artefact
    per_hour = 3600 // epoch_s
    base, temp_base = hourly_baseline(
        np.where(measured_ok, temp_s - circ, np.nan),
        first_epoch=bins.start,
        epochs_per_hour=per_hour,
        warmup_h=tc.warmup_h,
        tau_h=tc.baseline_tau_h,
        lag_h=tc.baseline_lag_h,
        state=state.temp_base,
    )

    present = ~np.isnan(temp_f)
    decirc = np.where(in_range, temp_f - circ, np.nan)
    with np.errstate(invalid="ignore"):
        dropped = (temp_f - circ) < (base - sc.loose_drop_c)
    loose_cond = present & (~in_range | dropped)
    loose_runs, loose_run = run_length(loose_cond, state=state.loose_run, known=present)

    residual = np.where(loose_cond, np.nan, decirc - base)
    increments = np.where(np.isnan(residual), 0.0, residual - rc.k_c)
    cusum_history = state.cusum
    stat, cumulative, cusum = window_cusum(increments, window=rc.window_epochs, history=cusum_history)
    rise_sw, rise_on = hysteresis(stat, on=rc.h_c_epochs, off=rc.h_c_epochs * rc.clear_fraction, state=state.rise_on)
    rise_runs, rise_run = run_length(rise_sw, state=state.rise_run, known=~np.isnan(residual))
    rise_active = rise_runs >= rc.persist_epochs

    # --- thermometer: the reference reading, and the skin → core offset it calibrates ----------
    thermo = epoch_means(bins.sums[THERMOMETER], bins.counts[THERMOMETER])
    usable_skin = np.where(measured_ok & ~loose_cond, temp_s, np.nan)
    offset, calibration_n, offsets = calibrate(
        thermo, usable_skin, prior_c=tc.axillary_to_core_offset_c, cfg=th, observations=state.offsets
    )
    thermo_last, thermo_age, thermo_state = carry_forward(thermo, max_gap=1 << 29, state=state.thermo_last)
    with np.errstate(invalid="ignore"):
        fever_thermo = (thermo_last >= th.fever_c) & (thermo_age <= th.hold_min * per_min)
        quiet = (thermo_last < th.normal_below_c) & (thermo_age <= th.quiet_after_normal_min * per_min)
    calibrated = calibration_n > 0

    core = np.where(in_range & ~loose_cond, temp_f + offset, np.nan)
    fever_sw, fever_on = hysteresis(core, on=fc.core_c, off=fc.clear_core_c, state=state.fever_on)
    fever_runs, fever_run = run_length(fever_sw, state=state.fever_run, known=~np.isnan(core))

    # --- heart rate ---------------------------------------------------------------------------
    hr = epoch_means(bins.sums[HEART_RATE], bins.counts[HEART_RATE])
    hr_s, hr_median = trailing_nanmedian(hr, window=hc.median_epochs, history=state.hr_median)
    with np.errstate(invalid="ignore"):
        hr_measured = np.where((hr_s >= hc.plausible_min_bpm) & (hr_s <= hc.plausible_max_bpm), hr_s, np.nan)
    hr_ok, _hr_age, hr_fill = carry_forward(hr_measured, max_gap=carry, state=state.hr_fill)
    hr_known = ~np.isnan(hr_ok)
    hr_base, hr_base_state = hourly_baseline(
        hr_measured,
        first_epoch=bins.start,
        epochs_per_hour=per_hour,
        warmup_h=hc.warmup_h,
        tau_h=hc.baseline_tau_h,
        lag_h=hc.baseline_lag_h,
        state=state.hr_base,
    )
    tachy_sw, tachy_on = hysteresis(
        hr_ok, on=hc.tachycardia_bpm, off=hc.tachycardia_bpm - hc.clear_margin_bpm, state=state.tachy_on
    )
    # her own rate at this hour of the day: her baseline plus what her days have taught about the hour
    hr_profile, hr_profile_state = clock_profile(
        hr_measured - hr_base,
        first_epoch=bins.start,
        epochs_per_hour=per_hour,
        tau_days=hc.profile_tau_days,
        prior_days=hc.profile_prior_days,
        state=state.hr_profile,
    )
    hr_rise = hr_ok - (hr_base + hr_profile)
    with np.errstate(invalid="ignore"):
        # her own rate, if it is known: a mother whose resting rate is 105 has no new tachycardia at 105
        new = np.where(np.isnan(hr_base), hr_ok > hc.unknown_baseline_bpm, hr_rise >= hc.rise_bpm)
    tachy_runs, tachy_run = run_length(tachy_sw & new, state=state.tachy_run, known=hr_known)
    tachy_active = tachy_runs >= hc.tachycardia_persist_epochs
    severe_sw, severe_on = hysteresis(
        hr_ok, on=hc.severe_bpm, off=hc.severe_bpm - hc.clear_margin_bpm, strict=True, state=state.severe_on
    )
    severe_runs, severe_run = run_length(severe_sw, state=state.severe_run, known=hr_known)
    severe_active = severe_runs >= hc.severe_persist_epochs
    hr_rise_sw, hr_rise_on = hysteresis(hr_rise, on=hc.rise_bpm, off=hc.rise_bpm / 2, state=state.hr_rise_on)
    hr_rise_runs, hr_rise_run = run_length(hr_rise_sw, state=state.hr_rise_run, known=hr_known)
    # her heart agrees, for a while (not one burst of activity): what tells a fever from a warm blanket
    hr_up = (hr_rise_runs >= hc.rise_persist_epochs) | tachy_active
    # over the last half hour (robust to a burst of activity): is her heart rate below her own?
    hr_rise_slow, hr_rise_median = trailing_nanmedian(hr_rise, window=hc.agree_epochs, history=state.hr_rise_median)
    with np.errstate(invalid="ignore"):
        hr_agrees = ~(hr_rise_slow < hc.agree_bpm)  # no heart rate, or at least agree_bpm above her own

    # --- desired alert level per group ---------------------------------------------------------
    # the wearable's own fever needs a calibrated offset, a heart that agrees, or a clear margin
    margin = fc.uncalibrated_margin_c
    clear_of_margin, margin_on = hysteresis(
        core, on=fc.core_c + margin, off=fc.clear_core_c + margin, state=state.margin_on
    )
    with np.errstate(invalid="ignore"):
        sure = ((calibrated | clear_of_margin) & hr_agrees) | hr_up
        raised = calibrated & (core >= rc.raised_core_c)
    fever_active = (fever_runs >= fc.persist_epochs) & sure
    combined = rise_active & hr_up & ~quiet
    alone = rise_active & raised & hr_agrees & ~quiet & ~combined
    levels = {
        "temperature": np.where(fever_thermo | fever_active, 2, np.where(combined | alone, 1, 0)).astype(np.int8),
        "heart_rate": np.where(severe_active, 2, np.where(tachy_active, 1, 0)).astype(np.int8),
        "sensor": (loose_runs >= sc.persist_epochs).astype(np.int8),
    }

    # the highest value over the run that made a rule true: what its message shows (carried across chunks)
    fever_peak, fever_peak_state = running_peak(core, fever_runs, prev_run=state.fever_run, peak=state.fever_peak)
    tachy_peak, tachy_peak_state = running_peak(hr_ok, tachy_runs, prev_run=state.tachy_run, peak=state.tachy_peak)
    severe_peak, severe_peak_state = running_peak(hr_ok, severe_runs, prev_run=state.severe_run, peak=state.severe_peak)

    def rule_at(condition: str, i: int) -> str:
        if condition == "temperature":
            if fever_thermo[i]:
                return "fever_thermometer"
            return "fever" if fever_active[i] else ("temp_rise_hr" if combined[i] else "temp_rise")
        if condition == "heart_rate":
            return "tachycardia_severe" if severe_active[i] else "tachycardia"
        return "sensor_loose"

    def values_at(rule: str, i: int) -> Values:
        condition = RULE_CONDITIONS[rule]
        epoch_min = epoch_s / 60.0
        values: Values = {
            "temp_c": _num(temp_f[i]),
            "core_c": _num(core[i]),
            "baseline_core_c": _num(base[i] + circ[i] + offset[i]),
            "offset_c": _num(offset[i]),
            "calibration_n": int(calibration_n[i]),
            "hr_bpm": _num(hr_ok[i]),
        }
        if condition == "temperature":
            since, rise_c = _change_point(cusum_history, cumulative, stat, i, rc.window_epochs, rc.k_c)
            values |= {
                "rise_c": _num(rise_c),
                "since_min": since * epoch_min,
                "cusum_c_min": _num(stat[i] * epoch_min),
                "hr_rise_bpm": _num(hr_rise[i]),
                "threshold_c": fc.core_c,
                "duration_min": int(fever_runs[i]) * epoch_min,
            }
            if rule == "fever":
                values["peak_core_c"] = _shown(float(fever_peak[i]), fc.core_c, strict=False, decimals=1)
            elif rule == "fever_thermometer":
                values |= {
                    "thermometer_c": _num(thermo_last[i]),
                    "threshold_c": th.fever_c,
                    "minutes_ago": _num(thermo_age[i] * epoch_min),
                }
            elif rule == "temp_rise":
                values["threshold_c"] = rc.raised_core_c
        elif condition == "heart_rate":
            severe = rule == "tachycardia_severe"
            runs = severe_runs if severe else tachy_runs
            limit = hc.severe_bpm if severe else hc.tachycardia_bpm
            peak = float((severe_peak if severe else tachy_peak)[i])
            values |= {
                "threshold_bpm": limit,
                "duration_min": int(runs[i]) * epoch_min,
                "peak_hr_bpm": _shown(peak, limit, strict=severe, decimals=0),
            }
        else:
            values |= {"duration_min": int(loose_runs[i]) * epoch_min}
        return values

    def transition(tr: Transition | JoinedStep, group: str, rule: str) -> RuleTransition:
        values = values_at(rule, tr.epoch - bins.start)
        values["alert_duration_min"] = (tr.epoch - tr.raised_at) * epoch_s / 60.0
        if isinstance(tr, JoinedStep):
            values["rules"] = ",".join(tr.rules)
        time = datetime.fromtimestamp((tr.epoch + 1) * epoch_s, tz=UTC)
        return RuleTransition(time, subject, group, tr.number, tr.kind, tr.level, rule, values)

    transitions: list[RuleTransition] = []
    trackers = dict(state.trackers)
    rules = dict(state.rules)
    clinical: list[tuple[str, Transition, str]] = []
    for condition in CONDITIONS:
        steps, trackers[condition] = track(
            levels[condition],
            start_epoch=bins.start,
            state=trackers[condition],
            resolve_after=cfg.alerts.resolve_after_epochs,
            min_reraise=cfg.alerts.min_reraise_epochs,
        )
        for tr in steps:
            if tr.kind != "resolved":
                rules[condition] = rule_at(condition, tr.epoch - bins.start)
            rule = rules[condition]
            if (group := RULE_GROUPS[rule]) == "clinical":
                clinical.append((condition, tr, rule))
            else:
                transitions.append(transition(tr, group, rule))
    clinical.sort(key=lambda step: (step[1].epoch, CONDITIONS.index(step[0])))
    joined, join_state = join(clinical, state=state.joined, window=round(cfg.alerts.join_window_min * per_min))
    transitions += [transition(step, "clinical", step.rule) for step in joined]
    transitions.sort(key=lambda t: (t.time, GROUPS.index(t.group)))

    frame = EpochFrame(
        epoch=epochs,
        time_s=time_s,
        temp_c=temp,
        temp_smooth_c=temp_s,
        core_c=core,
        offset_c=offset,
        calibration_n=calibration_n,
        thermometer_c=thermo,
        baseline_c=base + circ,
        residual_c=residual,
        rise_stat=stat,
        hr_bpm=hr,
        hr_smooth_bpm=hr_s,
        hr_baseline_bpm=hr_base + hr_profile,
        sensor_loose=loose_cond,
        levels=levels,
    )
    new_state = replace(
        state,
        temp_median=temp_median,
        hr_median=hr_median,
        temp_base=temp_base,
        hr_base=hr_base_state,
        cusum=cusum,
        rapid_history=rapid_history,
        rapid_since=rapid_since,
        rise_on=rise_on,
        rise_run=rise_run,
        fever_on=fever_on,
        fever_run=fever_run,
        margin_on=margin_on,
        fever_peak=fever_peak_state,
        tachy_peak=tachy_peak_state,
        severe_peak=severe_peak_state,
        loose_run=loose_run,
        tachy_on=tachy_on,
        tachy_run=tachy_run,
        severe_on=severe_on,
        severe_run=severe_run,
        hr_rise_on=hr_rise_on,
        hr_rise_run=hr_rise_run,
        hr_rise_median=hr_rise_median,
        hr_profile=hr_profile_state,
        temp_fill=temp_fill,
        hr_fill=hr_fill,
        thermo_last=thermo_state,
        offsets=offsets,
        trackers=trackers,
        rules=rules,
        joined=join_state,
    )
    return frame, transitions, new_state


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 2)


def _shown(x: float, threshold: float, *, strict: bool, decimals: int) -> float | None:
    """``x`` cut (not rounded) to the fewest decimals from ``decimals`` on that still satisfy the rule.

    A message then never says "37.9 °C (≥ 38.0 °C)": 38.04 is shown as 38.0, and 130.04 against
    "> 130" as 130.04 rather than 130.
    """
    if not np.isfinite(x):
        return None
    for d in range(decimals, 4):
        cut = math.floor(x * 10**d + 1e-9) / 10**d
        if (cut > threshold) if strict else (cut >= threshold):
            return round(cut, d) if d else float(int(cut))
    return round(float(x), 4)


def calibrate(
    thermo: FloatArray,
    skin: FloatArray,
    *,
    prior_c: float,
    cfg: ThermometerConfig,
    observations: tuple[float, ...],
) -> tuple[FloatArray, NDArray[np.int64], tuple[float, ...]]:
    """The skin → core offset per epoch, learnt from thermometer readings (robust, shrunk to the prior).

    Each epoch with a thermometer reading (core scale) and a usable skin value gives one
    observation ``reading - skin``; one outside ``[offset_min_c, offset_max_c]`` is refused (a
    loose sensor, a typing error). The estimate is the median of the newest ``max_readings``
    observations, pulled towards the population prior as if the prior were ``prior_weight``
    readings: ``(n * median + w * prior) / (n + w)``. One bad reading among three moves the median
    little, and a single reading moves the estimate only part of the way.

    Examples
    --------
    >>> from kraamwacht.signal.config import ThermometerConfig
    >>> thermo = np.array([np.nan, 37.2, np.nan, 37.0])
    >>> skin = np.array([36.0, 36.0, 36.1, 36.0])
    >>> off, n, obs = calibrate(thermo, skin, prior_c=0.65, cfg=ThermometerConfig(), observations=())
    >>> off.round(3).tolist(), n.tolist()
    ([0.65, 0.833, 0.833, 0.875], [0, 1, 1, 2])
    """
    size = thermo.size
    offset = np.full(size, np.nan)
    count = np.zeros(size, dtype=np.int64)
    obs = list(observations)
    w = cfg.prior_weight

    def estimate() -> float:
        return prior_c if not obs else (len(obs) * float(np.median(obs)) + w * prior_c) / (len(obs) + w)

    current, last = estimate(), 0
    for i in np.flatnonzero(~np.isnan(thermo) & ~np.isnan(skin)).tolist():
        d = float(thermo[i] - skin[i])
        if not cfg.offset_min_c <= d <= cfg.offset_max_c:
            continue
        offset[last:i] = current
        count[last:i] = len(obs)
        obs = [*obs, d][-cfg.max_readings :]
        current, last = estimate(), i
    offset[last:] = current
    count[last:] = len(obs)
    return offset, count, tuple(obs)


def _change_point(
    history: FloatArray, cumulative: FloatArray, stat: FloatArray, i: int, window: int, k_c: float
) -> tuple[int, float]:
    """Epochs since the CUSUM's estimated change point, and the mean residual since then."""
    full_pos = history.size + i
    full = np.concatenate((history, cumulative[: i + 1]))
    lo = max(0, full_pos - window)
    segment = full[lo : full_pos + 1]
    j = lo + segment.size - 1 - int(np.argmin(segment[::-1]))  # the latest minimum
    since = full_pos - j
    rise = stat[i] / since + k_c if since > 0 else float("nan")
    return since, rise


def thermometer_key(method: str | None) -> str:
    """The detector input key of a thermometer reading taken by ``method`` (None: the default method)."""
    return f"{THERMOMETER}:{method}" if method else THERMOMETER


def core_scale(
    samples: Mapping[str, tuple[ArrayLike, ArrayLike]], cfg: DetectorConfig
) -> dict[str, tuple[ArrayLike, ArrayLike]]:
    """The detector's inputs with every thermometer reading on the core scale.

    Thermometer readings come as ``thermometer_c`` (taken by the configured default method,
    rectal in Dutch kraamzorg) or ``thermometer_c:<method>`` (``oral``, ``tympanic``,
    ``axillary``, ``rectal``); each gets its method's offset to core and all are merged into one
    ``thermometer_c`` series. Other signals pass through.
    """
    out: dict[str, tuple[ArrayLike, ArrayLike]] = {}
    times: list[FloatArray] = []
    values: list[FloatArray] = []
    for key, (t_s, value) in samples.items():
        signal, _, method = key.partition(":")
        if signal != THERMOMETER:
            out[key] = (t_s, value)
            continue
        times.append(np.asarray(t_s, dtype=np.float64))
        values.append(np.asarray(value, dtype=np.float64) + cfg.thermometer.to_core_c(method or None))
    if times:
        out[THERMOMETER] = (np.concatenate(times), np.concatenate(values))
    return out


@dataclass(frozen=True, slots=True)
class Detection:
    """Result of a batch run over one subject's recording."""

    subject: str
    frame: EpochFrame
    transitions: list[RuleTransition]
    n_samples: int
    n_ignored: int


def detect(
    samples: Mapping[str, tuple[FloatArray, FloatArray]], cfg: DetectorConfig | None = None, *, subject: str
) -> Detection:
    """Batch detection over a whole recording of one subject.

    Parameters
    ----------
    samples : mapping of signal name to ``(t_s, value)``
        UTC seconds (any order, irregular sampling and gaps allowed) and values for
        ``temperature_c`` (the wearable), ``heart_rate_bpm`` and thermometer spot checks
        (``thermometer_c`` or ``thermometer_c:<method>``, see :func:`core_scale`); other signals
        are ignored.
    cfg : DetectorConfig, optional
        Defaults to the documented defaults.

    Returns
    -------
    Detection
        The alert transitions and the per-epoch series behind them.
    """
    cfg = cfg or DetectorConfig()
    scaled = core_scale(samples, cfg)
    epoch_s = cfg.epoch.epoch_s
    arrays: dict[str, tuple[FloatArray, FloatArray]] = {}
    first: int | None = None
    last: int | None = None
    n_samples = n_ignored = 0
    for signal in SIGNALS:
        given_t, given_v = scaled.get(signal, (np.zeros(0), np.zeros(0)))
        t_s = np.asarray(given_t, dtype=np.float64)
        value = np.asarray(given_v, dtype=np.float64)
        arrays[signal] = (t_s, value)
        if t_s.size == 0:
            continue
        lo_t, hi_t = float(t_s.min()), float(t_s.max())
        if not (np.isfinite(lo_t) and np.isfinite(hi_t) and np.isfinite(value.sum())):
            finite = np.isfinite(t_s) & np.isfinite(value)
            t_s = t_s[finite]
            n_ignored += finite.size - t_s.size
            if t_s.size == 0:
                continue
            lo_t, hi_t = float(t_s.min()), float(t_s.max())
        n_samples += t_s.size
        lo, hi = epoch_index(np.array([lo_t, hi_t]), epoch_s).tolist()
        first = lo if first is None else min(first, lo)
        last = hi if last is None else max(last, hi)
    state = MonitorState.initial(cfg)
    if first is None or last is None:
        empty = EpochBins(first or 0, {s: np.zeros(0) for s in SIGNALS}, {s: np.zeros(0, np.int64) for s in SIGNALS})
        frame, transitions, _ = process_epochs(empty, state, cfg, subject=subject)
        return Detection(subject, frame, transitions, n_samples, n_ignored)
    n = last - first + 1
    sums, counts = {}, {}
    for signal, (t_s, value) in arrays.items():
        sums[signal], counts[signal] = bin_samples(t_s, value, start=first, n=n, epoch_s=epoch_s)
    frame, transitions, _ = process_epochs(EpochBins(first, sums, counts), state, cfg, subject=subject)
    return Detection(subject, frame, transitions, n_samples, n_ignored)


class SubjectMonitor:
    """Streaming detection for one subject: feed samples as they arrive, get alert transitions.

    Memory is constant in time: a few ring buffers (see :meth:`MonitorState.nbytes`) and the
    samples of the epochs still open within the reorder grace period.

    Examples
    --------
    >>> import numpy as np
    >>> m = SubjectMonitor(subject="m1")
    >>> t = 1_700_000_000 + np.arange(0, 3600, 1.0)
    >>> m.update({"temperature_c": (t, np.full(t.size, 36.2))})
    []
    >>> m.epochs_closed  # an hour of 1 Hz data: the last two minutes wait for the reorder grace
    58
    """

    def __init__(self, cfg: DetectorConfig | None = None, *, subject: str) -> None:
        self.cfg = cfg or DetectorConfig()
        self.subject = subject
        self.state = MonitorState.initial(self.cfg)
        # her epochs close at her own second past the grace period (``[epoch] close_spread_s``)
        grace_s = self.cfg.epoch.reorder_grace_s + subject_slot(subject, self.cfg.epoch.close_spread_s)
        self._accumulator = EpochAccumulator(SIGNALS, self.cfg.epoch.epoch_s, grace_s)
        self.epochs_closed = 0
        self.last_frame: EpochFrame | None = None

    @property
    def late_samples(self) -> int:
        """Samples that arrived after their epoch was closed (not used for detection)."""
        return self._accumulator.late

    @property
    def has_open_epochs(self) -> bool:
        """Whether samples wait in epochs not yet closed (a flush would close them)."""
        return self._accumulator.pending

    def update(self, samples: Mapping[str, tuple[ArrayLike, ArrayLike]]) -> list[RuleTransition]:
        """Add samples ``{signal: (t_s, value)}`` that arrived together; return the rule transitions they made final.

        Signals other than temperature and heart rate are ignored.
        """
        for signal, (t_s, value) in core_scale(samples, self.cfg).items():
            if signal in SIGNALS:
                self._accumulator.add(signal, t_s, value)
        return self._run(self._accumulator.close_ready())

    def flush(self) -> list[RuleTransition]:
        """Close all open epochs (end of a recording)."""
        return self._run(self._accumulator.flush())

    def _run(self, bins: EpochBins | None) -> list[RuleTransition]:
        if bins is None or bins.n == 0:
            return []
        frame, transitions, self.state = process_epochs(bins, self.state, self.cfg, subject=self.subject)
        self.epochs_closed += bins.n
        self.last_frame = frame
        return transitions
