"""Checks of a network's ``<dns>`` element: every value that a DNS server's configuration may receive.

guiapp keeps ``<dns>`` as written (it round-trips), but nothing in it may be
unusable in dnsmasq's files: host names and domains are RFC 1123 names,
addresses are IP addresses, numbers are numbers, TXT values are one line, and
SRV service/protocol use libvirt's characters (with libvirt's error code,
``VIR_ERR_XML_DETAIL``, for those).
"""

from __future__ import annotations

import ipaddress
from typing import Optional

from lxml import etree

from .. import constants as C
from .. import validate
from ..errors import DriverError

_FROM = C.VIR_FROM_NETWORK

#: libvirt's network_conf.c: characters allowed in an SRV record's service and protocol.
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
SRV_SERVICE_CHARS = frozenset(_ALNUM + "_-+/*")
SRV_PROTOCOL_CHARS = frozenset(_ALNUM + "-+/")
DNS_RECORD_LENGTH_SRV = 512 - 30


def _xml_error(detail: str, code: int = C.VIR_ERR_XML_ERROR) -> DriverError:
    return DriverError(code, detail, _FROM)


def _name(value: Optional[str], what: str, net: str, *, required: bool = False) -> None:
    if value is None and not required:
        return
    validate.check_dns_name(value, f"{what} in network '{net}'", domain=_FROM)


def _ip(value: Optional[str], what: str, net: str) -> None:
    try:
        ipaddress.ip_address(value or "")
    except ValueError:
        raise _xml_error(f"Invalid {what} {validate.shown(value)} in network '{net}': expected an IP address "
                         f"such as 192.168.122.1") from None


def _uint(value: Optional[str], what: str, net: str, low: int, high: int) -> None:
    if value is None:
        return
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise _xml_error(f"invalid {what} {validate.shown(value)} in network '{net}': expected {low}-{high}",
                         C.VIR_ERR_XML_DETAIL)


def _chars(value: str, allowed: frozenset[str], what: str, net: str) -> None:
    if not value or any(c not in allowed for c in value):
        raise _xml_error(f"invalid character in {what} attribute {validate.shown(value)} in DNS SRV record of "
                         f"network '{net}': use letters, digits and {' '.join(sorted(allowed - set(_ALNUM)))}",
                         C.VIR_ERR_XML_DETAIL)


def check_dns(dns: etree._Element, net: str) -> None:
    """Refuse a ``<dns>`` element holding a value a DNS server's config could misread (DriverError)."""
    if dns.get("enable") == "no" and any(dns.find(t) is not None for t in ("forwarder", "host", "srv", "txt")):
        raise _xml_error(f"Extra data in disabled network '{net}': a <dns enable='no'> takes no forwarders, "
                         f"hosts, SRV or TXT records")
    for fw in dns.iterfind("forwarder"):
        addr, domain = fw.get("addr"), fw.get("domain")
        if addr is None and domain is None:
            raise _xml_error(f"a DNS <forwarder> of network '{net}' needs addr= or domain= (or both)")
        if addr is not None:
            _ip(addr, "forwarder IP address", net)
        _name(domain, "DNS forwarder domain", net)
    for txt in dns.iterfind("txt"):
        _name(txt.get("name"), "DNS TXT record name", net, required=True)
        validate.check_text(txt.get("value") or "", f"DNS TXT value in network '{net}'", '"\\', spaces=True,
                            domain=_FROM, code=C.VIR_ERR_XML_ERROR)
    for srv in dns.iterfind("srv"):
        service, protocol = srv.get("service") or "", srv.get("protocol") or ""
        if len(service) > DNS_RECORD_LENGTH_SRV:
            raise _xml_error(f"service attribute in network '{net}' is too long, limit is {DNS_RECORD_LENGTH_SRV} "
                             f"bytes", C.VIR_ERR_XML_DETAIL)
        _chars(service, SRV_SERVICE_CHARS, "service", net)
        _chars(protocol, SRV_PROTOCOL_CHARS, "protocol", net)
        _name(srv.get("domain"), "DNS SRV domain", net)
        target = srv.get("target")
        if target != ".":  # '.': the service is not offered
            _name(target, "DNS SRV target", net)
        _uint(srv.get("port"), "DNS SRV port", net, 1, 65535)
        _uint(srv.get("priority"), "DNS SRV priority", net, 0, 65535)
        _uint(srv.get("weight"), "DNS SRV weight", net, 0, 65535)
    for host in dns.iterfind("host"):
        _ip(host.get("ip"), "DNS host ip", net)
        for hn in host.iterfind("hostname"):
            _name(hn.text or "", "DNS host name", net, required=True)


__all__ = ["check_dns", "SRV_SERVICE_CHARS", "SRV_PROTOCOL_CHARS"]
