"""Unmodified bleak code (scanner, client, bleak-retry-connector) against an emulated wearable."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak_retry_connector import establish_connection

from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.firmware_sim.wearable import Wearable
from kraamwacht.gateway import bleak_bumble
from kraamwacht.gateway.bleak_bumble import BleakClientBumble, BleakScannerBumble
from kraamwacht.gateway.decode import TEMPERATURE_MEASUREMENT, decode
from tests.unit.test_emulated_wearable import LocalLink, _device

HTS = "00001809-0000-1000-8000-00805f9b34fb"
HRM = "00002a37-0000-1000-8000-00805f9b34fb"
BATTERY = "00002a19-0000-1000-8000-00805f9b34fb"


async def _session() -> tuple[list, list, bytes, str, list]:
    link = LocalLink()
    scenario = MotherScenario.draw("m1", "slow", seed=8, delivered_at_s=1_782_864_000.0, days=1.0)
    wearable = Wearable(_device(link, "F0:F1:F2:F3:F4:01", "wearable"), scenario, serial="0007", interval_s=60.0)
    await wearable.start()
    central = _device(link, "F5:F4:F3:F2:F1:02", "gateway")
    await central.power_on()
    bleak_bumble.configure(device=central)
    found = await BleakScanner.discover(timeout=0.5, service_uuids=[HTS], backend=BleakScannerBumble)
    assert [d.name for d in found] == ["KW-0007"]
    temperatures: list[bytes] = []
    heart_rates: list[bytes] = []
    disconnects: list[str] = []
    client = await establish_connection(
        BleakClient, found[0], found[0].name, backend=BleakClientBumble,
        disconnected_callback=lambda c: disconnects.append(c.address),
    )  # fmt: skip
    await client.start_notify(TEMPERATURE_MEASUREMENT, lambda _c, data: temperatures.append(bytes(data)))
    await client.start_notify(HRM, lambda _c, data: heart_rates.append(bytes(data)))
    await wearable.send(scenario.start_s, scenario.start_s + 600)
    await asyncio.sleep(0.2)
    battery = bytes(await client.read_gatt_char(BATTERY))
    await client.disconnect()
    await asyncio.sleep(0.1)
    return temperatures, heart_rates, battery, client.address, disconnects


def test_scan_connect_notify_read_and_disconnect_with_plain_bleak() -> None:
    temperatures, heart_rates, battery, address, disconnects = asyncio.run(_session())
    assert len(temperatures) == 10
    assert len(heart_rates) == 10
    assert all(30 < decode("2a1c", t).temp_c < 40 for t in temperatures)
    assert decode("2a19", battery).battery_pct == 100
    assert disconnects == [address]


def test_unconfigured_backend_says_so() -> None:
    bleak_bumble.configure()

    async def scan() -> None:
        await BleakScanner.discover(timeout=0.1, backend=BleakScannerBumble)

    with pytest.raises(Exception, match="not configured"):
        asyncio.run(scan())
