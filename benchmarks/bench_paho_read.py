"""CPU a paho QoS 1 subscriber spends per message: paho's own client against serve's read-ahead client.

    python benchmarks/bench_paho_read.py [--homes 1000] [--seconds 60] [--repeats 3]

paho reads a packet's first byte, each byte of its length and then the rest with one ``recv``
each, and goes through ``select`` once per packet. ``kraamwacht.service._paho.ReadAheadClient``
reads up to 64 KiB at once and hands paho every whole packet it holds in one turn of its loop.
Both subscribe as serve does (QoS 1, acknowledged by hand, here at once) on a real mosquitto, to
the live-home messages of bench_serve.py sent by a publisher in another process; the CPU time of
this process (all of its threads) is divided by the messages received. The two clients take turns,
``--repeats`` times each, in one process; the best run of each is reported, and their ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_serve import SITE, start_mosquitto  # noqa: E402

from kraamwacht.contract import Topics  # noqa: E402
from kraamwacht.service._paho import ReadAheadClient  # noqa: E402

_PUBLISHER = """
import sys
sys.path.insert(0, {benchmarks!r})
import bench_serve
bench_serve.publish_all({port}, bench_serve.live_homes({homes}, {seconds}), "load-publisher")
"""


def cpu_per_message(kind: type[mqtt.Client], port: int, homes: int, seconds: int, name: str) -> float:
    """Microseconds of this process's CPU per message received (and acknowledged)."""
    total = homes * seconds
    done = threading.Event()
    count = [0]

    def on_message(client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        count[0] += 1
        client.ack(msg.mid, msg.qos)
        if count[0] == total:
            done.set()

    sub = kind(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5, manual_ack=True)
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_args: subscribed.set()
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    try:
        sub.subscribe([(topic, 1) for topic in Topics.observations_filters(SITE)])
        if not subscribed.wait(30):
            raise RuntimeError("no subscription")
        script = _PUBLISHER.format(benchmarks=str(ROOT / "benchmarks"), port=port, homes=homes, seconds=seconds)
        start = time.process_time()
        publisher = subprocess.Popen([sys.executable, "-c", script])
        if not done.wait(600):
            raise RuntimeError(f"{name} received {count[0]} of {total} messages")
        cpu = time.process_time() - start
        publisher.wait(60)
    finally:
        sub.disconnect()
        sub.loop_stop()
    return cpu / total * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"paho": [], "read-ahead": []}
    with tempfile.TemporaryDirectory(prefix="bench-paho-") as tmp:
        for k in range(args.repeats):
            for label, kind in (("paho", mqtt.Client), ("read-ahead", ReadAheadClient)):
                folder = Path(tmp) / f"{label}{k}"
                folder.mkdir()
                broker, port = start_mosquitto(folder)
                try:
                    us = cpu_per_message(kind, port, args.homes, args.seconds, f"{label}-{k}")
                finally:
                    broker.stop()
                runs[label].append(us)
                print(f"{label} run {k + 1}: {us:.1f} µs CPU per message", flush=True)
    paho, ahead = min(runs["paho"]), min(runs["read-ahead"])
    print(f"{args.homes * args.seconds:,} live-home messages, best of {args.repeats}:")
    print(f"| paho's client       | {paho:.1f} µs CPU per message |")
    print(f"| read-ahead client   | {ahead:.1f} µs CPU per message |")
    print(f"| paho / read-ahead   | {paho / ahead:.2f} × |")


if __name__ == "__main__":
    main()
