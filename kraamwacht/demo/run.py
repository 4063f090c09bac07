"""Start the whole system for the demo, play the cast's script, and stop everything on Ctrl-C.

Every part is its own process, as in a deployment: the embedded broker (unless ``--broker``),
serve, the emulated wearables, the gateway over the emulated BLE, and the board. They share one
clock (:mod:`kraamwacht.clock`): real time until the time-lapse origin, then ``factor`` times
faster. Each child gets its own session, so Ctrl-C reaches only this process, which then stops the
children in the order that loses nothing: gateway (its spool is on disk), wearables, serve, board,
broker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt

from kraamwacht.clock import ENV, Clock
from kraamwacht.contract import Topics, manual_bilirubin_message
from kraamwacht.dashboard.auth import UserStore
from kraamwacht.demo.cast import Member, demo_cast, history_observations
from kraamwacht.episodes import EpisodeRegistry
from kraamwacht.firmware_sim.control import control
from kraamwacht.gateway.registry import Registry
from kraamwacht.pairings import PairingRegistry
from kraamwacht.publish import BrokerAddress, publish
from kraamwacht.staffkeys import derive_key
from kraamwacht.storage.sqlite import SqliteStore
from kraamwacht.waiting import free_port, port_open

__all__ = ["DemoOptions", "run_demo"]

SITE = "demo"
DEMO_USER, DEMO_PASSWORD = "demo", "kraamzorg-demo"
DEMO_KEY = derive_key(DEMO_USER, DEMO_PASSWORD)  # her readings are signed: serve checks staff keys
STOP_ORDER = ("gateway", "sim", "serve", "board", "broker")
GATEWAY = "gw1"  # the demo's one gateway, to which every wearable is paired


@dataclass(slots=True)
class DemoOptions:
    out_dir: Path = Path("demo-live")
    time_lapse: float = 60.0
    start_in_s: float = 20.0  # real seconds before the time-lapse starts: time to open the board and log in
    interval_s: float = 10.0  # the wearables' reading interval on the shared clock
    broker: str | None = None  # None: the embedded broker
    store: str | None = None  # None: the embedded store; else an influx+v1:// or influx+v2:// URL
    board_host: str = "127.0.0.1"
    board_port: int = 8501
    broker_port: int = 1883
    run_for_s: float | None = None  # stop by itself after this many real seconds (tests)
    say: Callable[[str], None] = field(default=print)


class Processes:
    """Children in their own sessions, logged to files, stopped in :data:`STOP_ORDER`."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir, self.env = log_dir, env
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "kraamwacht.cli", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running[name] = proc
        return proc

    def dead(self) -> list[str]:
        return [name for name, proc in self.running.items() if proc.poll() is not None]

    def stop_all(self, say: Callable[[str], None]) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        for name in STOP_ORDER:
            proc = self.running.get(name)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    say(f"  {name} did not stop within 20 s: killed")
                    proc.kill()
                    proc.wait()
            codes[name] = proc.returncode
        return codes


class AlertWatcher:
    """Prints every change of serve's retained alert states, in the clock's time."""

    def __init__(self, address: BrokerAddress, cast: list[Member], clock: Clock, say: Callable[[str], None]) -> None:
        self.labels = {m.episode: m.label for m in cast}
        self.clock, self.say = clock, say
        self.seen: dict[str, tuple[str, str, str, str]] = {}  # alert id: (rule, level, status, acknowledged by)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        address.apply(self.client)
        self.client.on_connect = lambda c, *_: c.subscribe(Topics.alert_state_filter(SITE), qos=1)
        self.client.on_message = self._on_message
        self.client.connect_async(address.host, address.port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            state = json.loads(msg.payload)
            alerts = state["open_alerts"]
        except (ValueError, KeyError, TypeError):
            return
        for alert in alerts:
            key = (alert["rule"], alert["level"], alert["status"], alert.get("acknowledged_by") or "")
            if self.seen.get(alert["alert_id"]) != key:
                self.seen[alert["alert_id"]] = key
                label = self.labels.get(state.get("episode", ""), state.get("episode", "?"))
                who = f" by {key[3]}" if key[3] and key[2] == "acknowledged" else ""
                self.say(
                    f"  [{_clock_text(self.clock)}] {label}: {alert['level']} {alert['rule']} {alert['status']}{who}"
                    f" — {alert['message_en']}"
                )

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _clock_text(clock: Clock) -> str:
    minutes = (clock.now() - clock.origin_s) / 60.0
    return f"{round(minutes):+4d} min"


def prepare(options: DemoOptions, cast: list[Member], clock: Clock) -> Path:
    """A fresh demo folder: a day of history per mother, the episodes, a board user, the pairings."""
    out = options.out_dir
    if out.exists():
        shutil.rmtree(out)  # the demo's own folder: every run starts from the same script
    for sub in ("logs", "board", "gateway", "serve"):
        (out / sub).mkdir(parents=True)
    # serve's embedded store; with InfluxDB it is serve's ledger and outbox, forwarded from there
    ledger = out / "serve" / ("outbox.db" if options.store else "kraamwacht.db")
    store = SqliteStore(ledger, outbox=options.store is not None)  # with InfluxDB: forwarded like live data
    try:
        for member in cast:
            store.write(history_observations(member, until_s=clock.now()))
    finally:
        store.close()
    episodes = EpisodeRegistry(out / "board" / "episodes.db")
    pairings = PairingRegistry(out / "board" / "episodes.db")  # the office's: which gateway may send whose data
    registry = Registry(out / "gateway" / "registry.db")  # the gateway's: which wearables it connects
    for m in cast:
        episodes.add(m.episode, site=SITE, mother=m.mother, newborn=m.newborn, birth_at=m.birth_at,
                     ga_weeks=m.ga_weeks, language=m.language, label=m.label)  # fmt: skip
        registry.pair(m.serial, site=SITE, episode=m.episode, subject=m.mother)
        pairings.pair(m.device, site=SITE, episode=m.episode, subject=m.mother, gateway=GATEWAY)
    UserStore(out / "board" / "users.json").add(DEMO_USER, DEMO_PASSWORD, "kraamverzorgende")
    return ledger


@dataclass(frozen=True, slots=True)
class Step:
    at_s: float  # on the shared clock
    what: str
    do: Callable[[], None]


def script(cast: list[Member], *, broker: BrokerAddress, control_port: int) -> list[Step]:
    """The cast's events as steps: bilirubin readings entered, a sensor coming loose and put back."""
    steps: list[Step] = []
    for m in cast:
        for entry in m.bilirubin:

            def enter(m: Member = m, entry=entry) -> None:
                measured = datetime.fromtimestamp(entry.at_s, tz=UTC)
                message = manual_bilirubin_message(
                    site=SITE, episode=m.episode, subject=m.newborn, value_umol_l=entry.value_umol_l,
                    measured_at=measured, method=entry.method, body_site="forehead" if entry.method == "tcb" else "heel",
                    entered_by=DEMO_USER, now=measured, signing_key=DEMO_KEY,
                )  # fmt: skip
                publish(broker, [message], client_prefix="kraamwacht-demo")

            steps.append(
                Step(entry.at_s, f"{m.label}: bilirubin {entry.value_umol_l:g} µmol/L ({entry.method}) entered", enter)
            )
        if m.loose is not None:
            for at_s, state in zip(m.loose, ("on", "off"), strict=True):
                steps.append(
                    Step(at_s, f"{m.label}: sensor {'comes loose' if state == 'on' else 'put back'}",
                         lambda s=m.serial, st=state: _control(control_port, f"loose {s} {st}"))
                )  # fmt: skip
    return sorted(steps, key=lambda s: s.at_s)


def _control(port: int, command: str) -> None:
    if (answer := control(port, command, timeout_s=5)) != "ok":
        raise RuntimeError(f"simulator refused {command!r}: {answer}")


def run_demo(options: DemoOptions) -> int:
    """Run until Ctrl-C (or ``run_for_s``); 0 when everything started and stopped cleanly."""
    say = options.say
    clock = Clock(options.time_lapse, time.time() + options.start_in_s)
    cast = demo_cast(clock.origin_s)
    ledger = prepare(options, cast, clock)
    out = options.out_dir.resolve()
    env = {**os.environ, ENV: clock.as_env()}
    procs = Processes(out / "logs", env)
    broker_url = options.broker or f"mqtt://127.0.0.1:{options.broker_port}?mqtt=3.1.1"  # amqtt: MQTT 3.1.1
    broker = BrokerAddress.parse(broker_url)
    store = options.store or f"sqlite:///{ledger.resolve()}"
    hci, control = free_port(), free_port()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    watcher: AlertWatcher | None = None
    failed = False
    try:
        wanted = [("the board's", options.board_port, "--port")]
        if options.broker is None:
            wanted.append(("the embedded broker's", options.broker_port, "--broker-port"))
        busy = [
            f"{what} port {port} (use {flag})"
            for what, port, flag in wanted
            if port_open("127.0.0.1", port, timeout_s=0)
        ]
        if busy:
            raise RuntimeError(f"already in use: {'; '.join(busy)}")
        if options.broker is None:
            procs.start("broker", "broker", "--port", str(options.broker_port))
            if not port_open("127.0.0.1", options.broker_port, timeout_s=15):
                raise RuntimeError(f"the embedded broker did not listen on port {options.broker_port}")
        procs.start("serve", "serve", "--broker", broker_url, "--site", SITE, "--store", store,
                    "--state-dir", str(out / "serve"), "--episodes", str(out / "board" / "episodes.db"),
                    "--staff-keys", str(out / "board" / "staff-keys.json"),  # only commands their actor signed
                    "--require-pairing",  # a wearable's data only from the gateway it is paired to
                    "--mqtt-version", "5" if options.broker else "3.1.1")  # fmt: skip
        procs.start("sim", "sim", "--demo-cast", "--interval-s", f"{options.interval_s:g}", "--buffer", "600",
                    "--hci-port", str(hci), "--control-port", str(control))  # fmt: skip
        if not port_open("127.0.0.1", control, timeout_s=60):
            raise RuntimeError("the emulated wearables did not start (see logs/sim.log)")
        procs.start("gateway", "gateway", "run", "--broker", broker_url, "--site", SITE, "--id", GATEWAY,
                    "--ble", f"bumble:tcp-client:127.0.0.1:{hci}", "--state-dir", str(out / "gateway"))  # fmt: skip
        procs.start("board", "dashboard", "--broker", broker_url, "--site", SITE, "--store", f"sqlite:///{ledger.resolve()}",
                    "--board-dir", str(out / "board"), "--host", options.board_host, "--port", str(options.board_port),
                    "--serve-events", str(out / "serve" / "events.db"))  # fmt: skip
        watcher = AlertWatcher(broker, cast, clock, say)
        steps = script(cast, broker=broker, control_port=control)
        say(f"kraamwacht demo — the board: http://{options.board_host}:{options.board_port}"
            f"  (log in as {DEMO_USER} / {DEMO_PASSWORD})")  # fmt: skip
        say(f"  {len(cast)} families, a day of history stored; logs in {out / 'logs'}")
        say(f"  time-lapse ×{options.time_lapse:g} starts in {options.start_in_s:g} s: one minute is then one second")
        say("  what happens (clock minutes after the start): Kamer 3's sensor comes loose at +10;"
            " Kamer 2's temperature rise is a warning near +50 (acknowledge it on Meldingen) and the fever"
            " escalates it near +70; Kamer 4's bilirubin readings at +30 and +75. Ctrl-C stops everything.")  # fmt: skip
        started = time.monotonic()
        while not stop.is_set():
            now = clock.now()
            while steps and steps[0].at_s <= now:
                step = steps.pop(0)
                try:
                    step.do()
                    say(f"  [{_clock_text(clock)}] {step.what}")
                except Exception as exc:  # a failed step is reported; the demo goes on
                    say(f"  [{_clock_text(clock)}] could not do '{step.what}': {exc}")
            if dead := procs.dead():
                say(f"  stopped unexpectedly: {', '.join(dead)} (see {out / 'logs'})")
                failed = True
                break
            if options.run_for_s is not None and time.monotonic() - started >= options.run_for_s:
                break
            stop.wait(0.2)
    except (RuntimeError, OSError, ValueError) as exc:
        say(f"demo failed to start: {exc}")
        failed = True
    finally:
        say("stopping: gateway, wearables, serve, board, broker ...")
        if watcher is not None:
            watcher.stop()
        codes = procs.stop_all(say)
        say("  " + ", ".join(f"{name} exit {code}" for name, code in codes.items()))
    unclean = {name: code for name, code in codes.items() if code not in (0, -signal.SIGTERM)}
    if unclean:
        say(f"  not stopped cleanly: {unclean}")
    return 1 if failed or unclean else 0
