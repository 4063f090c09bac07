"""``kraamwacht handover``: one care episode as a FHIR R4 Bundle for the next carer in the chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from kraamwacht import clock
from kraamwacht.errors import KraamwachtError

__all__ = ["handover"]


def handover(
    episode: str,
    out: Annotated[Path, typer.Option(help="The FHIR R4 Bundle (JSON) to write.")],
    store: Annotated[
        str, typer.Option(help="serve's store (the embedded ledger).")
    ] = "sqlite:///kraamwacht-data/kraamwacht.db",
    board_dir: Annotated[Path, typer.Option(help="The board's folder (its episode registry).")] = Path(
        "kraamwacht-board"
    ),
    events: Annotated[Path | None, typer.Option(help="serve's event log (STATE_DIR/events.db) for the alerts.")] = None,
    staff_names: Annotated[
        bool, typer.Option(help="Name who acknowledged an alert (only if the site allows it).")
    ] = False,
    pdf: Annotated[Path | None, typer.Option(help="Also write the one-page summary for a person (PDF, Dutch).")] = None,
) -> None:
    """Write one care episode as a FHIR R4 Bundle: patients, observations, devices and alerts."""
    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.handover import EpisodeRecord, build_bundle, summary_counts, validate_bundle
    from kraamwacht.service import EventLog
    from kraamwacht.storage.sqlite import SqliteStore

    item = EpisodeRegistry(board_dir / "episodes.db").get(episode)
    if item is None:
        typer.echo(f"error: no episode {episode!r} in {board_dir}", err=True)
        raise typer.Exit(2)
    if not store.startswith("sqlite:///"):
        typer.echo("error: the handover reads serve's embedded ledger: --store sqlite:///PATH", err=True)
        raise typer.Exit(2)
    ledger = SqliteStore(store.removeprefix("sqlite:///"))
    series = ledger.read(subject=item.mother, signals=["temperature_c", "heart_rate_bpm"])
    empty = (np.array([]), np.array([]))
    logged = EventLog(events).all() if events is not None and events.exists() else []
    record = EpisodeRecord(
        episode=item,
        skin_c=series.get("temperature_c", empty),
        hr_bpm=series.get("heart_rate_bpm", empty),
        spot_checks=ledger.with_method(item.mother, "thermometer_c"),
        bilirubin=ledger.with_method(item.newborn, "bilirubin_umol_l"),
        devices=ledger.devices(item.mother) + ledger.devices(item.newborn),
        events=[e for e in logged if e.episode in (None, item.episode)],
    )
    bundle = build_bundle(record, include_staff=staff_names, generated_at=clock.utcnow())
    try:
        validate_bundle(bundle)
    except KraamwachtError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(bundle, indent=1, ensure_ascii=False))
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(summary_counts(bundle).items()))
    typer.echo(f"wrote {out}: {counts}")
    if pdf is not None:
        from kraamwacht.handover_summary import write_summary_pdf

        pdf.parent.mkdir(parents=True, exist_ok=True)
        write_summary_pdf(record, pdf, generated_at=clock.utcnow(), include_staff=staff_names)
        typer.echo(f"wrote {pdf}: the one-page summary")
