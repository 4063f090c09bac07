"""The Cliënt page's charts as specifications: an axis that shows the signal, the fever line, the
thermometer readings and the alerts, in 24-hour time with decimal commas."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from kraamwacht.contract import BaselineMessage
from kraamwacht.dashboard.charts import AlertMark, heart_rate_chart, temperature_chart, temperature_domain

T0 = pd.Timestamp("2026-11-30T00:00Z")


def _skin(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range(T0, periods=len(values), freq="5min"), dtype="float64")


def _baseline() -> BaselineMessage:
    t = [(T0 + pd.Timedelta(minutes=10 * i)).timestamp() for i in range(12)]
    return BaselineMessage(
        v=1, episode="ep1", subject="m1", updated_at=T0.to_pydatetime(), step_s=600, t_s=t,
        baseline_skin_c=[None] + [36.3] * 11, hr_baseline_bpm=[None] + [78.0] * 11, rise_k_c=0.4,
        skin_to_core_offset_c=0.55, fever_core_c=38.0,
    )  # fmt: skip


def _layers(chart: object) -> list[dict]:
    return json.loads(chart.to_json())["layer"]  # type: ignore[attr-defined]


def test_the_temperature_axis_spans_the_data_and_the_fever_line_never_zero() -> None:
    low, high = temperature_domain([36.1, 36.4, 37.9, 38.6])
    assert (low, high) == (36.0, 39.0)
    assert high - low < 10
    assert temperature_domain([24.0] + [36.5] * 200) == (36.0, 38.5)  # a loose sensor's one reading: clamped
    assert temperature_domain([]) == (36.0, 38.5)


def test_the_temperature_chart_draws_skin_core_baseline_fever_thermometer_and_alerts() -> None:
    skin = _skin(list(np.linspace(36.2, 37.6, 60)))
    thermometer = pd.DataFrame({"time": [T0 + pd.Timedelta(hours=2)], "value": [38.3], "method": ["rectal"]})
    marks = [AlertMark((T0 + pd.Timedelta(hours=3)).timestamp(), "gemeld", "Koorts", "dringend")]
    spec = json.loads(temperature_chart(skin, _baseline(), thermometer, marks).to_json())
    domains = [layer["encoding"]["y"]["scale"]["domain"] for layer in spec["layer"] if "y" in layer["encoding"]]
    assert all(d == domains[0] for d in domains)  # one axis for every layer
    low, high = domains[0]
    assert low >= 34 and high <= 42 and high - low < 10 and low <= 36.2 and high >= 38.3  # noqa: PT018
    series = {row["serie"] for data in spec["datasets"].values() for row in data if "serie" in row}
    assert {"huid (sensor)", "geschatte kern", "basislijn (huid)", "thermometer"} <= series
    core = [row["value"] for data in spec["datasets"].values() for row in data if row.get("serie") == "geschatte kern"]
    assert abs(max(core) - (37.6 + 0.55)) < 1e-9  # skin + serve's offset, not the board's own
    assert any(row.get("label") == "koorts 38,0 °C" for data in spec["datasets"].values() for row in data)
    assert any(row.get("rule") == "Koorts" for data in spec["datasets"].values() for row in data)
    assert spec["config"]["locale"]["number"]["decimal"] == ","  # 37,6 °C
    assert spec["layer"][1]["encoding"]["x"]["axis"]["format"] == "%H:%M"  # 24-hour time, never "11 PM"


def test_the_heart_rate_chart_has_the_nice_bands_and_an_axis_from_40() -> None:
    hr = _skin([80.0] * 30 + [125.0] * 30)
    spec = json.loads(heart_rate_chart(hr, _baseline(), []).to_json())
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [40, 140.0]
    bands = [row["value"] for data in spec["datasets"].values() for row in data if "label" in row]
    assert bands == [100.0, 130.0]
    english = json.loads(heart_rate_chart(hr, None, [], lang="en").to_json())
    assert english["config"]["locale"]["number"]["decimal"] == "."
