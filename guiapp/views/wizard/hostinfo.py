"""What the wizard needs to know about a connection, read once on the job pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from guiapp.backend.constants import VIR_ERR_NO_SUPPORT
from guiapp.backend.errors import libvirtError
from guiapp.backend.xml.capabilities import Capabilities, parse_capabilities
from guiapp.backend.xml.guest_kinds import KindOption, kind_options

from ..storage.rows import PoolRow, fetch_pools


@dataclass
class HostInfo:
    uri: str
    driver_type: str  # getType(): 'TEST', 'QEMU', 'Xen'
    caps: Capabilities
    kinds: list[KindOption]
    memory_mib: int
    cpus: int
    max_vcpus: dict[str, Optional[int]] = field(default_factory=dict)  # domain type -> limit
    domain_names: set[str] = field(default_factory=set)
    networks: Optional[list[str]] = None  # None: the connection has no network API
    bridges: dict[str, str] = field(default_factory=dict)  # network name -> its bridge (for the xl.cfg preview)
    read_only: bool = False
    qemu_argv: bool = False  # the connection shows QEMU's exact argv (domainXMLToNative 'qemu-argv')
    pools: Optional[list[PoolRow]] = None  # None: the connection has no storage API

    def option(self, key: str) -> Optional[KindOption]:
        return next((o for o in self.kinds if o.kind.key == key), None)


def _networks(conn: Any) -> Optional[list[str]]:
    """Active and defined network names, or None when the connection's driver has no network API."""
    if not callable(getattr(conn, "listNetworks", None)):
        return None
    try:
        names = list(conn.listNetworks())
        if callable(getattr(conn, "listDefinedNetworks", None)):
            names += [n for n in conn.listDefinedNetworks() if n not in names]
    except libvirtError as exc:
        if exc.get_error_code() == VIR_ERR_NO_SUPPORT:
            return None
        raise
    return names


def _bridges(conn: Any, names: Optional[list[str]]) -> dict[str, str]:
    """The bridge of each network that has one (virNetworkGetBridgeName), for Xen's xl.cfg preview."""
    out: dict[str, str] = {}
    for name in names or []:
        try:
            out[name] = conn.networkLookupByName(name).bridgeName()
        except libvirtError:
            continue  # no bridge (e.g. forward mode='hostdev') or gone meanwhile: the preview says so
    return out


def load_pools(conn: Any, read_only: bool = False) -> Optional[list[PoolRow]]:
    """The connection's storage pools, or None when its driver has no storage API (call on the pool)."""
    if not callable(getattr(conn, "listAllStoragePools", None)):
        return None
    try:
        return fetch_pools(conn.getURI(), conn, read_only)
    except libvirtError as exc:
        if exc.get_error_code() == VIR_ERR_NO_SUPPORT:
            return None
        raise


def load_host_info(conn: Any) -> HostInfo:
    """Capabilities, node info, vCPU limits, existing names and networks of ``conn`` (call on the pool)."""
    driver_type = conn.getType()
    caps = parse_capabilities(conn.getCapabilities())
    info = conn.getInfo()
    kinds = kind_options(caps, driver_type)
    limits: dict[str, Optional[int]] = {}
    for opt in kinds:
        t = opt.kind.domain_type
        if t in limits or not opt.available:
            continue
        try:
            limits[t] = int(conn.getMaxVcpus(None if opt.emulated else t))
        except Exception:  # a driver that does not know the type: no limit beyond the host's CPUs
            limits[t] = None
    names = {d.name() for d in conn.listAllDomains(0)}
    networks = _networks(conn)
    return HostInfo(uri=conn.getURI(), driver_type=driver_type, caps=caps, kinds=kinds,
                    memory_mib=int(info[1]), cpus=int(info[2]), max_vcpus=limits, domain_names=names,
                    networks=networks, bridges=_bridges(conn, networks), read_only=bool(conn.isReadOnly()),
                    qemu_argv=driver_type == "QEMU", pools=load_pools(conn))
