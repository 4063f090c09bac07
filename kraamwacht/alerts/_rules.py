"""The one registry of every alert rule: group, category, source, display names and texts (nl, en).

A new rule is added here (words) and where it is decided (``signal`` or the lifecycle); a test
checks that every rule the core can emit has an entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kraamwacht.jaundice import JAUNDICE_RULES
from kraamwacht.signal import RULE_CONDITIONS, RULE_GROUPS

__all__ = ["RULES", "Rule", "display_name", "en", "exact", "nl", "render", "state_name"]

Values = Mapping[str, float | int | str | None]


def nl(x: float | int | str | None, decimals: int = 1) -> str:
    """A number in Dutch notation (decimal comma): 37.6 → '37,6'."""
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return f"{x:.{decimals}f}".replace(".", ",")


def exact(x: float | int | str | None, decimals: int = 1, *, lang: str = "nl") -> str:
    """A number shown with as many decimals as it has (at least ``decimals``): no rounding across a threshold.

    The core cuts the numbers a rule is judged on (``38.04`` → ``38.0``, ``130.04`` stays), so what
    a message prints satisfies the rule it names.
    """
    if x is None or isinstance(x, str):
        return nl(x) if lang == "nl" else en(x)
    text = repr(float(x))
    places = max(decimals, len(text.split(".")[1].rstrip("0")) if "." in text else 0)
    return nl(x, places) if lang == "nl" else en(x, places)


def en(x: float | int | str | None, decimals: int = 1) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return f"{x:.{decimals}f}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A named rule: its alert group, category, source, display names and how to phrase it.

    ``text_nl``/``text_en`` are ``None`` for the jaundice rules, whose words come with the advice
    (``kraamwacht.jaundice``) because they depend on the standard and the reading.
    """

    rule_id: str
    group: str
    category: str
    source: str
    name_nl: str
    name_en: str
    text_nl: Callable[[Values], str] | None = None
    text_en: Callable[[Values], str] | None = None


def _rule(
    rule_id: str, *, category: str, source: str, names: tuple[str, str], **texts: Callable[[Values], str]
) -> Rule:
    group = RULE_GROUPS.get(rule_id) or _OTHER_GROUPS[rule_id]
    return Rule(rule_id, group, category, source, names[0], names[1], texts.get("text_nl"), texts.get("text_en"))


_OTHER_GROUPS = {
    "no_data": "no_data",
    "low_battery": "battery",
    "gateway_offline": "gateway",
    **dict.fromkeys(JAUNDICE_RULES, "jaundice"),
}
_JAUNDICE_NAMES = {
    "bili_first_24h": ("Geelzucht in het eerste etmaal", "Jaundice in the first 24 hours"),
    "bili_phototherapy": ("Bilirubine boven de fototherapiegrens", "Bilirubin above the phototherapy line"),
    "bili_escalation": ("Bilirubine bij de escalatiegrens", "Bilirubin at the escalation line"),
    "bili_exchange": ("Bilirubine boven de wisseltransfusiegrens", "Bilirubin above the exchange line"),
    "bili_rate": ("Bilirubine stijgt snel", "Bilirubin rising fast"),
    "bili_tcb_margin": ("Huidmeting dicht bij de grens", "TcB close to the line"),
    "bili_tcb_near_line": ("Huidmeting dicht bij de grens", "TcB close to the line"),
    "bili_tcb_high": ("Huidmeting hoog", "TcB high"),
    "bili_tcb_invalid": ("Huidmeting niet bruikbaar", "TcB not usable"),
    "bili_ok": ("Bilirubine in orde", "Bilirubin fine"),
}


RULES: dict[str, Rule] = {
    r.rule_id: r
    for r in (
        _rule(
            "temp_rise",
            names=("Temperatuur stijgt", "Temperature rising"),
            category="clinical",
            source="docs/references.md#raised-temperature (kraamzorg 'verhoging' 37.6 °C; defaults.toml [rise])",
            text_nl=lambda v: (
                f"Temperatuur verhoogd en stijgend: {nl(v['core_c'])} °C geschatte kern (≥ {nl(v['threshold_c'])} °C, "
                f"geijkt met {v['calibration_n']} thermometermeting(en)), {nl(v['rise_c'])} °C boven haar eigen "
                f"basislijn sinds {nl(v['since_min'], 0)} min. Meet met de thermometer."
            ),
            text_en=lambda v: (
                f"Temperature raised and rising: {en(v['core_c'])} °C estimated core (≥ {en(v['threshold_c'])} °C, "
                f"calibrated with {v['calibration_n']} thermometer reading(s)), {en(v['rise_c'])} °C above her own "
                f"baseline for {en(v['since_min'], 0)} min. Measure with the thermometer."
            ),
        ),
        _rule(
            "temp_rise_hr",
            names=("Temperatuur en hartslag stijgen", "Temperature and heart rate rising"),
            category="clinical",
            source="docs/references.md#heart-rate-and-fever (temperature rise with a heart-rate rise; defaults.toml [rise], [heart_rate])",
            text_nl=lambda v: (
                f"Temperatuur én hartslag stijgen: {nl(v['rise_c'])} °C boven haar eigen basislijn sinds "
                f"{nl(v['since_min'], 0)} min; hartslag {nl(v['hr_bpm'], 0)}/min ({nl(v['hr_rise_bpm'], 0)} boven "
                "haar basislijn). Meet nu temperatuur en pols met de thermometer."
            ),
            text_en=lambda v: (
                f"Temperature and heart rate rising: {en(v['rise_c'])} °C above her own baseline for "
                f"{en(v['since_min'], 0)} min; heart rate {en(v['hr_bpm'], 0)}/min ({en(v['hr_rise_bpm'], 0)} above "
                "her baseline). Measure her temperature and pulse with the thermometer now."
            ),
        ),
        _rule(
            "fever",
            names=("Koorts", "Fever"),
            category="clinical",
            source="docs/references.md#fever (core >= 38.0 °C; the wearable's estimate, defaults.toml [fever])",
            text_nl=lambda v: (
                f"Koorts: geschatte kerntemperatuur tot {exact(v['peak_core_c'])} °C (≥ {nl(v['threshold_c'])} °C) "
                f"sinds {nl(v['duration_min'], 0)} min. Controleer met de thermometer en neem contact op met de "
                "verloskundige."
            ),
            text_en=lambda v: (
                f"Fever: estimated core temperature up to {exact(v['peak_core_c'], lang='en')} °C "
                f"(≥ {en(v['threshold_c'])} °C) for {en(v['duration_min'], 0)} min. Check with the thermometer and "
                "contact the midwife."
            ),
        ),
        _rule(
            "fever_thermometer",
            names=("Koorts gemeten", "Fever measured"),
            category="clinical",
            source="docs/references.md#fever (a thermometer reading >= 38.0 °C; defaults.toml [thermometer])",
            text_nl=lambda v: (
                f"Koorts gemeten met de thermometer: {nl(v['thermometer_c'])} °C op kernschaal (≥ "
                f"{nl(v['threshold_c'])} °C), {nl(v['minutes_ago'], 0)} min geleden. Neem nu contact op met de "
                "verloskundige."
            ),
            text_en=lambda v: (
                f"Fever measured with the thermometer: {en(v['thermometer_c'])} °C on the core scale (≥ "
                f"{en(v['threshold_c'])} °C), {en(v['minutes_ago'], 0)} min ago. Contact the midwife now."
            ),
        ),
        _rule(
            "tachycardia",
            names=("Hartslag verhoogd", "Heart rate raised"),
            category="clinical",
            source="docs/references.md#heart-rate (NICE NG51, recently pregnant: 100–130/min moderate-to-high risk)",
            text_nl=lambda v: (
                f"Hartslag aanhoudend verhoogd: tot {exact(v['peak_hr_bpm'], 0)}/min (≥ {nl(v['threshold_bpm'], 0)}) sinds "
                f"{nl(v['duration_min'], 0)} min in rust. Meet temperatuur en overleg met de verloskundige."
            ),
            text_en=lambda v: (
                f"Heart rate persistently raised: up to {exact(v['peak_hr_bpm'], 0, lang='en')}/min (≥ {en(v['threshold_bpm'], 0)}) for "
                f"{en(v['duration_min'], 0)} min at rest. Measure her temperature and consult the midwife."
            ),
        ),
        _rule(
            "tachycardia_severe",
            names=("Hartslag zeer hoog", "Heart rate very high"),
            category="clinical",
            source="docs/references.md#heart-rate (NICE NG51, recently pregnant: > 130/min high risk; MEWT severe > 130)",
            text_nl=lambda v: (
                f"Hartslag zeer hoog: tot {exact(v['peak_hr_bpm'], 0)}/min (> {nl(v['threshold_bpm'], 0)}) sinds "
                f"{nl(v['duration_min'], 0)} min. Bel nu de verloskundige."
            ),
            text_en=lambda v: (
                f"Heart rate very high: up to {exact(v['peak_hr_bpm'], 0, lang='en')}/min (> {en(v['threshold_bpm'], 0)}) for "
                f"{en(v['duration_min'], 0)} min. Call the midwife now."
            ),
        ),
        _rule(
            "sensor_loose",
            names=("Sensor zit los", "Sensor loose"),
            category="technical",
            source="technical: temperature dropped towards ambient (kraamwacht defaults.toml [sensor])",
            text_nl=lambda v: (
                f"Sensor zit mogelijk los (technisch, geen klinische bevinding): {nl(v['temp_c'])} °C gemeten sinds "
                f"{nl(v['duration_min'], 0)} min. Controleer of de sensor goed in de oksel zit."
            ),
            text_en=lambda v: (
                f"Sensor may be loose (technical, not a clinical finding): reading {en(v['temp_c'])} °C for "
                f"{en(v['duration_min'], 0)} min. Check that the sensor sits well in the armpit."
            ),
        ),
        _rule(
            "no_data",
            names=("Geen gegevens", "No data"),
            category="technical",
            source="kraamwacht defaults.toml [alerts] stale_*",
            text_nl=lambda v: (
                f"Geen gegevens van de sensor sinds {nl(v['minutes_without_data'], 0)} min (technisch, geen klinische "
                "bevinding). Controleer sensor en gateway."
            ),
            text_en=lambda v: (
                f"No data from the sensor for {en(v['minutes_without_data'], 0)} min (technical, not a clinical "
                "finding). Check the sensor and gateway."
            ),
        ),
        _rule(
            "low_battery",
            names=("Batterij bijna leeg", "Battery low"),
            category="technical",
            source="kraamwacht defaults.toml [alerts] battery_*",
            text_nl=lambda v: (
                f"Batterij van sensor {v['device']} bijna leeg: {nl(v['battery_pct'], 0)} % (technisch). "
                "Laad of vervang de sensor."
            ),
            text_en=lambda v: (
                f"Battery of sensor {v['device']} low: {en(v['battery_pct'], 0)} % (technical). "
                "Charge or replace the sensor."
            ),
        ),
        _rule(
            "gateway_offline",
            names=("Gateway offline", "Gateway offline"),
            category="technical",
            source="MQTT last will of the gateway",
            text_nl=lambda v: (
                f"Gateway {v['gateway']} is offline (technisch): er komen geen metingen van deze locatie binnen. "
                "Controleer stroom en internet."
            ),
            text_en=lambda v: (
                f"Gateway {v['gateway']} is offline (technical): no measurements arrive from this location. "
                "Check power and internet."
            ),
        ),
        *(
            _rule(
                rule, names=names, category="clinical", source="the bilirubin standard in use (AAP 2022 or NICE CG98)"
            )
            for rule, names in _JAUNDICE_NAMES.items()
        ),
    )
}

_RESOLVED_NL = "Opgeheven na {minutes} min: {text}"
_RESOLVED_EN = "Resolved after {minutes} min: {text}"
# what is normal again when an alert resolves: the condition of its rule, or both when temperature
# and pulse had joined in one clinical alert (its values' "rules"). A tachycardia also ends when her
# own baseline has caught up with a rate above 100/min, so its words say "normal for her", never
# "below the limit"
_CONDITION_NL = {
    "temperature": "temperatuur weer binnen haar eigen bereik ({core} °C).",
    "heart_rate": "hartslag weer normaal voor haar ({hr}/min).",
    "sensor": "sensor meet weer normaal ({temp} °C).",
    "both": "temperatuur weer binnen haar eigen bereik ({core} °C) en hartslag weer normaal voor haar ({hr}/min).",
}
_CONDITION_EN = {
    "temperature": "temperature back within her own range ({core} °C).",
    "heart_rate": "heart rate back to normal for her ({hr}/min).",
    "sensor": "sensor reading normally again ({temp} °C).",
    "both": "temperature back within her own range ({core} °C) and heart rate back to normal for her ({hr}/min).",
}

# the device and gateway conditions of the lifecycle: resolved when the condition ends, no duration
_RESOLVED_CONDITION = {
    "no_data": ("Opgeheven: er komen weer gegevens binnen.", "Resolved: data is arriving again."),
    "battery": ("Opgeheven: batterij {battery} %.", "Resolved: battery {battery} %."),
    "gateway": ("Opgeheven: gateway {gateway} is weer online.", "Resolved: gateway {gateway} is online again."),
}


def render(rule_id: str, kind: str, values: Values) -> tuple[str, str]:
    """``(dutch, english)`` text for a detector's alert transition."""
    rule = RULES[rule_id]
    if kind != "resolved":
        if rule.text_nl is None or rule.text_en is None:
            raise KeyError(f"rule {rule_id} takes its words from its advice, not from the registry")
        return rule.text_nl(values), rule.text_en(values)
    if rule.group in _RESOLVED_CONDITION:
        text_nl, text_en = _RESOLVED_CONDITION[rule.group]
        fill = {"battery": nl(values.get("battery_pct"), 0), "gateway": values.get("gateway")}
        return text_nl.format(**fill), text_en.format(**fill)
    minutes = values.get("alert_duration_min")
    joined = {RULE_CONDITIONS.get(r) for r in _joined_rules(values) or [rule_id]}
    condition = "both" if {"temperature", "heart_rate"} <= joined else RULE_CONDITIONS[rule_id]
    fill_nl = {"core": nl(values.get("core_c")), "hr": nl(values.get("hr_bpm"), 0), "temp": nl(values.get("temp_c"))}
    fill_en = {"core": en(values.get("core_c")), "hr": en(values.get("hr_bpm"), 0), "temp": en(values.get("temp_c"))}
    return (
        _RESOLVED_NL.format(minutes=nl(minutes, 0), text=_CONDITION_NL[condition].format(**fill_nl)),
        _RESOLVED_EN.format(minutes=en(minutes, 0), text=_CONDITION_EN[condition].format(**fill_en)),
    )


def display_name(rule_id: str, lang: str = "nl") -> str:
    """The words a person sees for a rule (never its id); an unknown rule gets a neutral name."""
    rule = RULES.get(rule_id)
    if rule is None:
        return "Melding" if lang == "nl" else "Alert"
    return rule.name_en if lang == "en" else rule.name_nl


def _joined_rules(values: Values) -> list[str]:
    """The rules that have been part of a clinical alert (its values' ``rules``, comma-separated)."""
    return [rule for rule in str(values.get("rules") or "").split(",") if rule]


def joined_names(rule_id: str, values: Values, lang: str = "nl") -> list[str]:
    """Names of what else is in a clinical alert: the newest rule of each other condition that joined it.

    An alert shows one rule (the one that raised or last escalated it); a pulse that joined a
    temperature alert is only in its ``values["rules"]``, which serve computed.
    """
    own = RULE_CONDITIONS.get(rule_id)
    newest: dict[str, str] = {}
    for rule in _joined_rules(values):
        condition = RULE_CONDITIONS.get(rule)
        if condition is not None and condition != own:
            newest[condition] = rule
    return [display_name(rule, lang) for rule in newest.values()]


# the words a person sees for an alert's states and levels (never the ids on the wire)
_STATE_NAMES = {
    "raised": ("gemeld", "raised"),
    "escalated": ("opgeschaald", "escalated"),
    "joined": ("aangevuld", "joined"),
    "resolved": ("opgeheven", "resolved"),
    "acknowledged": ("gezien", "acknowledged"),
    "snoozed": ("gesnoozed", "snoozed"),
    "repeated": ("herhaald", "repeated"),
    "open": ("open", "open"),
    "warning": ("let op", "warning"),
    "urgent": ("dringend", "urgent"),
    "ok": ("in orde", "ok"),
}


def state_name(state: str, lang: str = "nl") -> str:
    """Dutch (or English) words for an event kind, a status or a level."""
    names = _STATE_NAMES.get(state)
    return state if names is None else names[1] if lang == "en" else names[0]
