"""What the networks page shows of one network, read on a pool thread (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from guiapp.backend.errors import DriverError
from guiapp.backend.xml.network import NetworkDef, parse_network

FORWARD_NAMES = {"nat": "NAT", "route": "routed", "open": "open", None: "isolated"}


@dataclass(frozen=True)
class NetworkRow:
    """One network of one connection, as last read from its driver."""

    uri: str
    name: str
    uuid: str
    active: bool
    persistent: bool
    autostart: bool
    bridge: str = ""
    forward: str = ""  # "NAT", "NAT via eth0", "routed", "isolated"
    ipv4: str = ""  # "192.168.122.1/24"
    dhcp: str = ""  # "192.168.122.2 – 192.168.122.254"
    xml: str = ""
    subnets: tuple[str, ...] = field(default=())
    read_only: bool = False  # the connection is read-only

    @property
    def key(self) -> tuple[str, str]:
        return self.uri, self.uuid

    @property
    def state_text(self) -> str:
        return "active" if self.active else "inactive"


def forward_text(d: NetworkDef) -> str:
    text = FORWARD_NAMES.get(d.forward_mode, d.forward_mode or "isolated")
    return f"{text} via {d.forward_dev}" if d.forward_dev else text


def describe(uri: str, name: str, uuid: str, active: bool, persistent: bool, autostart: bool, xml: str,
             bridge: str = "", read_only: bool = False) -> NetworkRow:
    """A row from the network's state and XML (the XML model gives bridge, forward mode and addresses)."""
    try:
        d: Optional[NetworkDef] = parse_network(xml)
    except DriverError:
        d = None  # still list it: name and state are known, the XML view shows the document
    if d is None:
        return NetworkRow(uri, name, uuid, active, persistent, autostart, bridge=bridge, xml=xml, read_only=read_only)
    ip = d.ipv4
    dhcp = ""
    if ip is not None and ip.ranges:
        dhcp = ", ".join(f"{a} – {b}" for a, b in ip.ranges)
    return NetworkRow(uri, name, uuid, active, persistent, autostart, bridge=bridge or d.bridge or "",
                      forward=forward_text(d), ipv4=ip.interface if ip is not None else "", dhcp=dhcp, xml=xml,
                      subnets=tuple(str(s) for s in d.subnets()), read_only=read_only)


def fetch_rows(uri: str, conn: Any, read_only: bool = False) -> list[NetworkRow]:
    """Every network of ``conn`` (driver calls: run it on the pool)."""
    rows = []
    for net in conn.listAllNetworks(0):
        rows.append(describe(uri, net.name(), net.UUIDString(), bool(net.isActive()), bool(net.isPersistent()),
                             bool(net.autostart()), net.XMLDesc(0), read_only=read_only))
    rows.sort(key=lambda r: r.name.lower())
    return rows


def fetch_leases(conn: Any, uuid: str) -> list[dict[str, Any]]:
    """The DHCP leases of an active network (driver calls: run it on the pool)."""
    return list(conn.networkLookupByUUIDString(uuid).DHCPLeases())
