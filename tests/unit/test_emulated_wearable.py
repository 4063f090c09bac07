"""An emulated wearable over real GATT on bumble's virtual link, read by a bumble central and
decoded by the gateway's decoder: what arrives is exactly what the physiology scenario says."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import numpy as np
import pytest
from bumble.controller import Controller
from bumble.device import Device, Peer
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.firmware_sim.wearable import Wearable
from kraamwacht.gateway.decode import decode


def _device(link: LocalLink, address: str, name: str) -> Device:
    controller = Controller(name, link=link, public_address=address)
    return Device(name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller)))


async def _run() -> tuple[dict, list, list, bytes, bytes]:
    link = LocalLink()
    wearable_device = _device(link, "F0:F1:F2:F3:F4:F5", "wearable")
    central = _device(link, "F5:F4:F3:F2:F1:F0", "gateway")
    scenario = MotherScenario.draw("m1", "fast", seed=3, delivered_at_s=1_782_864_000.0, days=1.0)
    wearable = Wearable(wearable_device, scenario, serial="0042", interval_s=30.0)
    await wearable.start()
    await central.power_on()
    connection = await central.connect(wearable_device.random_address)
    peer = Peer(connection)
    await peer.discover_services()
    for service in peer.services:
        await service.discover_characteristics()
    temperatures: list[bytes] = []
    heart_rates: list[bytes] = []
    (temperature,) = peer.get_characteristics_by_uuid(wearable.temperature.uuid)
    (heart_rate,) = peer.get_characteristics_by_uuid(wearable.heart_rate.uuid)
    (battery,) = peer.get_characteristics_by_uuid(wearable.battery.uuid)
    await peer.subscribe(temperature, lambda value: temperatures.append(bytes(value)), prefer_notify=False)
    await peer.subscribe(heart_rate, lambda value: heart_rates.append(bytes(value)))
    window = (scenario.start_s, scenario.start_s + 1800)
    await wearable.send(*window)
    await asyncio.sleep(0.2)
    expected = scenario.wearable_samples(*window, interval_s=30.0)
    battery_before = bytes(await peer.read_value(battery))
    await wearable.set_battery(87)
    battery_after = bytes(await peer.read_value(battery))
    await connection.disconnect()
    return expected, temperatures, heart_rates, battery_before, battery_after


def test_readings_arrive_over_gatt_exactly_as_the_scenario_says() -> None:
    expected, temperatures, heart_rates, before, after = asyncio.run(_run())
    t, v = expected["temperature_c"]
    assert len(temperatures) == t.size == 60  # 30 minutes at one reading per 30 s, every indication confirmed
    assert len(heart_rates) == expected["heart_rate_bpm"][0].size == 60
    readings = [decode("2a1c", data) for data in temperatures]
    assert [r.temp_c for r in readings] == pytest.approx(v.tolist(), abs=1e-9)
    assert [r.timestamp for r in readings] == [
        datetime.fromtimestamp(x, tz=UTC).replace(tzinfo=None, microsecond=0) for x in t
    ]
    assert {r.temperature_type for r in readings} == {"armpit"}
    rates = [decode("2a37", data) for data in heart_rates]
    np.testing.assert_array_equal([r.hr_bpm for r in rates], expected["heart_rate_bpm"][1])
    assert all(r.skin_contact for r in rates)
    assert (decode("2a19", before).battery_pct, decode("2a19", after).battery_pct) == (100, 87)
