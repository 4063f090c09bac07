"""Research commands: export, replay, evaluate, sweep, simulate-cohort, and the detector configuration."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from tqdm import tqdm

from kraamwacht.cli._console import OUT, fail, fmt, parse_utc, pct, progress
from kraamwacht.cli._options import DaskScheduler, DaskWorkers
from kraamwacht.errors import KraamwachtError

__all__ = ["config_app", "evaluate", "export", "plot", "replay", "simulate_cohort", "sweep"]

config_app = typer.Typer(help="Detector configuration.", no_args_is_help=True)


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
        fail(exc)
    typer.echo(json.dumps(cfg.to_mapping(), indent=2))


def _store_recordings(store_url: str, start: str | None, end: str | None, episode: str | None) -> dict:
    """Every subject's recording from a store, as replay wants it."""
    from kraamwacht.storage import open_store

    store = open_store(store_url)
    begin = parse_utc(start, "--from") if start else None
    finish = parse_utc(end, "--to") if end else None
    try:
        return {
            subject: series
            for _episode, subject in store.subjects(episode=episode)
            if (series := store.read(subject=subject, start=begin, end=finish))
        }
    finally:
        store.close()


def export(
    out: Annotated[
        str,
        typer.Option(
            help="Stream file to write: .csv or .parquet (the replay format), or a new folder or an object "
            "store URL (s3://bucket/cohort): a Parquet dataset partitioned by subject, which Dask workers read in parallel."
        ),
    ],
    store: Annotated[
        str, typer.Option(help="Store URL, e.g. sqlite:///kraamwacht-data/kraamwacht.db.")
    ] = "sqlite:///kraamwacht-data/kraamwacht.db",
    start: Annotated[str | None, typer.Option("--from", help="From this time (ISO 8601, inclusive).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Up to this time (ISO 8601, exclusive).")] = None,
    episode: Annotated[str | None, typer.Option(help="Only this care episode.")] = None,
) -> None:
    """Write what was recorded live as a replay stream file (pseudonymous ids only)."""
    from kraamwacht.datasets import parse_location
    from kraamwacht.recordings import write_streams

    try:
        recordings = _store_recordings(store, start, end, episode)
    except KraamwachtError as exc:
        fail(exc)
    chunks = ((subject, signal, t, v) for subject, series in recordings.items() for signal, (t, v) in series.items())
    try:
        n = write_streams(parse_location(out), chunks)
    except KraamwachtError as exc:
        fail(exc)
    OUT.print(f"{n} samples of {len(recordings)} subjects → {out}")


def replay(
    out: Annotated[Path, typer.Option(help="Alerts file to write (JSON lines).")],
    streams: Annotated[
        str | None,
        typer.Argument(
            help="Stream file: CSV or Parquet with time,subject,signal,value; or a dataset (folder or s3://... URL)."
        ),
    ] = None,
    store: Annotated[str | None, typer.Option(help="Replay straight from a store instead of a file.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="With --store: from this time.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="With --store: up to this time.")] = None,
    subjects: Annotated[Path | None, typer.Option(help="CSV subject,delivered_at[,role,gestational_age_w].")] = None,
    config: Annotated[Path | None, typer.Option(help="Detector configuration (TOML); defaults otherwise.")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Count and skip malformed rows.")] = False,
    workers: DaskWorkers = None,
    scheduler: DaskScheduler = None,
) -> None:
    """Replay recorded streams through the live detectors and write every alert event.

    With --workers or --scheduler blocks of subjects run on Dask; the alerts are the same.
    """
    from kraamwacht.datasets import is_dataset, parse_location
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
        on_cluster = bool(workers or scheduler)
        dataset = None
        source = parse_location(streams) if streams is not None else None
        if source is not None and is_dataset(source) and on_cluster:
            from kraamwacht.distributed import DatasetBlocks

            dataset = DatasetBlocks(source, skip_bad=skip_bad)  # the workers read its partitions, not this process
        elif source is not None:
            data = read_streams(source, skip_bad=skip_bad, progress=progress("read"))
        else:
            recordings = _store_recordings(store, start, end, None)  # type: ignore[arg-type]
            rows = sum(t.size for series in recordings.values() for t, _ in series.values())
            data = StreamReadResult(recordings, rows)
        if on_cluster:
            from kraamwacht.distributed import open_client, replay_on_cluster

            with open_client(workers=workers, scheduler=scheduler) as client:
                result = replay_on_cluster(client, dataset or data.recordings, cfg, subjects=subject_rows,
                                           progress=progress("blocks"))  # fmt: skip
        else:
            result = run_replay(data.recordings, cfg, subjects=subject_rows, progress=progress("replay"))
        if dataset is not None:
            data = StreamReadResult({}, dataset.rows, dataset.skipped)
    except KraamwachtError as exc:
        fail(exc)
    n = write_alerts(out, result.events)
    write_coverage(coverage_path(out), result.coverage.values())
    raised = sum(1 for e in result.events if e.event == "raised")
    OUT.print(
        f"{data.rows} rows, {result.samples} samples, {len(result.coverage)} subjects → {n} alert events "
        f"({raised} raised) in {out}"
    )
    if data.skipped:
        details = ", ".join(f"{reason}: {count}" for reason, count in data.skipped.most_common())
        OUT.print(f"skipped {sum(data.skipped.values())} bad rows ({details})")


def _parse_rules(rules: str) -> frozenset[str] | None:
    from kraamwacht.alerts import RULES
    from kraamwacht.signal.evaluate import TEMPERATURE_RULES

    if rules == "temperature":
        return TEMPERATURE_RULES
    if rules == "all":
        return None
    if rules in ("clinical", "technical"):
        return frozenset(rule for rule, r in RULES.items() if r.category == rules)
    chosen = frozenset(r.strip() for r in rules.split(",") if r.strip())
    unknown = chosen - set(RULES)
    if unknown:
        raise typer.BadParameter(f"unknown rules {sorted(unknown)}; known: {sorted(RULES)}, or 'temperature', 'all'")
    return chosen


_RULES_HELP = (
    "Rules whose raises count as alarms: 'clinical' (every clinical rule: temperature and pulse share one alert), "
    "'temperature' (alerts raised by temp_rise, temp_rise_hr, fever or fever_thermometer; a temperature finding that "
    "joined an alert the pulse raised is not a raise), 'technical', 'all', or a comma list."
)


def evaluate(
    alerts: Annotated[Path, typer.Argument(help="Alerts file written by replay.")],
    labels: Annotated[
        Path | None,
        typer.Option(
            help="CSV subject,febrile,onset,reference; without it every subject is afebrile (false alarms only)."
        ),
    ] = None,
    coverage: Annotated[
        Path | None, typer.Option(help="Monitored spans; default: the file replay wrote next to the alerts.")
    ] = None,
    rules: Annotated[str, typer.Option(help=_RULES_HELP)] = "clinical",
    onset_tolerance_h: Annotated[float, typer.Option(help="Alarms this long before onset still count.")] = 6.0,
    post_reference_h: Annotated[float, typer.Option(help="Alarms this long after the reference still count.")] = 24.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Sensitivity, lead time, false alarms per subject-day, PPV and data availability.

    Without ``--labels`` the recordings are taken as afebrile (as WTM2020's are): every raise of the
    chosen rules is a false alarm, and clinical and technical raises are reported apart (both with
    ``--rules all``; a category no chosen rule belongs to is left out, not shown as 0).
    """
    from kraamwacht.recordings import coverage_path, read_alerts, read_coverage, read_labels
    from kraamwacht.signal.evaluate import evaluate as run_evaluate

    chosen = _parse_rules(rules)
    coverage_file = coverage or coverage_path(alerts)
    if not coverage_file.exists():
        fail(
            FileNotFoundError(
                f"{coverage_file}: not found. kraamwacht replay writes it next to the alerts; "
                "for alerts from elsewhere pass --coverage with subject,start,end,windows,windows_with_data"
            )
        )
    try:
        report = run_evaluate(
            read_alerts(alerts),
            read_labels(labels) if labels is not None else {},
            read_coverage(coverage_file),
            rules=chosen,
            onset_tolerance_h=onset_tolerance_h,
            post_reference_h=post_reference_h,
        )
    except KraamwachtError as exc:
        fail(exc)
    if labels is None:
        _unlabelled(read_alerts(alerts), read_coverage(coverage_file), chosen, as_json=as_json)
        return
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    table = Table(title="Alarm quality", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("subjects", str(report.subjects))
    table.add_row("febrile (with a reference)", f"{report.febrile} ({report.febrile_with_reference})")
    table.add_row("sensitivity (no later than reference)", pct(report.sensitivity))
    table.add_row(
        "lead time median [IQR], h", f"{fmt(report.lead_h_median)} [{fmt(report.lead_h_q1)}–{fmt(report.lead_h_q3)}]"
    )
    table.add_row("alarms (true / false)", f"{report.alarms} ({report.true_alarms} / {report.false_alarms})")
    table.add_row("false alarms per subject-day", fmt(report.false_alarms_per_subject_day, 3))
    table.add_row("PPV per alarm", pct(report.ppv))
    table.add_row("data availability", pct(report.data_availability))
    table.add_row("subject-days", fmt(report.subject_days, 1))
    OUT.print(table)
    if report.missed:
        OUT.print(f"missed: {', '.join(report.missed)}")


def _unlabelled(alarms: list, coverage: dict, chosen: frozenset[str] | None, *, as_json: bool) -> None:
    """False alarms per patient-day of afebrile recordings, clinical and technical apart."""
    from kraamwacht.alerts import RULES

    def category(rule: str) -> str:
        return RULES[rule].category if rule in RULES else "clinical"

    days = sum((c.end_s - c.start_s) / 86_400.0 for c in coverage.values())
    counted = [a for a in alarms if a.subject in coverage and (chosen is None or a.rule in chosen)]
    # only the categories the chosen rules belong to: a category left out is not a count of 0
    shown = ("clinical", "technical") if chosen is None else tuple(sorted({category(r) for r in chosen}))
    by_category = dict.fromkeys(shown, 0)
    for alarm in counted:
        by_category[category(alarm.rule)] += 1
    report = {
        "subjects": len(coverage),
        "patient_days": round(days, 2),
        **{f"{k}_raises": v for k, v in by_category.items()},
        **{f"{k}_raises_per_patient_day": round(v / days, 4) if days else None for k, v in by_category.items()},
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    table = Table(title="False alarms on afebrile recordings (every raise is false)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key.replace("_", " "), str(value))
    OUT.print(table)


def sweep(
    streams: Annotated[
        str, typer.Argument(help="Stream file (CSV or Parquet), or a dataset (folder or s3://... URL).")
    ],
    labels: Annotated[Path, typer.Option(help="CSV subject,febrile,onset,reference.")],
    grid: Annotated[list[str], typer.Option(help="A parameter and its values, e.g. rise.k_c=0.3,0.4,0.5 (repeat).")],
    out_dir: Annotated[Path, typer.Option(help="Folder for sweep.csv and sweep.png.")],
    config: Annotated[Path | None, typer.Option(help="Base configuration (TOML).")] = None,
    rules: Annotated[str, typer.Option(help=_RULES_HELP)] = "clinical",
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Count and skip malformed rows.")] = False,
    workers: DaskWorkers = None,
    scheduler: DaskScheduler = None,
) -> None:
    """Evaluate a grid of thresholds in one pass over the data; write a table and a trade-off plot.

    With --workers or --scheduler the settings × blocks of subjects run on Dask; the table is the same.
    """
    from kraamwacht.datasets import is_dataset, parse_location
    from kraamwacht.plots import plot_sweep
    from kraamwacht.recordings import read_labels, read_streams
    from kraamwacht.replay import parse_grid, write_sweep_table
    from kraamwacht.replay import sweep as run_sweep
    from kraamwacht.settings import load_detector_config

    chosen = _parse_rules(rules)
    location = parse_location(streams)
    try:
        base = load_detector_config(config)
        parsed = parse_grid(grid, base)
        label_rows = read_labels(labels)
        if workers or scheduler:
            from kraamwacht.distributed import DatasetBlocks, open_client, sweep_on_cluster

            # a partitioned dataset is read by the workers, block by block; a file once, here
            source = DatasetBlocks(location, skip_bad=skip_bad) if is_dataset(location) else read_streams(
                location, skip_bad=skip_bad).recordings  # fmt: skip
            with open_client(workers=workers, scheduler=scheduler) as client:
                rows = sweep_on_cluster(client, source, label_rows, base, parsed, rules=chosen,
                                        progress=progress("pieces"))  # fmt: skip
        else:
            data = read_streams(location, skip_bad=skip_bad)
            rows = run_sweep(data.recordings, label_rows, base, parsed, rules=chosen, progress=progress("sweep"))
    except KraamwachtError as exc:
        fail(exc)
    out_dir.mkdir(parents=True, exist_ok=True)
    table_path = out_dir / "sweep.csv"
    write_sweep_table(table_path, list(parsed), rows)
    plot_sweep(rows, out_dir / "sweep.png")
    table = Table(title="Sweep")
    for name in (*parsed, "sens.", "lead h", "FA/day", "PPV"):
        table.add_column(name, justify="right")
    for row in rows:
        r = row.report
        table.add_row(
            *(str(v) for v in row.overrides.values()),
            pct(r.sensitivity),
            fmt(r.lead_h_median),
            fmt(r.false_alarms_per_subject_day, 3),
            pct(r.ppv),
        )
    OUT.print(table)
    OUT.print(f"wrote {table_path} and {out_dir / 'sweep.png'}")


def plot(
    streams: Annotated[Path, typer.Argument(help="Stream file: CSV or Parquet with time,subject,signal,value.")],
    subject: Annotated[str, typer.Option(help="The subject (mother) to draw.")],
    out: Annotated[Path, typer.Option(help="PNG file to write.")],
    alerts: Annotated[
        Path | None,
        typer.Option(help="Alerts file (JSON lines, e.g. from replay or serve) to draw instead of a replay's."),
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="CSV subject,febrile,onset,reference: draw onset and reference.")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Detector configuration (TOML); defaults otherwise.")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Count and skip malformed rows.")] = False,
) -> None:
    """Draw one subject's recording replayed: temperature, heart rate, her baselines, alerts and labels."""
    from kraamwacht.plots import AlertMark, plot_recording
    from kraamwacht.recordings import read_alerts, read_labels, read_streams
    from kraamwacht.settings import load_detector_config

    try:
        cfg = load_detector_config(config)
        data = read_streams(streams, skip_bad=skip_bad)
        series = data.recordings.get(subject)
        if series is None:
            known = ", ".join(sorted(data.recordings)[:10])
            raise typer.BadParameter(f"no subject {subject!r} in {streams} (first subjects: {known})")
        marks = None
        if alerts is not None:
            marks = [AlertMark(a.time_s, "raised", a.rule) for a in read_alerts(alerts) if a.subject == subject]
        label = read_labels(labels).get(subject) if labels is not None else None
        drawn = plot_recording(series, out, subject=subject, cfg=cfg, alerts=marks, label=label)
    except KraamwachtError as exc:
        fail(exc)
    raised = sum(1 for m in drawn if m.event == "raised")
    OUT.print(f"{subject}: {raised} alerts raised{' (from ' + str(alerts) + ')' if alerts else ''} → {out}")


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

    from kraamwacht.contract import Signal, format_timestamp, out_of_range
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
                ok = ~out_of_range(Signal(signal), values)
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
    OUT.print(
        f"{len(cohort)} mothers ({febrile} febrile), {n} samples → {streams_path}, subjects.csv, labels.csv, "
        f"spot_checks.csv ({dropped} samples outside the contract's ranges not written, as the service would refuse them)"
    )


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["subject"])
        writer.writeheader()
        writer.writerows(rows)
