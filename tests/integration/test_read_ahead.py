"""serve's paho client reads its socket in chunks: every message arrives, in order, and none waits
in the buffer for the next one (paho's loop is told what is buffered)."""

from __future__ import annotations

import socket
import threading

import paho.mqtt.client as mqtt
import pytest

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
