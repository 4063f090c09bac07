"""Figures for researchers (matplotlib, written to PNG files)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only, never a window
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from kraamwacht.alerts import detect_alerts, display_name
from kraamwacht.contract import BilirubinMethod
from kraamwacht.jaundice import MG_DL_TO_UMOL_L, Baby, Reading, Standard, thresholds
from kraamwacht.jaundice._tables import bhutani
from kraamwacht.replay import SweepRow
from kraamwacht.signal import DetectorConfig
from kraamwacht.signal.evaluate import Label

__all__ = ["AlertMark", "draw_nomogram", "plot_nomogram", "plot_recording", "plot_sweep"]

FloatArray = np.ndarray
_LEVEL_COLOURS = {"urgent": "#c62828", "warning": "#ef6c00", "info": "#546e7a"}


@dataclass(frozen=True, slots=True)
class AlertMark:
    """One alert event to draw: when, what happened (raised / escalated / resolved), the rule and its level."""

    time_s: float
    event: str
    rule: str
    level: str = "warning"


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
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    draw_nomogram(ax, baby, readings, standard=standard, hours=hours)
    fig.text(
        0.01, 0.01, "kraamwacht: beslisondersteuning, geen gecertificeerd medisch hulpmiddel", fontsize=7, color="grey"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw_nomogram(
    ax: Axes,
    baby: Baby,
    readings: Sequence[Reading],
    *,
    standard: Standard = Standard.AAP2022,
    hours: float | None = None,
    legend_size: float = 7,
) -> None:
    """The nomogram on ``ax``: for the page of its own and for the handover summary."""
    last = max((baby.age_h(r.measured_at) for r in readings), default=0.0)
    span = hours or max(120.0, math.ceil((last + 24.0) / 24.0) * 24.0)
    ages = np.arange(0.0, span + 0.5, 0.5)
    risk = bool(baby.risk_factors)
    lines = [thresholds(a, ga_weeks=baby.ga_weeks, risk_factors=risk, standard=standard) for a in ages]
    photo = np.array([t.phototherapy_umol_l for t in lines])
    exchange = np.array([t.exchange_umol_l for t in lines])
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
    ax.legend(fontsize=legend_size, loc="lower right", framealpha=0.9)


def plot_recording(
    series: Mapping[str, tuple[FloatArray, FloatArray]],
    out: Path | BinaryIO,
    *,
    subject: str,
    cfg: DetectorConfig | None = None,
    alerts: Sequence[AlertMark] | None = None,
    label: Label | None = None,
) -> list[AlertMark]:
    """One subject's recording replayed: skin, estimated core, her baseline, thermometer readings and
    the fever line; heart rate with her own rate at that hour and the NICE bands; the alerts (the
    replay's own, or ``alerts`` from a file) and, when labelled, the onset and the reference spot check.

    Returns the alert marks drawn. The replay is the same code as ``kraamwacht replay``, so the
    baseline drawn is the one the rules used.
    """
    cfg = cfg or DetectorConfig()
    detection = detect_alerts(series, cfg, subject=subject)
    if alerts is None:
        alerts = [AlertMark(e.time.timestamp(), str(e.event), e.rule, str(e.level)) for e in detection.events]
    frame = detection.frame
    zone = ZoneInfo(cfg.temperature.timezone)
    when = [datetime.fromtimestamp(float(t), tz=UTC) for t in frame.time_s]
    fig, (ax_t, ax_h) = plt.subplots(2, 1, figsize=(12, 7.5), dpi=100, sharex=True, height_ratios=(3, 2))

    def _raw(signal: str) -> tuple[list[datetime], FloatArray]:  # the samples as recorded, not epoch means
        t, v = series.get(signal, (np.zeros(0), np.zeros(0)))
        return [datetime.fromtimestamp(float(x), tz=UTC) for x in t], np.asarray(v, dtype=float)

    skin_t, skin_v = _raw("temperature_c")
    ax_t.plot(skin_t, skin_v, color="#90a4ae", linewidth=0.6, label="huid (gemeten)")
    ax_t.plot(when, frame.core_c, color="#e65100", linewidth=1.2, label="geschatte kern (huid + offset)")
    ax_t.plot(when, frame.baseline_c + frame.offset_c, color="#1565c0", linestyle="--", linewidth=1,
              label="haar basislijn (kernschaal)")  # fmt: skip
    readings = ~np.isnan(frame.thermometer_c)
    if readings.any():
        ax_t.scatter([w for w, r in zip(when, readings, strict=True) if r], frame.thermometer_c[readings],
                     color="black", s=25, zorder=5, label="thermometer (kernschaal)")  # fmt: skip
    fever_c = cfg.fever.core_c
    ax_t.axhline(fever_c, color="#c62828", linewidth=0.8, linestyle=":", label=f"koorts {fever_c:.1f} °C")
    shown = np.concatenate([skin_v, frame.core_c, frame.thermometer_c, [fever_c]])
    shown = shown[np.isfinite(shown) & (shown > cfg.temperature.plausible_min_c)]
    low, high = (np.percentile(shown, 0.5), np.percentile(shown, 99.5)) if shown.size else (34.0, 41.0)
    ax_t.set_ylim(min(low, fever_c) - 0.3, max(high, fever_c) + 0.3)
    ax_t.set_ylabel("temperatuur (°C)")

    ax_h.plot(*_raw("heart_rate_bpm"), color="#b0bec5", linewidth=0.6, label="hartslag (gemeten)")
    ax_h.plot(when, frame.hr_smooth_bpm, color="#6a1b9a", linewidth=1.1, label="hartslag (mediaan)")
    ax_h.plot(when, frame.hr_baseline_bpm, color="#1565c0", linestyle="--", linewidth=1,
              label="haar eigen hartslag op dit uur")  # fmt: skip
    for bpm in (cfg.heart_rate.tachycardia_bpm, cfg.heart_rate.severe_bpm):
        ax_h.axhline(bpm, color="#c62828", linewidth=0.8, linestyle=":")
    ax_h.set_ylabel("hartslag (/min)")

    for mark in alerts:
        colour = _LEVEL_COLOURS.get(mark.level, "#546e7a")
        moment = datetime.fromtimestamp(mark.time_s, tz=UTC)
        style = "-" if mark.event == "raised" else ":"
        for ax in (ax_t, ax_h):
            ax.axvline(moment, color=colour, linestyle=style, linewidth=1)
        if mark.event in ("raised", "escalated", "joined"):
            ax_t.annotate(display_name(mark.rule), (mdates.date2num(moment), 1.0), xycoords=("data", "axes fraction"),
                          rotation=90, va="top", ha="right", fontsize=7, color=colour)  # fmt: skip
    if label is not None:
        for t_s, text in ((label.onset_s, "begin koorts (label)"), (label.reference_s, "controle vindt koorts")):
            if t_s is not None:
                moment = datetime.fromtimestamp(t_s, tz=UTC)
                for ax in (ax_t, ax_h):
                    ax.axvline(moment, color="black", linestyle="--", linewidth=1.2)
                ax_t.annotate(text, (mdates.date2num(moment), 0.02), xycoords=("data", "axes fraction"),
                              rotation=90, va="bottom", ha="left", fontsize=7)  # fmt: skip

    ax_h.xaxis.set_major_formatter(mdates.DateFormatter("%d-%m %H:%M", tz=zone))  # 24-hour, local time
    for ax in (ax_t, ax_h):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
    febrile = "" if label is None else (" — koorts (label)" if label.febrile else " — geen koorts (label)")
    raised = sum(1 for m in alerts if m.event == "raised")
    ax_t.set_title(f"{subject}: opname met {raised} meldingen{febrile}")
    fig.text(0.01, 0.005, "kraamwacht: beslisondersteuning, geen gecertificeerd medisch hulpmiddel. "
             "Lijnen: doorgetrokken = gemeld, gestippeld = opgelost/verhoogd.", fontsize=7, color="grey")  # fmt: skip
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)
    return list(alerts)
