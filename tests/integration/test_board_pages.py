"""The board's pages through Streamlit's AppTest (no browser), against a real mosquitto holding
serve's retained alert state: login and roles, the caseload, the mother's page in four languages,
and the research page's replay + evaluate (the same numbers as the command line)."""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from kraamwacht.cli import app
from kraamwacht.contract import Topics
from kraamwacht.dashboard.auth import UserStore
from kraamwacht.dashboard.research import recording_png, run_research
from kraamwacht.episodes import Episode, EpisodeRegistry
from kraamwacht.waiting import wait_for
from tests.integration.test_bili_cli import Collector

APP = str(Path(__file__).resolve().parents[2] / "kraamwacht" / "dashboard" / "app.py")
COHORT = Path(__file__).resolve().parents[1] / "data" / "cohort"


@pytest.fixture
def env(mosquitto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    board = tmp_path / "board"
    users = UserStore(board / "users.json")
    users.add("anna", "kraam-wacht-2026", "kraamverzorgende")
    users.add("rob", "onderzoek-2026!", "onderzoeker")
    registry = EpisodeRegistry(board / "episodes.db")
    born = datetime.now(tz=UTC) - timedelta(hours=30)
    episodes = [
        registry.add(
            f"ep{i}", site="s1", mother=f"m{i}", newborn=f"b{i}", birth_at=born, ga_weeks=39.0, label=f"kamer {i}"
        )
        for i in (1, 2)
    ]
    monkeypatch.setenv("KRAAMWACHT_BROKER", mosquitto)
    monkeypatch.setenv("KRAAMWACHT_SITE", "s1")
    monkeypatch.setenv("KRAAMWACHT_STORE", f"sqlite:///{tmp_path / 'k.db'}")
    monkeypatch.setenv("KRAAMWACHT_BOARD_DIR", str(board))
    return {"broker": mosquitto, "episodes": episodes}


def retain_alert_state(broker: str, episode: str, alerts: list[dict]) -> None:
    """What serve publishes: the episode's open alerts, retained."""
    host, port = broker.removeprefix("mqtt://").split(":")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(host, int(port))
    client.loop_start()
    body = {"episode": episode, "updated_at": datetime.now(tz=UTC).isoformat(), "open_alerts": alerts}
    client.publish(Topics.alert_state("s1", episode), json.dumps(body), qos=1, retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def logged_in(name: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click()
    at.run()
    return at


def test_login_refuses_a_wrong_password_and_roles_limit_the_pages(env: dict) -> None:
    at = logged_in("anna", "not her password")
    assert "Gebruikersnaam of wachtwoord klopt niet." in [e.value for e in at.error]
    assert "user" not in at.session_state
    at = logged_in("anna", "kraam-wacht-2026")
    assert [h.value for h in at.header] == ["Overzicht"]
    assert "Ingelogd: **anna** (kraamverzorgende)" in [m.value for m in at.sidebar.markdown]
    rob = logged_in("rob", "onderzoek-2026!")
    assert [h.value for h in rob.header] == ["Onderzoek"]  # a researcher lands on research, and only there


def test_repeated_wrong_logins_lock_the_name_with_a_time_to_try_again(env: dict) -> None:
    for _ in range(5):
        at = logged_in("eve", "guessing-again")
        assert "Gebruikersnaam of wachtwoord klopt niet." in [e.value for e in at.error]
    at = logged_in("eve", "guessing-again")
    (error,) = [e.value for e in at.error]
    assert re.fullmatch(r"Te veel onjuiste pogingen\. Probeer het opnieuw na \d\d:\d\d\.", error)


def test_session_times_out(env: dict) -> None:
    at = logged_in("anna", "kraam-wacht-2026")
    at.session_state["last_active"] = time.time() - 31 * 60
    at.run()
    assert "Uw sessie is verlopen. Log opnieuw in." in [w.value for w in at.warning]
    assert [t.label for t in at.text_input] == ["Gebruikersnaam", "Wachtwoord"]


def test_caseload_cards_follow_serve_alert_state(env: dict) -> None:
    retain_alert_state(env["broker"], "ep2", [{"alert_id": "a1", "level": "urgent", "category": "clinical",
                                               "rule": "fever", "raised_at": "2026-11-23T10:00:00Z",
                                               "message": "Koorts: geschatte kerntemperatuur 38,4 °C"}])  # fmt: skip
    at = logged_in("anna", "kraam-wacht-2026")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        at.run()
        cards = [h.proto.body for h in at.get("html") if "kw-card" in h.proto.body]
        if len(cards) == 2 and 'data-status="urgent"' in cards[0]:
            break
        time.sleep(0.3)
    assert 'data-episode="ep2"' in cards[0]  # the urgent one first
    assert 'data-status="urgent"' in cards[0]
    assert 'data-status="technical"' in cards[1]  # no data: technical, never "in orde"
    assert any("Koorts" in c.value for c in at.caption)


@pytest.mark.parametrize(("lang", "direction", "words"), [("nl", "ltr", "Uw sensor"), ("en", "ltr", "Your sensor"),
                                                           ("ar", "rtl", "جهاز الاستشعار"), ("tr", "ltr", "Sensörünüz")])  # fmt: skip
def test_mother_page_in_her_language_without_login(env: dict, lang: str, direction: str, words: str) -> None:
    episode: Episode = env["episodes"][0]
    retain_alert_state(env["broker"], episode.episode, [{"alert_id": "a1", "level": "urgent", "category": "clinical",
                                                         "rule": "fever", "message": "Koorts 38,4 °C"}])  # fmt: skip
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["moeder"] = episode.mother_code
    at.query_params["taal"] = lang
    at.run()
    (page,) = [h.proto.body for h in at.get("html") if 'id="moeder"' in h.proto.body]
    assert f'dir="{direction}"' in page
    assert words in page
    assert "Koorts" not in page and "38" not in page  # noqa: PT018 - no clinical alarm or number for her
    assert not at.text_input  # no login form, nothing else of the board


def test_mother_page_with_a_wrong_code_shows_nothing(env: dict) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["moeder"] = "guessed"
    at.run()
    assert any("werkt niet" in e.value for e in at.error)
    assert not [h for h in at.get("html") if 'id="moeder"' in h.proto.body]


def test_research_page_numbers_equal_the_command_line(tmp_path: Path) -> None:
    out = run_research(COHORT / "streams.csv.gz", COHORT / "labels.csv", k_c=0.4, h_c_epochs=10.0)
    golden = [json.loads(line) for line in (COHORT / "expected_alerts.jsonl").read_text().splitlines() if line]
    assert len(out["events"]) == len(golden)

    def key(events: list[dict]) -> list[tuple[str, str, str, str]]:
        return sorted((e["subject"], e["time"], e["rule"], e["event"]) for e in events)

    assert key(out["events"]) == key(golden)  # the same alerts as `kraamwacht replay` recorded
    assert 0.0 <= out["metrics"]["sensitivity"] <= 1.0
    picture = recording_png(out, "m0001")  # the page's picture of one recording: what `kraamwacht plot` draws
    assert picture.startswith(b"\x89PNG\r\n\x1a\n")
    plot_cli = tmp_path / "cli.png"
    result = CliRunner().invoke(app, ["plot", str(COHORT / "streams.csv.gz"), "--subject", "m0001",
                                      "--labels", str(COHORT / "labels.csv"), "--out", str(plot_cli)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert plot_cli.read_bytes() == picture  # the same code, the same picture
    stricter = run_research(COHORT / "streams.csv.gz", COHORT / "labels.csv", k_c=0.8, h_c_epochs=10.0)
    assert len(stricter["events"]) <= len(out["events"])  # the thresholds are really applied


def test_english_is_selectable(env: dict) -> None:
    retain_alert_state(env["broker"], "ep1", [{"alert_id": "a1", "level": "warning", "category": "clinical",
                                               "rule": "temp_rise", "raised_at": "2026-11-23T10:00:00Z",
                                               "message": "Temperatuur stijgt", "message_en": "Temperature rising"}])  # fmt: skip
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert at.sidebar.selectbox(key="lang").value == "nl"  # Dutch by default
    at.sidebar.selectbox(key="lang").select("en")
    at.run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    at.text_input(key="login_name").input("anna")
    at.text_input(key="login_password").input("kraam-wacht-2026")
    at.button[0].click()
    at.run()
    assert [h.value for h in at.header] == ["Overview"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("Temperature rising" in c.value for c in at.caption):
        time.sleep(0.3)
        at.run()
    assert any("Temperature rising" in c.value for c in at.caption)  # serve's English message
    assert any("no temperature received" in c.value for c in at.caption)


def _risk_factor_form() -> None:
    """The Cliënt page's risk-factor form on its own (the page's navigation is not reachable from AppTest)."""
    import os
    from pathlib import Path

    import streamlit as st

    from kraamwacht.dashboard.client import _risk_factors
    from kraamwacht.episodes import EpisodeRegistry

    registry = EpisodeRegistry(Path(os.environ["KRAAMWACHT_BOARD_DIR"]) / "episodes.db")
    episode = _risk_factors(registry.get("ep1"), registry.update_jaundice)
    st.caption(f"judged with: {','.join(episode.risk_factors) or '-'} {episode.standard}")


def test_the_newborns_risk_factors_are_shown_and_edited_on_the_client_page(env: dict) -> None:
    at = AppTest.from_function(_risk_factor_form, default_timeout=30)
    at.run()
    (risks,) = at.multiselect
    assert risks.value == []
    risks.select("isoimmune")
    at.selectbox[0].select("nice-cg98")
    at.button[0].click()
    at.run()
    registry = EpisodeRegistry(Path(os.environ["KRAAMWACHT_BOARD_DIR"]) / "episodes.db")
    item = registry.get("ep1")
    assert item is not None
    assert (item.risk_factors, item.standard) == (("isoimmune",), "nice-cg98")  # what serve judges with
    assert "judged with: isoimmune nice-cg98" in [c.value for c in at.caption]  # the page goes on with it


def _twins_bili() -> None:
    import os
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from kraamwacht.dashboard.auth import User
    from kraamwacht.dashboard.client import _bili
    from kraamwacht.episodes import EpisodeRegistry
    from kraamwacht.storage import open_store

    registry = EpisodeRegistry(Path(os.environ["KRAAMWACHT_BOARD_DIR"]) / "episodes.db")
    twins = registry.get("ep7") or registry.add("ep7", site="s1", mother="m7", newborn="b7a", twins=("b7b",),
                                                birth_at=datetime.now(tz=UTC) - timedelta(hours=40), ga_weeks=39.0)  # fmt: skip
    _bili(twins, user=User("anna", "kraamverzorgende"), store=open_store(os.environ["KRAAMWACHT_STORE"]),
          broker=os.environ["KRAAMWACHT_BROKER"], site="s1", now=datetime.now(tz=UTC))  # fmt: skip


def test_twins_each_get_their_own_bilirubin_entry(env: dict) -> None:
    collector = Collector(env["broker"], Topics.entries_filter("s1"))
    try:
        at = AppTest.from_function(_twins_bili, default_timeout=30)
        at.run()
        (baby,) = at.radio
        assert baby.options == ["b7a", "b7b"]  # the care team chooses the baby; never a mix of two
        baby.set_value("b7b")
        at.run()
        at.number_input[0].set_value(210.0)
        at.button[0].click()
        at.run()
        wait_for(lambda: collector.messages, 30, what="the entry of the second twin")
        (topic, payload) = collector.messages[0]
        assert topic == Topics.entries("s1", "ep7", "b7b")  # stored for the twin chosen
        assert json.loads(payload)["subject"] == "b7b"
    finally:
        collector.close()
