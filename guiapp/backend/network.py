"""virNetwork: one virtual network of a connection, with libvirt-python's method names."""

from __future__ import annotations

from typing import Any, Optional

from . import constants as C
from .errors import DriverError
from .handle import Handle
from .handle import check_flags as _flags


class virNetwork(Handle):
    """A handle on a virtual network; valid while the network exists in its driver."""

    __slots__ = ()

    # ------------------------------------------------------------------- state
    def XMLDesc(self, flags: int = 0) -> str:
        """The network's XML; ``VIR_NETWORK_XML_INACTIVE`` gives the persistent definition."""
        if flags:
            self._conn._checked(False, "virNetworkGetXMLDesc", lambda: _flags(flags))
        return self._conn._invoke("network_get_xml_desc", False, self._ref, flags)

    def bridgeName(self) -> str:
        return self._conn._invoke("network_get_bridge_name", False, self._ref)

    def isActive(self) -> int:
        return 1 if self._conn._invoke("network_is_active", False, self._ref) else 0

    def isPersistent(self) -> int:
        return 1 if self._conn._invoke("network_is_persistent", False, self._ref) else 0

    def autostart(self) -> int:
        return 1 if self._conn._invoke("network_get_autostart", False, self._ref) else 0

    def setAutostart(self, autostart: int) -> int:
        self._conn._checked(True, "virNetworkSetAutostart", lambda: None)
        self._conn._invoke("network_set_autostart", True, self._ref, bool(autostart))
        return 0

    def DHCPLeases(self, mac: Optional[str] = None, flags: int = 0) -> list[dict[str, Any]]:
        """Leases as dicts: iface, expirytime, type, mac, iaid, ipaddr, prefix, hostname, clientid."""
        def check() -> None:
            if mac is not None and not isinstance(mac, str):
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"mac must be a string or None, not {type(mac).__name__}")
            _flags(flags)
        self._conn._checked(False, "virNetworkGetDHCPLeases", check)
        return self._conn._invoke("network_get_dhcp_leases", False, self._ref, mac, flags)

    # --------------------------------------------------------------- lifecycle
    def create(self) -> int:
        """Start the (defined, inactive) network."""
        self._conn._invoke("network_create", True, self._ref)
        return 0

    def destroy(self) -> int:
        """Stop the network (a transient one disappears)."""
        self._conn._invoke("network_destroy", True, self._ref)
        return 0

    def undefine(self) -> int:
        """Remove the persistent definition of an inactive network."""
        self._conn._invoke("network_undefine", True, self._ref)
        return 0
