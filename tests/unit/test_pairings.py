"""The pairing authority: which gateway may report which wearable, for whom; and the doctor's ACL check."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kraamwacht.broker_config import Account, acl_rules
from kraamwacht.contract import ObservationTopic, RejectReason, Topics
from kraamwacht.doctor import acl_overreach
from kraamwacht.errors import InvalidValueError
from kraamwacht.pairings import PairingRegistry, sender_problem
from kraamwacht.service import EventLog, IngestCore, RawMessage
from kraamwacht.storage.sqlite import SqliteStore


def test_a_pairing_is_kept_replaced_and_forgotten(tmp_path: Path) -> None:
    pairings = PairingRegistry(tmp_path / "episodes.db")
    pairings.pair("wb-1", site="s1", episode="ep1", subject="m1", gateway="gw1")
    pairings.pair("wb-1", site="s1", episode="ep1", subject="m1", gateway="gw2")  # the wearable moved house box
    pairings.pair("wb-2", site="s1", episode="ep2", subject="m2", gateway="gw1")
    assert [(p.device, p.gateway) for p in pairings.all("s1")] == [("wb-1", "gw2"), ("wb-2", "gw1")]
    assert pairings.unpair_episode("ep2") == 1
    assert pairings.unpair("wb-1")
    assert not pairings.unpair("wb-1")
    assert pairings.all() == []
    with pytest.raises(InvalidValueError, match="pseudonymous"):
        pairings.pair("wb 3", site="s1", episode="ep1", subject="m1", gateway="gw1")


def test_sender_problem_says_who_may_send_what() -> None:
    pairings = PairingRegistry(":memory:")
    paired = pairings.pair("wb-1", site="s1", episode="ep1", subject="m1", gateway="gw1")

    def at(source: str, gateway: str | None = None, episode: str = "ep1", subject: str = "m1") -> ObservationTopic:
        return ObservationTopic("s1", episode, subject, source, gateway)  # type: ignore[arg-type]

    for required in (False, True):
        assert sender_problem(at("gateway", "gw1"), "wb-1", paired, required=required) is None  # its own gateway
        assert sender_problem(at("entry"), "manual-anna", None, required=required) is None  # the staff's: signatures
        for wrong in (at("gateway", "gw2"), at("gateway", "gw1", subject="b1"), at("gateway", "gw1", episode="ep2")):
            refused = sender_problem(wrong, "wb-1", paired, required=required)
            assert refused is not None, wrong
            assert refused.reason is RejectReason.NOT_PAIRED, wrong
            assert "paired to gateway gw1 for ep1/m1" in refused.detail
    # unknown wearables and the open topic: only where pairing is required
    assert sender_problem(at("gateway", "gw2"), "wb-9", None, required=False) is None
    assert sender_problem(at("gateway", "gw2"), "wb-9", None, required=True).reason is RejectReason.NOT_PAIRED
    assert sender_problem(at("open"), "wb-1", paired, required=False) is None
    assert sender_problem(at("open"), "wb-1", paired, required=True).reason is RejectReason.UNATTRIBUTED


def _reading(topic: str, device: str, seq: int) -> RawMessage:
    body = {"v": 1, "device": device, "episode": "ep1", "subject": "m1",
            "samples": [{"signal": "temperature_c", "value": 36.6, "t": datetime.now(tz=UTC).isoformat(), "seq": seq}]}  # fmt: skip
    return RawMessage(topic, json.dumps(body).encode(), datetime.now(tz=UTC))


def test_the_core_keeps_nothing_of_a_refused_sender_and_counts_it(tmp_path: Path) -> None:
    pairings = PairingRegistry(tmp_path / "episodes.db")
    pairings.pair("wb-1", site="s1", episode="ep1", subject="m1", gateway="gw1")
    store = SqliteStore(tmp_path / "k.db")
    core = IngestCore(site="s1", store=store, events=EventLog(tmp_path / "e.db"), pairing_of=pairings.get,
                      require_pairing=True)  # fmt: skip
    out = core.handle([
        _reading(Topics.observations("s1", "ep1", "m1", gateway="gw2"), "wb-1", 1),  # forged by gw2
        _reading(Topics.observations("s1", "ep1", "m1"), "wb-1", 2),  # the open topic
        _reading(Topics.observations("s1", "ep1", "m1", gateway="gw1"), "wb-1", 3),  # the control
    ])  # fmt: skip
    assert store.count() == 1
    assert dict(core.counters.rejected) == {"not_paired": 1, "unattributed": 1}
    assert [json.loads(payload)["reason"] for _, payload in out.dead_letters] == ["not_paired", "unattributed"]
    with pytest.raises(ValueError, match="pairing"):
        IngestCore(site="s1", store=store, events=EventLog(tmp_path / "e2.db"), require_pairing=True)


def test_the_doctor_finds_every_account_that_may_write_beyond_its_own_gateway() -> None:
    accounts = [Account("gateway", "s1", "gw1"), Account("gateway", "s1", "gw2"), Account("board", "s1"),
                Account("serve", "s1")]  # fmt: skip
    written = "\n".join(line for a in accounts for line in (f"user {a.name}", *acl_rules(a), ""))
    assert acl_overreach(written, "s1") == {}  # broker-config's own: every account confined
    old_layout = written.replace(Topics.gateway_observations_filter("s1", "gw1"), "kraamwacht/v1/s1/+/+/obs")
    assert list(acl_overreach(old_layout, "s1")) == ["gw-s1-gw1"]
    assert list(acl_overreach(written + "\npattern write kraamwacht/v1/s1/#\n", "s1")) == [
        "(anonymous)", "gw-s1-gw1", "gw-s1-gw2", "board-s1", "serve-s1"]  # fmt: skip
    assert acl_overreach(written + "\npattern write kraamwacht/v1/s1/+/+/obs/%u\n", "s1") == {}  # its own name only
    assert list(acl_overreach("topic kraamwacht/v1/s1/gateway/+/status\n", "s1")) == ["(anonymous)"]  # no access word
