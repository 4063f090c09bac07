"""Benchmark of ``kraamwacht serve`` against a raw paho subscriber, on a real local mosquitto.

Writes the "Ingest service" section of docs/benchmarks.md:

1. **baseline**: a bare paho subscriber (QoS 1) receiving the same messages published as fast as
   one paho publisher can;
2. **serve at 10 k samples/s**: 100 subjects, one message of 100 one-second temperature samples
   per subject per second (time is compressed: 100 s of data a second), for ``--seconds``. Every
   subject reads 37.5 °C axillary (estimated core 38.15 °C), so each gets a fever alert after 30
   minutes of data. Latency = alert received − publication of the message holding the sample that
   closed the decisive epoch (its end + the 120 s reorder grace);
3. **serve flat out**: a burst published as fast as possible; stored samples/s until all are stored.

Needs Debian's mosquitto. Run: ``python benchmarks/bench_serve.py [--seconds 40]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from kraamwacht.contract import Topics  # noqa: E402
from kraamwacht.storage.sqlite import SqliteStore  # noqa: E402
from kraamwacht.testing import Mosquitto  # noqa: E402

SITE = "bench"
SUBJECTS = 100
SAMPLES_PER_MESSAGE = 100
GRACE_S = 120


def start_mosquitto(folder: Path) -> tuple[Mosquitto, int]:
    """A mosquitto without persistence or a queue limit, as the benchmarks measured it."""
    broker = Mosquitto(folder, persistence=False, max_queued_messages=0)
    broker.start()
    return broker, broker.port


def client(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
    c.max_inflight_messages_set(100)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def payload(subject: int, first_s: float, seq0: int) -> bytes:
    samples = [
        {
            "signal": "temperature_c",
            "value": 37.5,
            "t": datetime.fromtimestamp(first_s + i, tz=UTC).isoformat(),
            "seq": seq0 + i,
        }
        for i in range(SAMPLES_PER_MESSAGE)
    ]
    return json.dumps(
        {"v": 1, "device": f"wb{subject}", "episode": f"ep{subject}", "subject": f"m{subject}", "samples": samples}
    ).encode()


def baseline(port: int, messages: int) -> float:
    """Samples/s a bare paho subscriber receives."""
    received = threading.Event()
    count = [0]

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        count[0] += 1
        if count[0] == messages:
            received.set()

    sub = client(port, "raw-subscriber")
    sub.on_message = on_message
    sub.subscribe(Topics.observations_filter(SITE), qos=1)
    time.sleep(0.3)
    pub = client(port, "raw-publisher")
    first = (datetime.now(tz=UTC) - timedelta(days=25)).timestamp()
    data = [payload(k % SUBJECTS, first + k * 100, k * 100) for k in range(messages)]
    start = time.perf_counter()
    infos = [
        pub.publish(Topics.observations(SITE, f"ep{k % SUBJECTS}", f"m{k % SUBJECTS}"), d, qos=1)
        for k, d in enumerate(data)
    ]
    received.wait(120)
    elapsed = time.perf_counter() - start
    for info in infos[-10:]:
        info.wait_for_publish(5)
    sub.disconnect()
    pub.disconnect()
    return count[0] * SAMPLES_PER_MESSAGE / elapsed


def start_serve(port: int, folder: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", "serve", "--broker", f"mqtt://127.0.0.1:{port}", "--site", SITE,
         "--store", f"sqlite:///{folder / 'k.db'}", "--state-dir", str(folder / "state")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_stored(db: Path, n: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if db.exists() and SqliteStore(db).count() >= n:
            return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"serve stored fewer than {n} samples within {timeout_s} s")


def at_10k(port: int, folder: Path, seconds: int) -> dict[str, float]:
    serve = start_serve(port, folder)
    time.sleep(3)
    alerts: list[tuple[float, dict]] = []
    watcher = client(port, "alert-watcher")
    watcher.on_message = lambda _c, _u, m: alerts.append((time.perf_counter(), json.loads(m.payload)))
    watcher.subscribe(Topics.alert_events(SITE), qos=1)
    pub = client(port, "load-publisher")
    start_data = (datetime.now(tz=UTC) - timedelta(days=20)).timestamp() // 60 * 60
    published: dict[int, list[tuple[float, float]]] = {s: [] for s in range(SUBJECTS)}  # (first data time, wall time)
    start = time.perf_counter()
    for second in range(seconds):
        tick = start + second
        for subject in range(SUBJECTS):
            first = start_data + second * SAMPLES_PER_MESSAGE
            pub.publish(
                Topics.observations(SITE, f"ep{subject}", f"m{subject}"),
                payload(subject, first, second * SAMPLES_PER_MESSAGE),
                qos=1,
            )
            published[subject].append((first, time.perf_counter()))
        time.sleep(max(0.0, tick + 1 - time.perf_counter()))
    offered = seconds * SUBJECTS * SAMPLES_PER_MESSAGE / (time.perf_counter() - start)
    done = wait_stored(folder / "k.db", seconds * SUBJECTS * SAMPLES_PER_MESSAGE, 120)
    stored_rate = seconds * SUBJECTS * SAMPLES_PER_MESSAGE / (done - start)
    time.sleep(2)
    latencies = []
    for received_at, event in alerts:
        if event["event"] != "raised" or event["rule"] != "fever":
            continue
        subject = int(event["subject"].removeprefix("m"))
        closing = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp() + GRACE_S
        for first, wall in published[subject]:
            if first <= closing < first + SAMPLES_PER_MESSAGE:
                latencies.append(received_at - wall)
                break
    serve.terminate()
    serve.wait(20)
    pub.disconnect()
    watcher.disconnect()
    lat = np.array(latencies)
    return {
        "offered": offered,
        "stored_rate": stored_rate,
        "alerts": float(lat.size),
        "p50_ms": float(np.percentile(lat, 50) * 1000) if lat.size else float("nan"),
        "p99_ms": float(np.percentile(lat, 99) * 1000) if lat.size else float("nan"),
    }


def flat_out(port: int, folder: Path, messages: int) -> float:
    serve = start_serve(port, folder)
    time.sleep(3)
    pub = client(port, "burst-publisher")
    first = (datetime.now(tz=UTC) - timedelta(days=25)).timestamp()  # recent enough for the contract (31 days)
    start = time.perf_counter()
    for k in range(messages):
        subject = k % SUBJECTS
        pub.publish(
            Topics.observations(SITE, f"ep{subject}", f"m{subject}"), payload(subject, first + k * 100, k * 100), qos=1
        )
    done = wait_stored(folder / "k.db", messages * SAMPLES_PER_MESSAGE, 300)
    serve.terminate()
    serve.wait(20)
    pub.disconnect()
    return messages * SAMPLES_PER_MESSAGE / (done - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--burst", type=int, default=3000, help="messages of 100 samples in the flat-out run")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker, port = start_mosquitto(folder)
        try:
            raw = baseline(port, args.burst)
            print(f"raw paho subscriber {raw / 1e3:.1f} k samples/s", flush=True)
            (folder / "a").mkdir()
            load = at_10k(port, folder / "a", args.seconds)
            print(load, flush=True)
            (folder / "b").mkdir()
            flat = flat_out(port, folder / "b", args.burst)
            print(f"serve flat out {flat / 1e3:.1f} k samples/s", flush=True)
        finally:
            broker.stop()
    now = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""## Ingest service

Measured {now}; `python benchmarks/bench_serve.py --seconds {args.seconds}`: a real mosquitto on
127.0.0.1, `kraamwacht serve` as its own process with the embedded store, messages of 100 samples,
QoS 1. On this 2-core machine publisher, broker and serve share the cores.

| measure | value |
|---|---|
| raw paho subscriber (QoS 1), messages published as fast as possible | {raw / 1e3:.1f} k samples/s |
| serve flat out: validated, deduplicated, stored, detected | **{flat / 1e3:.1f} k samples/s** ({flat / raw:.2f} × the raw subscriber) |
| serve at an offered {load["offered"] / 1e3:.1f} k samples/s ({SUBJECTS} subjects, {args.seconds} s) | stored {load["stored_rate"] / 1e3:.1f} k samples/s |
| sample → alert latency at that load ({load["alerts"]:.0f} fever alerts) | **p50 {load["p50_ms"]:.0f} ms, p99 {load["p99_ms"]:.0f} ms** |
"""
    existing = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    start = existing.find("## Ingest service")
    if start >= 0:
        end = existing.find("\n## ", start + 1)
        existing = existing[:start] + existing[end + 1 :] if end >= 0 else existing[:start]
    args.out.write_text(existing.rstrip() + "\n\n" + text)
    print(text)


if __name__ == "__main__":
    main()
