"""The board's page logic without a browser: Dutch formatting, card status, ordering, the mother's
status, bilirubin entry checks, users and episodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kraamwacht.contract import BilirubinMethod
from kraamwacht.dashboard.auth import UserStore, can, session_expired
from kraamwacht.dashboard.client import BiliEntry, check_bili_entry
from kraamwacht.dashboard.data import sparkline
from kraamwacht.dashboard.model import (
    MOTHER_ICONS,
    MOTHER_TEXTS,
    age_text,
    build_card,
    fmt_number,
    mother_status,
    sort_cards,
)
from kraamwacht.episodes import EpisodeRegistry
from kraamwacht.jaundice import Baby
from kraamwacht.plots import plot_nomogram

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_numbers_and_ages_in_dutch() -> None:
    assert fmt_number(37.64) == "37,6"
    assert fmt_number(37.64, lang="en") == "37.6"
    assert fmt_number(1234.5, 0) == "1\u2009234" or fmt_number(1234.5, 0) == "1\u2009235"
    assert fmt_number(None) == "–"
    assert fmt_number(float("nan")) == "–"
    assert age_text(20) == "zojuist"
    assert age_text(3 * 60 + 5) == "3 min geleden"
    assert age_text(3 * 3600) == "3 uur geleden"
    assert age_text(3 * 60, "en") == "3 min ago"


def alert(level: str, category: str = "clinical", rule: str = "fever", raised: str = "2026-11-23T10:00:00Z") -> dict:
    return {"alert_id": f"{rule}-{level}", "level": level, "category": category, "rule": rule, "raised_at": raised,
            "message": f"{rule} {level}"}  # fmt: skip


def fresh(minutes_ago: float = 1.0) -> dict[str, tuple[float, float]]:
    t = (NOW - timedelta(minutes=minutes_ago)).timestamp()
    return {"temperature_c": (t, 37.62), "heart_rate_bpm": (t, 88.0)}


@pytest.mark.parametrize(
    ("alerts", "latest", "status"),
    [
        ([alert("urgent")], fresh(), "urgent"),
        ([alert("warning"), alert("urgent", "technical", "gateway_offline")], fresh(), "warning"),
        ([alert("warning", "technical", "sensor_loose")], fresh(), "technical"),
        ([], fresh(minutes_ago=16), "technical"),  # a stale value never looks live
        ([], {}, "technical"),
        ([], fresh(), "ok"),
    ],
)
def test_card_status(alerts: list[dict], latest: dict, status: str) -> None:
    card = build_card("ep1", label="kamer 1", latest=latest, alert_state={"open_alerts": alerts}, now=NOW)
    assert card.status == status


def test_card_values_say_their_age_and_freshness() -> None:
    card = build_card("ep1", label="", latest=fresh(minutes_ago=3), alert_state=None, now=NOW)
    assert card.temperature.text == "37,6 °C"
    assert card.heart_rate.text == "88 /min"
    assert card.temperature.fresh
    assert age_text(card.temperature.age_s) == "3 min geleden"
    stale = build_card("ep1", label="", latest=fresh(minutes_ago=40), alert_state=None, now=NOW)
    assert not stale.temperature.fresh
    assert "temperatuur niet actueel (40 min geleden)" in stale.reasons


def test_cards_sorted_by_urgency_then_waiting_time() -> None:
    cards = [
        build_card("a", label="a", latest=fresh(), alert_state=None, now=NOW),
        build_card("b", label="b", latest=fresh(), alert_state={"open_alerts": [alert("warning")]}, now=NOW),
        build_card("c", label="c", latest=fresh(), alert_state={"open_alerts": [alert("urgent", raised="2026-11-23T11:00:00Z")]}, now=NOW),
        build_card("d", label="d", latest=fresh(), alert_state={"open_alerts": [alert("urgent", raised="2026-11-23T09:00:00Z")]}, now=NOW),
        build_card("e", label="e", latest={}, alert_state=None, now=NOW),
    ]  # fmt: skip
    assert [c.episode for c in sort_cards(cards)] == ["d", "c", "b", "e", "a"]


def test_mother_sees_technical_status_only() -> None:
    clinical = {"open_alerts": [alert("urgent")]}
    assert mother_status(clinical, temperature_fresh=True) == "ok"  # never a clinical alarm on her page
    assert (
        mother_status({"open_alerts": [alert("warning", "technical", "sensor_loose")]}, temperature_fresh=True)
        == "loose"
    )
    assert (
        mother_status({"open_alerts": [alert("warning", "technical", "low_battery")]}, temperature_fresh=True)
        == "battery"
    )
    assert (
        mother_status({"open_alerts": [alert("warning", "technical", "no_data")]}, temperature_fresh=True) == "silent"
    )
    assert mother_status(None, temperature_fresh=False) == "silent"
    for lang, texts in MOTHER_TEXTS.items():  # every language has every message, and no numbers
        assert set(texts) == set(MOTHER_TEXTS["nl"]), lang
        assert not any(ch.isdigit() for text in texts.values() for ch in text), lang
    assert set(MOTHER_ICONS) == {"ok", "loose", "battery", "silent"}


def test_sparkline() -> None:
    assert sparkline([]) == ""
    assert sparkline([36.5, 36.5]) == "▁▁"
    assert sparkline([36.0, 37.0, 38.0]) == "▁▄█"


@pytest.fixture
def episode(tmp_path: Path):
    return EpisodeRegistry(tmp_path / "e.db").add(
        "ep1", site="s1", mother="m1", newborn="b1", birth_at=datetime.now(tz=UTC) - timedelta(hours=40), ga_weeks=39.0
    )


def test_bili_entry_checks_and_advice(episode) -> None:
    now = datetime.now(tz=UTC)
    reading, advice = check_bili_entry(
        BiliEntry(260.0, "umol/L", BilirubinMethod.TCB, now, "sternum"), episode, [], now=now
    )
    assert reading.value_umol_l == 260.0
    assert advice.level.value in {"ok", "warning", "urgent"}
    mg, _ = check_bili_entry(BiliEntry(15.2, "mg/dL", BilirubinMethod.TCB, now, "sternum"), episode, [], now=now)
    assert mg.value_umol_l == pytest.approx(15.2 * 17.1)
    with pytest.raises(ValueError, match="mg/dL"):  # 8 µmol/L looks like mg/dL typed in the wrong unit
        check_bili_entry(BiliEntry(8.0, "umol/L", BilirubinMethod.TCB, now, "sternum"), episode, [], now=now)
    with pytest.raises(ValueError, match="toekomst"):
        check_bili_entry(
            BiliEntry(200.0, "umol/L", BilirubinMethod.TCB, now + timedelta(hours=1), "sternum"), episode, [], now=now
        )
    with pytest.raises(ValueError, match="geboorte"):
        check_bili_entry(
            BiliEntry(200.0, "umol/L", BilirubinMethod.TCB, now - timedelta(days=3), "sternum"), episode, [], now=now
        )


def test_nomogram_without_readings(tmp_path: Path) -> None:
    path = tmp_path / "n.png"
    plot_nomogram(Baby(NOW - timedelta(hours=20), 39.0, (), False), [], path)
    assert path.stat().st_size > 10_000


def test_users_are_hashed_roles_limit_pages_and_sessions_expire(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json")
    store.add("anna", "kraam-wacht-2026", "kraamverzorgende")
    store.add("rob", "onderzoek-2026!", "onderzoeker")
    text = (tmp_path / "users.json").read_text()
    assert "kraam-wacht-2026" not in text and "$2b$" in text  # noqa: PT018 - bcrypt hashes only
    assert (tmp_path / "users.json").stat().st_mode & 0o077 == 0
    anna = store.verify("anna", "kraam-wacht-2026")
    assert anna is not None
    assert anna.role == "kraamverzorgende"
    assert store.verify("anna", "wrong") is None
    assert store.verify("nobody", "kraam-wacht-2026") is None
    assert can(anna, "meldingen")
    assert not can(anna, "onderzoek")
    rob = store.verify("rob", "onderzoek-2026!")
    assert rob is not None
    assert can(rob, "onderzoek")
    assert not can(rob, "meldingen")  # a researcher sees no live care data
    with pytest.raises(ValueError, match="at least"):
        store.add("kim", "short", "verloskundige")
    with pytest.raises(ValueError, match="role"):
        store.add("kim", "long-enough-pass", "chef")
    assert session_expired(0.0, 31 * 60, 30)
    assert not session_expired(0.0, 29 * 60, 30)


def test_episode_registry(tmp_path: Path) -> None:
    registry = EpisodeRegistry(tmp_path / "e.db")
    born = datetime.now(tz=UTC) - timedelta(hours=5)
    e = registry.add(
        "ep1", site="s1", mother="m1", newborn="b1", birth_at=born, ga_weeks=38.4, language="ar", label="kamer 2"
    )
    assert registry.by_code(e.mother_code) == e
    assert registry.by_code("guess") is None
    assert [x.episode for x in registry.active("s1")] == ["ep1"]
    assert registry.end("ep1")
    assert registry.by_code(e.mother_code) is None  # the mother's link stops working when care ends
    assert registry.active() == []
    with pytest.raises(ValueError, match="pseudonymous"):
        registry.add("Jansen, Marie", site="s1", mother="m1", newborn="b1", birth_at=born, ga_weeks=39.0)
    with pytest.raises(ValueError, match="future"):
        registry.add("ep2", site="s1", mother="m2", newborn="b2", birth_at=born + timedelta(days=1), ga_weeks=39.0)
    with pytest.raises(ValueError, match="22–45"):
        registry.add("ep3", site="s1", mother="m3", newborn="b3", birth_at=born, ga_weeks=12.0)


def test_login_costs_one_bcrypt_check_for_known_and_unknown_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bcrypt

    store = UserStore(tmp_path / "users.json")
    store.add("anna", "kraam-wacht-2026", "kraamverzorgende")
    calls: list[str] = []
    real_check, real_hash = bcrypt.checkpw, bcrypt.hashpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *a: calls.append("check") or real_check(*a))
    monkeypatch.setattr(bcrypt, "hashpw", lambda *a: calls.append("hash") or real_hash(*a))
    assert store.verify("anna", "wrong") is None
    known = list(calls)
    calls.clear()
    assert store.verify("nobody", "wrong") is None
    assert calls == known == ["check"]  # the same work: a name's existence does not show in the time


def test_repeated_wrong_passwords_lock_the_name_for_a_while(tmp_path: Path) -> None:
    from kraamwacht.dashboard.auth import LockedOutError

    store = UserStore(tmp_path / "users.json", max_failures=3, lockout_min=15)
    store.add("anna", "kraam-wacht-2026", "kraamverzorgende")
    for i in range(3):
        assert store.verify("anna", "guess", now_s=1000.0 + i) is None
    with pytest.raises(LockedOutError) as locked:
        store.verify("anna", "kraam-wacht-2026", now_s=1010.0)  # even the right password, while locked
    assert locked.value.until_s == 1002.0 + 15 * 60
    assert store.verify("anna", "kraam-wacht-2026", now_s=1003.0 + 15 * 60) is not None  # the window passed
    for i in range(3):
        assert store.verify("ghost", "guess", now_s=2000.0 + i) is None
    with pytest.raises(LockedOutError):
        store.verify("ghost", "guess", now_s=2010.0)  # unknown names lock the same way: no enumeration
    assert store.verify("anna", "kraam-wacht-2026", now_s=2010.0) is not None  # per name, not for everyone


def test_user_names_and_ids_end_at_the_true_end_of_the_text(tmp_path: Path) -> None:
    from pydantic import TypeAdapter, ValidationError

    from kraamwacht.contract import PseudoId, is_pseudo_id

    with pytest.raises(ValueError, match="user name"):
        UserStore(tmp_path / "users.json").add("anna\n", "kraam-wacht-2026", "kraamverzorgende")
    assert not is_pseudo_id("ep1\n")
    with pytest.raises(ValidationError):
        TypeAdapter(PseudoId).validate_python("ep1\n")
    assert TypeAdapter(PseudoId).validate_python("ep1") == "ep1"


@given(st.text(max_size=80))
def test_an_upload_is_stored_under_a_name_of_our_own(sent: str) -> None:
    from kraamwacht.dashboard.research import upload_name

    name = upload_name(sent)
    assert name in {"streams.csv", "streams.csv.gz"}  # never a folder, never the browser's words
    assert name.endswith(".gz") == sent.lower().endswith(".gz")
