"""``kraamwacht sim``: a process that owns the virtual air and the emulated wearables.

* the air is :class:`~kraamwacht.firmware_sim.air.Air`; every wearable is a bumble controller +
  device with a GATT server (:class:`~kraamwacht.firmware_sim.wearable.Wearable`), sending its
  scenario on the shared clock (:mod:`kraamwacht.clock`: wall time, or the demo's time-lapse);
* an HCI server on TCP (H4 framing): every TCP client, i.e. a gateway, gets a **new**
  :class:`~kraamwacht.firmware_sim.air.GatewayController` on the air; when the client goes away its
  links are dropped (the wearables see 0x08 and advertise again) and the controller is removed. The
  stock ``tcp-server`` transport keeps one controller forever, so a second gateway run found nothing;
* a control port for tests and the demo, one command a line, one answer a line (the client is
  :func:`kraamwacht.firmware_sim.control.control`):

  ``stats``                      JSON per serial: sent, lost_in_air, unheard, buffered, garbled, present, battery
  ``pause`` / ``resume``         stop (answered when nothing is in flight) and restart all measurements
  ``disconnect SERIAL``          the wearable ends its link (central sees 0x13)
  ``vanish SERIAL [SECONDS]``    out of range: silent now, link lost after the supervision timeout (0x08)
  ``reappear SERIAL``            back in range
  ``loose SERIAL on|off``        the sensor comes off the skin / is put back
  ``clock SERIAL OFFSET_S [PPM]`` set the device clock's offset and drift
  ``battery SERIAL PCT``         set the battery level
  ``garble SERIAL N``            send N malformed temperature / heart-rate payloads (gatt_encode.MALFORMED)
  ``quit``                       stop the simulator
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Sequence

from bumble.transport.common import StreamPacketSink, StreamPacketSource

from kraamwacht import clock
from kraamwacht.firmware_sim.air import Air, GatewayController
from kraamwacht.firmware_sim.gatt_encode import malformed_payloads
from kraamwacht.firmware_sim.physiology import Kind, MotherScenario
from kraamwacht.firmware_sim.wearable import Wearable

__all__ = ["Simulator", "drawn_scenarios"]

_LOGGER = logging.getLogger(__name__)


class _HciClient(StreamPacketSource):
    """One gateway on the HCI server: its own controller on the air for as long as it is connected."""

    def __init__(self, air: Air, name: str) -> None:
        super().__init__()
        self.air = air
        self.name = name
        self.controller: GatewayController | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.controller = GatewayController(self.name, host_sink=StreamPacketSink(transport), link=self.air)  # type: ignore[arg-type]
        self.set_packet_sink(self.controller)
        _LOGGER.info("gateway connected: controller %s", self.name)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.controller is not None:
            self.air.remove_controller(self.controller)  # its wearables see 0x08 and advertise again
            _LOGGER.info("gateway gone: controller %s removed (%s)", self.name, exc)


def drawn_scenarios(
    n: int, *, seed: int = 1, kinds: tuple[Kind, ...] = ("healthy",), now_s: float | None = None
) -> list[MotherScenario]:
    """``n`` mothers delivered a day ago, their kinds assigned in turn."""
    now_s = clock.now() if now_s is None else now_s
    return [
        MotherScenario.draw(
            f"m{i + 1:04d}", kinds[i % len(kinds)], seed=seed * 1000 + i, delivered_at_s=now_s - 86_400, days=3.0
        )
        for i in range(n)
    ]


class Simulator:
    """The wearables of ``scenarios``, serials ``first_serial``, ``first_serial + 1``, ...

    Readings are on an ``interval_s`` grid of the shared clock (:mod:`kraamwacht.clock`): in a
    time-lapse a wearable sends ``factor`` times as often in real time, with the clock's times.
    """

    def __init__(
        self,
        scenarios: Sequence[MotherScenario],
        *,
        interval_s: float = 1.0,
        buffer_capacity: int = 0,
        battery_drain_pct_per_h: float = 0.0,
        first_serial: int = 1,
    ) -> None:
        self.air = Air()
        self.interval_s = interval_s
        self.wearables: dict[str, Wearable] = {}
        self.paused = asyncio.Event()
        self._sending = 0  # wearables in the middle of a send (an indication awaits its confirmation)
        self._clients = 0
        for i, scenario in enumerate(scenarios):
            number = first_serial + i
            serial = f"{number:04d}"
            self.wearables[serial] = Wearable.on_air(
                self.air,
                f"F0:00:00:00:{(number >> 8) & 0xFF:02X}:{number & 0xFF:02X}",
                scenario,
                serial=serial,
                interval_s=interval_s,
                buffer_capacity=buffer_capacity,
                battery_drain_pct_per_h=battery_drain_pct_per_h,
            )

    def stats(self) -> dict[str, dict[str, int | bool]]:
        return {serial: w.stats() for serial, w in self.wearables.items()}

    async def _run_wearable(self, wearable: Wearable, stop: asyncio.Event) -> None:
        # absolute schedule on the shared clock (next += period): sleep(period) alone drifts and
        # sends less than 1 Hz; in a time-lapse the real sleep is the period divided by the factor
        last = clock.now()
        next_at = last + self.interval_s
        while not stop.is_set():
            await asyncio.sleep(max(0.0, clock.CLOCK.wall_at(next_at) - time.time()))
            next_at += self.interval_s
            now = clock.now()
            if not self.paused.is_set():
                self._sending += 1
                try:
                    await wearable.send(last, now)
                finally:
                    self._sending -= 1
            last = now

    async def command(self, line: str) -> str:
        """One control-port command; the answer is ``ok``, JSON or ``error: ...``."""
        command, *args = line.split()
        if command == "stats":
            return json.dumps(self.stats())
        if command == "pause":  # answered once nothing is in flight, so stats taken after it are final
            self.paused.set()
            while self._sending:
                await asyncio.sleep(0.01)
            return "ok"
        if command == "resume":
            self.paused.clear()
            return "ok"
        if command not in {"disconnect", "vanish", "reappear", "loose", "clock", "battery", "garble"}:
            return f"error: unknown command {command!r}"
        if not args or (wearable := self.wearables.get(args[0])) is None:
            return f"error: no wearable {args[0] if args else '(missing serial)'}"
        try:
            action: Awaitable[None] | None = None
            if command == "disconnect":
                action = wearable.disconnect_all()
            elif command == "vanish":
                wearable.vanish(supervision_timeout_s=float(args[1]) if len(args) > 1 else 4.0)
            elif command == "reappear":
                wearable.reappear()
            elif command == "loose":
                if args[1:] not in (["on"], ["off"]):
                    return "error: loose SERIAL on|off"
                wearable.set_loose(args[1] == "on", at_s=clock.now())
            elif command == "clock":
                wearable.set_clock(offset_s=float(args[1]), drift_ppm=float(args[2]) if len(args) > 2 else 0.0)
            elif command == "garble":
                wearable.garble(malformed_payloads(int(args[1])))
            elif command == "battery":
                action = wearable.set_battery(int(args[1]))
            if action is not None:
                await action
        except (IndexError, ValueError) as exc:
            return f"error: {command}: {exc}"
        return "ok"

    async def _control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
        while line := (await reader.readline()).decode().strip():
            if line == "quit":
                stop.set()
                answer = "ok"
            else:
                answer = await self.command(line)
            writer.write((answer + "\n").encode())
            await writer.drain()
        writer.close()

    async def run(self, *, host: str, hci_port: int, control_port: int, stop: asyncio.Event) -> None:
        for wearable in self.wearables.values():
            await wearable.start()
        loop = asyncio.get_running_loop()

        def new_client() -> _HciClient:
            self._clients += 1
            return _HciClient(self.air, f"gateway-{self._clients}")

        hci = await loop.create_server(new_client, host, hci_port)
        control = await asyncio.start_server(lambda r, w: self._control(r, w, stop), host, control_port)
        tasks = [asyncio.ensure_future(self._run_wearable(w, stop)) for w in self.wearables.values()]
        _LOGGER.info(
            "%d wearables; HCI on %s:%d, control on %s:%d", len(self.wearables), host, hci_port, host, control_port
        )
        await stop.wait()
        for task in tasks:
            task.cancel()
        hci.close()
        control.close()
