"""``kraamwacht gateway run``: the BLE side and the spool publisher together, as one service.

The BLE backend is chosen here and only here: bleak's own platform backend (BlueZ on a Raspberry
Pi) by default, or ``--ble bumble:<transport>`` for the emulated wearables. Under systemd with
``WatchdogSec=``, the service sends ``WATCHDOG=1`` while both halves are alive and the adapter is
not silent, so a hung adapter or publisher gets the process restarted; when the gateway's own
adapter watchdog gives up it exits with status 1 (``Restart=on-failure`` restarts it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from pathlib import Path

from kraamwacht.errors import InvalidValueError
from kraamwacht.gateway.app import Gateway
from kraamwacht.gateway.publisher import SpoolPublisher
from kraamwacht.gateway.registry import Registry
from kraamwacht.gateway.spool import Spool
from kraamwacht.gateway.status import StatusBoard
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
    raise InvalidValueError(
        f"--ble {ble!r}: use 'default' (bleak's platform backend) or bumble:<transport>, e.g. bumble:tcp-client:127.0.0.1:9100"
    )


def run_gateway(
    *,
    broker: BrokerAddress,
    site: str,
    gateway_id: str,
    state_dir: Path,
    ble: str,
    max_spool: int,
    silence_s: float = 60.0,
) -> int:
    """Run until SIGINT/SIGTERM (0) or until the adapter watchdog gives up (1)."""
    scanner_backend, client_backend = _backends(ble)
    registry = Registry(state_dir / "registry.db")
    spool = Spool(state_dir / "spool.db", max_samples=max_spool)
    stop = threading.Event()
    board = StatusBoard()
    publisher = SpoolPublisher(spool, broker, site=site, gateway=gateway_id, board=board, registry=registry)
    publishing = threading.Thread(target=publisher.run, args=(stop,), name="spool-publisher", daemon=True)
    publishing.start()

    async def ble_side() -> None:
        ble_stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, ble_stop.set)
        gateway = Gateway(
            registry,
            spool,
            scanner_backend=scanner_backend,
            client_backend=client_backend,
            board=board,
            silence_s=silence_s,
        )
        task = asyncio.ensure_future(gateway.run(ble_stop))
        sd_notify("READY=1")
        status = 0
        while not ble_stop.is_set():
            if not gateway.healthy:
                _LOGGER.error("the BLE adapter stays silent; exiting so that the service is restarted")
                status = 1
                ble_stop.set()
                break
            if publishing.is_alive() and not task.done():
                sd_notify("WATCHDOG=1")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ble_stop.wait(), timeout=min(5.0, silence_s / 4))
        await task
        if scanner_backend is not None:
            from kraamwacht.gateway import bleak_bumble

            await bleak_bumble.shutdown()
        return status

    try:
        return asyncio.run(ble_side())
    finally:
        stop.set()
        publishing.join(timeout=15)
        spool.close()
