"""``kraamwacht temp enter``: the kraamverzorgende's spot check (temperature, and pulse if taken), sent like any reading.

The reading is the reference measurement: at or above the fever line it is itself the urgent
finding, and it calibrates the wearable's skin → core offset (docs/detectors.md).
"""

from __future__ import annotations

from typing import Annotated

import typer

from kraamwacht import clock
from kraamwacht.cli._options import BrokerUrl, PasswordStdin, staff_signing_key
from kraamwacht.contract import ThermometerMethod, parse_time, spot_check_messages
from kraamwacht.errors import KraamwachtError
from kraamwacht.signal import DetectorConfig

__all__ = ["app"]

app = typer.Typer(help="Thermometer spot checks: enter a reading.", no_args_is_help=True)


@app.command("enter")
def enter_command(
    broker: BrokerUrl,
    site: Annotated[str, typer.Option(help="Site id (pseudonymous).")],
    episode: Annotated[str, typer.Option(help="Care episode id.")],
    subject: Annotated[str, typer.Option(help="The mother's pseudonymous id.")],
    entered_by: Annotated[str, typer.Option(help="Who measured and typed it in (staff id).")],
    value: Annotated[float, typer.Option("--value", help="The thermometer's reading in °C.")],
    method: Annotated[
        ThermometerMethod, typer.Option(help="Where it was taken; Dutch kraamzorg measures rectally.")
    ] = ThermometerMethod.RECTAL,
    pulse: Annotated[float | None, typer.Option(help="The pulse counted at the same visit, /min.")] = None,
    measured: Annotated[str | None, typer.Option(help="When (ISO 8601 with Z); default now.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Send a thermometer reading (and the pulse) as observations; say what it means (nothing is sent on bad input)."""
    from kraamwacht.publish import BrokerAddress, PublishError, publish

    now = clock.utcnow()
    try:
        address = BrokerAddress.parse(broker)
        when = parse_time(measured, what="--measured") if measured else now
        messages = spot_check_messages(site=site, episode=episode, subject=subject, temp_c=value, method=method,
                                       pulse_bpm=pulse, measured_at=when, entered_by=entered_by, now=now,
                                       signing_key=staff_signing_key(entered_by, password_stdin))  # fmt: skip
    except KraamwachtError as exc:
        typer.echo(f"error: {exc} (nothing was sent)", err=True)
        raise typer.Exit(code=2) from None
    thermometer = DetectorConfig().thermometer
    core = value + thermometer.to_core_c(method.value)
    if core >= thermometer.fever_c:
        typer.secho(
            f"KOORTS: {core:.1f} °C op kernschaal (≥ {thermometer.fever_c:.1f} °C). Neem nu contact op met de verloskundige.",
            fg="red",
            bold=True,
        )
    try:
        publish(address, messages)
    except PublishError as exc:
        typer.echo(f"error: {exc} (the reading was NOT stored: enter it again when the broker is reachable)", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"stored: {value:.1f} °C ({method.value})" + (f", pulse {pulse:.0f}/min" if pulse is not None else ""))
