"""The gateway's BLE side: find the paired wearables, keep them connected, decode into the spool.

Ordinary bleak code: the BLE backend is chosen in one place (``backend`` arguments; bleak's own
platform backend by default, the bumble backend for the emulated wearables). Per wearable one task
waits until the wearable advertises, connects with bleak-retry-connector, checks the serial number
against the registry, reads its clock, subscribes to temperature (indicate), heart rate (notify)
and battery, and after a drop waits for the next advertisement and connects again. Connecting
only to a wearable that is advertising keeps connect attempts short, so a wearable that comes
back in range is connected within about one advertising interval.

Timestamps: the thermometer's own time stamp where it sends one, the receive time otherwise. The
wearable's clock (Current Time, read at connect) gives its offset from ours; beyond
``CLOCK_SKEW_S`` its time stamps are corrected by that offset and flagged ``clock_skew``. Without a
clock to read, a time stamp beyond ``CLOCK_SKEW_S`` is replaced by the receive time and flagged.
A reading stamped more than ``REPLAYED_AFTER_S`` before it arrived came from the wearable's
buffer (sent on reconnect) and is flagged ``replayed``. Every decoded sample goes to the spool, which numbers it.

Scanning runs only while a paired wearable is not connected: with every wearable connected it
would cost radio time (a real adapter shares one radio between scanning and its links) and CPU.

Watchdog: a BLE adapter can go silent without an error (field experience of BLE gateways). When
nothing at all is heard (no advertisement, no reading) for ``silence_s`` while wearables are
paired, the scanner is restarted and the event counted; after ``max_silent_restarts`` restarts in
a row the gateway reports itself unhealthy, and ``gateway run`` exits so that systemd restarts it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak_retry_connector import establish_connection

from kraamwacht import clock as shared_clock
from kraamwacht.gateway.decode import (
    BATTERY_LEVEL,
    CURRENT_TIME,
    HEART_RATE_MEASUREMENT,
    TEMPERATURE_MEASUREMENT,
    DecodeError,
    decode_battery,
    decode_current_time,
    decode_heart_rate,
    decode_temperature,
)
from kraamwacht.gateway.registry import Assignment, Registry
from kraamwacht.gateway.spool import Spool
from kraamwacht.gateway.status import StatusBoard

__all__ = ["CLOCK_SKEW_S", "Gateway", "WearableLink"]

_LOGGER = logging.getLogger(__name__)
HEALTH_THERMOMETER = "00001809-0000-1000-8000-00805f9b34fb"
SERIAL_NUMBER = "00002a25-0000-1000-8000-00805f9b34fb"
CLOCK_SKEW_S = 300.0  # beyond the contract's 5-minute tolerance the device clock is not trusted
REPLAYED_AFTER_S = 10.0  # a reading this much older than its arrival was sent from the wearable's buffer
RECONNECT_DELAY_S = 0.2
UNPAIRED_RECHECK_S = 5.0


class WearableLink:
    """One paired wearable: connected, subscribed, decoded into the spool; reconnected after a drop."""

    def __init__(
        self,
        assignment: Assignment,
        device: BLEDevice,
        spool: Spool,
        *,
        client_backend: type | None = None,
        clock: Callable[[], float] = shared_clock.now,
        board: StatusBoard | None = None,
        on_heard: Callable[[], None] = lambda: None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.assignment = assignment
        self.device = device
        self.spool = spool
        self.client_backend = client_backend
        self.clock = clock
        self.board = board or StatusBoard()
        self.on_heard = on_heard
        self.on_change = on_change
        self.counts: Counter[str] = Counter()
        self.connected = asyncio.Event()
        self.advertising = asyncio.Event()
        self.advertising.set()  # the link is made from an advertisement
        self.last_reconnect_s: float | None = None
        self.clock_offset_s: float | None = None
        self._last_reading_mono: float | None = None
        self._status(connected=False)

    def _status(self, **changes: Any) -> None:
        self.board.update(self.assignment.device_id, self.assignment.serial, **changes)

    def advertised(self, device: BLEDevice, adv: AdvertisementData) -> None:
        """The scanner heard this wearable: it is in range and connectable."""
        self.device = device
        self._status(rssi_dbm=adv.rssi)
        self.advertising.set()

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
        self._last_reading_mono = time.monotonic()
        self.on_heard()
        self._status(last_seen_s=self.clock())

    def _rejected(self, what: str, exc: DecodeError) -> None:
        self.counts[f"rejected:{exc.reason.value}"] += 1
        self._status(rejected=sum(v for k, v in self.counts.items() if k.startswith("rejected:")))
        _LOGGER.warning("%s: %s bytes rejected: %s", self.assignment.device_id, what, exc)

    def _device_time(self, stamp: datetime, now: datetime) -> tuple[datetime, tuple[str, ...]]:
        device_time = stamp.replace(tzinfo=UTC)
        if self.clock_offset_s is not None:
            if abs(self.clock_offset_s) <= CLOCK_SKEW_S:
                return device_time, ()
            self.counts["clock_skew"] += 1
            return device_time + timedelta(seconds=self.clock_offset_s), ("clock_skew",)
        if abs((device_time - now).total_seconds()) <= CLOCK_SKEW_S:
            return device_time, ()
        self.counts["clock_skew"] += 1
        return now, ("clock_skew",)

    def _on_temperature(self, _char: Any, data: bytearray) -> None:
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        try:
            reading = decode_temperature(bytes(data))
        except DecodeError as exc:
            self._rejected("temperature", exc)
            return
        at, quality = now, ()
        if reading.timestamp is not None:
            at, quality = self._device_time(reading.timestamp, now)
            if shared_clock.CLOCK.real_s((now - at).total_seconds()) > REPLAYED_AFTER_S:  # real seconds in a time-lapse
                quality += ("replayed",)
                self.counts["replayed"] += 1
        self._store("temperature_c", reading.temp_c, at, quality)

    def _on_heart_rate(self, _char: Any, data: bytearray) -> None:
        try:
            reading = decode_heart_rate(bytes(data))
        except DecodeError as exc:
            self._rejected("heart rate", exc)
            return
        quality = ("no_skin_contact",) if reading.skin_contact is False else ()
        self._store("heart_rate_bpm", reading.hr_bpm, datetime.fromtimestamp(self.clock(), tz=UTC), quality)

    def _on_battery(self, _char: Any, data: bytearray) -> None:
        try:
            reading = decode_battery(bytes(data))
        except DecodeError as exc:
            self._rejected("battery", exc)
            return
        self._status(battery_pct=reading.battery_pct)
        self._store("battery_pct", reading.battery_pct, datetime.fromtimestamp(self.clock(), tz=UTC))

    async def _read_clock(self, client: BleakClient) -> None:
        """The wearable's clock against ours; ``None`` when it has no Current Time service."""
        if client.services.get_characteristic(CURRENT_TIME) is None:
            self.clock_offset_s = None
            return
        try:
            device_now = decode_current_time(bytes(await client.read_gatt_char(CURRENT_TIME)))
        except DecodeError as exc:
            self._rejected("current time", exc)
            self.clock_offset_s = None
            return
        self.clock_offset_s = round(self.clock() - device_now.replace(tzinfo=UTC).timestamp(), 3)
        if abs(self.clock_offset_s) > CLOCK_SKEW_S:
            _LOGGER.warning(
                "%s: device clock is %.0f s off; its time stamps are corrected and flagged clock_skew",
                self.assignment.device_id,
                -self.clock_offset_s,
            )
        self._status(clock_offset_s=self.clock_offset_s)

    async def run(self, stop: asyncio.Event) -> None:
        dropped_at: float | None = None
        while not stop.is_set():
            seen = asyncio.ensure_future(self.advertising.wait())
            halt = asyncio.ensure_future(stop.wait())
            await asyncio.wait([seen, halt], return_when=asyncio.FIRST_COMPLETED)
            seen.cancel()
            halt.cancel()
            if stop.is_set():
                return
            self.advertising.clear()
            dropped = asyncio.Event()
            kwargs: dict[str, Any] = {"backend": self.client_backend} if self.client_backend else {}
            kwargs["disconnected_callback"] = lambda _c, dropped=dropped: dropped.set()
            started = time.monotonic()
            try:
                client = await establish_connection(
                    BleakClient, self.device, self.device.name or self.assignment.serial, max_attempts=3, **kwargs
                )  # fmt: skip
                serial = bytes(await client.read_gatt_char(SERIAL_NUMBER)).decode(errors="replace")
                if serial != self.assignment.serial:
                    _LOGGER.warning(
                        "%s: serial %r does not match the registry; disconnecting", self.device.address, serial
                    )
                    await client.disconnect()
                    return
                await self._read_clock(client)
                await client.start_notify(TEMPERATURE_MEASUREMENT, self._on_temperature)
                await client.start_notify(HEART_RATE_MEASUREMENT, self._on_heart_rate)
                await client.start_notify(BATTERY_LEVEL, self._on_battery)
                self._on_battery(None, await client.read_gatt_char(BATTERY_LEVEL))
            except Exception as exc:  # bleak-retry-connector's typed errors, or the link dropped while setting up
                _LOGGER.warning("%s: cannot connect (%s)", self.assignment.device_id, exc)
                self.counts["connect_failures"] += 1
                await asyncio.sleep(RECONNECT_DELAY_S)
                self.advertising.set()  # try again; a wearable that is gone fails fast without advertisements
                continue
            if self.counts["connects"]:
                self.last_reconnect_s = time.monotonic() - started
            self.counts["connects"] += 1
            gap = {} if dropped_at is None else {"last_gap_s": round(time.monotonic() - dropped_at, 3)}
            if gap:
                _LOGGER.info("%s: reconnected after a gap of %.1f s", self.assignment.device_id, gap["last_gap_s"])
            self._status(connected=True, **gap)
            self.connected.set()
            self.on_change()
            done = asyncio.ensure_future(stop.wait())
            lost = asyncio.ensure_future(dropped.wait())
            await asyncio.wait([done, lost], return_when=asyncio.FIRST_COMPLETED)
            done.cancel()
            lost.cancel()
            self.connected.clear()
            self.on_change()
            if stop.is_set():
                await client.disconnect()
                self._status(connected=False)
                return
            dropped_at = self._last_reading_mono or time.monotonic()  # the data gap began with the last reading
            self.counts["disconnects"] += 1
            self._status(connected=False, disconnects=self.counts["disconnects"])
            _LOGGER.info("%s: link lost; waiting for it to advertise again", self.assignment.device_id)


class Gateway:
    """Scan for the paired wearables, keep one :class:`WearableLink` per wearable, watch the adapter."""

    def __init__(
        self,
        registry: Registry,
        spool: Spool,
        *,
        scanner_backend: type | None = None,
        client_backend: type | None = None,
        board: StatusBoard | None = None,
        silence_s: float = 60.0,
        max_silent_restarts: int = 3,
    ) -> None:
        self.registry = registry
        self.spool = spool
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.board = board or StatusBoard()
        self.silence_s = silence_s
        self.max_silent_restarts = max_silent_restarts
        self.links: dict[str, WearableLink] = {}
        self.ignored: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.healthy = True
        self._last_heard = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._recheck_at: dict[str, float] = {}
        self._changed = asyncio.Event()  # a link came up or went down

    def _heard(self) -> None:
        self._last_heard = time.monotonic()

    def _on_advertisement(self, device: BLEDevice, adv: AdvertisementData, stop: asyncio.Event) -> None:
        self._heard()
        name = adv.local_name or ""
        serial = name.removeprefix("KW-") if name.startswith("KW-") else None
        if serial is None:
            return
        if serial in self.links:
            self.links[serial].advertised(device, adv)
            return
        if self._recheck_at.get(serial, 0.0) > time.monotonic():
            return  # unpaired a moment ago; `gateway pair` in another process is noticed within seconds
        assignment = self.registry.get(serial)
        if assignment is None:
            if serial not in self.ignored:
                _LOGGER.info("ignoring unpaired wearable %s", serial)
                self.ignored.add(serial)
            self._recheck_at[serial] = time.monotonic() + UNPAIRED_RECHECK_S
            return
        link = WearableLink(
            assignment,
            device,
            self.spool,
            client_backend=self.client_backend,
            board=self.board,
            on_heard=self._heard,
            on_change=self._changed.set,
        )
        link.advertised(device, adv)
        self.links[serial] = link
        self._tasks.append(asyncio.ensure_future(link.run(stop)))

    def _missing(self, paired: set[str]) -> set[str]:
        """Paired wearables without a link up: scanning is needed only for them."""
        return paired - {serial for serial, link in self.links.items() if link.connected.is_set()}

    async def run(self, stop: asyncio.Event) -> None:
        kwargs = {"backend": self.scanner_backend} if self.scanner_backend else {}
        scanner = BleakScanner(
            lambda d, a: self._on_advertisement(d, a, stop), service_uuids=[HEALTH_THERMOMETER], **kwargs
        )
        await scanner.start()
        scanning = True
        self._heard()
        try:
            silent_restarts = 0
            restarted_at = time.monotonic()
            while not stop.is_set():
                halt, changed = asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._changed.wait())
                await asyncio.wait(
                    [halt, changed], timeout=min(self.silence_s / 4, 5.0), return_when=asyncio.FIRST_COMPLETED
                )
                halt.cancel()
                changed.cancel()
                self._changed.clear()
                if stop.is_set():
                    break
                paired = {a.serial for a in self.registry.all()}  # read once a tick: pairing happens elsewhere
                missing = self._missing(paired)
                if missing and not scanning:  # a link dropped or a wearable was paired: look for it
                    await scanner.start()
                    scanning = True
                elif not missing and scanning:  # all connected: scanning only costs radio time and CPU
                    await scanner.stop()
                    scanning = False
                if not paired:
                    continue
                now = time.monotonic()
                if self._last_heard > restarted_at:  # heard something since the last restart: all is well
                    silent_restarts = 0
                    self.healthy = True
                if now - max(self._last_heard, restarted_at) < self.silence_s:
                    continue
                silent_restarts += 1
                self.counts["adapter_silent"] += 1
                _LOGGER.error(
                    "BLE adapter silent for %.1f s (nothing heard from %d paired wearables); restarting the scanner (%d)",
                    self.silence_s,
                    len(paired),
                    silent_restarts,
                )
                if silent_restarts >= self.max_silent_restarts:
                    self.healthy = False
                try:
                    if scanning:
                        await scanner.stop()
                    await scanner.start()
                    scanning = True
                except Exception as exc:  # a dead adapter can fail here too; the watchdog counts on
                    _LOGGER.error("restarting the scanner failed: %s", exc)
                restarted_at = time.monotonic()
        finally:
            if scanning:
                await scanner.stop()
            await asyncio.gather(*self._tasks, return_exceptions=True)
