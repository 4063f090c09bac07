"""Named crash points for the crash tests: a process dies at once, as ``kill -9`` would, at a chosen step.

serve: ``KRAAMWACHT_CRASH_AT=stored`` (after a batch that produced alert events is committed to
the store, before anything is published), ``published`` (after its events are published, before
the event log records them) or ``recorded`` (after the event log, before the broker's messages
are acknowledged). The gateway: ``sent`` (the broker acknowledged a message of the spool, the
spool has not yet marked it sent: every sample of that round comes again after the restart).
A kill at a chosen step, not at a moment a test hopes to hit: a backlog leaves the gateway in
milliseconds. Unset in any real deployment.
"""

from __future__ import annotations

import logging
import os

__all__ = ["GATEWAY_STEPS", "SERVE_STEPS", "crash_point"]

SERVE_STEPS = ("stored", "published", "recorded")
GATEWAY_STEPS = ("sent",)
_LOGGER = logging.getLogger("kraamwacht.crashpoints")


def crash_point(step: str) -> None:
    """Exit without cleaning up (no flush, no DISCONNECT, no will withheld) if ``step`` is the chosen one."""
    if step in os.environ.get("KRAAMWACHT_CRASH_AT", "").split(","):
        _LOGGER.error("crash point %r reached: exiting as kill -9 would", step)
        os._exit(137)
