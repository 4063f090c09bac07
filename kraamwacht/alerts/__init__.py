"""Alerts: the rule registry, rule transitions → alert events, jaundice alerts, and the lifecycle.

Pure code (no I/O, no clock). Below it: ``kraamwacht.signal`` (which rule changed, on which
numbers) and ``kraamwacht.jaundice`` (bilirubin advice); above it: serve, replay and the board.
"""

from kraamwacht.alerts._events import AlertDetection, AlertMonitor, alert_events, detect_alerts
from kraamwacht.alerts._jaundice import jaundice_events
from kraamwacht.alerts._lifecycle import AlertBook, AlertRecord, Command, Outcome
from kraamwacht.alerts._rules import RULES, Rule, display_name, joined_names, render, state_name

__all__ = [
    "RULES",
    "AlertBook",
    "AlertDetection",
    "AlertMonitor",
    "AlertRecord",
    "Command",
    "Outcome",
    "Rule",
    "alert_events",
    "detect_alerts",
    "display_name",
    "jaundice_events",
    "joined_names",
    "render",
    "state_name",
]
