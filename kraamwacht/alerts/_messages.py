"""Alert texts in Dutch and English that name the rule, the numbers and what to do."""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["RULES", "Rule", "render"]

Values = Mapping[str, float | int | str | None]


def nl(x: float | int | str | None, decimals: int = 1) -> str:
    """A number in Dutch notation (decimal comma): 37.6 → '37,6'."""
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return f"{x:.{decimals}f}".replace(".", ",")


def en(x: float | int | str | None, decimals: int = 1) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return f"{x:.{decimals}f}"


class Rule:
    """A named rule: its alert group, category, and how to phrase it."""

    def __init__(
        self,
        rule_id: str,
        *,
        group: str,
        category: str,
        source: str,
        text_nl: Callable[[Values], str],
        text_en: Callable[[Values], str],
    ) -> None:
        self.rule_id = rule_id
        self.group = group
        self.category = category
        self.source = source
        self.text_nl = text_nl
        self.text_en = text_en


RULES: dict[str, Rule] = {
    r.rule_id: r
    for r in (
        Rule(
            "temp_rise",
            group="temperature",
            category="clinical",
            source="personal baseline, window-limited CUSUM (kraamwacht defaults.toml [rise])",
            text_nl=lambda v: (
                f"Temperatuur stijgt: {nl(v['core_c'])} °C (geschatte kern), {nl(v['rise_c'])} °C boven haar eigen "
                f"basislijn sinds {nl(v['since_min'], 0)} min. Meet met de thermometer."
            ),
            text_en=lambda v: (
                f"Temperature rising: {en(v['core_c'])} °C (estimated core), {en(v['rise_c'])} °C above her own "
                f"baseline for {en(v['since_min'], 0)} min. Measure with the thermometer."
            ),
        ),
        Rule(
            "temp_rise_hr",
            group="temperature",
            category="clinical",
            source="temperature rise with concurrent heart-rate rise (kraamwacht defaults.toml [rise], [heart_rate])",
            text_nl=lambda v: (
                f"Temperatuur én hartslag stijgen: {nl(v['core_c'])} °C, {nl(v['rise_c'])} °C boven haar basislijn; "
                f"hartslag {nl(v['hr_bpm'], 0)}/min ({nl(v['hr_rise_bpm'], 0)} boven haar basislijn). "
                "Meet temperatuur en bel de verloskundige."
            ),
            text_en=lambda v: (
                f"Temperature and heart rate rising: {en(v['core_c'])} °C, {en(v['rise_c'])} °C above her baseline; "
                f"heart rate {en(v['hr_bpm'], 0)}/min ({en(v['hr_rise_bpm'], 0)} above her baseline). "
                "Measure her temperature and call the midwife."
            ),
        ),
        Rule(
            "fever",
            group="temperature",
            category="clinical",
            source="fever: core >= 38.0 °C (shared/reference: standard definition; kraamzorg practice)",
            text_nl=lambda v: (
                f"Koorts: geschatte kerntemperatuur {nl(v['core_c'])} °C (≥ {nl(v['threshold_c'])} °C) sinds "
                f"{nl(v['duration_min'], 0)} min. Controleer met de thermometer en neem contact op met de verloskundige."
            ),
            text_en=lambda v: (
                f"Fever: estimated core temperature {en(v['core_c'])} °C (≥ {en(v['threshold_c'])} °C) for "
                f"{en(v['duration_min'], 0)} min. Check with the thermometer and contact the midwife."
            ),
        ),
        Rule(
            "tachycardia",
            group="heart_rate",
            category="clinical",
            source="NICE NG51 recently pregnant: heart rate 100–130/min moderate-to-high risk",
            text_nl=lambda v: (
                f"Hartslag aanhoudend verhoogd: {nl(v['hr_bpm'], 0)}/min (≥ {nl(v['threshold_bpm'], 0)}) sinds "
                f"{nl(v['duration_min'], 0)} min in rust. Meet temperatuur en overleg met de verloskundige."
            ),
            text_en=lambda v: (
                f"Heart rate persistently raised: {en(v['hr_bpm'], 0)}/min (≥ {en(v['threshold_bpm'], 0)}) for "
                f"{en(v['duration_min'], 0)} min at rest. Measure her temperature and consult the midwife."
            ),
        ),
        Rule(
            "tachycardia_severe",
            group="heart_rate",
            category="clinical",
            source="NICE NG51 recently pregnant: heart rate > 130/min high risk",
            text_nl=lambda v: (
                f"Hartslag zeer hoog: {nl(v['hr_bpm'], 0)}/min (> {nl(v['threshold_bpm'], 0)}) sinds "
                f"{nl(v['duration_min'], 0)} min. Bel nu de verloskundige."
            ),
            text_en=lambda v: (
                f"Heart rate very high: {en(v['hr_bpm'], 0)}/min (> {en(v['threshold_bpm'], 0)}) for "
                f"{en(v['duration_min'], 0)} min. Call the midwife now."
            ),
        ),
        Rule(
            "sensor_loose",
            group="sensor",
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
    )
}

_RESOLVED_NL = "Opgeheven na {minutes} min: {text}"
_RESOLVED_EN = "Resolved after {minutes} min: {text}"
_CONDITION_NL = {
    "temperature": "temperatuur weer binnen haar eigen bereik ({core} °C).",
    "heart_rate": "hartslag weer onder de grens ({hr}/min).",
    "sensor": "sensor meet weer normaal ({temp} °C).",
}
_CONDITION_EN = {
    "temperature": "temperature back within her own range ({core} °C).",
    "heart_rate": "heart rate back below the limit ({hr}/min).",
    "sensor": "sensor reading normally again ({temp} °C).",
}


def render(rule_id: str, kind: str, values: Values) -> tuple[str, str]:
    """``(dutch, english)`` text for an alert transition."""
    rule = RULES[rule_id]
    if kind != "resolved":
        return rule.text_nl(values), rule.text_en(values)
    minutes = values.get("alert_duration_min")
    fill_nl = {"core": nl(values.get("core_c")), "hr": nl(values.get("hr_bpm"), 0), "temp": nl(values.get("temp_c"))}
    fill_en = {"core": en(values.get("core_c")), "hr": en(values.get("hr_bpm"), 0), "temp": en(values.get("temp_c"))}
    return (
        _RESOLVED_NL.format(minutes=nl(minutes, 0), text=_CONDITION_NL[rule.group].format(**fill_nl)),
        _RESOLVED_EN.format(minutes=en(minutes, 0), text=_CONDITION_EN[rule.group].format(**fill_en)),
    )
