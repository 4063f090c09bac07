"""Who really acted: serve applies a command, and audits its actor, only when she signed it with her key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kraamwacht.contract import CommandMessage, Topics
from kraamwacht.dashboard.auth import User, UserStore
from kraamwacht.service import EventLog, IngestCore, RawMessage
from kraamwacht.staffkeys import StaffKeys, derive_key, sign
from kraamwacht.storage.sqlite import SqliteStore


def _core_with_an_alert(tmp_path: Path, keys: StaffKeys) -> tuple[IngestCore, str]:
    now = datetime.now(tz=UTC)
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"),
                      staff_keys=keys)  # fmt: skip
    low = {"v": 1, "device": "wb1", "episode": "ep1", "subject": "m1",
           "samples": [{"signal": "battery_pct", "value": 9, "t": (now - timedelta(minutes=1)).isoformat(), "seq": 1}]}  # fmt: skip
    (raised,) = core.handle([RawMessage(Topics.observations("s1", "ep1", "m1"), json.dumps(low).encode(), now)]).events
    return core, raised.alert_id


def _ack(alert_id: str, actor: str) -> CommandMessage:
    return CommandMessage(v=1, command_id=f"c-{actor}-{datetime.now(tz=UTC).timestamp()}", action="acknowledge",
                          alert_id=alert_id, actor=actor, issued_at=datetime.now(tz=UTC))  # fmt: skip


def test_only_a_command_signed_by_its_actor_is_applied(tmp_path: Path) -> None:
    users = UserStore(tmp_path / "board" / "users.json")
    users.add("anna", "kraam-wacht-2026", "kraamverzorgende")  # her key goes to serve's key file
    users.add("bob", "ander-wachtwoord-1", "kraamverzorgende")
    keys = StaffKeys(tmp_path / "board" / "staff-keys.json")
    core, alert_id = _core_with_an_alert(tmp_path, keys)
    now = datetime.now(tz=UTC)

    unsigned = core.command(_ack(alert_id, "anna").model_dump_json().encode(), now=now)[0]
    assert unsigned["accepted"] is False  # a name alone proves nothing
    bob_as_anna = sign(derive_key("bob", "ander-wachtwoord-1"), _ack(alert_id, "anna"))
    assert core.command(bob_as_anna.model_dump_json().encode(), now=now)[0]["accepted"] is False  # a forged name
    guessed = sign(derive_key("anna", "not-her-password"), _ack(alert_id, "anna"))
    assert core.command(guessed.model_dump_json().encode(), now=now)[0]["accepted"] is False
    tampered = sign(derive_key("anna", "kraam-wacht-2026"), _ack(alert_id, "anna")).model_copy(update={"note": "x"})
    assert core.command(tampered.model_dump_json().encode(), now=now)[0]["accepted"] is False  # changed after signing
    assert core.counters.rejected["unverified_actor"] == 4

    key = users.signing_key(User("anna", "kraamverzorgende"), "kraam-wacht-2026")  # what the board keeps at login
    result, output = core.command(sign(key, _ack(alert_id, "anna")).model_dump_json().encode(), now=now)
    assert result["accepted"] is True
    (event,) = output.events
    assert (event.values["actor"], event.values["verified"]) == ("anna", 1)  # the audit names a checked actor
    assert core.book.records[alert_id].audit[-1]["verified"] is True


def test_without_a_key_file_commands_are_applied_and_audited_as_unverified(tmp_path: Path) -> None:
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"))
    now = datetime.now(tz=UTC)
    low = {"v": 1, "device": "wb1", "episode": "ep1", "subject": "m1",
           "samples": [{"signal": "battery_pct", "value": 9, "t": (now - timedelta(minutes=1)).isoformat(), "seq": 1}]}  # fmt: skip
    (raised,) = core.handle([RawMessage(Topics.observations("s1", "ep1", "m1"), json.dumps(low).encode(), now)]).events
    result, output = core.command(_ack(raised.alert_id, "anna").model_dump_json().encode(), now=now)
    assert result["accepted"] is True
    assert output.events[0].values["verified"] == 0  # said, not hidden


def test_a_user_from_before_keys_gets_hers_at_her_next_login(tmp_path: Path) -> None:
    users = UserStore(tmp_path / "users.json")
    users.add("anna", "kraam-wacht-2026", "kraamverzorgende")
    (tmp_path / "staff-keys.json").unlink()  # as a board installed before staff keys
    assert not users.staff_keys.known("anna")
    found = users.verify("anna", "kraam-wacht-2026")
    assert found is not None
    users.signing_key(found, "kraam-wacht-2026")
    assert users.staff_keys.known("anna")
    assert oct((tmp_path / "staff-keys.json").stat().st_mode & 0o777) == "0o600"  # a secret of serve's


def test_a_typed_in_reading_is_stored_only_when_the_person_it_names_signed_it(tmp_path: Path) -> None:
    from kraamwacht.contract import Signal, ThermometerMethod, manual_message

    keys = StaffKeys(tmp_path / "staff-keys.json")
    keys.set("anna", derive_key("anna", "kraam-wacht-2026"))
    keys.set("bob", derive_key("bob", "ander-wachtwoord-1"))
    core = IngestCore(site="s1", store=SqliteStore(tmp_path / "k.db"), events=EventLog(tmp_path / "e.db"),
                      staff_keys=keys)  # fmt: skip
    now = datetime.now(tz=UTC)

    def entry(value: float, key: bytes | None, *, tamper: bool = False) -> tuple[int, list[str]]:
        topic, payload = manual_message(site="s1", episode="ep1", subject="m1", signal=Signal.THERMOMETER_C,
                                        value=value, measured_at=now, entered_by="anna",
                                        method=ThermometerMethod.RECTAL, now=now, signing_key=key)  # fmt: skip
        if tamper:  # the value changed after signing
            payload = payload.replace(f'"value":{value}'.encode(), b'"value":36.5')
        before = core.counters.stored
        out = core.handle([RawMessage(topic, payload, now)])
        return core.counters.stored - before, [json.loads(p)["reason"] for _, p in out.dead_letters]

    assert entry(38.1, None) == (0, ["unverified_actor"])  # her name alone
    assert entry(38.2, derive_key("bob", "ander-wachtwoord-1")) == (0, ["unverified_actor"])  # bob, as anna
    assert entry(38.3, derive_key("anna", "kraam-wacht-2026"), tamper=True) == (0, ["unverified_actor"])
    assert entry(38.4, derive_key("anna", "kraam-wacht-2026")) == (1, [])  # the control: her own signature
    assert core.counters.rejected["unverified_actor"] == 3
    unchecked = IngestCore(site="s1", store=SqliteStore(tmp_path / "u.db"), events=EventLog(tmp_path / "u.db.e"))
    topic, payload = manual_message(site="s1", episode="ep1", subject="m1", signal=Signal.THERMOMETER_C, value=37.0,
                                    measured_at=now, entered_by="anna", now=now)  # fmt: skip
    unchecked.handle([RawMessage(topic, payload, now)])
    assert unchecked.counters.stored == 1  # a serve without staff keys stores it, as before
