"""Handover in the chain: one care episode as a FHIR R4 ``Bundle`` for the midwife, the
paediatrician and youth health care (JGZ), without retyping.

What goes in, and only what the store and serve's event log hold:

* ``Patient`` for the mother and each newborn, identified by their pseudonymous ids only (an
  ``identifier.system`` per site); the newborn's birth time and gestational age;
* ``Observation`` with LOINC codes and UCUM units: each thermometer spot check (8310-5 body
  temperature, ``Cel``, its method), the wearable as **hourly summaries** (median as the value,
  minimum and maximum as components: a week at 1 Hz is 600,000 points nobody in the chain reads),
  heart rate (8867-4, ``/min``) the same way, serum bilirubin (14631-6, ``umol/L``) and
  transcutaneous bilirubin (58941-6, whose LOINC unit is mg/dL: converted with 17.1 µmol/L per
  mg/dL, the measured µmol/L kept in the note);
* ``Device`` for each wearable and each entry account;
* ``DetectedIssue`` for each alert: its rule, level, message, raised and resolved times, and the
  acknowledgements as mitigations (with who, only when the site allows staff names).

``meta.profile`` names the Dutch nl-core (zib 2020) profiles where one exists; the instances are
checked against FHIR's R4 models (``fhir.resources``), not against the profiles (that needs the HL7
validator with the Nictiz package).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from kraamwacht.contract import AlertEvent, format_time
from kraamwacht.episodes import Episode
from kraamwacht.errors import InvalidValueError

__all__ = [
    "AlertHistory",
    "EpisodeRecord",
    "alert_histories",
    "build_bundle",
    "bundle_rows",
    "summary_counts",
    "validate_bundle",
]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
NL_CORE = "http://nictiz.nl/fhir/StructureDefinition/"
GA_EXTENSION = "https://kraamwacht.example/fhir/StructureDefinition/gestational-age-weeks"  # ours: no zib for it
BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
UMOL_PER_MGDL = 17.1  # bilirubin: 1 mg/dL = 17.1 µmol/L (docs/references.md)
CODES = {
    "temperature": (LOINC, "8310-5", "Body temperature", "Cel", "°C", "nl-core-BodyTemperature"),
    "heart_rate": (LOINC, "8867-4", "Heart rate", "/min", "/min", "nl-core-HeartRate"),
    "tsb": (
        LOINC,
        "14631-6",
        "Bilirubin.total [Moles/volume] in Serum or Plasma",
        "umol/L",
        "µmol/L",
        "nl-core-LaboratoryTestResult",
    ),
    "tcb": (LOINC, "58941-6", "Transcutaneous Bilirubin measurement", "mg/dL", "mg/dL", None),
}
VITAL_SIGNS = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]
}
LABORATORY = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]
}


@dataclass
class EpisodeRecord:
    """Everything the handover may contain, read from the store, the event log and the registry."""

    episode: Episode
    skin_c: tuple[np.ndarray, np.ndarray]  # (time_s, value) of the wearable
    hr_bpm: tuple[np.ndarray, np.ndarray]
    spot_checks: list[tuple[float, float, str | None]]  # (time_s, °C, method)
    bilirubin: list[tuple[float, float, str | None]]  # (time_s, µmol/L, tcb/tsb) of the (first) newborn
    devices: list[tuple[str, str]]  # (device, signal)
    events: list[AlertEvent] = field(default_factory=list)
    twin_bilirubin: dict[str, list[tuple[float, float, str | None]]] = field(default_factory=dict)  # by newborn

    def bilirubin_of(self) -> dict[str, list[tuple[float, float, str | None]]]:
        """Every newborn's readings, the first born first (twins: one list each)."""
        return {self.episode.newborn: self.bilirubin, **{t: self.twin_bilirubin.get(t, []) for t in self.episode.twins}}


def _id(kind: str, *parts: object) -> str:
    """A stable id: the same episode gives the same bundle (uuid5 of what the resource is)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "kraamwacht:" + kind + ":" + ":".join(map(str, parts))))


def _time(t_s: float) -> str:
    return format_time(datetime.fromtimestamp(t_s, tz=UTC))


def _quantity(value: float, code: str, unit: str) -> dict[str, Any]:
    return {"value": round(float(value), 2), "unit": unit, "system": UCUM, "code": code}


def _codeable(kind: str) -> dict[str, Any]:
    system, code, display, *_ = CODES[kind]
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _meta(kind: str) -> dict[str, Any]:
    profile = CODES[kind][5]
    return {"meta": {"profile": [NL_CORE + profile]}} if profile else {}


def build_bundle(record: EpisodeRecord, *, include_staff: bool = False, generated_at: datetime) -> dict[str, Any]:
    """The episode as a FHIR R4 ``collection`` Bundle (a plain JSON dict)."""
    e = record.episode
    system = f"urn:kraamwacht:{e.site}:subject"
    mother_ref = f"urn:uuid:{_id('Patient', e.site, e.mother)}"
    baby_refs = {baby: f"urn:uuid:{_id('Patient', e.site, baby)}" for baby in e.newborns}
    resources: list[tuple[str, dict[str, Any]]] = [
        (mother_ref, {"resourceType": "Patient", "meta": {"profile": [NL_CORE + "nl-core-Patient"]},
                      "identifier": [{"system": system, "value": e.mother}], "gender": "female"}),
    ]  # fmt: skip
    for baby, baby_ref in baby_refs.items():  # twins: a Patient each, with her own birth time
        born = e.birth_of(baby)
        resources.append(
            (baby_ref, {"resourceType": "Patient", "meta": {"profile": [NL_CORE + "nl-core-Patient"]},
                        "identifier": [{"system": system, "value": baby}],
                        "birthDate": born.date().isoformat(),
                        "_birthDate": {"extension": [{"url": BIRTH_TIME, "valueDateTime": format_time(born)}]},
                        "extension": [{"url": GA_EXTENSION, "valueDecimal": e.ga_weeks}]})
        )  # fmt: skip
    device_refs: dict[str, str] = {}
    for device, _signal in record.devices:
        if device in device_refs:
            continue
        ref = f"urn:uuid:{_id('Device', e.site, device)}"
        device_refs[device] = ref
        kind = "entry by hand (thermometer, bilirubin meter)" if device.startswith("manual-") else "wearable sensor"
        name = device if include_staff or not device.startswith("manual-") else "manual"
        resources.append((ref, {"resourceType": "Device", "identifier": [{"system": f"urn:kraamwacht:{e.site}:device",
                                "value": name}], "type": {"text": kind}}))  # fmt: skip
    for t_s, value, method in record.spot_checks:
        resources.append(
            (f"urn:uuid:{_id('Observation', e.mother, 'thermometer', t_s)}", {
                "resourceType": "Observation", **_meta("temperature"), "status": "final", "category": [VITAL_SIGNS],
                "code": _codeable("temperature"), "subject": {"reference": mother_ref},
                "effectiveDateTime": _time(t_s), "valueQuantity": _quantity(value, "Cel", "°C"),
                "method": {"text": f"thermometer, {method or 'rectal'}"},
            })
        )  # fmt: skip
    for kind, (times, values), site_text in (
        ("temperature", record.skin_c, "axilla (skin sensor, not a core temperature)"),
        ("heart_rate", record.hr_bpm, None),
    ):
        for start_s, median, low, high, n in _hourly(times, values):
            unit = CODES[kind][3]
            shown = CODES[kind][4]
            body: dict[str, Any] = {
                "resourceType": "Observation", **_meta(kind), "status": "final", "category": [VITAL_SIGNS],
                "code": _codeable(kind), "subject": {"reference": mother_ref},
                "effectivePeriod": {"start": _time(start_s), "end": _time(start_s + 3600)},
                "valueQuantity": _quantity(median, unit, shown),
                "method": {"text": f"wearable, hourly median of {n} samples"},
                "component": [
                    {"code": {**_codeable(kind), "text": "hourly minimum"}, "valueQuantity": _quantity(low, unit, shown)},
                    {"code": {**_codeable(kind), "text": "hourly maximum"}, "valueQuantity": _quantity(high, unit, shown)},
                ],
            }  # fmt: skip
            if site_text:
                body["bodySite"] = {"text": site_text}
            resources.append((f"urn:uuid:{_id('Observation', e.mother, kind, start_s)}", body))
    for baby, readings in record.bilirubin_of().items():
        for t_s, umol, method in readings:
            kind = "tsb" if method == "tsb" else "tcb"
            value = (
                _quantity(umol, "umol/L", "µmol/L")
                if kind == "tsb"
                else _quantity(umol / UMOL_PER_MGDL, "mg/dL", "mg/dL")
            )
            resources.append(
                (f"urn:uuid:{_id('Observation', baby, kind, t_s)}", {
                    "resourceType": "Observation", **_meta(kind), "status": "final",
                    "category": [LABORATORY if kind == "tsb" else VITAL_SIGNS], "code": _codeable(kind),
                    "subject": {"reference": baby_refs[baby]}, "effectiveDateTime": _time(t_s), "valueQuantity": value,
                    "note": [{"text": f"as entered: {umol:g} µmol/L" + ("" if kind == "tsb" else
                              f"; converted with {UMOL_PER_MGDL} µmol/L per mg/dL")}],
                })
            )  # fmt: skip
    resources += _issues(record, {e.mother: mother_ref, **baby_refs}, include_staff=include_staff)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "identifier": {"system": f"urn:kraamwacht:{e.site}:handover", "value": e.episode},
        "timestamp": format_time(generated_at),
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in resources],
    }


def _hourly(times: np.ndarray, values: np.ndarray) -> list[tuple[float, float, float, float, int]]:
    """(hour start, median, minimum, maximum, count) per clock hour with data."""
    if len(times) == 0:
        return []
    hours = np.floor(np.asarray(times, dtype=float) / 3600.0) * 3600.0
    frame = pd.DataFrame({"h": hours, "v": np.asarray(values, dtype=float)}).dropna()
    grouped = frame.groupby("h")["v"].agg(["median", "min", "max", "count"])
    return [
        (float(h), float(r["median"]), float(r["min"]), float(r["max"]), int(r["count"])) for h, r in grouped.iterrows()
    ]


@dataclass(frozen=True, slots=True)
class AlertHistory:
    """One alert as handed over: its first raise, its highest step, its last resolve, its acknowledgements."""

    alert_id: str
    raised: AlertEvent
    peak: AlertEvent  # an escalated alert is handed over at its highest level
    resolved: AlertEvent | None
    events: list[AlertEvent]  # every event of the alert, in time order

    @property
    def urgent(self) -> bool:
        return any(ev.level.value == "urgent" for ev in self.events)

    @property
    def acknowledgements(self) -> list[AlertEvent]:
        return [ev for ev in self.events if ev.event.value == "acknowledged"]


def alert_histories(events: Iterable[AlertEvent]) -> list[AlertHistory]:
    """The events grouped per alert, in the order the alerts were first seen (the bundle and the summary)."""
    by_alert: dict[str, list[AlertEvent]] = defaultdict(list)
    for event in events:
        by_alert[event.alert_id].append(event)
    out = []
    for alert_id, alert_events in sorted(by_alert.items(), key=lambda item: min(e.time for e in item[1])):
        alert_events.sort(key=lambda ev: ev.time)
        raised = next((ev for ev in alert_events if ev.event.value == "raised"), alert_events[0])
        steps = [ev for ev in alert_events if ev.event.value in ("raised", "escalated")] or alert_events
        peak = max(steps, key=lambda ev: (ev.level.rank, ev.time))
        resolved = next((ev for ev in reversed(alert_events) if ev.event.value == "resolved"), None)
        out.append(AlertHistory(alert_id, raised, peak, resolved, alert_events))
    return out


def _issues(record: EpisodeRecord, refs: dict[str, str], *, include_staff: bool) -> list[tuple[str, dict[str, Any]]]:
    """One DetectedIssue per alert: its first raise, its highest level, its last state, its acknowledgements."""
    out = []
    for history in alert_histories(e for e in record.events if e.subject in refs):
        alert_id, raised, peak, resolved = history.alert_id, history.raised, history.peak, history.resolved
        urgent = history.urgent
        mitigations = []
        for ev in history.acknowledgements:
            mitigation: dict[str, Any] = {"action": {"text": "acknowledged"}, "date": format_time(ev.time)}
            actor = ev.values.get("actor")
            if include_staff and actor:
                mitigation["author"] = {"display": str(actor)}
            mitigations.append(mitigation)
        body: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "status": "final" if resolved else "preliminary",
            "code": {"coding": [{"system": "urn:kraamwacht:rule", "code": peak.rule}], "text": peak.rule},
            "severity": "high" if urgent else "moderate",
            "patient": {"reference": refs[raised.subject]},
            "identifiedDateTime": format_time(raised.time),
            "detail": f"{peak.message} (source: {peak.source})",
        }
        if resolved:
            body["extension"] = [{"url": "https://kraamwacht.example/fhir/StructureDefinition/resolved-at",
                                  "valueDateTime": format_time(resolved.time)}]  # fmt: skip
        if mitigations:
            body["mitigation"] = mitigations
        out.append((f"urn:uuid:{_id('DetectedIssue', alert_id)}", {k: v for k, v in body.items() if v is not None}))
    return out


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Raise ``InvalidValueError`` unless the bundle and every resource in it parse as FHIR R4(B) (fhir.resources).

    Each entry is checked with its own resource's model (cardinality, data types, unknown fields);
    code values against their value sets are not checked by these models.
    """
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except (ValidationError, KeyError) as exc:
        raise InvalidValueError(f"the handover bundle is not valid FHIR: {str(exc)[:400]}") from exc


def bundle_rows(bundle: dict[str, Any]) -> pd.DataFrame:
    """A handover bundle's single readings as replay rows ``time,subject,signal,value,method``.

    Thermometer spot checks and bilirubin readings come back one for one; the wearable's hourly
    summaries are summaries, not samples, and are left out (a replay of them would be a different
    detector's input).
    """
    subjects = {
        entry["fullUrl"]: entry["resource"]["identifier"][0]["value"]
        for entry in bundle.get("entry", [])
        if entry.get("resource", {}).get("resourceType") == "Patient"
    }
    rows: list[dict[str, Any]] = []
    for entry in bundle.get("entry", []):
        r = entry.get("resource", {})
        if r.get("resourceType") != "Observation" or "effectiveDateTime" not in r:
            continue
        code = r["code"]["coding"][0]["code"]
        subject = subjects.get(r["subject"]["reference"])
        value = r["valueQuantity"]["value"]
        if code == CODES["temperature"][1]:
            method = r.get("method", {}).get("text", "").removeprefix("thermometer, ") or None
            rows.append({"time": r["effectiveDateTime"], "subject": subject, "signal": "thermometer_c", "value": value,
                         "method": method})  # fmt: skip
        elif code in (CODES["tsb"][1], CODES["tcb"][1]):
            umol = value if code == CODES["tsb"][1] else round(value * UMOL_PER_MGDL, 1)
            rows.append({"time": r["effectiveDateTime"], "subject": subject, "signal": "bilirubin_umol_l", "value": umol,
                         "method": "tsb" if code == CODES["tsb"][1] else "tcb"})  # fmt: skip
    return pd.DataFrame(rows, columns=["time", "subject", "signal", "value", "method"])


def summary_counts(bundle: dict[str, Any]) -> dict[str, int]:
    """How many resources of each type (for the command's one-line report)."""
    counts: dict[str, int] = defaultdict(int)
    for entry in bundle.get("entry", []):
        counts[entry["resource"]["resourceType"]] += 1
    return dict(counts)
