"""The network operations of a driver, delegated to a :class:`~guiapp.backend.hostnet.table.NetworkTable`.

A driver gets the whole network API by inheriting :class:`NetworkOpsMixin` and
setting ``self._networks`` (a ``NetworkTable`` for an in-memory node, a
``HostNetworks`` for a real host)::

    class QemuDriver(NetworkOpsMixin):
        def __init__(self, ...):
            self._networks = HostNetworks(runtime_dir, config_dir, users=self._guests_on_network)

The method names are the ``network_*`` entries of
:data:`guiapp.backend.drivers.base.OPERATIONS`; the front-end (virConnect /
virNetwork) does the read-only, closed-connection and argument checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:  # a driver class mixing this in must import fast (CLI start-up): the table is made later
    from ..drivers.base import NetworkRef
    from .table import NetworkTable


class NetworkOpsMixin:
    """Driver entry points for virtual networks; needs ``self._networks``."""

    _networks: NetworkTable

    def list_networks(self) -> list[str]:
        return self._networks.list_names(active=True)

    def num_of_networks(self) -> int:
        return len(self._networks.list_names(active=True))

    def list_defined_networks(self) -> list[str]:
        return self._networks.list_names(active=False)

    def num_of_defined_networks(self) -> int:
        return len(self._networks.list_names(active=False))

    def list_all_networks(self, flags: int = 0) -> list[NetworkRef]:
        return self._networks.list_all(flags)

    def network_lookup_by_name(self, name: str) -> NetworkRef:
        return self._networks.lookup_name(name)

    def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef:
        return self._networks.lookup_uuid(uuid)

    def network_create_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        return self._networks.create(xml, flags)

    def network_define_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        return self._networks.define(xml, flags)

    def network_create(self, ref: NetworkRef) -> None:
        self._networks.start(ref)

    def network_destroy(self, ref: NetworkRef) -> None:
        self._networks.destroy(ref)

    def network_undefine(self, ref: NetworkRef) -> None:
        self._networks.undefine(ref)

    def network_get_xml_desc(self, ref: NetworkRef, flags: int = 0) -> str:
        return self._networks.xml_desc(ref, flags)

    def network_get_bridge_name(self, ref: NetworkRef) -> str:
        return self._networks.bridge_name(ref)

    def network_get_autostart(self, ref: NetworkRef) -> bool:
        return self._networks.get_autostart(ref)

    def network_set_autostart(self, ref: NetworkRef, autostart: bool) -> None:
        self._networks.set_autostart(ref, autostart)

    def network_is_active(self, ref: NetworkRef) -> bool:
        return self._networks.is_active(ref)

    def network_is_persistent(self, ref: NetworkRef) -> bool:
        return self._networks.is_persistent(ref)

    def network_get_dhcp_leases(self, ref: NetworkRef, mac: Optional[str] = None,
                                flags: int = 0) -> list[dict[str, Any]]:
        return self._networks.leases(ref, mac, flags)


__all__ = ["NetworkOpsMixin"]
