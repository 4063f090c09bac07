"""Desired level per epoch → alert transitions (raised / escalated / resolved), one condition at a time.

The tracker walks *runs* of equal level rather than single epochs, so a recording of weeks costs
one step per change, and it gives the same transitions however the epochs are cut into chunks
(the state carries the unfinished run). Rules:

* raise when the level becomes > 0; a *warning* within ``min_reraise`` epochs of the previous
  resolve waits until that interval has passed (urgent never waits);
* escalate when the level rises above the alert's current level; an alert never de-escalates;
* resolve once the level has been 0 for ``resolve_after`` epochs (hysteresis in time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kraamwacht.contract import Severity
from kraamwacht.errors import InvalidValueError

__all__ = ["TrackerState", "Transition", "track"]


@dataclass(frozen=True, slots=True)
class TrackerState:
    """What the tracker carries between chunks: the open alert, its clear run and the count."""

    level: Severity = Severity.OK
    clear_since: int | None = None  # epoch from which the condition has been clear
    last_resolved: int | None = None
    raised_at: int | None = None
    count: int = 0  # alerts raised so far in this group (numbers the alert ids)


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of one group's alert at an epoch: raised, escalated or resolved."""

    epoch: int
    kind: str  # "raised" | "escalated" | "resolved"
    level: Severity
    number: int  # which alert of the condition (1, 2, ...)
    raised_at: int


def track(
    levels: NDArray[np.int8],
    *,
    start_epoch: int,
    state: TrackerState,
    resolve_after: int,
    min_reraise: int,
) -> tuple[list[Transition], TrackerState]:
    """Transitions for the epochs ``start_epoch .. start_epoch + len(levels) - 1``."""
    if resolve_after < 1 or min_reraise < 0:
        raise InvalidValueError(f"resolve_after must be >= 1 and min_reraise >= 0, got {resolve_after=} {min_reraise=}")
    n = levels.size
    if n == 0:
        return [], state
    if n == 1 or (levels[0] == levels[-1] and (levels == levels[0]).all()):  # one run (a live update)
        starts, ends = [0], [n]
    else:
        change = np.flatnonzero(np.diff(levels)) + 1
        starts = [0, *change.tolist()]
        ends = [*change.tolist(), n]
    out: list[Transition] = []
    level, clear_since, last_resolved = state.level, state.clear_since, state.last_resolved
    raised_at, count = state.raised_at, state.count
    for s, e in zip(starts, ends, strict=True):
        desired = Severity.from_rank(int(levels[s]))
        first, last = start_epoch + s, start_epoch + e - 1
        if level is Severity.OK:
            if desired is Severity.OK:
                continue
            at = first
            if desired is Severity.WARNING and last_resolved is not None:
                at = max(first, last_resolved + min_reraise)
            if at <= last:
                level, count, raised_at, clear_since = desired, count + 1, at, None
                out.append(Transition(at, "raised", level, count, at))
        elif desired is Severity.OK:
            clear_since = first if clear_since is None else clear_since
            at = clear_since + resolve_after - 1  # the epoch that completes resolve_after clear epochs
            if at <= last:
                out.append(Transition(at, "resolved", level, count, raised_at if raised_at is not None else at))
                level, last_resolved, clear_since = Severity.OK, at, None
        else:
            clear_since = None
            if desired > level:
                level = desired
                out.append(Transition(first, "escalated", level, count, raised_at if raised_at is not None else first))
    return out, TrackerState(level, clear_since, last_resolved, raised_at, count)
