"""Physiology scenarios for a mother after birth: what her body does and what a wearable would read.

Used by ``kraamwacht simulate-cohort`` to write labelled cohorts for researchers, and by the
emulated BLE wearables to produce their readings. A :class:`MotherScenario` pre-draws everything
random at construction (person parameters, events, slow noise on a 1-minute grid), so sampling any
time window is deterministic and windows can be produced one after another in real time.

Numbers used (see ``shared/reference/README.md`` for their sources):

* core temperature: person mean ~ N(36.8, 0.2) °C; circadian swing 0.3–0.7 °C peaking 17–21 h;
* healthy heart rate on the day of birth 84/min (59–110), falling to 75 at day 14 (4P study);
* axillary reads 0.6–0.7 °C below core (person-specific, with a slowly wandering contact term);
  lifting the arm drops the axilla up to 1.6 °C within a minute;
* breast engorgement on day 2–4 raises temperature a little for 12–24 h (kept below fever);
* a slow, endometritis-like infection rises over 12–36 h; a fast, sepsis-like one over 2–5 h with
  a steeper heart-rate response (tachycardia);
* spot checks with a thermometer at 09:00 and 17:00 local time define when standard care would
  have found the fever (the ``reference`` of the labels).

These are modelling choices for testing and tuning, not clinical facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from kraamwacht.contract import format_timestamp
from kraamwacht.errors import InvalidValueError
from kraamwacht.signal._circadian import local_hour

__all__ = ["NOISE_MODELS", "Kind", "MotherScenario", "NoiseModel", "SpotCheck", "generate_cohort"]

Kind = Literal["healthy", "slow", "fast"]
# Noise models that differ the way real skin temperature differs from model A (docs/tuning.md):
# A: the original model; B: a person- and placement-specific offset (0.1–0.9 °C) that drifts,
#    and covers at night that warm the skin while the heart rate sleeps; C: a room whose
#    temperature reaches the skin, more activity, and a chill phase (skin cools as a fever starts).
NoiseModel = Literal["A", "B", "C"]
NOISE_MODELS: tuple[NoiseModel, ...] = ("A", "B", "C")
FloatArray = NDArray[np.float64]

_H = 3600.0
_DAY = 86_400.0
_GRID_S = 60.0
AMBIENT_C = 24.0
FEVER_C = 38.0


@dataclass(frozen=True, slots=True)
class SpotCheck:
    time_s: float
    temp_c: float


@dataclass(frozen=True, slots=True)
class _Bump:
    start_s: float
    amplitude: float
    rise_s: float
    decay_s: float
    end_s: float = float("inf")  # for plateaus: when the decay begins


@dataclass(slots=True)
class MotherScenario:
    """One mother: person parameters, an optional infection, and her wearable's artefacts."""

    subject: str
    kind: Kind
    delivered_at_s: float
    start_s: float
    end_s: float
    seed: int
    timezone: str = "Europe/Amsterdam"
    core_mean_c: float = 36.8
    circadian_amplitude_c: float = 0.25
    circadian_peak_hour: float = 19.0
    axillary_offset_c: float = 0.65
    hr_mean_bpm: float = 82.0
    engorgement: _Bump | None = None
    infection: _Bump | None = None
    hr_per_c: float = 8.5
    hr_extra_bpm: float = 0.0
    dips: list[tuple[float, float, float]] = field(default_factory=list)  # (t, drop_c, tau_s)
    showers: list[tuple[float, float]] = field(default_factory=list)  # (t, rise_c)
    detachments: list[tuple[float, float]] = field(default_factory=list)  # (start, end)
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (start, end): no data at all
    bursts: list[tuple[float, float, float]] = field(default_factory=list)  # (start, end, +bpm)
    noise: NoiseModel = "A"
    night_cover_c: float = 0.0  # B: skin warming under the covers at night
    room_coupling: float = 0.0  # C: °C of skin per °C of room away from 21 °C
    _core_wander: FloatArray = field(default_factory=lambda: np.zeros(0))
    _contact_wander: FloatArray = field(default_factory=lambda: np.zeros(0))
    _offset_drift: FloatArray = field(default_factory=lambda: np.zeros(0))
    _room: FloatArray = field(default_factory=lambda: np.zeros(0))

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def draw(
        cls,
        subject: str,
        kind: Kind,
        *,
        seed: int,
        delivered_at_s: float,
        days: float = 8.0,
        artefacts: bool = True,
        noise: NoiseModel = "A",
    ) -> MotherScenario:
        rng = np.random.default_rng(seed)
        start = delivered_at_s + rng.uniform(1.0, 4.0) * _H
        end = start + days * _DAY
        s = cls(
            subject=subject,
            kind=kind,
            delivered_at_s=delivered_at_s,
            start_s=start,
            end_s=end,
            seed=seed,
            core_mean_c=float(np.clip(rng.normal(36.8, 0.2), 36.2, 37.3)),
            circadian_amplitude_c=float(rng.uniform(0.15, 0.35)),
            circadian_peak_hour=float(rng.uniform(17.0, 21.0)),
            axillary_offset_c=float(np.clip(rng.normal(0.65, 0.15), 0.3, 1.1)),
            hr_mean_bpm=float(np.clip(rng.normal(82.0, 10.0), 58.0, 108.0)),
        )
        n_grid = int(np.ceil((end - start) / _GRID_S)) + 2
        s._core_wander = _ou(rng, n_grid, sigma=0.05, tau_steps=180.0)
        s._contact_wander = _ou(rng, n_grid, sigma=0.10, tau_steps=120.0)
        s.noise = noise
        extra = np.random.default_rng([seed, 99])  # drawn apart, so model A's draws stay as they were
        if noise == "B":
            s.axillary_offset_c = float(extra.uniform(0.1, 0.9))
            s._offset_drift = _ou(extra, n_grid, sigma=0.15, tau_steps=720.0)
            s.night_cover_c = float(extra.uniform(0.3, 0.9))
        elif noise == "C":
            s.axillary_offset_c = float(extra.uniform(0.2, 1.2))
            s.room_coupling = float(extra.uniform(0.05, 0.2))
            s._room = 21.0 + _ou(extra, n_grid, sigma=2.0, tau_steps=240.0)
        # breast engorgement, day 2-4, kept below fever at its peak
        eng_start = delivered_at_s + rng.uniform(36.0, 84.0) * _H
        eng_amp = float(rng.uniform(0.1, 0.45))
        eng_dur = float(rng.uniform(12.0, 24.0)) * _H
        s.engorgement = _Bump(eng_start, eng_amp, eng_dur / 2, eng_dur / 4, eng_start + eng_dur / 2)
        if kind == "slow":
            onset = delivered_at_s + rng.uniform(30.0, 110.0) * _H
            s.infection = _Bump(onset, float(rng.uniform(1.3, 2.1)), float(rng.uniform(12.0, 36.0)) * _H, 8.0 * _H)
            s.hr_per_c = float(rng.uniform(7.0, 10.0))
        elif kind == "fast":
            onset = delivered_at_s + rng.uniform(24.0, 110.0) * _H
            s.infection = _Bump(onset, float(rng.uniform(1.6, 2.6)), float(rng.uniform(2.0, 5.0)) * _H, 8.0 * _H)
            s.hr_per_c = float(rng.uniform(12.0, 18.0))
            s.hr_extra_bpm = float(rng.uniform(5.0, 20.0))
        # treatment: the fever ends some hours after standard care finds it
        if s.infection is not None:
            ref = s.reference_s()
            treated = (ref if ref is not None else end) + float(rng.uniform(2.0, 8.0)) * _H
            s.infection = _Bump(s.infection.start_s, s.infection.amplitude, s.infection.rise_s, 12.0 * _H, treated)
        if artefacts:
            s._draw_artefacts(rng)
        return s

    def with_infection(
        self, onset_s: float, *, amplitude_c: float, rise_h: float, hr_per_c: float = 14.0, hr_extra_bpm: float = 10.0
    ) -> MotherScenario:
        """The same mother with an infection starting at ``onset_s`` (for a scripted demo or test)."""
        return replace(
            self,
            kind="fast" if rise_h <= 5.0 else "slow",
            infection=_Bump(onset_s, amplitude_c, rise_h * _H, 12.0 * _H, self.end_s),
            hr_per_c=hr_per_c,
            hr_extra_bpm=hr_extra_bpm,
        )

    def _draw_artefacts(self, rng: np.random.Generator) -> None:
        span = self.end_s - self.start_s
        days = span / _DAY

        def times(rate_per_day: float) -> FloatArray:
            return np.sort(rng.uniform(self.start_s, self.end_s, rng.poisson(rate_per_day * days)))

        self.dips = [(float(t), float(rng.uniform(0.4, 1.6)), float(rng.uniform(60, 240))) for t in times(12.0)]
        self.showers = [(float(t), float(rng.uniform(0.5, 1.4))) for t in times(0.8) if 7 <= self._hour(t) <= 22]
        self.detachments = [(float(t), float(t + rng.uniform(20, 240) * 60)) for t in times(0.25)]
        self.gaps = [(float(t), float(t + rng.uniform(10, 180) * 60)) for t in times(0.3)]
        self.bursts = [(float(t), float(t + rng.uniform(2, 10) * 60), float(rng.uniform(15, 40))) for t in times(8.0)]

    def _hour(self, t: float) -> float:
        return float(local_hour(np.array([t]), timezone=self.timezone)[0])

    # --- the body ----------------------------------------------------------------------------
    def fever_component_c(self, t_s: FloatArray) -> FloatArray:
        return _bump(self.infection, t_s)

    def core_temperature_c(self, t_s: FloatArray) -> FloatArray:
        """The mother's true core temperature."""
        hours = local_hour(t_s, timezone=self.timezone)
        circ = self.circadian_amplitude_c * np.cos(2 * np.pi * (hours - self.circadian_peak_hour) / 24.0)
        wander = self._on_grid(self._core_wander, t_s)
        return self.core_mean_c + circ + wander + _bump(self.engorgement, t_s) + self.fever_component_c(t_s)

    def heart_rate_bpm(self, t_s: FloatArray) -> FloatArray:
        """Her heart rate at rest plus activity bursts (what a chest or arm sensor would see)."""
        days_pp = (t_s - self.delivered_at_s) / _DAY
        hours = local_hour(t_s, timezone=self.timezone)
        hr = self.hr_mean_bpm - 9.0 * np.clip(days_pp, 0, 14) / 14.0 + 4.0 * np.cos(2 * np.pi * (hours - 16.0) / 24.0)
        hr = hr - np.where((hours >= 0) & (hours < 6), 5.0, 0.0)
        fever = self.fever_component_c(t_s)
        hr = hr + self.hr_per_c * fever + self.hr_extra_bpm * np.clip(fever, 0, 1.0)
        for start, end, extra in self.bursts:
            hr = hr + np.where((t_s >= start) & (t_s < end), extra, 0.0)
        return hr

    # --- the wearable -----------------------------------------------------------------------
    def wearable_samples(
        self, t_from_s: float, t_to_s: float, *, interval_s: float = 1.0
    ) -> dict[str, tuple[FloatArray, FloatArray]]:
        """Readings of the axillary temperature and heart-rate sensor in ``[t_from, t_to)``.

        Deterministic for a given window: noise is seeded from the scenario seed and the window.
        Times are on the ``interval_s`` grid counted from the start of the recording.
        """
        lo = max(t_from_s, self.start_s)
        hi = min(t_to_s, self.end_s)
        first = np.ceil((lo - self.start_s) / interval_s)
        last = np.ceil((hi - self.start_s) / interval_s)
        t = self.start_s + np.arange(first, last) * interval_s
        rng = np.random.default_rng([self.seed, int(first)])
        in_gap = _in_any(t, self.gaps)
        loose = _in_any(t, self.detachments)
        skin = self.core_temperature_c(t) - self.axillary_offset_c + self._on_grid(self._contact_wander, t)
        skin += self._noise_terms(t)
        skin += rng.normal(0.0, 0.03, t.size)
        for t0, drop, tau in self.dips:
            m = (t >= t0) & (t < t0 + 6 * tau)
            skin[m] -= drop * np.exp(-(t[m] - t0) / tau)
        for t0, rise in self.showers:
            m = (t >= t0) & (t < t0 + 3 * _H)
            dt = t[m] - t0
            skin[m] += rise * (1 - np.exp(-dt / 180.0)) * np.exp(-np.maximum(dt - 600.0, 0.0) / 720.0)
        for start, end in self.detachments:
            m = (t >= start) & (t < end)
            skin[m] = AMBIENT_C + (skin[m] - AMBIENT_C) * np.exp(-(t[m] - start) / 360.0)
            after = (t >= end) & (t < end + 3 * _H)
            skin[after] -= (skin[after] - AMBIENT_C) * 0.4 * np.exp(-(t[after] - end) / 600.0)
        hr = self.heart_rate_bpm(t) + rng.normal(0.0, 3.0, t.size)
        showering = np.zeros(t.size, dtype=bool)
        for t0, _ in self.showers:
            showering |= (t >= t0) & (t < t0 + 900)
        hr = hr + np.where(showering, 15.0, 0.0)
        keep_t = ~in_gap
        keep_hr = ~in_gap & ~loose  # no skin contact: the heart-rate sensor reports nothing
        return {
            "temperature_c": (t[keep_t], np.round(skin[keep_t], 2)),
            "heart_rate_bpm": (t[keep_hr], np.round(hr[keep_hr], 0)),
        }

    def _noise_terms(self, t: FloatArray) -> FloatArray:
        """What noise models B and C add to the skin reading (zero for A)."""
        out = np.zeros_like(t)
        if self.noise == "B":
            out -= self._on_grid(self._offset_drift, t)
            hours = local_hour(t, timezone=self.timezone)
            # covers from about 23:00 to 07:00, warming the skin over half an hour and cooling after
            night = np.clip(np.minimum((hours - 23.0) % 24.0, (7.0 - hours) % 24.0) * 2.0, 0.0, 1.0)
            night = np.where(((hours >= 23.0) | (hours < 7.0)), night, 0.0)
            out += self.night_cover_c * night
        elif self.noise == "C":
            out += self.room_coupling * (self._on_grid(self._room, t) - 21.0)
            if self.infection is not None:  # chill phase: the skin cools while the core starts to rise
                dt = t - self.infection.start_s
                out -= np.where((dt >= 0) & (dt < 2 * _H), 0.4 * np.sin(np.pi * dt / (2 * _H)), 0.0)
        return out

    def spot_checks(self) -> list[SpotCheck]:
        """Thermometer readings at 09:00 and 17:00 local time (standard kraamzorg care)."""
        rng = np.random.default_rng([self.seed, 7])
        hours = np.arange(self.start_s - self.start_s % 3600, self.end_s, 3600.0)
        local = np.round(local_hour(hours, timezone=self.timezone)).astype(int) % 24
        when = hours[(local == 9) | (local == 17)]
        when = when[when >= self.start_s]
        temps = self.core_temperature_c(when) + rng.normal(0.0, 0.1, when.size)
        return [SpotCheck(float(t), round(float(v), 1)) for t, v in zip(when, temps, strict=True)]

    def reference_s(self) -> float | None:
        """When standard care would have found the fever: the first spot check >= 38.0 °C after onset."""
        if self.infection is None:
            return None
        for check in self.spot_checks():
            if check.time_s >= self.infection.start_s and check.temp_c >= FEVER_C:
                return check.time_s
        return None

    def label_row(self) -> dict[str, str]:
        ref = self.reference_s()
        return {
            "subject": self.subject,
            "febrile": "1" if self.infection is not None else "0",
            "onset": format_timestamp(self.infection.start_s) if self.infection is not None else "",
            "reference": format_timestamp(ref) if ref is not None else "",
        }

    def subject_row(self) -> dict[str, str]:
        return {"subject": self.subject, "delivered_at": format_timestamp(self.delivered_at_s), "role": "mother"}

    def _on_grid(self, values: FloatArray, t_s: FloatArray) -> FloatArray:
        if values.size == 0:
            return np.zeros_like(t_s)
        return np.interp(t_s, self.start_s + np.arange(values.size) * _GRID_S, values)


def _ou(rng: np.random.Generator, n: int, *, sigma: float, tau_steps: float) -> FloatArray:
    """Ornstein-Uhlenbeck noise with stationary SD ``sigma`` and time constant ``tau_steps``."""
    a = np.exp(-1.0 / tau_steps)
    white = rng.normal(0.0, sigma * np.sqrt(1 - a * a), n)
    out, _ = lfilter([1.0], [1.0, -a], white, zi=[a * rng.normal(0.0, sigma)])
    return out


def _bump(b: _Bump | None, t_s: FloatArray) -> FloatArray:
    """Smooth rise to ``amplitude`` over ``rise_s``, plateau until ``end_s``, exponential decay."""
    if b is None:
        return np.zeros_like(t_s)
    x = np.clip((t_s - b.start_s) / b.rise_s, 0.0, 1.0)
    rise = b.amplitude * x * x * (3 - 2 * x)
    decay = np.exp(-np.maximum(t_s - b.end_s, 0.0) / b.decay_s)
    return rise * decay


def _in_any(t: FloatArray, spans: list[tuple[float, float]]) -> NDArray[np.bool_]:
    out = np.zeros(t.size, dtype=bool)
    for start, end in spans:
        out |= (t >= start) & (t < end)
    return out


def generate_cohort(
    n_subjects: int,
    *,
    seed: int = 0,
    febrile_fraction: float = 0.3,
    fast_share: float = 1 / 3,
    days: float = 8.0,
    start_s: float = 1_782_864_000.0,  # 2026-07-01T00:00Z
    artefacts: bool = True,
    noise: NoiseModel = "A",
) -> list[MotherScenario]:
    """A labelled cohort: healthy mothers and slow/fast febrile ones, deliveries spread over 30 days."""
    if not 0 <= febrile_fraction <= 1 or not 0 <= fast_share <= 1:
        raise InvalidValueError("febrile_fraction and fast_share must be within [0, 1]")
    rng = np.random.default_rng(seed)
    n_febrile = round(n_subjects * febrile_fraction)
    n_fast = round(n_febrile * fast_share)
    kinds: list[Kind] = ["fast"] * n_fast + ["slow"] * (n_febrile - n_fast)
    kinds += ["healthy"] * (n_subjects - n_febrile)
    order = rng.permutation(n_subjects)
    out = []
    for i, k in enumerate(order):
        delivered = start_s + float(rng.uniform(0, 30 * _DAY))
        out.append(
            MotherScenario.draw(
                f"m{i + 1:04d}",
                kinds[k],
                seed=int(rng.integers(2**31)),
                delivered_at_s=delivered,
                days=days,
                artefacts=artefacts,
                noise=noise,
            )
        )
    return out
