"""serve's inbox: messages between paho's reading thread and the main loop, bounded in count and bytes.

When it is full, paho's reading thread waits, and the rest waits in the broker (whose own queue
limit ``kraamwacht broker-config`` sets): memory stays bounded by what the inbox may hold, not by
what is offered. A single message larger than the byte bound is still taken when the inbox is
empty, so nothing can wedge it. On shutdown :meth:`close` releases a waiting producer: what it
held is never acknowledged, so the broker delivers it again after the restart.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

__all__ = ["Inbox"]

T = TypeVar("T")


class Inbox(Generic[T]):
    """A FIFO of at most ``max_messages`` items and ``max_bytes`` bytes of payload."""

    def __init__(self, *, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._changed = threading.Condition()
        self._closed = False

    @property
    def bytes(self) -> int:
        """Payload bytes waiting now."""
        return self._bytes

    def put(self, item: T, size: int) -> bool:
        """Add ``item`` of ``size`` bytes, waiting while the inbox is full; False once it is closed."""
        with self._changed:
            while (
                not self._closed
                and self._items
                and (len(self._items) >= self.max_messages or self._bytes + size > self.max_bytes)
            ):
                self._changed.wait()
            if self._closed:
                return False
            self._items.append((item, size))
            self._bytes += size
            self._changed.notify_all()
            return True

    def _full(self) -> bool:
        """No room for another item (a producer may be waiting): lingering would gain nothing."""
        return len(self._items) >= self.max_messages or self._bytes >= self.max_bytes

    def close(self) -> None:
        """Refuse every later item and release a producer waiting for room (serve is stopping)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item, waiting up to ``timeout`` seconds; None if none came."""
        items = self.take(1, timeout)
        return items[0] if items else None

    def take(self, max_items: int, timeout: float | None = None, *, linger_s: float = 0.0, enough: int = 1) -> list[T]:
        """Up to ``max_items`` of the oldest items in one hold of the lock (serve's batch), waiting up
        to ``timeout`` seconds for the first; empty if none came.

        With ``linger_s``, once the first has come it waits up to that long for ``enough`` items (or
        a full inbox): a batch's fixed cost (a transaction, the acknowledgements, the publishing)
        then falls on dozens of messages instead of one, which at thousands of messages a second
        halves serve's cost per message (docs/benchmarks.md) for a few milliseconds of latency.
        """
        with self._changed:
            if not self._items and not self._changed.wait_for(lambda: bool(self._items), timeout):
                return []
            if linger_s > 0 and len(self._items) < enough:
                self._changed.wait_for(lambda: self._closed or len(self._items) >= enough or self._full(), linger_s)
            out = []
            for _ in range(min(max_items, len(self._items))):
                item, size = self._items.popleft()
                self._bytes -= size
                out.append(item)
            self._changed.notify_all()
            return out

    def get_nowait(self) -> T | None:
        """The oldest item, or None at once."""
        return self.get(timeout=0)
