"""The benchmarks still run against the code they measure: a refactor that breaks one fails here,
not months later when someone refreshes docs/benchmarks.md (tiny sizes; the figures are not checked)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import bench_signal


def test_bench_signal_writes_its_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Another section\n\nkept\n")
    argv = ["bench_signal.py", "--subject-days", "1", "--stream-subjects", "3", "--stream-seconds", "3"]
    monkeypatch.setattr(sys, "argv", [*argv, "--out", str(out)])
    bench_signal.main()
    text = out.read_text()
    assert "## Another section\n\nkept" in text
    section = text[text.index("## Signal core") :]
    assert "M samples/s" in section
    assert "KiB after the warm-up" in section
    assert "| subjects fed in 1-second batches | 3 × 3 s" in section
