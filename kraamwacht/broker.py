"""The embedded MQTT broker (amqtt) for a single machine and ``make demo``: no server to install.

It runs in a thread with its own asyncio loop. amqtt speaks MQTT 3.1.1 only (serve connects with
``--mqtt-version 3.1.1``), has no shared subscriptions, keeps no offline queue for anonymous
clients and little across its own restart: the guarantees that need a broker to hold messages
while serve is down (persistent sessions) need mosquitto. See docs/serve.md's guarantees table.
"""

from __future__ import annotations

import asyncio
import logging
import threading

__all__ = ["EmbeddedBroker"]

_LOGGER = logging.getLogger(__name__)


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host, self.port = host, port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="amqtt-broker", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout_s):
            raise RuntimeError(f"the embedded broker did not start within {timeout_s} s")
        if self._error is not None:
            raise RuntimeError(f"the embedded broker failed to start: {self._error}") from self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        from amqtt.broker import Broker

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        config = {"listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}}}
        broker = Broker(config)
        try:
            await broker.start()
        except Exception as exc:  # amqtt raises its own BrokerException and OSError
            self._error = exc
            self._started.set()
            return
        _LOGGER.info("embedded broker listening on %s", self.url)
        self._started.set()
        await self._stop.wait()
        await broker.shutdown()
