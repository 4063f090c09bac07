"""Alert lifecycle core: detector output → alert transitions and their bilingual messages.

Pure code (no I/O, no clock): the service and replay both feed it. The full lifecycle
(acknowledge, snooze, escalation on no response, stale data) builds on these transitions.
"""

# last: the jaundice module reaches into kraamwacht.signal, which itself imports the names above
from kraamwacht.alerts._jaundice import jaundice_events
from kraamwacht.alerts._messages import RULES, Rule, render
from kraamwacht.alerts._tracker import Level, TrackerState, Transition, track

__all__ = ["RULES", "Level", "Rule", "TrackerState", "Transition", "jaundice_events", "render", "track"]
