"""The gateway's BLE side: find the paired wearables, keep them connected, decode into the spool.

Ordinary bleak code: the BLE backend is chosen in one place (``backend`` arguments; bleak's own
platform backend by default, the bumble backend for the emulated wearables). Per wearable one task
connects with bleak-retry-connector, checks the serial number against the registry, subscribes to
temperature (indicate), heart rate (notify) and battery, and reconnects when the link drops.

Timestamps: the thermometer's own time stamp where it sends one, the receive time otherwise; a
device clock more than ``CLOCK_SKEW_S`` off the receive time is flagged ``clock_skew`` and the
receive time is used. Every decoded sample goes to the spool, which numbers it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak_retry_connector import establish_connection

from kraamwacht.gateway.decode import (
    BATTERY_LEVEL,
    HEART_RATE_MEASUREMENT,
    TEMPERATURE_MEASUREMENT,
    DecodeError,
    decode_battery,
    decode_heart_rate,
    decode_temperature,
)
from kraamwacht.gateway.registry import Assignment, Registry
from kraamwacht.gateway.spool import Spool

__all__ = ["CLOCK_SKEW_S", "Gateway", "WearableLink"]

_LOGGER = logging.getLogger(__name__)
HEALTH_THERMOMETER = "00001809-0000-1000-8000-00805f9b34fb"
SERIAL_NUMBER = "00002a25-0000-1000-8000-00805f9b34fb"
CLOCK_SKEW_S = 300.0  # beyond the contract's 5-minute tolerance the device clock is not trusted
RECONNECT_DELAY_S = 0.5


class WearableLink:
    """One paired wearable: connected, subscribed, decoded into the spool; reconnected after a drop."""

    def __init__(
        self,
        assignment: Assignment,
        device: BLEDevice,
        spool: Spool,
        *,
        client_backend: type | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.assignment = assignment
        self.device = device
        self.spool = spool
        self.client_backend = client_backend
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self.connected = asyncio.Event()
        self.last_reconnect_s: float | None = None

    def _store(self, signal: str, value: float, at: datetime, quality: tuple[str, ...] = ()) -> None:
        a = self.assignment
        self.spool.append(
            site=a.site,
            episode=a.episode,
            subject=a.subject,
            device=a.device_id,
            samples=[(signal, value, at, quality)],
        )
        self.counts[signal] += 1

    def _on_temperature(self, _char: Any, data: bytearray) -> None:
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        try:
            reading = decode_temperature(bytes(data))
        except DecodeError as exc:
            self.counts[f"rejected:{exc.reason.value}"] += 1
            _LOGGER.warning("%s: temperature bytes rejected: %s", self.assignment.device_id, exc)
            return
        at, quality = now, ()
        if reading.timestamp is not None:
            device_time = reading.timestamp.replace(tzinfo=UTC)
            if abs((device_time - now).total_seconds()) <= CLOCK_SKEW_S:
                at = device_time
            else:
                quality = ("clock_skew",)
                self.counts["clock_skew"] += 1
        self._store("temperature_c", reading.temp_c, at, quality)

    def _on_heart_rate(self, _char: Any, data: bytearray) -> None:
        try:
            reading = decode_heart_rate(bytes(data))
        except DecodeError as exc:
            self.counts[f"rejected:{exc.reason.value}"] += 1
            return
        quality = ("no_skin_contact",) if reading.skin_contact is False else ()
        self._store("heart_rate_bpm", reading.hr_bpm, datetime.fromtimestamp(self.clock(), tz=UTC), quality)

    def _on_battery(self, _char: Any, data: bytearray) -> None:
        try:
            reading = decode_battery(bytes(data))
        except DecodeError as exc:
            self.counts[f"rejected:{exc.reason.value}"] += 1
            return
        self._store("battery_pct", reading.battery_pct, datetime.fromtimestamp(self.clock(), tz=UTC))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            dropped = asyncio.Event()
            kwargs: dict[str, Any] = {"backend": self.client_backend} if self.client_backend else {}
            kwargs["disconnected_callback"] = lambda _c, dropped=dropped: dropped.set()
            started = time.monotonic()
            try:
                client = await establish_connection(
                    BleakClient, self.device, self.device.name or self.assignment.serial, max_attempts=3, **kwargs
                )  # fmt: skip
            except Exception as exc:  # bleak-retry-connector raises its typed errors; try again later
                _LOGGER.warning("%s: cannot connect (%s)", self.assignment.device_id, exc)
                await asyncio.sleep(RECONNECT_DELAY_S)
                continue
            serial = bytes(await client.read_gatt_char(SERIAL_NUMBER)).decode(errors="replace")
            if serial != self.assignment.serial:
                _LOGGER.warning("%s: serial %r does not match the registry; disconnecting", self.device.address, serial)
                await client.disconnect()
                return
            await client.start_notify(TEMPERATURE_MEASUREMENT, self._on_temperature)
            await client.start_notify(HEART_RATE_MEASUREMENT, self._on_heart_rate)
            await client.start_notify(BATTERY_LEVEL, self._on_battery)
            self._on_battery(None, await client.read_gatt_char(BATTERY_LEVEL))
            if self.counts["connects"]:
                self.last_reconnect_s = time.monotonic() - started
            self.counts["connects"] += 1
            self.connected.set()
            done = asyncio.ensure_future(stop.wait())
            await asyncio.wait([done, asyncio.ensure_future(dropped.wait())], return_when=asyncio.FIRST_COMPLETED)
            self.connected.clear()
            if stop.is_set():
                await client.disconnect()
                return
            self.counts["disconnects"] += 1
            _LOGGER.info("%s: link lost; reconnecting", self.assignment.device_id)
            await asyncio.sleep(RECONNECT_DELAY_S)


class Gateway:
    """Scan for the paired wearables and keep one :class:`WearableLink` per wearable."""

    def __init__(
        self,
        registry: Registry,
        spool: Spool,
        *,
        scanner_backend: type | None = None,
        client_backend: type | None = None,
    ) -> None:
        self.registry = registry
        self.spool = spool
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.links: dict[str, WearableLink] = {}
        self.ignored: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    def _on_advertisement(self, device: BLEDevice, adv: AdvertisementData, stop: asyncio.Event) -> None:
        name = adv.local_name or ""
        serial = name.removeprefix("KW-") if name.startswith("KW-") else None
        if serial is None or serial in self.links:
            return
        assignment = self.registry.get(serial)
        if assignment is None:
            if serial not in self.ignored:
                _LOGGER.info("ignoring unpaired wearable %s", serial)
                self.ignored.add(serial)
            return
        link = WearableLink(assignment, device, self.spool, client_backend=self.client_backend)
        self.links[serial] = link
        self._tasks.append(asyncio.ensure_future(link.run(stop), loop=None))

    async def run(self, stop: asyncio.Event) -> None:
        kwargs = {"backend": self.scanner_backend} if self.scanner_backend else {}
        scanner = BleakScanner(
            lambda d, a: self._on_advertisement(d, a, stop), service_uuids=[HEALTH_THERMOMETER], **kwargs
        )
        await scanner.start()
        try:
            await stop.wait()
        finally:
            await scanner.stop()
            await asyncio.gather(*self._tasks, return_exceptions=True)
