"""Ports and waiting for events with a deadline: shared by the demo, the tests and the benchmarks.

Nothing here measures time as a result: a deadline is only how long to keep looking, generous
so that a loaded machine still passes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["free_port", "port_open", "wait_for", "wait_for_port"]

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS's choice)."""
    with socket.socket() as s:
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
