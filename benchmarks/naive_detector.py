"""The same detector written the straightforward way: one sample at a time, plain Python.

It is the baseline the benchmark compares the vectorised core against, and an independent
reimplementation of the rules that a test holds to the same alerts. It shares only the
configuration and the circadian template with ``kraamwacht.signal``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from kraamwacht.signal import DetectorConfig
from kraamwacht.signal._circadian import circadian_offset_c

NAN = float("nan")


def _median(values: list[float]) -> float:
    valid = sorted(v for v in values if not math.isnan(v))
    if not valid:
        return NAN
    n = len(valid)
    return 0.5 * (valid[(n - 1) // 2] + valid[n // 2])


class _Hysteresis:
    def __init__(self, on: float, off: float, strict: bool = False) -> None:
        self.on, self.off, self.strict, self.state = on, off, strict, False

    def __call__(self, x: float) -> bool:
        if not math.isnan(x):
            if (x > self.on) if self.strict else (x >= self.on):
                self.state = True
            elif x < self.off:
                self.state = False
        return self.state


class _Run:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, flag: bool, known: bool = True) -> int:
        if known:
            self.n = self.n + 1 if flag else 0
        return self.n


@dataclass
class _HourlyBaseline:
    warmup: int
    alpha: float
    lag: int
    block: int = -1
    values: list[float] = field(default_factory=list)
    count: int = 0
    total: float = 0.0
    last_x: float = NAN
    zi: float = NAN
    levels: dict[int, float] = field(default_factory=dict)

    def update(self, epoch: int, x: float, per_hour: int) -> float:
        block = epoch // per_hour
        if block != self.block:
            self.block, self.values = block, []
        self.values.append(x)
        if epoch % per_hour == per_hour - 1:
            self._close(block, _median(self.values))
        return self.levels.get(block - 1 - self.lag, NAN)

    def _close(self, block: int, median: float) -> None:
        if not math.isnan(median):
            self.count += 1
            self.total += median
            self.last_x = median
        if self.count <= self.warmup:
            level = self.total / self.count if self.count else NAN
            self._prev_mean = level
        else:
            if math.isnan(self.zi):
                self.zi = (1.0 - self.alpha) * self._prev_mean
            level = self.alpha * self.last_x + self.zi
            self.zi = (1.0 - self.alpha) * level
        self.levels[block] = level if self.count >= self.warmup else NAN


class _ClockProfile:
    """Her residual by hour of the day: per hour slot, discounted sums of completed hours' medians."""

    def __init__(self, tau_days: float, prior_days: float) -> None:
        self.decay, self.prior = math.exp(-1.0 / tau_days), prior_days
        self.sums, self.weights = [0.0] * 24, [0.0] * 24
        self.block, self.values = -1, []

    def update(self, epoch: int, x: float, per_hour: int) -> float:
        block = epoch // per_hour
        if block != self.block:
            self.block, self.values = block, []
        slot = block % 24
        weight = self.weights[slot] + self.prior
        value = self.sums[slot] / weight if weight > 0 else 0.0  # as it stood before this hour is complete
        self.values.append(x)
        if epoch % per_hour == per_hour - 1:
            median = _median(self.values)
            if not math.isnan(median):
                self.sums[slot] = self.sums[slot] * self.decay + median
                self.weights[slot] = self.weights[slot] * self.decay + 1.0
        return value


class _Carry:
    """The last value, carried at most ``max_gap`` epochs."""

    def __init__(self, max_gap: int) -> None:
        self.max_gap, self.value, self.age = max_gap, NAN, 1 << 30

    def __call__(self, x: float) -> tuple[float, float]:
        if math.isnan(x):
            self.age += 1
        else:
            self.value, self.age = x, 0
        return (self.value, float(self.age)) if self.age <= self.max_gap else (NAN, NAN)


def naive_detect(samples: dict[str, tuple[np.ndarray, np.ndarray]], cfg: DetectorConfig) -> list[tuple[int, str, int]]:
    """Alert transitions ``(epoch, kind, level)`` per group, computed one sample at a time."""
    tc, rc, fc, sc, hc, ac = cfg.temperature, cfg.rise, cfg.fever, cfg.sensor, cfg.heart_rate, cfg.artefact
    th = cfg.thermometer
    epoch_s = cfg.epoch.epoch_s
    per_hour = 3600 // epoch_s
    per_min = 60.0 / epoch_s
    carry = int(cfg.epoch.carry_forward_min * per_min)
    merged = sorted(
        (float(t), "thermometer_c" if name.startswith("thermometer_c") else name,
         float(v) + (th.to_core_c(name.partition(":")[2] or None) if name.startswith("thermometer_c") else 0.0))
        for name, (ts, vs) in samples.items()
        for t, v in zip(ts.tolist(), vs.tolist(), strict=True)
    )  # fmt: skip
    out: list[tuple[int, str, int]] = []
    if not merged:
        return out
    temp_win: deque[float] = deque([NAN] * tc.median_epochs, maxlen=tc.median_epochs)
    hr_win: deque[float] = deque([NAN] * hc.median_epochs, maxlen=hc.median_epochs)
    rise_win: deque[float] = deque([NAN] * hc.agree_epochs, maxlen=hc.agree_epochs)
    rapid_hist: deque[float] = deque([NAN] * ac.rapid_rise_epochs, maxlen=ac.rapid_rise_epochs)
    since = 1 << 30
    temp_base = _HourlyBaseline(tc.warmup_h, 1 - math.exp(-1 / tc.baseline_tau_h), tc.baseline_lag_h)
    hr_base = _HourlyBaseline(hc.warmup_h, 1 - math.exp(-1 / hc.baseline_tau_h), hc.baseline_lag_h)
    hr_profile = _ClockProfile(hc.profile_tau_days, hc.profile_prior_days)
    c_window: deque[float] = deque([0.0], maxlen=rc.window_epochs + 1)
    rise_sw = _Hysteresis(rc.h_c_epochs, rc.h_c_epochs * rc.clear_fraction)
    fever_sw = _Hysteresis(fc.core_c, fc.clear_core_c)
    margin_sw = _Hysteresis(fc.core_c + fc.uncalibrated_margin_c, fc.clear_core_c + fc.uncalibrated_margin_c)
    tachy_sw = _Hysteresis(hc.tachycardia_bpm, hc.tachycardia_bpm - hc.clear_margin_bpm)
    severe_sw = _Hysteresis(hc.severe_bpm, hc.severe_bpm - hc.clear_margin_bpm, strict=True)
    hr_rise_sw = _Hysteresis(hc.rise_bpm, hc.rise_bpm / 2)
    runs = {name: _Run() for name in ("loose", "rise", "fever", "tachy", "severe", "hr_rise")}
    temp_carry, hr_carry, thermo_carry = _Carry(carry), _Carry(carry), _Carry(1 << 29)
    offsets: list[float] = []
    trackers = {g: {"level": 0, "clear": None, "resolved": None} for g in ("temperature", "heart_rate", "sensor")}
    joined: list[dict] = []  # the mother's open clinical alerts: raised, level, conditions in it
    window = round(cfg.alerts.join_window_min * per_min)

    def emit(epoch: int, condition: str, kind: str, level: int) -> None:
        if condition == "sensor":
            out.append((epoch, f"sensor:{kind}", level))
            return
        if kind == "raised":
            recent = [a for a in joined if epoch - a["raised"] <= window]
            if not recent:
                joined.append({"raised": epoch, "level": level, "members": {condition}})
                out.append((epoch, "clinical:raised", level))
                return
            alert = recent[-1]
            alert["members"].add(condition)
            if level <= alert["level"]:  # it joins at the alert's level: shown, not a raise
                out.append((epoch, "clinical:joined", alert["level"]))
                return
            kind = "escalated"
        alert = next(a for a in joined if condition in a["members"])
        if kind == "escalated" and level > alert["level"]:
            alert["level"] = level
            out.append((epoch, "clinical:escalated", level))
        elif kind == "resolved":
            alert["members"].discard(condition)
            if not alert["members"]:
                joined.remove(alert)
                out.append((epoch, "clinical:resolved", alert["level"]))

    def offset_now() -> float:
        prior = tc.axillary_to_core_offset_c
        if not offsets:
            return prior
        return (len(offsets) * _median(offsets) + th.prior_weight * prior) / (len(offsets) + th.prior_weight)

    def process(epoch: int, temp: float, hr: float, thermo: float) -> None:
        nonlocal since, offsets
        temp_win.append(temp)
        temp_s = _median(list(temp_win))
        old = rapid_hist[0]
        rapid_hist.append(temp_s)
        since = 0 if (temp_s - old) > ac.rapid_rise_c else since + 1
        artefact = since < ac.hold_epochs
        temp_f, _ = temp_carry(NAN if artefact else temp_s)
        in_range = tc.plausible_min_c <= temp_f <= tc.plausible_max_c
        circ = float(
            circadian_offset_c(
                np.array([epoch * epoch_s + epoch_s / 2]),
                amplitude_c=tc.circadian_amplitude_c,
                peak_hour=tc.circadian_peak_hour,
                timezone=tc.timezone,
            )[0]
        )
        measured_ok = tc.plausible_min_c <= temp_s <= tc.plausible_max_c and not artefact
        base = temp_base.update(epoch, temp_s - circ if measured_ok else NAN, per_hour)
        present = not math.isnan(temp_f)
        loose = present and (not in_range or (temp_f - circ) < (base - sc.loose_drop_c))
        loose_run = runs["loose"](loose, present)
        decirc = temp_f - circ if in_range else NAN
        residual = NAN if loose else decirc - base
        c_window.append(c_window[-1] + (0.0 if math.isnan(residual) else residual - rc.k_c))
        stat = c_window[-1] - min(c_window)
        rise_active = runs["rise"](rise_sw(stat), not math.isnan(residual)) >= rc.persist_epochs

        # thermometer: calibration (an observation counts from its own epoch on) and the reference reading
        if not math.isnan(thermo) and measured_ok and not loose:
            d = thermo - temp_s
            if th.offset_min_c <= d <= th.offset_max_c:
                offsets = [*offsets, d][-th.max_readings :]
        offset, calibrated = offset_now(), bool(offsets)
        last_thermo, age = thermo_carry(thermo)
        fever_thermo = last_thermo >= th.fever_c and age <= th.hold_min * per_min
        quiet = last_thermo < th.normal_below_c and age <= th.quiet_after_normal_min * per_min
        core = temp_f + offset if in_range and not loose else NAN
        fever_run = runs["fever"](fever_sw(core), not math.isnan(core))
        clear_of_margin = margin_sw(core)

        hr_win.append(hr)
        hr_s = _median(list(hr_win))
        hr_measured = hr_s if hc.plausible_min_bpm <= hr_s <= hc.plausible_max_bpm else NAN
        hr_ok, _ = hr_carry(hr_measured)
        hr_b = hr_base.update(epoch, hr_measured, per_hour)
        known = not math.isnan(hr_ok)
        hr_rise = hr_ok - (hr_b + hr_profile.update(epoch, hr_measured - hr_b, per_hour))
        new = hr_ok > hc.unknown_baseline_bpm if math.isnan(hr_b) else hr_rise >= hc.rise_bpm
        tachy_on = tachy_sw(hr_ok)
        tachy = runs["tachy"](tachy_on and new, known) >= hc.tachycardia_persist_epochs
        severe = runs["severe"](severe_sw(hr_ok), known) >= hc.severe_persist_epochs
        hr_up = runs["hr_rise"](hr_rise_sw(hr_rise), known) >= hc.rise_persist_epochs or tachy
        rise_win.append(hr_rise)
        slow = _median(list(rise_win))
        agrees = not slow < hc.agree_bpm

        sure = ((calibrated or clear_of_margin) and agrees) or hr_up
        fever_active = fever_run >= fc.persist_epochs and sure
        combined = rise_active and hr_up and not quiet
        alone = rise_active and calibrated and core >= rc.raised_core_c and agrees and not quiet
        levels = {
            "temperature": 2 if fever_thermo or fever_active else (1 if combined or alone else 0),
            "heart_rate": 2 if severe else (1 if tachy else 0),
            "sensor": 1 if loose_run >= sc.persist_epochs else 0,
        }
        for group, desired in levels.items():
            tr = trackers[group]
            if tr["level"] == 0:
                waiting = (
                    desired == 1
                    and tr["resolved"] is not None
                    and epoch < tr["resolved"] + cfg.alerts.min_reraise_epochs
                )
                if desired and not waiting:
                    tr["level"], tr["clear"] = desired, None
                    emit(epoch, group, "raised", desired)
            elif desired == 0:
                tr["clear"] = epoch if tr["clear"] is None else tr["clear"]
                if epoch == tr["clear"] + cfg.alerts.resolve_after_epochs - 1:
                    emit(epoch, group, "resolved", tr["level"])
                    tr["level"], tr["resolved"], tr["clear"] = 0, epoch, None
            else:
                tr["clear"] = None
                if desired > tr["level"]:
                    tr["level"] = desired
                    emit(epoch, group, "escalated", desired)

    names = ("temperature_c", "heart_rate_bpm", "thermometer_c")
    current = math.floor(merged[0][0] / epoch_s)
    sums = dict.fromkeys(names, 0.0)
    counts = dict.fromkeys(names, 0)
    for t, name, value in merged:
        epoch = math.floor(t / epoch_s)
        while epoch > current:
            process(current, *(sums[s] / counts[s] / 100.0 if counts[s] else NAN for s in names))
            sums = dict.fromkeys(names, 0.0)
            counts = dict.fromkeys(names, 0)
            current += 1
        if name in sums and math.isfinite(value):
            sums[name] += round(value * 100.0)
            counts[name] += 1
    process(current, *(sums[s] / counts[s] / 100.0 if counts[s] else NAN for s in names))
    return out
