"""The virtual air between emulated wearables and gateways: bumble's ``LocalLink`` plus what a real
radio does that bumble leaves out (see ``shared/notes/ble-emulation.md``, pitfalls 1–4).

* :class:`Air` can *mute* a controller (power loss, out of range): its traffic is dropped both
  ways, and after an emulated supervision timeout both ends get HCI Disconnection Complete with
  reason 0x08, as a real central does. Stock bumble never reports such a link as lost.
* :class:`Air` delivers advertising PDUs only to controllers that are scanning or initiating a
  connection; stock bumble schedules one callback per controller per PDU, which made 200
  wearables saturate the CPU.
* :class:`GatewayController` answers LE Create Connection Cancel (stock bumble ignores it, so a
  connect timeout hangs forever) and makes HCI Reset drop its links, scanning and pending connect.
  It also drops the scan response bumble makes up by repeating each ADV PDU's data: the emulated
  wearables have no scan response data, and the echo doubled the gateway's advertising load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bumble import hci, ll
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.link import LocalLink

__all__ = ["CONNECTION_TIMEOUT", "REMOTE_USER_TERMINATED", "Air", "GatewayController", "QuietController"]

_LOGGER = logging.getLogger(__name__)
CONNECTION_TIMEOUT = 0x08  # what a central reports when the peripheral went silent (supervision timeout)
REMOTE_USER_TERMINATED = 0x13


class Air(LocalLink):
    def __init__(self) -> None:
        super().__init__()
        self.muted: set[Controller] = set()
        self.adv_delivered = 0
        # told about each ACL PDU a muted link swallowed, so a wearable can count readings lost in the air
        self.on_lost: dict[Controller, Callable[[bytes], None]] = {}

    def mute(self, controller: Controller) -> None:
        self.muted.add(controller)

    def unmute(self, controller: Controller) -> None:
        self.muted.discard(controller)

    def drop_links(self, controller: Controller, reason: int = CONNECTION_TIMEOUT, *, tell_self: bool = True) -> int:
        """End every LE link of ``controller`` as a supervision timeout would: the peers are told, and
        ``controller``'s own host too unless it is gone or resetting (``tell_self=False``)."""
        dropped = 0
        for connection in list(controller.le_connections.values()):
            peer = next(
                (c for c in self.controllers if c is not controller and connection.self_address in c.le_connections),
                None,
            )
            if peer is not None:
                peer.on_le_disconnected(peer.le_connections[connection.self_address], reason)
            if tell_self:
                controller.on_le_disconnected(connection, reason)
            else:
                del controller.le_connections[connection.peer_address]
            dropped += 1
        return dropped

    def remove_controller(self, controller: Controller) -> None:
        self.drop_links(controller, tell_self=False)
        self.muted.discard(controller)
        self.controllers.discard(controller)

    def send_acl_data(
        self, sender_controller: Controller, destination_address: hci.Address, transport: PhysicalTransport, data: bytes
    ) -> None:
        lost = sender_controller in self.muted or (
            transport == PhysicalTransport.LE and self.find_le_controller(destination_address) in self.muted
        )
        if lost:
            if (hook := self.on_lost.get(sender_controller)) is not None:
                hook(data)
            return
        super().send_acl_data(sender_controller, destination_address, transport, data)

    def send_ll_control_pdu(
        self, sender_address: hci.Address, receiver_address: hci.Address, packet: ll.ControlPdu
    ) -> None:
        ends = (self.find_le_controller(sender_address), self.find_le_controller(receiver_address))
        if any(end in self.muted for end in ends) or ends[1] is None:
            return  # lost in the air (or the peer is gone): the supervision timeout tells both ends
        super().send_ll_control_pdu(sender_address, receiver_address, packet)

    def send_advertising_pdu(self, sender_controller: Controller, packet: ll.AdvertisingPdu) -> None:
        if sender_controller in self.muted:
            return
        loop = asyncio.get_running_loop()
        everyone = isinstance(packet, ll.ConnectInd)  # the advertiser must hear the connect request
        for c in self.controllers:
            if c is sender_controller or c in self.muted:
                continue
            if everyone or c.le_scan_enable or c.pending_le_connection is not None:
                loop.call_soon(c.on_ll_advertising_pdu, packet)
                self.adv_delivered += 1


def _echoed_scan_response(packet: hci.HCI_Packet) -> bool:
    if isinstance(packet, hci.HCI_LE_Advertising_Report_Event):
        scan_rsp = hci.HCI_LE_Advertising_Report_Event.EventType.SCAN_RSP
        return all(report.event_type == scan_rsp for report in packet.reports)
    if isinstance(packet, hci.HCI_LE_Extended_Advertising_Report_Event):
        scan_response = hci.HCI_LE_Extended_Advertising_Report_Event.EventType.SCAN_RESPONSE
        return all(int(report.event_type) & int(scan_response) for report in packet.reports)
    return False


class QuietController(Controller):
    """bumble's controller without its eager per-packet debug formatting (``f"...{packet}"`` runs
    even with debug logging off and was the largest single cost with 200 wearables)."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))


class GatewayController(QuietController):
    """The gateway's virtual controller, with the fixes a central needs."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _echoed_scan_response(packet):
            return
        super().send_hci_packet(packet)

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None

        def cancelled() -> None:  # after the Command Complete, as a real controller orders them
            self.send_hci_packet(
                hci.HCI_LE_Connection_Complete_Event(
                    status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                    connection_handle=0,
                    role=hci.Role.CENTRAL,
                    peer_address_type=pending.peer_address.address_type,
                    peer_address=pending.peer_address,
                    connection_interval=0,
                    peripheral_latency=0,
                    supervision_timeout=0,
                    central_clock_accuracy=0,
                )
            )

        asyncio.get_running_loop().call_soon(cancelled)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def on_hci_reset_command(self, command: hci.HCI_Reset_Command) -> hci.HCI_StatusReturnParameters:
        if isinstance(self.link, Air):
            self.link.drop_links(self, tell_self=False)
        self.le_scan_enable = False
        self.pending_le_connection = None
        return super().on_hci_reset_command(command)
