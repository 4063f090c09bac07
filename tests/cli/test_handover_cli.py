"""`kraamwacht handover`: an episode with a fever alert, a loose sensor, a thermometer reading and two
bilirubin readings (one TcB, one serum), through serve's own core into its store and event log, then
out as a FHIR R4 Bundle: valid (fhir.resources' R4B models), coded (LOINC, UCUM), equal to the store,
and read back by replay."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from kraamwacht.cli import app
from kraamwacht.contract import (
    BilirubinMethod,
    ThermometerMethod,
    format_time,
    manual_bilirubin_message,
    spot_check_messages,
)
from kraamwacht.episodes import EpisodeRegistry
from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.handover import validate_bundle
from kraamwacht.recordings import read_streams
from kraamwacht.replay import replay
from kraamwacht.service import EventLog, IngestCore, RawMessage
from kraamwacht.signal import DetectorConfig
from kraamwacht.storage.sqlite import SqliteStore
from tests.fhir_schema import schema_path
from tests.unit.test_ingest_core import messages

runner = CliRunner()


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("handover")
    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(tmp / "board" / "episodes.db")
    registry.add("ep9", site="s1", mother="m9", newborn="b9", birth_at=now - timedelta(days=2.3), ga_weeks=38.5,
                 label="kamer 9")  # fmt: skip
    store, events = SqliteStore(tmp / "k.db"), EventLog(tmp / "serve" / "events.db")
    core = IngestCore(site="s1", store=store, events=events, episode_of=registry.get)
    scenario = MotherScenario.draw(
        "m9", "fast", seed=4, delivered_at_s=(now - timedelta(days=2.2)).timestamp(), days=2.0
    )
    samples = scenario.wearable_samples(scenario.start_s, min(scenario.end_s, now.timestamp() - 600), interval_s=60.0)
    t_temp, v_temp = samples["temperature_c"]
    off = (t_temp >= t_temp[0] + 20 * 3600) & (t_temp < t_temp[0] + 21 * 3600)  # an hour off the skin: room air
    samples["temperature_c"] = (t_temp, np.where(off, 26.0, v_temp))
    raw = messages(samples, now)
    typed = spot_check_messages(site="s1", episode="ep9", subject="m9", temp_c=38.4, method=ThermometerMethod.ORAL,
                                pulse_bpm=None, measured_at=now - timedelta(hours=1), entered_by="anna", now=now)  # fmt: skip
    for value, method, hours in ((190.0, BilirubinMethod.TCB, 6), (230.0, BilirubinMethod.TSB, 3)):
        typed.append(manual_bilirubin_message(site="s1", episode="ep9", subject="b9", value_umol_l=value,
                                              measured_at=now - timedelta(hours=hours), method=method,
                                              body_site="sternum", entered_by="anna", now=now))  # fmt: skip
    for message in [*raw, *(RawMessage(t, p, now) for t, p in typed)]:
        out = core.handle([message])
        events.record(out.events)
    loose = [e for e in events.all() if e.rule == "sensor_loose"]
    fever = [e for e in events.all() if e.rule in ("fever", "fever_thermometer")]
    assert loose, "the scenario must give a loose sensor"
    assert fever, "the scenario must give a fever alert"
    out = tmp / "ep9.json"
    result = runner.invoke(app, ["handover", "ep9", "--out", str(out), "--store", f"sqlite:///{tmp / 'k.db'}",
                                 "--board-dir", str(tmp / "board"), "--events", str(tmp / "serve" / "events.db"),
                                 "--pdf", str(tmp / "ep9.pdf")])  # fmt: skip
    assert result.exit_code == 0, result.output
    return {"bundle": json.loads(out.read_text()), "path": out, "store": store, "events": events.all(),
            "pdf": tmp / "ep9.pdf"}  # fmt: skip


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_bundle_is_valid_fhir_and_holds_only_pseudonymous_ids(episode: dict) -> None:
    bundle = episode["bundle"]
    validate_bundle(bundle)
    patients = resources(bundle, "Patient")
    assert sorted(p["identifier"][0]["value"] for p in patients) == ["b9", "m9"]
    assert all(p["meta"]["profile"] == ["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"] for p in patients)
    text = json.dumps(bundle)
    assert "anna" not in text  # no staff names unless the site allows them
    broken = json.loads(text)
    del resources(broken, "Observation")[0]["status"]  # required (1..1) in FHIR R4
    with pytest.raises(ValueError, match="not valid FHIR"):
        validate_bundle(broken)


def test_the_bundle_validates_against_the_fhir_r4_json_schema(episode: dict) -> None:
    """HL7's JSON schema of FHIR 4.0.1 (fetched by ``make``, see tests/fhir_schema.py), beside fhir.resources."""
    schema = json.loads(schema_path().read_text())
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    validator = jsonschema.Draft6Validator(schema)
    bundle = episode["bundle"]
    assert list(validator.iter_errors(bundle)) == []
    broken = json.loads(json.dumps(bundle))
    resources(broken, "Observation")[0]["status"] = "done"  # not in the code set final|amended|...
    assert any("done" in error.message for error in validator.iter_errors(broken))
    unknown = json.loads(json.dumps(bundle))
    resources(unknown, "Patient")[0]["favouriteColour"] = "blue"  # FHIR allows no unknown elements
    assert list(validator.iter_errors(unknown))


def test_codes_units_and_values_equal_the_store(episode: dict) -> None:
    bundle, store = episode["bundle"], episode["store"]
    observations = resources(bundle, "Observation")
    spot = [o for o in observations if "effectiveDateTime" in o and o["code"]["coding"][0]["code"] == "8310-5"]
    ((_t, value, method),) = store.with_method("m9", "thermometer_c")
    assert [(o["valueQuantity"]["value"], o["valueQuantity"]["code"], o["method"]["text"]) for o in spot] == [
        (value, "Cel", f"thermometer, {method}")
    ]
    serum = [o for o in observations if o["code"]["coding"][0]["code"] == "14631-6"]
    tcb = [o for o in observations if o["code"]["coding"][0]["code"] == "58941-6"]
    assert [(o["valueQuantity"]["value"], o["valueQuantity"]["code"]) for o in serum] == [(230.0, "umol/L")]
    assert [(o["valueQuantity"]["value"], o["valueQuantity"]["code"]) for o in tcb] == [(round(190 / 17.1, 2), "mg/dL")]
    hourly_hr = [o for o in observations if o["code"]["coding"][0]["code"] == "8867-4"]
    t_hr, v_hr = store.read(subject="m9", signals=["heart_rate_bpm"])["heart_rate_bpm"]
    first = hourly_hr[0]
    start = datetime.fromisoformat(first["effectivePeriod"]["start"].replace("Z", "+00:00")).timestamp()
    in_hour = v_hr[(t_hr >= start) & (t_hr < start + 3600)]
    assert first["valueQuantity"]["value"] == round(float(np.median(in_hour)), 2)
    assert [c["valueQuantity"]["value"] for c in first["component"]] == [float(in_hour.min()), float(in_hour.max())]
    assert {o["valueQuantity"]["code"] for o in hourly_hr} == {"/min"}


def test_every_alert_is_a_detected_issue_with_its_rule(episode: dict) -> None:
    issues = resources(episode["bundle"], "DetectedIssue")
    alert_ids = {e.alert_id for e in episode["events"] if e.subject in ("m9", "b9")}
    assert len(issues) == len(alert_ids)
    rules = {i["code"]["coding"][0]["code"] for i in issues}
    assert {"sensor_loose"} <= rules
    assert rules & {"fever", "fever_thermometer"}
    urgent = {e.alert_id for e in episode["events"] if e.level.value == "urgent"}
    assert sum(i["severity"] == "high" for i in issues) == len(urgent)
    devices = resources(episode["bundle"], "Device")
    assert {d["identifier"][0]["value"] for d in devices} == {"wb9", "manual"}


def test_replay_reads_the_bundle_back_as_the_stores_readings_and_raises_the_same_alerts(
    episode: dict, tmp_path: Path
) -> None:
    """What is compared: the single readings (spot checks, bilirubin) and the alerts replay derives from
    them; the wearable's hourly summaries are not samples and are not replayed."""
    store = episode["store"]
    rows = [(t, "m9", "thermometer_c", v, m or "") for t, v, m in store.with_method("m9", "thermometer_c")]
    rows += [(t, "b9", "bilirubin_umol_l", v, "") for t, v, _m in store.with_method("b9", "bilirubin_umol_l")]
    csv = tmp_path / "from_store.csv"
    csv.write_text("time,subject,signal,value,method\n" + "".join(
        f"{datetime.fromtimestamp(t, tz=UTC).isoformat()},{s},{sig},{v},{m}\n" for t, s, sig, v, m in rows))  # fmt: skip
    from_store, from_bundle = read_streams(csv), read_streams(episode["path"])
    assert from_bundle.rows == from_store.rows == 3
    for subject, recording in from_store.recordings.items():
        for signal, (t, v) in recording.items():
            t_b, v_b = from_bundle.recordings[subject][signal]
            np.testing.assert_allclose(t_b, t, atol=1e-3)
            np.testing.assert_allclose(v_b, v, atol=0.05)  # TcB went through mg/dL and back: 0.1 µmol/L
    cfg = DetectorConfig()
    key = [(e.subject, e.rule, e.event.value, e.time) for e in replay(from_store.recordings, cfg).events]
    assert key
    assert key == [(e.subject, e.rule, e.event.value, e.time) for e in replay(from_bundle.recordings, cfg).events]


def test_the_summary_pdf_renders_and_names_the_episode_and_its_alerts(episode: dict, tmp_path: Path) -> None:
    import subprocess

    pdf = episode["pdf"]
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", pages, re.MULTILINE), pages  # one page
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 10_000  # it renders, with something drawn on it
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "kamer 9" in flat  # the episode's label
    assert "Overdracht kraamzorg" in flat
    from kraamwacht.alerts import display_name

    highest: dict[str, str] = {}  # per alert: its rule at its highest level (an alert only escalates)
    for e in sorted(episode["events"], key=lambda e: e.time):
        if e.event.value in ("raised", "escalated"):
            highest[e.alert_id] = e.rule
    fever = next(e for e in episode["events"] if e.alert_id in highest and highest[e.alert_id] == e.rule
                 and e.rule in ("fever", "fever_thermometer") and e.event.value in ("raised", "escalated"))  # fmt: skip
    assert highest  # the episode has alerts to show
    for rule in highest.values():
        assert display_name(rule) in flat, rule  # every alert, by the name a person reads
    assert " ".join(fever.message.split())[:30] in flat  # and its message (the start of it: the cell wraps)
    assert "anna" not in flat  # no staff names unless the site allows them


def test_twins_are_handed_over_as_a_patient_each_with_their_own_readings(tmp_path: Path) -> None:
    from kraamwacht.handover import build_bundle
    from kraamwacht.handover_source import read_record

    now = datetime.now(tz=UTC)
    registry = EpisodeRegistry(tmp_path / "board" / "episodes.db")
    registry.add("ep5", site="s1", mother="m5", newborn="b5a", twins=("b5b",), birth_at=now - timedelta(hours=50),
                 ga_weeks=36.0, twin_births={"b5b": now - timedelta(hours=49)})  # fmt: skip
    store, events = SqliteStore(tmp_path / "k.db"), EventLog(tmp_path / "events.db")
    core = IngestCore(site="s1", store=store, events=events, episode_of=registry.get)
    for subject, value, hours in (("b5a", 180.0, 4), ("b5b", 240.0, 3), ("b5b", 250.0, 1)):
        topic, payload = manual_bilirubin_message(site="s1", episode="ep5", subject=subject, value_umol_l=value,
                                                  measured_at=now - timedelta(hours=hours), method=BilirubinMethod.TSB,
                                                  body_site="heel", entered_by="anna", now=now)  # fmt: skip
        events.record(core.handle([RawMessage(topic, payload, now)]).events)
    record = read_record(registry.get("ep5"), store=f"sqlite:///{tmp_path / 'k.db'}", events=tmp_path / "events.db")  # type: ignore[arg-type]
    bundle = build_bundle(record, generated_at=now)
    validate_bundle(bundle)
    patients = {e["fullUrl"]: e["resource"]["identifier"][0]["value"] for e in bundle["entry"]
                if e["resource"]["resourceType"] == "Patient"}  # fmt: skip
    assert sorted(patients.values()) == ["b5a", "b5b", "m5"]
    born = {r["identifier"][0]["value"]: r["_birthDate"]["extension"][0]["valueDateTime"]
            for r in resources(bundle, "Patient") if "_birthDate" in r}  # fmt: skip
    assert born == {"b5a": format_time(now - timedelta(hours=50)), "b5b": format_time(now - timedelta(hours=49))}
    serum = [(patients[r["subject"]["reference"]], r["valueQuantity"]["value"]) for r in resources(bundle, "Observation")
             if r["code"]["coding"][0]["code"] == "14631-6"]  # fmt: skip
    assert sorted(serum) == [("b5a", 180.0), ("b5b", 240.0), ("b5b", 250.0)]  # each baby her own readings
    import subprocess

    from kraamwacht.handover_summary import write_summary_pdf

    write_summary_pdf(record, tmp_path / "ep5.pdf", generated_at=now)
    text = subprocess.run(["pdftotext", str(tmp_path / "ep5.pdf"), "-"], capture_output=True, text=True, check=True)
    assert "b5a:" in text.stdout
    assert "b5b:" in text.stdout


def test_the_readmes_example_bundle_is_valid_fhir_r4() -> None:
    """The README shows a small bundle; it must be what a receiver would accept, not a sketch."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Handing an episode over (FHIR R4)") :]
    bundle = json.loads(section[section.index("```json") + 7 : section.index("```", section.index("```json") + 7)])
    validate_bundle(bundle)  # fhir.resources' R4B models
    validator = jsonschema.Draft6Validator(json.loads(schema_path().read_text()))
    assert list(validator.iter_errors(bundle)) == []
    ((patient,),) = [[e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]]
    assert patient["identifier"][0]["value"] == "m-117"  # pseudonymous: an id, no name
    assert "name" not in patient
    observation = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    assert observation["subject"]["reference"] == bundle["entry"][0]["fullUrl"]
