"""The virtual networks of one driver: definitions, run state, autostart, and libvirt's rules for them.

:class:`NetworkTable` keeps the networks in memory and enforces what libvirt's
network driver enforces (unique names and UUIDs, one bridge per network, no two
active networks on overlapping subnets, no destroy while guests use a network).
It calls hooks to do the host side; the base class's hooks do nothing (the
``test`` driver uses it as is), :class:`~guiapp.backend.hostnet.manager.HostNetworks`
overrides them to create bridges, run dnsmasq and add firewall rules, and to
keep definitions on disk.

Every public method checks *everything first* and only then changes state, so
a refused call changes nothing; a hook failing half-way is undone by the hook.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Optional

from .. import constants as C
from ..drivers.base import NetworkRef
from ..errors import DriverError
from ..xml.domain import format_uuid
from ..xml.network import NetworkDef, parse_network
from ..xml.network_forward import is_direct

_FROM = C.VIR_FROM_NETWORK

_LIST_FLAGS = (C.VIR_CONNECT_LIST_NETWORKS_ACTIVE | C.VIR_CONNECT_LIST_NETWORKS_INACTIVE
               | C.VIR_CONNECT_LIST_NETWORKS_PERSISTENT | C.VIR_CONNECT_LIST_NETWORKS_TRANSIENT
               | C.VIR_CONNECT_LIST_NETWORKS_AUTOSTART | C.VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART)

#: A function telling which running guests use a network: network name -> guest names.
UsersFn = Callable[[str], list[str]]
#: A function listing the interfaces of running guests on a network: name -> [(mac, guest name)].
GuestNicsFn = Callable[[str], list[tuple[str, str]]]


def check_flags(flags: int, allowed: int, func: str) -> None:
    if flags & ~allowed:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"unsupported flags (0x{flags & ~allowed:x}) in function {func}",
                          _FROM)


@dataclass
class NetworkEntry:
    """One network: its persistent definition (None when transient) and running one (None when inactive)."""

    config: Optional[NetworkDef]
    live: Optional[NetworkDef]
    autostart: bool = False
    name: str = ""  # name and uuid never change (a redefinition must keep both)
    uuid: bytes = b""

    def __post_init__(self) -> None:
        self.name, self.uuid = self.cur.name, self.cur.uuid

    @property
    def cur(self) -> NetworkDef:
        d = self.live if self.live is not None else self.config
        assert d is not None
        return d

    @property
    def active(self) -> bool:
        return self.live is not None

    @property
    def persistent(self) -> bool:
        return self.config is not None

    @property
    def ref(self) -> NetworkRef:
        return NetworkRef(self.name, self.uuid)


def not_found_name(name: str) -> DriverError:
    return DriverError(C.VIR_ERR_NO_NETWORK, f"no network with matching name '{name}'", _FROM)


class NetworkTable:
    """In-memory networks with libvirt's checks; subclasses do the host side through the ``_host_*`` hooks."""

    #: Bridge names given to networks whose XML names none: virbr0, virbr1, ...
    bridge_template = "virbr%d"

    def __init__(self, users: Optional[UsersFn] = None, guest_nics: Optional[GuestNicsFn] = None) -> None:
        self._lock = threading.RLock()
        self._by_name: dict[str, NetworkEntry] = {}
        self._by_uuid: dict[bytes, NetworkEntry] = {}
        self.users: UsersFn = users or (lambda name: [])
        self.guest_nics: GuestNicsFn = guest_nics or (lambda name: [])

    # -- hooks (the base class: nothing on the host) ----------------------------

    def _host_start(self, d: NetworkDef) -> None:
        """Bring ``d`` up on the host; on failure undo everything done and raise DriverError."""

    def _host_stop(self, d: NetworkDef) -> None:
        """Take ``d`` down on the host (best effort: never raises for things already gone)."""

    def _host_link_exists(self, name: str) -> bool:
        """Whether an interface called ``name`` exists on the host (bridge names must be free)."""
        return False

    def _host_subnet_user(self, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Optional[str]:
        """The host interface (not one of ours) already on a subnet overlapping ``net``, if any."""
        return None

    def _save_config(self, e: NetworkEntry) -> None:
        """Persist ``e.config`` and ``e.autostart``."""

    def _delete_config(self, name: str) -> None:
        """Forget the persistent definition ``name``."""

    def _leases(self, e: NetworkEntry) -> list[dict[str, Any]]:
        """The DHCP leases of the active network ``e``."""
        return self._synthetic_leases(e)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Hold the table for one operation (subclasses also lock and reload their on-disk state)."""
        with self._lock:
            yield

    # -- bookkeeping -----------------------------------------------------------

    def _add(self, e: NetworkEntry) -> None:
        self._by_name[e.name] = e
        self._by_uuid[e.uuid] = e

    def _forget(self, e: NetworkEntry) -> None:
        self._by_name.pop(e.name, None)
        self._by_uuid.pop(e.uuid, None)

    def _get(self, ref: Any) -> NetworkEntry:
        try:
            e = self._by_uuid.get(ref.uuid)
        except AttributeError:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"not a network reference: {ref!r}", _FROM) from None
        if e is None:
            raise DriverError(C.VIR_ERR_NO_NETWORK,
                              f"no network with matching uuid '{format_uuid(ref.uuid)}' ({ref.name})", _FROM)
        return e

    def add_loaded(self, config: Optional[NetworkDef], live: Optional[NetworkDef], autostart: bool = False) -> None:
        """Add a network read from a node file or from disk, with no checks and no host action."""
        with self._lock:
            self._add(NetworkEntry(config, live, autostart))

    # -- checks ----------------------------------------------------------------

    def _check_new(self, d: NetworkDef, *, starting: bool) -> Optional[NetworkEntry]:
        """libvirt's virNetworkObjListAdd checks; returns the network with the same name and UUID, if any."""
        e = self._by_uuid.get(d.uuid)
        if e is not None:
            if e.name != d.name:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"network '{e.name}' is already defined with uuid {d.uuid_str}", _FROM)
            if starting and e.active:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"network is already active as '{e.name}'", _FROM)
            return e
        other = self._by_name.get(d.name)
        if other is not None:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"network '{d.name}' already exists with uuid {format_uuid(other.uuid)}", _FROM)
        return None

    def _bridges_taken(self, skip: Optional[NetworkEntry]) -> dict[str, str]:
        taken: dict[str, str] = {}
        for e in self._by_name.values():
            if e is skip:
                continue
            for d in (e.config, e.live):
                if d is not None and d.bridge:
                    taken[d.bridge] = e.name
        return taken

    def _assign_bridge(self, d: NetworkDef, skip: Optional[NetworkEntry]) -> None:
        """Check the bridge name is free, or pick one (``virbrN`` / the XML's ``%d`` template)."""
        if is_direct(d.forward_mode):
            return  # the host's bridge (forward mode='bridge') or none at all: nothing to pick
        taken = self._bridges_taken(skip)
        if d.bridge and "%d" not in d.bridge:
            owner = taken.get(d.bridge)
            if owner is not None:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"bridge name '{d.bridge}' is already in use by network '{owner}': choose "
                                  f"another <bridge name=...> or leave it out to get a free one", _FROM)
            return
        template = d.bridge or self.bridge_template
        for n in range(256):
            name = template.replace("%d", str(n), 1)
            if name not in taken and not self._host_link_exists(name):
                d.set_bridge(name)
                return
        raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                          f"no free bridge name for network '{d.name}' from template '{template}'", _FROM)

    def _check_startable(self, d: NetworkDef, skip: Optional[NetworkEntry]) -> None:
        """Refuse to start ``d`` when its bridge or subnets clash with active networks or the host."""
        spans = [ip.span for ip in d.ips]
        for e in self._by_name.values():
            if e is skip or e.live is None:
                continue
            if d.bridge and e.live.bridge == d.bridge:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"bridge name '{d.bridge}' is already in use by active network '{e.name}'",
                                  _FROM)
            for i, (ver, lo, hi) in enumerate(spans):
                for theirs in e.live.ips:
                    tver, tlo, thi = theirs.span
                    if ver == tver and lo <= thi and tlo <= hi:
                        raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                          f"subnet {d.ips[i].network} of network '{d.name}' overlaps "
                                          f"{theirs.network} of active network '{e.name}': choose another "
                                          f"address range", _FROM)
        if d.bridge and not is_direct(d.forward_mode) and self._host_link_exists(d.bridge):
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"bridge name '{d.bridge}' of network '{d.name}' is already in use by a host "
                              f"interface: choose another <bridge name=...>", _FROM)
        for mine in d.subnets():
            user = self._host_subnet_user(mine)
            if user is not None:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"subnet {mine} of network '{d.name}' is already in use by host interface "
                                  f"'{user}': choose another address range", _FROM)

    # -- listing and lookup ----------------------------------------------------

    def list_names(self, active: bool) -> list[str]:
        with self._transaction():
            return sorted(e.name for e in self._by_name.values() if e.active == active)

    @staticmethod
    def _matches(e: NetworkEntry, flags: int) -> bool:
        if flags & 3 and not flags & (C.VIR_CONNECT_LIST_NETWORKS_ACTIVE if e.active
                                      else C.VIR_CONNECT_LIST_NETWORKS_INACTIVE):
            return False
        if flags & 12 and not flags & (C.VIR_CONNECT_LIST_NETWORKS_PERSISTENT if e.persistent
                                       else C.VIR_CONNECT_LIST_NETWORKS_TRANSIENT):
            return False
        if flags & 48 and not flags & (C.VIR_CONNECT_LIST_NETWORKS_AUTOSTART if e.autostart
                                       else C.VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART):
            return False
        return True

    def list_all(self, flags: int = 0) -> list[NetworkRef]:
        check_flags(flags, _LIST_FLAGS, "virConnectListAllNetworks")
        with self._transaction():
            return [e.ref for e in sorted(self._by_name.values(), key=lambda e: e.name) if self._matches(e, flags)]

    def lookup_name(self, name: str) -> NetworkRef:
        with self._transaction():
            e = self._by_name.get(name)
            if e is None:
                raise not_found_name(name)
            return e.ref

    def lookup_uuid(self, uuid: bytes) -> NetworkRef:
        with self._transaction():
            e = self._by_uuid.get(bytes(uuid))
            if e is None:
                raise DriverError(C.VIR_ERR_NO_NETWORK, f"no network with matching uuid '{format_uuid(bytes(uuid))}'",
                                  _FROM)
            return e.ref

    # -- define / create / undefine ---------------------------------------------

    def define(self, xml: str | bytes, flags: int = 0) -> NetworkRef:
        check_flags(flags, C.VIR_NETWORK_DEFINE_VALIDATE, "virNetworkDefineXML")
        d = parse_network(xml)
        with self._transaction():
            e = self._check_new(d, starting=False)
            self._assign_bridge(d, e)
            if e is None:
                e = NetworkEntry(d, None)
                self._save_config(e)
                self._add(e)
            else:
                old = e.config
                e.config = d  # an active network keeps running with its live definition
                try:
                    self._save_config(e)
                except DriverError:
                    e.config = old
                    raise
            return e.ref

    def create(self, xml: str | bytes, flags: int = 0) -> NetworkRef:
        check_flags(flags, C.VIR_NETWORK_CREATE_VALIDATE, "virNetworkCreateXML")
        d = parse_network(xml)
        with self._transaction():
            e = self._check_new(d, starting=True)
            self._assign_bridge(d, e)
            self._check_startable(d, e)
            self._host_start(d)
            if e is None:
                e = NetworkEntry(None, d)
                self._add(e)
            else:
                e.live = d
            self._started(e)
            return e.ref

    def undefine(self, ref: NetworkRef) -> None:
        with self._transaction():
            e = self._get(ref)
            if e.active:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"Network '{e.name}' is still running", _FROM)
            if not e.persistent:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"cannot undefine transient network '{e.name}'",
                                  _FROM)
            self._delete_config(e.name)
            self._forget(e)

    # -- start / stop ------------------------------------------------------------

    def start(self, ref: NetworkRef) -> None:
        with self._transaction():
            e = self._get(ref)
            if e.active:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"Network '{e.name}' is already running", _FROM)
            d = e.config.copy()  # type: ignore[union-attr]
            self._check_startable(d, e)
            self._host_start(d)
            e.live = d
            self._started(e)

    def _started(self, e: NetworkEntry) -> None:
        """Called after ``e`` went live (subclasses record run state)."""

    def _stopped(self, e: NetworkEntry) -> None:
        """Called when ``e`` went down on the host (``e.live`` is still set)."""

    def destroy(self, ref: NetworkRef) -> None:
        with self._transaction():
            e = self._get(ref)
            if not e.active:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"network '{e.name}' is not active", _FROM)
            users = self.users(e.name)
            if users:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                  f"network '{e.name}' is still in use by running guests: {', '.join(users)}; "
                                  f"shut them down (or detach their interfaces) first", _FROM)
            self._host_stop(e.live)  # type: ignore[arg-type]
            self._stopped(e)
            e.live = None
            if not e.persistent:
                self._forget(e)

    def autostart_all(self) -> list[str]:
        """Start every inactive network marked autostart; returns the names started (failures are skipped)."""
        started = []
        for name in self.list_names(active=False):
            try:
                with self._transaction():
                    e = self._by_name.get(name)
                    if e is None or e.active or not e.autostart:
                        continue
                self.start(e.ref)
                started.append(name)
            except DriverError:
                continue
        return started

    # -- properties ----------------------------------------------------------------

    def xml_desc(self, ref: NetworkRef, flags: int = 0) -> str:
        check_flags(flags, C.VIR_NETWORK_XML_INACTIVE, "virNetworkGetXMLDesc")
        with self._transaction():
            e = self._get(ref)
            if flags & C.VIR_NETWORK_XML_INACTIVE and e.config is not None:
                return e.config.to_xml()
            return e.cur.to_xml()

    def bridge_name(self, ref: NetworkRef) -> str:
        with self._transaction():
            e = self._get(ref)
            if not e.cur.bridge:
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"network '{e.name}' does not have a bridge name.",
                                  _FROM)
            return e.cur.bridge

    def bridge_for(self, name: str) -> str:
        """The bridge of the *active* network ``name`` (what a guest's ``type='network'`` interface joins)."""
        with self._transaction():
            e = self._by_name.get(name)
            if e is None:
                raise not_found_name(name)
            if e.live is None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                  f"network '{name}' is not active: start it (net-start {name}) first", _FROM)
            if not e.live.bridge:
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"network '{name}' (forward mode='{e.live.forward_mode}') has no bridge: its "
                                  f"guests would attach through macvtap or PCI passthrough, which guiapp's "
                                  f"drivers do not do; use a network with a bridge", _FROM)
            return e.live.bridge

    def is_active(self, ref: NetworkRef) -> bool:
        with self._transaction():
            return self._get(ref).active

    def is_persistent(self, ref: NetworkRef) -> bool:
        with self._transaction():
            return self._get(ref).persistent

    def get_autostart(self, ref: NetworkRef) -> bool:
        with self._transaction():
            return self._get(ref).autostart

    def set_autostart(self, ref: NetworkRef, autostart: bool) -> None:
        with self._transaction():
            e = self._get(ref)
            if not e.persistent:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"cannot set autostart for transient network "
                                  f"'{e.name}'", _FROM)
            old = e.autostart
            e.autostart = bool(autostart)
            try:
                self._save_config(e)
            except DriverError:
                e.autostart = old
                raise

    def leases(self, ref: NetworkRef, mac: Optional[str] = None, flags: int = 0) -> list[dict[str, Any]]:
        check_flags(flags, 0, "virNetworkGetDHCPLeases")
        with self._transaction():
            e = self._get(ref)
            if not e.active:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"network '{e.name}' is not active", _FROM)
            rows = self._leases(e)
        if mac is not None:
            want = mac.lower()
            rows = [r for r in rows if r["mac"].lower() == want]
        return rows

    # -- the test driver's leases ----------------------------------------------------

    def _synthetic_leases(self, e: NetworkEntry) -> list[dict[str, Any]]:
        """Leases the test driver makes up: one per running guest NIC, at a stable address of the DHCP range."""
        d = e.live
        ip = d.ipv4 if d is not None else None
        if d is None or ip is None or not ip.has_dhcp:
            return []
        pool: list[int] = []
        for start, end in ip.ranges:
            pool.extend(range(int(start), min(int(end), int(start) + 4095) + 1))
        static = {h.mac: h for h in ip.hosts if h.mac}
        used: set[int] = {int(h.ip) for h in ip.hosts if h.ip is not None}
        expiry = int(time.time()) // 3600 * 3600 + 3600
        rows = []
        for mac, guest in sorted(self.guest_nics(e.name)):
            host = static.get(mac)
            if host is not None and host.ip is not None:
                addr = int(host.ip)
            elif pool:
                from hashlib import blake2b  # only for made-up leases

                k = int.from_bytes(blake2b(mac.encode(), digest_size=4).digest(), "big") % len(pool)
                for step in range(len(pool)):
                    addr = pool[(k + step) % len(pool)]
                    if addr not in used:
                        break
                else:
                    continue
            else:
                continue
            used.add(addr)
            rows.append(lease_row(d.bridge or "", expiry, mac, str(ipaddress.ip_address(addr)), ip.prefix,
                                  guest, None))
        return rows


def lease_row(iface: str, expiry: int, mac: str, ipaddr: str, prefix: int, hostname: Optional[str],
              clientid: Optional[str]) -> dict[str, Any]:
    """One lease as libvirt-python's ``virNetwork.DHCPLeases()`` returns it."""
    return {"iface": iface, "expirytime": expiry, "type": C.VIR_IP_ADDR_TYPE_IPV4, "mac": mac, "iaid": None,
            "ipaddr": ipaddr, "prefix": prefix, "hostname": hostname, "clientid": clientid}


__all__ = ["NetworkTable", "NetworkEntry", "lease_row", "check_flags", "UsersFn", "GuestNicsFn"]
