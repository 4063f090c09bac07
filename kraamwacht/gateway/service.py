"""``kraamwacht gateway run``: the BLE side and the spool publisher together, as one service.

The BLE backend is chosen here and only here: bleak's own platform backend (BlueZ on a Raspberry
Pi) by default, or ``--ble bumble:<transport>`` for the emulated wearables. Under systemd with
``WatchdogSec=``, the service sends ``WATCHDOG=1`` while both halves are alive, so a hung adapter
or publisher gets the process restarted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
from pathlib import Path

from kraamwacht.gateway.app import Gateway
from kraamwacht.gateway.publisher import SpoolPublisher
from kraamwacht.gateway.registry import Registry
from kraamwacht.gateway.spool import Spool
from kraamwacht.publish import BrokerAddress

__all__ = ["run_gateway", "sd_notify"]

_LOGGER = logging.getLogger(__name__)


def sd_notify(message: str) -> bool:
    """Tell systemd (``NOTIFY_SOCKET``) how we are; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode(), address)
    return True


def _backends(ble: str) -> tuple[type | None, type | None]:
    if ble == "default":
        return None, None
    if ble.startswith("bumble:"):
        from kraamwacht.gateway import bleak_bumble

        bleak_bumble.configure(transport=ble.removeprefix("bumble:"))
        return bleak_bumble.BleakScannerBumble, bleak_bumble.BleakClientBumble
    raise ValueError(
        f"--ble {ble!r}: use 'default' (bleak's platform backend) or bumble:<transport>, e.g. bumble:tcp-client:127.0.0.1:9100"
    )


def run_gateway(
    *, broker: BrokerAddress, site: str, gateway_id: str, state_dir: Path, ble: str, max_spool: int
) -> None:
    scanner_backend, client_backend = _backends(ble)
    registry = Registry(state_dir / "registry.db")
    spool = Spool(state_dir / "spool.db", max_samples=max_spool)
    stop = threading.Event()
    publisher = SpoolPublisher(spool, broker, site=site, gateway=gateway_id)
    publishing = threading.Thread(target=publisher.run, args=(stop,), name="spool-publisher", daemon=True)
    publishing.start()

    async def ble_side() -> None:
        ble_stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, ble_stop.set)
        gateway = Gateway(registry, spool, scanner_backend=scanner_backend, client_backend=client_backend)
        task = asyncio.ensure_future(gateway.run(ble_stop))
        sd_notify("READY=1")
        while not ble_stop.is_set():
            if publishing.is_alive() and not task.done():
                sd_notify("WATCHDOG=1")
            await asyncio.sleep(5)
        await task

    try:
        asyncio.run(ble_side())
    finally:
        stop.set()
        publishing.join(timeout=15)
        spool.close()
