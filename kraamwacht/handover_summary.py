"""The handover as one page for a person (PDF, Dutch): the mother's temperature and heart-rate days
with her baseline, the newborn's bilirubin nomogram with the readings, and the alert history.

The same record as the FHIR bundle (:class:`kraamwacht.handover.EpisodeRecord`): nothing that is not
in the store and the event log. Her baselines are given, never computed here: the board passes
serve's published baseline (:func:`baselines_from_serve`); the command line replays her stored
samples, which gives the same (live == replay).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np

from kraamwacht.alerts import display_name, state_name
from kraamwacht.contract import AlertEvent, BaselineMessage, BilirubinMethod
from kraamwacht.handover import EpisodeRecord, alert_histories
from kraamwacht.jaundice import Reading
from kraamwacht.plots import draw_nomogram
from kraamwacht.signal import DetectorConfig

__all__ = ["Baselines", "baselines_from_serve", "write_summary_pdf"]


@dataclass(frozen=True, slots=True)
class Baselines:
    """Her baselines as serve runs them: on the core scale for temperature, her own rate at that hour."""

    t_s: np.ndarray
    temp_core_c: np.ndarray  # NaN where not yet established
    hr_bpm: np.ndarray
    offset_c: float  # the skin → core offset the sensor's readings are shown with


def baselines_from_serve(message: BaselineMessage) -> Baselines:
    """What serve published for her (the board's source: it never recomputes)."""
    skin = np.array([np.nan if v is None else v for v in message.baseline_skin_c], dtype=float)
    hr = np.array([np.nan if v is None else v for v in message.hr_baseline_bpm], dtype=float)
    return Baselines(np.array(message.t_s, dtype=float), skin + message.skin_to_core_offset_c, hr,
                     message.skin_to_core_offset_c)  # fmt: skip


def _hourly_medians(series: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    t, v = series
    if t.size == 0:
        return t, v
    hours = np.floor(t / 3600.0)
    keys, inverse = np.unique(hours, return_inverse=True)
    medians = np.array([np.median(v[inverse == k]) for k in range(keys.size)])
    return keys * 3600.0 + 1800.0, medians


_ZONE = ZoneInfo("Europe/Amsterdam")
_MAX_ALERTS = 12  # one page: the newest alerts, and how many earlier ones there were


def _local(t: datetime | float) -> str:
    moment = datetime.fromtimestamp(t, tz=UTC) if isinstance(t, float | int) else t
    return moment.astimezone(_ZONE).strftime("%d-%m %H:%M")


def _alert_rows(events: list[AlertEvent], *, include_staff: bool) -> list[list[str]]:
    """One row per alert: raised, rule, highest level, resolved, acknowledged (by whom, if allowed), message."""
    rows = []
    for history in alert_histories(events):
        peak, acks = history.peak, history.acknowledgements
        ack = "–"
        if acks:
            actor = acks[0].values.get("actor")
            ack = _local(acks[0].time) + (f" ({actor})" if include_staff and actor else "")
        rows.append([
            _local(history.raised.time),
            display_name(peak.rule),
            state_name(peak.level.value),
            _local(history.resolved.time) if history.resolved else "open",
            ack,
            textwrap.shorten(peak.message, 150, placeholder=" …"),
        ])  # fmt: skip
    return rows


def write_summary_pdf(
    record: EpisodeRecord,
    out: Path | BinaryIO,
    *,
    generated_at: datetime,
    baselines: Baselines | None = None,
    include_staff: bool = False,
    cfg: DetectorConfig | None = None,
) -> None:
    """Write the one-page summary of ``record`` (A4, Dutch) to ``out``.

    The sensor's temperature is shown as hourly medians on the core scale (skin + her offset), beside
    her baseline and the thermometer readings; without ``baselines`` no baseline is drawn.
    """
    cfg = cfg or DetectorConfig()
    item = record.episode
    offset = baselines.offset_c if baselines is not None else cfg.temperature.axillary_to_core_offset_c
    plausible = (record.skin_c[1] >= cfg.temperature.plausible_min_c) & (
        record.skin_c[1] <= cfg.temperature.plausible_max_c
    )
    skin_t, skin_v = _hourly_medians((record.skin_c[0][plausible], record.skin_c[1][plausible]))
    hr_t, hr_v = _hourly_medians(record.hr_bpm)

    def when(t: np.ndarray) -> list[datetime]:
        return [datetime.fromtimestamp(float(x), tz=UTC) for x in t]

    with matplotlib.rc_context({"pdf.fonttype": 42}):  # TrueType: the text can be found and copied
        fig = plt.figure(figsize=(8.27, 11.69))  # A4
        grid = fig.add_gridspec(4, 1, height_ratios=(2.2, 1.5, 2.3, 2.4), hspace=0.45, top=0.9, bottom=0.03)
        name = item.label or item.episode
        fig.suptitle(f"Overdracht kraamzorg — {name} (episode {item.episode})", fontsize=13, x=0.06, ha="left")
        fig.text(0.06, 0.935, f"Geboorte {_local(item.birth_at)}, {item.ga_weeks:g} weken. Gemaakt {_local(generated_at)}. "
                 "kraamwacht: beslisondersteuning, geen gecertificeerd medisch hulpmiddel.", fontsize=7, color="grey")  # fmt: skip

        ax_t = fig.add_subplot(grid[0])
        ax_h = fig.add_subplot(grid[1], sharex=ax_t)
        if skin_t.size:
            ax_t.plot(when(skin_t), skin_v + offset, color="#e65100", linewidth=1, marker=".", markersize=2,
                      label=f"sensor, uurmediaan + {offset:.2f} °C (geschatte kern)".replace(".", ","))  # fmt: skip
        if hr_t.size:
            ax_h.plot(when(hr_t), hr_v, color="#6a1b9a", linewidth=1, marker=".", markersize=2,
                      label="hartslag (sensor, uurmediaan)")  # fmt: skip
        if baselines is not None:
            ax_t.plot(when(baselines.t_s), baselines.temp_core_c, color="#1565c0", linestyle="--", linewidth=1,
                      label="haar basislijn")  # fmt: skip
            ax_h.plot(when(baselines.t_s), baselines.hr_bpm, color="#1565c0", linestyle="--", linewidth=1,
                      label="haar eigen hartslag op dit uur")  # fmt: skip
        if record.spot_checks:
            ax_t.scatter([datetime.fromtimestamp(t, tz=UTC) for t, _v, _m in record.spot_checks],
                         [v + cfg.thermometer.to_core_c(m) for _t, v, m in record.spot_checks],
                         color="black", s=18, zorder=5, label="thermometer (kernschaal)")  # fmt: skip
        ax_t.axhline(cfg.fever.core_c, color="#c62828", linestyle=":", linewidth=0.8, label="koorts 38,0 °C")
        ax_t.set_ylabel("temperatuur (°C)")
        ax_t.set_title("Moeder: temperatuur", fontsize=9, loc="left")
        for bpm in (cfg.heart_rate.tachycardia_bpm, cfg.heart_rate.severe_bpm):
            ax_h.axhline(bpm, color="#c62828", linestyle=":", linewidth=0.8)
        ax_h.set_ylabel("hartslag (/min)")
        ax_h.set_title("Moeder: hartslag", fontsize=9, loc="left")
        ax_h.xaxis.set_major_formatter(mdates.DateFormatter("%d-%m %H:%M", tz=_ZONE))
        for ax in (ax_t, ax_h):
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6, loc="upper left", framealpha=0.9)

        babies = record.bilirubin_of()  # twins: a nomogram each, side by side
        row = grid[2].subgridspec(1, len(babies), wspace=0.25)
        for k, (baby, rows) in enumerate(babies.items()):
            ax_b = fig.add_subplot(row[0, k])
            readings = [
                Reading(datetime.fromtimestamp(t, tz=UTC), value, BilirubinMethod(method or "tsb"))
                for t, value, method in rows
            ]
            draw_nomogram(ax_b, item.baby_of(baby), readings, standard=item.bilirubin_standard, legend_size=5)
            if len(babies) > 1:
                ax_b.set_title(f"{baby}: {ax_b.get_title()}")
                legend = ax_b.get_legend()
                if k and legend is not None:  # one legend for both
                    legend.remove()
            ax_b.title.set_fontsize(8 if len(babies) == 1 else 6)
            ax_b.tick_params(labelsize=7)

        ax_a = fig.add_subplot(grid[3])
        ax_a.axis("off")
        rows = _alert_rows(record.events, include_staff=include_staff)
        earlier = max(0, len(rows) - _MAX_ALERTS)
        title = f"Meldingen ({len(rows)})" + (f"; de {earlier} oudste niet getoond" if earlier else "")
        ax_a.set_title(title, fontsize=9, loc="left")
        if rows:
            table = ax_a.table(
                cellText=[[*r[:5], textwrap.fill(r[5], 70)] for r in rows[earlier:]],
                colLabels=["gemeld", "regel", "niveau", "opgelost", "gezien", "melding"],
                colWidths=[0.08, 0.17, 0.07, 0.08, 0.09, 0.51],
                loc="upper left",
                cellLoc="left",
            )
            table.auto_set_font_size(False)
            table.set_fontsize(5.5)
            table.scale(1.0, 2.2)
        else:
            ax_a.text(0.0, 0.9, "Geen meldingen in deze periode.", fontsize=8)
        fig.savefig(out, format="pdf")
        plt.close(fig)
