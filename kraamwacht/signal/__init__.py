"""Signal core: cleaning, personal baseline and early-warning detectors for the mother's wearable.

Pure numpy/scipy, no I/O and no clock: time arrives with the data. Two APIs with identical
results: :func:`detect` (batch over a recording) and :class:`SubjectMonitor` (streaming). Both
return :class:`RuleTransition` s (which rule changed, when, on which numbers); the words, the
category and the lifecycle are ``kraamwacht.alerts``'s.
"""

from kraamwacht.signal._pipeline import (
    CONDITIONS,
    GROUPS,
    RULE_CONDITIONS,
    RULE_GROUPS,
    Detection,
    EpochFrame,
    MonitorState,
    RuleTransition,
    SubjectMonitor,
    detect,
    process_epochs,
    thermometer_key,
)
from kraamwacht.signal._tracker import TrackerState, Transition, track
from kraamwacht.signal.config import DetectorConfig

__all__ = [
    "CONDITIONS",
    "GROUPS",
    "RULE_CONDITIONS",
    "RULE_GROUPS",
    "Detection",
    "DetectorConfig",
    "EpochFrame",
    "MonitorState",
    "RuleTransition",
    "SubjectMonitor",
    "TrackerState",
    "Transition",
    "detect",
    "process_epochs",
    "thermometer_key",
    "track",
]
