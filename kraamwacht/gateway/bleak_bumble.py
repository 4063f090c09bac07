"""A bleak backend on the bumble stack, so the gateway's ordinary bleak code talks to emulated wearables.

Development and test infrastructure, not product code: the gateway selects it only through bleak's
``backend=`` argument (``BleakScanner(..., backend=BleakScannerBumble)``,
``BleakClient(device, backend=BleakClientBumble)``). On a Raspberry Pi the gateway uses bleak's own
BlueZ backend and never imports this module.

One bumble ``Device`` acts as the central for all scanners and clients: in-process tests hand it
over with :func:`configure`; across processes it is opened on an HCI transport
(``tcp-client:127.0.0.1:9100``, the simulator's HCI server) with :func:`configure`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bleak.uuids import normalize_uuid_str
from bumble import hci
from bumble.core import AdvertisingData
from bumble.device import Connection, Device, Peer
from bumble.gatt import Characteristic

__all__ = ["BleakClientBumble", "BleakScannerBumble", "BumbleDetails", "configure", "shutdown"]

_LOGGER = logging.getLogger(__name__)
_central: Device | None = None
_transport_spec: str | None = None
_transport: Any = None
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def _loop_lock(name: str) -> asyncio.Lock:
    """An asyncio lock per event loop (bumble objects belong to the loop that made them)."""
    return _locks.setdefault(asyncio.get_running_loop(), {}).setdefault(name, asyncio.Lock())


_PROPERTY_NAMES = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


def configure(*, device: Device | None = None, transport: str | None = None) -> None:
    """Use this powered bumble ``device`` as the central, or open one on ``transport`` when first needed."""
    global _central, _transport_spec
    _central, _transport_spec = device, transport


async def _device() -> Device:
    global _central, _transport
    async with _loop_lock("device"):
        if _central is None:
            if _transport_spec is None:
                raise BleakError(
                    "bleak_bumble is not configured: call configure(device=...) or configure(transport=...)"
                )
            from bumble.transport import open_transport

            _transport = await open_transport(_transport_spec)
            _central = Device.with_hci(
                "kraamwacht-gateway", hci.Address("C0:98:E5:49:00:01"), _transport.source, _transport.sink
            )
            await _central.power_on()
        return _central


async def shutdown() -> None:
    """Close the transport opened by :func:`configure` (end of the event loop)."""
    global _central, _transport
    if _transport is not None:
        await _transport.close()
    _central, _transport = None, None


@dataclass(frozen=True, slots=True)
class BumbleDetails:
    """``BLEDevice.details``: the typed address (a plain string would lose the address type)."""

    address: hci.Address


def _uuid(value: Any) -> str:
    """A bumble UUID as bleak's 128-bit string (``str()`` of a bumble UUID is a display name)."""
    return normalize_uuid_str(value.to_hex_str("-") if hasattr(value, "to_hex_str") else str(value))


@functools.lru_cache(maxsize=1024)
def _uuids_of(raw: bytes) -> tuple[str, ...]:
    """Service UUIDs in raw advertising data; cached, since every wearable repeats the same bytes
    ten times a second and bumble's UUID parsing was a sixth of the gateway's CPU."""
    return tuple(_uuids(AdvertisingData.from_bytes(raw)))


def _uuids(data: AdvertisingData) -> list[str]:
    out: list[str] = []
    for kind in (
        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for uuids in data.get_all(kind) or []:
            out += [_uuid(u) for u in (uuids if isinstance(uuids, list) else [uuids])]
    return list(dict.fromkeys(out))  # the virtual controller repeats ADV data as the scan response


class BleakScannerBumble(BaseBleakScanner):
    def __init__(
        self,
        detection_callback: Callable[[BLEDevice, AdvertisementData], Any] | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **_kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._device: Device | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._device = await _device()
        self._device.on("advertisement", self._on_advertisement)
        await self._device.start_scanning(filter_duplicates=False)

    async def stop(self) -> None:
        if self._device is not None:
            self._device.remove_listener("advertisement", self._on_advertisement)
            await self._device.stop_scanning()

    def _on_advertisement(self, advertisement: Any) -> None:
        data: AdvertisingData = advertisement.data
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
        name = name.decode() if isinstance(name, bytes) else name
        uuids = list(_uuids_of(bytes(data)))
        if not self.is_allowed_uuid(uuids):
            return
        adv = AdvertisementData(
            local_name=name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=advertisement.rssi,
            platform_data=(advertisement,),
        )
        address = str(advertisement.address).split("/")[0]
        device = self.create_or_update_device(address, address, name, BumbleDetails(advertisement.address), adv)
        self.call_detection_callbacks(device, adv)


class BleakClientBumble(BaseBleakClient):
    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        details = getattr(address_or_ble_device, "details", None)
        self._target = (
            details.address if isinstance(details, BumbleDetails) else hci.Address(str(address_or_ble_device))
        )
        self._name = getattr(address_or_ble_device, "name", None) or str(self._target)
        self._connection: Connection | None = None
        self._peer: Peer | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        device = await _device()
        timeout = kwargs.get("timeout", self._timeout)
        try:
            # bumble allows one pending LE connection per controller: connects go one at a time
            async with _loop_lock("connect"):
                self._connection = await device.connect(self._target, timeout=timeout)
        except Exception as exc:  # bumble's own errors become bleak's, for bleak-retry-connector
            raise BleakDeviceNotFoundError(str(self._target), f"cannot connect to {self._target}: {exc}") from exc
        self._connection.on("disconnection", self._on_disconnection)
        self._peer = Peer(self._connection)
        await self._peer.discover_services()
        collection = BleakGATTServiceCollection()
        for service in self._peer.services:
            await service.discover_characteristics()
            gatt_service = BleakGATTService(service, service.handle, _uuid(service.uuid))
            collection.add_service(gatt_service)
            for characteristic in service.characteristics:
                await characteristic.discover_descriptors()
                properties = [name for flag, name in _PROPERTY_NAMES.items() if characteristic.properties & flag]
                gatt_char = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,  # the value handle: what notifications carry
                    _uuid(characteristic.uuid),
                    properties,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    gatt_service,
                )
                collection.add_characteristic(gatt_char)
                for descriptor in characteristic.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(descriptor, descriptor.handle, _uuid(descriptor.type), gatt_char)
                    )
        self.services = collection
        if pair:
            await self.pair()

    def _on_disconnection(self, reason: int) -> None:
        _LOGGER.info("disconnected from %s (reason 0x%02x)", self._target, reason)
        self._connection = self._peer = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        if self._connection is not None:
            await self._connection.disconnect()

    async def pair(self, *_args: Any, **_kwargs: Any) -> None:
        if self._connection is None:
            raise BleakError("not connected")
        await self._connection.pair()

    async def unpair(self) -> None:
        raise NotImplementedError("unpairing is not emulated")

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **_kwargs: Any) -> bytearray:
        return bytearray(await characteristic.obj.read_value())

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **_kwargs: Any) -> bytearray:
        return bytearray(await descriptor.obj.read_value())

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        await characteristic.obj.write_value(bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await descriptor.obj.write_value(bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: Callable[[bytearray], None], **_kwargs: Any
    ) -> None:
        if self._peer is None:
            raise BleakError("not connected")
        await self._peer.subscribe(characteristic.obj, lambda value: callback(bytearray(value)), prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        if self._peer is not None:
            await self._peer.unsubscribe(characteristic.obj)
