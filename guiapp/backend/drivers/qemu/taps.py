"""Guest NICs on the host: which bridge a network means, tap names free in this network namespace, taps
in use by other guests, and removing the taps a stopped guest's QEMU left behind.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef
from .command import Command
from .dom import Dom, _err
from .networks import can_create_taps, check_target_dev, remove_stale_tap, session_helper, taps_in_use
from .runtime import QemuRuntime


class QemuTaps(QemuRuntime):
    """Bridges and taps for :class:`~.driver.QemuDriver` (``qemu:///system`` overrides the bridge look-ups)."""

    def _bridge_helper(self) -> Optional[Callable[[str, str], str]]:
        """How QEMU attaches network/bridge interfaces when this process cannot create taps (None: taps)."""
        return None if can_create_taps() else session_helper

    def _bridge_for_preview(self, network: str) -> str:
        """The bridge a command-line preview shows for ``network`` (the network need not be running)."""
        return self._bridge_for_network(network)

    def _bridge_for_network(self, network: str) -> str:
        """Session: the host bridge behind a virtual network: <config>/networks/NAME.xml <bridge name>, else
        virbr0 (``qemu:///system`` asks its running networks instead, see :mod:`.system`)."""
        path = self.dirs.config.parent / "networks" / f"{network}.xml"
        if path.exists():
            from ...xml.safe import parse_xml
            try:
                root = parse_xml(path.read_bytes(), str(path))
                br = root.find("bridge")
                if br is not None and br.get("name"):
                    return br.get("name")
            except (OSError, DriverError):
                pass
        if network == "default":
            return "virbr0"
        raise _err(C.VIR_ERR_NO_NETWORK,
                   f"network '{network}' is not known: define it in {path} with <bridge name='...'/>")

    def _free_tap_names(self) -> Callable[[int], str]:
        """A namer giving each tap-backed NIC index a vnetN free in this network namespace (lock held)."""
        used = {n for _, n in socket.if_nameindex()}  # this network namespace's devices (not /sys's)
        for d in self._doms.values():
            if d.record:
                used.update(d.record.taps)
        names: dict[int, str] = {}
        counter = itertools.count()

        def pick(index: int) -> str:
            if index not in names:
                while True:
                    n = f"vnet{next(counter)}"
                    if n not in used:
                        used.add(n)
                        names[index] = n
                        break
            return names[index]
        return pick

    def _check_taps(self, defn: DomainDef, cmd: Command) -> set[str]:
        """Refuse ``<target dev>`` taps in use; returns the bridged taps that already exist (free persistent
        ones, which are kept when the guest stops) (lock held)."""
        owners = {t: d.name for d in self._doms.values() if d.active and d.name != defn.name
                  for t in (d.record.taps if d.record else [])}
        existing = set()
        for t in cmd.taps:
            if t.bridge and defn.interfaces[t.index].target_dev:
                check_target_dev(self._net_run, t.ifname, owners.get(t.ifname))
                if _netdev_exists(t.ifname):
                    existing.add(t.ifname)
        return existing

    def _remove_taps(self, dom: Dom) -> None:
        """Delete the taps the guest's QEMU had on bridges, if any outlived it (lock held)."""
        own = dom.record.own_taps if dom.record else []
        if not own:
            return
        busy = taps_in_use(self.dirs, skip=dom.name)
        for t in own:
            if t not in busy:
                remove_stale_tap(self._net_run, t)


def _netdev_exists(name: str) -> bool:
    """Whether a network device exists in this process's network namespace."""
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True
