"""``xen:///``: the host's virtual networks (the whole virNetwork API) and ``<interface type='network'>``.

A Xen Domain-0 has one set of host networks, as under libvirt where the libxl driver and the QEMU
driver share the network driver: the same :class:`~guiapp.backend.hostnet.HostNetworks` as
``qemu:///system`` (definitions under ``<root>/etc/guiapp/qemu/networks``, run state under
``<root>/run/guiapp/network``, ``<root>`` = ``/`` or ``$GUIAPP_SYSTEM_ROOT``).  It is made on first use,
so opening a connection (or listing networks on a host that has none yet) creates no directory: until the
first network is defined there, the listing comes from an empty table.  A guest's ``type='network'`` vif
joins the bridge of the *running* network (``bridge=`` in the xl.cfg); definitions need only valid XML.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Optional

from ...hostnet import HostNetworks, NetworkOpsMixin, NetworkTable
from ...xml.domain import DomainDef
from ..base import NetworkRef
from ..qemu.networks import network_dirs


def network_names(d: DomainDef) -> list[str]:
    """The networks ``d``'s ``type='network'`` interfaces name, in order."""
    out = []
    for nic in d.interfaces:
        src = nic.element.find("source")
        if nic.type == "network" and src is not None and src.get("network"):
            out.append(src.get("network") or "")
    return out


class AnyBridge(Mapping[str, str]):
    """Bridges for checking a definition: every network has one (whether it exists is checked at start)."""

    def __getitem__(self, key: str) -> str:
        return "xenbr0"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class XenNetworksMixin(NetworkOpsMixin):
    """The network operations of the Xen driver over the host's networks (made lazily)."""

    _xen_networks: Optional[NetworkTable] = None
    _may_create_dirs = False

    @property
    def _networks(self) -> NetworkTable:
        if self._xen_networks is None:
            runtime, config = network_dirs()
            if not os.path.isdir(config) and not self._may_create_dirs:
                return NetworkTable()  # no networks on this host yet: listing must not create the store
            mgr = HostNetworks.shared(runtime, config, install_default=False)  # opening defines nothing
            mgr.users = self._guests_on_network
            self._xen_networks = mgr
        return self._xen_networks

    @_networks.setter
    def _networks(self, table: NetworkTable) -> None:
        """Tests (or a caller with its own host networks) may hand in the table to use."""
        self._xen_networks = table

    def network_define_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        self._may_create_dirs = True  # the first definition makes the host's network store
        return super().network_define_xml(xml, flags)

    def network_create_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        self._may_create_dirs = True
        return super().network_create_xml(xml, flags)

    def _guests_on_network(self, name: str) -> list[str]:
        """Running Xen guests with a vif on network ``name`` (destroying it is refused while there are some)."""
        return []

    def _bridges(self, d: DomainDef, *, running: bool) -> dict[str, str]:
        """{network: bridge} for ``d``'s ``type='network'`` vifs: the running network's bridge to start a guest
        (VIR_ERR_NO_NETWORK / OPERATION_INVALID otherwise), the defined network's bridge for a preview."""
        out: dict[str, str] = {}
        for name in network_names(d):
            if running:
                out[name] = self._networks.bridge_for(name)
            else:
                out[name] = self._networks.bridge_name(self._networks.lookup_name(name))
        return out


__all__ = ["XenNetworksMixin", "AnyBridge", "network_names"]
