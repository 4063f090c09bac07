"""A paho client that reads its TCP socket in large chunks instead of a system call per header byte.

paho reads a packet's first byte, then each byte of its length, then the rest, with one
``recv`` each: four or five system calls for every small message, about a fifth of serve's time
at thousands of homes (docs/benchmarks.md). Here a plain TCP socket is wrapped so that ``recv``
is served from up to 64 KiB read at once. The wrapper tells paho what it holds through
``pending()``, the method paho already asks of TLS sockets (which buffer the same way): while
bytes are buffered, paho's loop does not wait in ``select`` and reads them at once, so no
message is held back until the next one arrives; and :meth:`ReadAheadClient.loop_read` reads
the buffered packets in one turn of paho's loop instead of one ``select`` each. TLS and
websocket connections are left as they are. :meth:`ReadAheadClient.ack_all` acknowledges a
batch in one write.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as mqtt

__all__ = ["ReadAheadClient", "ReadAheadSocket"]

_CHUNK_BYTES = 64 * 1024
_PACKETS_PER_READ = 256  # then paho's loop writes (acknowledgements) before it reads on
_PUBACK = struct.Struct("!BBH")  # fixed header 0x40, remaining length 2, packet id (MQTT 3.1.1 and 5)


class ReadAheadSocket:
    """A non-blocking TCP socket read ``_CHUNK_BYTES`` at a time; everything else is the socket's own."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        """Up to ``bufsize`` bytes: from the buffer, else from one read of the socket (which may raise
        ``BlockingIOError`` when nothing has arrived, or return ``b""`` when the peer closed)."""
        if self._pos >= len(self._buffer):
            data = self._sock.recv(max(bufsize, _CHUNK_BYTES))
            if len(data) <= bufsize:
                return data
            self._buffer, self._pos = data, 0
        out = self._buffer[self._pos : self._pos + bufsize]
        self._pos += len(out)
        return out

    def pending(self) -> int:
        """Bytes read from the socket and not yet taken: paho's loop reads on without ``select``."""
        return len(self._buffer) - self._pos

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class ReadAheadClient(mqtt.Client):
    """``paho.mqtt.client.Client`` whose plain TCP connections read ahead (see the module's note)."""

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if type(sock) is socket.socket:  # exactly: a TLS socket is a subclass and buffers on its own
            return ReadAheadSocket(sock)
        return sock

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        """paho reads one packet per turn of its loop, each turn a ``select``: read on while whole
        packets are buffered (at most ``_PACKETS_PER_READ``, so that writes are not held back)."""
        rc = super().loop_read(max_packets)
        for _ in range(_PACKETS_PER_READ):
            sock = self._sock
            if rc != mqtt.MQTT_ERR_SUCCESS or not isinstance(sock, ReadAheadSocket) or sock.pending() == 0:
                break
            rc = super().loop_read(max_packets)
        return rc

    def ack_all(self, mids: Iterable[int]) -> None:
        """Acknowledge QoS 1 messages received with ``manual_ack``: their PUBACKs in one write.

        paho's :meth:`ack` queues each PUBACK on its own, with a wake-up of the network thread and
        a ``send`` each; a batch of a thousand messages costs as many system calls. Here they are
        joined into one packet of the same bytes (a PUBACK with reason "success" may omit the rest
        in MQTT 5, as paho's own does).
        """
        packet = b"".join([_PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids])
        if packet:
            self._packet_queue(mqtt.PUBACK, packet, 0, 1)
