"""Figures for researchers (matplotlib, written to PNG files)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from kraamwacht.replay import SweepRow

__all__ = ["plot_sweep"]


def plot_sweep(rows: Sequence[SweepRow], path: Path) -> None:
    """Median lead time against false alarms per subject-day, one point per setting."""
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    xs = [r.report.false_alarms_per_subject_day for r in rows]
    ys = [r.report.lead_h_median for r in rows]
    sens = [r.report.sensitivity for r in rows]
    points = ax.scatter(xs, ys, c=[0.0 if math.isnan(s) else s for s in sens], cmap="viridis", vmin=0.8, vmax=1.0, s=60)
    for x, y, row in zip(xs, ys, rows, strict=True):
        label = ", ".join(f"{k.split('.')[-1]}={v:g}" for k, v in row.overrides.items())
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.margins(x=0.25, y=0.12)
    ax.axvline(0.05, color="grey", linestyle="--", linewidth=0.8)
    ax.axhline(7.0, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("false alarms per subject-day")
    ax.set_ylabel("median lead time before the spot check (h)")
    ax.set_title("Threshold sweep: earlier warning against false alarms (dashed: targets)")
    fig.colorbar(points, ax=ax, label="sensitivity")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
