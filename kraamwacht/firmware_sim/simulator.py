"""``kraamwacht sim``: a process that owns the virtual air and the emulated wearables.

* the air is a bumble ``LocalLink``; every wearable is a bumble controller + device with a GATT
  server (:class:`~kraamwacht.firmware_sim.wearable.Wearable`), sending its scenario in real
  time (device time = wall time, so the data is valid for the contract);
* an HCI server on TCP (H4 framing): every TCP client, i.e. a gateway, gets a **new** virtual
  controller on the air, removed when the client goes away (the stock ``tcp-server`` transport
  keeps one controller forever, so a second gateway run would find nothing);
* a control port for tests, one text command a line: ``stats`` (JSON: samples sent per serial),
  ``pause`` / ``resume`` (stop and restart sending), ``disconnect SERIAL`` (the wearable ends its
  link), ``quit``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink, StreamPacketSink, StreamPacketSource

from kraamwacht.firmware_sim.physiology import Kind, MotherScenario
from kraamwacht.firmware_sim.wearable import Wearable

__all__ = ["Simulator"]

_LOGGER = logging.getLogger(__name__)


class _HciClient(StreamPacketSource):
    """One gateway on the HCI server: its own controller on the air for as long as it is connected."""

    def __init__(self, air: LocalLink, name: str) -> None:
        super().__init__()
        self.air = air
        self.name = name
        self.controller: Controller | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.controller = Controller(self.name, host_sink=StreamPacketSink(transport), link=self.air)  # type: ignore[arg-type]
        self.set_packet_sink(self.controller)
        _LOGGER.info("gateway connected: controller %s", self.name)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.controller is not None:
            self.air.remove_controller(self.controller)
            _LOGGER.info("gateway gone: controller %s removed (%s)", self.name, exc)


class Simulator:
    def __init__(
        self, n: int, *, seed: int = 1, interval_s: float = 1.0, kinds: tuple[Kind, ...] = ("healthy",)
    ) -> None:
        self.air = LocalLink()
        self.interval_s = interval_s
        self.wearables: list[Wearable] = []
        self.paused = asyncio.Event()
        self._clients = 0
        now = time.time()
        for i in range(n):
            serial = f"{i + 1:04d}"
            address = f"F0:00:00:00:{(i >> 8) & 0xFF:02X}:{i & 0xFF:02X}"
            controller = Controller(f"wearable-{serial}", link=self.air, public_address=address)
            device = Device(
                name=f"KW-{serial}", address=Address(address), host=Host(controller, AsyncPipeSink(controller))
            )
            scenario = MotherScenario.draw(
                f"m{serial}", kinds[i % len(kinds)], seed=seed * 1000 + i, delivered_at_s=now - 86_400, days=3.0
            )
            self.wearables.append(Wearable(device, scenario, serial=serial, interval_s=interval_s))

    def stats(self) -> dict[str, int]:
        return {w.serial: w.sent for w in self.wearables}

    async def _run_wearable(self, wearable: Wearable, stop: asyncio.Event) -> None:
        last = time.time()
        while not stop.is_set():
            await asyncio.sleep(self.interval_s)
            now = time.time()
            if not self.paused.is_set():
                await wearable.send(last, now)
            last = now

    async def _control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
        while line := (await reader.readline()).decode().strip():
            command, _, argument = line.partition(" ")
            if command == "stats":
                answer = json.dumps(self.stats())
            elif command == "pause":
                self.paused.set()
                answer = "ok"
            elif command == "resume":
                self.paused.clear()
                answer = "ok"
            elif command == "disconnect":
                wearable = next((w for w in self.wearables if w.serial == argument), None)
                if wearable is not None:
                    await wearable.disconnect_all()
                answer = "ok" if wearable is not None else f"error: no wearable {argument}"
            elif command == "quit":
                stop.set()
                answer = "ok"
            else:
                answer = f"error: unknown command {command!r}"
            writer.write((answer + "\n").encode())
            await writer.drain()
        writer.close()

    async def run(self, *, host: str, hci_port: int, control_port: int, stop: asyncio.Event) -> None:
        for wearable in self.wearables:
            await wearable.start()
        loop = asyncio.get_running_loop()

        def new_client() -> _HciClient:
            self._clients += 1
            return _HciClient(self.air, f"gateway-{self._clients}")

        hci = await loop.create_server(new_client, host, hci_port)
        control = await asyncio.start_server(lambda r, w: self._control(r, w, stop), host, control_port)
        tasks = [asyncio.ensure_future(self._run_wearable(w, stop)) for w in self.wearables]
        _LOGGER.info(
            "%d wearables; HCI on %s:%d, control on %s:%d", len(self.wearables), host, hci_port, host, control_port
        )
        await stop.wait()
        for task in tasks:
            task.cancel()
        hci.close()
        control.close()
