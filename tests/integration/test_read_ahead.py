"""serve's paho client reads its socket in chunks: every message arrives, in order, and none waits
in the buffer for the next one (paho's loop is told what is buffered)."""

from __future__ import annotations

import queue
import socket
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kraamwacht.publish import BrokerAddress
from kraamwacht.service._paho import ReadAheadClient, ReadAheadSocket
from kraamwacht.waiting import wait_for


def test_the_socket_serves_small_reads_from_one_chunk_and_says_what_it_holds() -> None:
    left, right = socket.socketpair()
    right.setblocking(False)
    sock = ReadAheadSocket(right)
    try:
        with pytest.raises(BlockingIOError):  # nothing arrived: as the bare socket says
            sock.recv(1)
        left.sendall(b"\x30\x05hello\x40\x02")
        wait_for(lambda: sock.pending() > 0 or _peek(right) > 0, 10, what="bytes on the socket")
        assert sock.recv(1) == b"\x30"
        assert sock.pending() == 8  # the rest is buffered, not left on the socket
        assert (sock.recv(1), sock.recv(5)) == (b"\x05", b"hello")
        assert sock.recv(10) == b"\x40\x02"  # no more than is buffered, even if more is asked
        assert sock.pending() == 0
        left.sendall(b"abc")
        wait_for(lambda: _peek(right) == 3, 10, what="three more bytes")
        assert sock.recv(3) == b"abc"  # a read as large as what arrived passes straight through
        left.close()
        wait_for(lambda: _closed(right), 10, what="the peer's close")
        assert sock.recv(1) == b""  # the peer closed: paho sees the end as from the bare socket
        assert sock.fileno() == right.fileno()  # select works on it
    finally:
        left.close()
        right.close()


def _peek(sock: socket.socket) -> int:
    try:
        return len(sock.recv(1 << 16, socket.MSG_PEEK))
    except BlockingIOError:
        return 0


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False


def test_a_burst_arrives_whole_and_in_order_without_waiting_for_more_traffic(mosquitto: str) -> None:
    """As serve subscribes (QoS 1, acknowledged by hand). The keepalive is long: a message stuck in
    the buffer until the next packet would wait for a ping that comes only after the deadline."""
    received: list[int] = []
    lock = threading.Lock()

    def on_message(client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        with lock:
            received.append(int(msg.payload))
        client.ack(msg.mid, msg.qos)

    address = BrokerAddress.parse(mosquitto)
    sub = ReadAheadClient(mqtt.CallbackAPIVersion.VERSION2, client_id="read-ahead", manual_ack=True)
    sub.on_message = on_message
    address.apply(sub)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_args: subscribed.set()
    sub.connect(address.host, address.port, keepalive=600)
    sub.loop_start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="burst")
    address.apply(pub)
    pub.connect(address.host, address.port)
    pub.loop_start()
    try:
        sub.subscribe("burst/#", qos=1)
        wait_for(subscribed.is_set, 30, what="the subscription")
        total = 3000
        infos = [pub.publish(f"burst/{i % 7}", str(i).encode(), qos=1) for i in range(total)]
        for info in infos:
            info.wait_for_publish(60)
        wait_for(lambda: len(received) >= total, 120, what=f"all {total} messages of the burst")
        assert sorted(received) == list(range(total))  # each once
        for topic in range(7):  # and in the order published on each topic
            assert [i for i in received if i % 7 == topic] == list(range(topic, total, 7))
        assert isinstance(sub.socket(), ReadAheadSocket)  # the read-ahead was in use
    finally:
        for c in (pub, sub):
            c.disconnect()
            c.loop_stop()


def test_ack_all_acknowledges_exactly_the_messages_it_names(mosquitto: str) -> None:
    """serve acknowledges a batch at once. mosquitto sends a client at most 20 unacknowledged QoS 1
    messages, so all 300 arrive only if the joined PUBACKs count; the 10 left unacknowledged, and
    only those, come again to the same session after a reconnection."""
    address = BrokerAddress.parse(mosquitto)
    arrived: queue.Queue[tuple[int, int, bool]] = queue.Queue()

    def session() -> ReadAheadClient:
        client = ReadAheadClient(
            mqtt.CallbackAPIVersion.VERSION2, client_id="acker", protocol=mqtt.MQTTv5, manual_ack=True
        )
        address.apply(client)
        client.on_message = lambda _c, _u, msg: arrived.put((int(msg.payload), msg.mid, bool(msg.dup)))
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 300
        client.connect(address.host, address.port, clean_start=False, properties=props)
        client.loop_start()
        return client

    def take(count: int) -> list[tuple[int, int, bool]]:
        return [arrived.get(timeout=60) for _ in range(count)]

    sub = session()
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_args: subscribed.set()
    sub.subscribe("acks/m", qos=1)
    wait_for(subscribed.is_set, 30, what="the subscription")
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ack-publisher")
    address.apply(pub)
    pub.connect(address.host, address.port)
    pub.loop_start()
    try:
        for i in range(300):
            pub.publish("acks/m", str(i).encode(), qos=1)
        first = []
        while len(first) < 300:
            batch = take(1)
            while not arrived.empty():
                batch += take(1)
            first += batch
            sub.ack_all(mid for i, mid, _dup in batch if i < 290)  # from this thread, as serve's main loop
        assert [i for i, _mid, _dup in first] == list(range(300))
        sub.disconnect()
        sub.loop_stop()
        sub = session()  # the same session: what it did not acknowledge is sent again
        pub.publish("acks/m", b"1000", qos=1).wait_for_publish(30)  # after the redelivered, on one topic
        again = []
        while not again or again[-1][0] != 1000:
            again += take(1)
        assert [i for i, _mid, _dup in again] == [*range(290, 300), 1000]
        assert all(dup for i, _mid, dup in again if i < 1000)
    finally:
        for c in (pub, sub):
            c.disconnect()
            c.loop_stop()
