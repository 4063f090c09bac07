"""A wearable's backlog held per subject for a moment, so that serve detects it in few updates.

An update of a subject's detectors costs about a millisecond whatever it carries (0.6 ms for 30
samples, 1.3 ms for 5,000: docs/benchmarks.md), so a spool flush detected message by message
pays one per 1,000-sample message, most of serve's time in a flush. A backlog is stored (and
acknowledged) at once, but its detection waits until the wearable's live samples come again
(they follow the backlog out of the gateway's spool, and take it along), serve is quiet for a
moment, or at most ``hold_s``: its alerts come seconds later after an outage of a minute or
more, and one update carries the whole backlog. Live samples are never held. The detectors bin
in whole quanta, so joining updates does not change what they find."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

__all__ = ["BacklogHold", "join_inputs"]

Key = tuple[str, str]  # (episode, subject)
Inputs = dict[str, tuple]  # detector key → (t_s, value), as serve's core feeds an AlertMonitor


def join_inputs(*parts: Inputs) -> Inputs:
    """One update's inputs from several, per detector key, in their order (arrays or lists alike)."""
    keys = dict.fromkeys(key for part in parts for key in part)
    joined: Inputs = {}
    for key in keys:
        pieces = [part[key] for part in parts if key in part]
        if len(pieces) == 1:
            joined[key] = pieces[0]
        else:
            joined[key] = (np.concatenate([t for t, _ in pieces]), np.concatenate([v for _, v in pieces]))
    return joined


@dataclass(slots=True)
class _Held:
    since: datetime
    parts: list[Inputs]  # joined once, when released: a long backlog is not copied message by message
    samples: int


@dataclass(slots=True)
class BacklogHold:
    """Backlog samples per subject, stored already, waiting at most ``hold_s`` for their detection.

    Bounded: a subject holding ``subject_max`` samples, or all together ``total_max``, is released
    at once, so memory stays some 20 MB however large a flush is.
    """

    hold_s: float = 5.0
    subject_max: int = 20_000
    total_max: int = 1_000_000
    _held: dict[Key, _Held] = field(default_factory=dict)
    _total: int = 0

    def __len__(self) -> int:
        """Samples held."""
        return self._total

    def hold(self, key: Key, inputs: Inputs, *, now: datetime) -> None:
        n = sum(len(t) for t, _ in inputs.values())
        held = self._held.get(key)
        if held is None:
            self._held[key] = _Held(now, [inputs], n)
        else:
            held.parts.append(inputs)
            held.samples += n
        self._total += n

    def take(self, key: Key) -> Inputs:
        """What is held for this subject (nothing: ``{}``), released."""
        held = self._held.pop(key, None)
        if held is None:
            return {}
        self._total -= held.samples
        return join_inputs(*held.parts)

    def due(self, now: datetime) -> dict[Key, Inputs]:
        """Release what has waited ``hold_s``, every subject at her cap, and everything past the total cap."""
        if self._total >= self.total_max:
            return self.all()
        oldest = now - timedelta(seconds=self.hold_s)
        keys = [k for k, h in self._held.items() if h.since <= oldest or h.samples >= self.subject_max]
        return {k: self.take(k) for k in keys}

    def all(self) -> dict[Key, Inputs]:
        return {k: self.take(k) for k in list(self._held)}
