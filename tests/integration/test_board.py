"""The board end to end in a real browser (Playwright driving Debian's headless Chromium), against a
real mosquitto, a real ``kraamwacht serve`` and the board as its own process: log in, see a live
alert appear, acknowledge it and find it audited, enter a bilirubin reading and see the advice,
open the mother's page in Arabic. Screenshots (1280×800) go to ``KRAAMWACHT_SCREENSHOTS`` when set
(that is how docs/img/board-*.png were made)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kraamwacht.contract import Topics
from kraamwacht.dashboard.auth import UserStore
from kraamwacht.episodes import EpisodeRegistry
from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.storage.sqlite import SqliteStore
from kraamwacht.waiting import wait_for
from tests.integration.conftest import free_port, wait_for_port
from tests.integration.test_serve import SITE, Broker, ServeProcess

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
COHORT = ROOT / "tests" / "data" / "cohort"
PASSWORD = "kraam-wacht-2026"


def _shots(page, name: str) -> None:
    folder = os.environ.get("KRAAMWACHT_SCREENSHOTS")
    if folder:
        page.wait_for_timeout(1500)  # let the widgets finish drawing
        page.screenshot(path=str(Path(folder) / f"board-{name}.png"))


@pytest.fixture
def board(mosquitto: str, tmp_path: Path) -> Iterator[dict]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: apt-get install chromium (.ci/run does this)")
    board_dir = tmp_path / "board"
    UserStore(board_dir / "users.json").add("anna", PASSWORD, "kraamverzorgende")
    UserStore(board_dir / "users.json").add("rob", PASSWORD, "onderzoeker")
    episode = EpisodeRegistry(board_dir / "episodes.db").add(
        "ep1", site=SITE, mother="m1", newborn="b1", birth_at=datetime.now(tz=UTC) - timedelta(hours=40),
        ga_weeks=39.0, label="kamer 1",
    )  # fmt: skip
    serve = ServeProcess(mosquitto, tmp_path)
    serve.start(
        "--episodes",
        str(board_dir / "episodes.db"),  # birth times for jaundice alerts
        "--staff-keys",
        str(board_dir / "staff-keys.json"),
    )  # only commands their actor signed
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "board.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", "dashboard", "--broker", mosquitto, "--site", SITE,
         "--store", f"sqlite:///{serve.db}", "--board-dir", str(board_dir), "--port", str(port),
         "--serve-events", str(tmp_path / "state" / "events.db")],
        env={**env, "KRAAMWACHT_REFRESH_S": "1"}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, 60)
        yield {"url": f"http://127.0.0.1:{port}", "episode": episode, "serve": serve, "broker": mosquitto,
               "tmp": tmp_path}  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        serve.stop()


def _publish_fever(broker_url: str) -> int:
    """Two days of a mother developing a fever, published as the gateway would (60 samples a message)."""
    broker = Broker(broker_url)
    now = datetime.now(tz=UTC)
    scenario = MotherScenario.draw(
        "m1", "fast", seed=4, delivered_at_s=(now - timedelta(days=2.2)).timestamp(), days=2.0
    )
    samples = scenario.wearable_samples(scenario.start_s, min(scenario.end_s, now.timestamp()), interval_s=60.0)
    rows = sorted((t, s, v) for s, (ts, vs) in samples.items() for t, v in zip(ts.tolist(), vs.tolist(), strict=True))
    for k in range(0, len(rows), 60):
        payload = {"v": 1, "device": "wb-0001", "episode": "ep1", "subject": "m1",
                   "samples": [{"signal": s, "value": v, "t": datetime.fromtimestamp(t, tz=UTC).isoformat(), "seq": k + j}
                               for j, (t, s, v) in enumerate(rows[k : k + 60])]}  # fmt: skip
        broker.publish(Topics.observations(SITE, "ep1", "m1"), json.dumps(payload).encode())
    broker.close()
    return len(rows)


def test_board_in_a_real_browser(board: dict) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="nl-NL")
        page.goto(board["url"])
        page.get_by_label("Gebruikersnaam").fill("anna")
        page.get_by_label("Wachtwoord").fill("wrong password")
        page.get_by_role("button", name="Inloggen").click()
        expect(page.get_by_text("Gebruikersnaam of wachtwoord klopt niet.")).to_be_visible()
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        expect(page.get_by_role("heading", name="Overzicht")).to_be_visible(timeout=20_000)
        card = page.locator('.kw-card[data-episode="ep1"]')
        expect(card).to_have_attribute("data-status", "technical", timeout=20_000)  # no data yet: never looks live

        published = _publish_fever(board["broker"])  # a live alert appears without a reload
        expect(card).to_have_attribute("data-status", re.compile("urgent|warning"), timeout=90_000)
        assert board["serve"].wait_count(published, 60) == published
        _shots(page, "overzicht")

        page.get_by_role("link", name="Meldingen").click()
        expect(page.get_by_role("heading", name="Meldingen")).to_be_visible()
        box = page.get_by_text(re.compile("^(Koorts|Temperatuur)")).first
        expect(box).to_be_visible(timeout=20_000)
        _shots(page, "meldingen")
        _no_rule_ids(page)
        for width, height in ((800, 1280), (1280, 800)):  # a tablet held upright, then on its side
            page.set_viewport_size({"width": width, "height": height})
            _fits(page, f"Meldingen {width}×{height}")
            if width < height:
                _shots(page, "meldingen-staand")
                page.get_by_role("link", name="Overzicht").click()
                expect(card).to_be_visible(timeout=20_000)
                _fits(page, "Overzicht 800×1280")
                _shots(page, "overzicht-staand")
                page.get_by_role("link", name="Meldingen").click()
                expect(page.get_by_role("button", name="Gezien").first).to_be_visible(timeout=20_000)
        page.get_by_role("button", name="Gezien").first.click()
        expect(page.get_by_text("gezien door anna").first).to_be_visible(timeout=20_000)  # serve applied it
        page.get_by_text("Geschiedenis").first.click()
        audited = page.locator('[data-testid="stText"]').filter(has_text="anna").filter(has_text="acknowledge")
        expect(audited.first).to_be_visible(timeout=20_000)  # audited: who did what, when

        page.get_by_role("link", name="Cliënt").click()
        expect(page.locator(".vega-embed").first).to_be_visible(timeout=20_000)  # the clinical charts are drawn
        _shots(page, "client-moeder")
        _fits(page, "Cliënt 1280×800")
        page.set_viewport_size({"width": 800, "height": 1280})
        _fits(page, "Cliënt 800×1280")
        _shots(page, "client-staand")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_label("Temperatuur °C").fill("38.4")  # the spot check at the visit: sent like any reading
        page.get_by_role("button", name="Opslaan", exact=True).click()
        expect(page.get_by_text("Opgeslagen: 38,4 °C (rectal)").first).to_be_visible(timeout=20_000)
        page.get_by_role("tab", name="Baby: bilirubine").click()
        page.get_by_label("Waarde").fill("8")  # looks like mg/dL typed as µmol/L: refused, nothing stored
        page.get_by_role("button", name="Opslaan en advies").click()
        expect(page.get_by_text("Niet opgeslagen").first).to_be_visible(timeout=20_000)
        page.get_by_label("Waarde").fill("260")
        page.get_by_role("button", name="Opslaan en advies").click()
        expect(page.get_by_text("Opgeslagen: 260 µmol/L").first).to_be_visible(timeout=20_000)
        advice = page.locator('[data-testid="stAlertContainer"]').first
        expect(advice).to_contain_text(re.compile("DRINGEND|LET OP|IN ORDE"))  # the advice, shown at once
        _shots(page, "client")
        _no_rule_ids(page)
        wait_for(lambda: _stored_bilirubin(board["serve"].db), 60, what="serve storing the reading")
        _handover(page, board["tmp"])
        page.get_by_role("link", name="Meldingen").click()  # serve judged the reading too: a jaundice alert
        expect(page.get_by_text("Vandaag serumbilirubine").first).to_be_visible(timeout=20_000)

        code = board["episode"].mother_code
        mother = browser.new_page(viewport={"width": 1280, "height": 800})  # no login: her code only
        # the browser's speech engine stands in for the loudspeaker (no audio device here): it records what it is asked to say
        mother.add_init_script(SPEECH_RECORDER)
        mother.goto(f"{board['url']}/?moeder={code}&taal=ar")
        text = mother.locator("#moeder")
        expect(text).to_have_attribute("dir", "rtl", timeout=20_000)
        expect(text).to_contain_text("جهاز الاستشعار")
        assert "°C" not in text.inner_text()  # never clinical numbers on her page
        week = mother.locator("#kraamweek")  # what is normal on her day, and when to call at once (Klantroute)
        expect(week).to_have_attribute("dir", "rtl")
        expect(week).to_contain_text("ما هو طبيعي")
        expect(week).to_contain_text("اصفرّ طفلك في اليوم الأول")  # a sign for the baby: yellow on the first day
        assert week.get_attribute("data-day") == "2"  # born 40 hours ago: the second day
        _read_aloud(mother, mother.locator("body").inner_text())
        _shots(mother, "moeder-ar")
        week.scroll_into_view_if_needed()
        _shots(mother, "moeder-ar-kraamweek")
        mother.goto(f"{board['url']}/?moeder=not-a-code")
        expect(mother.get_by_text("Deze link werkt niet")).to_be_visible(timeout=20_000)

        research = browser.new_page(viewport={"width": 1280, "height": 800})  # a researcher: research only
        research.goto(board["url"])
        research.get_by_label("Gebruikersnaam").fill("rob")
        research.get_by_label("Wachtwoord").fill(PASSWORD)
        research.get_by_role("button", name="Inloggen").click()
        expect(research.get_by_role("heading", name="Onderzoek")).to_be_visible(timeout=20_000)
        expect(research.get_by_role("link", name="Meldingen")).to_have_count(0)
        _upload(research, "Stroom", COHORT / "streams.csv.gz")
        _upload(research, "Labels", COHORT / "labels.csv")
        research.get_by_text("Ook de afweging over k tonen").click()
        expect(research.get_by_role("checkbox", name="Ook de afweging over k tonen (5 runs)")).to_be_checked()
        _run_research(research)
        expect(research.get_by_role("button", name="Meldingen (JSONL)")).to_be_visible()
        _shots(research, "onderzoek")
        browser.close()

    store = SqliteStore(board["serve"].db)
    bili = store.read(subject="b1", signals=["bilirubin_umol_l"])["bilirubin_umol_l"]
    assert bili[1].tolist() == [260.0]  # the good entry is stored, the refused one is not
    assert store.with_method("m1", "thermometer_c") == [(pytest.approx(time.time(), abs=3600), 38.4, "rectal")]


def _upload(page, uploader: str, path: Path) -> None:
    """Give the file uploader whose label starts with ``uploader`` a file and wait until the page shows it.

    Found by its label, never by position: an uploader that holds a file adds an input of its own
    ("Add files"), so "the second file input" is not the second uploader.

    One at a time, after Streamlit's rerun has finished: a file given while the page reruns after an
    earlier upload can be lost with the element it went to; then it is given once more.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    shown = page.get_by_text(path.name, exact=True)
    for attempt in range(3):
        _settled(page)
        region = page.get_by_role("region", name=re.compile(f"^{re.escape(uploader)}"))
        region.locator('input[type="file"]').first.set_input_files(str(path))
        try:
            expect(shown).to_be_visible(timeout=30_000)
            return
        except AssertionError:
            if attempt == 2:
                raise
        except PlaywrightTimeout:
            if attempt == 2:
                raise


SPEECH_RECORDER = """
if (window.speechSynthesis) {
  window.__spoken = [];
  window.speechSynthesis.speak = (u) => window.__spoken.push({text: u.text, lang: u.lang});
}
"""


def _read_aloud(page, shown: str) -> None:
    """Her page's read-aloud button asks the browser's voice, in her language, for what the page shows."""
    from playwright.sync_api import expect

    button = page.frame_locator("iframe").get_by_role("button", name="استمعي إلى النص")
    expect(button).to_be_visible(timeout=30_000)
    button.click()
    frame = next(
        f
        for f in page.frames
        if f.evaluate("() => Array.isArray(window.__spoken) && !!document.getElementById('voorlezen')")
    )
    spoken = wait_for(lambda: frame.evaluate("() => window.__spoken"), 30, what="the page read aloud")
    assert spoken[-1]["lang"] == "ar"
    flat = " ".join(shown.split())
    for sentence in re.split(r"[.:]\s+", spoken[-1]["text"]):
        assert " ".join(sentence.split()).rstrip(".:") in flat, sentence  # it says what the page shows, nothing else


def _stored_bilirubin(db: Path) -> list[float]:
    store = SqliteStore(db)
    try:
        return store.read(subject="b1", signals=["bilirubin_umol_l"]).get("bilirubin_umol_l", ([], []))[1].tolist()
    finally:
        store.close()


def _handover(page, tmp: Path) -> None:
    """*Overdracht* on the Cliënt page: both files download, the bundle holds the reading just stored."""
    from playwright.sync_api import expect

    page.get_by_text("Overdracht", exact=True).click()
    expect(page.get_by_role("button", name="Overdracht maken")).to_be_visible(timeout=20_000)
    _settled(page)
    page.get_by_role("button", name="Overdracht maken").click()
    json_button = page.get_by_role("button", name="FHIR-bundel (JSON)")
    expect(json_button).to_be_visible(timeout=120_000)
    with page.expect_download(timeout=60_000) as got:
        json_button.click()
    bundle = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle"
    tcb = [e["resource"] for e in bundle["entry"] if "58941-6" in json.dumps(e["resource"].get("code", {}))]
    assert len(tcb) == 1  # the TcB reading entered a moment ago, from serve's ledger
    assert tcb[0]["valueQuantity"]["value"] == pytest.approx(260.0 / 17.1, abs=0.01)  # in LOINC's mg/dL
    with page.expect_download(timeout=60_000) as got:
        page.get_by_role("button", name="Samenvatting (PDF)").click()
    pdf = tmp / "overdracht.pdf"
    got.value.save_as(pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "kamer 1" in text  # the episode's page, in Dutch
    assert "Overdracht kraamzorg" in text


def _run_research(page) -> None:
    """Click "Uitvoeren" until the replay has visibly started, then wait for its result.

    A click that lands while Streamlit reruns (an upload, a checkbox) can be lost on a busy machine:
    then neither the spinner nor a result appears, and the click is given once more.
    """
    from playwright.sync_api import expect

    result = page.get_by_text("Gevoeligheid").first
    started = page.get_by_text("Bezig met herafspelen").or_(result)
    for attempt in range(3):
        _settled(page)
        page.get_by_role("button", name="Uitvoeren").click()
        try:
            expect(started.first).to_be_visible(timeout=60_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    expect(result).to_be_visible(timeout=300_000)  # six replays, maybe on a busy machine


def _settled(page) -> None:
    """Wait until Streamlit has finished its rerun (its status widget says it is running meanwhile).

    Streamlit shows that widget only a moment after a rerun starts, so "hidden" right after an upload
    can still be before its rerun: settled is hidden, and still hidden a second later.
    """
    from playwright.sync_api import expect

    status = page.locator('[data-testid="stStatusWidget"]')
    for _ in range(120):
        expect(status).to_be_hidden(timeout=120_000)
        page.wait_for_timeout(1000)
        if status.count() == 0 or not status.first.is_visible():
            return


OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('[data-testid="stMain"] *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > width + 1 && getComputedStyle(e).visibility !== 'hidden';
  });
  return wide.slice(0, 5).map(e => `${e.tagName}.${e.className} right=${Math.round(e.getBoundingClientRect().right)}`);
}"""


def _fits(page, name: str) -> None:
    """Nothing on the page reaches past the right edge of the screen (no sideways scrolling on a tablet)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # the layout settles after a resize; a busy machine takes a while
        page.wait_for_function(f"() => ({OVERFLOW_JS})().length === 0", timeout=30_000)
    assert page.evaluate(OVERFLOW_JS) == [], f"{name}: wider than the screen"


def _no_rule_ids(page) -> None:
    """Every rule is shown by its Dutch name, never by its id (`sensor_loose`, `fever`, ...)."""
    from kraamwacht.alerts import RULES

    text = page.locator("body").inner_text()
    assert [rule for rule in RULES if rule in text] == []


@pytest.fixture
def short_board(mosquitto: str, tmp_path: Path) -> Iterator[dict]:
    """The board alone with a 30-second session and no auto-refresh: an action is the only thing that runs."""
    board_dir = tmp_path / "board"
    UserStore(board_dir / "users.json").add("anna", PASSWORD, "kraamverzorgende")
    UserStore(board_dir / "users.json").add("rob", PASSWORD, "onderzoeker")
    registry = EpisodeRegistry(board_dir / "episodes.db")
    episode = registry.add(
        "ep1", site=SITE, mother="m1", newborn="b1", birth_at=datetime.now(tz=UTC) - timedelta(hours=40),
        ga_weeks=39.0, label="kamer 1",
    )  # fmt: skip
    registry.set_site_phone(SITE, "+31 20 123 4567")
    state = {"v": 1, "episode": "ep1", "open_alerts": [{"alert_id": "a1", "level": "warning", "category": "clinical",
             "rule": "temp_rise", "status": "open", "raised_at": "2026-11-23T10:00:00Z",
             "message": "Temperatuur stijgt"}]}  # fmt: skip
    broker = Broker(mosquitto, Topics.commands(SITE))  # it also collects what the board sends
    broker.client.publish(Topics.alert_state(SITE, "ep1"), json.dumps(state), qos=1, retain=True).wait_for_publish(5)
    port = free_port()
    log = (tmp_path / "board.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kraamwacht.cli", "dashboard", "--broker", mosquitto, "--site", SITE,
         "--store", f"sqlite:///{tmp_path / 'k.db'}", "--board-dir", str(board_dir), "--port", str(port),
         "--session-min", "0.5"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "KRAAMWACHT_REFRESH_S": "600", "KRAAMWACHT_MOTHER_REFRESH_S": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, 60)
        yield {"url": f"http://127.0.0.1:{port}", "broker": broker, "log": tmp_path / "board.log", "episode": episode}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        broker.close()


def _login(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_label("Gebruikersnaam").fill(name)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()


def test_an_ended_session_acts_no_more_and_uploads_stay_inside(short_board: dict, tmp_path: Path) -> None:
    """Found in review: the live parts of the board never checked the login, and the research page wrote
    an upload to the path the browser named. Both tried here as an attacker or a forgetful user would."""
    from playwright.sync_api import expect, sync_playwright

    def commands() -> list[dict]:
        return short_board["broker"].messages(Topics.commands(SITE))

    probe = Path(tempfile.gettempdir()) / f"kw_traversal_{uuid.uuid4().hex}.csv"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="nl-NL")
        _login(page, short_board["url"], "anna")
        expect(page.get_by_role("heading", name="Overzicht")).to_be_visible(timeout=60_000)
        gezien = page.get_by_role("button", name="Gezien")
        page.get_by_role("link", name="Meldingen").click()
        expect(gezien).to_be_visible(timeout=60_000)
        page.wait_for_timeout(35_000)  # past the 30-second session, no activity
        gezien.click()
        expect(page.get_by_text("Uw sessie is verlopen. Log opnieuw in.")).to_be_visible(timeout=60_000)
        expect(page.get_by_label("Wachtwoord")).to_be_visible()
        _login(page, short_board["url"], "anna")  # the control: a live session's click does arrive
        page.get_by_role("link", name="Meldingen").click()
        gezien.click()
        assert wait_for(commands, timeout_s=60)
        first, *rest = commands()
        assert (first["action"], first["alert_id"], first["actor"]) == ("acknowledge", "a1", "anna")
        assert rest == []  # the click after the timeout sent nothing: the control's command is the only one
        from kraamwacht.contract import CommandMessage
        from kraamwacht.staffkeys import derive_key, sign

        signed = sign(derive_key("anna", PASSWORD), CommandMessage.model_validate({**first, "signature": None}))
        assert first["signature"] == signed.signature  # signed with the key her password gives, for serve to check

        research = browser.new_page(viewport={"width": 1280, "height": 800})
        _login(research, short_board["url"], "rob")
        expect(research.get_by_role("heading", name="Onderzoek")).to_be_visible(timeout=60_000)
        research.locator('input[type="file"]').nth(0).set_input_files(
            {"name": f"../../../../../../..{probe}", "mimeType": "text/csv", "buffer": b"not,a,stream\n1,2,3\n"}
        )
        expect(research.get_by_role("button", name=re.compile(f"Remove .*{probe.name}"))).to_be_visible(timeout=60_000)
        _settled(research)
        research.get_by_role("button", name="Uitvoeren").click()
        expect(research.get_by_text(re.compile("^Kan niet herafspelen: streams.csv"))).to_be_visible(timeout=60_000)
        body = research.locator("body").inner_text()
        assert "Traceback" not in body and tempfile.gettempdir() not in body  # noqa: PT018 - no server paths
        browser.close()
    assert not probe.exists()  # nothing written where the browser pointed


def test_the_mothers_page_follows_her_sensor_and_offers_a_number_to_call(short_board: dict) -> None:
    from playwright.sync_api import expect, sync_playwright

    code = short_board["episode"].mother_code
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        mother = browser.new_page(viewport={"width": 800, "height": 1280})  # her phone or tablet, upright
        mother.goto(f"{short_board['url']}/?moeder={code}&taal=ar")
        page = mother.locator("#moeder")
        expect(page).to_have_attribute("dir", "rtl", timeout=20_000)
        expect(page).to_have_attribute("data-status", "silent")  # no data from her sensor yet
        expect(mother.locator('a[href="tel:+31201234567"]')).to_be_visible()  # one tap to call
        loose = {"v": 1, "episode": "ep1", "open_alerts": [{"alert_id": "m1:sensor:1", "level": "warning",
                 "category": "technical", "rule": "sensor_loose", "status": "open", "message": "Sensor los"}]}  # fmt: skip
        short_board["broker"].client.publish(
            Topics.alert_state(SITE, "ep1"), json.dumps(loose), qos=1, retain=True
        ).wait_for_publish(5)
        expect(page).to_have_attribute("data-status", "loose", timeout=30_000)  # without her reloading the page
        _shots(mother, "moeder-ar-los")
        browser.close()
