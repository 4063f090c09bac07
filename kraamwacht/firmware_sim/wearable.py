"""An emulated wearable: a real BLE GATT peripheral on the bumble stack, driven by a physiology scenario.

Services: Health Thermometer (0x1809, Temperature Measurement 0x2A1C indicate, temperature type
armpit), Heart Rate (0x180D, Heart Rate Measurement 0x2A37 notify, sensor contact), Battery
(0x180F, 0x2A19 read/notify, draining) and Device Information (0x180A). It advertises its name and
the three service UUIDs. What it sends comes from ``MotherScenario.wearable_samples``: the same
numbers the researchers' cohorts hold.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bumble.core import AdvertisingData
from bumble.device import Device
from bumble.gatt import Characteristic, Service

from kraamwacht.firmware_sim.gatt_encode import battery_level, heart_rate_measurement, temperature_measurement
from kraamwacht.firmware_sim.physiology import MotherScenario

__all__ = ["BATTERY", "HEALTH_THERMOMETER", "HEART_RATE", "Wearable"]

_LOGGER = logging.getLogger(__name__)
HEALTH_THERMOMETER = "1809"
HEART_RATE = "180D"
BATTERY = "180F"
DEVICE_INFORMATION = "180A"


class Wearable:
    def __init__(
        self,
        device: Device,
        scenario: MotherScenario,
        *,
        serial: str,
        interval_s: float = 1.0,
        battery_start_pct: int = 100,
    ) -> None:
        self.device = device
        self.scenario = scenario
        self.serial = serial
        self.interval_s = interval_s
        self.battery_pct = battery_start_pct
        self.sent = 0  # readings sent over the air to a subscribed central
        self.unheard = 0  # readings due while nobody was subscribed (lost, as on a device without a buffer)
        read, notify, indicate = (
            Characteristic.Properties.READ,
            Characteristic.Properties.NOTIFY,
            Characteristic.Properties.INDICATE,
        )
        readable = Characteristic.Permissions.READABLE
        self.temperature = Characteristic("2A1C", indicate, readable)
        self.heart_rate = Characteristic("2A37", notify, readable)
        self.battery = Characteristic("2A19", read | notify, readable, battery_level(battery_start_pct))
        device.add_services(
            [
                Service(HEALTH_THERMOMETER, [self.temperature, Characteristic("2A1D", read, readable, bytes([1]))]),
                Service(HEART_RATE, [self.heart_rate]),
                Service(BATTERY, [self.battery]),
                Service(
                    DEVICE_INFORMATION,
                    [
                        Characteristic("2A29", read, readable, b"kraamwacht-sim"),
                        Characteristic("2A24", read, readable, b"KW-1"),
                        Characteristic("2A25", read, readable, serial.encode()),
                    ],
                ),
            ]
        )

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

    async def send(self, t_from_s: float, t_to_s: float) -> None:
        """Send the scenario's readings in ``[t_from, t_to)`` (device time), in time order."""
        samples = self.scenario.wearable_samples(t_from_s, t_to_s, interval_s=self.interval_s)
        events = sorted(
            [(t, "temperature_c", v) for t, v in zip(*samples["temperature_c"], strict=True)]
            + [(t, "heart_rate_bpm", v) for t, v in zip(*samples["heart_rate_bpm"], strict=True)]
        )
        for t, signal, value in events:
            characteristic = self.temperature if signal == "temperature_c" else self.heart_rate
            on_air = self._subscribed(characteristic)  # with nobody listening, nothing goes over the air
            if signal == "temperature_c":
                payload = temperature_measurement(
                    float(value), at=datetime.fromtimestamp(t, tz=UTC).replace(tzinfo=None)
                )
                await self.device.indicate_subscribers(self.temperature, payload)
            else:
                await self.device.notify_subscribers(
                    self.heart_rate, heart_rate_measurement(int(value), skin_contact=True)
                )
            self.sent += on_air
            self.unheard += not on_air

    def _subscribed(self, characteristic: Characteristic) -> bool:
        """Whether a connected central has switched on notifications or indications for it."""
        return any(
            int.from_bytes(cccds.get(characteristic.handle, bytes(2)), "little") & 0x3
            for cccds in self.device.gatt_server.subscribers.values()
        )

    async def disconnect_all(self) -> None:
        """The wearable ends its links itself (the central sees reason 0x13)."""
        for connection in list(self.device.connections.values()):
            await connection.disconnect()

    async def drain_battery(self, pct: int) -> None:
        self.battery_pct = max(0, pct)
        self.battery.value = battery_level(self.battery_pct)
        await self.device.notify_subscribers(self.battery, self.battery.value)
