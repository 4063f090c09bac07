"""Per-wearable status the gateway publishes (retained): connected, last seen, battery, RSSI, gaps.

The BLE side updates it; the publisher thread sends what changed. It is the latest state, not a
log: a status that is overwritten before it is sent is not lost data (the samples are in the spool).
``last_seen`` alone changing is sent at most every ``LAST_SEEN_EVERY_S`` so that 200 wearables do
not add 200 messages a second.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

__all__ = ["LAST_SEEN_EVERY_S", "DeviceStatus", "StatusBoard"]

LAST_SEEN_EVERY_S = 30.0


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    device: str
    serial: str
    connected: bool = False
    last_seen_s: float | None = None  # epoch seconds of the last reading received
    battery_pct: int | None = None
    rssi_dbm: int | None = None
    disconnects: int = 0
    last_gap_s: float | None = None  # the last link loss: from the last reading before it to the reconnect
    clock_offset_s: float | None = None  # gateway clock minus device clock, read at connect
    rejected: int = 0  # characteristic values that did not decode

    def to_json_dict(self) -> dict[str, object]:
        out = asdict(self)
        seen = out.pop("last_seen_s")
        out["last_seen"] = None if seen is None else datetime.fromtimestamp(seen, tz=UTC).isoformat()
        return out


@dataclass
class StatusBoard:
    statuses: dict[str, DeviceStatus] = field(default_factory=dict)
    _sent: dict[str, tuple[DeviceStatus, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, device: str, serial: str, **changes: object) -> DeviceStatus:
        with self._lock:
            current = self.statuses.get(device) or DeviceStatus(device, serial)
            self.statuses[device] = new = replace(current, **changes)  # type: ignore[arg-type]
            return new

    def get(self, device: str) -> DeviceStatus | None:
        with self._lock:
            return self.statuses.get(device)

    def due(self, *, now_s: float | None = None) -> list[DeviceStatus]:
        """Statuses to send: anything but ``last_seen`` changed, or ``last_seen`` is old news."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            out = []
            for device, status in self.statuses.items():
                sent = self._sent.get(device)
                if sent is None:
                    out.append(status)
                    continue
                previous, at = sent
                if replace(previous, last_seen_s=status.last_seen_s) != status or (
                    previous.last_seen_s != status.last_seen_s and now_s - at >= LAST_SEEN_EVERY_S
                ):
                    out.append(status)
            return out

    def forget(self, device: str) -> None:
        """Drop a wearable that is no longer paired (its next status, if any, is sent as new)."""
        with self._lock:
            self.statuses.pop(device, None)
            self._sent.pop(device, None)

    def mark_sent(self, status: DeviceStatus, *, now_s: float | None = None) -> None:
        with self._lock:
            self._sent[status.device] = (status, time.monotonic() if now_s is None else now_s)
