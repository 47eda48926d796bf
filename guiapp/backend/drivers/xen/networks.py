"""``xen:///``: the host's virtual networks (the whole virNetwork API) and ``<interface type='network'>``.

A Xen Domain-0 has one set of host networks, as under libvirt where the libxl driver and the QEMU
driver share the network driver: the same :class:`~guiapp.backend.hostnet.HostNetworks` as
``qemu:///system`` (definitions under ``<root>/etc/guiapp/qemu/networks``, run state under
``<root>/run/guiapp/network``, ``<root>`` = ``/`` or ``$GUIAPP_SYSTEM_ROOT``).  It is made on first use,
so opening a connection creates no directory.  A guest's ``type='network'`` vif joins the bridge of the
*running* network (``bridge=`` in the xl.cfg); definitions only need the network to exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Optional

from ...hostnet import HostNetworks, NetworkOpsMixin, NetworkTable
from ...xml.domain import DomainDef
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

    @property
    def _networks(self) -> NetworkTable:
        if self._xen_networks is None:
            runtime, config = network_dirs()
            mgr = HostNetworks.shared(runtime, config, install_default=False)  # opening defines nothing
            mgr.users = self._guests_on_network
            self._xen_networks = mgr
        return self._xen_networks

    @_networks.setter
    def _networks(self, table: NetworkTable) -> None:
        """Tests (or a caller with its own host networks) may hand in the table to use."""
        self._xen_networks = table

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
