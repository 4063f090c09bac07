"""The client side of the simulator's control port (the commands are listed in
:mod:`kraamwacht.firmware_sim.simulator`): one command a line, one answer a line.

Kept apart from the simulator so that the demo, the tests and the benchmarks can drive the
wearables without importing bumble.
"""

from __future__ import annotations

import socket

__all__ = ["control"]


def control(port: int, command: str, *, host: str = "127.0.0.1", timeout_s: float = 10.0) -> str:
    """Send one command and return the simulator's answer (``ok``, JSON, or ``error: ...``)."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall((command + "\n").encode())
        return sock.makefile().readline().strip()
