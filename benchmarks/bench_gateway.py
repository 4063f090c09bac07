"""Benchmark of one gateway process: how many wearables at 1 Hz it keeps, and at what CPU cost.

Each run is three processes: ``kraamwacht sim`` (the emulated wearables and the virtual air),
``kraamwacht gateway run`` (plain bleak on the bumble backend over HCI on TCP, the disk spool, the
MQTT publisher) and Debian's mosquitto, plus a paho subscriber here that counts the samples
published. Per run: seconds until every wearable is connected, samples/s arriving at the broker
over ``--seconds``, and the CPU time of the gateway process (``/proc/<pid>/stat``) and of the
simulator over the same window.

The baseline is 50 wearables, run first in the same invocation; the 200-wearable run (the issue's
target) is reported as ratios against it: samples/s should scale ×4 and CPU per wearable stay flat.

Run: ``python benchmarks/bench_gateway.py [--seconds 60] [--sizes 50,200]``.
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
from pathlib import Path

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_serve import cpu_seconds, start_mosquitto  # noqa: E402
from kraamwacht.contract import Topics  # noqa: E402
from kraamwacht.firmware_sim.control import control as simulator_control  # noqa: E402
from kraamwacht.gateway.registry import Registry  # noqa: E402
from kraamwacht.waiting import free_port, wait_for_port  # noqa: E402

SITE = "bench"


def control(port: int, command: str) -> str:
    return simulator_control(port, command, timeout_s=30)


def cli(*args: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def run(n: int, seconds: float, folder: Path, broker_port: int) -> dict[str, float]:
    hci, ctl = free_port(), free_port()
    sim = cli(
        "sim", "--wearables", str(n), "--hci-port", str(hci), "--control-port", str(ctl), log=folder / f"sim{n}.log"
    )
    wait_for_port(ctl, 120)
    registry = Registry(folder / f"gw{n}" / "registry.db")
    for i in range(1, n + 1):
        registry.pair(f"{i:04d}", site=SITE, episode=f"ep{i}", subject=f"m{i}")
    counted = {"samples": 0, "connected": set()}
    lock = threading.Lock()

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        body = json.loads(message.payload)
        with lock:
            if mqtt.topic_matches_sub(Topics.device_status_filter(SITE), message.topic):
                if body.get("connected"):
                    counted["connected"].add(body["device"])  # type: ignore[union-attr]
            else:
                counted["samples"] += sum(s["signal"] != "battery_pct" for s in body["samples"])  # type: ignore[operator]

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-count-{n}")
    sub.on_message = on_message
    sub.connect("127.0.0.1", broker_port)
    sub.subscribe(
        [*((topic, 1) for topic in Topics.observations_filters(SITE)), (Topics.device_status_filter(SITE), 1)]
    )
    sub.loop_start()
    started = time.monotonic()
    gateway = cli(
        "gateway", "run", "--broker", f"mqtt://127.0.0.1:{broker_port}", "--site", SITE, "--id", f"gw{n}",
        "--ble", f"bumble:tcp-client:127.0.0.1:{hci}", "--state-dir", str(folder / f"gw{n}"), log=folder / f"gw{n}.log",
    )  # fmt: skip
    try:
        while len(counted["connected"]) < n:  # type: ignore[arg-type]
            if time.monotonic() - started > 300:
                raise RuntimeError(f"only {len(counted['connected'])} of {n} connected after 300 s")  # type: ignore[arg-type]
            time.sleep(0.2)
        connect_s = time.monotonic() - started
        time.sleep(5)  # settle: the first readings and the subscribe bursts are behind us
        with lock:
            samples0 = counted["samples"]
        gw0, sim0, t0 = cpu_seconds(gateway.pid), cpu_seconds(sim.pid), time.monotonic()
        time.sleep(seconds)
        with lock:
            samples1 = counted["samples"]
        gw1, sim1, t1 = cpu_seconds(gateway.pid), cpu_seconds(sim.pid), time.monotonic()
        stats = json.loads(control(ctl, "stats"))
    finally:
        gateway.terminate()
        gateway.wait(timeout=60)
        sim.terminate()
        sim.wait(timeout=60)
        sub.loop_stop()
        sub.disconnect()
    wall = t1 - t0
    return {
        "wearables": n,
        "connect_all_s": round(connect_s, 1),
        "samples_per_s": round((samples1 - samples0) / wall, 1),
        "expected_per_s": 2.0 * sum(1 for s in stats.values() if s["sent"]),
        "gateway_cpu_pct": round(100 * (gw1 - gw0) / wall, 1),
        "sim_cpu_pct": round(100 * (sim1 - sim0) / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sizes", default="50,200")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker, port = start_mosquitto(folder)
        try:
            results = [run(n, args.seconds, folder, port) for n in sizes]
        finally:
            broker.stop()
    base = results[0]
    print(
        f"{os.cpu_count()} cores; {args.seconds:.0f} s measured per run; temperature + heart rate at 1 Hz per wearable"
    )
    print(
        "| wearables | all connected after | samples/s at the broker (expected) | gateway CPU | simulator CPU | ×samples/s | ×CPU per wearable |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per_wearable = (r["gateway_cpu_pct"] / r["wearables"]) / (base["gateway_cpu_pct"] / base["wearables"])
        print(
            f"| {r['wearables']} | {r['connect_all_s']} s | {r['samples_per_s']} ({r['expected_per_s']:.0f}) | "
            f"{r['gateway_cpu_pct']} % | {r['sim_cpu_pct']} % | {r['samples_per_s'] / base['samples_per_s']:.2f} | "
            f"{per_wearable:.2f} |"
        )


if __name__ == "__main__":
    main()
