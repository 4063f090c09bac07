"""serve stops on SIGTERM while a backlog fills its inbox, and the backlog is stored after the restart.

With its inbox full, paho's reading thread waits for room; stopping must release it (before the
fix serve waited for that thread forever). What was read but not handled was never acknowledged,
so the broker delivers it again: every sample is stored once, counted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kraamwacht.contract import Topics
from kraamwacht.service._mqtt import INBOX_MAX
from kraamwacht.testing import Mosquitto
from tests.integration.test_serve import SITE, Broker, ServeProcess, message, wait_online

MESSAGES = 10 * INBOX_MAX  # far more than the inbox holds: the reading thread waits for room
PER_MESSAGE = 5


def test_serve_stops_with_a_full_inbox_and_loses_nothing(tmp_path: Path) -> None:
    mosquitto = Mosquitto(tmp_path / "broker", persistence=False, max_queued_messages=0)  # the backlog waits there
    serve = ServeProcess(mosquitto.url, tmp_path)
    broker = None
    try:
        mosquitto.start()
        broker = Broker(serve.url, f"{Topics.ROOT}/{SITE}/status/serve")
        serve.start()
        wait_online(broker)
        t0 = datetime.now(tz=UTC) - timedelta(hours=3)  # one second per sample of each wearable: all in the past
        infos = [
            broker.client.publish(
                Topics.observations(SITE, f"ep{k % 50}", f"m{k % 50}"),
                message(f"wb{k % 50}", range(k // 50 * PER_MESSAGE, (k // 50 + 1) * PER_MESSAGE),
                        episode=f"ep{k % 50}", subject=f"m{k % 50}", t0=t0),
                qos=1,
            )
            for k in range(MESSAGES)
        ]  # fmt: skip
        for info in infos:
            info.wait_for_publish(120)
        total = MESSAGES * PER_MESSAGE
        first = serve.wait_count(1, 120)
        assert 0 < first < total  # stopped in the middle of the backlog (the broker holds the rest)
        assert serve.proc is not None
        serve.proc.terminate()
        assert serve.proc.wait(timeout=120) == 0  # it stops, and cleanly
        stored_at_stop = serve.count()
        assert stored_at_stop < total  # the rest is still with the broker: the restart must store it
        serve.start()
        assert serve.wait_count(total, 300) == total  # every sample, once
    finally:
        if broker is not None:
            broker.close()
        serve.stop()
        mosquitto.stop()
