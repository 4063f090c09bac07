"""The Onderzoek page: upload a recorded stream (the replay CSV) and its labels, choose thresholds,
run replay + evaluate, see lead time, false alarms per day and PPV, and the trade-off over a range
of the rise threshold; download the alerts and the metrics. The same code as ``kraamwacht replay``
and ``evaluate``, so the numbers equal the command line's."""

from __future__ import annotations

import dataclasses
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from kraamwacht.dashboard.model import fmt_number
from kraamwacht.dashboard.texts import _
from kraamwacht.errors import InputFileError, KraamwachtError
from kraamwacht.plots import plot_recording
from kraamwacht.recordings import read_labels, read_streams
from kraamwacht.replay import replay
from kraamwacht.signal import DetectorConfig
from kraamwacht.signal.evaluate import alarms_from_events, evaluate

__all__ = ["recording_png", "research_view", "run_research", "upload_name"]


def run_research(streams: Path, labels: Path | None, *, k_c: float, h_c_epochs: float) -> dict[str, Any]:
    """Replay with these rise parameters and score against the labels (if given)."""
    base = DetectorConfig()
    cfg = dataclasses.replace(base, rise=dataclasses.replace(base.rise, k_c=k_c, h_c_epochs=h_c_epochs))
    read = read_streams(streams)
    result = replay(read.recordings, cfg)
    events = [e.to_json_dict() for e in result.events]
    out: dict[str, Any] = {
        "events": events,
        "samples": result.samples,
        "skipped": dict(read.skipped),
        "recordings": read.recordings,  # for the picture of one recording
        "config": cfg,
        "labels": {},
    }
    if labels is not None:
        timed = [{**e, "time_s": event.time.timestamp()} for e, event in zip(events, result.events, strict=True)]
        out["labels"] = read_labels(labels)
        report = evaluate(alarms_from_events(timed), out["labels"], result.coverage)
        out["metrics"] = report.as_dict()
    return out


def recording_png(out: dict[str, Any], subject: str) -> bytes:
    """The picture ``kraamwacht plot`` draws of one subject of this replay: the same code, the same numbers."""
    buffer = io.BytesIO()
    plot_recording(
        out["recordings"][subject], buffer, subject=subject, cfg=out["config"], label=out["labels"].get(subject)
    )
    return buffer.getvalue()


def upload_name(sent: str) -> str:
    """A name of our own for an upload: only the compression suffix of what the browser sent is kept.

    The browser's file name is attacker-controlled (``../../users.json``); it never reaches a path.
    """
    return "streams.csv.gz" if sent.lower().endswith(".gz") else "streams.csv"


def _safe_reason(exc: BaseException, tmp: str) -> str:
    """The error's own words without the server's folders (a path says nothing to a researcher)."""
    if isinstance(exc, InputFileError):
        where = exc.path.name + (f", {_('regel')} {exc.line}" if exc.line is not None else "")
        return f"{where}: {exc.reason}"
    return str(exc).replace(f"{tmp}/", "").replace(tmp, "") or type(exc).__name__


def research_view(workdir: Path) -> None:
    st.header(_("Onderzoek"))
    st.caption(_("Upload een opgenomen stroom (CSV zoals `kraamwacht replay` leest) en de labels (CSV)."))
    streams = st.file_uploader("Stroom (streams.csv of .csv.gz)", type=["csv", "gz"], key="streams")
    labels = st.file_uploader("Labels (labels.csv, optioneel)", type=["csv"], key="labels")
    k_col, h_col = st.columns(2)
    k_c = k_col.number_input("Stijging: referentie k (°C)", 0.05, 1.5, DetectorConfig().rise.k_c, 0.05, key="k_c")
    h = h_col.number_input("Stijging: drempel h (epochs)", 1.0, 60.0, DetectorConfig().rise.h_c_epochs, 1.0, key="h")
    sweep = st.checkbox("Ook de afweging over k tonen (5 runs)", key="sweep")
    run = st.button(_("Uitvoeren"), key="run")  # always drawn: it must not appear only once an upload lands
    signature = (
        (streams.name, streams.size) if streams is not None else None,
        (labels.name, labels.size) if labels is not None else None,
        float(k_c), float(h), bool(sweep),
    )  # fmt: skip
    if not run:  # a later rerun (an upload landing, a widget) keeps the result of these same inputs on screen
        kept = st.session_state.get("research_result")
        if kept is not None and kept[0] == signature:
            _show(*kept[1:])
        return
    if streams is None:
        st.error("Kies eerst een stroom om te herafspelen.")
        return
    with tempfile.TemporaryDirectory(prefix="kw-research-", dir=workdir) as tmp:  # mode 0700: this user's only
        stream_path = Path(tmp) / upload_name(streams.name)  # never the name the browser sent
        stream_path.write_bytes(streams.getvalue())
        label_path = None
        if labels is not None:
            label_path = Path(tmp) / "labels.csv"
            label_path.write_bytes(labels.getvalue())
        try:
            with st.spinner("Bezig met herafspelen…"):
                out = run_research(stream_path, label_path, k_c=float(k_c), h_c_epochs=float(h))
                rows = []
                if sweep and label_path is not None:
                    for k in (0.2, 0.3, 0.4, 0.5, 0.6):
                        m = run_research(stream_path, label_path, k_c=k, h_c_epochs=float(h))["metrics"]
                        rows.append({"k_c": k, "gevoeligheid %": 100 * m["sensitivity"],
                                     "vals alarm per dag": m["false_alarms_per_subject_day"]})  # fmt: skip
        except (KraamwachtError, ValueError, OSError, UnicodeDecodeError, EOFError) as exc:
            st.error(f"{_('Kan niet herafspelen')}: {_safe_reason(exc, tmp)}")
            return
    st.session_state["research_result"] = (signature, out, rows)
    _show(out, rows)


def _show(out: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """The replay's counts, the metrics, the trade-off and the downloads."""
    st.write(f"{out['samples']:,} metingen, {len(out['events'])} meldingsgebeurtenissen.".replace(",", "."))
    if out["skipped"]:
        st.warning(f"Overgeslagen regels: {out['skipped']}")
    metrics = out.get("metrics")
    if metrics:
        a, b, c, d = st.columns(4)
        a.metric(_("Gevoeligheid"), f"{fmt_number(100 * metrics['sensitivity'])} %")
        b.metric(_("Mediane voorsprong"), f"{fmt_number(metrics['lead_h_median'])} uur")
        c.metric(_("Vals alarm per dag"), fmt_number(metrics["false_alarms_per_subject_day"], 3))
        d.metric("PPV", f"{fmt_number(100 * metrics['ppv'])} %")
    if rows:
        st.scatter_chart(pd.DataFrame(rows), x="vals alarm per dag", y="gevoeligheid %")
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.download_button(
        "Meldingen (JSONL)", "\n".join(json.dumps(e) for e in out["events"]), "alerts.jsonl", key="dl_alerts"
    )
    if metrics:
        st.download_button("Maten (JSON)", json.dumps(metrics, indent=1), "metrics.json", key="dl_metrics")
    subjects = sorted(out.get("recordings", {}))
    if subjects:
        chosen = st.selectbox(_("Opname bekijken"), subjects, key="plot_subject")
        st.image(recording_png(out, chosen), caption=_("Temperatuur, hartslag, basislijnen, meldingen en labels"))
