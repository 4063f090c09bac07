"""Benchmark of ``kraamwacht serve`` side by side with a bare paho subscriber, on a real local mosquitto.

Writes the "Ingest service" section of docs/benchmarks.md. Each case builds one list of MQTT
messages; the very same list is then published as fast as one paho publisher can (QoS 1), first
to a bare paho QoS 1 subscriber that only counts messages, then to ``kraamwacht serve`` (its own
process, embedded store), which validates, deduplicates, stores and runs the detectors before it
acknowledges. The rate is samples / (last one received or stored − first publish). The cases 1
and 2 below run ``--repeats`` times (3), the two sides taking turns, each run on a fresh broker;
the table gives the median rates and the range of the runs' ratios.

1. **live homes**: ``--homes`` wearables, one message a second each with a temperature and a
   heart-rate sample, ``--seconds`` of data; and ``--closing-homes`` for ``--closing-seconds``,
   long enough for the detectors' epochs to close (the first after 3 minutes of data);
2. **spool flush**: ``--flush-homes`` gateways each sending its backlog in messages of 1,000
   samples (a broker that was away for a while), once in version 1 of the message (an object per
   sample) and once in version 2 (columns, as gateways now send a backlog);
3. **latency**: ``--latency-homes`` homes offered one message a second each in real time (a
   temperature and a heart rate, 1 Hz), each with 31 minutes of fever already stored, so that
   every home's fever alert falls due about a minute into the run (spread over a minute by the
   wearables' clocks). Latency = alert received − publication of the message whose sample
   closed the decisive epoch (the alert's time + the 120 s reorder grace). The largest case is
   run again with its homes spread over ``--latency-sites`` sites, a serve process each. Every
   case runs with each of ``--latency-arrivals``: "burst" (every home's message of a second at
   its start) and "spread" (each home at its own moment of the second, as independent wearables).

On this 2-core machine publisher, broker and serve (or the subscriber) share the cores. Needs
Debian's mosquitto. Run: ``python benchmarks/bench_serve.py`` (about 40 minutes).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson
import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from kraamwacht.contract import (  # noqa: E402
    SIGNAL_UNITS,
    Observation,
    Signal,
    Topics,
    columns_payload,
    parse_message,
)
from kraamwacht.service._core import IngestCore, RawMessage  # noqa: E402
from kraamwacht.service._eventlog import EventLog  # noqa: E402
from kraamwacht.service._mqtt import status_topic  # noqa: E402
from kraamwacht.signal._epochs import subject_slot  # noqa: E402
from kraamwacht.storage.sqlite import SqliteStore  # noqa: E402
from kraamwacht.testing import Mosquitto  # noqa: E402

SITE = "bench"
GRACE_S = 120
LIVE_SEQ = 10_000  # the live messages' sequence numbers start above the seeded history's
Message = tuple[str, bytes, int]  # topic, payload, samples


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


def _z(t_s: float) -> str:
    return datetime.fromtimestamp(t_s, tz=UTC).isoformat().replace("+00:00", "Z")


def message(home: int, samples: list[dict], site: str = SITE) -> Message:
    body = {"v": 1, "device": f"wb{home}", "episode": f"ep{home}", "subject": f"m{home}", "samples": samples}
    return Topics.observations(site, f"ep{home}", f"m{home}"), json.dumps(body).encode(), len(samples)


ARRIVALS = ("burst", "spread")
# whose clocks stamp the samples in the latency case: "wearable", both signals by the wearable's
# clock, home h's h % 60 seconds behind (the homes' epochs close over a minute); "gateway", the heart
# rate by the gateway's clock as kraamwacht's gateway stamps it (the Heart Rate Measurement carries
# no time), so every home's epoch closes in the same second of the minute
CLOCKS = ("wearable", "gateway")
SLICES_PER_S = 50  # a spread second is published in slices of 20 ms


def site_of(home: int, sites: int) -> str:
    """The site (care organisation) a home belongs to when the homes are spread over ``sites``."""
    return SITE if sites == 1 else f"{SITE}{home % sites}"


def vitals(t_s: float, seq: int, temp_c: float, hr_bpm: float, *, hr_t_s: float | None = None) -> list[dict]:
    return [
        {"signal": "temperature_c", "value": temp_c, "t": _z(t_s), "seq": seq},
        {"signal": "heart_rate_bpm", "value": hr_bpm, "t": _z(t_s if hr_t_s is None else hr_t_s), "seq": seq + 1},
    ]


def live_homes(homes: int, seconds: int) -> list[Message]:
    """One message a second per home, second by second, with a temperature and a heart rate."""
    first = (datetime.now(tz=UTC) - timedelta(days=2)).timestamp() // 60 * 60
    return [message(h, vitals(first + s, 2 * s, 36.6, 78.0)) for s in range(seconds) for h in range(homes)]


def spool_flush(homes: int, messages_per_home: int, *, columns: bool = False) -> list[Message]:
    """Each gateway's backlog in messages of 1,000 samples (500 seconds of both signals).

    ``columns``: as version 2 messages (a gateway's backlog since version 2), the same samples.
    """
    first = (datetime.now(tz=UTC) - timedelta(days=3)).timestamp() // 60 * 60
    out = []
    for k in range(messages_per_home):
        for h in range(homes):
            samples = []
            for i in range(500):
                samples += vitals(first + k * 500 + i, 1000 * k + 2 * i, 36.6, 78.0)
            out.append(columns_message(h, samples) if columns else message(h, samples))
    return out


def columns_message(home: int, samples: list[dict], site: str = SITE) -> Message:
    """:func:`message`'s samples as a version 2 message (columns), as a gateway sends a backlog."""
    payload = columns_payload(
        device=f"wb{home}",
        stream=None,
        episode=f"ep{home}",
        subject=f"m{home}",
        samples=[(s["signal"], s["value"], datetime.fromisoformat(s["t"]), s["seq"], ()) for s in samples],
    )
    return Topics.observations(site, f"ep{home}", f"m{home}"), payload, len(samples)


def publish_all(port: int, messages: list[Message], name: str, *, window: int = 2000) -> float:
    """Publish every message as fast as possible, at most ``window`` unacknowledged (paho refuses
    to queue far more); the perf_counter time of the first publish."""
    pub = client(port, name)
    start = time.perf_counter()
    infos: list[mqtt.MQTTMessageInfo] = []
    for topic, payload, _n in messages:
        if len(infos) >= window:
            infos[-window].wait_for_publish(60)
        info = pub.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise RuntimeError(f"publish refused: {mqtt.error_string(info.rc)}")
        infos.append(info)
    for info in infos[-window:]:
        info.wait_for_publish(60)
    pub.disconnect()
    pub.loop_stop()
    return start


def raw_rate(port: int, messages: list[Message]) -> float:
    """Samples/s a bare paho QoS 1 subscriber receives."""
    done = threading.Event()
    count = [0, 0.0]

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        count[0] += 1
        if count[0] == len(messages):
            count[1] = time.perf_counter()
            done.set()

    sub = client(port, "raw-subscriber")
    sub.on_message = on_message
    sub.subscribe([(topic, 1) for topic in Topics.observations_filters(SITE)])  # as serve does
    time.sleep(0.5)
    start = publish_all(port, messages, "raw-publisher")
    if not done.wait(600):
        raise RuntimeError(f"the raw subscriber received {count[0]} of {len(messages)} messages")
    sub.disconnect()
    sub.loop_stop()
    return sum(n for _t, _p, n in messages) / (count[1] - start)


def start_serve(port: int, folder: Path, site: str = SITE, *, config: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", "serve", "--broker", f"mqtt://127.0.0.1:{port}", "--site", site,
         "--store", f"sqlite:///{folder / 'k.db'}", "--state-dir", str(folder / "state"),
         *(["--config", str(config)] if config is not None else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=(folder / "serve.log").open("wb"),
    )  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_online(port: int, timeout_s: float = 60, site: str = SITE) -> None:
    """Until serve says it is online (retained status), so that no message waits for its start-up."""
    online = threading.Event()
    watcher = client(port, f"status-watcher-{site}")
    watcher.on_message = lambda _c, _u, m: online.set() if b'"online"' in m.payload else None
    watcher.subscribe(status_topic(site), qos=1)
    if not online.wait(timeout_s):
        raise RuntimeError("serve did not come online")
    watcher.disconnect()
    watcher.loop_stop()


def wait_stored(db: Path, last: tuple[str, int], total: int, timeout_s: float) -> float:
    """When the last published sample is stored (an index seek, cheap to poll); then check the count."""
    deadline = time.monotonic() + timeout_s
    while not db.exists():
        time.sleep(0.05)
    store = SqliteStore(db)
    try:
        while time.monotonic() < deadline:
            if store.has(*last):
                done = time.perf_counter()
                stored = store.count()
                if stored != total:
                    raise RuntimeError(f"serve stored {stored} samples, {total} were published")
                return done
            time.sleep(0.02)
    finally:
        store.close()
    raise RuntimeError(f"serve did not store the last sample within {timeout_s} s")


def wait_idle(pid: int, *, interval_s: float = 0.05, quiet_s: float = 1.5) -> float:
    """When a process stopped working: the end of its last interval busy for more than half of it
    (CPU time comes in ticks of 10 ms: an idle serve's tick of its clock reads as 10 ms now and then).

    serve stores a backlog at once and may hold its detection a moment (until it is quiet for
    0.2 s, at most 5 s): the detection still waits after the last sample is stored, and counts.
    """
    last_busy = time.perf_counter()
    cpu, calm = cpu_seconds(pid), 0.0
    while calm < quiet_s:
        time.sleep(interval_s)
        now, used = time.perf_counter(), cpu_seconds(pid)
        if used - cpu > interval_s / 2:
            last_busy, calm = now, 0.0
        else:
            calm += interval_s
        cpu = used
    return last_busy


def serve_rate(port: int, folder: Path, messages: list[Message]) -> float:
    """Samples/s that serve validates, stores and detects, from the first publish until the last
    sample is stored and serve has done all its work on them (:func:`wait_idle`)."""
    folder.mkdir()
    serve = start_serve(port, folder)
    try:
        wait_online(port)
        start = publish_all(port, messages, "serve-publisher")
        last = json.loads(messages[-1][1])
        total = sum(n for _t, _p, n in messages)
        seq = last["samples"][-1]["seq"] if last["v"] == 1 else max(c["seq"][-1] for c in last["columns"])
        done = max(wait_stored(folder / "k.db", (last["device"], seq), total, 900), wait_idle(serve.pid))
    finally:
        serve.terminate()
        serve.wait(300)
    return total / (done - start)


def stored_vitals(
    home: int, times_s: Sequence[float], temp_c: Sequence[float], hr_bpm: Sequence[float]
) -> list[Observation]:
    """Home ``home``'s temperature and heart rate as stored observations (seq 0, 1, 2, ... in time order)."""
    now = datetime.now(tz=UTC)
    rows = []
    for i, (t_s, temp, hr) in enumerate(zip(times_s, temp_c, hr_bpm, strict=True)):
        when = datetime.fromtimestamp(t_s, tz=UTC)
        for k, (signal, value) in enumerate(((Signal.TEMPERATURE_C, temp), (Signal.HEART_RATE_BPM, hr))):
            rows.append(
                Observation(episode=f"ep{home}", subject=f"m{home}", device=f"wb{home}", signal=signal, value=value,
                            unit=SIGNAL_UNITS[signal], device_time=when, receive_time=now, seq=2 * i + k)
            )  # fmt: skip
    return rows


def seed_history(db: Path, homes: Sequence[int], t0: float) -> None:
    """31 minutes of fever before the run (the store serve rebuilds each home from): one sample a
    minute, then the last 10 minutes at 1 Hz, as a wearable sends.

    The dense minutes matter to the store's cost, not to the detectors: with them each home's
    newest rows fill index pages of their own, as after any stretch of live data, and a live
    message dirties about three pages at its commit (four with version 3 of the store's layout);
    with a sample a minute only, homes share pages and it dirtied one and a half
    (docs/benchmarks.md, "A serve that has been running").
    """
    store = SqliteStore(db)
    times = [t0 - 31 * 60 + 60 * j for j in range(21)] + [t0 - 659 + j for j in range(600)]
    rows = len(times)
    for h in homes:
        store.write(stored_vitals(h, times, [38.0] * rows, [80.0] * rows))
    store.close()


def latency(
    port: int,
    folder: Path,
    homes: int,
    seconds: int,
    *,
    sites: int = 1,
    arrival: str = "burst",
    clocks: str = "wearable",
    close_spread_s: int = 0,
) -> dict[str, float]:
    """Sample → alert latency with every home offered one message a second, 1 Hz, in real time.

    Every home has 31 minutes of fever in the store (:func:`seed_history`) and sends 38.0 °C live,
    so its fever alert is raised when the sample that closes its 30th fever epoch arrives, about a
    minute into the run. Home ``h``'s clock runs ``h % 60`` seconds behind, as wearables' clocks
    do, so the homes' alerts fall due over a minute instead of all in the same second. With
    ``sites`` > 1 the homes belong to that many sites (care organisations), each with a serve of
    its own on the same broker: the partitioning by site of docs/scaling.md.

    ``arrival``: "burst" publishes every home's message of a second at the start of that second,
    as if all wearables ticked together (the worst case); "spread" gives home ``h`` a phase of
    ``h / homes`` of a second, as independent wearables' clocks have, and publishes in 50 slices
    of a second.

    ``clocks`` (:data:`CLOCKS`): "gateway" stamps the heart rate with the wall clock, the same for
    every home, as kraamwacht's gateway does; then every home's epoch closes in the same second.
    ``close_spread_s``: serve runs with ``[epoch] close_spread_s`` set to it (each home's epochs
    close at her own second, up to that many seconds later). Latency is counted from the message
    whose sample closes her epoch: that delay moves when the epoch closes and is not part of it.
    """
    if arrival not in ARRIVALS:
        raise ValueError(f"arrival {arrival!r}: one of {', '.join(ARRIVALS)}")
    if clocks not in CLOCKS:
        raise ValueError(f"clocks {clocks!r}: one of {', '.join(CLOCKS)}")
    behind = (lambda h: 0) if clocks == "gateway" else (lambda h: h % 60)  # the heart rate's clock
    folder.mkdir()
    t0 = datetime.now(tz=UTC).timestamp() // 60 * 60 + 60  # the minute the live data starts
    names = sorted({site_of(h, sites) for h in range(homes)})
    for name in names:
        (folder / name).mkdir()
        seed_history(folder / name / "k.db", [h for h in range(homes) if site_of(h, sites) == name], t0)
    plan = [
        [
            message(
                h, vitals(t0 + k - h % 60, LIVE_SEQ + 2 * k, 38.0, 80.0, hr_t_s=t0 + k - behind(h)), site_of(h, sites)
            )
            for h in range(homes)
        ]
        for k in range(seconds)
    ]
    config = None
    if close_spread_s:
        config = folder / "spread.toml"
        config.write_text(f"[epoch]\nclose_spread_s = {close_spread_s}\n", encoding="utf-8")
    servers = [start_serve(port, folder / name, name, config=config) for name in names]
    alerts: list[tuple[float, dict]] = []
    try:
        for name in names:
            wait_online(port, site=name)
        watcher = client(port, "alert-watcher")
        watcher.on_message = lambda _c, _u, m: alerts.append((time.perf_counter(), json.loads(m.payload)))
        watcher.subscribe([(Topics.alert_events(name), 1) for name in names])
        pub = client(port, "load-publisher")
        time.sleep(max(0.0, t0 - datetime.now(tz=UTC).timestamp()))  # device time = wall time (minus h % 60)
        sent = np.zeros((seconds, homes))  # when message k of home h was handed to paho
        start = time.perf_counter()
        slices = SLICES_PER_S if arrival == "spread" else 1
        bounds = [homes * j // slices for j in range(slices + 1)]  # home h's phase: h / homes of a second
        for k, second in enumerate(plan):
            for j in range(slices):
                time.sleep(max(0.0, start + k + j / slices - time.perf_counter()))
                for h in range(bounds[j], bounds[j + 1]):
                    pub.publish(second[h][0], second[h][1], qos=1)
                    sent[k, h] = time.perf_counter()
        time.sleep(max(0.0, start + seconds - time.perf_counter()))
        offered = homes * seconds / (time.perf_counter() - start)
        time.sleep(10)
        pub.disconnect()
        watcher.disconnect()
        cpu_s = sum(cpu_seconds(serve.pid) for serve in servers)
    finally:
        for serve in servers:
            serve.terminate()
        for serve in servers:
            serve.wait(300)
    lat = []
    for received_at, event in alerts:
        if event["event"] != "raised" or event["rule"] != "fever":
            continue
        h = int(event["subject"].removeprefix("m"))
        closing = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp() + GRACE_S
        closing += subject_slot(event["subject"], close_spread_s)  # her epochs close this much later
        k = int(
            np.ceil(closing - (t0 - behind(h)))
        )  # the first message of home h whose sample reaches the closing time
        lat.append(received_at - sent[k, h])
    values = np.array(lat)
    return {
        "offered_msg_s": offered,
        "serve_cpu_us_per_msg": cpu_s / (homes * seconds) * 1e6,
        "alerts": float(values.size),
        "p50_ms": float(np.percentile(values, 50) * 1000) if values.size else float("nan"),
        "p99_ms": float(np.percentile(values, 99) * 1000) if values.size else float("nan"),
        "max_ms": float(values.max() * 1000) if values.size else float("nan"),
    }


def flush_costs(messages: list[Message], folder: Path, *, batch: int = 20, repeats: int = 3) -> dict[str, float]:
    """Microseconds per sample of each step serve takes on a spool flush, in this process, no broker.

    The JSON decoding (orjson, as serve reads), the contract's validation (decoding included), the
    store alone (validated samples written in serve's batches: rows for version 1, segments for
    version 2's columns), and serve's whole core. The best of ``repeats`` runs, each on a fresh
    store, after a garbage collection.
    """
    folder.mkdir()
    now = datetime.now(tz=UTC)
    total = sum(n for _t, _p, n in messages)
    raw = [RawMessage(t, p, now) for t, p, _n in messages]
    parsed = [parse_message(p, topic=t, receive_time=now) for t, p, _n in messages]

    def best(step: Callable[[int], object]) -> float:
        times = []
        for k in range(repeats):
            gc.collect()
            start = time.perf_counter()
            step(k)
            times.append(time.perf_counter() - start)
        return min(times) / total * 1e6

    def write(k: int) -> None:
        store = SqliteStore(folder / f"store{k}.db")
        for i in range(0, len(parsed), batch):
            part = parsed[i : i + batch]
            store.write([o for p in part for o in p.observations], [c for p in part for c in p.columns])
        store.close()

    def core(k: int) -> None:
        ingest = IngestCore(site=SITE, store=SqliteStore(folder / f"core{k}.db"), events=EventLog(folder / f"ev{k}.db"))
        for i in range(0, len(raw), batch):
            ingest.handle(raw[i : i + batch])
        ingest.drain(now)  # held backlogs: in one process the hold never elapses, so all of it here

    return {
        "json": best(lambda _k: [orjson.loads(p) for _t, p, _n in messages]),  # as serve reads
        "validate": best(lambda _k: [parse_message(p, topic=t, receive_time=now) for t, p, _n in messages]),
        "store": best(write),
        "core": best(core),
    }


class SideBySide(NamedTuple):
    """Medians of ``repeats`` runs of each side, and the range of the per-run ratio."""

    raw: float
    served: float
    ratio_low: float
    ratio_high: float

    @property
    def ratio(self) -> float:
        return self.served / self.raw


def side_by_side(folder: Path, name: str, build: Callable[[], list[Message]], *, repeats: int = 1) -> SideBySide:
    """Each run on a broker of its own (serve's persistent session must not collect another run's
    messages), the bare subscriber and serve taking turns: the bare subscriber's rate moves by a
    quarter from one run to the next on a shared machine, so one run says little."""
    messages = build()
    raws, serveds = [], []
    for k in range(repeats):
        run = folder / f"{name}{k}"
        run.mkdir()
        broker, port = start_mosquitto(run)
        try:
            raws.append(raw_rate(port, messages))
            print(f"{name} #{k}: raw paho subscriber {raws[-1] / 1e3:.1f} k samples/s", flush=True)
            serveds.append(serve_rate(port, run / "serve", messages))
            print(
                f"{name} #{k}: serve {serveds[-1] / 1e3:.1f} k samples/s ({serveds[-1] / raws[-1]:.2f} x)", flush=True
            )
        finally:
            broker.stop()
    ratios = [s / r for s, r in zip(serveds, raws, strict=True)]
    return SideBySide(float(np.median(raws)), float(np.median(serveds)), min(ratios), max(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--closing-homes", type=int, default=200)
    parser.add_argument("--closing-seconds", type=int, default=300)
    parser.add_argument("--flush-homes", type=int, default=200)
    parser.add_argument("--flush-messages", type=int, default=5, help="messages of 1,000 samples per gateway")
    parser.add_argument("--latency-homes", type=int, nargs="+", default=[1000, 2000, 3600])
    parser.add_argument("--latency-seconds", type=int, default=125)
    parser.add_argument(
        "--latency-sites", type=int, nargs="*", default=[2, 4], help="the largest case again, over this many sites"
    )
    parser.add_argument(
        "--latency-arrivals", nargs="+", choices=ARRIVALS, default=list(ARRIVALS), help="each latency case with each"
    )
    parser.add_argument(
        "--latency-clocks", nargs="+", choices=CLOCKS, default=["wearable"], help="each latency case with each"
    )
    parser.add_argument(
        "--latency-close-spread",
        type=int,
        default=0,
        help="serve with [epoch] close_spread_s = this (seconds); its alerts fall due up to that much later, "
        "so docs/benchmarks.md's runs with it used --latency-seconds 185",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side-by-side case (medians reported)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        folder = Path(tmp)
        n = args.repeats
        live = side_by_side(folder, "live", lambda: live_homes(args.homes, args.seconds), repeats=n)
        # long enough for every home's epochs to close (after 3 minutes): the detectors run too
        closing = side_by_side(
            folder, "closing", lambda: live_homes(args.closing_homes, args.closing_seconds), repeats=n
        )
        flush = side_by_side(folder, "flush", lambda: spool_flush(args.flush_homes, args.flush_messages), repeats=n)
        flush2 = side_by_side(
            folder, "flush2", lambda: spool_flush(args.flush_homes, args.flush_messages, columns=True), repeats=n
        )
        costs = flush_costs(spool_flush(args.flush_homes // 4, args.flush_messages), folder / "costs")
        costs2 = flush_costs(spool_flush(args.flush_homes // 4, args.flush_messages, columns=True), folder / "costs2")
        print("flush costs (us/sample)", costs, costs2, flush=True)
        lats = {}
        cases = [(homes, 1) for homes in args.latency_homes]
        cases += [(max(args.latency_homes), sites) for sites in args.latency_sites]
        for clocks in args.latency_clocks:
            for arrival in args.latency_arrivals:
                for homes, sites in cases:  # each on a broker of its own
                    name = f"latency{homes}x{sites}{arrival}{clocks}"
                    (folder / name).mkdir()
                    broker, port = start_mosquitto(folder / name)
                    try:
                        found = latency(
                            port, folder / name / "serve", homes, args.latency_seconds,
                            sites=sites, arrival=arrival, clocks=clocks, close_spread_s=args.latency_close_spread,
                        )  # fmt: skip
                        print(homes, sites, arrival, clocks, found, flush=True)
                        label = arrival + (", gateway clock" if clocks == "gateway" else "")
                        lats[homes, sites, label] = found
                    finally:
                        broker.stop()
    now = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    latency_rows = "\n".join(
        f"| {homes:,} | {'one serve' if sites == 1 else f'{sites} sites, a serve each'} | {arrival}"
        f" | {lat['offered_msg_s']:,.0f} | {lat['serve_cpu_us_per_msg']:,.0f} µs"
        f" | {lat['alerts']:,.0f} of {homes:,} | {lat['p50_ms']:,.0f} ms | **{lat['p99_ms']:,.0f} ms** | {lat['max_ms']:,.0f} ms |"
        for (homes, sites, arrival), lat in lats.items()
    )
    budgets_us = (1e6 / flush.raw, 1e6 / flush2.raw)  # what the bare subscriber spends on a sample
    steps = {
        "JSON decoding": "json",
        "+ the contract's validation": "validate",
        "+ the store (in serve's batches of 20 messages)": "store",
        "serve's whole core (validate, deduplicate, store, detect, alert)": "core",
    }

    def cost(found: dict[str, float], step: str) -> float:
        return found["validate"] + found["store"] if step == "store" else found[step]

    cost_rows = "\n".join(
        f"| {name} | {cost(costs, step):.2f} µs | {budgets_us[0] / cost(costs, step):.3f} ×"
        f" | {cost(costs2, step):.2f} µs | {budgets_us[1] / cost(costs2, step):.3f} × |"
        for name, step in steps.items()
    )

    def row(case: SideBySide) -> str:
        return (
            f"{case.raw / 1e3:.1f} k samples/s | {case.served / 1e3:.1f} k samples/s"
            f" | **{case.ratio:.2f} ×** ({case.ratio_low:.2f}–{case.ratio_high:.2f})"
        )

    live_samples = args.homes * args.seconds * 2
    flush_samples = args.flush_homes * args.flush_messages * 1000
    text = f"""## Ingest service

Measured {now}; `python benchmarks/bench_serve.py` (defaults): a real mosquitto on 127.0.0.1,
QoS 1. Each case publishes one list of messages as fast as one paho publisher can (at most 2,000
unacknowledged), first to a bare paho subscriber that only counts them, then to `kraamwacht serve`
(its own process, embedded store: validated, deduplicated, stored and detected before it
acknowledges), each run on a fresh broker; {args.repeats} runs of each case, the two sides taking
turns: the table gives the median rate of each side, their ratio and the range of the runs' ratios. On this 2-core machine publisher, broker and serve
share the cores; for live messages the publisher is the limit of both runs, so a ratio near 1
says serve keeps pace with it, and the latency table below shows where serve's own limit lies.
serve reads with its read-ahead client and the bare subscriber with paho's own, which spends
more of the shared cores per message (`benchmarks/bench_paho_read.py`): serve can come out above 1.

| case | bare paho subscriber | serve | serve / bare (range of the runs) |
|---|---|---|---|
| live homes: {args.homes} wearables, 1 message/s each (temperature + heart rate), {args.seconds} s ({live_samples:,} samples) | {row(live)} |
| live homes, epochs closing: {args.closing_homes} wearables, {args.closing_seconds} s ({args.closing_homes * args.closing_seconds * 2:,} samples; the first epochs close after 3 minutes) | {row(closing)} |
| spool flush, version 1 (an object per sample): {args.flush_homes} gateways × {args.flush_messages} messages of 1,000 samples ({flush_samples:,} samples) | {row(flush)} |
| spool flush, version 2 (columns, as gateways send a backlog): the same samples | {row(flush2)} |

Sample → alert latency, from the publication of the message whose sample closed the decisive
epoch to the alert at a subscriber: homes offered 1 message a second each in real time (1 Hz
temperature and heart rate), each with 31 minutes of fever stored before the run so that its
alert falls due within it ({args.latency_seconds} s; a sample a minute, the last 10 minutes at 1 Hz
as a running serve's store has them), the wearables' clocks spread over a minute.
"N sites, a serve each": the same homes spread over N sites (care organisations), each site with
a serve process of its own on the same broker and this same machine (docs/scaling.md).
Arrival "spread": each home's message comes at its own moment of the second (home h at h/N of it,
published in slices of 20 ms), as independent wearables send; "burst": every home's message of a
second is published at its start, as if all wearables ticked together (a harder case than real
homes make). serve CPU: the CPU time of the serve processes from start to end of the case
(start-up and rebuild included), per message offered.

| homes | serve | arrival | messages/s offered | serve CPU per message | fever alerts received | p50 | p99 | max |
|---|---|---|---|---|---|---|---|---|
{latency_rows}

Where a spool flush's time goes: each step measured in one process without a broker
({args.flush_homes // 4} gateways × {args.flush_messages} messages of 1,000 samples), as µs per
sample and the ceiling that step alone puts on serve against the bare subscriber's
{budgets_us[0]:.2f} µs per sample of version 1 and {budgets_us[1]:.2f} µs of version 2 (0.3 × allows
{budgets_us[0] / 0.3:.2f} and {budgets_us[1] / 0.3:.2f} µs). Version 1 validates an `Observation` per
sample and stores a row per sample; version 2 checks each column in one pass and stores it as a
segment (one row of arrays per column).

| step | version 1, per sample | ceiling (× bare) | version 2, per sample | ceiling (× bare) |
|---|---|---|---|---|
{cost_rows}
"""
    existing = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    start = existing.find("## Ingest service")
    if start >= 0:  # in place: the hand-written analysis that follows it stays after it
        end = existing.find("\n## ", start + 1)
        after = existing[end + 1 :] if end >= 0 else ""
        args.out.write_text(existing[:start] + text + ("\n" + after if after else ""))
    else:
        args.out.write_text(existing.rstrip() + "\n\n" + text)
    print(text)


if __name__ == "__main__":
    main()
