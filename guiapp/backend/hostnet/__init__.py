"""Virtual networks: the driver-side table and the host side (bridge, dnsmasq, NAT, taps).

* :class:`NetworkTable` (:mod:`.table`) - networks in memory with libvirt's rules (the test driver);
* :class:`HostNetworks` (:mod:`.manager`) - the same, made real on the host and kept on disk
  (``qemu:///system``); ``netns=`` runs it inside a network namespace;
* :class:`NetworkOpsMixin` (:mod:`.ops`) - a driver's ``network_*`` operations over either;
* :mod:`.tap` - guest tap devices (``vnetN``) handed to QEMU as file descriptors;
* :mod:`.session` - what ``qemu:///session`` can do instead (qemu-bridge-helper) or the error it reports.

How the QEMU driver uses it for ``qemu:///system`` (all calls raise DriverError with libvirt's codes)::

    class QemuDriver(NetworkOpsMixin, ...):          # the whole virNetwork API
        def __init__(...):
            self._networks = HostNetworks.shared()   # /run/guiapp/network, /etc/guiapp/qemu/networks
            self._networks.users = self._guests_on_network    # name -> running guest names (destroy refuses)
            self._networks.guest_nics = ...                    # optional: name -> [(mac, guest)]
            self._networks.reconcile()               # forget networks whose bridge vanished
            self._networks.autostart_all()           # start 'default' and other autostart networks

    bridge = self._networks.bridge_for(nic.network)  # resolve_bridge for <interface type='network'>
    # either let QEMU open the tap (-netdev tap,ifname=vnetN,script=no) and enslave it afterwards with
    #   links.enslave(self._networks.run, tapname, bridge, tap.host_side_mac(nic.mac)),
    # or open it here and pass the descriptor:
    tapname, fd = self._networks.create_tap(nic.target_dev, bridge, nic.mac)   # None -> vnetN
    # qemu ... -netdev tap,id=hostnet0,fd=N,vhost=off  (Popen(pass_fds=[fd]), then os.close(fd))
    self._networks.delete_tap(tapname)               # when the guest stops (harmless if already gone)

For ``qemu:///session``: ``session.bridge_helper_for(bridge)`` gives a helper for
``-netdev bridge,br=...,helper=...`` when one is installed and allowed, else raise
``session.no_tap_error(network, bridge)``.
"""

from .manager import HostNetworks
from .ops import NetworkOpsMixin
from .table import NetworkEntry, NetworkTable

__all__ = ["HostNetworks", "NetworkOpsMixin", "NetworkTable", "NetworkEntry"]
