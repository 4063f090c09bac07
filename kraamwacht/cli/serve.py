"""Operating commands: serve, the embedded broker, a secured broker configuration, status and doctor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kraamwacht.cli._console import OUT, fail
from kraamwacht.cli._options import DEFAULT_BROKER, BrokerUrl
from kraamwacht.errors import KraamwachtError

__all__ = ["broker", "broker_config", "doctor", "serve", "status"]


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
    staff_keys: Annotated[
        Path | None,
        typer.Option(
            help="The staff's signing keys (BOARD_DIR/staff-keys.json): apply only commands their actor signed."
        ),
    ] = None,
    require_pairing: Annotated[
        bool,
        typer.Option(
            help="Take a wearable's data only from the gateway it is paired to (`kraamwacht episode pair`; needs --episodes)."
        ),
    ] = False,
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
            staff_keys_path=staff_keys,
            require_pairing=require_pairing,
        )
        service = Service(options, cfg)
    except KraamwachtError as exc:
        fail(exc)
    stop = threading.Event()
    for sig in (os_signal.SIGINT, os_signal.SIGTERM):
        os_signal.signal(sig, lambda *_: stop.set())
    target = store if options.forward_url else str(options.store_path)
    OUT.print(f"serving site {site} from {options.broker} into {target} (Ctrl-C stops)")
    service.run(stop)


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
        fail(exc)
    stop = threading.Event()
    for sig in (os_signal.SIGINT, os_signal.SIGTERM):
        os_signal.signal(sig, lambda *_: stop.set())
    OUT.print(f"embedded broker on {embedded.url} (MQTT 3.1.1; Ctrl-C stops)")
    stop.wait()
    embedded.stop()


def broker_config(
    out_dir: Annotated[Path, typer.Argument(help="The broker's folder: mosquitto.conf, certificates, passwd, acl.")],
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
    board_hostname: Annotated[
        list[str],
        typer.Option(help="A name tablets use for the board (repeat): its HTTPS certificate from the same CA."),
    ] = [],  # noqa: B006
    secrets_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the CA key and the passwords, to move off the broker host (default: OUT_DIR-secrets)."
        ),
    ] = None,
) -> None:
    """Write a secured mosquitto configuration: TLS, an account per gateway and per site, ACLs per site."""
    from kraamwacht.broker_config import secrets_dir_for, write_broker_config

    pairs = []
    for item in gateway:
        site_id, _, gateway_id = item.partition(":")
        if not site_id or not gateway_id:
            fail(ValueError(f"--gateway {item!r}: use SITE:GATEWAY_ID"))
        pairs.append((site_id, gateway_id))
    try:
        secrets = secrets_dir_for(out_dir, secrets_dir)
        accounts = write_broker_config(out_dir, sites=site, gateways=pairs, hostnames=hostname, port=port,
                                       bind=bind, run_as=run_as, secrets_dir=secrets,
                                       board_hostnames=board_hostname)  # fmt: skip
    except KraamwachtError as exc:
        fail(exc)
    OUT.print(f"wrote {out_dir}/mosquitto.conf with TLS on port {port}; accounts:")
    for account in accounts:
        OUT.print(f"  {account.name:<24} password in {secrets / 'credentials' / account.name}")
    OUT.print(
        f"start: mosquitto -c {out_dir / 'mosquitto.conf'}; clients: --broker "
        f"'mqtts://ACCOUNT@{hostname[0]}:{port}?ca={out_dir / 'ca.crt'}&password_file=PATH/ACCOUNT'"
    )
    OUT.print(
        f"move {secrets} off the broker host: it holds the CA key (it signs certificates) and every "
        "password; the broker needs none of it. Give each client its own password file."
    )
    if board_hostname:
        board = secrets / "board"
        OUT.print(
            f"the board's HTTPS certificate: copy {board} to the board host, then: kraamwacht dashboard "
            f"--tls-cert {board / 'board.crt'} --tls-key {board / 'board.key'} (tablets trust {board / 'ca.crt'})"
        )


def status(
    broker: BrokerUrl = DEFAULT_BROKER,
    site: Annotated[str, typer.Option(help="The site to ask about.")] = "site1",
    timeout_s: Annotated[float, typer.Option(help="How long to wait for the status.")] = 5.0,
) -> None:
    """Show what serve has counted: received, stored, duplicates, rejected by reason, lag."""
    from kraamwacht.publish import BrokerAddress
    from kraamwacht.service._status import read_status

    try:
        counted = read_status(BrokerAddress.parse(broker), site, timeout_s=timeout_s)
    except KraamwachtError as exc:
        fail(exc)
    typer.echo(json.dumps(counted, indent=2, ensure_ascii=False))


def doctor(
    broker: BrokerUrl = DEFAULT_BROKER,
    site: Annotated[str, typer.Option(help="The site to check.")] = "site1",
    store: Annotated[str | None, typer.Option(help="Store URL to check (what serve writes).")] = None,
    board_dir: Annotated[Path | None, typer.Option(help="The board's folder (users, episodes).")] = None,
    wait_s: Annotated[float, typer.Option(help="Seconds to listen for statuses.")] = 3.0,
    broker_acl: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="The broker's ACL file (broker-config's OUT_DIR/acl): may a gateway write beyond its own?",
        ),
    ] = None,
) -> None:
    """Check a deployment: broker, serve, gateways, wearables, store, board; say what is wrong and the fix."""
    from kraamwacht.doctor import judge, look, now_utc
    from kraamwacht.publish import BrokerAddress

    try:
        address = BrokerAddress.parse(broker)
    except KraamwachtError as exc:
        fail(exc)
    findings = judge(
        look(broker=address, site=site, store_url=store, board_dir=board_dir, wait_s=wait_s, acl_path=broker_acl),
        now=now_utc(),
    )
    marks = {"ok": "[green]✓[/green]", "warning": "[yellow]![/yellow]", "error": "[red]✗[/red]"}
    for f in findings:
        OUT.print(f"{marks[f.level]} {f.check}: {f.detail}" + (f"  → {f.fix}" if f.fix and f.level != "ok" else ""))
    errors = sum(f.level == "error" for f in findings)
    OUT.print(f"{errors} problem(s)" if errors else "all checks passed")
    raise typer.Exit(1 if errors else 0)
