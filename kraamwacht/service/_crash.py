"""Named crash points for the crash tests: serve dies at once, as ``kill -9`` would, at a chosen step.

``KRAAMWACHT_CRASH_AT=stored`` (after a batch that produced alert events is committed to the store,
before anything is published), ``published`` (after its events are published, before the event log
records them) or ``recorded`` (after the event log, before the broker's messages are acknowledged).
Unset in any real deployment; the tests set it to prove every alert kind survives each step.
"""

from __future__ import annotations

import logging
import os

__all__ = ["STEPS", "crash_point"]

STEPS = ("stored", "published", "recorded")
_LOGGER = logging.getLogger("kraamwacht.serve")


def crash_point(step: str) -> None:
    """Exit without cleaning up (no flush, no DISCONNECT, no will withheld) if ``step`` is the chosen one."""
    if step in os.environ.get("KRAAMWACHT_CRASH_AT", "").split(","):
        _LOGGER.error("crash point %r reached: exiting as kill -9 would", step)
        os._exit(137)
