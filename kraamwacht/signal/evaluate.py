"""Alarm quality against labelled fevers: pure functions, ``nan`` where a metric is undefined.

Definitions (also in docs/research.md, "What the numbers mean"):

* **alarm**: a ``raised`` alert event of one of the evaluated rules (escalations and repeats of an
  open alert are not new alarms);
* a febrile subject's **window** runs from ``onset - onset_tolerance_h`` to
  ``reference + post_reference_h`` (to the end of her recording if standard care never found it);
  alarms inside it are *true*, all others *false*;
* **detected**: a true alarm no later than the reference (the first thermometer spot check
  ≥ 38.0 °C); **lead time** = reference − the first such alarm;
* **sensitivity** = detected / febrile subjects that have a reference;
* **false alarms per subject-day** = false alarms / monitored days of all subjects;
* **PPV per alarm** = true alarms / all alarms;
* **data availability** = 10-minute windows with a temperature value / windows in the monitored
  spans (robust to any sampling interval up to 10 minutes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kraamwacht.errors import InvalidValueError
from kraamwacht.signal._pipeline import RULE_CONDITIONS

__all__ = ["TEMPERATURE_RULES", "Alarm", "Coverage", "Label", "Report", "evaluate"]

TEMPERATURE_RULES = frozenset(rule for rule, condition in RULE_CONDITIONS.items() if condition == "temperature")
_DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Alarm:
    """A raised alert as scored: subject, time and rule."""

    subject: str
    time_s: float
    rule: str


@dataclass(frozen=True, slots=True)
class Label:
    """A subject's truth: febrile or not, the onset and the reference measurement's time."""

    subject: str
    febrile: bool
    onset_s: float | None = None
    reference_s: float | None = None


@dataclass(frozen=True, slots=True)
class Coverage:
    """What was monitored of one subject: the span and its 10-minute windows with temperature data."""

    subject: str
    start_s: float
    end_s: float
    windows: int
    windows_with_data: int


@dataclass(frozen=True, slots=True)
class Report:
    """Alarm quality over a cohort (sensitivity, lead time, false alarms per subject-day, PPV)."""

    subjects: int
    febrile: int
    febrile_with_reference: int
    detected: int
    sensitivity: float
    lead_h_median: float
    lead_h_q1: float
    lead_h_q3: float
    alarms: int
    true_alarms: int
    false_alarms: int
    subject_days: float
    false_alarms_per_subject_day: float
    ppv: float
    data_availability: float
    missed: tuple[str, ...]

    def as_dict(self) -> dict[str, float | int | list[str]]:
        """The report as plain values (JSON, CSV)."""
        out: dict[str, float | int | list[str]] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


def evaluate(
    alarms: Iterable[Alarm],
    labels: Mapping[str, Label],
    coverage: Mapping[str, Coverage],
    *,
    rules: frozenset[str] | None = TEMPERATURE_RULES,
    onset_tolerance_h: float = 6.0,
    post_reference_h: float = 24.0,
) -> Report:
    """Score alarms of the subjects in ``coverage`` against ``labels`` (see the module docstring).

    Subjects without a label are counted as not febrile. ``rules=None`` evaluates every rule.
    """
    if onset_tolerance_h < 0 or post_reference_h < 0:
        raise InvalidValueError("onset_tolerance_h and post_reference_h must be >= 0")
    by_subject: dict[str, list[Alarm]] = {s: [] for s in coverage}
    for alarm in alarms:
        if alarm.subject in by_subject and (rules is None or alarm.rule in rules):
            by_subject[alarm.subject].append(alarm)
    true_alarms = false_alarms = detected = febrile = with_ref = 0
    leads: list[float] = []
    missed: list[str] = []
    for subject, subject_alarms in by_subject.items():
        label = labels.get(subject, Label(subject, febrile=False))
        cov = coverage[subject]
        window = _window(label, cov, onset_tolerance_h, post_reference_h)
        times = np.array(sorted(a.time_s for a in subject_alarms))
        inside = (times >= window[0]) & (times <= window[1]) if window else np.zeros(times.size, bool)
        true_alarms += int(inside.sum())
        false_alarms += int((~inside).sum())
        if not label.febrile:
            continue
        febrile += 1
        if label.reference_s is None or window is None:
            continue
        with_ref += 1
        early = times[inside & (times <= label.reference_s)]
        if early.size:
            detected += 1
            leads.append((label.reference_s - early[0]) / 3600.0)
        else:
            missed.append(subject)
    days = sum((c.end_s - c.start_s) / _DAY_S for c in coverage.values())
    windows = sum(c.windows for c in coverage.values())
    with_data = sum(c.windows_with_data for c in coverage.values())
    q1, med, q3 = np.percentile(leads, [25, 50, 75]).tolist() if leads else [math.nan] * 3
    alarms_total = true_alarms + false_alarms
    return Report(
        subjects=len(coverage),
        febrile=febrile,
        febrile_with_reference=with_ref,
        detected=detected,
        sensitivity=detected / with_ref if with_ref else math.nan,
        lead_h_median=med,
        lead_h_q1=q1,
        lead_h_q3=q3,
        alarms=alarms_total,
        true_alarms=true_alarms,
        false_alarms=false_alarms,
        subject_days=days,
        false_alarms_per_subject_day=false_alarms / days if days > 0 else math.nan,
        ppv=true_alarms / alarms_total if alarms_total else math.nan,
        data_availability=with_data / windows if windows else math.nan,
        missed=tuple(missed),
    )


def _window(label: Label, cov: Coverage, tol_h: float, post_h: float) -> tuple[float, float] | None:
    if not label.febrile or label.onset_s is None:
        return None
    end = label.reference_s + post_h * 3600.0 if label.reference_s is not None else cov.end_s
    return label.onset_s - tol_h * 3600.0, end


def alarms_from_events(events: Sequence[Mapping[str, object]]) -> list[Alarm]:
    """``raised`` events (dicts as in ALERTS.jsonl, ``time_s`` already parsed) → alarms."""
    return [
        Alarm(str(e["subject"]), float(e["time_s"]), str(e["rule"]))  # type: ignore[arg-type]
        for e in events
        if e.get("event") == "raised"
    ]
