"""Population circadian template of body temperature, by local clock time."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

__all__ = ["circadian_offset_c", "local_hour"]

_DAY_S = 86_400


@lru_cache(maxsize=4096)
def _utc_offset_s(timezone: str, day: int) -> int:
    # one offset per UTC day (taken at noon), so a chunk boundary can never change the answer
    moment = datetime.fromtimestamp(day * _DAY_S + _DAY_S // 2, tz=UTC).astimezone(ZoneInfo(timezone))
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def local_hour(t_s: NDArray[np.float64], *, timezone: str) -> NDArray[np.float64]:
    """Local clock hour in [0, 24) for UTC seconds, with the zone's daylight-saving offset."""
    days = np.floor_divide(t_s, _DAY_S).astype(np.int64)
    if days.size and days.min() == days.max():  # the common case (a live update's epochs): one day, one offset
        local = t_s + float(_utc_offset_s(timezone, int(days[0])))
    else:
        unique, inverse = np.unique(days, return_inverse=True)
        offsets = np.array([_utc_offset_s(timezone, int(d)) for d in unique], dtype=np.float64)
        local = t_s + offsets[inverse]
    return np.mod(local, _DAY_S) / 3600.0


def circadian_offset_c(
    t_s: NDArray[np.float64], *, amplitude_c: float, peak_hour: float, timezone: str
) -> NDArray[np.float64]:
    """Expected deviation from the daily mean: ``amplitude * cos(2π (hour - peak) / 24)``."""
    hours = local_hour(t_s, timezone=timezone)
    return amplitude_c * np.cos(2.0 * np.pi * (hours - peak_hour) / 24.0)
