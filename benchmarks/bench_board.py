"""Benchmark of the board with a big caseload: how long the Overzicht page takes to render.

200 care episodes (the issue's number), each mother with the last 6 hours of temperature and
heart rate every 5 s in the embedded store (0.9 M samples; the reads are index seeks, so the
density does not matter) and every third with an open alert retained on a
real mosquitto, as serve publishes it. The page is rendered by Streamlit's AppTest (the script run
that makes the page, without a browser's paint), logged in as a kraamverzorgende; the store reads
alone are timed too. The baseline is 10 episodes in the same invocation.

Run: ``python benchmarks/bench_board.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_serve import start_mosquitto  # noqa: E402
from kraamwacht.contract import Observation, Topics  # noqa: E402
from kraamwacht.dashboard.auth import User  # noqa: E402
from kraamwacht.dashboard.data import latest_values, temperature_trend  # noqa: E402
from kraamwacht.episodes import EpisodeRegistry  # noqa: E402
from kraamwacht.storage.sqlite import SqliteStore  # noqa: E402

APP = str(ROOT / "kraamwacht" / "dashboard" / "app.py")
STRIDE = (
    5  # every 5th second of the 1 Hz stream is stored: filling 200 × 6 h at 1 Hz through the store API takes minutes
)


def fill(folder: Path, n: int, port: int) -> SqliteStore:
    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(folder / "board" / "episodes.db")
    store = SqliteStore(folder / "k.db")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t = np.arange((now - timedelta(hours=6)).timestamp(), now.timestamp(), 1.0)[::STRIDE]
    for i in range(n):
        episode, mother = f"ep{i:03d}", f"m{i:03d}"
        registry.add(episode, site="b", mother=mother, newborn=f"b{i:03d}", birth_at=now - timedelta(hours=30),
                     ga_weeks=39.0, label=f"kamer {i}")  # fmt: skip
        batch = [
            Observation(episode=episode, subject=mother, device=f"wb{i}", signal=signal, value=value, unit=unit,
                        device_time=datetime.fromtimestamp(ts, tz=UTC), receive_time=now, seq=2 * k + j)
            for k, ts in enumerate(t)
            for j, (signal, value, unit) in enumerate((("temperature_c", 36.8, "Cel"), ("heart_rate_bpm", 80.0, "/min")))
        ]  # fmt: skip
        store.write(batch)
        alerts = [] if i % 3 else [{"alert_id": f"a{i}", "level": "warning", "category": "clinical", "rule": "temp_rise",
                                    "raised_at": now.isoformat(), "message": "Temperatuur stijgt"}]  # fmt: skip
        body = {"episode": episode, "updated_at": now.isoformat(), "open_alerts": alerts}
        client.publish(Topics.alert_state("b", episode), json.dumps(body), qos=1, retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()
    return store


def render_times(runs: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["user"] = User("anna", "kraamverzorgende")
    out = []
    for _ in range(runs + 1):  # the first run warms the caches (feed connection, imports)
        at.session_state["last_active"] = time.time()
        start = time.perf_counter()
        at.run()
        out.append(time.perf_counter() - start)
        assert not at.exception, at.exception
    return out[1:]


def measure(n: int, runs: int, folder: Path, port: int) -> dict[str, float]:
    store = fill(folder, n, port)
    os.environ.update(KRAAMWACHT_BROKER=f"mqtt://127.0.0.1:{port}", KRAAMWACHT_SITE="b",
                      KRAAMWACHT_STORE=f"sqlite:///{folder / 'k.db'}", KRAAMWACHT_BOARD_DIR=str(folder / "board"))  # fmt: skip
    mothers = [f"m{i:03d}" for i in range(n)]
    reads = []
    for _ in range(runs):
        start = time.perf_counter()
        latest_values(store, mothers, now=datetime.now(tz=UTC))
        temperature_trend(store, mothers, now=datetime.now(tz=UTC))
        reads.append(time.perf_counter() - start)
    times = render_times(runs)
    return {"episodes": n, "render_median_s": statistics.median(times), "render_max_s": max(times),
            "reads_median_s": statistics.median(reads)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = []
    for n in (10, 200):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            broker, port = start_mosquitto(folder)
            try:
                results.append(measure(n, args.runs, folder, port))
            finally:
                broker.stop()
    base = results[0]
    print(f"{os.cpu_count()} cores; {args.runs} renders each; 6 h of temperature + heart rate every 5 s per mother")
    print("| episodes | Overzicht render, median (max) | store reads for all cards | × render vs 10 |")
    print("|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['episodes']} | {r['render_median_s'] * 1000:.0f} ms ({r['render_max_s'] * 1000:.0f} ms) | "
              f"{r['reads_median_s'] * 1000:.0f} ms | {r['render_median_s'] / base['render_median_s']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
