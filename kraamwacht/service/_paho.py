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
batch in one write. :func:`share_property_tables` makes paho's decoding of an MQTT 5 PUBLISH
without properties cheap (14 µs of serve's time per message otherwise).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import Any, ClassVar

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties

__all__ = ["ReadAheadClient", "ReadAheadSocket", "SharedTablesProperties", "share_property_tables"]

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


class SharedTablesProperties(Properties):  # type: ignore[misc]
    """paho's MQTT 5 properties, the same in every respect but that the tables are built once.

    paho builds a list and two dictionaries of 27 entries for every packet it decodes, then walks
    them to clear attributes a new object cannot have: about 14 µs for each PUBLISH serve receives,
    though gateways send none. The tables are never changed after they are built (paho only reads
    them), so one copy serves every object; a packet without properties on a new object skips the
    clearing. Anything else takes paho's own code.
    """

    _tables: ClassVar[tuple[list[str], dict[str, int], dict[int, tuple[int, list[int]]]] | None] = None

    def __init__(self, packetType: int) -> None:  # noqa: N803 (paho's name)
        tables = SharedTablesProperties._tables
        if tables is None:
            plain = Properties(packetType)
            tables = SharedTablesProperties._tables = (plain.types, plain.names, plain.properties)
        self.packetType = packetType
        self.types, self.names, self.properties = tables

    def unpack(self, buffer: bytes) -> tuple[Properties, int]:
        """As paho's, for a property length of 0 (one byte) on an object with nothing set yet at once."""
        if buffer[:1] == b"\x00" and len(self.__dict__) == 4:
            return self, 1
        result: tuple[Properties, int] = super().unpack(buffer)
        return result


def share_property_tables() -> bool:
    """Make paho decode received packets' properties with :class:`SharedTablesProperties` (for the
    whole process: serve's clients). Whether it could: paho versions without the ``_packet`` module
    (before 2.2) keep their own, which only costs the time."""
    try:
        from paho.mqtt import _packet
    except ImportError:
        return False
    if getattr(_packet, "Properties", None) not in (Properties, SharedTablesProperties):
        return False
    _packet.Properties = SharedTablesProperties
    return True
