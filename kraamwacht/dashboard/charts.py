"""The Cliënt page's clinical charts (Vega-Lite through Altair): pure functions from what serve
computed and the store holds to a chart specification; drawing is the page's job.

Why not ``st.line_chart``: its axis starts at 0, so a fever is a flat line at the top of a 0–40 °C
axis, and its times are "11 PM". Here the temperature axis spans the data (about 34–41 °C), the
skin and the estimated core are told apart, the 38.0 °C line, serve's baseline band, every
thermometer reading and every alert are drawn, and times are 24-hour with decimal commas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd

from kraamwacht.contract import BaselineMessage

__all__ = ["AlertMark", "heart_rate_chart", "locale", "temperature_chart", "temperature_domain"]

FEVER_CORE_C = 38.0  # the fallback before serve's baseline arrives; serve's own value is used when it has
HR_BANDS_BPM = (100.0, 130.0)  # NICE NG51 moderate-to-high and high risk, as serve's tachycardia rules


@dataclass(frozen=True, slots=True)
class AlertMark:
    """One alert event to mark on the chart: when, what (display words) and who acted."""

    time_s: float
    event: str  # display words: "gemeld", "gezien", "opgelost"
    rule: str  # display name
    level: str
    actor: str = ""


def locale(lang: str) -> dict[str, object]:
    """Vega's number and time locale: Dutch decimal commas and day names, or English."""
    if lang == "en":
        return {"number": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["", ""]}}
    return {
        "number": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["€ ", ""]},
        "time": {
            "dateTime": "%a %e %B %Y %X",
            "date": "%d-%m-%Y",
            "time": "%H:%M:%S",
            "periods": ["", ""],
            "days": ["zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"],
            "shortDays": ["zo", "ma", "di", "wo", "do", "vr", "za"],
            "months": [
                "januari",
                "februari",
                "maart",
                "april",
                "mei",
                "juni",
                "juli",
                "augustus",
                "september",
                "oktober",
                "november",
                "december",
            ],
            "shortMonths": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
        },
    }


def temperature_domain(values_c: Sequence[float], *, fever_c: float = FEVER_CORE_C) -> tuple[float, float]:
    """The axis: the data's 1st–99th percentile with a margin, always showing the fever line.

    A loose sensor reading the room (24 °C) must not flatten a fever: values beyond the domain are
    drawn at its edge (the chart clamps), never allowed to stretch it past 34–42 °C.
    """
    finite = pd.Series(values_c, dtype="float64").dropna()
    lo, hi = (finite.quantile(0.01), finite.quantile(0.99)) if len(finite) else (36.0, 37.5)
    low = max(34.0, math.floor(min(lo, fever_c - 2.0) * 2) / 2)
    high = min(42.0, math.ceil(max(hi, fever_c + 0.5) * 2) / 2)
    return low, high


def _time_axis(title: str) -> alt.X:
    return alt.X("time:T", title=title, axis=alt.Axis(format="%H:%M", labelOverlap=True, tickCount=8))


def temperature_chart(
    skin: pd.Series,
    baseline: BaselineMessage | None,
    thermometer: pd.DataFrame,
    alerts: Sequence[AlertMark],
    *,
    lang: str = "nl",
    height: int = 280,
    start_s: float = 0.0,
) -> alt.LayerChart:
    """Skin (the sensor) and estimated core (skin + serve's offset), serve's baseline band, the fever
    line, thermometer readings (points, ``time``/``value``/``method``) and alert markers."""
    nl = lang != "en"
    names = {
        "skin": "huid (sensor)" if nl else "skin (sensor)",
        "core": "geschatte kern" if nl else "estimated core",
        "base": "basislijn (huid)" if nl else "baseline (skin)",
        "thermo": "thermometer",
    }
    fever_c = baseline.fever_core_c if baseline is not None else FEVER_CORE_C
    frames = [pd.DataFrame({"time": skin.index, "value": skin.to_numpy(), "serie": names["skin"]})]
    if baseline is not None:
        frames.append(
            pd.DataFrame(
                {"time": skin.index, "value": skin.to_numpy() + baseline.skin_to_core_offset_c, "serie": names["core"]}
            )
        )
    lines = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
    domain = temperature_domain([*lines["value"], *thermometer.get("value", [])], fever_c=fever_c)
    scale = alt.Scale(domain=list(domain), clamp=True, zero=False)
    y = alt.Y("value:Q", title="°C", scale=scale, axis=alt.Axis(format=".1f"))
    colours = alt.Scale(
        domain=[names["skin"], names["core"], names["base"], names["thermo"]],
        range=["#1f77b4", "#d62728", "#7f7f7f", "#000000"],
    )
    x = _time_axis("tijd" if nl else "time")
    layers: list[alt.Chart] = []
    base = _baseline_frame(baseline, start_s)
    if baseline is not None and len(base):
        band = pd.DataFrame(
            {
                "time": base["time"],
                "low": base["skin_c"],
                "high": base["skin_c"] + baseline.rise_k_c,
                "serie": names["base"],
            }
        )
        layers.append(
            alt.Chart(band)
            .mark_area(opacity=0.2)
            .encode(
                x=x, y=alt.Y("low:Q", scale=scale), y2="high:Q", color=alt.Color("serie:N", scale=colours, title=None)
            )
        )
    tooltip = [alt.Tooltip("time:T", format="%d-%m %H:%M"), alt.Tooltip("value:Q", format=".1f"), "serie:N"]
    layers.append(
        alt.Chart(lines)
        .mark_line()
        .encode(x=x, y=y, color=alt.Color("serie:N", scale=colours, title=None), tooltip=tooltip)
    )
    fever_label = f"{fever_c:.1f}".replace(".", "," if nl else ".") + " °C"
    fever = pd.DataFrame({"value": [fever_c], "label": [("koorts " if nl else "fever ") + fever_label]})
    layers.append(
        alt.Chart(fever).mark_rule(color="#d62728", strokeDash=[6, 4]).encode(y=alt.Y("value:Q", scale=scale))
    )
    layers.append(
        alt.Chart(fever)
        .mark_text(align="left", dx=4, dy=-6, color="#d62728")
        .encode(y=alt.Y("value:Q", scale=scale), text="label:N", x=alt.value(0))
    )
    if len(thermometer):
        points = thermometer.assign(serie=names["thermo"])
        layers.append(
            alt.Chart(points)
            .mark_point(filled=True, size=80, shape="diamond")
            .encode(
                x=x,
                y=y,
                color=alt.Color("serie:N", scale=colours, title=None),
                tooltip=[alt.Tooltip("time:T", format="%d-%m %H:%M"), alt.Tooltip("value:Q", format=".1f"), "method:N"],
            )
        )
    layers += _alert_layers(alerts, x)
    return _finish(alt.layer(*layers), height=height, lang=lang)


def heart_rate_chart(
    hr: pd.Series,
    baseline: BaselineMessage | None,
    alerts: Sequence[AlertMark],
    *,
    lang: str = "nl",
    height: int = 200,
    start_s: float = 0.0,
) -> alt.LayerChart:
    """Heart rate with serve's baseline and the 100 and 130 /min bands."""
    nl = lang != "en"
    frames = [pd.DataFrame({"time": hr.index, "value": hr.to_numpy(), "serie": "hartslag" if nl else "heart rate"})]
    base = _baseline_frame(baseline, start_s)
    if len(base):
        frames.append(
            pd.DataFrame({"time": base["time"], "value": base["hr_bpm"], "serie": "basislijn" if nl else "baseline"})
        )
    lines = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
    hi = float(lines["value"].quantile(0.99)) if len(lines) else 100.0
    scale = alt.Scale(domain=[40, max(140.0, math.ceil(hi / 10) * 10 + 10)], clamp=True, zero=False)
    x = _time_axis("tijd" if nl else "time")
    bands = pd.DataFrame({"value": list(HR_BANDS_BPM), "label": ["100 /min", "130 /min"]})
    layers = [
        alt.Chart(lines)
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("value:Q", title="/min", scale=scale),
            color=alt.Color("serie:N", title=None),
            tooltip=[alt.Tooltip("time:T", format="%d-%m %H:%M"), "value:Q", "serie:N"],
        ),
        alt.Chart(bands).mark_rule(color="#ff7f0e", strokeDash=[4, 4]).encode(y=alt.Y("value:Q", scale=scale)),
        alt.Chart(bands)
        .mark_text(align="left", dx=4, dy=-6, color="#ff7f0e")
        .encode(y=alt.Y("value:Q", scale=scale), text="label:N", x=alt.value(0)),
        *_alert_layers(alerts, x),
    ]
    return _finish(alt.layer(*layers), height=height, lang=lang)


def _finish(chart: alt.LayerChart, *, height: int, lang: str) -> alt.LayerChart:
    """Zoom in time only; the locale (alert markers have their own stroke scale and legend)."""
    return chart.properties(height=height).interactive(bind_y=False).configure(locale=locale(lang))


def _baseline_frame(baseline: BaselineMessage | None, start_s: float) -> pd.DataFrame:
    """serve's baseline points from ``start_s`` on (it sends 48 hours; a 6-hour view shows 6)."""
    if baseline is None or not baseline.t_s:
        return pd.DataFrame({"time": [], "skin_c": [], "hr_bpm": []})
    t = pd.Series(baseline.t_s, dtype="float64")
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(t, unit="s", utc=True),
            "skin_c": pd.Series(baseline.baseline_skin_c, dtype="float64"),
            "hr_bpm": pd.Series(baseline.hr_baseline_bpm, dtype="float64"),
        }
    )
    return frame[t >= start_s].reset_index(drop=True)


def _alert_layers(alerts: Sequence[AlertMark], x: alt.X) -> list[alt.Chart]:
    if not alerts:
        return []
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(pd.Series([a.time_s for a in alerts], dtype="float64"), unit="s", utc=True),
            "event": [a.event for a in alerts],
            "rule": [a.rule for a in alerts],
            "level": [a.level for a in alerts],
            "actor": [a.actor for a in alerts],
        }
    )
    return [
        alt.Chart(frame)
        .mark_rule(strokeWidth=2, opacity=0.7)
        .encode(
            x=x,
            stroke=alt.Stroke("event:N", title=None, scale=alt.Scale(scheme="category10")),
            tooltip=[alt.Tooltip("time:T", format="%d-%m %H:%M"), "event:N", "rule:N", "level:N", "actor:N"],
        )
    ]
