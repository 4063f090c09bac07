"""The tablet board (Streamlit, Dutch): ``kraamwacht dashboard`` runs ``streamlit run`` on this file.

The shell around :mod:`kraamwacht.dashboard.model`: it reads serve's alert states over MQTT
(:mod:`~kraamwacht.dashboard.feed`), values from the store (:mod:`~kraamwacht.dashboard.data`) and
episodes from the episode registry, and sends acknowledgements, snoozes, notes and bilirubin
readings back over MQTT. Configuration comes from the environment ``kraamwacht dashboard`` sets.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import math
import os
import tempfile
import time
import wave
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from kraamwacht import clock
from kraamwacht.alerts import display_name, joined_names
from kraamwacht.contract import Severity
from kraamwacht.dashboard.auth import LockedOutError, User, UserStore, can, session_expired
from kraamwacht.dashboard.data import latest_values, sparkline, temperature_trend
from kraamwacht.dashboard.feed import BoardFeed
from kraamwacht.dashboard.kraamweek import day_of_kraamweek, kraamweek_html, kraamweek_sentences, kraamweek_texts
from kraamwacht.dashboard.model import (
    MOTHER_ICONS,
    MOTHER_TEXTS,
    RTL_LANGUAGES,
    age_text,
    build_card,
    mother_status,
    read_aloud_html,
    sort_cards,
)
from kraamwacht.dashboard.session import signing_key
from kraamwacht.dashboard.texts import _, message
from kraamwacht.episodes import Episode, EpisodeRegistry
from kraamwacht.errors import KraamwachtError
from kraamwacht.publish import BrokerAddress
from kraamwacht.storage import open_store


@dataclass(frozen=True)
class BoardConfig:
    broker: str
    site: str
    store: str
    state_dir: Path
    session_min: float
    refresh_s: float
    mother_refresh_s: float
    public_url: str
    serve_events: Path

    @classmethod
    def from_env(cls) -> BoardConfig:
        env = os.environ
        return cls(
            broker=env.get("KRAAMWACHT_BROKER", "mqtt://127.0.0.1:1883"),
            site=env.get("KRAAMWACHT_SITE", "site1"),
            store=env.get("KRAAMWACHT_STORE", "sqlite:///kraamwacht-data/kraamwacht.db"),
            state_dir=Path(env.get("KRAAMWACHT_BOARD_DIR", "kraamwacht-board")),
            session_min=float(env.get("KRAAMWACHT_SESSION_MIN", "30")),
            refresh_s=float(env.get("KRAAMWACHT_REFRESH_S", "3")),
            mother_refresh_s=float(env.get("KRAAMWACHT_MOTHER_REFRESH_S", "30")),
            public_url=env.get("KRAAMWACHT_PUBLIC_URL", ""),
            serve_events=Path(env.get("KRAAMWACHT_SERVE_EVENTS", "kraamwacht-data/events.db")),
        )


CFG = BoardConfig.from_env()


@st.cache_resource
def _feed(broker: str, site: str) -> BoardFeed:
    return BoardFeed(BrokerAddress.parse(broker), site)


@st.cache_resource
def _episodes(state_dir: str) -> EpisodeRegistry:
    return EpisodeRegistry(Path(state_dir) / "episodes.db")


@st.cache_resource
def _users(state_dir: str) -> UserStore:
    return UserStore(Path(state_dir) / "users.json")


@st.cache_resource
def _store(url: str) -> Any:
    return open_store(url)


def feed() -> BoardFeed:
    return _feed(CFG.broker, CFG.site)


def episodes() -> EpisodeRegistry:
    return _episodes(str(CFG.state_dir))


def store() -> Any:
    return _store(CFG.store)


def lang() -> str:
    return str(st.session_state.get("lang", "nl"))


def now() -> datetime:
    return clock.utcnow()


# --- the mother's page (no login; her code opens her episode only) --------------------------------


def mother_page(code: str, lang: str) -> None:
    lang = lang if lang in MOTHER_TEXTS else "nl"
    texts = MOTHER_TEXTS[lang]
    episode = episodes().by_code(code)
    direction = "rtl" if lang in RTL_LANGUAGES else "ltr"
    if episode is None:
        st.error("Deze link werkt niet (meer). / This link does not work (any more).")
        return
    phone = episodes().site_phone(episode.site)
    call = (
        f'<p><a href="tel:{html.escape(phone.replace(" ", ""))}" style="font-size:2rem" dir="ltr">'
        f"📞 {html.escape(phone)}</a></p>"
        if phone
        else ""
    )

    @st.fragment(run_every=CFG.mother_refresh_s)  # her page follows the sensor without her reloading it
    def live() -> None:
        latest = latest_values(store(), [episode.mother], now=now(), window=timedelta(minutes=30))[episode.mother]
        fresh = "temperature_c" in latest and now().timestamp() - latest["temperature_c"][0] <= 15 * 60
        status = mother_status(feed().state(episode.episode), temperature_fresh=fresh)
        st.html(
            f'<div id="moeder" dir="{direction}" lang="{lang}" data-status="{status}"'
            ' style="font-size:1.5rem;line-height:1.6">'
            f"<h1>{texts['title']}</h1>"
            f'<p style="margin:0"><img alt="" width="96" height="96" src="data:image/svg+xml;base64,'
            f'{base64.b64encode(MOTHER_ICONS[status].encode()).decode()}"></p>'
            f"<p><b>{texts[status]}</b></p><p>{texts[status + '_do']}</p>"
            f'<p style="margin-top:2rem">{texts["unwell"]}</p>{call}</div>'
        )
        components.html(read_aloud_html(texts, status, lang, more=kraamweek_sentences(week, day)), height=70)

    week, day = kraamweek_texts(lang), day_of_kraamweek(episode.birth_at, now())
    live()
    st.html(kraamweek_html(week, day, direction=direction))  # what is normal today, and when to call at once
    choices = {"nl": "Nederlands", "en": "English", "ar": "العربية", "tr": "Türkçe", "pl": "Polski", "uk": "Українська"}
    links = " · ".join(f"[{name}](?moeder={code}&taal={key})" for key, name in choices.items())
    st.markdown(links)


# --- login ----------------------------------------------------------------------------------------


def session_user(*, activity: bool) -> User | None:
    """The logged-in user if the session is still alive; ``None`` (and the session ended) otherwise.

    Every action calls this with ``activity=True`` before it acts; the auto-refreshing parts call it
    with ``activity=False``, so a board left open on a table still expires.
    """
    state = st.session_state
    user: User | None = state.get("user")
    if user is None:
        return None
    if session_expired(state.get("last_active", 0.0), time.time(), CFG.session_min):
        chosen = state.get("lang", "nl")
        state.clear()
        state["lang"], state["expired"] = chosen, True
        return None
    if activity:
        state["last_active"] = time.time()
    return user


def require_session(*, activity: bool) -> User:
    """The user, or the whole page reruns to the login (a fragment alone would keep acting)."""
    user = session_user(activity=activity)
    if user is None:
        st.rerun(scope="app")
    assert user is not None  # st.rerun does not return
    return user


def login() -> User | None:
    state = st.session_state
    user = session_user(activity=True)
    if user is not None:
        return user
    if state.pop("expired", False):
        st.warning(_("Uw sessie is verlopen. Log opnieuw in."))
    st.title("kraamwacht")
    with st.form("login"):
        name = st.text_input(_("Gebruikersnaam"), key="login_name")
        password = st.text_input(_("Wachtwoord"), type="password", key="login_password")
        submitted = st.form_submit_button(_("Inloggen"))
    if submitted:
        try:
            found = _users(str(CFG.state_dir)).verify(name.strip(), password)
        except LockedOutError as locked:
            until = datetime.fromtimestamp(locked.until_s).astimezone().strftime("%H:%M")
            st.error(_("Te veel onjuiste pogingen. Probeer het opnieuw na {tijd}.").format(tijd=until))
            found = None
        else:
            if found is None:
                st.error(_("Gebruikersnaam of wachtwoord klopt niet."))
        if found is not None:
            state["user"], state["last_active"] = found, time.time()
            # her signing key, from the password she typed: serve applies only commands signed by their actor
            state["signing_key"] = _users(str(CFG.state_dir)).signing_key(found, password)
            st.rerun()
    st.caption(_("kraamwacht is beslissingsondersteuning, geen gecertificeerd medisch hulpmiddel."))
    return None


# --- Overzicht ------------------------------------------------------------------------------------


def _cards() -> list[Any]:
    active = episodes().active(CFG.site)
    mothers = [e.mother for e in active]
    at = now()
    latest = latest_values(store(), mothers, now=at)
    trend = temperature_trend(store(), mothers, now=at)
    cards = [
        build_card(
            e.episode,
            label=e.label,
            latest=latest[e.mother],
            alert_state=feed().state(e.episode),
            now=at,
            spark_temp_c=trend[e.mother],
            lang=lang(),
        )
        for e in active
    ]
    return sort_cards(cards)


def overview_page() -> None:
    st.header(_("Overzicht"))

    @st.fragment(run_every=CFG.refresh_s)
    def live() -> None:
        require_session(activity=False)
        cards = _cards()
        if not cards:
            st.info(_("Geen lopende zorgperiodes. Een beheerder voegt ze toe (kraamwacht episode add)."))
            return
        labels = {"urgent": _("DRINGEND"), "warning": _("LET OP"), "technical": _("TECHNISCH"), "ok": _("in orde")}
        columns = st.columns(3)
        for i, card in enumerate(cards):
            with columns[i % 3].container(border=True):
                st.html(
                    f'<div class="kw-card" data-episode="{card.episode}" data-status="{card.status}">'
                    f'<span style="background:{card.colour};color:white;padding:2px 8px;border-radius:4px">'
                    f"{labels[card.status]}</span> <b>{card.label}</b></div>"
                )
                # the sensor's skin temperature, named so: an alert beside it speaks of the estimated core
                for name, value in (
                    (_("Huidtemperatuur (sensor)"), card.temperature),
                    (_("Hartslag"), card.heart_rate),
                ):
                    if value.age_s is None:
                        st.markdown(f"{name}: –")
                    elif value.fresh:
                        st.markdown(f"{name}: **{value.text}** ({age_text(value.age_s, lang())})")
                    else:
                        st.markdown(f"{name}: ~~{value.text}~~ *{_('niet actueel')}, {age_text(value.age_s, lang())}*")
                if card.spark_temp_c:
                    st.caption(f"{_('6 uur')}: {sparkline(card.spark_temp_c)}")
                for reason in card.reasons[:3]:
                    st.caption(reason)

    live()


# --- Meldingen ------------------------------------------------------------------------------------


@functools.cache
def _beep() -> str:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        t = np.arange(0, 0.6, 1 / 8000)
        w.writeframes((np.sin(2 * math.pi * 880 * t) * 12000).astype("<i2").tobytes())
    return base64.b64encode(buffer.getvalue()).decode()


def _open_alerts() -> list[tuple[Episode, dict[str, Any]]]:
    out = []
    for e in episodes().active(CFG.site):
        for alert in (feed().state(e.episode) or {}).get("open_alerts", []):
            out.append((e, alert))
    out.sort(key=lambda item: (-Severity(item[1].get("level", "warning")).rank, item[1].get("raised_at", "")))
    return out


def alerts_page() -> None:
    st.header(_("Meldingen"))
    sound = st.toggle(_("Geluid aan"), key="sound", help=_("Browsers spelen pas geluid af na een tik."))

    @st.fragment(run_every=CFG.refresh_s)
    def live() -> None:
        require_session(activity=False)  # a click in here reruns only this: it must find an ended session
        alerts = _open_alerts()
        urgent = {a["alert_id"] for _, a in alerts if a.get("level") == "urgent" and a.get("status") != "acknowledged"}
        heard = st.session_state.setdefault("heard_urgent", set())
        if sound and urgent - heard:
            st.html(f'<audio autoplay src="data:audio/wav;base64,{_beep()}"></audio>')
        st.session_state["heard_urgent"] = heard | urgent
        if not alerts:
            st.success(_("Geen open meldingen."))
        for episode, alert in alerts:
            _alert_box(episode, alert)

    live()


def _alert_box(episode: Episode, alert: dict[str, Any]) -> None:
    level = alert.get("level", "warning")
    key = alert["alert_id"]
    with st.container(border=True):
        badge = f":red-background[{_('DRINGEND')}]" if level == "urgent" else f":orange-background[{_('LET OP')}]"
        seen_by = f"{_('gezien door')} {alert.get('acknowledged_by')}"
        status = {"open": "open", "acknowledged": seen_by, "snoozed": _("gesnoozed")}
        shown = status.get(alert.get("status"), alert.get("status"))
        lang = st.session_state.get("lang", "nl")
        rule = display_name(str(alert.get("rule")), lang)
        if also := joined_names(str(alert.get("rule")), alert.get("values") or {}, lang):
            rule += f" ({_('ook')}: {', '.join(also)})"
        st.markdown(f"{badge} **{episode.label or episode.episode}** · {rule} · {shown}")
        st.markdown(message(alert))
        ack, snooze, minutes, note = st.columns([1, 1, 1, 2])
        if ack.button(_("Gezien"), key=f"ack-{key}", disabled=alert.get("status") == "acknowledged"):
            actor = require_session(activity=True).name
            _show_result(feed().command("acknowledge", key, actor=actor, signing_key=signing_key()))
        policy = feed().policy  # serve's own policy: the board offers only what serve accepts
        limit = (
            0.0
            if policy is None
            else policy.snooze_max_urgent_min
            if level == "urgent"
            else policy.snooze_max_warning_min
        )
        allowed = [c for c in (policy.snooze_choices_min if policy else ()) if c <= limit]
        chosen = minutes.selectbox(
            "min", allowed, key=f"min-{key}", label_visibility="collapsed", format_func=lambda m: f"{m} min"
        )
        if snooze.button(_("Snooze"), key=f"snz-{key}", disabled=not allowed):
            actor = require_session(activity=True).name
            _show_result(
                feed().command("snooze", key, actor=actor, duration_min=int(chosen), signing_key=signing_key())
            )
        text = note.text_input(_("Notitie"), key=f"note-{key}", label_visibility="collapsed", placeholder=_("Notitie"))
        if note.button(_("Notitie opslaan"), key=f"save-{key}") and text.strip():
            actor = require_session(activity=True).name
            _show_result(feed().command("note", key, actor=actor, note=text.strip(), signing_key=signing_key()))
        history = alert.get("audit") or []
        if history:
            with st.expander(f"{_('Geschiedenis')} ({len(history)})"):
                for item in history:  # plain text: a note is what someone typed, never markup
                    st.text(
                        f"{item.get('time', '')}: {item.get('actor', '')} {item.get('action', '')} {item.get('note') or ''}"
                    )


def _show_result(result: dict[str, Any]) -> None:
    if result.get("accepted"):
        st.toast(_("Opgeslagen"))
    else:
        st.error(f"{_('Niet gelukt')}: {result.get('reason')}")


# --- Cliënt ---------------------------------------------------------------------------------------


def client_page() -> None:
    from kraamwacht.dashboard.client import client_view

    user: User = st.session_state["user"]
    active = episodes().active(CFG.site)
    if not active:
        st.info(_("Geen lopende zorgperiodes."))
        return
    names = {e.label or e.episode: e for e in active}
    chosen = names[st.selectbox(_("Cliënt"), list(names), key="client")]
    client_view(chosen, user=user, store=store(), feed=feed(), broker=CFG.broker, site=CFG.site,
                update_jaundice=episodes().update_jaundice)  # fmt: skip
    _mother_link(chosen)
    _handover(chosen)


def _handover(episode: Episode) -> None:
    """*Overdracht*: the episode as FHIR R4 and as one page, from serve's ledger, event log and baseline."""
    from kraamwacht.handover import build_bundle, validate_bundle
    from kraamwacht.handover_source import read_record
    from kraamwacht.handover_summary import baselines_from_serve, write_summary_pdf

    with st.expander(_("Overdracht")):
        st.caption(_("Voor de verloskundige, de kinderarts en de JGZ: FHIR R4 (JSON) en één pagina (PDF)."))
        key = f"handover-{episode.episode}"
        if st.button(_("Overdracht maken"), key=f"{key}-make"):
            now = clock.utcnow()
            try:
                record = read_record(episode, store=CFG.store, events=CFG.serve_events)
                bundle = build_bundle(record, include_staff=False, generated_at=now)
                validate_bundle(bundle)
            except KraamwachtError as exc:
                st.error(f"{_('Geen overdracht')}: {exc}")
                return
            served = feed().baseline(episode.episode, episode.mother)
            pdf = io.BytesIO()
            write_summary_pdf(record, pdf, generated_at=now, include_staff=False,
                              baselines=baselines_from_serve(served) if served is not None else None)  # fmt: skip
            st.session_state[key] = (json.dumps(bundle, indent=1, ensure_ascii=False), pdf.getvalue(),
                                     len(record.events), CFG.serve_events.exists())  # fmt: skip
        made = st.session_state.get(key)
        if made is not None:
            bundle_text, pdf_bytes, n_events, with_log = made
            if not with_log:
                st.warning(_("Zonder meldingen: het logboek van serve is op deze machine niet te vinden."))
            json_col, pdf_col = st.columns(2)
            json_col.download_button(_("FHIR-bundel (JSON)"), bundle_text, f"overdracht-{episode.episode}.json",
                                     mime="application/fhir+json", key=f"{key}-json")  # fmt: skip
            pdf_col.download_button(_("Samenvatting (PDF)"), pdf_bytes, f"overdracht-{episode.episode}.pdf",
                                    mime="application/pdf", key=f"{key}-pdf")  # fmt: skip
            st.caption(f"{n_events} {_('meldingsgebeurtenissen')}")


def _mother_link(episode: Episode) -> None:
    """Her page's link again, her handout, and a new code when a link went astray (the old one stops)."""
    from kraamwacht.handout import HANDOUT_TEXTS, mother_link

    with st.expander(_("Pagina van de moeder")):
        base = CFG.public_url or _board_url()
        link = mother_link(base, episode.mother_code, episode.language)
        st.code(link, language=None)
        lang_col, button_col = st.columns(2)
        choices = list(HANDOUT_TEXTS)
        chosen = lang_col.selectbox(_("Taal van de folder"), choices, index=choices.index(episode.language)
                                    if episode.language in choices else 0, key=f"handout-lang-{episode.episode}")  # fmt: skip
        pdf = _handout_bytes(mother_link(base, episode.mother_code, chosen), chosen,
                             episodes().site_phone(episode.site), episode.label)  # fmt: skip
        button_col.download_button(_("Folder (PDF)"), pdf, f"kraamwacht-{episode.episode}-{chosen}.pdf",
                                   mime="application/pdf", key=f"handout-{episode.episode}")  # fmt: skip
        if st.button(_("Nieuwe code (de oude link werkt dan niet meer)"), key=f"renew-{episode.episode}"):
            episodes().renew_code(episode.episode)
            st.rerun()


@st.cache_data(max_entries=64, show_spinner=False)
def _handout_bytes(link: str, lang: str, phone: str | None, label: str) -> bytes:
    """The handout PDF, drawn once per link and text (not on every rerun of the Cliënt page)."""
    from kraamwacht.handout import handout_pdf

    with tempfile.TemporaryDirectory() as tmp:
        return handout_pdf(link=link, lang=lang, phone=phone, label=label, out=Path(tmp) / "folder.pdf").read_bytes()


def _board_url() -> str:
    """The board's own address as this browser reached it (behind a proxy: set KRAAMWACHT_PUBLIC_URL)."""
    url = str(getattr(st.context, "url", "") or "http://127.0.0.1:8501")
    parts = url.split("/")
    return "/".join(parts[:3])


# --- Onderzoek ------------------------------------------------------------------------------------


def research_page() -> None:
    from kraamwacht.dashboard.research import research_view

    research_view(Path(tempfile.gettempdir()))


# --- main -----------------------------------------------------------------------------------------

# A tablet board, not a developer's app: no deploy button; fingers, not a mouse: touch targets of at
# least 44 px (WCAG 2.5.5); held upright (narrower than 1000 px) the columns of cards wrap to two,
# and below 640 px to one, instead of three narrow ones whose lines break.
TABLET_CSS = """
[data-testid="stAppDeployButton"]{display:none}
button, [role="tab"], [data-baseweb="select"] > div, input {min-height:44px}
@media (max-width: 1000px) {
  [data-testid="stHorizontalBlock"]{flex-wrap:wrap}
  [data-testid="stHorizontalBlock"] > [data-testid="stColumn"]{min-width:calc(50% - 1rem) !important;flex:1 1 calc(50% - 1rem) !important}
}
@media (max-width: 640px) {
  [data-testid="stHorizontalBlock"] > [data-testid="stColumn"]{min-width:100% !important}
}
"""


def main() -> None:
    # a tablet first: pages in a bar at the top, the sidebar (language, log out) folded away until asked for
    st.set_page_config(page_title="kraamwacht", layout="wide", initial_sidebar_state="collapsed")
    st.markdown(f"<style>{TABLET_CSS}</style>", unsafe_allow_html=True)
    params = st.query_params
    if "moeder" in params:
        mother_page(params["moeder"], params.get("taal", "nl"))
        return
    st.sidebar.selectbox(
        "Taal / Language",
        ["nl", "en"],
        key="lang",
        format_func=lambda code: {"nl": "Nederlands", "en": "English"}[code],
    )
    user = login()
    if user is None:
        return
    pages = {
        "overzicht": (overview_page, _("Overzicht")),
        "meldingen": (alerts_page, _("Meldingen")),
        "client": (client_page, _("Cliënt")),
        "onderzoek": (research_page, _("Onderzoek")),
    }
    keys = [key for key in pages if can(user, key)]
    allowed = [st.Page(pages[k][0], title=pages[k][1], url_path=k, default=i == 0) for i, k in enumerate(keys)]
    with st.sidebar:
        st.markdown(f"{_('Ingelogd')}: **{user.name}** ({user.role})")
        if st.button(_("Uitloggen")):
            st.session_state.clear()
            st.rerun()
        st.caption(_("Beslissingsondersteuning, geen gecertificeerd medisch hulpmiddel."))
    st.navigation(allowed, position="top").run()


if __name__ == "__main__":  # streamlit runs this file as __main__; importing it (doctest collection) draws nothing
    main()
