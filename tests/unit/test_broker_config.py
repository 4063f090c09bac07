"""broker-config's pure parts and the broker URL: what each account may do, and no secret shown."""

from __future__ import annotations

import base64
import hashlib

import pytest

from kraamwacht.broker_config import Account, accounts_for, acl_rules, mosquitto_password_hash
from kraamwacht.publish import BrokerAddress


def test_a_gateway_may_only_write_its_own_site_and_read_nothing() -> None:
    rules = acl_rules(Account("gateway", "s1", "gw1"))
    assert rules
    assert all(r.startswith("topic write kraamwacht/v1/s1/") for r in rules)
    assert "topic write kraamwacht/v1/s1/gateway/gw1/status" in rules  # its own status, not another gateway's


@pytest.mark.parametrize("role", ["serve", "board"])
def test_every_rule_stays_within_the_site(role: str) -> None:
    rules = acl_rules(Account(role, "s2"))  # type: ignore[arg-type]
    site_rules = [r for r in rules if r != "topic read $SYS/broker/publish/messages/dropped"]  # the doctor's count
    assert len(site_rules) >= len(rules) - 1
    assert all(r.split()[2].startswith("kraamwacht/v1/s2/") for r in site_rules)
    assert not any("#" in r for r in rules)


def test_accounts_per_site_and_gateway() -> None:
    names = [a.name for a in accounts_for(["s1"], [("s1", "gw1"), ("s1", "gw2")])]
    assert names == ["serve-s1", "board-s1", "gw-s1-gw1", "gw-s1-gw2"]
    with pytest.raises(ValueError, match="not in --site"):
        accounts_for(["s1"], [("s9", "gw1")])


def test_password_hash_is_mosquittos_pbkdf2_sha512() -> None:
    salt = b"0123456789ab"
    line = mosquitto_password_hash("geheim", salt=salt)
    _, kind, iterations, salt_b64, digest_b64 = line.split("$")
    assert (kind, iterations) == ("7", "101")
    assert base64.b64decode(salt_b64) == salt
    assert base64.b64decode(digest_b64) == hashlib.pbkdf2_hmac("sha512", b"geheim", salt, 101)


def test_broker_url_with_tls_password_from_the_environment_and_never_shown(tmp_path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    address = BrokerAddress.parse(f"mqtts://gw-s1-gw1@broker.local?ca={ca}", {"KRAAMWACHT_MQTT_PASSWORD": "s3cret"})
    assert (address.port, address.tls, address.password, address.ca_file) == (8883, True, "s3cret", str(ca))
    assert "s3cret" not in str(address) + repr(address)
    inline = BrokerAddress.parse("mqtt://u:hunter2@h:1883")
    assert "hunter2" not in str(inline) + repr(inline)
    with pytest.raises(ValueError, match="unknown option") as refused:
        BrokerAddress.parse("mqtt://u:hunter2@h?cafile=x")
    assert "hunter2" not in str(refused.value)
    with pytest.raises(ValueError, match="does not exist"):
        BrokerAddress.parse("mqtts://u@h?ca=/nonexistent/ca.crt")
    with pytest.raises(ValueError, match="must look like") as bad:
        BrokerAddress.parse("http://u:hunter2@h")
    assert "hunter2" not in str(bad.value)
