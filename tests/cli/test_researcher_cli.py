"""The researcher's commands end to end: simulate → replay → evaluate → sweep, and bad input."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kraamwacht.cli import app

DATA = Path(__file__).parent.parent / "data" / "cohort"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def alerts(tmp_path: Path) -> Path:
    out = tmp_path / "alerts.jsonl"
    result = invoke("replay", DATA / "streams.csv.gz", "--subjects", DATA / "subjects.csv", "--out", out)
    assert result.exit_code == 0, result.output
    return out


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_replay_reproduces_the_recorded_alerts(alerts: Path) -> None:
    assert _events(alerts) == _events(DATA / "expected_alerts.jsonl")


def test_replay_alerts_are_clinically_sensible(alerts: Path) -> None:
    labels = {row["subject"]: row for row in csv.DictReader((DATA / "labels.csv").open())}
    events = _events(alerts)
    for event in events:
        assert {"time", "subject", "event", "level", "rule", "message"} <= set(event)
        assert event["message"], "every alert says what happened"
        assert event["values"], "every alert names its numbers"
    for subject, label in labels.items():
        if label["febrile"] == "1":
            first = min(
                e["time"]
                for e in events
                if e["subject"] == subject and e["rule"] in {"temp_rise", "temp_rise_hr", "fever"}
            )
            assert first <= label["reference"], f"{subject} warned only after the spot check"


def test_evaluate_reports_the_metrics(alerts: Path) -> None:
    result = invoke("evaluate", alerts, "--labels", DATA / "labels.csv", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["febrile_with_reference"] == 3
    assert report["sensitivity"] == 1.0
    assert report["lead_h_median"] > 4.0
    assert 0.9 < report["data_availability"] <= 1.0
    table = invoke("evaluate", alerts, "--labels", DATA / "labels.csv")
    assert "false alarms per subject-day" in table.output


def test_evaluate_without_labels_counts_clinical_and_technical_raises_apart(alerts: Path) -> None:
    """Unlabelled recordings (as WTM2020's): every raise is false; a category not chosen is left out, not 0."""
    raised = Counter(e["category"] for e in _events(alerts) if e["event"] == "raised")
    assert raised["clinical"] > 0
    assert raised["technical"] > 0
    both = json.loads(invoke("evaluate", alerts, "--rules", "all", "--json").output)
    assert (both["clinical_raises"], both["technical_raises"]) == (raised["clinical"], raised["technical"])
    assert both["technical_raises_per_patient_day"] == pytest.approx(
        raised["technical"] / both["patient_days"], abs=1e-3
    )
    clinical = json.loads(invoke("evaluate", alerts, "--json").output)  # the default: clinical rules
    assert clinical["clinical_raises"] == raised["clinical"]
    assert "technical_raises" not in clinical
    table = invoke("evaluate", alerts, "--rules", "technical").output
    assert "technical raises" in table
    assert "clinical raises" not in table


def test_sweep_writes_table_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = invoke(
        "sweep", DATA / "streams.csv.gz", "--labels", DATA / "labels.csv",
        "--grid", "rise.k_c=0.3,0.5", "--grid", "rise.h_c_epochs=10", "--out-dir", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [r["rise.k_c"] for r in rows] == ["0.3", "0.5"]
    assert float(rows[0]["false_alarms_per_subject_day"]) >= float(rows[1]["false_alarms_per_subject_day"])
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_sweep_rejects_an_unknown_parameter(tmp_path: Path) -> None:
    result = invoke(
        "sweep", DATA / "streams.csv.gz", "--labels", DATA / "labels.csv", "--grid", "rise.kc=1", "--out-dir", tmp_path
    )
    assert result.exit_code == 2
    assert "unknown parameter 'rise.kc'" in result.output


def _bad_copy(tmp_path: Path, rows: list[str]) -> Path:
    text = gzip.decompress((DATA / "streams.csv.gz").read_bytes()).decode().splitlines()
    path = tmp_path / "streams.csv"
    path.write_text("\n".join([*text[:5], *rows, *text[5:2000]]) + "\n")
    return path


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("2026-07-04T08:00:00,m0002,temperature_c,36.5", "Z or an offset"),
        ("2026-07-04T08:00:00Z,m0002,temperature_c,warm", "not a finite number"),
        ("2026-07-04T08:00:00Z,m0002,temperature_c,nan", "not a finite number"),
        ("2026-07-04T08:00:00Z,m0002,glucose,5", "unknown signal"),
        ("2026-07-04T08:00:00Z,m0002,heart_rate_bpm,400", "outside the plausible range 25–250"),
        ("2026-07-04T08:00:00Z,m0002,temperature_c,36.5,extra", "wrong number of fields"),
    ],
)
def test_a_bad_row_is_named_by_line_and_can_be_skipped(tmp_path: Path, row: str, words: str) -> None:
    streams = _bad_copy(tmp_path, [row])
    failed = invoke("replay", streams, "--out", tmp_path / "a.jsonl")
    assert failed.exit_code == 2
    assert "line 6" in failed.output
    assert words in failed.output
    skipped = invoke("replay", streams, "--out", tmp_path / "a.jsonl", "--skip-bad")
    assert skipped.exit_code == 0, skipped.output
    assert "skipped 1 bad rows" in skipped.output


def test_missing_file_and_bad_config_are_clear_errors(tmp_path: Path) -> None:
    missing = invoke("replay", tmp_path / "nope.csv", "--out", tmp_path / "a.jsonl")
    assert missing.exit_code == 2
    assert "file not found" in missing.output
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[rise]\nk_c = -1\n")
    shutil.copy(DATA / "labels.csv", tmp_path)
    bad = invoke("replay", DATA / "streams.csv.gz", "--out", tmp_path / "a.jsonl", "--config", cfg)
    assert bad.exit_code == 2
    assert "rise.k_c must be >= 0" in bad.output


def test_simulate_cohort_writes_a_labelled_cohort(tmp_path: Path) -> None:
    result = invoke(
        "simulate-cohort", tmp_path, "--subjects", "3", "--days", "1", "--interval-s", "300", "--format", "parquet"
    )
    assert result.exit_code == 0, result.output
    labels = list(csv.DictReader((tmp_path / "labels.csv").open()))
    assert len(labels) == 3
    replayed = invoke("replay", tmp_path / "streams.parquet", "--out", tmp_path / "a.jsonl")
    assert replayed.exit_code == 0, replayed.output
    assert "3 subjects" in replayed.output


def test_config_defaults_round_trip(tmp_path: Path) -> None:
    text = invoke("config", "defaults").output
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    checked = invoke("config", "check", path)
    assert checked.exit_code == 0
    assert json.loads(checked.output)["rise"]["k_c"] == 0.4


def test_reading_in_small_chunks_gives_the_same_recordings_and_line_numbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from kraamwacht.errors import InputFileError
    from kraamwacht.recordings import read_streams

    whole = read_streams(DATA / "streams.csv.gz")
    chunked = read_streams(DATA / "streams.csv.gz", chunk_rows=997)
    assert whole.recordings.keys() == chunked.recordings.keys()
    for subject, signals in whole.recordings.items():
        for signal, (t, v) in signals.items():
            ct, cv = chunked.recordings[subject][signal]
            assert (t == ct).all()
            assert (v == cv).all()
    # a malformed line early, then a bad value in a later chunk: its line number stays exact
    lines = gzip.decompress((DATA / "streams.csv.gz").read_bytes()).decode().splitlines()[:3000]
    lines.insert(10, "2026-07-04T08:00:00Z,m0002,temperature_c,36.5,extra")
    lines[2500] = "2026-07-04T08:00:00Z,m0002,temperature_c,hot"
    path = tmp_path / "s.csv"
    path.write_text("\n".join(lines) + "\n")
    with caplog.at_level("WARNING", logger="kraamwacht.recordings"):
        result = read_streams(path, skip_bad=True, chunk_rows=500)
    assert "line 2501 skipped: value 'hot'" in caplog.text  # after the skipped line 11, in the 6th chunk
    assert "line 11 skipped: wrong number of fields" in caplog.text
    assert result.skipped == {"wrong number of fields": 1, "value 'hot' is not a finite number": 1}
    assert result.rows == 3000  # 2,999 data rows and the inserted malformed line
    del lines[10]  # without the malformed line, the strict reader stops at the bad value
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError, match="line 2500"):
        read_streams(path, chunk_rows=500)


def _stored_fever(tmp_path: Path):
    from datetime import UTC, datetime

    from kraamwacht.contract import SIGNAL_UNITS, Observation, Signal
    from kraamwacht.firmware_sim.physiology import MotherScenario
    from kraamwacht.storage.sqlite import SqliteStore

    scenario = MotherScenario.draw("m9", "fast", seed=4, delivered_at_s=1_782_864_000.0, days=2.0)
    samples = scenario.wearable_samples(scenario.start_s, scenario.end_s, interval_s=60.0)
    store = SqliteStore(tmp_path / "live.db")
    observations = [
        Observation(episode="ep9", subject="m9", device="wb9", signal=Signal(signal), value=float(v), unit=SIGNAL_UNITS[Signal(signal)],
                    device_time=datetime.fromtimestamp(t, tz=UTC), receive_time=datetime.fromtimestamp(t + 1, tz=UTC), seq=k * 10**7 + i)
        for k, (signal, (ts, vs)) in enumerate(samples.items()) for i, (t, v) in enumerate(zip(ts.tolist(), vs.tolist(), strict=True))
    ]  # fmt: skip
    store.write(observations)
    store.close()
    return samples


def test_export_then_replay_reproduces_the_detectors_on_the_recorded_data(tmp_path: Path) -> None:
    import numpy as np

    from kraamwacht.alerts import detect_alerts

    samples = _stored_fever(tmp_path)
    want = [
        e.to_json_dict()
        for e in detect_alerts(
            {s: (np.asarray(t), np.asarray(v)) for s, (t, v) in samples.items()}, subject="m9"
        ).events
    ]
    assert want
    url = f"sqlite:///{tmp_path}/live.db"
    exported = invoke("export", "--store", url, "--episode", "ep9", "--out", tmp_path / "export.csv")
    assert exported.exit_code == 0, exported.output
    assert "1 subjects" in exported.output
    from_file = invoke("replay", tmp_path / "export.csv", "--out", tmp_path / "a.jsonl")
    from_store = invoke("replay", "--store", url, "--out", tmp_path / "b.jsonl")
    assert from_file.exit_code == from_store.exit_code == 0
    assert _events(tmp_path / "a.jsonl") == want
    assert _events(tmp_path / "b.jsonl") == want
    header = (tmp_path / "export.csv").read_text().splitlines()[0]
    assert header == "time,subject,signal,value"
    parted = invoke("export", "--store", url, "--episode", "ep9", "--out", tmp_path / "dataset")  # a folder
    assert parted.exit_code == 0, parted.output
    assert [p.name for p in (tmp_path / "dataset").iterdir()] == ["subject=m9"]  # partitioned by subject
    from_dataset = invoke("replay", tmp_path / "dataset", "--out", tmp_path / "c.jsonl")
    assert from_dataset.exit_code == 0, from_dataset.output
    assert _events(tmp_path / "c.jsonl") == want
    again = invoke("export", "--store", url, "--out", tmp_path / "dataset")
    assert again.exit_code == 2  # never written over an existing dataset: said, not a traceback
    assert "not empty" in again.output


def test_replay_needs_exactly_one_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", "--out", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 2
    assert "stream file or --store" in result.output


def test_evaluate_without_coverage_says_where_it_comes_from(tmp_path: Path, alerts: Path) -> None:
    moved = tmp_path / "elsewhere.jsonl"
    moved.write_text(alerts.read_text())
    result = invoke("evaluate", moved, "--labels", DATA / "labels.csv")
    assert result.exit_code == 2
    assert "kraamwacht replay writes it next to the alerts" in result.output
