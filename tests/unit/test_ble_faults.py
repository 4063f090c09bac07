"""What a home throws at Bluetooth, emulated on the virtual air and met by the gateway's plain bleak
code: a wearable out of range and back, a buffer replayed, a wrong clock, a loose sensor, a
draining battery, and an adapter that goes silent. All in one process over real GATT traffic."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.transport.common import AsyncPipeSink

from kraamwacht.firmware_sim.air import CONNECTION_TIMEOUT, Air, GatewayController
from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.firmware_sim.wearable import ROOM_C, Wearable
from kraamwacht.gateway import bleak_bumble
from kraamwacht.gateway.app import Gateway
from kraamwacht.gateway.bleak_bumble import BleakClientBumble, BleakScannerBumble
from kraamwacht.gateway.registry import Registry
from kraamwacht.gateway.spool import Spool


@dataclass
class World:
    air: Air
    central: GatewayController
    wearables: list[Wearable]
    gateway: Gateway
    spool: Spool
    stop: asyncio.Event
    task: asyncio.Future[None]

    async def close(self) -> None:
        self.stop.set()
        await self.task

    def samples(self, device: str = "wb-0001") -> list[dict[str, Any]]:
        out = []
        for message in self.spool.next_messages(max_samples=100_000):
            body = json.loads(message.payload)
            if body["device"] == device:
                out += body["samples"]
        return out


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> float:
    """Wait for ``condition``; returns the seconds it took (fails the test on timeout)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def central_device(air: Air, address: str = "C5:00:00:00:00:01") -> tuple[Device, GatewayController]:
    """A powered gateway central on ``air``, and its controller (to mute or remove it)."""
    controller = GatewayController("gateway", link=air, public_address=address)
    device = Device(name="gateway", address=Address(address), host=Host(controller, AsyncPipeSink(controller)))
    await device.power_on()
    return device, controller


async def lone_wearable(air: Air, address: str, serial: str = "0001") -> Wearable:
    """One advertising wearable on ``air``, for tests of the air itself."""
    scenario = MotherScenario.draw("m", "healthy", seed=1, delivered_at_s=time.time() - 3600, days=1.0)
    wearable = Wearable.on_air(air, address, scenario, serial=serial)
    await wearable.start()
    return wearable


async def world(tmp: Path, n: int = 1, *, gateway_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> World:
    air = Air()
    now = time.time()
    wearables = []
    for i in range(n):
        scenario = MotherScenario.draw(
            f"m{i}", "healthy", seed=40 + i, delivered_at_s=now - 12 * 3600, days=1.0, artefacts=False
        )
        wearable = Wearable.on_air(air, f"F0:00:00:00:01:{i:02X}", scenario, serial=f"{i + 1:04d}", **kwargs)
        await wearable.start()
        wearables.append(wearable)
    central, controller = await central_device(air)
    bleak_bumble.configure(device=central)
    registry = Registry(tmp / "registry.db")
    for i in range(n):
        registry.pair(f"{i + 1:04d}", site="s1", episode=f"ep{i + 1}", subject=f"m{i + 1}")
    spool = Spool(tmp / "spool.db")
    gateway = Gateway(
        registry, spool, scanner_backend=BleakScannerBumble, client_backend=BleakClientBumble, **(gateway_kwargs or {})
    )
    stop = asyncio.Event()
    task = asyncio.ensure_future(gateway.run(stop))
    await until(lambda: len(gateway.links) == n and all(link.connected.is_set() for link in gateway.links.values()))
    return World(air, controller, wearables, gateway, spool, stop, task)


def run(tmp: Path, body: Callable[[Path], Awaitable[Any]]) -> Any:
    return asyncio.run(body(tmp))


# --- the air itself ----------------------------------------------------------------------------


def test_vanish_is_reported_as_a_supervision_timeout_after_the_timeout(tmp_path: Path) -> None:
    async def body(tmp: Path) -> tuple[float, list[int], int]:
        air = Air()
        wearable = await lone_wearable(air, "F0:00:00:00:02:01")
        central, _controller = await central_device(air)
        connection = await central.connect(Address("F0:00:00:00:02:01"))
        reasons: list[int] = []
        connection.on("disconnection", reasons.append)
        wearable.vanish(supervision_timeout_s=0.5)
        start = time.monotonic()
        took = await until(lambda: bool(reasons), 5)
        assert time.monotonic() - start >= 0.5  # not before the supervision timeout
        wearable.reappear()
        await until(lambda: wearable.device.is_advertising, 5)
        return took, reasons, len(wearable.device.connections)

    took, reasons, open_links = run(tmp_path, body)
    assert reasons == [CONNECTION_TIMEOUT]
    assert took >= 0.5  # never before the timeout; how much later is the machine's load, not the air's
    assert open_links == 0


def test_connect_to_an_absent_wearable_times_out_instead_of_hanging(tmp_path: Path) -> None:
    async def body(tmp: Path) -> tuple[type, float, bool]:
        air = Air()
        central, controller = await central_device(air)
        start = time.monotonic()
        try:
            await asyncio.wait_for(central.connect(Address("F0:00:00:00:09:09"), timeout=0.5), timeout=5)
        except Exception as exc:
            error = type(exc)
        took = time.monotonic() - start
        return error, took, controller.pending_le_connection is None

    error, took, cleared = run(tmp_path, body)
    assert error is not asyncio.TimeoutError  # the outer wait_for did not have to cut a hang
    assert "Timeout" in error.__name__
    assert took >= 0.5  # its own 0.5 s timeout fired (a hang would have been cut by the outer 5 s as TimeoutError)
    assert cleared


def test_advertising_reaches_only_controllers_that_listen(tmp_path: Path) -> None:
    async def body(tmp: Path) -> tuple[int, int]:
        air = Air()
        for i in range(5):
            await lone_wearable(air, f"F0:00:00:00:03:{i:02X}", serial=f"{i:04d}")
        central, _controller = await central_device(air)
        await asyncio.sleep(0.5)
        idle = air.adv_delivered
        await central.start_scanning(filter_duplicates=False)
        await asyncio.sleep(0.5)
        return idle, air.adv_delivered

    idle, scanning = run(tmp_path, body)
    assert idle == 0  # five wearables advertised 10 times a second, nobody listened, nothing was delivered
    assert scanning >= 20  # one listener: about 5 × 5 PDUs


def test_a_gateway_that_goes_away_frees_its_wearables(tmp_path: Path) -> None:
    async def body(tmp: Path) -> tuple[int, bool]:
        air = Air()
        wearable = await lone_wearable(air, "F0:00:00:00:04:01")
        central, controller = await central_device(air)
        await central.connect(Address("F0:00:00:00:04:01"))
        air.remove_controller(controller)  # what the simulator does when a gateway's HCI connection closes
        await until(lambda: wearable.device.is_advertising, 5)
        return len(wearable.device.connections), wearable.device.is_advertising

    assert run(tmp_path, body) == (0, True)


# --- the gateway against faults ------------------------------------------------------------------


def test_wearable_out_of_range_and_back_reconnects_fast_and_reports_the_gap(tmp_path: Path) -> None:
    async def body(tmp: Path) -> dict[str, Any]:
        w = await world(tmp)
        wearable, link = w.wearables[0], w.gateway.links["0001"]
        now = time.time()
        await wearable.send(now - 10, now)
        wearable.vanish(supervision_timeout_s=1.0)
        lost_after = await until(lambda: not link.connected.is_set(), 5)
        await wearable.send(now, now + 5)  # measured while away: nobody hears it, no buffer
        await asyncio.sleep(1.0)
        wearable.reappear()
        reconnect_s = await until(link.connected.is_set, 10)
        await wearable.send(now + 5, now + 10)
        await asyncio.sleep(0.2)
        status = w.gateway.board.get("wb-0001")
        samples = w.samples()
        await w.close()
        return {
            "lost_after": lost_after,
            "reconnect_s": reconnect_s,
            "status": status,
            "samples": samples,
            "w": wearable,
        }

    r = run(tmp_path, body)
    assert r["lost_after"] >= 0.9  # the link is reported lost after the 1 s supervision timeout, not before
    assert r["reconnect_s"] is not None  # connected again (within the 10 s deadline of the wait)
    status = r["status"]
    assert status.connected
    assert status.disconnects == 1
    assert status.last_gap_s >= 2.0  # from the drop to the reconnect: at least the 1 s away + supervision
    temps = [s for s in r["samples"] if s["signal"] == "temperature_c"]
    assert len(temps) == 15  # 10 before, 5 after; the 5 measured while away are a gap, never invented
    assert r["w"].unheard == 10  # 5 temperatures + 5 heart rates nobody could hear
    seqs = [s["seq"] for s in r["samples"]]
    assert seqs == list(range(len(seqs)))


def test_buffered_readings_are_replayed_with_their_own_times_and_flagged(tmp_path: Path) -> None:
    async def body(tmp: Path) -> tuple[list[dict[str, Any]], Wearable, float]:
        w = await world(tmp, buffer_capacity=50)
        wearable, link = w.wearables[0], w.gateway.links["0001"]
        now = time.time()
        await wearable.send(now - 5, now)  # live
        wearable.vanish(supervision_timeout_s=0.3)
        await until(lambda: not link.connected.is_set(), 5)
        await wearable.send(now - 125, now - 65)  # 60 readings while away; the buffer keeps the newest 50
        wearable.reappear()
        await until(link.connected.is_set, 10)
        await wearable.send(now, now)  # the next measurement tick sends the buffer first
        await asyncio.sleep(0.3)
        samples = w.samples()
        await w.close()
        return samples, wearable, now

    samples, wearable, now = run(tmp_path, body)
    temps = [s for s in samples if s["signal"] == "temperature_c"]
    replayed = [s for s in temps if "replayed" in s["q"]]
    assert len(temps) == 55
    assert len(replayed) == 50
    assert wearable.buffer_dropped == 10
    assert len(wearable.buffer) == 0
    expected, _ = wearable.scenario.wearable_samples(now - 125, now - 65, interval_s=1.0)["temperature_c"]
    stamps = sorted(datetime_s(s["t"]) for s in replayed)
    assert stamps == [float(int(t)) for t in expected[-50:]]  # their own time stamps (1 s resolution)
    hr = [s for s in samples if s["signal"] == "heart_rate_bpm"]
    assert len(hr) == 5  # heart rate has no time stamp: its gap stays a gap
    assert wearable.unheard == 60


def datetime_s(text: str) -> float:
    from kraamwacht.contract import parse_time

    return parse_time(text).timestamp()


@pytest.mark.parametrize(("offset_s", "flagged"), [(3600.0, True), (-900.0, True), (20.0, False)])
def test_wearable_clock_offset_is_measured_and_corrected(tmp_path: Path, offset_s: float, flagged: bool) -> None:
    async def body(tmp: Path) -> tuple[list[dict[str, Any]], float | None, float]:
        air_world = await world(tmp)
        wearable, link = air_world.wearables[0], air_world.gateway.links["0001"]
        wearable.set_clock(offset_s=offset_s)
        await wearable.disconnect_all()  # the clock is read at connect
        await until(lambda: link.counts["connects"] == 2, 10)
        now = time.time()
        await wearable.send(now - 10, now)
        await asyncio.sleep(0.2)
        samples = air_world.samples()
        await air_world.close()
        return samples, link.clock_offset_s, now

    samples, measured, now = run(tmp_path, body)
    assert measured == pytest.approx(-offset_s, abs=0.1)
    temps = [s for s in samples if s["signal"] == "temperature_c"][-10:]
    for s in temps:
        assert ("clock_skew" in s["q"]) is flagged
        t = datetime_s(s["t"])
        if flagged:
            assert now - 11.5 < t < now + 0.5  # corrected back to true time (1 s stamps, 1/256 s clock)
        else:
            assert now - 11 + offset_s < t < now + 1 + offset_s  # within tolerance: the device's own time


def test_loose_sensor_and_draining_battery_reach_the_spool(tmp_path: Path) -> None:
    async def body(tmp: Path) -> tuple[list[dict[str, Any]], Any]:
        w = await world(tmp, battery_drain_pct_per_h=36.0)  # 3 % in the 5 minutes sent below
        wearable = w.wearables[0]
        now = time.time()
        await wearable.send(now - 600, now - 300)
        wearable.set_loose(True, at_s=now - 300)
        await wearable.send(now - 300, now)
        await asyncio.sleep(0.3)
        status = w.gateway.board.get("wb-0001")
        samples = w.samples()
        await w.close()
        return samples, status

    samples, status = run(tmp_path, body)
    hr = [s for s in samples if s["signal"] == "heart_rate_bpm"]
    assert sum("no_skin_contact" in s["q"] for s in hr) == 300
    assert len(hr) == 600
    temps = [s["value"] for s in samples if s["signal"] == "temperature_c"]
    assert min(temps[:300]) > 34.0  # on the skin
    assert temps[-1] < ROOM_C + 0.5 * (temps[299] - ROOM_C)  # after 5 min off the skin: cooling to the room
    battery = [s["value"] for s in samples if s["signal"] == "battery_pct"]
    assert battery[0] == 100
    assert 96 <= battery[-1] <= 98
    assert battery == sorted(battery, reverse=True)
    assert status.battery_pct == battery[-1]


def test_silent_adapter_is_noticed_restarted_and_reported_unhealthy(tmp_path: Path) -> None:
    async def body(tmp: Path) -> dict[str, Any]:
        w = await world(tmp, interval_s=0.05, gateway_kwargs={"silence_s": 0.4, "max_silent_restarts": 2})
        wearable = w.wearables[0]
        feeding = True

        async def feed() -> None:
            last = time.time()
            while feeding:
                await asyncio.sleep(0.05)
                now = time.time()
                await wearable.send(last, now)
                last = now

        task = asyncio.ensure_future(feed())
        await asyncio.sleep(1.5)
        healthy_while_fed = w.gateway.healthy and w.gateway.counts["adapter_silent"] == 0
        w.air.mute(w.central)  # the adapter goes deaf: it hears nothing any more
        asyncio.get_running_loop().call_later(0.3, w.air.drop_links, w.central)  # its links time out
        unhealthy_after = await until(lambda: not w.gateway.healthy, 10)
        silent = w.gateway.counts["adapter_silent"]
        w.air.unmute(w.central)
        await until(lambda: w.gateway.healthy, 10)
        await until(w.gateway.links["0001"].connected.is_set, 10)  # and the wearable is back
        feeding = False
        await task
        await w.close()
        return {"fed": healthy_while_fed, "after": unhealthy_after, "silent": silent}

    r = run(tmp_path, body)
    assert r["fed"]
    assert r["silent"] >= 2
    assert r["after"] < 5.0


def test_malformed_bytes_over_the_air_are_refused_counted_and_the_link_stays(tmp_path: Path) -> None:
    """Every malformed payload of :data:`MALFORMED`, twice, through real GATT traffic between
    valid readings: each is refused with its reason and counted in the device's status, the link
    stays up, and every valid reading around them is spooled in order."""
    from kraamwacht.firmware_sim.gatt_encode import MALFORMED, malformed_payloads

    async def body(tmp: Path) -> tuple[World, Any, list[dict[str, Any]], dict[str, int]]:
        w = await world(tmp)
        wearable, link = w.wearables[0], w.gateway.links["0001"]
        now = time.time()
        await wearable.send(now - 10, now - 5)
        wearable.garble(malformed_payloads(2 * len(MALFORMED)))
        await wearable.send(now - 5, now)  # the garbage goes first, then five valid seconds
        await asyncio.sleep(0.3)
        samples = w.samples()
        counts = {k: v for k, v in link.counts.items() if k.startswith("rejected:")}
        status = w.gateway.board.get("wb-0001")
        connected = link.connected.is_set()
        await w.close()
        assert connected
        return w, status, samples, counts

    w, status, samples, counts = run(tmp_path, body)
    wearable = w.wearables[0]
    assert wearable.garbled == 2 * len(MALFORMED)
    assert sum(counts.values()) == 2 * len(MALFORMED)  # every one refused and counted ...
    assert status.rejected == 2 * len(MALFORMED)  # ... and visible in the retained device status
    assert {"rejected:too_short", "rejected:special_value", "rejected:reserved_flags", "rejected:too_long",
            "rejected:bad_timestamp", "rejected:bad_temperature_type"} <= set(counts)  # fmt: skip
    readings = [s for s in samples if s["signal"] in ("temperature_c", "heart_rate_bpm")]
    assert len(readings) == wearable.sent == 20  # the valid readings around the garbage, none lost
    assert [s["seq"] for s in samples] == list(range(len(samples)))
