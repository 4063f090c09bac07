"""serve under a flood: 730 MB of hostile 250 KB messages offered as fast as a client can publish,
with valid traffic in between. Memory stays bounded because serve's inbox holds at most INBOX_MAX
messages and INBOX_MAX_BYTES bytes: when it is full the reading thread waits, the socket is not read, and the rest of the
flood waits in the broker (TCP back-pressure), not in serve. (MQTT 5's Receive Maximum alone did
not bound it: mosquitto 2.0.11 handed out far more once acknowledgements flowed.)"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kraamwacht.contract import MAX_MESSAGE_BYTES, Topics
from kraamwacht.service._mqtt import INBOX_MAX, INBOX_MAX_BYTES
from kraamwacht.testing import Mosquitto
from kraamwacht.waiting import wait_for
from tests.integration.test_serve import SITE, Broker, ServeProcess, message, wait_online

ROOT = Path(__file__).resolve().parents[2]
N_FLOOD = 3000
FLOOD_BYTES = 250 * 1024


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_flood_does_not_grow_serve_and_loses_no_valid_sample(tmp_path: Path) -> None:
    assert FLOOD_BYTES < MAX_MESSAGE_BYTES  # large but allowed: each is parsed and refused on its content
    # the flood waits in the broker: no limit on its queue, no disk
    mosquitto = Mosquitto(tmp_path / "broker", persistence=False, max_queued_messages=0)
    serve = ServeProcess(mosquitto.url, tmp_path)
    broker = None
    try:
        mosquitto.start()
        broker = Broker(serve.url, f"{Topics.ROOT}/{SITE}/status/serve")
        serve.start()
        wait_online(broker)
        assert serve.proc is not None
        before_mb = _peak_rss_mb(serve.proc.pid)
        rng = random.Random(3)
        topic = Topics.observations(SITE, "ep1", "m1")
        t0 = datetime.now(tz=UTC) - timedelta(hours=2)
        infos = []
        for k in range(N_FLOOD):  # not valid UTF-8: refused with a reason, never stored
            infos.append(broker.client.publish(topic, b"\xff" + rng.randbytes(FLOOD_BYTES), qos=1))
            if k % 10 == 0:
                infos.append(broker.client.publish(topic, message("wb-good", range(k, k + 10), t0=t0), qos=1))
        for info in infos:
            info.wait_for_publish(120)
        valid = 10 * len(range(0, N_FLOOD, 10))
        assert serve.wait_count(valid, 300) == valid
        peak_mb = _peak_rss_mb(serve.proc.pid)
        assert serve.proc.poll() is None
        status = f"{Topics.ROOT}/{SITE}/status/serve"
        last = wait_for(  # the next status that has counted every refusal (published every few seconds)
            lambda: next((m for m in reversed(broker.messages(status)) if m.get("rejected_total") == N_FLOOD), None),
            60,
            what="a status counting every refused message",
        )
    finally:
        if broker is not None:
            broker.close()
        serve.stop()
        mosquitto.stop()
    offered_mb = N_FLOOD * FLOOD_BYTES / 2**20
    bound_mb = min(INBOX_MAX * FLOOD_BYTES, INBOX_MAX_BYTES) / 2**20  # what may wait in serve at once (bytes)
    print(f"offered {offered_mb:.0f} MB; serve peak RSS {before_mb:.0f} → {peak_mb:.0f} MB (bound {bound_mb:.0f} MB)")
    # bounded by flow control, not by what was offered: the messages in flight, each held a few
    # times over while paho reads it and serve handles it
    assert peak_mb - before_mb < 4 * bound_mb + 50
    assert peak_mb - before_mb < offered_mb / 4
    assert last["rejected_total"] == N_FLOOD  # each counted with its reason
    assert last["rejected"] == {"not_utf8": N_FLOOD}  # each counted with its reason
