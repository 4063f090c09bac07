"""One clock for every process, so that the demo can run the whole system in time-lapse.

Heart rate carries no device time stamp: the gateway stamps it on arrival. A time-lapse therefore
cannot be a property of the wearables alone; the simulator, the gateway, serve and the board must
agree on what "now" is. ``KRAAMWACHT_TIME_LAPSE=FACTOR@ORIGIN`` (ORIGIN in Unix seconds) makes
every process's clock run at wall time until ORIGIN and FACTOR times faster after it. Without the
variable the clock is the wall clock. Session timeouts and network timeouts stay on real time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from kraamwacht.errors import InvalidValueError

__all__ = ["ENV", "Clock", "now", "utcnow"]

ENV = "KRAAMWACHT_TIME_LAPSE"


@dataclass(frozen=True, slots=True)
class Clock:
    factor: float = 1.0
    origin_s: float = 0.0

    def __post_init__(self) -> None:
        if not 1.0 <= self.factor <= 3600.0:
            raise InvalidValueError(f"time-lapse factor {self.factor} is outside 1–3600")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Clock:
        text = environ.get(ENV, "").strip()
        if not text:
            return cls()
        try:
            factor, origin = text.split("@")
            return cls(float(factor), float(origin))
        except ValueError as exc:
            raise InvalidValueError(
                f"{ENV}={text!r}: expected FACTOR@ORIGIN_UNIX_S, e.g. 60@1795000000 ({exc})"
            ) from exc

    def as_env(self) -> str:
        return f"{self.factor:g}@{self.origin_s:.3f}"

    def at(self, wall_s: float) -> float:
        """The virtual time at wall time ``wall_s``."""
        if wall_s <= self.origin_s:
            return wall_s
        return self.origin_s + (wall_s - self.origin_s) * self.factor

    def wall_at(self, virtual_s: float) -> float:
        """The wall time at which the clock shows ``virtual_s`` (the inverse of :meth:`at`)."""
        if virtual_s <= self.origin_s:
            return virtual_s
        return self.origin_s + (virtual_s - self.origin_s) / self.factor

    def now(self) -> float:
        return self.at(time.time())

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def real_s(self, virtual_span_s: float) -> float:
        """How long a span of clock time takes in real time (after the origin)."""
        return virtual_span_s / self.factor


CLOCK = Clock.from_env()


def now() -> float:
    """Unix seconds on the shared clock."""
    return CLOCK.now()


def utcnow() -> datetime:
    return CLOCK.utcnow()
