"""An emulated wearable: a real BLE GATT peripheral on the bumble stack, driven by a physiology scenario.

Services: Health Thermometer (0x1809, Temperature Measurement 0x2A1C indicate with time stamp,
temperature type armpit), Heart Rate (0x180D, Heart Rate Measurement 0x2A37 notify, sensor
contact), Battery (0x180F, 0x2A19 read/notify, draining), Current Time (0x1805, 0x2A2B read: the
device's own clock) and Device Information (0x180A, serial number). It advertises its name and the
service UUIDs. What it sends comes from ``MotherScenario.wearable_samples``: the same numbers the
researchers' cohorts hold.

Faults a home throws at it, for tests and the demo (:class:`Faults`): it vanishes (out of range or
power loss; the central sees a data gap, then reason 0x08 after the supervision timeout) and
reappears; the sensor comes loose (no skin contact, the temperature falls towards the room's); its
clock is off or drifts; it buffers temperature readings while nobody listens and sends them, with
their own time stamps, once a central subscribes again (the Health Thermometer profile allows
this; heart rate carries no time stamp, so its gap stays a gap).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from bumble import att
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.transport.common import AsyncPipeSink

from kraamwacht import clock
from kraamwacht.firmware_sim.air import CONNECTION_TIMEOUT, Air, QuietController
from kraamwacht.firmware_sim.gatt_encode import (
    battery_level,
    current_time,
    heart_rate_measurement,
    temperature_measurement,
)
from kraamwacht.firmware_sim.physiology import AMBIENT_C, MotherScenario

__all__ = ["BATTERY", "CURRENT_TIME", "HEALTH_THERMOMETER", "HEART_RATE", "Faults", "Wearable"]

_LOGGER = logging.getLogger(__name__)
HEALTH_THERMOMETER = "1809"
HEART_RATE = "180D"
BATTERY = "180F"
CURRENT_TIME = "1805"
DEVICE_INFORMATION = "180A"
ROOM_C = AMBIENT_C  # a loose sensor cools towards the room (skin-facing thermistor, off the body)
LOOSE_TAU_S = 300.0


@dataclass
class Faults:
    """What is wrong with the wearable right now (changed through the simulator's control port)."""

    present: bool = True  # False: out of range or without power
    loose_since_s: float | None = None  # sensor off the skin since this time
    clock_offset_s: float = 0.0  # device clock minus true time
    clock_drift_ppm: float = 0.0  # added to the offset per elapsed second


def _read_only(value: object) -> CharacteristicValue:
    """bumble does not check write permissions: refuse writes so a client gets an ATT error, not a 30 s timeout."""

    def refuse(_connection: object, _value: bytes) -> None:
        raise att.ATT_Error(att.ErrorCode.WRITE_NOT_PERMITTED)

    return CharacteristicValue(read=value if callable(value) else (lambda _connection: value), write=refuse)


class Wearable:
    def __init__(
        self,
        device: Device,
        scenario: MotherScenario,
        *,
        serial: str,
        interval_s: float = 1.0,
        battery_start_pct: int = 100,
        battery_drain_pct_per_h: float = 0.0,
        buffer_capacity: int = 0,
        air: Air | None = None,
        controller: Controller | None = None,
    ) -> None:
        self.device = device
        self.scenario = scenario
        self.serial = serial
        self.interval_s = interval_s
        self.battery_start_pct = battery_start_pct
        self.battery_pct = battery_start_pct
        self.battery_drain_pct_per_h = battery_drain_pct_per_h
        self.faults = Faults()
        self.air, self.controller = air, controller
        self.buffer: deque[tuple[float, float]] = deque(maxlen=buffer_capacity or None)
        self.buffer_capacity = buffer_capacity
        self.sent = 0  # readings sent over the air to a subscribed central (replayed ones included)
        self.unheard = 0  # readings due while nobody could hear them and not buffered: a gap
        self.buffer_dropped = 0  # buffered readings pushed out by newer ones (buffer full)
        self.lost_in_air = 0  # sent (counted above) but swallowed by the air as the link was lost
        self.garbage: deque[tuple[str, bytes]] = deque()  # malformed payloads still to send (a fault)
        self.garbled = 0  # malformed payloads sent (not counted in ``sent``)
        self._clock_from_s: float | None = None
        self._battery_from_s: float | None = None  # drain counts from the first reading sent
        self._supervision: asyncio.TimerHandle | None = None
        self._stop_waiting_for_confirmations_on_disconnection()
        read, notify, indicate = (
            Characteristic.Properties.READ,
            Characteristic.Properties.NOTIFY,
            Characteristic.Properties.INDICATE,
        )
        readable = Characteristic.Permissions.READABLE
        self.temperature = Characteristic("2A1C", indicate, readable)
        self.heart_rate = Characteristic("2A37", notify, readable)
        self.battery = Characteristic("2A19", read | notify, readable, _read_only(self._battery_value))
        self.clock = Characteristic("2A2B", read, readable, _read_only(self._clock_value))
        device.add_services(
            [
                Service(
                    HEALTH_THERMOMETER,
                    [self.temperature, Characteristic("2A1D", read, readable, _read_only(bytes([1])))],
                ),
                Service(HEART_RATE, [self.heart_rate]),
                Service(BATTERY, [self.battery]),
                Service(CURRENT_TIME, [self.clock]),
                Service(
                    DEVICE_INFORMATION,
                    [
                        Characteristic("2A29", read, readable, _read_only(b"kraamwacht-sim")),
                        Characteristic("2A24", read, readable, _read_only(b"KW-1")),
                        Characteristic("2A25", read, readable, _read_only(serial.encode())),
                    ],
                ),
            ]
        )

    def _stop_waiting_for_confirmations_on_disconnection(self) -> None:
        """bumble forgets a pending indication confirmation when the link drops but leaves its sender
        waiting out the 30 s GATT timeout; end the wait, so the wearable's clock of readings goes on."""
        server = self.device.gatt_server
        forget = server.on_disconnection

        def on_disconnection(bearer: object) -> None:
            pending = server.pending_confirmations.get(bearer)  # type: ignore[call-overload]
            if pending is not None and not pending.done():
                pending.set_result(None)
            forget(bearer)  # type: ignore[arg-type]

        server.on_disconnection = on_disconnection  # type: ignore[method-assign]

    @classmethod
    def on_air(cls, air: Air, address: str, scenario: MotherScenario, *, serial: str, **kwargs: object) -> Wearable:
        """A wearable with its own virtual controller on ``air`` (what the simulator and tests use)."""
        controller = QuietController(f"wearable-{serial}", link=air, public_address=address)
        device = Device(name=f"KW-{serial}", address=Address(address), host=Host(controller, AsyncPipeSink(controller)))
        wearable = cls(device, scenario, serial=serial, air=air, controller=controller, **kwargs)  # type: ignore[arg-type]
        air.on_lost[controller] = wearable._lost_in_air
        return wearable

    def _lost_in_air(self, pdu: bytes) -> None:
        """An L2CAP PDU the air swallowed: a reading sent just as the wearable went out of range."""
        att_cid, notification, indication = 0x0004, 0x1B, 0x1D
        if (
            len(pdu) >= 7
            and int.from_bytes(pdu[2:4], "little") == att_cid
            and pdu[4] in (notification, indication)
            and int.from_bytes(pdu[5:7], "little") in (self.temperature.handle, self.heart_rate.handle)
        ):
            self.lost_in_air += 1

    def device_time(self, t_s: float) -> float:
        """What the wearable's own clock says at true time ``t_s``."""
        if self._clock_from_s is None:
            self._clock_from_s = t_s
        return t_s + self.faults.clock_offset_s + (t_s - self._clock_from_s) * self.faults.clock_drift_ppm * 1e-6

    def _clock_value(self, _connection: object = None) -> bytes:
        at = self.device_time(clock.now())
        return current_time(datetime.fromtimestamp(at, tz=UTC).replace(tzinfo=None))

    def _battery_value(self, _connection: object = None) -> bytes:
        return battery_level(self.battery_pct)

    def advertising_data(self) -> bytes:
        uuids = bytes.fromhex("0918") + bytes.fromhex("0D18") + bytes.fromhex("0F18")  # little-endian 16-bit UUIDs
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, uuids),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, f"KW-{self.serial}".encode()),
                ]
            )
        )

    async def start(self) -> None:
        await self.device.power_on()
        # 100 ms: connect latency is about one advertising interval (shared/notes/ble-emulation.md)
        await self.device.start_advertising(
            advertising_data=self.advertising_data(),
            auto_restart=True,
            advertising_interval_min=100,
            advertising_interval_max=100,
        )

    # --- what it sends ---------------------------------------------------------------------------

    async def send(self, t_from_s: float, t_to_s: float) -> None:
        """Send the scenario's readings in ``[t_from, t_to)`` (true time), in time order.

        Buffered temperatures go first once a central listens again. A reading nobody can hear is
        buffered (temperature, if the wearable has a buffer) or counted as ``unheard``.
        """
        await self._drain(t_to_s)
        while self.garbage and self._subscribed(self.temperature) and self.faults.present:
            characteristic, payload = self.garbage.popleft()
            if characteristic == "temperature":
                await self.device.indicate_subscribers(self.temperature, payload)
            else:
                await self.device.notify_subscribers(self.heart_rate, payload)
            self.garbled += 1
        if self.buffer and self._subscribed(self.temperature):
            while self.buffer and self._subscribed(self.temperature):
                t, value = self.buffer.popleft()
                await self._indicate_temperature(t, value)
        samples = self.scenario.wearable_samples(t_from_s, t_to_s, interval_s=self.interval_s)
        events = sorted(
            [(t, "temperature_c", v) for t, v in zip(*samples["temperature_c"], strict=True)]
            + [(t, "heart_rate_bpm", v) for t, v in zip(*samples["heart_rate_bpm"], strict=True)]
        )
        for t, signal, value in events:
            characteristic = self.temperature if signal == "temperature_c" else self.heart_rate
            audible = self.faults.present and self._subscribed(characteristic)
            if signal == "temperature_c":
                value = self._skin_temperature(t, float(value))
                if audible:
                    await self._indicate_temperature(t, value)
                elif self.buffer_capacity:
                    if len(self.buffer) == self.buffer_capacity:
                        self.buffer_dropped += 1
                    self.buffer.append((t, value))
                else:
                    self.unheard += 1
            elif audible:
                contact = self.faults.loose_since_s is None or t < self.faults.loose_since_s
                await self.device.notify_subscribers(
                    self.heart_rate, heart_rate_measurement(int(value), skin_contact=contact)
                )
                self.sent += 1
            else:
                self.unheard += 1

    async def _indicate_temperature(self, t_s: float, temp_c: float) -> None:
        at = datetime.fromtimestamp(self.device_time(t_s), tz=UTC).replace(tzinfo=None)
        await self.device.indicate_subscribers(self.temperature, temperature_measurement(temp_c, at=at))
        self.sent += 1

    def _skin_temperature(self, t_s: float, temp_c: float) -> float:
        since = self.faults.loose_since_s
        if since is None or t_s < since:
            return temp_c
        return round(ROOM_C + (temp_c - ROOM_C) * math.exp(-(t_s - since) / LOOSE_TAU_S), 2)

    def _subscribed(self, characteristic: Characteristic) -> bool:
        """Whether a connected central has switched on notifications or indications for it."""
        return any(
            int.from_bytes(cccds.get(characteristic.handle, bytes(2)), "little") & 0x3
            for cccds in self.device.gatt_server.subscribers.values()
        )

    async def _drain(self, t_s: float) -> None:
        if not self.battery_drain_pct_per_h:
            return
        if self._battery_from_s is None:
            self._battery_from_s = t_s
        pct = max(
            0, math.ceil(self.battery_start_pct - (t_s - self._battery_from_s) / 3600 * self.battery_drain_pct_per_h)
        )
        if pct != self.battery_pct:
            await self.set_battery(pct)

    # --- faults ----------------------------------------------------------------------------------

    async def disconnect_all(self) -> None:
        """The wearable ends its links itself (the central sees reason 0x13)."""
        for connection in list(self.device.connections.values()):
            await connection.disconnect()

    def vanish(self, *, supervision_timeout_s: float = 4.0) -> None:
        """Out of range or out of power: silent at once, and the link is lost after the supervision timeout."""
        if self.air is None or self.controller is None:
            raise RuntimeError("vanish needs a wearable made with Wearable.on_air")
        self.faults.present = False
        self.air.mute(self.controller)
        loop = asyncio.get_running_loop()
        self._supervision = loop.call_later(
            supervision_timeout_s, self.air.drop_links, self.controller, CONNECTION_TIMEOUT
        )

    def reappear(self) -> None:
        """Back in range: it advertises again (or, within the supervision timeout, the link simply resumes)."""
        if self.air is None or self.controller is None:
            raise RuntimeError("reappear needs a wearable made with Wearable.on_air")
        if self._supervision is not None:
            self._supervision.cancel()
            self._supervision = None
        self.air.unmute(self.controller)
        self.faults.present = True

    def garble(self, payloads: list[tuple[str, bytes]]) -> None:
        """Send these malformed payloads (``("temperature" | "heart_rate", bytes)``) before the next readings."""
        self.garbage.extend(payloads)

    def set_loose(self, loose: bool, *, at_s: float) -> None:
        self.faults.loose_since_s = at_s if loose else None

    def set_clock(self, *, offset_s: float, drift_ppm: float = 0.0) -> None:
        self.faults.clock_offset_s, self.faults.clock_drift_ppm = offset_s, drift_ppm
        self._clock_from_s = None

    async def set_battery(self, pct: int) -> None:
        self.battery_pct = max(0, min(100, pct))
        if self.faults.present:
            await self.device.notify_subscribers(self.battery, battery_level(self.battery_pct))

    def stats(self) -> dict[str, int | bool]:
        return {
            "sent": self.sent,
            "lost_in_air": self.lost_in_air,
            "unheard": self.unheard,
            "buffered": len(self.buffer),
            "buffer_dropped": self.buffer_dropped,
            "garbled": self.garbled,
            "present": self.faults.present,
            "battery_pct": self.battery_pct,
        }
