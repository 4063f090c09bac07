"""serve decodes MQTT 5 properties with paho's tables built once: every packet decodes to what
paho's own code gives (``kraamwacht/service/_paho.py``)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kraamwacht.service._paho import SharedTablesProperties, share_property_tables

TOPIC = b"kraamwacht/v1/s1/ep1/m1/obs/gw1"


def publish_packet(props: Properties | None, payload: bytes, mid: int = 7) -> bytes:
    """A QoS 1 PUBLISH's variable header and payload, as paho hands them to ``decode_publish``."""
    encoded = props.pack() if props is not None else b"\x00"
    return struct.pack("!H", len(TOPIC)) + TOPIC + struct.pack("!H", mid) + encoded + payload


def decoded(packet: bytes, kind: type[Properties]) -> tuple[object, ...]:
    """What paho makes of a packet with these properties: its properties, payload and id, or its refusal."""
    saved = _packet.Properties
    _packet.Properties = kind
    try:
        result = _packet.decode_publish(0x32, packet, MQTTProtocolVersion.MQTTv5)
    except Exception as exc:  # a malformed packet: the same refusal either way
        return ("refused", type(exc).__name__, str(exc))
    finally:
        _packet.Properties = saved
    assert isinstance(result.properties, kind)
    return str(result.properties), result.properties.json(), result.payload, result.mid


def _props(**values: object) -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    for name, value in values.items():
        setattr(props, name, value)
    return props


@pytest.mark.parametrize(
    "props",
    [
        None,
        _props(MessageExpiryInterval=3600),
        _props(ContentType="application/json", PayloadFormatIndicator=1),
        _props(UserProperty=[("a", "1"), ("b", "2")]),
        _props(ResponseTopic="r/t", CorrelationData=b"\x00\x01"),
        _props(TopicAlias=3, SubscriptionIdentifier=[9]),
    ],
)
def test_a_publish_decodes_as_with_paho_s_own_properties(props: Properties | None) -> None:
    packet = publish_packet(props, b'{"v":1,"samples":[]}')
    assert decoded(packet, SharedTablesProperties) == decoded(packet, Properties)


@given(
    expiry=st.none() | st.integers(0, 2**32 - 1),
    users=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=3),
    payload=st.binary(max_size=40),
    mid=st.integers(1, 65535),
)
def test_any_properties_decode_as_with_paho_s_own(
    expiry: int | None, users: list[tuple[str, str]], payload: bytes, mid: int
) -> None:
    values: dict[str, object] = {"UserProperty": users} if users else {}
    if expiry is not None:
        values["MessageExpiryInterval"] = expiry
    packet = publish_packet(_props(**values) if values else None, payload, mid)
    assert decoded(packet, SharedTablesProperties) == decoded(packet, Properties)


def test_objects_share_the_tables_but_not_their_properties() -> None:
    first, second = SharedTablesProperties(PacketTypes.PUBLISH), SharedTablesProperties(PacketTypes.PUBLISH)
    assert first.names is second.names
    first.MessageExpiryInterval = 5
    assert not hasattr(second, "MessageExpiryInterval")
    second.unpack(first.pack())  # not a new object with nothing set: paho's own clearing and reading
    assert second.MessageExpiryInterval == 5
    assert second.unpack(b"\x00") == (second, 1)
    assert not hasattr(second, "MessageExpiryInterval")  # cleared, as paho's own would


def test_share_property_tables_installs_the_class_once() -> None:
    saved = _packet.Properties
    try:
        _packet.Properties = Properties
        assert share_property_tables()
        assert _packet.Properties is SharedTablesProperties
        assert share_property_tables()  # again: still the same class
    finally:
        _packet.Properties = saved
