"""The Cliënt page: the mother's temperature with her personal baseline, heart rate, alerts, and
the newborn's bilirubin nomogram with the entry form (advice shown at once, nothing sent on bad input)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from kraamwacht import clock
from kraamwacht.contract import BilirubinMethod, manual_bilirubin_message
from kraamwacht.dashboard.auth import User
from kraamwacht.dashboard.feed import BoardFeed
from kraamwacht.dashboard.model import fmt_number
from kraamwacht.dashboard.texts import _, message
from kraamwacht.episodes import Episode
from kraamwacht.plots import plot_nomogram
from kraamwacht.publish import BrokerAddress, PublishError, publish
from kraamwacht.signal import detect
from kraamwacht.signal.jaundice import Advice, Baby, Reading, Standard, ThresholdError, assess, check_units
from kraamwacht.storage.sqlite import SqliteStore

__all__ = ["BiliEntry", "check_bili_entry", "client_view"]


@dataclass(frozen=True)
class BiliEntry:
    value: float
    unit: str
    method: BilirubinMethod
    measured_at: datetime
    body_site: str


def check_bili_entry(
    entry: BiliEntry, episode: Episode, earlier: list[Reading], *, now: datetime
) -> tuple[Reading, Advice]:
    """Validate a typed-in reading and assess it; a ``ValueError`` says what is wrong (nothing is stored)."""
    if entry.measured_at > now + timedelta(minutes=5):
        raise ValueError("het meetmoment ligt in de toekomst")
    if entry.measured_at < episode.birth_at:
        raise ValueError("het meetmoment ligt vóór de geboorte")
    umol, hint = check_units(entry.value, entry.unit)
    if hint:
        raise ValueError(f"{hint} Kies de juiste eenheid.")
    reading = Reading(entry.measured_at, umol, entry.method)
    baby = Baby(episode.birth_at, episode.ga_weeks, (), False)
    try:
        advice = assess(reading, baby, earlier=earlier, standard=Standard.AAP2022)
    except ThresholdError as exc:
        raise ValueError(str(exc)) from exc
    return reading, advice


def _readings(store: Any, episode: Episode) -> list[Reading]:
    """The newborn's readings with their method (TcB or serum), as serve judges them."""
    if isinstance(store, SqliteStore):
        rows = store.bilirubin(episode.newborn)
    else:  # other stores keep no method: TcB, the stricter reading of the two (the +50 margin applies)
        t, v = store.read(subject=episode.newborn, signals=["bilirubin_umol_l"]).get("bilirubin_umol_l", ((), ()))
        rows = [(a, b, None) for a, b in zip(t, v, strict=True)]
    return [
        Reading(datetime.fromtimestamp(float(t_s), tz=UTC), float(value), BilirubinMethod(method or "tcb"))
        for t_s, value, method in rows
    ]


def client_view(episode: Episode, *, user: User, store: Any, feed: BoardFeed, broker: str, site: str) -> None:
    now = clock.utcnow()
    st.subheader(f"{episode.label or episode.episode}")
    mother, baby = st.tabs([_("Moeder"), _("Baby: bilirubine")])
    with mother:
        series = store.read(
            subject=episode.mother, signals=["temperature_c", "heart_rate_bpm"], start=now - timedelta(hours=48)
        )
        if not any(len(t) for t, _ in series.values()):
            st.info(_("Nog geen metingen van de moeder."))
        else:
            result = detect(series, subject=episode.mother)
            f = result.frame
            index = pd.to_datetime(f.time_s, unit="s", utc=True)
            st.markdown("**Temperatuur (oksel) met haar eigen basislijn**")
            st.line_chart(
                pd.DataFrame(
                    {"gemeten °C": f.temp_c, "basislijn °C": f.baseline_c, "basislijn + 0,5 °C": f.baseline_c + 0.5},
                    index=index,
                ),
                height=260,
            )
            st.markdown("**Hartslag**")
            st.line_chart(
                pd.DataFrame({"hartslag /min": f.hr_bpm, "basislijn /min": f.hr_baseline_bpm}, index=index), height=200
            )
            loose = int(f.sensor_loose.sum())
            if loose:
                st.caption(f"Sensor mogelijk los in {loose} meetperiodes (technisch).")
        state = feed.state(episode.episode) or {}
        st.markdown("**Open meldingen**")
        for alert in state.get("open_alerts", []):
            st.markdown(f"- {alert.get('raised_at', '')}: {message(alert)}")
        if not state.get("open_alerts"):
            st.caption(_("Geen."))
        events = [e for e in feed.events if (e.get("values") or {}).get("episode") == episode.episode]
        if events:
            st.markdown("**Tijdlijn**")
            for e in events[-20:]:
                st.markdown(f"- {e.get('time', '')}: {e.get('event', '')} · {e.get('rule', '')} · {e.get('level', '')}")
    with baby:
        _bili(episode, user=user, store=store, broker=broker, site=site, now=now)


def _bili(episode: Episode, *, user: User, store: Any, broker: str, site: str, now: datetime) -> None:
    earlier = _readings(store, episode)
    st.caption(
        f"Geboren {episode.birth_at:%d-%m-%Y %H:%M} UTC, zwangerschapsduur {fmt_number(episode.ga_weeks)} weken; "
        f"leeftijd nu {fmt_number(episode.newborn_age_h(now))} uur. Grenzen: AAP 2022 (zie README)."
    )
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "nomogram.png"
        plot_nomogram(Baby(episode.birth_at, episode.ga_weeks, (), False), earlier, png)
        st.image(str(png))
    with st.form("bili"):
        value_col, unit_col, method_col = st.columns(3)
        value = value_col.number_input(_("Waarde"), min_value=0.0, max_value=1500.0, step=1.0, key="bili_value")
        unit = unit_col.selectbox(_("Eenheid"), ["umol/L", "mg/dL"], key="bili_unit")
        method = method_col.selectbox(
            _("Methode"), ["tcb", "tsb"], key="bili_method", help="tcb: huidmeter; tsb: hielprik"
        )
        when = st.text_input("Gemeten om (leeg = nu, of JJJJ-MM-DD UU:MM UTC)", key="bili_when")
        body_site = st.selectbox(_("Plaats"), ["sternum", "forehead", "heel"], key="bili_site")
        sent = st.form_submit_button(_("Opslaan en advies"))
    if not sent:
        return
    try:
        measured = now if not when.strip() else datetime.strptime(when.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        entry = BiliEntry(float(value), unit, BilirubinMethod(method), measured, body_site)
        reading, advice = check_bili_entry(entry, episode, earlier, now=now)
        topic, payload = manual_bilirubin_message(
            site=site, episode=episode.episode, subject=episode.newborn, value_umol_l=reading.value_umol_l,
            measured_at=reading.measured_at, method=entry.method, body_site=body_site, entered_by=user.name, now=now,
        )  # fmt: skip
    except ValueError as exc:
        st.error(f"{_('Niet opgeslagen')}: {exc}")
        return
    level = advice.level.value
    show = {"urgent": st.error, "warning": st.warning, "ok": st.success}[level]
    words = {"urgent": _("DRINGEND"), "warning": _("LET OP"), "ok": _("IN ORDE")}[level]
    summary = advice.summary_en() if st.session_state.get("lang") == "en" else advice.summary_nl()
    show(f"**{words}** · {summary}")
    try:
        publish(BrokerAddress.parse(broker), [(topic, payload)])
    except PublishError as exc:
        st.error(f"{_('Niet opgeslagen')}: {exc}. Voer de meting opnieuw in als de verbinding terug is.")
        return
    st.success(
        f"{_('Opgeslagen')}: {fmt_number(reading.value_umol_l, 0, st.session_state.get('lang', 'nl'))} µmol/L ({entry.method.value})."
    )
