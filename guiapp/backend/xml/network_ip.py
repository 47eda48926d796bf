"""A network's ``<ip>`` elements: the host's address and prefix (or netmask) on the bridge, DHCP ranges
and static hosts, each checked as libvirt checks them (errors in ``VIR_FROM_NETWORK``), and the checks
across them (one IPv4 DHCP section, no overlapping subnets). Used by :mod:`.network`.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Optional, Union

from lxml import etree

from .. import constants as C
from .. import validate
from ..errors import DriverError

_FROM = C.VIR_FROM_NETWORK

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def xml_error(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_XML_ERROR, detail, _FROM)


def unsupported(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, detail, _FROM)


@dataclass
class DhcpHost:
    """A static DHCP host: ``<host mac name ip/>``."""

    mac: Optional[str]
    name: Optional[str]
    ip: Optional[IPAddress]


@dataclass
class IPDef:
    """One ``<ip>`` of a network: the host's address on the bridge, its subnet and DHCP settings."""

    address: IPAddress
    prefix: int
    ranges: list[tuple[IPAddress, IPAddress]] = field(default_factory=list)
    hosts: list[DhcpHost] = field(default_factory=list)

    @property
    def family(self) -> str:
        return "ipv6" if self.address.version == 6 else "ipv4"

    @functools.cached_property
    def network(self) -> IPNetwork:
        return ipaddress.ip_network(f"{self.address}/{self.prefix}", strict=False)

    @functools.cached_property
    def span(self) -> tuple[int, int, int]:
        """(IP version, first, last address as integers) of the subnet, for fast overlap checks."""
        net = self.network
        return net.version, int(net.network_address), int(net.broadcast_address)

    @property
    def interface(self) -> str:
        """``address/prefix`` as ``ip addr add`` takes it."""
        return f"{self.address}/{self.prefix}"

    @property
    def has_dhcp(self) -> bool:
        return bool(self.ranges or self.hosts)


def default_prefix(addr: IPAddress) -> int:
    """The prefix libvirt assumes without netmask/prefix: classful for IPv4 (A /8, B /16, C /24), /64 for IPv6."""
    if addr.version == 6:
        return 64
    first = int(addr) >> 24
    return 8 if first < 128 else 16 if first < 192 else 24


def network_mac(text: Optional[str]) -> str:
    """parse_mac with the error reported in the network error domain."""
    return validate.parse_mac(text, domain=_FROM)


def parse_ip_text(text: Optional[str], what: str, net_name: str) -> IPAddress:
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        raise xml_error(f"Invalid {what} {validate.shown(text)} in network '{net_name}': expected an IP address "
                         f"such as 192.168.122.1") from None


def load_ip(el: etree._Element, net: str) -> IPDef:
    """The checked ``<ip>`` element ``el`` of network ``net`` (a DHCP host's MAC is normalized in place)."""
    family = el.get("family")
    if family not in (None, "ipv4", "ipv6"):
        raise xml_error(f"invalid family '{family}' of an <ip> in network '{net}': expected ipv4 or ipv6")
    addr = parse_ip_text(el.get("address"), "address", net)
    if family is not None and addr.version != (6 if family == "ipv6" else 4):
        raise xml_error(f"address '{addr}' in network '{net}' is not an {family} address")
    netmask, prefix_text = el.get("netmask"), el.get("prefix")
    maxlen = addr.max_prefixlen
    if netmask is not None and prefix_text is not None:
        raise xml_error(f"Network '{net}' IP address cannot have both a prefix and a netmask")
    if netmask is not None:
        if addr.version == 6:
            raise xml_error(f"netmask not allowed for the IPv6 address '{addr}' in network '{net}': "
                             f"use prefix='64'")
        try:
            prefix = ipaddress.ip_network(f"0.0.0.0/{netmask}").prefixlen
        except ValueError:
            raise xml_error(f"Invalid netmask '{netmask}' in network '{net}': expected contiguous "
                             f"ones such as 255.255.255.0") from None
    elif prefix_text is not None:
        if not (prefix_text.isascii() and prefix_text.isdigit()) or not 0 < int(prefix_text) <= maxlen:
            raise xml_error(f"Invalid prefix '{prefix_text}' in network '{net}': expected 1-{maxlen}")
        prefix = int(prefix_text)
    else:
        prefix = default_prefix(addr)  # libvirt's default: the address class (IPv6: 64)
    ip = IPDef(addr, prefix)
    subnet = ip.network
    if addr.version == 4 and prefix < 31 and addr in (subnet.network_address, subnet.broadcast_address):
        raise xml_error(f"address '{addr}' of network '{net}' is the network or broadcast address of "
                         f"{subnet}: use a host address such as {next(subnet.hosts())}")
    dhcp = el.find("dhcp")
    if dhcp is not None:
        for r in dhcp.iterfind("range"):
            start = parse_ip_text(r.get("start"), "dhcp range start", net)
            end = parse_ip_text(r.get("end"), "dhcp range end", net)
            if start not in subnet or end not in subnet:
                raise unsupported(f"range {start} - {end} is not entirely within network {subnet} of "
                                   f"network '{net}': use addresses of {subnet}")
            if int(start) > int(end):
                raise unsupported(f"range {start} - {end} is reversed in network '{net}': put the lower "
                                   f"address first")
            if int(start) <= int(addr) <= int(end):
                raise unsupported(f"range {start} - {end} of network '{net}' contains the network's own "
                                   f"address {addr}: leave it out of the range")
            ip.ranges.append((start, end))
        for h in dhcp.iterfind("host"):
            mac = h.get("mac")
            if mac is not None:
                mac = network_mac(mac)
                if h.get("mac") != mac:
                    h.set("mac", mac)
            hname = h.get("name")
            if hname is not None:
                validate.check_dns_name(hname, f"dhcp host name in network '{net}'", domain=_FROM)
            hip = h.get("ip")
            if mac is None and hname is None:
                raise xml_error(f"static host definition in IPv{addr.version} network '{net}' must have "
                                 f"mac or name attribute specified")
            host_ip = parse_ip_text(hip, "dhcp host ip", net) if hip is not None else None
            if host_ip is not None and host_ip not in subnet:
                raise unsupported(f"dhcp host ip '{host_ip}' of network '{net}' is outside its subnet "
                                   f"{subnet}")
            ip.hosts.append(DhcpHost(mac, hname, host_ip))
        if addr.version == 6 and ip.has_dhcp:
            raise unsupported(f"DHCP on the IPv6 address {addr} of network '{net}' is not supported: "
                               f"use router advertisements (no <dhcp>) or an IPv4 address")
    return ip

def check_ips(ips: list[IPDef], net: str) -> None:
    """At most one IPv4 ``<ip>`` with DHCP, and no two subnets of one family overlapping."""
    dhcp4 = [ip for ip in ips if ip.family == "ipv4" and ip.has_dhcp]
    if len(dhcp4) > 1:
        raise unsupported(f"Multiple IPv4 dhcp sections found in network '{net}' -- dhcp is "
                           f"supported only for a single IPv4 address on each network")
    nets = [ip.network for ip in ips]
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            if a.version == b.version and a.overlaps(b):
                raise unsupported(f"the <ip> subnets {a} and {b} of network '{net}' overlap")
