"""The gateway and the emulated wearables: pair, unpair, list, run; sim."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kraamwacht.cli._console import OUT, fail
from kraamwacht.cli._options import DEFAULT_BROKER, BrokerUrl
from kraamwacht.errors import KraamwachtError

__all__ = ["gateway_app", "sim"]

gateway_app = typer.Typer(help="The BLE gateway: pair wearables and run.", no_args_is_help=True)


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
    except KraamwachtError as exc:
        fail(exc)
    OUT.print(
        f"paired {assignment.serial} → {assignment.site}/{assignment.episode}/{assignment.subject} as {assignment.device_id}"
    )


@gateway_app.command("unpair")
def gateway_unpair(serial: str, state_dir: _STATE = Path("kraamwacht-gateway")) -> None:
    """Remove a wearable from the allow-list."""
    from kraamwacht.gateway.registry import Registry

    if not Registry(state_dir / "registry.db").unpair(serial):
        fail(LookupError(f"wearable {serial} was not paired"))
    OUT.print(f"unpaired {serial}")


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
    except KraamwachtError as exc:
        fail(exc)
    OUT.print(f"gateway {gateway_id} for site {site}: BLE {ble}, spool in {state_dir}, broker {address}")
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
    except KraamwachtError as exc:
        fail(exc)
    raise typer.Exit(status)


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
        fail(ValueError(f"--kinds {kinds!r}: use healthy, slow and/or fast"))
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
        OUT.print(
            f"{len(scenarios)} wearables; HCI on {host}:{hci_port}, control on {host}:{control_port} (Ctrl-C stops)"
        )
        await simulator.run(host=host, hci_port=hci_port, control_port=control_port, stop=stop)

    asyncio.run(main())
