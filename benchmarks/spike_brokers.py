"""Spike for more than one machine: partitioned consumption with per-home affinity, and fail-over.

    python benchmarks/spike_brokers.py [--homes 1000] [--seconds 60] [--partitions 4]

Issue 18 asks which existing engine should spread serve over several workers, each owning a share
of the homes (a home's samples must reach one worker, in order), with a worker's share taken over
when it dies. This measures, on this machine, with the live-home messages of bench_serve.py
(one MQTT message a second per home, temperature and heart rate):

* **mosquitto, one broker** (the baseline): a bare paho QoS 1 subscriber;
* **mosquitto per site**: the homes split over two sites, each with its own mosquitto and its own
  bare subscriber process (partitioning by site, no shared engine);
* **NATS JetStream** (Debian's nats-server 2.9, its MQTT listener): the gateways' MQTT topics are
  mapped by the server to ``part.<partition(P, episode)>...`` subjects, kept in a stream on
  disk; one worker process per partition pulls its own durable consumer, writes what it received
  to its own file (as serve commits) and only then acknowledges;
* **fail-over** (NATS): the worker of partition 0 is killed (SIGKILL) a third of the way through
  its share and a new one is started for the same durable consumer; measured are the time until
  the new one receives, samples lost (must be 0) and samples received twice (what the dead worker
  had written but not acknowledged comes again after the ack wait).

RabbitMQ (consistent-hash exchange, quorum queues, single active consumer) is the third option the
issue names; it is not measured here (docs/scaling.md says so).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_serve import SITE, Message, client, live_homes, publish_all, raw_rate, start_mosquitto

from kraamwacht.contract import Topics
from kraamwacht.waiting import free_port, wait_for_port

ACK_WAIT_S = 5.0  # JetStream redelivers what a dead worker had not acknowledged after this long
STREAM = "OBS"


def nats_server(folder: Path, partitions: int) -> tuple[subprocess.Popen[bytes], int, int]:
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(binary).exists():
        raise SystemExit("nats-server is not installed: apt-get install nats-server")
    port, mqtt_port = free_port(), free_port()
    (folder / "nats.conf").write_text(
        f'server_name: spike\nlisten: 127.0.0.1:{port}\njetstream {{ store_dir: "{folder}/js" }}\n'
        f"mqtt {{ listen: 127.0.0.1:{mqtt_port} }}\n"
        # per-home affinity: the server hashes the episode (mother and babies together) into a partition.
        # Measured: nats-server 2.9.10 hashing several tokens, partition(4,1,2,3), put 200 homes into
        # partitions 1 and 3 only (155 / 45); one token spreads them 50 / 50 / 50 / 50
        f'mappings = {{ "kraamwacht.v1.*.*.*.obs": "part.{{{{partition({partitions},2)}}}}'
        '.kraamwacht.v1.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}.obs" }\n'
    )
    with (folder / "nats.log").open("ab") as log:
        proc = subprocess.Popen([binary, "-c", str(folder / "nats.conf")], stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, 20)
    wait_for_port(mqtt_port, 20)
    return proc, port, mqtt_port


async def _setup(port: int, partitions: int) -> None:
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

    nc = await nats.connect(f"nats://127.0.0.1:{port}")
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=["part.>"]))
    for k in range(partitions):
        await js.add_consumer(
            STREAM,
            # explicit acks: measured, AckPolicy.ALL lost the batch a killed worker had fetched but not
            # acknowledged (its successor's first ack covered it too): 2,000 of 12,000 samples
            ConsumerConfig(durable_name=f"serve-{k}", filter_subject=f"part.{k}.>", ack_policy=AckPolicy.EXPLICIT,
                           ack_wait=ACK_WAIT_S, max_ack_pending=20_000),
        )  # fmt: skip
    await nc.close()


def _worker(port: int, partition: int, out: str) -> None:
    """One serve worker: pull its partition, write (home, seq) per sample, then acknowledge."""

    async def run() -> None:
        import nats

        nc = await nats.connect(f"nats://127.0.0.1:{port}")
        sub = await nc.jetstream().pull_subscribe_bind(f"serve-{partition}", stream=STREAM)
        with open(out, "a") as f:
            while True:
                try:
                    batch = await sub.fetch(1000, timeout=1)
                except Exception:  # nats.errors.TimeoutError: nothing waiting
                    continue
                if not batch:
                    continue
                lines = []
                for m in batch:
                    body = json.loads(m.data)
                    lines += [f"{body['subject']} {s['seq']}\n" for s in body["samples"]]
                f.write("".join(lines))
                f.flush()
                os.fsync(f.fileno())  # stored before it is acknowledged, as serve commits
                await asyncio.gather(*(m.ack() for m in batch))  # each one, once it is stored

    asyncio.run(run())


def _received(folder: Path) -> tuple[int, int, float]:
    """(sample lines, distinct samples, newest file change) over every worker's file."""
    lines, seen, newest = 0, set(), 0.0
    for path in folder.glob("part-*.txt"):
        newest = max(newest, path.stat().st_mtime)
        for line in path.read_text().splitlines():
            lines += 1
            seen.add(line)
    return lines, len(seen), newest


def nats_case(messages: list[Message], partitions: int, *, failover: bool) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="spike-nats-"))
    proc, port, mqtt_port = nats_server(folder, partitions)
    total = sum(n for _t, _p, n in messages)
    ctx = mp.get_context("spawn")
    workers = {}
    try:
        asyncio.run(_setup(port, partitions))
        for k in range(partitions):
            workers[k] = ctx.Process(target=_worker, args=(port, k, str(folder / f"part-{k}-a.txt")), daemon=True)
            workers[k].start()
        result: dict[str, float] = {}
        killer = None
        if failover:

            def kill_and_replace() -> None:
                share = total / partitions
                while _lines(folder / "part-0-a.txt") < share / 3:
                    time.sleep(0.05)
                os.kill(workers[0].pid or 0, signal.SIGKILL)
                workers[0].join()
                started = time.perf_counter()
                workers[0] = ctx.Process(target=_worker, args=(port, 0, str(folder / "part-0-b.txt")), daemon=True)
                workers[0].start()
                give_up = time.monotonic() + 120
                while _lines(folder / "part-0-b.txt") == 0 and time.monotonic() < give_up:
                    time.sleep(0.01)
                if _lines(folder / "part-0-b.txt"):
                    result["takeover_s"] = time.perf_counter() - started

            killer = threading.Thread(target=kill_and_replace, daemon=True)
            killer.start()
        start = publish_all(mqtt_port, messages, "spike-publisher")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            lines, distinct, _ = _received(folder)
            if distinct >= total and (killer is None or not killer.is_alive()):
                break
            dead = [k for k, w in workers.items() if not w.is_alive() and w.exitcode != -signal.SIGKILL]
            if dead:
                raise RuntimeError(f"worker(s) {dead} died; see their traceback above")
            time.sleep(0.2)
        end = time.perf_counter()
        if failover:  # what the dead worker had not acknowledged comes again: wait for it before counting
            time.sleep(ACK_WAIT_S + 2)
        lines, distinct, _ = _received(folder)
        result.update(samples_per_s=total / (end - start), lost=total - distinct, twice=lines - distinct)
        return result
    finally:
        for w in workers.values():
            if w.is_alive():
                w.kill()
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def _site_subscriber(port: int, site: str, expected: int, conn: object) -> None:
    done = threading.Event()
    count = [0]

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        count[0] += 1
        if count[0] == expected:
            done.set()

    sub = client(port, f"site-subscriber-{site}")
    sub.on_message = on_message
    sub.subscribe([(topic, 1) for topic in Topics.observations_filters(site)])
    conn.send("ready")  # type: ignore[attr-defined]
    done.wait(600)
    conn.send(time.perf_counter())  # type: ignore[attr-defined]


def per_site_case(messages: list[Message], sites: int) -> float:
    """The homes split over ``sites`` mosquittos, a publisher thread and a subscriber process each."""
    folder = Path(tempfile.mkdtemp(prefix="spike-sites-"))
    ctx = mp.get_context("spawn")
    brokers, subscribers, pipes = [], [], []
    shares = [[m for i, m in enumerate(messages) if i % sites == s] for s in range(sites)]
    try:
        for s in range(sites):
            broker, port = start_mosquitto(folder / f"site{s}")
            brokers.append((broker, port))
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_site_subscriber, args=(port, SITE, len(shares[s]), theirs), daemon=True)
            proc.start()
            subscribers.append(proc)
            pipes.append(mine)
        for pipe in pipes:
            assert pipe.recv() == "ready"
        time.sleep(0.5)
        starts: list[float] = []
        threads = [
            threading.Thread(target=lambda s=s: starts.append(publish_all(brokers[s][1], shares[s], f"pub-{s}")))
            for s in range(sites)
        ]
        for t in threads:
            t.start()
        ends = [pipe.recv() for pipe in pipes]
        for t in threads:
            t.join()
        return sum(n for _t, _p, n in messages) / (max(ends) - min(starts))
    finally:
        for proc in subscribers:
            if proc.is_alive():
                proc.kill()
        for broker, _port in brokers:
            broker.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    messages = live_homes(args.homes, args.seconds)
    print(f"{len(messages):,} messages, {sum(n for *_, n in messages):,} samples, {args.homes} homes", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="spike-mosquitto-"))
    broker, port = start_mosquitto(folder)
    try:
        baseline = raw_rate(port, messages)
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"| mosquitto, one broker, bare QoS 1 subscriber | {baseline:,.0f} samples/s | 1.00 × |", flush=True)
    sites = per_site_case(messages, 2)
    print(
        f"| mosquitto per site: 2 sites, a subscriber process each | {sites:,.0f} samples/s | {sites / baseline:.2f} × |"
    )
    for partitions in sorted({2, args.partitions}):
        r = nats_case(messages, partitions, failover=False)
        print(f"| NATS JetStream, {partitions} partitions, a worker process each (stored, then acknowledged) "
              f"| {r['samples_per_s']:,.0f} samples/s | {r['samples_per_s'] / baseline:.2f} × | lost {r['lost']:.0f} |",
              flush=True)  # fmt: skip
    r = nats_case(messages, args.partitions, failover=True)
    print(f"| NATS JetStream, {args.partitions} partitions, worker 0 killed and replaced | "
          f"{r['samples_per_s']:,.0f} samples/s | {r['samples_per_s'] / baseline:.2f} × | lost {r['lost']:.0f}, "
          f"twice {r['twice']:.0f}, takeover {r.get('takeover_s', float('nan')):.2f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
