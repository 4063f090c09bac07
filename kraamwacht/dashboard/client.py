"""The Cliënt page: the mother's temperature with her personal baseline, heart rate, alerts, and
the newborn's bilirubin nomogram with the entry form (advice shown at once, nothing sent on bad input)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from kraamwacht import clock
from kraamwacht.alerts import display_name, state_name
from kraamwacht.contract import (
    BilirubinMethod,
    ThermometerMethod,
    manual_bilirubin_message,
    spot_check_messages,
)
from kraamwacht.dashboard.auth import User
from kraamwacht.dashboard.charts import AlertMark, heart_rate_chart, temperature_chart
from kraamwacht.dashboard.feed import BoardFeed
from kraamwacht.dashboard.model import fmt_number
from kraamwacht.dashboard.session import signing_key
from kraamwacht.dashboard.texts import _, message
from kraamwacht.episodes import Episode
from kraamwacht.errors import InvalidValueError, KraamwachtError
from kraamwacht.jaundice import Advice, Reading, ThresholdError, assess, check_units
from kraamwacht.plots import plot_nomogram
from kraamwacht.publish import BrokerAddress, PublishError, publish

__all__ = ["BiliEntry", "alert_marks", "chart_frames", "check_bili_entry", "client_view"]


@dataclass(frozen=True)
class BiliEntry:
    value: float
    unit: str
    method: BilirubinMethod
    measured_at: datetime
    body_site: str


def check_bili_entry(
    entry: BiliEntry, episode: Episode, earlier: list[Reading], *, now: datetime, newborn: str | None = None
) -> tuple[Reading, Advice]:
    """Validate a typed-in reading and assess it; a ``ValueError`` says what is wrong (nothing is stored)."""
    if entry.measured_at > now + timedelta(minutes=5):
        raise InvalidValueError("het meetmoment ligt in de toekomst")
    if entry.measured_at < episode.birth_of(newborn or episode.newborn):
        raise InvalidValueError("het meetmoment ligt vóór de geboorte")
    umol, hint = check_units(entry.value, entry.unit)
    if hint:
        raise InvalidValueError(f"{hint} Kies de juiste eenheid.")
    reading = Reading(entry.measured_at, umol, entry.method)
    try:
        baby = episode.baby_of(newborn or episode.newborn)  # a twin's own risk factors
        advice = assess(reading, baby, earlier=earlier, standard=episode.bilirubin_standard)
    except ThresholdError as exc:
        raise InvalidValueError(str(exc)) from exc
    return reading, advice


def chart_frames(series: dict[str, tuple[Any, Any]], *, step: str = "5min") -> tuple[pd.Series, pd.Series]:
    """Temperature and heart rate as means per ``step`` (a week at 1 Hz is too much for a browser)."""

    def measured(signal: str) -> pd.Series:
        t, v = series.get(signal, ((), ()))
        index = pd.to_datetime(pd.Series(t, dtype="float64"), unit="s", utc=True)
        return pd.Series(list(v), index=index, dtype="float64").resample(step).mean()

    return measured("temperature_c"), measured("heart_rate_bpm")


def _readings(store: Any, newborn: str) -> list[Reading]:
    """A newborn's readings with their method (TcB or serum), as serve judges them."""
    rows = store.with_method(newborn, "bilirubin_umol_l")
    return [
        Reading(datetime.fromtimestamp(float(t_s), tz=UTC), float(value), BilirubinMethod(method or "tcb"))
        for t_s, value, method in rows
    ]


RISK_WORDS = {
    "isoimmune": "isoimmuun hemolytische ziekte (positieve DAT)",
    "g6pd": "G6PD-deficiëntie of andere hemolyse",
    "sepsis": "sepsis",
    "albumin<3.0": "albumine < 3,0 g/dL",
    "unstable": "klinisch instabiel (afgelopen 24 uur)",
}


def client_view(
    episode: Episode,
    *,
    user: User,
    store: Any,
    feed: BoardFeed,
    broker: str,
    site: str,
    update_jaundice: Callable[..., Episode] | None = None,
) -> None:
    now = clock.utcnow()
    st.subheader(f"{episode.label or episode.episode}")
    mother, baby = st.tabs([_("Moeder"), _("Baby: bilirubine")])
    with mother:
        _charts(episode, store=store, feed=feed, now=now)
        _thermometer(episode, user=user, broker=broker, site=site, now=now)
        state = feed.state(episode.episode) or {}
        st.markdown("**Open meldingen**")
        for alert in state.get("open_alerts", []):
            st.markdown(f"- {alert.get('raised_at', '')}: {message(alert)}")
        if not state.get("open_alerts"):
            st.caption(_("Geen."))
        events = [e for e in feed.events if e.get("episode") == episode.episode]
        if events:
            st.markdown("**Tijdlijn**")
            for e in events[-20:]:
                lang = st.session_state.get("lang", "nl")
                rule = display_name(str(e.get("rule")), lang)
                words = f"{state_name(str(e.get('event')), lang)} · {rule} · {state_name(str(e.get('level')), lang)}"
                st.markdown(f"- {e.get('time', '')}: {words}")
    with baby:
        if update_jaundice is not None:
            episode = _risk_factors(episode, update_jaundice)
        _bili(episode, user=user, store=store, broker=broker, site=site, now=now)


VIEWS = {
    "6 uur": (timedelta(hours=6), "1min"),
    "24 uur": (timedelta(hours=24), "5min"),
    "hele kraamperiode": (None, "15min"),
}


def _charts(episode: Episode, *, store: Any, feed: BoardFeed, now: datetime) -> None:
    """Temperature and heart rate over the chosen window, as serve judged them."""
    lang = st.session_state.get("lang", "nl")
    view = st.segmented_control(_("Periode"), list(VIEWS), default="24 uur", key="chart_view", format_func=_)
    span, step = VIEWS[view or "24 uur"]
    start = now - span if span is not None else min(episode.birth_at, now - timedelta(hours=6))
    series = store.read(subject=episode.mother, signals=["temperature_c", "heart_rate_bpm"], start=start)
    if not any(len(t) for t, _v in series.values()):
        st.info(_("Nog geen metingen van de moeder."))
        return
    baseline = feed.baseline(episode.episode, episode.mother)
    temp, hr = chart_frames(series, step=step)
    readings = [(t, v, m) for t, v, m in store.with_method(episode.mother, "thermometer_c") if t >= start.timestamp()]
    thermometer = pd.DataFrame(
        {
            "time": pd.to_datetime(pd.Series([r[0] for r in readings], dtype="float64"), unit="s", utc=True),
            "value": [float(r[1]) for r in readings],
            "method": [str(r[2] or "rectal") for r in readings],
        }
    )
    marks = alert_marks(feed, episode, lang=lang, since_s=start.timestamp())
    st.markdown(f"**{_('Temperatuur')}**")
    st.altair_chart(
        temperature_chart(temp, baseline, thermometer, marks, lang=lang, start_s=start.timestamp()),
        width="stretch",
    )
    st.markdown(f"**{_('Hartslag')}**")
    st.altair_chart(heart_rate_chart(hr, baseline, marks, lang=lang, start_s=start.timestamp()), width="stretch")
    if baseline is None:
        st.caption(_("De basislijn van de meldingendienst is nog niet ontvangen."))


def alert_marks(feed: BoardFeed, episode: Episode, *, lang: str, since_s: float) -> list[AlertMark]:
    """Every alert event of the mother the board has seen, and the raise of each open alert."""
    marks = []
    seen = set()
    for e in feed.events:
        if e.get("episode") != episode.episode or e.get("subject") not in (None, episode.mother):
            continue
        at = _time_s(e.get("time"))
        if at is None or at < since_s:
            continue
        seen.add((e.get("alert_id"), e.get("event")))
        marks.append(AlertMark(at, state_name(str(e.get("event")), lang), display_name(str(e.get("rule")), lang),
                               state_name(str(e.get("level")), lang), str(e.get("actor") or "")))  # fmt: skip
    for alert in (feed.state(episode.episode) or {}).get("open_alerts", []):
        at = _time_s(alert.get("raised_at"))
        if at is not None and at >= since_s and (alert.get("alert_id"), "raised") not in seen:
            marks.append(AlertMark(at, state_name("raised", lang), display_name(str(alert.get("rule")), lang),
                                   state_name(str(alert.get("level")), lang), str(alert.get("acknowledged_by") or "")))  # fmt: skip
    return marks


def _time_s(text: object) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _thermometer(episode: Episode, *, user: User, broker: str, site: str, now: datetime) -> None:
    """The spot check: temperature (and pulse) as measured at the visit, sent like any reading."""
    with st.form("thermometer"):
        st.markdown(f"**{_('Thermometer en pols')}**")
        value_col, method_col, pulse_col = st.columns(3)
        value = value_col.number_input(_("Temperatuur °C"), min_value=0.0, max_value=50.0, step=0.1, key="temp_value")
        method = method_col.selectbox(_("Methode"), [m.value for m in ThermometerMethod], key="temp_method")
        pulse = pulse_col.number_input(
            _("Pols /min (0 = niet gemeten)"), min_value=0, max_value=300, step=1, key="pulse"
        )
        sent = st.form_submit_button(_("Opslaan"))
    if not sent:
        return
    try:
        messages = spot_check_messages(
            site=site, episode=episode.episode, subject=episode.mother, temp_c=float(value),
            method=ThermometerMethod(method), pulse_bpm=float(pulse) if pulse else None, measured_at=now,
            entered_by=user.name, now=now, signing_key=signing_key(),
        )  # fmt: skip
        publish(BrokerAddress.parse(broker), messages)
    except (KraamwachtError, PublishError) as exc:
        st.error(f"{_('Niet opgeslagen')}: {exc}")
        return
    st.success(f"{_('Opgeslagen')}: {fmt_number(float(value))} °C ({method})")


def _risk_factors(episode: Episode, update: Callable[..., Episode]) -> Episode:
    """The newborn's neurotoxicity risk factors and the standard, shown and editable (serve judges with them)."""
    with st.expander(_("Risicofactoren en richtlijn"), expanded=False), st.form(f"risks-{episode.episode}"):
        chosen: list[str] = []
        twins = len(episode.newborns) > 1
        for newborn in episode.newborns:  # twins: each baby her own (one may have G6PD deficiency, the other not)
            label = _("Risicofactoren (AAP 2022)") + (f" · {_('Baby')} {newborn}" if twins else "")
            picked = st.multiselect(
                label, list(RISK_WORDS), default=list(episode.risk_factors_of(newborn)),
                format_func=lambda r: RISK_WORDS[r], key=f"risk-{episode.episode}-{newborn}",
            )  # fmt: skip
            chosen += [f"{newborn}:{r}" if twins else r for r in picked]
        standards = ["aap2022", "nice-cg98"]
        standard = st.selectbox(_("Richtlijn"), standards, index=standards.index(episode.standard),
                                key=f"std-{episode.episode}")  # fmt: skip
        if st.form_submit_button(_("Risicofactoren opslaan")):
            try:
                episode = update(episode.episode, risk_factors=tuple(chosen), standard=standard)
            except KraamwachtError as exc:
                st.error(f"{_('Niet opgeslagen')}: {exc}")
            else:
                st.success(_("Opgeslagen"))
    return episode


def _bili(episode: Episode, *, user: User, store: Any, broker: str, site: str, now: datetime) -> None:
    newborn = episode.newborn
    if len(episode.newborns) > 1:  # twins: one nomogram and one entry per baby, never mixed
        newborn = st.radio(_("Baby"), list(episode.newborns), horizontal=True, key=f"baby-{episode.episode}")
    earlier = _readings(store, newborn)
    risks = ", ".join(episode.risk_factors_of(newborn)) or _("geen")
    st.caption(
        f"Geboren {episode.birth_of(newborn):%d-%m-%Y %H:%M} UTC, zwangerschapsduur {fmt_number(episode.ga_weeks)} weken; "
        f"leeftijd nu {fmt_number(episode.newborn_age_h(now, newborn))} uur. Risicofactoren: {risks}. "
        f"Grenzen: {episode.bilirubin_standard.citation} (zie docs/jaundice.md)."
    )
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "nomogram.png"
        plot_nomogram(episode.baby_of(newborn), earlier, png, standard=episode.bilirubin_standard)
        st.image(str(png))
    with st.form(f"bili-{newborn}"):
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
        reading, advice = check_bili_entry(entry, episode, earlier, now=now, newborn=newborn)
        topic, payload = manual_bilirubin_message(
            site=site, episode=episode.episode, subject=newborn, value_umol_l=reading.value_umol_l,
            measured_at=reading.measured_at, method=entry.method, body_site=body_site, entered_by=user.name, now=now,
            signing_key=signing_key(),
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
