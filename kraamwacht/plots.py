"""Figures for researchers (matplotlib, written to PNG files)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt

from kraamwacht.contract import BilirubinMethod
from kraamwacht.jaundice import MG_DL_TO_UMOL_L, Baby, Reading, Standard, thresholds
from kraamwacht.jaundice._tables import bhutani
from kraamwacht.replay import SweepRow

__all__ = ["plot_nomogram", "plot_sweep"]


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


def plot_nomogram(
    baby: Baby,
    readings: Sequence[Reading],
    path: Path,
    *,
    standard: Standard = Standard.AAP2022,
    hours: float | None = None,
) -> None:
    """This baby's threshold lines, the TcB + 50 margin, the Bhutani zones and her readings (µmol/L)."""
    last = max((baby.age_h(r.measured_at) for r in readings), default=0.0)
    span = hours or max(120.0, math.ceil((last + 24.0) / 24.0) * 24.0)
    ages = np.arange(0.0, span + 0.5, 0.5)
    risk = bool(baby.risk_factors)
    lines = [thresholds(a, ga_weeks=baby.ga_weeks, risk_factors=risk, standard=standard) for a in ages]
    photo = np.array([t.phototherapy_umol_l for t in lines])
    exchange = np.array([t.exchange_umol_l for t in lines])
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    if baby.ga_weeks >= 35:
        table = bhutani()
        zone_ages = table.age_h
        p = {c: table.columns[c] * MG_DL_TO_UMOL_L for c in ("p40_mg_dl", "p75_mg_dl", "p95_mg_dl")}
        ax.fill_between(zone_ages, 0, p["p40_mg_dl"], color="#e8f5e9", label="Bhutani: laag (< P40)")
        ax.fill_between(zone_ages, p["p40_mg_dl"], p["p75_mg_dl"], color="#fffde7", label="Bhutani: laag-intermediair")
        ax.fill_between(zone_ages, p["p75_mg_dl"], p["p95_mg_dl"], color="#fff3e0", label="Bhutani: hoog-intermediair")
        ax.fill_between(zone_ages, p["p95_mg_dl"], 2000, color="#ffebee", label="Bhutani: hoog (≥ P95)")
    ax.plot(ages, photo, color="#1565c0", linewidth=2, label=f"fototherapiegrens ({standard.value})")
    ax.plot(
        ages,
        photo - 50.0,
        color="#1565c0",
        linestyle="--",
        linewidth=1,
        label="TcB-marge: TcB boven deze lijn → serum (NVK, +50)",
    )
    ax.plot(ages, exchange, color="#b71c1c", linewidth=2, label="wisseltransfusiegrens")
    if lines[0].escalation_umol_l is not None:
        escalation = np.array([t.escalation_umol_l for t in lines])
        ax.plot(ages, escalation, color="#b71c1c", linestyle=":", linewidth=1.5, label="escalatie van zorg (− 2 mg/dL)")
    for method, marker, name in ((BilirubinMethod.TCB, "^", "TcB"), (BilirubinMethod.TSB, "o", "serum (TSB)")):
        pts = [(baby.age_h(r.measured_at), r.value_umol_l) for r in readings if r.method is method]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.scatter(xs, ys, marker=marker, s=70, color="black", zorder=5, label=f"meting {name}")
    ax.set_xlim(0, span)
    ax.set_ylim(0, max([float(exchange.max()) + 40, *(r.value_umol_l + 40 for r in readings)]))  # no readings yet too
    ax.set_xlabel("leeftijd (uur)")
    ax.set_ylabel("bilirubine (µmol/L)")
    risk_text = "met risicofactoren" if risk else "zonder risicofactoren"
    ax.set_title(f"Bilirubine-nomogram: {baby.ga_weeks:g} weken, {risk_text} — {standard.citation}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    fig.text(
        0.01, 0.01, "kraamwacht: beslisondersteuning, geen gecertificeerd medisch hulpmiddel", fontsize=7, color="grey"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
