"""What the board shows, computed from data (pure: no Streamlit, no I/O), so tests can check it.

* numbers in Dutch format (``37,6 °C``) and ages of values in words (``3 min geleden``);
* one :class:`Card` per care episode with a status colour: ``urgent`` / ``warning`` from open
  clinical alerts, ``technical`` from technical alerts or values that are not fresh, ``ok``;
  a stale value is never shown as live (its age is shown, and the card says so);
* cards sorted by urgency, then by the age of the oldest open alert;
* the mother's page status in plain language (B1), in Dutch, English, Arabic and Turkish.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kraamwacht.alerts import display_name

__all__ = [
    "MOTHER_TEXTS",
    "RTL_LANGUAGES",
    "STATUS_ORDER",
    "Card",
    "age_text",
    "build_card",
    "fmt_number",
    "mother_status",
    "read_aloud_html",
    "sort_cards",
]

STATUS_ORDER = {"urgent": 0, "warning": 1, "technical": 2, "ok": 3}
STATUS_COLOURS = {"urgent": "#c62828", "warning": "#ef6c00", "technical": "#6a1b9a", "ok": "#2e7d32"}
RTL_LANGUAGES = frozenset({"ar"})


def fmt_number(value: float | None, decimals: int = 1, lang: str = "nl") -> str:
    """``37.6`` → ``37,6`` in Dutch; ``–`` for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    text = f"{value:,.{decimals}f}"
    if lang == "nl":
        text = text.replace(",", "\u2009").replace(".", ",")  # thin space for thousands, decimal comma
    return text


def age_text(age_s: float, lang: str = "nl") -> str:
    """How long ago, in words: ``net``, ``3 min geleden``, ``2 uur geleden``."""
    minutes = int(max(age_s, 0) // 60)
    if lang == "nl":
        if minutes < 1:
            return "zojuist"
        return f"{minutes} min geleden" if minutes < 120 else f"{minutes // 60} uur geleden"
    if minutes < 1:
        return "just now"
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"


@dataclass(frozen=True, slots=True)
class Value:
    text: str  # formatted with unit, e.g. "37,6 °C"
    age_s: float | None
    fresh: bool


@dataclass(frozen=True, slots=True)
class Card:
    episode: str
    label: str
    status: str  # urgent / warning / technical / ok
    temperature: Value
    heart_rate: Value
    open_alerts: tuple[dict[str, Any], ...]
    spark_temp_c: tuple[float, ...] = ()
    reasons: tuple[str, ...] = field(default=())  # why the status is what it is, in words

    @property
    def colour(self) -> str:
        return STATUS_COLOURS[self.status]

    @property
    def oldest_alert_at(self) -> str:
        return min((a.get("raised_at", "") for a in self.open_alerts), default="~")


def _value(latest: tuple[float, float] | None, now_s: float, stale_s: float, unit: str, decimals: int) -> Value:
    if latest is None:
        return Value("–", None, False)
    t_s, v = latest
    age = now_s - t_s
    return Value(f"{fmt_number(v, decimals)} {unit}", age, age <= stale_s)


def build_card(
    episode: str,
    *,
    label: str,
    latest: Mapping[str, tuple[float, float]],
    alert_state: Mapping[str, Any] | None,
    now: datetime,
    stale_s: float = 15 * 60,
    spark_temp_c: Sequence[float] = (),
    lang: str = "nl",
) -> Card:
    """The card of one episode. ``latest``: signal → (time_s, value) of the mother's newest sample."""
    now_s = now.timestamp()
    alerts = tuple((alert_state or {}).get("open_alerts", ()))
    temperature = _value(latest.get("temperature_c"), now_s, stale_s, "°C", 1)
    heart_rate = _value(latest.get("heart_rate_bpm"), now_s, stale_s, "/min", 0)
    reasons: list[str] = []
    clinical = [a for a in alerts if a.get("category") == "clinical"]
    if any(a.get("level") == "urgent" for a in clinical):
        status = "urgent"
    elif clinical:
        status = "warning"
    elif any(a.get("category") == "technical" for a in alerts) or not temperature.fresh:
        status = "technical"
    else:
        status = "ok"
    english = lang == "en"
    reasons += [
        str((english and a.get("message_en")) or a.get("message") or display_name(str(a.get("rule")), lang))
        for a in alerts
    ]
    if not temperature.fresh:
        if temperature.age_s is None:
            reasons.append("no temperature received" if english else "geen temperatuur ontvangen")
        else:
            stale = "temperature not current" if english else "temperatuur niet actueel"
            reasons.append(f"{stale} ({age_text(temperature.age_s, lang)})")
    return Card(episode, label or episode, status, temperature, heart_rate, alerts, tuple(spark_temp_c), tuple(reasons))


def sort_cards(cards: Sequence[Card]) -> list[Card]:
    """Most urgent first; within a status, the longest-waiting alert first, then by name."""
    return sorted(cards, key=lambda c: (STATUS_ORDER[c.status], c.oldest_alert_at, c.label))


# --- the mother's page ---------------------------------------------------------------------------

MOTHER_TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Uw sensor",
        "ok": "Uw sensor werkt goed.",
        "ok_do": "U hoeft niets te doen.",
        "loose": "Uw sensor zit los.",
        "loose_do": "Doe de sensor weer onder uw oksel. Druk hem goed vast op de huid.",
        "battery": "De batterij van uw sensor is bijna leeg.",
        "battery_do": "Laad de sensor op, of vraag uw kraamverzorgende om een nieuwe.",
        "silent": "Wij krijgen geen gegevens van uw sensor.",
        "silent_do": "Houd de sensor dicht bij het kastje. Werkt het niet? Bel uw kraamverzorgende.",
        "unwell": "Voelt u zich niet goed? Bel altijd uw kraamverzorgende of verloskundige.",
        "read_aloud": "Voorlezen",
    },
    "en": {
        "title": "Your sensor",
        "ok": "Your sensor works well.",
        "ok_do": "You do not need to do anything.",
        "loose": "Your sensor is loose.",
        "loose_do": "Put the sensor back under your armpit. Press it firmly onto your skin.",
        "battery": "The battery of your sensor is almost empty.",
        "battery_do": "Charge the sensor, or ask your maternity carer for a new one.",
        "silent": "We do not receive data from your sensor.",
        "silent_do": "Keep the sensor close to the small box. Still not working? Call your maternity carer.",
        "unwell": "Do you feel unwell? Always call your maternity carer or midwife.",
        "read_aloud": "Read aloud",
    },
    "ar": {
        "title": "جهاز الاستشعار الخاص بك",
        "ok": "جهاز الاستشعار يعمل جيدًا.",
        "ok_do": "لا تحتاجين إلى فعل أي شيء.",
        "loose": "جهاز الاستشعار غير مثبت.",
        "loose_do": "ضعي جهاز الاستشعار مرة أخرى تحت إبطك. اضغطي عليه جيدًا على الجلد.",
        "battery": "بطارية جهاز الاستشعار على وشك النفاد.",
        "battery_do": "اشحني جهاز الاستشعار، أو اطلبي جهازًا جديدًا من مساعدة الأمومة.",
        "silent": "لا نستقبل بيانات من جهاز الاستشعار.",
        "silent_do": "أبقي جهاز الاستشعار قريبًا من الصندوق الصغير. إذا لم يعمل، اتصلي بمساعدة الأمومة.",
        "unwell": "هل تشعرين بتوعك؟ اتصلي دائمًا بمساعدة الأمومة أو القابلة.",
        "read_aloud": "استمعي إلى النص",
    },
    "tr": {
        "title": "Sensörünüz",
        "ok": "Sensörünüz iyi çalışıyor.",
        "ok_do": "Bir şey yapmanıza gerek yok.",
        "loose": "Sensörünüz gevşek.",
        "loose_do": "Sensörü tekrar koltuk altınıza koyun. Cildinize iyice bastırın.",
        "battery": "Sensörünüzün pili bitmek üzere.",
        "battery_do": "Sensörü şarj edin veya lohusa bakıcınızdan yenisini isteyin.",
        "silent": "Sensörünüzden veri alamıyoruz.",
        "silent_do": "Sensörü küçük kutuya yakın tutun. Hâlâ çalışmıyor mu? Lohusa bakıcınızı arayın.",
        "unwell": "Kendinizi iyi hissetmiyor musunuz? Her zaman lohusa bakıcınızı veya ebenizi arayın.",
        "read_aloud": "Sesli dinle",
    },
    "pl": {
        "title": "Twój czujnik",
        "ok": "Twój czujnik działa dobrze.",
        "ok_do": "Nie musisz nic robić.",
        "loose": "Twój czujnik się odkleił.",
        "loose_do": "Włóż czujnik z powrotem pod pachę. Mocno dociśnij go do skóry.",
        "battery": "Bateria czujnika jest prawie pusta.",
        "battery_do": "Naładuj czujnik albo poproś opiekunkę poporodową o nowy.",
        "silent": "Nie dostajemy danych z Twojego czujnika.",
        "silent_do": "Trzymaj czujnik blisko małego pudełka. Nadal nie działa? Zadzwoń do opiekunki poporodowej.",
        "unwell": "Źle się czujesz? Zawsze dzwoń do opiekunki poporodowej albo położnej.",
        "read_aloud": "Przeczytaj na głos",
    },
    "uk": {
        "title": "Ваш датчик",
        "ok": "Ваш датчик працює добре.",
        "ok_do": "Вам нічого не треба робити.",
        "loose": "Ваш датчик відклеївся.",
        "loose_do": "Покладіть датчик знову під пахву. Міцно притисніть його до шкіри.",
        "battery": "Батарея датчика майже розряджена.",
        "battery_do": "Зарядіть датчик або попросіть у помічниці з догляду новий.",
        "silent": "Ми не отримуємо даних від вашого датчика.",
        "silent_do": "Тримайте датчик близько до маленької коробки. Досі не працює? Зателефонуйте помічниці з догляду.",
        "unwell": "Погано почуваєтеся? Завжди телефонуйте помічниці з догляду або акушерці.",
        "read_aloud": "Прочитати вголос",
    },
}
SPEECH_LANGUAGES = {
    "nl": "nl-NL",
    "en": "en-GB",
    "ar": "ar",
    "tr": "tr-TR",
    "pl": "pl-PL",
    "uk": "uk-UA",
}  # BCP 47 tags for the browser's voice


def read_aloud_html(texts: dict[str, str], status: str, lang: str, *, more: Sequence[str] = ()) -> str:
    """A button that reads her page aloud with the browser's own speech synthesis (no network, no
    recording): for a mother who reads little. What it says is exactly what the page shows."""
    spoken = " ".join((texts["title"] + ".", texts[status], texts[status + "_do"], texts["unwell"], *more))
    direction = "rtl" if lang == "ar" else "ltr"
    speaker = (  # a loudspeaker drawn, not an emoji: a phone or tablet may have no emoji font
        '<svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true" style="vertical-align:middle">'
        '<path d="M3 9h4l5-4v14l-5-4H3z" fill="#1565c0"/><path d="M15 8q3 4 0 8M18 5q6 7 0 14" fill="none" '
        'stroke="#1565c0" stroke-width="2"/></svg>'
    )
    return (
        f'<div dir="{direction}" style="text-align:start;font-family:sans-serif">'
        f'<button id="voorlezen" style="font-size:1.4rem;min-height:48px;padding:0 1.2rem;'
        'border-radius:8px;border:2px solid #1565c0;background:#e3f2fd;cursor:pointer">'
        f"{speaker} {html.escape(texts['read_aloud'])}</button></div>"
        f"<script>const spoken = {json.dumps(spoken)}; const voice = {json.dumps(SPEECH_LANGUAGES.get(lang, lang))};"
        "document.getElementById('voorlezen').onclick = () => {"
        " const synth = window.speechSynthesis; if (!synth) { return; }"
        " synth.cancel(); const u = new SpeechSynthesisUtterance(spoken); u.lang = voice; synth.speak(u); };"
        "</script>"
    )


_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">{}</svg>'
MOTHER_ICONS = {  # pictograms as inline SVG: a tablet may have no emoji font
    "ok": _SVG.format('<circle cx="48" cy="48" r="44" fill="#2e7d32"/><path d="M26 50l15 15 29-32" stroke="white" '
                      'stroke-width="9" fill="none" stroke-linecap="round" stroke-linejoin="round"/>'),
    "loose": _SVG.format('<circle cx="48" cy="48" r="44" fill="#ef6c00"/><rect x="30" y="52" width="36" height="18" rx="6" '
                         'fill="white"/><path d="M48 18v24M38 32l10 10 10-10" stroke="white" stroke-width="7" fill="none" '
                         'stroke-linecap="round" stroke-linejoin="round"/>'),
    "battery": _SVG.format('<rect x="12" y="28" width="64" height="40" rx="6" fill="none" stroke="#c62828" '
                           'stroke-width="6"/><rect x="78" y="40" width="8" height="16" fill="#c62828"/>'
                           '<rect x="19" y="35" width="12" height="26" fill="#c62828"/>'),
    "silent": _SVG.format('<g fill="#6a1b9a"><rect x="14" y="62" width="12" height="18"/><rect x="34" y="48" width="12" '
                          'height="32"/><rect x="54" y="34" width="12" height="46"/><rect x="74" y="18" width="12" '
                          'height="62"/></g><path d="M10 14l76 72" stroke="#c62828" stroke-width="8" stroke-linecap="round"/>'),
}  # fmt: skip
TECHNICAL_RULE_STATES = {
    "sensor_loose": "loose",
    "low_battery": "battery",
    "no_data": "silent",
    "gateway_offline": "silent",
}


def mother_status(alert_state: Mapping[str, Any] | None, *, temperature_fresh: bool) -> str:
    """``ok`` / ``loose`` / ``battery`` / ``silent``: technical only, never a clinical alarm or number."""
    found = [
        TECHNICAL_RULE_STATES[a["rule"]]
        for a in (alert_state or {}).get("open_alerts", ())
        if a.get("category") == "technical" and a.get("rule") in TECHNICAL_RULE_STATES
    ]
    for state in ("loose", "silent", "battery"):
        if state in found:
            return state
    return "ok" if temperature_fresh else "silent"
