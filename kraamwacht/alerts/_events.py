"""Rule transitions from the signal core → alert events with words, category and source.

The core decides; this module phrases. :class:`AlertMonitor` and :func:`detect_alerts` are the
streaming and batch detectors with alert events as output, so the service and replay share them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kraamwacht.alerts._rules import RULES, render
from kraamwacht.contract import AlertEvent, AlertEventKind
from kraamwacht.signal import Detection, DetectorConfig, EpochFrame, RuleTransition, SubjectMonitor, detect

__all__ = ["AlertDetection", "AlertMonitor", "alert_events", "detect_alerts"]

FloatArray = NDArray[np.float64]


def alert_events(transitions: Iterable[RuleTransition]) -> list[AlertEvent]:
    """One alert event per transition, in the same order, with Dutch and English words."""
    events = []
    for tr in transitions:
        rule = RULES[tr.rule]
        text_nl, text_en = render(tr.rule, tr.kind, tr.values)
        events.append(
            AlertEvent(
                time=tr.time,
                subject=tr.subject,
                alert_id=f"{tr.subject}:{tr.group}:{tr.number}",
                event=AlertEventKind(tr.kind),
                level=tr.level,
                category=rule.category,
                rule=tr.rule,
                message=text_nl,
                message_en=text_en,
                values=dict(tr.values),
                source=rule.source,
            )
        )
    return events


@dataclass(frozen=True, slots=True)
class AlertDetection:
    """A batch run's alert events beside the core's result (frame, transitions, counts)."""

    detection: Detection
    events: list[AlertEvent]

    @property
    def frame(self) -> EpochFrame:
        """The per-epoch series behind the events."""
        return self.detection.frame

    @property
    def n_samples(self) -> int:
        """Samples the detectors used."""
        return self.detection.n_samples


def detect_alerts(
    samples: Mapping[str, tuple[FloatArray, FloatArray]], cfg: DetectorConfig | None = None, *, subject: str
) -> AlertDetection:
    """:func:`kraamwacht.signal.detect` with its transitions phrased as alert events."""
    detection = detect(samples, cfg, subject=subject)
    return AlertDetection(detection, alert_events(detection.transitions))


class AlertMonitor:
    """:class:`kraamwacht.signal.SubjectMonitor` whose output is alert events (live == replay)."""

    def __init__(self, cfg: DetectorConfig | None = None, *, subject: str) -> None:
        self.core = SubjectMonitor(cfg, subject=subject)

    @property
    def late_samples(self) -> int:
        """Samples that arrived after their epoch was closed (not used for detection)."""
        return self.core.late_samples

    @property
    def has_open_epochs(self) -> bool:
        """Whether samples wait in epochs not yet closed."""
        return self.core.has_open_epochs

    @property
    def epochs_closed(self) -> int:
        """Epochs closed so far: whether an update produced a new :attr:`last_frame`."""
        return self.core.epochs_closed

    @property
    def last_frame(self) -> EpochFrame | None:
        """The per-epoch series of the last run of closed epochs (baseline, core estimate, ...)."""
        return self.core.last_frame

    def update(self, samples: Mapping[str, tuple[ArrayLike, ArrayLike]]) -> list[AlertEvent]:
        """Add samples that arrived together; the alert events they made final."""
        return alert_events(self.core.update(samples))

    def flush(self) -> list[AlertEvent]:
        """Close all open epochs (end of a recording)."""
        return alert_events(self.core.flush())
