"""The second channel: alerts that need a person also go out through apprise (ntfy, Pushover,
e-mail, webhooks: anything apprise takes as a URL).

Best effort by design: the MQTT events and the retained alert state are the record; a push that
fails is logged (by scheme only: the URLs hold secrets) and counted, and never holds up ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from urllib.parse import urlparse

import apprise

from kraamwacht.contract import AlertEvent, AlertEventKind
from kraamwacht.errors import InvalidValueError

__all__ = ["Notifier", "needs_a_person"]

_LOGGER = logging.getLogger(__name__)
_PERSON_EVENTS = {AlertEventKind.RAISED, AlertEventKind.ESCALATED, AlertEventKind.REPEATED}


def needs_a_person(event: AlertEvent) -> bool:
    """Raised, escalated or repeated, and clinical or urgent; joins, acknowledgements and resolves do not page."""
    return event.event in _PERSON_EVENTS and (event.category == "clinical" or event.level == "urgent")


class Notifier:
    def __init__(self, urls: Sequence[str]) -> None:
        self._apprise = apprise.Apprise()
        self.schemes = []
        for url in urls:
            scheme = urlparse(url).scheme or "?"
            if not self._apprise.add(url):
                raise InvalidValueError(f"apprise does not accept this {scheme}:// URL")
            self.schemes.append(scheme)
        self.sent = 0
        self.failed = 0

    def notify(self, events: Iterable[AlertEvent]) -> None:
        for event in events:
            if not needs_a_person(event):
                continue
            title = f"kraamwacht {event.level.value.upper()}: {event.rule} ({event.subject})"
            body = f"{event.message}\n\n{event.message_en}\n\nBron: {event.source}"
            ok = self._apprise.notify(title=title, body=body)
            if ok:
                self.sent += 1
            else:
                self.failed += 1
                _LOGGER.warning("push for %s failed on %s", event.alert_id, ", ".join(self.schemes))
