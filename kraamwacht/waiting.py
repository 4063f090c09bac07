"""Ports and waiting for events with a deadline: shared by the demo, the tests and the benchmarks.

Nothing here measures time as a result: a deadline is only how long to keep looking, generous
so that a loaded machine still passes.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["free_port", "port_open", "wait_for", "wait_for_port"]

T = TypeVar("T")


_RANDOM = random.Random()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now, chosen *below* the operating system's ephemeral range.

    A port from the ephemeral range (``bind(0)``) can be taken by any outgoing connection (a browser,
    an MQTT client) between this call and the moment a server binds it: on a busy machine that
    happened to the demo's board. Below the range only another listener can take it.
    """
    low, _high = _ephemeral_range()
    for _ in range(200):
        port = _RANDOM.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # a crowded machine: the OS's choice after all
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, *, timeout_s: float = 0.0, interval_s: float = 0.1) -> bool:
    """Whether something listens on ``host:port``, looking until ``timeout_s`` (at least once)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def wait_for(
    predicate: Callable[[], T], timeout_s: float = 60.0, *, what: str = "the condition", interval_s: float = 0.1
) -> T:
    """The first truthy value of ``predicate()``; ``TimeoutError`` naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:g} s")
        time.sleep(interval_s)


def wait_for_port(port: int, timeout_s: float = 10.0, *, host: str = "127.0.0.1") -> None:
    """Return once something listens on ``host:port``; ``TimeoutError`` after ``timeout_s``."""
    if not port_open(host, port, timeout_s=timeout_s, interval_s=0.05):
        raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s:g} s")
