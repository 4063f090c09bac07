"""``kraamwacht handover``: one care episode as a FHIR R4 Bundle for the next carer in the chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from kraamwacht import clock
from kraamwacht.errors import KraamwachtError

if TYPE_CHECKING:
    from kraamwacht.handover import EpisodeRecord
    from kraamwacht.handover_summary import Baselines

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
    from kraamwacht.handover import build_bundle, summary_counts, validate_bundle
    from kraamwacht.handover_source import read_record

    item = EpisodeRegistry(board_dir / "episodes.db").get(episode)
    if item is None:
        typer.echo(f"error: no episode {episode!r} in {board_dir}", err=True)
        raise typer.Exit(2)
    try:
        record = read_record(item, store=store, events=events)
    except KraamwachtError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
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
        write_summary_pdf(record, pdf, generated_at=clock.utcnow(), baselines=_replayed_baselines(record),
                          include_staff=staff_names)  # fmt: skip
        typer.echo(f"wrote {pdf}: the one-page summary")


def _replayed_baselines(record: EpisodeRecord) -> Baselines | None:
    """Her baselines by replaying her stored samples: what serve computed (live == replay)."""
    from kraamwacht.alerts import detect_alerts
    from kraamwacht.handover_summary import Baselines
    from kraamwacht.signal import DetectorConfig

    if record.skin_c[0].size == 0:
        return None
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {"temperature_c": record.skin_c, "heart_rate_bpm": record.hr_bpm}
    for t_s, value, method in record.spot_checks:
        key = "thermometer_c" + (f":{method}" if method else "")
        t, v = series.get(key, (np.array([]), np.array([])))
        series[key] = (np.append(t, t_s), np.append(v, value))
    frame = detect_alerts(series, DetectorConfig(), subject=record.episode.mother).frame
    offsets = frame.offset_c[np.isfinite(frame.offset_c)]
    return Baselines(frame.time_s, frame.baseline_c + frame.offset_c, frame.hr_baseline_bpm,
                     float(offsets[-1]) if offsets.size else DetectorConfig().temperature.axillary_to_core_offset_c)  # fmt: skip
