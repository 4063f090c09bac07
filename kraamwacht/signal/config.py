"""Detector parameters as frozen dataclasses; defaults and their reasons are in ``defaults.toml``.

The dataclass defaults below mirror ``defaults.toml`` (a test keeps them equal), so that the pure
core can be used without reading any file, and the shell (:mod:`kraamwacht.settings`) can
overlay a user's TOML on top.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kraamwacht.errors import InvalidValueError

__all__ = [
    "AlertConfig",
    "ArtefactConfig",
    "DetectorConfig",
    "EpochConfig",
    "FeverConfig",
    "HeartRateConfig",
    "RiseConfig",
    "SensorConfig",
    "TemperatureConfig",
    "ThermometerConfig",
]


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise InvalidValueError(f"{name} must be > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class EpochConfig:
    """Epoch length and how long an epoch waits for late samples (``[epoch]``)."""

    epoch_s: int = 60
    reorder_grace_s: int = 120
    carry_forward_min: float = 70.0
    close_spread_s: int = 0

    def __post_init__(self) -> None:
        _positive("epoch.epoch_s", self.epoch_s)
        if self.carry_forward_min < 0:
            raise InvalidValueError(f"epoch.carry_forward_min must be >= 0, got {self.carry_forward_min!r}")
        if 3600 % self.epoch_s:
            raise InvalidValueError(f"epoch.epoch_s must divide an hour (3600 s), got {self.epoch_s!r}")
        if self.reorder_grace_s < 0:
            raise InvalidValueError(f"epoch.reorder_grace_s must be >= 0, got {self.reorder_grace_s!r}")
        if self.close_spread_s < 0:
            raise InvalidValueError(f"epoch.close_spread_s must be >= 0, got {self.close_spread_s!r}")


@dataclass(frozen=True, slots=True)
class TemperatureConfig:
    """Skin temperature cleaning, circadian term and personal baseline (``[temperature]``)."""

    plausible_min_c: float = 30.0
    plausible_max_c: float = 43.0
    median_epochs: int = 9
    axillary_to_core_offset_c: float = 0.65
    circadian_amplitude_c: float = 0.25
    circadian_peak_hour: float = 19.0
    timezone: str = "Europe/Amsterdam"
    warmup_h: int = 12
    baseline_tau_h: float = 48.0
    baseline_lag_h: int = 4

    def __post_init__(self) -> None:
        if self.plausible_min_c >= self.plausible_max_c:
            raise InvalidValueError("temperature.plausible_min_c must be below plausible_max_c")
        for name in ("median_epochs", "warmup_h", "baseline_tau_h"):
            _positive(f"temperature.{name}", getattr(self, name))
        if self.baseline_lag_h < 0:
            raise InvalidValueError("temperature.baseline_lag_h must be >= 0")


@dataclass(frozen=True, slots=True)
class ArtefactConfig:
    """Rapid rises that are artefacts (a shower, a sensor put back on) (``[artefact]``)."""

    rapid_rise_c: float = 0.4
    rapid_rise_epochs: int = 5
    hold_epochs: int = 45

    def __post_init__(self) -> None:
        _positive("artefact.rapid_rise_c", self.rapid_rise_c)
        _positive("artefact.rapid_rise_epochs", self.rapid_rise_epochs)
        if self.hold_epochs < 0:
            raise InvalidValueError("artefact.hold_epochs must be >= 0")


@dataclass(frozen=True, slots=True)
class RiseConfig:
    """The early-rise rule: a window-limited CUSUM above the personal baseline (``[rise]``)."""

    k_c: float = 0.4
    h_c_epochs: float = 10.0
    window_epochs: int = 480
    persist_epochs: int = 10
    clear_fraction: float = 0.5
    raised_core_c: float = 37.6

    def __post_init__(self) -> None:
        if self.k_c < 0:
            raise InvalidValueError(
                f"rise.k_c must be >= 0 (a negative reference accumulates on every epoch), got {self.k_c!r}"
            )
        _positive("rise.h_c_epochs", self.h_c_epochs)
        _positive("rise.window_epochs", self.window_epochs)
        _positive("rise.persist_epochs", self.persist_epochs)
        if not 0.0 < self.clear_fraction <= 1.0:
            raise InvalidValueError(f"rise.clear_fraction must be in (0, 1], got {self.clear_fraction!r}")


@dataclass(frozen=True, slots=True)
class FeverConfig:
    """The fever rule on the estimated core temperature (``[fever]``)."""

    core_c: float = 38.0
    clear_core_c: float = 37.8
    persist_epochs: int = 30
    uncalibrated_margin_c: float = 0.6

    def __post_init__(self) -> None:
        if self.clear_core_c > self.core_c:
            raise InvalidValueError("fever.clear_core_c must not exceed fever.core_c")
        _positive("fever.persist_epochs", self.persist_epochs)
        if self.uncalibrated_margin_c < 0:
            raise InvalidValueError("fever.uncalibrated_margin_c must be >= 0")


@dataclass(frozen=True, slots=True)
class ThermometerConfig:
    """Spot checks with a thermometer: the fever finding, and calibrating the wearable (``[thermometer]``)."""

    fever_c: float = 38.0
    normal_below_c: float = 37.6
    hold_min: float = 360.0
    quiet_after_normal_min: float = 240.0
    default_method: str = "rectal"
    oral_to_core_c: float = 0.4
    tympanic_to_core_c: float = 0.2
    axillary_to_core_c: float = 0.6
    prior_weight: float = 2.0
    max_readings: int = 8
    offset_min_c: float = -0.5
    offset_max_c: float = 3.5

    def __post_init__(self) -> None:
        if self.normal_below_c > self.fever_c:
            raise InvalidValueError("thermometer.normal_below_c must not exceed thermometer.fever_c")
        for name in ("hold_min", "prior_weight", "max_readings"):
            _positive(f"thermometer.{name}", getattr(self, name))
        if self.quiet_after_normal_min < 0:
            raise InvalidValueError("thermometer.quiet_after_normal_min must be >= 0")
        if self.default_method not in METHODS:
            raise InvalidValueError(f"thermometer.default_method must be one of {sorted(METHODS)}")
        if self.offset_min_c >= self.offset_max_c:
            raise InvalidValueError("thermometer.offset_min_c must be below offset_max_c")

    def to_core_c(self, method: str | None) -> float:
        """What to add to a reading taken by ``method`` (None: the default method) to compare it with core."""
        chosen = method or self.default_method
        if chosen not in METHODS:
            raise InvalidValueError(f"unknown thermometer method {chosen!r}; known: {sorted(METHODS)}")
        return {
            "rectal": 0.0,
            "oral": self.oral_to_core_c,
            "tympanic": self.tympanic_to_core_c,
            "axillary": self.axillary_to_core_c,
        }[chosen]


METHODS = frozenset({"rectal", "oral", "tympanic", "axillary"})


@dataclass(frozen=True, slots=True)
class SensorConfig:
    """The loose-sensor rule, a technical condition (``[sensor]``)."""

    loose_drop_c: float = 2.0
    persist_epochs: int = 10

    def __post_init__(self) -> None:
        _positive("sensor.loose_drop_c", self.loose_drop_c)
        _positive("sensor.persist_epochs", self.persist_epochs)


@dataclass(frozen=True, slots=True)
class HeartRateConfig:
    """Heart-rate cleaning, baseline and the tachycardia bands (``[heart_rate]``)."""

    plausible_min_bpm: float = 30.0
    plausible_max_bpm: float = 220.0
    median_epochs: int = 15
    tachycardia_bpm: float = 100.0
    tachycardia_persist_epochs: int = 60
    severe_bpm: float = 130.0
    severe_persist_epochs: int = 15
    clear_margin_bpm: float = 5.0
    rise_bpm: float = 7.0
    rise_persist_epochs: int = 30
    agree_epochs: int = 31
    agree_bpm: float = 5.0
    unknown_baseline_bpm: float = 110.0
    warmup_h: int = 6
    baseline_tau_h: float = 48.0
    baseline_lag_h: int = 4
    profile_tau_days: float = 3.0
    profile_prior_days: float = 1.0

    def __post_init__(self) -> None:
        if self.profile_prior_days < 0:
            raise InvalidValueError("heart_rate.profile_prior_days must be >= 0")
        if self.severe_bpm < self.tachycardia_bpm:
            raise InvalidValueError("heart_rate.severe_bpm must be >= heart_rate.tachycardia_bpm")
        for name in (
            "median_epochs",
            "tachycardia_persist_epochs",
            "severe_persist_epochs",
            "warmup_h",
            "baseline_tau_h",
            "profile_tau_days",
        ):
            _positive(f"heart_rate.{name}", getattr(self, name))


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Alert lifecycle: resolve and re-raise times, acknowledgement, snoozes, stale data (``[alerts]``)."""

    resolve_after_epochs: int = 60
    min_reraise_epochs: int = 360
    join_window_min: float = 480.0
    ack_timeout_warning_min: float = 30.0
    urgent_repeat_min: float = 10.0
    snooze_choices_min: tuple[int, ...] = (15, 30, 60, 120)
    snooze_max_warning_min: float = 120.0
    snooze_max_urgent_min: float = 30.0
    stale_warning_min: float = 15.0
    stale_urgent_min: float = 30.0
    battery_low_pct: float = 15.0
    battery_ok_pct: float = 25.0

    def __post_init__(self) -> None:
        _positive("alerts.resolve_after_epochs", self.resolve_after_epochs)
        if self.min_reraise_epochs < 0:
            raise InvalidValueError("alerts.min_reraise_epochs must be >= 0")
        if self.join_window_min < 0:
            raise InvalidValueError("alerts.join_window_min must be >= 0")
        for name in ("ack_timeout_warning_min", "urgent_repeat_min", "stale_warning_min", "stale_urgent_min"):
            _positive(f"alerts.{name}", getattr(self, name))
        if self.stale_urgent_min < self.stale_warning_min:
            raise InvalidValueError("alerts.stale_urgent_min must be >= alerts.stale_warning_min")
        if not 0 <= self.battery_low_pct < self.battery_ok_pct <= 100:
            raise InvalidValueError("alerts.battery_low_pct must be below alerts.battery_ok_pct, both within 0-100")
        if not self.snooze_choices_min or min(self.snooze_choices_min) <= 0:
            raise InvalidValueError("alerts.snooze_choices_min must list positive durations")


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """All detector parameters. Build from TOML-shaped mappings with :meth:`from_mapping`."""

    epoch: EpochConfig = field(default_factory=EpochConfig)
    temperature: TemperatureConfig = field(default_factory=TemperatureConfig)
    artefact: ArtefactConfig = field(default_factory=ArtefactConfig)
    rise: RiseConfig = field(default_factory=RiseConfig)
    fever: FeverConfig = field(default_factory=FeverConfig)
    thermometer: ThermometerConfig = field(default_factory=ThermometerConfig)
    sensor: SensorConfig = field(default_factory=SensorConfig)
    heart_rate: HeartRateConfig = field(default_factory=HeartRateConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: DetectorConfig | None = None) -> DetectorConfig:
        """Overlay a nested mapping (parsed TOML) on ``base``; unknown sections or keys are errors."""
        base = base or cls()
        sections: dict[str, Any] = {}
        known = {f.name for f in dataclasses.fields(cls)}
        for section, values in data.items():
            if section not in known:
                raise InvalidValueError(f"unknown config section [{section}]; known: {sorted(known)}")
            current = getattr(base, section)
            if not isinstance(values, Mapping):
                raise InvalidValueError(f"config section [{section}] must be a table")
            fields = {f.name: f for f in dataclasses.fields(current)}
            converted: dict[str, Any] = {}
            for key, value in values.items():
                if key not in fields:
                    raise InvalidValueError(f"unknown key {section}.{key}; known: {sorted(fields)}")
                expected = type(getattr(current, key))
                if expected is float and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                if expected is tuple and isinstance(value, list):
                    value = tuple(value)
                if not isinstance(value, expected) or isinstance(value, bool):
                    raise InvalidValueError(f"{section}.{key} must be {expected.__name__}, got {value!r}")
                converted[key] = value
            sections[section] = dataclasses.replace(current, **converted)
        return dataclasses.replace(base, **sections)

    def with_overrides(self, overrides: Mapping[str, float]) -> DetectorConfig:
        """Return a copy with dotted keys replaced, e.g. ``{"rise.k_c": 0.25}`` (used by sweeps)."""
        nested: dict[str, dict[str, Any]] = {}
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            if not key:
                raise InvalidValueError(f"override {dotted!r} must be 'section.key'")
            nested.setdefault(section, {})[key] = value
        return DetectorConfig.from_mapping(nested, base=self)

    def to_mapping(self) -> dict[str, dict[str, Any]]:
        """The configuration as TOML-shaped data (tuples as lists)."""
        return {
            f.name: {
                k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(getattr(self, f.name)).items()
            }
            for f in dataclasses.fields(self)
        }
