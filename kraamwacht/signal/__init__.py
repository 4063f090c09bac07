"""Signal core: cleaning, personal baseline and early-warning detectors for the mother's wearable.

Pure numpy/scipy, no I/O and no clock: time arrives with the data. Two APIs with identical
results: :func:`detect` (batch over a recording) and :class:`SubjectMonitor` (streaming).
"""

from kraamwacht.signal._pipeline import Detection, EpochFrame, MonitorState, SubjectMonitor, detect, process_epochs
from kraamwacht.signal.config import DetectorConfig

__all__ = ["Detection", "DetectorConfig", "EpochFrame", "MonitorState", "SubjectMonitor", "detect", "process_epochs"]
