"""``kraamwacht plot``: one subject's recording, its alerts and its labels as a PNG."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from typer.testing import CliRunner

from kraamwacht.cli import app

DATA = Path(__file__).parent.parent / "data" / "cohort"
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_plot_draws_the_replays_alerts_and_the_labels(tmp_path: Path) -> None:
    out = tmp_path / "m0001.png"
    result = invoke(
        "plot", DATA / "streams.csv.gz", "--subject", "m0001", "--labels", DATA / "labels.csv", "--out", out
    )
    assert result.exit_code == 0, result.output
    expected = [
        e
        for e in map(json.loads, (DATA / "expected_alerts.jsonl").read_text().splitlines())
        if e["subject"] == "m0001" and e["event"] == "raised"
    ]
    assert f"m0001: {len(expected)} alerts raised" in result.output  # the replay's own alerts, as replay writes them
    width, height = _png_size(out)
    assert width >= 1000
    assert height >= 700


def test_plot_draws_the_alerts_of_a_file_instead(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    first = json.loads((DATA / "expected_alerts.jsonl").read_text().splitlines()[0])
    alerts.write_text(json.dumps(first) + "\n")
    out = tmp_path / "one.png"
    result = invoke("plot", DATA / "streams.csv.gz", "--subject", first["subject"], "--alerts", alerts, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"{first['subject']}: 1 alerts raised (from {alerts})" in result.output
    assert out.exists()


def test_plot_names_an_unknown_subject(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["plot", str(DATA / "streams.csv.gz"), "--subject", "nobody", "--out", str(tmp_path / "x.png")]
    )
    assert result.exit_code != 0
    assert "no subject 'nobody'" in result.output
    assert "m0001" in result.output  # it says which subjects there are
    assert not (tmp_path / "x.png").exists()
