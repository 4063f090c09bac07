"""Per-condition alerts → the mother's clinical alerts: a new finding shortly after another joins it.

Temperature and pulse are tracked apart (:func:`kraamwacht.signal.track`), but a pulse that rises a
few hours after her temperature is the same illness, not a second alarm on the tablet. A condition
whose own alert opens while a clinical alert raised at most ``window`` epochs earlier is open joins
that alert: it can escalate it, but raises nothing new; joining at the alert's level is a step of
its own (``joined``), so the board shows at once what else was found, and nobody is called again
for it. Later than that, it raises an alert of its own, so a finding hours after an alert that
everybody has long seen is news again (measured on PhysioNet 2019 in docs/tuning.md). An alert
resolves when every condition in it has resolved.

A pure state machine over transitions in time order: the same result however they are cut into
chunks, so batch == streaming holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from kraamwacht.contract import Severity
from kraamwacht.signal._tracker import Transition

__all__ = ["JoinState", "JoinedAlert", "JoinedStep", "join"]


@dataclass(frozen=True, slots=True)
class JoinedAlert:
    """One open clinical alert: its number, when it was raised, its level and what is in it."""

    number: int
    raised_at: int  # epoch
    level: Severity
    members: frozenset[str]  # conditions whose own alert is open inside it
    rules: tuple[str, ...]  # every rule that has been part of it, in order


@dataclass(frozen=True, slots=True)
class JoinState:
    """What joining carries between chunks: the open clinical alerts and how many were raised."""

    open: tuple[JoinedAlert, ...] = ()
    count: int = 0


@dataclass(frozen=True, slots=True)
class JoinedStep:
    """A change of a clinical alert, caused by ``condition``'s own transition under ``rule``."""

    epoch: int
    kind: str  # "raised" | "escalated" | "joined" (at the alert's level) | "resolved"
    level: Severity
    number: int
    raised_at: int
    condition: str
    rule: str
    rules: tuple[str, ...]  # every rule that has been part of the alert, this one included


def join(
    steps: Iterable[tuple[str, Transition, str]], *, state: JoinState, window: int
) -> tuple[list[JoinedStep], JoinState]:
    """Clinical alert steps for ``(condition, its transition, its rule)`` in time order."""
    alerts = list(state.open)
    count = state.count
    out: list[JoinedStep] = []

    def emit(alert: JoinedAlert, tr: Transition, kind: str, condition: str, rule: str) -> None:
        out.append(JoinedStep(tr.epoch, kind, alert.level, alert.number, alert.raised_at, condition, rule, alert.rules))

    for condition, tr, rule in steps:
        if tr.kind == "raised":
            recent = [a for a in alerts if tr.epoch - a.raised_at <= window]
            if not recent:
                count += 1
                alert = JoinedAlert(count, tr.epoch, tr.level, frozenset({condition}), (rule,))
                alerts.append(alert)
                emit(alert, tr, "raised", condition, rule)
                continue
            k = alerts.index(recent[-1])
            alerts[k] = replace(alerts[k], members=alerts[k].members | {condition})
            joining = True
        else:
            joining = False
            k = next(i for i, a in enumerate(alerts) if condition in a.members)
        alert = alerts[k]
        if tr.kind == "resolved":
            alert = replace(alert, members=alert.members - {condition})
            if alert.members:
                alerts[k] = alert
            else:
                del alerts[k]
                emit(alert, tr, "resolved", condition, rule)
            continue
        # a condition joining the alert or rising within it: its rule is part of the alert, whose
        # level follows the highest of its conditions
        rules = alert.rules if rule in alert.rules else (*alert.rules, rule)
        alerts[k] = replace(alert, rules=rules, level=max(alert.level, tr.level))
        if tr.level > alert.level:
            emit(alerts[k], tr, "escalated", condition, rule)
        elif joining:
            emit(alerts[k], tr, "joined", condition, rule)
    return out, JoinState(tuple(alerts), count)
