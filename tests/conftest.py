"""Shared helpers for building recordings by hand."""

from __future__ import annotations

import numpy as np
import pytest

from kraamwacht.signal import DetectorConfig

# 2026-07-01T00:00:00Z: on an hour boundary, so hourly baseline blocks are easy to count
T0 = 1_782_864_000.0


def series(
    values: list[tuple[int, float]], *, start_epoch: int = 0, per_epoch: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-constant samples: ``[(n_epochs, value), ...]``, ``per_epoch`` samples per minute."""
    t: list[np.ndarray] = []
    v: list[np.ndarray] = []
    epoch = start_epoch
    for n, value in values:
        offsets = (np.arange(n * per_epoch) / per_epoch) * 60.0
        t.append(T0 + epoch * 60.0 + offsets)
        v.append(np.full(n * per_epoch, value))
        epoch += n
    return np.concatenate(t), np.concatenate(v)


@pytest.fixture
def flat_cfg() -> DetectorConfig:
    """No circadian term, no smoothing, a one-hour warm-up and no lag: rules computable by hand."""
    return DetectorConfig().with_overrides(
        {
            "temperature.circadian_amplitude_c": 0.0,
            "temperature.timezone": "UTC",
            "temperature.median_epochs": 1,
            "temperature.warmup_h": 1,
            "temperature.baseline_lag_h": 0,
            "temperature.baseline_tau_h": 1000.0,
            "temperature.axillary_to_core_offset_c": 1.0,
            "heart_rate.median_epochs": 1,
            "heart_rate.warmup_h": 1,
            "heart_rate.baseline_lag_h": 0,
            "artefact.hold_epochs": 0,
            "rise.k_c": 0.5,
            "rise.h_c_epochs": 10.0,
            # the wearable's own fever rule at its boundary; the margin without calibration has its own test
            "fever.uncalibrated_margin_c": 0.0,
        }
    )
