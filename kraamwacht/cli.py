"""The ``kraamwacht`` command."""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from kraamwacht import __version__
from kraamwacht.cli_bili import app as bili_app
from kraamwacht.cli_board import dashboard as board_dashboard
from kraamwacht.cli_board import episode_app, user_app
from kraamwacht.cli_options import DEFAULT_BROKER, BrokerUrl
from kraamwacht.errors import KraamwachtError

app = typer.Typer(
    help="kraamwacht: early warning for postnatal care (decision support, not a certified medical device).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Detector configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(bili_app, name="bili")
gateway_app = typer.Typer(help="The BLE gateway: pair wearables and run.", no_args_is_help=True)
app.add_typer(gateway_app, name="gateway")
app.add_typer(user_app, name="user")
app.add_typer(episode_app, name="episode")
app.command("dashboard")(board_dashboard)

_OUT = Console(soft_wrap=True)
_ERR = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def _progress(desc: str) -> Callable[[Iterable[T]], Iterable[T]]:
    """A tqdm progress bar on stderr when it is a terminal; silent otherwise."""

    def wrap(items: Iterable[T]) -> Iterable[T]:
        unit = {"sweep": "setting", "read": "chunk"}.get(desc, "subject")
        return tqdm(items, desc=desc, unit=unit, disable=None, leave=False)

    return wrap


def _fail(exc: Exception) -> None:
    _ERR.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(code=2)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what is skipped and why.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def version() -> None:
    """Print the version."""
    _OUT.print(f"kraamwacht {__version__}")


@config_app.command("defaults")
def config_defaults() -> None:
    """Print the default configuration (TOML, with the reason for every value)."""
    from kraamwacht.settings import default_config_text

    typer.echo(default_config_text(), nl=False)


@config_app.command("check")
def config_check(path: Path) -> None:
    """Check a configuration file and print the effective values."""
    from kraamwacht.settings import load_detector_config

    try:
        cfg = load_detector_config(path)
    except KraamwachtError as exc:
        _fail(exc)
    typer.echo(json.dumps(cfg.to_mapping(), indent=2))


def _store_recordings(store_url: str, start: str | None, end: str | None, episode: str | None) -> dict:
    """Every subject's recording from a store, as replay wants it."""
    from kraamwacht.storage import open_store

    store = open_store(store_url)
    begin = _parse_utc(start, "--from") if start else None
    finish = _parse_utc(end, "--to") if end else None
    try:
        return {
            subject: series
            for _episode, subject in store.subjects(episode=episode)
            if (series := store.read(subject=subject, start=begin, end=finish))
        }
    finally:
        store.close()


def _parse_utc(text: str, what: str) -> datetime:
    from kraamwacht.contract import parse_time

    try:
        return parse_time(text, what=what)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="Stream file to write: .csv or .parquet (the replay format).")],
    store: Annotated[
        str, typer.Option(help="Store URL, e.g. sqlite:///kraamwacht-data/kraamwacht.db.")
    ] = "sqlite:///kraamwacht-data/kraamwacht.db",
    start: Annotated[str | None, typer.Option("--from", help="From this time (ISO 8601, inclusive).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Up to this time (ISO 8601, exclusive).")] = None,
    episode: Annotated[str | None, typer.Option(help="Only this care episode.")] = None,
) -> None:
    """Write what was recorded live as a replay stream file (pseudonymous ids only)."""
    from kraamwacht.recordings import write_streams

    try:
        recordings = _store_recordings(store, start, end, episode)
    except (KraamwachtError, ValueError) as exc:
        _fail(exc)
    chunks = ((subject, signal, t, v) for subject, series in recordings.items() for signal, (t, v) in series.items())
    n = write_streams(out, chunks)
    _OUT.print(f"{n} samples of {len(recordings)} subjects → {out}")


@app.command()
def replay(
    out: Annotated[Path, typer.Option(help="Alerts file to write (JSON lines).")],
    streams: Annotated[
        Path | None, typer.Argument(help="Stream file: CSV or Parquet with time,subject,signal,value.")
    ] = None,
    store: Annotated[str | None, typer.Option(help="Replay straight from a store instead of a file.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="With --store: from this time.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="With --store: up to this time.")] = None,
    subjects: Annotated[Path | None, typer.Option(help="CSV subject,delivered_at[,role,gestational_age_w].")] = None,
    config: Annotated[Path | None, typer.Option(help="Detector configuration (TOML); defaults otherwise.")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Count and skip malformed rows.")] = False,
) -> None:
    """Replay recorded streams through the live detectors and write every alert event."""
    from kraamwacht.recordings import (
        StreamReadResult,
        coverage_path,
        read_streams,
        read_subjects,
        write_alerts,
        write_coverage,
    )
    from kraamwacht.replay import replay as run_replay
    from kraamwacht.settings import load_detector_config

    if (streams is None) == (store is None):
        raise typer.BadParameter("give a stream file or --store, not both")
    try:
        cfg = load_detector_config(config)
        subject_rows = read_subjects(subjects) if subjects else None
        if streams is not None:
            data = read_streams(streams, skip_bad=skip_bad, progress=_progress("read"))
        else:
            recordings = _store_recordings(store, start, end, None)  # type: ignore[arg-type]
            rows = sum(t.size for series in recordings.values() for t, _ in series.values())
            data = StreamReadResult(recordings, rows)
        result = run_replay(data.recordings, cfg, subjects=subject_rows, progress=_progress("replay"))
    except (KraamwachtError, ValueError) as exc:
        _fail(exc)
    n = write_alerts(out, result.events)
    write_coverage(coverage_path(out), result.coverage.values())
    raised = sum(1 for e in result.events if e.event == "raised")
    _OUT.print(
        f"{data.rows} rows, {result.samples} samples, {len(result.coverage)} subjects → {n} alert events "
        f"({raised} raised) in {out}"
    )
    if data.skipped:
        details = ", ".join(f"{reason}: {count}" for reason, count in data.skipped.most_common())
        _OUT.print(f"skipped {sum(data.skipped.values())} bad rows ({details})")


def _parse_rules(rules: str) -> frozenset[str] | None:
    from kraamwacht.alerts import RULES
    from kraamwacht.signal.evaluate import TEMPERATURE_RULES

    if rules == "temperature":
        return TEMPERATURE_RULES
    if rules == "all":
        return None
    chosen = frozenset(r.strip() for r in rules.split(",") if r.strip())
    unknown = chosen - set(RULES)
    if unknown:
        raise typer.BadParameter(f"unknown rules {sorted(unknown)}; known: {sorted(RULES)}, or 'temperature', 'all'")
    return chosen


_RULES_HELP = "Rules that count as alarms: 'temperature' (temp_rise, temp_rise_hr, fever), 'all', or a comma list."


@app.command()
def evaluate(
    alerts: Annotated[Path, typer.Argument(help="Alerts file written by replay.")],
    labels: Annotated[Path, typer.Option(help="CSV subject,febrile,onset,reference.")],
    coverage: Annotated[
        Path | None, typer.Option(help="Monitored spans; default: the file replay wrote next to the alerts.")
    ] = None,
    rules: Annotated[str, typer.Option(help=_RULES_HELP)] = "temperature",
    onset_tolerance_h: Annotated[float, typer.Option(help="Alarms this long before onset still count.")] = 6.0,
    post_reference_h: Annotated[float, typer.Option(help="Alarms this long after the reference still count.")] = 24.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Sensitivity, lead time, false alarms per subject-day, PPV and data availability."""
    from kraamwacht.recordings import coverage_path, read_alerts, read_coverage, read_labels
    from kraamwacht.signal.evaluate import evaluate as run_evaluate

    chosen = _parse_rules(rules)
    coverage_file = coverage or coverage_path(alerts)
    if not coverage_file.exists():
        _fail(
            FileNotFoundError(
                f"{coverage_file}: not found. kraamwacht replay writes it next to the alerts; "
                "for alerts from elsewhere pass --coverage with subject,start,end,windows,windows_with_data"
            )
        )
    try:
        report = run_evaluate(
            read_alerts(alerts),
            read_labels(labels),
            read_coverage(coverage_file),
            rules=chosen,
            onset_tolerance_h=onset_tolerance_h,
            post_reference_h=post_reference_h,
        )
    except (KraamwachtError, ValueError) as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    table = Table(title="Alarm quality", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("subjects", str(report.subjects))
    table.add_row("febrile (with a reference)", f"{report.febrile} ({report.febrile_with_reference})")
    table.add_row("sensitivity (no later than reference)", _pct(report.sensitivity))
    table.add_row(
        "lead time median [IQR], h", f"{_f(report.lead_h_median)} [{_f(report.lead_h_q1)}–{_f(report.lead_h_q3)}]"
    )
    table.add_row("alarms (true / false)", f"{report.alarms} ({report.true_alarms} / {report.false_alarms})")
    table.add_row("false alarms per subject-day", _f(report.false_alarms_per_subject_day, 3))
    table.add_row("PPV per alarm", _pct(report.ppv))
    table.add_row("data availability", _pct(report.data_availability))
    table.add_row("subject-days", _f(report.subject_days, 1))
    _OUT.print(table)
    if report.missed:
        _OUT.print(f"missed: {', '.join(report.missed)}")


def _f(x: float, decimals: int = 2) -> str:
    return "–" if math.isnan(x) else f"{x:.{decimals}f}"


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.1f} %"


@app.command()
def sweep(
    streams: Annotated[Path, typer.Argument(help="Stream file (CSV or Parquet).")],
    labels: Annotated[Path, typer.Option(help="CSV subject,febrile,onset,reference.")],
    grid: Annotated[list[str], typer.Option(help="A parameter and its values, e.g. rise.k_c=0.3,0.4,0.5 (repeat).")],
    out_dir: Annotated[Path, typer.Option(help="Folder for sweep.csv and sweep.png.")],
    config: Annotated[Path | None, typer.Option(help="Base configuration (TOML).")] = None,
    rules: Annotated[str, typer.Option(help=_RULES_HELP)] = "temperature",
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Count and skip malformed rows.")] = False,
) -> None:
    """Evaluate a grid of thresholds in one pass over the data; write a table and a trade-off plot."""
    from kraamwacht.plots import plot_sweep
    from kraamwacht.recordings import read_labels, read_streams
    from kraamwacht.replay import parse_grid
    from kraamwacht.replay import sweep as run_sweep
    from kraamwacht.settings import load_detector_config

    chosen = _parse_rules(rules)
    try:
        base = load_detector_config(config)
        parsed = parse_grid(grid, base)
        label_rows = read_labels(labels)
        data = read_streams(streams, skip_bad=skip_bad)
        rows = run_sweep(data.recordings, label_rows, base, parsed, rules=chosen, progress=_progress("sweep"))
    except (KraamwachtError, ValueError) as exc:
        _fail(exc)
    out_dir.mkdir(parents=True, exist_ok=True)
    table_path = out_dir / "sweep.csv"
    metrics = (
        "sensitivity",
        "lead_h_median",
        "lead_h_q1",
        "lead_h_q3",
        "false_alarms_per_subject_day",
        "ppv",
        "alarms",
    )
    with table_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*parsed, *metrics])
        for row in rows:
            values = row.report.as_dict()
            writer.writerow([*row.overrides.values(), *(values[m] for m in metrics)])
    plot_sweep(rows, out_dir / "sweep.png")
    table = Table(title="Sweep")
    for name in (*parsed, "sens.", "lead h", "FA/day", "PPV"):
        table.add_column(name, justify="right")
    for row in rows:
        r = row.report
        table.add_row(
            *(str(v) for v in row.overrides.values()),
            _pct(r.sensitivity),
            _f(r.lead_h_median),
            _f(r.false_alarms_per_subject_day, 3),
            _pct(r.ppv),
        )
    _OUT.print(table)
    _OUT.print(f"wrote {table_path} and {out_dir / 'sweep.png'}")


@app.command()
def serve(
    broker: BrokerUrl = DEFAULT_BROKER,
    site: Annotated[str, typer.Option(help="The site whose observations this service handles.")] = "site1",
    store: Annotated[
        str, typer.Option(help="Where samples are stored: sqlite:///FILE (the embedded store).")
    ] = "sqlite:///kraamwacht-data/kraamwacht.db",
    state_dir: Annotated[Path, typer.Option(help="Folder for the service's own state (the alert event log).")] = Path(
        "kraamwacht-data"
    ),
    mqtt_version: Annotated[str, typer.Option(help="5 (mosquitto) or 3.1.1 (the embedded amqtt broker).")] = "5",
    config: Annotated[Path | None, typer.Option(help="Detector configuration (TOML).")] = None,
    rebuild_h: Annotated[float, typer.Option(help="Hours of stored data that rebuild the detectors at start.")] = 72.0,
    notify: Annotated[
        list[str],
        typer.Option(
            help="Second channel: an apprise URL (ntfy://, pover://, mailto://, json://...); repeat. Also KRAAMWACHT_NOTIFY_URLS."
        ),
    ] = [],  # noqa: B006 - typer needs a literal default
    episodes: Annotated[
        Path | None,
        typer.Option(help="The board's episode registry (BOARD_DIR/episodes.db): birth times for jaundice alerts."),
    ] = None,
) -> None:
    """Ingest observations from MQTT: validate, deduplicate, store, detect live, publish alerts."""
    import os
    import signal as os_signal
    import threading
    from urllib.parse import urlparse

    from kraamwacht.publish import BrokerAddress
    from kraamwacht.service._mqtt import Service, ServiceOptions
    from kraamwacht.settings import load_detector_config

    if mqtt_version not in {"5", "3.1.1"}:
        raise typer.BadParameter("--mqtt-version must be 5 or 3.1.1")
    parsed = urlparse(store)
    # with InfluxDB, the embedded store in the state folder is the ledger and the outbox
    local = Path(parsed.netloc + parsed.path) if parsed.scheme == "sqlite" else state_dir / "outbox.db"
    try:
        cfg = load_detector_config(config)
        options = ServiceOptions(
            broker=BrokerAddress.parse(broker),
            site=site,
            store_path=local,
            forward_url=None if parsed.scheme == "sqlite" else store,
            state_dir=state_dir,
            mqtt_version=mqtt_version,
            rebuild_h=rebuild_h,
            notify_urls=(*notify, *os.environ.get("KRAAMWACHT_NOTIFY_URLS", "").split()),
            episodes_path=episodes,
        )
        service = Service(options, cfg)
    except (KraamwachtError, ValueError) as exc:
        _fail(exc)
    stop = threading.Event()
    for sig in (os_signal.SIGINT, os_signal.SIGTERM):
        os_signal.signal(sig, lambda *_: stop.set())
    target = store if options.forward_url else str(options.store_path)
    _OUT.print(f"serving site {site} from {options.broker} into {target} (Ctrl-C stops)")
    service.run(stop)


_STATE = Annotated[Path, typer.Option(help="The gateway's folder: registry and spool.")]


@gateway_app.command("pair")
def gateway_pair(
    serial: Annotated[str, typer.Argument(help="The wearable's serial number (Device Information 0x2A25).")],
    site: Annotated[str, typer.Option(help="Site id.")],
    episode: Annotated[str, typer.Option(help="Care episode id.")],
    subject: Annotated[str, typer.Option(help="The mother's pseudonymous id.")],
    state_dir: _STATE = Path("kraamwacht-gateway"),
) -> None:
    """Allow a wearable and say whom it belongs to (nothing unpaired is ever connected)."""
    from kraamwacht.gateway.registry import Registry

    try:
        assignment = Registry(state_dir / "registry.db").pair(serial, site=site, episode=episode, subject=subject)
    except ValueError as exc:
        _fail(exc)
    _OUT.print(
        f"paired {assignment.serial} → {assignment.site}/{assignment.episode}/{assignment.subject} as {assignment.device_id}"
    )


@gateway_app.command("unpair")
def gateway_unpair(serial: str, state_dir: _STATE = Path("kraamwacht-gateway")) -> None:
    """Remove a wearable from the allow-list."""
    from kraamwacht.gateway.registry import Registry

    if not Registry(state_dir / "registry.db").unpair(serial):
        _fail(LookupError(f"wearable {serial} was not paired"))
    _OUT.print(f"unpaired {serial}")


@gateway_app.command("list")
def gateway_list(state_dir: _STATE = Path("kraamwacht-gateway")) -> None:
    """The paired wearables."""
    from kraamwacht.gateway.registry import Registry

    for a in Registry(state_dir / "registry.db").all():
        typer.echo(f"{a.serial}\t{a.site}\t{a.episode}\t{a.subject}\t{a.device_id}")


@gateway_app.command("run")
def gateway_run(
    broker: BrokerUrl = DEFAULT_BROKER,
    site: Annotated[str, typer.Option(help="Site id (for the gateway's status topic).")] = "site1",
    gateway_id: Annotated[str, typer.Option("--id", help="This gateway's id.")] = "gw1",
    ble: Annotated[
        str, typer.Option(help="'default' (bleak's platform backend, BlueZ) or bumble:<transport>.")
    ] = "default",
    max_spool: Annotated[
        int, typer.Option(help="Disk budget in samples; beyond it the oldest go first (counted).")
    ] = 5_000_000,
    silence_s: Annotated[
        float,
        typer.Option(help="Adapter watchdog: nothing heard for this long restarts the scanner; 3 times exits (1)."),
    ] = 60.0,
    state_dir: _STATE = Path("kraamwacht-gateway"),
) -> None:
    """Connect the paired wearables, spool every sample to disk, publish over MQTT (Ctrl-C stops)."""
    from kraamwacht.gateway.service import run_gateway
    from kraamwacht.publish import BrokerAddress

    try:
        address = BrokerAddress.parse(broker)
    except ValueError as exc:
        _fail(exc)
    _OUT.print(f"gateway {gateway_id} for site {site}: BLE {ble}, spool in {state_dir}, broker {address}")
    try:
        status = run_gateway(
            broker=address,
            site=site,
            gateway_id=gateway_id,
            state_dir=state_dir,
            ble=ble,
            max_spool=max_spool,
            silence_s=silence_s,
        )
    except ValueError as exc:
        _fail(exc)
    raise typer.Exit(status)


@app.command()
def sim(
    wearables: Annotated[int, typer.Option(min=1, help="Number of emulated wearables (serials 0001...).")] = 5,
    host: Annotated[str, typer.Option(help="Address for the HCI and control servers.")] = "127.0.0.1",
    hci_port: Annotated[
        int, typer.Option(help="HCI over TCP (H4) for gateways: --ble bumble:tcp-client:HOST:PORT.")
    ] = 9100,
    control_port: Annotated[
        int,
        typer.Option(
            help="Text control port: stats, pause, resume, disconnect/vanish/reappear SERIAL, "
            "loose SERIAL on|off, clock SERIAL OFFSET_S [PPM], battery SERIAL PCT, garble SERIAL N, quit."
        ),
    ] = 9101,
    interval_s: Annotated[float, typer.Option(help="Seconds between a wearable's readings.")] = 1.0,
    kinds: Annotated[
        str, typer.Option(help="Scenario kinds, comma-separated, assigned in turn: healthy, slow, fast.")
    ] = "healthy",
    buffer: Annotated[
        int, typer.Option(min=0, help="Temperature readings a wearable keeps while nobody listens (0: none).")
    ] = 0,
    battery_drain_pct_per_h: Annotated[float, typer.Option(min=0.0, help="Battery drain per hour.")] = 0.0,
    seed: Annotated[int, typer.Option()] = 1,
    cast: Annotated[
        bool, typer.Option("--demo-cast", help="The demo's four scripted families instead of --wearables/--kinds.")
    ] = False,
) -> None:
    """Emulated wearables over Bluetooth LE (bumble), served to gateways over HCI on TCP."""
    import asyncio
    import signal as os_signal

    from kraamwacht import clock
    from kraamwacht.demo.cast import demo_cast
    from kraamwacht.firmware_sim.simulator import Simulator, drawn_scenarios

    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
    if not chosen or set(chosen) - {"healthy", "slow", "fast"}:
        _fail(ValueError(f"--kinds {kinds!r}: use healthy, slow and/or fast"))
    origin_s = clock.CLOCK.origin_s if clock.CLOCK.factor > 1.0 else clock.now()
    scenarios = (
        [m.scenario for m in demo_cast(origin_s)] if cast else drawn_scenarios(wearables, seed=seed, kinds=chosen)  # type: ignore[arg-type]
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (os_signal.SIGINT, os_signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        simulator = Simulator(
            scenarios,
            interval_s=interval_s,
            buffer_capacity=buffer,
            battery_drain_pct_per_h=battery_drain_pct_per_h,
        )
        _OUT.print(
            f"{len(scenarios)} wearables; HCI on {host}:{hci_port}, control on {host}:{control_port} (Ctrl-C stops)"
        )
        await simulator.run(host=host, hci_port=hci_port, control_port=control_port, stop=stop)

    asyncio.run(main())


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option(help="The demo's folder (emptied at start).")] = Path("demo-live"),
    time_lapse: Annotated[
        float, typer.Option(min=1.0, max=600.0, help="How much faster than real time the clock runs once started.")
    ] = 60.0,
    start_in_s: Annotated[float, typer.Option(min=0.0, help="Real seconds before the time-lapse starts.")] = 20.0,
    broker: Annotated[
        str | None, typer.Option(help="A real broker, mqtt://[user:pass@]host:port; default: the embedded one.")
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(help="A real database, influx+v1://host:8086/DB or influx+v2://...; default: embedded."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the board.")] = 8501,
    broker_port: Annotated[int, typer.Option(help="Port of the embedded broker.")] = 1883,
    run_for_s: Annotated[float | None, typer.Option(help="Stop by itself after this many seconds.")] = None,
) -> None:
    """The whole system with four scripted families, in time-lapse, until Ctrl-C."""
    from kraamwacht.demo.run import DemoOptions, run_demo

    options = DemoOptions(out_dir=out_dir, time_lapse=time_lapse, start_in_s=start_in_s, broker=broker, store=store,
                          board_port=port, broker_port=broker_port, run_for_s=run_for_s, say=_OUT.print)  # fmt: skip
    raise typer.Exit(code=run_demo(options))


@app.command("broker-config")
def broker_config(
    out_dir: Annotated[Path, typer.Argument(help="Folder for mosquitto.conf, certificates, passwd, acl, credentials.")],
    site: Annotated[list[str], typer.Option(help="A site (repeat): serve-SITE and board-SITE accounts.")],
    gateway: Annotated[
        list[str], typer.Option(help="SITE:GATEWAY_ID (repeat): one account per gateway, gw-SITE-GATEWAY_ID.")
    ] = [],  # noqa: B006 - typer needs a literal default
    hostname: Annotated[
        list[str], typer.Option(help="Names clients use for the broker (repeat); the certificate covers them.")
    ] = ["localhost", "127.0.0.1"],  # noqa: B006
    port: Annotated[int, typer.Option(help="TLS port.")] = 8883,
    bind: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
    run_as: Annotated[str | None, typer.Option(help="mosquitto's 'user' setting (e.g. mosquitto).")] = None,
) -> None:
    """Write a secured mosquitto configuration: TLS, an account per gateway and per site, ACLs per site."""
    from kraamwacht.broker_config import write_broker_config

    pairs = []
    for item in gateway:
        site_id, _, gateway_id = item.partition(":")
        if not site_id or not gateway_id:
            _fail(ValueError(f"--gateway {item!r}: use SITE:GATEWAY_ID"))
        pairs.append((site_id, gateway_id))
    try:
        accounts = write_broker_config(out_dir, sites=site, gateways=pairs, hostnames=hostname, port=port,
                                       bind=bind, run_as=run_as)  # fmt: skip
    except ValueError as exc:
        _fail(exc)
    _OUT.print(f"wrote {out_dir}/mosquitto.conf with TLS on port {port}; accounts:")
    for account in accounts:
        _OUT.print(f"  {account.name:<24} password in {out_dir / 'credentials' / account.name}")
    _OUT.print(
        f"start: mosquitto -c {out_dir / 'mosquitto.conf'}; clients: --broker "
        f"'mqtts://ACCOUNT@{hostname[0]}:{port}?ca={out_dir / 'ca.crt'}&password_file={out_dir / 'credentials'}/ACCOUNT'"
    )


@app.command()
def broker(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 1883,
) -> None:
    """Run the embedded MQTT broker (amqtt, MQTT 3.1.1) until Ctrl-C: for one machine and the demo."""
    import signal as os_signal
    import threading

    from kraamwacht.broker import EmbeddedBroker

    embedded = EmbeddedBroker(host, port)
    try:
        embedded.start()
    except RuntimeError as exc:
        _fail(exc)
    stop = threading.Event()
    for sig in (os_signal.SIGINT, os_signal.SIGTERM):
        os_signal.signal(sig, lambda *_: stop.set())
    _OUT.print(f"embedded broker on {embedded.url} (MQTT 3.1.1; Ctrl-C stops)")
    stop.wait()
    embedded.stop()


@app.command()
def status(
    broker: BrokerUrl = DEFAULT_BROKER,
    site: Annotated[str, typer.Option(help="The site to ask about.")] = "site1",
    timeout_s: Annotated[float, typer.Option(help="How long to wait for the status.")] = 5.0,
) -> None:
    """Show what serve has counted: received, stored, duplicates, rejected by reason, lag."""
    import threading

    import paho.mqtt.client as mqtt

    from kraamwacht.publish import BrokerAddress
    from kraamwacht.service._mqtt import status_topic

    address = BrokerAddress.parse(broker)
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    address.apply(client)
    client.on_connect = lambda c, *_: c.subscribe(status_topic(site), qos=1)
    topic = status_topic(site)

    def on_message(_client: object, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        # only serve's own status: some brokers (amqtt) also send unrelated retained messages
        if msg.topic == topic:
            got.append(msg.payload)
            done.set()

    client.on_message = on_message
    try:
        client.connect(address.host, address.port)
    except OSError as exc:
        _fail(ConnectionError(f"cannot reach the broker at {address}: {exc}"))
    client.loop_start()
    done.wait(timeout_s)
    client.disconnect()
    client.loop_stop()
    if not got:
        _fail(TimeoutError(f"no status from serve for site {site} on {address} within {timeout_s:g} s: is it running?"))
    typer.echo(json.dumps(json.loads(got[0]), indent=2, ensure_ascii=False))


@app.command()
def doctor(
    broker: BrokerUrl = DEFAULT_BROKER,
    site: Annotated[str, typer.Option(help="The site to check.")] = "site1",
    store: Annotated[str | None, typer.Option(help="Store URL to check (what serve writes).")] = None,
    board_dir: Annotated[Path | None, typer.Option(help="The board's folder (users, episodes).")] = None,
    wait_s: Annotated[float, typer.Option(help="Seconds to listen for statuses.")] = 3.0,
) -> None:
    """Check a deployment: broker, serve, gateways, wearables, store, board; say what is wrong and the fix."""
    from kraamwacht.doctor import judge, look, now_utc
    from kraamwacht.publish import BrokerAddress

    try:
        address = BrokerAddress.parse(broker)
    except ValueError as exc:
        _fail(exc)
    findings = judge(
        look(broker=address, site=site, store_url=store, board_dir=board_dir, wait_s=wait_s), now=now_utc()
    )
    marks = {"ok": "[green]✓[/green]", "warning": "[yellow]![/yellow]", "error": "[red]✗[/red]"}
    for f in findings:
        _OUT.print(f"{marks[f.level]} {f.check}: {f.detail}" + (f"  → {f.fix}" if f.fix and f.level != "ok" else ""))
    errors = sum(f.level == "error" for f in findings)
    _OUT.print(f"{errors} problem(s)" if errors else "all checks passed")
    raise typer.Exit(1 if errors else 0)


@app.command("simulate-cohort")
def simulate_cohort(
    out_dir: Annotated[Path, typer.Argument(help="Folder for streams, subjects, labels and spot checks.")],
    subjects: Annotated[int, typer.Option(min=1, help="Number of mothers.")] = 40,
    days: Annotated[float, typer.Option(min=0.5, help="Days monitored per mother.")] = 8.0,
    interval_s: Annotated[float, typer.Option(min=1.0, help="Seconds between wearable samples.")] = 30.0,
    febrile_fraction: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.3,
    fast_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of fevers that are fast (sepsis-like).")
    ] = 1 / 3,
    seed: Annotated[int, typer.Option()] = 1,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Write a labelled synthetic cohort from the physiology models in firmware_sim."""
    import numpy as np

    from kraamwacht.contract import SIGNAL_RANGES, Signal, format_timestamp
    from kraamwacht.firmware_sim.physiology import generate_cohort
    from kraamwacht.recordings import write_streams

    if fmt not in {"csv", "parquet"}:
        raise typer.BadParameter("--format must be csv or parquet")
    out_dir.mkdir(parents=True, exist_ok=True)
    cohort = generate_cohort(subjects, seed=seed, febrile_fraction=febrile_fraction, fast_share=fast_share, days=days)

    dropped = 0

    def chunks() -> Iterable[tuple[str, str, np.ndarray, np.ndarray]]:
        nonlocal dropped
        for scenario in tqdm(cohort, desc="simulate", unit="subject", disable=None, leave=False):
            samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=interval_s)
            for signal, (t_s, values) in samples.items():
                # what the contract would refuse never reaches storage (e.g. a loose sensor at 24 °C)
                low, high = SIGNAL_RANGES[Signal(signal)]
                ok = (values >= low) & (values <= high)
                dropped += int((~ok).sum())
                yield scenario.subject, signal, t_s[ok], values[ok]

    streams_path = out_dir / f"streams.{fmt}"
    n = write_streams(streams_path, chunks())
    _write_csv(out_dir / "subjects.csv", [s.subject_row() for s in cohort])
    _write_csv(out_dir / "labels.csv", [s.label_row() for s in cohort])
    checks = [
        {"subject": s.subject, "time": format_timestamp(c.time_s), "temp_c": f"{c.temp_c:.1f}"}
        for s in cohort
        for c in s.spot_checks()
    ]
    _write_csv(out_dir / "spot_checks.csv", checks)
    febrile = sum(1 for s in cohort if s.infection is not None)
    _OUT.print(
        f"{len(cohort)} mothers ({febrile} febrile), {n} samples → {streams_path}, subjects.csv, labels.csv, "
        f"spot_checks.csv ({dropped} samples outside the contract's ranges not written, as the service would refuse them)"
    )


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["subject"])
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
