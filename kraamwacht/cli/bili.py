"""``kraamwacht bili``: assess a bilirubin reading, and enter one (published over MQTT)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from kraamwacht import clock
from kraamwacht.cli._options import BrokerUrl, PasswordStdin, staff_signing_key
from kraamwacht.contract import (
    BilirubinMethod,
    Severity,
    format_time,
    manual_bilirubin_message,
    parse_time,
)
from kraamwacht.errors import KraamwachtError
from kraamwacht.jaundice import (
    Advice,
    Baby,
    Reading,
    RiskFactor,
    Standard,
    assess,
    check_units,
)

app = typer.Typer(help="Newborn jaundice: bilirubin advice and entry.", no_args_is_help=True)


class RefusedError(KraamwachtError):
    """A reading that is not assessed or stored, with the reason."""


def _time(text: str, what: str) -> datetime:
    try:
        return parse_time(text, what=what)
    except KraamwachtError as exc:
        raise RefusedError(str(exc)) from exc


def _value(value: float, unit: str, confirm_unit: bool) -> float:
    try:
        umol, hint = check_units(value, unit)
    except KraamwachtError as exc:
        raise RefusedError(str(exc)) from exc
    if hint and not confirm_unit:
        raise RefusedError(
            f"{hint} Re-enter with the right --unit, or add --confirm-unit if {value:g} {unit} is right."
        )
    return umol


def _previous(items: list[str], unit: str, confirm_unit: bool) -> list[Reading]:
    out = []
    for item in items:
        when, sep, rest = item.partition("=")
        value_text, _, method = rest.partition(":")
        if not sep:
            raise RefusedError(f"--previous {item!r} must look like 2026-11-21T09:00:00Z=180[:tsb]")
        try:
            value = float(value_text)
        except ValueError as exc:
            raise RefusedError(f"--previous {item!r}: {value_text!r} is not a number") from exc
        try:
            method_enum = BilirubinMethod(method or "tcb")
        except ValueError as exc:
            raise RefusedError(f"--previous {item!r}: method must be tcb or tsb") from exc
        out.append(Reading(_time(when, "--previous"), _value(value, unit, confirm_unit), method_enum))
    return out


def _advise(
    birth: str,
    measured: str,
    ga_weeks: float,
    value: float,
    unit: str,
    method: BilirubinMethod,
    risk_factor: list[RiskFactor],
    phototherapy: bool,
    standard: Standard,
    previous: list[str],
    confirm_unit: bool,
) -> tuple[Baby, Reading, list[Reading], Advice]:
    baby = Baby(_time(birth, "--birth"), ga_weeks, tuple(risk_factor), phototherapy)
    reading = Reading(_time(measured, "--measured"), _value(value, unit, confirm_unit), method)
    earlier = _previous(previous, unit, confirm_unit)
    try:
        advice = assess(reading, baby, earlier=earlier, standard=standard)
    except KraamwachtError as exc:
        raise RefusedError(str(exc)) from exc
    return baby, reading, earlier, advice


def _print(advice: Advice, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_advice_json(advice), ensure_ascii=False, indent=2))
        return
    colour = {Severity.URGENT: "red", Severity.WARNING: "yellow", Severity.OK: "green"}[advice.level]
    age_nl = f"{advice.age_h:.1f}".replace(".", ",")
    typer.secho(
        f"{advice.level.value.upper()} ({advice.standard.citation}, leeftijd {age_nl} uur)", fg=colour, bold=True
    )
    typer.echo(advice.summary_nl())
    typer.echo(advice.summary_en())
    for note in advice.notes:
        typer.echo(note)
    typer.echo("kraamwacht is beslisondersteuning, geen gecertificeerd medisch hulpmiddel.")


def _advice_json(advice: Advice) -> dict[str, object]:
    t = advice.thresholds
    return {
        "level": advice.level.value,
        "rule": advice.rule,
        "standard": advice.standard.value,
        "age_h": round(advice.age_h, 2),
        "value_umol_l": round(advice.reading.value_umol_l, 2),
        "method": advice.reading.method.value,
        "phototherapy_umol_l": round(t.phototherapy_umol_l, 2) if t else None,
        "exchange_umol_l": round(t.exchange_umol_l, 2) if t else None,
        "escalation_umol_l": round(t.escalation_umol_l, 2) if t and t.escalation_umol_l is not None else None,
        "distance_umol_l": round(advice.distance_umol_l, 2) if advice.distance_umol_l is not None else None,
        "bhutani_zone": advice.bhutani.value if advice.bhutani else None,
        "remeasure_within_h": advice.remeasure_within_h,
        "reasons": [
            {"rule": r.rule, "level": r.level.value, "nl": r.text_nl, "en": r.text_en, "source": r.source}
            for r in advice.reasons
        ],
    }


Birth = Annotated[str, typer.Option(help="Birth time, ISO 8601 with Z or offset.")]
Measured = Annotated[str, typer.Option(help="Time of measurement, ISO 8601 with Z or offset.")]
GaWeeks = Annotated[float, typer.Option(help="Gestational age in weeks (e.g. 38.4 = 38 weeks and 3 days).")]
Value = Annotated[float, typer.Option(help="The reading.")]
Unit = Annotated[str, typer.Option(help="umol/L or mg/dL.")]
Method = Annotated[BilirubinMethod, typer.Option(help="tcb (transcutaneous meter) or tsb (serum).")]
Risk = Annotated[list[RiskFactor], typer.Option("--risk-factor", help="AAP neurotoxicity risk factor (repeat).")]
Photo = Annotated[bool, typer.Option("--phototherapy", help="During or after phototherapy (TcB not valid).")]
Std = Annotated[Standard, typer.Option(help="Threshold standard.")]
Previous = Annotated[
    list[str], typer.Option("--previous", help="Earlier reading TIME=VALUE[:tcb|tsb] in the same unit (repeat).")
]
Confirm = Annotated[
    bool, typer.Option("--confirm-unit", help="The value is right although it looks like the other unit.")
]


@app.command("assess")
def assess_command(
    birth: Birth,
    measured: Measured,
    ga_weeks: GaWeeks,
    value: Value,
    unit: Unit = "umol/L",
    method: Method = BilirubinMethod.TCB,
    risk_factor: Risk = [],  # noqa: B006 - typer needs a literal default
    phototherapy: Photo = False,
    standard: Std = Standard.AAP2022,
    previous: Previous = [],  # noqa: B006
    confirm_unit: Confirm = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the advice as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Also write the nomogram with the readings to this PNG.")] = None,
) -> None:
    """Advice for one reading, without any server."""
    try:
        baby, reading, earlier, advice = _advise(
            birth, measured, ga_weeks, value, unit, method, risk_factor, phototherapy, standard, previous, confirm_unit
        )
    except RefusedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    _print(advice, as_json)
    if plot:
        from kraamwacht.plots import plot_nomogram

        plot_nomogram(baby, [*earlier, reading], plot, standard=standard)
        if not as_json:
            typer.echo(f"nomogram: {plot}")


@app.command("enter")
def enter_command(
    broker: BrokerUrl,
    site: Annotated[str, typer.Option(help="Site id (pseudonymous).")],
    episode: Annotated[str, typer.Option(help="Care episode id.")],
    subject: Annotated[str, typer.Option(help="The newborn's pseudonymous id.")],
    entered_by: Annotated[str, typer.Option(help="Who measured and typed it in (staff id).")],
    birth: Birth,
    measured: Measured,
    ga_weeks: GaWeeks,
    value: Value,
    unit: Unit = "umol/L",
    method: Method = BilirubinMethod.TCB,
    body_site: Annotated[str, typer.Option(help="Where it was measured: forehead, sternum, heel.")] = "sternum",
    device: Annotated[str | None, typer.Option(help="Meter or entry device id; default manual-<entered_by>.")] = None,
    risk_factor: Risk = [],  # noqa: B006
    phototherapy: Photo = False,
    standard: Std = Standard.AAP2022,
    previous: Previous = [],  # noqa: B006
    confirm_unit: Confirm = False,
    board_dir: Annotated[
        Path | None,
        typer.Option(
            help="The board's folder: the risk factors given are added to the episode, where serve reads them."
        ),
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Check a reading, show the advice, and publish it as an observation (nothing is sent on bad input)."""
    from kraamwacht.publish import BrokerAddress, PublishError, publish

    try:
        address = BrokerAddress.parse(broker)
        _, reading, _, advice = _advise(
            birth, measured, ga_weeks, value, unit, method, risk_factor, phototherapy, standard, previous, confirm_unit
        )
        topic, payload = manual_bilirubin_message(
            site=site,
            episode=episode,
            subject=subject,
            value_umol_l=reading.value_umol_l,
            measured_at=reading.measured_at,
            method=method,
            body_site=body_site,
            entered_by=entered_by,
            device=device,
            now=clock.utcnow(),
            signing_key=staff_signing_key(entered_by, password_stdin),
        )
    except KraamwachtError as exc:
        typer.echo(f"error: {exc} (nothing was sent)", err=True)
        raise typer.Exit(code=2) from None
    _print(advice, as_json=False)
    if board_dir is not None and risk_factor:  # before the reading goes: serve judges it with them
        _add_risk_factors(board_dir, episode, [r.value for r in risk_factor], subject)
    elif risk_factor:
        typer.echo(
            "note: these risk factors change only the advice above; serve and the board judge with the episode's"
            " (add --board-dir, or kraamwacht episode update)",
            err=True,
        )
    try:
        publish(address, [(topic, payload)])
    except PublishError as exc:
        typer.echo(f"error: {exc} (the reading was NOT stored: enter it again when the broker is reachable)", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(
        f"stored: {format_time(reading.measured_at)} {reading.value_umol_l:.0f} µmol/L ({method.value}) → {topic}"
    )


def _add_risk_factors(board_dir: Path, episode: str, factors: list[str], newborn: str) -> None:
    """Add (never remove) the newborn's risk factors to the episode; the terminal and the board then say the same.

    For one of twins they are added for her alone (``newborn:factor``).
    """
    from kraamwacht.episodes import EpisodeRegistry

    registry = EpisodeRegistry(board_dir / "episodes.db")
    current = registry.get(episode)
    if current is None:
        typer.echo(f"error: no episode {episode!r} in {board_dir} (nothing was sent)", err=True)
        raise typer.Exit(code=2)
    if len(current.newborns) > 1:
        factors = [f"{newborn}:{factor}" for factor in factors]
    merged = tuple(dict.fromkeys([*current.risk_factors, *factors]))
    registry.update_jaundice(episode, risk_factors=merged)
    typer.echo(f"episode {episode}: risk factors {', '.join(merged)}")
