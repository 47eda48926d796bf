"""Virtual networks: the driver-side table and the host side (bridge, dnsmasq, NAT, taps).

* :class:`NetworkTable` (:mod:`.table`) - networks in memory with libvirt's rules (the test driver);
* :class:`HostNetworks` (:mod:`.manager`) - the same, made real on the host and kept on disk
  (``qemu:///system``); ``netns=`` runs it inside a network namespace;
* :class:`NetworkOpsMixin` (:mod:`.ops`) - a driver's ``network_*`` operations over either;
* :mod:`.tap` - guest tap devices (``vnetN``) handed to QEMU as file descriptors;
* :mod:`.session` - what ``qemu:///session`` can do instead (qemu-bridge-helper) or the error it reports.

How the QEMU driver uses it for ``qemu:///system`` (``guiapp.backend.drivers.qemu.system`` and
``.networks``; all calls raise DriverError with libvirt's codes)::

    class QemuSystemDriver(NetworkOpsMixin, QemuDriver):   # the whole virNetwork API
        self._networks = HostNetworks.shared(run, etc)  # <root>/run/guiapp/network, <root>/etc/guiapp/qemu/networks
        self._networks.users = ...       # name -> running guests (read from the QEMU runtime records; destroy refuses)
        self._networks.reconcile()       # forget networks whose bridge vanished
        # autostart_once() (run by the daemon at its start, never by opening a connection):
        self._networks.install_default_network()  # the 'default' network, once per host
        self._networks.autostart_all()   # once per boot, before autostart guests

    bridge = self._networks.bridge_for(nic.network)  # <interface type='network'>: NO_NETWORK / OPERATION_INVALID
    # QEMU opens the tap (-netdev tap,ifname=vnetN,script=no); after start the driver enslaves it with
    #   links.enslave(self._networks.run, tapname, bridge, tap.host_side_mac(nic.mac)).
    # The tap is not persistent: it goes with QEMU; the driver also deletes any left when the guest stops.
    # (Alternative: tapname, fd = self._networks.create_tap(...) and -netdev tap,fd=N.)

``<root>`` is ``/`` or ``$GUIAPP_SYSTEM_ROOT``.
For ``qemu:///session``: ``session.bridge_helper_for(bridge)`` gives a helper for
``-netdev bridge,br=...,helper=...`` when one is installed and allowed, else raise
``session.no_tap_error(network, bridge)``.
"""

from typing import TYPE_CHECKING, Any

from .ops import NetworkOpsMixin

if TYPE_CHECKING:
    from .manager import HostNetworks
    from .table import NetworkEntry, NetworkTable

__all__ = ["HostNetworks", "NetworkOpsMixin", "NetworkTable", "NetworkEntry"]


def __getattr__(name: str) -> Any:
    """HostNetworks (bridges, dnsmasq, firewall) and the table load on first use (a driver that mixes in
    NetworkOpsMixin makes its table when a network is first asked for: command-line start-up time)."""
    if name == "HostNetworks":
        from .manager import HostNetworks

        return HostNetworks
    if name in ("NetworkEntry", "NetworkTable"):
        from . import table

        return getattr(table, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
