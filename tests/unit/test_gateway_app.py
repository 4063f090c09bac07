"""The gateway's BLE side against emulated wearables: allow-list, decoding into the spool, reconnect."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.firmware_sim.wearable import Wearable
from kraamwacht.gateway import bleak_bumble
from kraamwacht.gateway.app import Gateway
from kraamwacht.gateway.bleak_bumble import BleakClientBumble, BleakScannerBumble
from kraamwacht.gateway.registry import Registry
from kraamwacht.gateway.spool import Spool
from tests.unit.test_emulated_wearable import LocalLink, _device


async def _scenario(tmp: Path) -> dict:
    link = LocalLink()
    now = time.time()
    wearables = []
    for i, serial in enumerate(["0001", "0002", "0099"]):
        scenario = MotherScenario.draw(
            f"m{i}", "healthy", seed=20 + i, delivered_at_s=now - 3 * 3600, days=1.0, artefacts=False
        )
        wearable = Wearable(_device(link, f"F0:F1:F2:F3:F4:{i:02X}", f"w{i}"), scenario, serial=serial, interval_s=60.0)
        await wearable.start()
        wearables.append(wearable)
    central = _device(link, "C5:F4:F3:F2:F1:AA", "gateway")
    await central.power_on()
    bleak_bumble.configure(device=central)
    registry = Registry(tmp / "registry.db")
    registry.pair("0001", site="s1", episode="ep1", subject="m1")
    registry.pair("0002", site="s1", episode="ep2", subject="m2")  # 0099 is not paired
    spool = Spool(tmp / "spool.db")
    gateway = Gateway(registry, spool, scanner_backend=BleakScannerBumble, client_backend=BleakClientBumble)
    stop = asyncio.Event()
    task = asyncio.ensure_future(gateway.run(stop))
    for _ in range(200):
        if len(gateway.links) == 2 and all(link.connected.is_set() for link in gateway.links.values()):
            break
        await asyncio.sleep(0.05)
    assert {s: link.connected.is_set() for s, link in gateway.links.items()} == {"0001": True, "0002": True}
    for wearable in wearables:  # ten minutes of each wearable's own device time
        await wearable.send(wearable.scenario.start_s, wearable.scenario.start_s + 600)
    await wearables[0].disconnect_all()  # the wearable drops the link
    for _ in range(100):
        if gateway.links["0001"].counts["connects"] == 2:
            break
        await asyncio.sleep(0.05)
    start = wearables[0].scenario.start_s
    await wearables[0].send(start + 600, start + 900)
    await asyncio.sleep(0.2)
    stop.set()
    await task
    messages = [json.loads(m.payload) for m in spool.next_messages(max_samples=10_000)]
    return {"gateway": gateway, "messages": messages, "reconnect_s": gateway.links["0001"].last_reconnect_s}


def test_gateway_spools_paired_wearables_and_reconnects(tmp_path: Path) -> None:
    result = asyncio.run(_scenario(tmp_path))
    gateway, messages = result["gateway"], result["messages"]
    assert set(gateway.links) == {"0001", "0002"}
    assert gateway.ignored == {"0099"}
    by_device: dict[str, list[dict]] = {}
    for m in messages:
        by_device.setdefault(m["device"], []).extend(m["samples"])
        assert (m["episode"], m["subject"]) in {("ep1", "m1"), ("ep2", "m2")}
    assert set(by_device) == {"wb-0001", "wb-0002"}
    temps = {d: [s for s in samples if s["signal"] == "temperature_c"] for d, samples in by_device.items()}
    assert len(temps["wb-0002"]) == 10
    assert len(temps["wb-0001"]) == 15  # 10 before the drop, 5 after the reconnect
    seqs = [s["seq"] for s in by_device["wb-0001"]]
    assert seqs == list(range(len(seqs)))  # numbered by the spool, in order, no gaps
    assert gateway.links["0001"].counts["disconnects"] == 1
    assert result["reconnect_s"] is not None  # reconnected (the wait's deadline bounds it; no timed assertion)
