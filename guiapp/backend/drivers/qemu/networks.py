"""Virtual networks for QEMU guests: the host's networks (``qemu:///system``) and who uses them.

``qemu:///system`` connections share one :class:`~guiapp.backend.hostnet.HostNetworks`
per process (bridges, dnsmasq, NAT made real; definitions under
``<root>/etc/guiapp/qemu/networks``, run state under ``<root>/run/guiapp/network``,
``<root>`` being ``/`` or ``$GUIAPP_SYSTEM_ROOT``).  Which guests use a network is
read from the QEMU driver's runtime records, so every process (and every
connection, open or closed) agrees: a network cannot be destroyed while a running
guest of any process is on it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ...hostnet import HostNetworks, links, session, tap
from ...hostnet.runner import Runner
from ...xml.safe import parse_xml
from .record import NicUse, RuntimeRecord, load_record
from .state import Dirs, process_alive, record_paths, system_root

E = C.VIR_FROM_QEMU
CAP_NET_ADMIN = 12


def network_dirs(root: Optional[Path] = None) -> tuple[str, str]:
    """(runtime_dir, config_dir) of the system networks under ``root`` (default: :func:`system_root`)."""
    r = root if root is not None else system_root()
    return str(r / "run/guiapp/network"), str(r / "etc/guiapp/qemu/networks")


def system_networks(dirs: Dirs) -> HostNetworks:
    """The shared network manager of ``qemu:///system``, told which guests (from ``dirs``) use each network."""
    runtime, config = network_dirs()
    mgr = HostNetworks.shared(runtime, config, install_default=False)  # opening defines nothing
    mgr.users = lambda name: guests_on_network(dirs, name)
    mgr.guest_nics = lambda name: guest_nics(dirs, name)
    return mgr


def _active_records(dirs: Dirs) -> list[RuntimeRecord]:
    """The records of running guests (broken records and those of a newer guiapp are skipped: the driver
    reports them)."""
    out: list[RuntimeRecord] = []
    for path in sorted(record_paths(dirs)):
        try:
            rec = load_record(path)
        except DriverError:
            continue
        if rec is not None and rec.pid is not None and rec.running and process_alive(rec.pid, rec.start_time):
            out.append(rec)
    return out


def record_nics(rec: RuntimeRecord) -> list[NicUse]:
    """The ``type='network'`` NICs of a running guest's record."""
    if rec.nets is not None:
        return rec.nets
    if not rec.xml:  # a record written before "nets" existed: read its live XML
        return []
    try:
        root = parse_xml(rec.xml)
    except DriverError:
        return []
    out = []
    for el in root.iterfind("devices/interface[@type='network']"):
        src, mac, tgt = el.find("source"), el.find("mac"), el.find("target")
        name = src.get("network") or src.get("name") if src is not None else None
        if name:
            out.append(NicUse(name, mac.get("address") if mac is not None else None,
                              tgt.get("dev") if tgt is not None else None))
    return out


def guests_on_network(dirs: Dirs, network: str) -> list[str]:
    """Names of the running guests (of any process) with an interface on virtual network ``network``."""
    return sorted({rec.name for rec in _active_records(dirs) if any(n.network == network for n in record_nics(rec))})


def guest_nics(dirs: Dirs, network: str) -> list[tuple[str, str]]:
    """(mac, guest name) of every running guest interface on ``network``."""
    return sorted((n.mac, rec.name) for rec in _active_records(dirs) for n in record_nics(rec)
                  if n.network == network and n.mac)


def taps_in_use(dirs: Dirs, skip: str = "") -> set[str]:
    """Tap names recorded by running guests other than ``skip``."""
    return {t for rec in _active_records(dirs) if rec.name != skip for t in rec.taps}


def attach_tap(run: Runner, name: str, bridge: str, guest_mac: Optional[str]) -> None:
    """Enslave the tap QEMU opened to ``bridge``, with libvirt's host-side MAC (first octet 0xfe)."""
    try:
        links.enslave(run, name, bridge, tap.host_side_mac(guest_mac) if guest_mac else None)
    except DriverError as exc:
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"cannot add tap {name} to bridge {bridge}: {exc.detail}",
                          E) from None


def remove_stale_tap(run: Runner, name: str) -> None:
    """Delete tap ``name`` if it is still there (a guest's QEMU has gone; a non-persistent tap goes by itself)."""
    try:
        if _is_tap(run, name):
            links.delete_link(run, name)
    except DriverError:
        pass  # best effort: cleaning up must never fail a stop


def _is_tap(run: Runner, name: str) -> bool:
    info = links.link_info(run, name)
    if info is None:
        return False
    kind = (info.get("linkinfo") or {}).get("info_kind")
    return kind == "tun"


def check_target_dev(run: Runner, name: str, owner: Optional[str]) -> None:
    """Refuse a ``<target dev>`` naming an interface in use (``owner``: the running guest recorded with it).

    A free *persistent* tap (made with ``ip tuntap add``) is fine: QEMU attaches to it.
    """
    info = links.link_info(run, name)
    if info is None:
        return
    if owner is not None:
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"tap device '{name}' is in use by running domain "
                                                      f"'{owner}': choose another <target dev=...>", E)
    data = info.get("linkinfo") or {}
    if data.get("info_kind") == "tun":
        if (data.get("info_data") or {}).get("persist") is True:
            return
        # a non-persistent tap lives while a process holds it: the QEMU that just quit may still be letting go
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if not links.link_exists(run, name):
                return
    raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"interface '{name}' already exists on this host (and is not a "
                                                  f"free persistent tap): choose another <target dev=...>", E)


def session_helper(bridge: str, what: str) -> str:
    """For a session guest that cannot create taps: the qemu-bridge-helper allowed on ``bridge``, else an error."""
    helper = session.bridge_helper_for(bridge)
    if helper is not None:
        return helper
    if what.startswith("network:"):
        raise session.no_tap_error(what[len("network:"):], bridge)
    raise DriverError(
        C.VIR_ERR_CONFIG_UNSUPPORTED,
        f"a qemu:///session guest cannot join bridge '{bridge}': creating tap devices needs root. Use "
        f"qemu:///system, or <interface type='user'/>, or install qemu-bridge-helper setuid and add "
        f"'allow {bridge}' to {session.BRIDGE_CONF}", E)


def can_create_taps() -> bool:
    """Whether this process may create tap devices and enslave them (CAP_NET_ADMIN in its effective set)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << CAP_NET_ADMIN))
    except (OSError, ValueError):
        pass
    return os.geteuid() == 0


__all__ = ["network_dirs", "system_networks", "guests_on_network", "guest_nics", "record_nics", "taps_in_use",
           "attach_tap", "remove_stale_tap", "check_target_dev", "session_helper", "can_create_taps"]
