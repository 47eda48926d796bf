"""``qemu:///system``: the QEMU driver plus the host's virtual networks (the whole virNetwork API).

Networks are real bridges with dnsmasq (DHCP/DNS) and NAT rules, managed by
:class:`~guiapp.backend.hostnet.HostNetworks` (see :mod:`.networks` for where
their files live).  Opening a connection changes nothing on the host: networks
start on ``net-start`` / ``create()``, or in :meth:`QemuSystemDriver.autostart_once`
(called by the daemon at its start, see :func:`guiapp.backend.autostart.autostart`),
which defines the ``default`` network (NAT, 192.168.22.0/24, ``virbr0``) the first
time and starts every autostart network once per boot, before autostart guests.
A guest's ``<interface type='network'>`` joins the bridge of its *running*
network (else VIR_ERR_NO_NETWORK / VIR_ERR_OPERATION_INVALID); a network with
running guests cannot be destroyed.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from ...errors import DriverError
from ...hostnet import HostNetworks, NetworkOpsMixin
from ...uri import URI
from .driver import QemuDriver, log
from .networks import system_networks
from .state import Dirs, atomic_write

AUTOSTART_MARKER = "autostarted"


class QemuSystemDriver(NetworkOpsMixin, QemuDriver):
    """See the module docstring."""

    _networks: HostNetworks

    def __init__(self, uri: URI, read_only: bool, dirs: Dirs) -> None:
        self._networks = system_networks(dirs)
        self._net_run = self._networks.run
        with contextlib.suppress(DriverError):  # e.g. iproute2 missing: networks then fail with that message
            self._networks.reconcile()
        super().__init__(uri, read_only, dirs)

    def autostart_once(self) -> list[str]:
        """Define ``default`` the first time, start autostart networks once per boot, then the autostart guests
        (which may need them).  Returns the names of the guests started."""
        if self.read_only:
            return super().autostart_once()  # refuses
        self._networks.install_default_network()
        marker = os.path.join(self._networks.runtime_dir, AUTOSTART_MARKER)
        if not os.path.exists(marker):
            atomic_write(Path(marker), f"{time.time()}\n")
            started = self._networks.autostart_all()
            if started:
                log.info("autostarted networks: %s", ", ".join(started))
        return super().autostart_once()

    def _bridge_for_network(self, network: str) -> str:
        """The bridge of the running network ``network`` (VIR_ERR_NO_NETWORK / OPERATION_INVALID otherwise)."""
        return self._networks.bridge_for(network)

    def _bridge_for_preview(self, network: str) -> str:
        ref = self._networks.lookup_name(network)
        try:
            return self._networks.bridge_for(network)
        except DriverError:
            return self._networks.bridge_name(ref)

    def _bridge_helper(self) -> None:
        return None  # root: the driver creates taps itself


__all__ = ["QemuSystemDriver"]
