"""The create-network form's values -> network XML, with inline checks (no Qt, no driver calls).

The form's own checks give field-specific messages; everything else is left to the backend's
network XML model (:func:`guiapp.backend.xml.network.parse_network`), whose verdict is mapped
back to the field it is about.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Optional

from guiapp.backend import validate
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.network import NetworkFields, parse_network

FORWARD_MODES = ("nat", "route", "isolated")
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
_NAME_MAX = 64

#: The form's fields, in the order their errors are reported.
FIELDS = ("name", "bridge", "forward", "device", "address", "prefix", "dhcp_start", "dhcp_end", "domain")


@dataclass
class FormValues:
    """What the user typed (strings as typed; empty = not given)."""

    name: str = ""
    bridge: str = ""
    forward: str = "nat"  # nat | route | isolated
    device: str = ""
    address: str = ""
    prefix: int = 24
    dhcp_start: str = ""
    dhcp_end: str = ""
    domain: str = ""


@dataclass
class FormCheck:
    """The outcome: the XML to define when ``ok``, else one message per offending field."""

    xml: Optional[str] = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and self.xml is not None

    def first_error(self) -> str:
        for f in FIELDS:
            if f in self.errors:
                return self.errors[f]
        return next(iter(self.errors.values()), "")


def build_xml(v: FormValues) -> str:
    """The ``<network>`` document for ``v`` (values stripped; empty ones left out)."""
    n = NetworkFields.new()
    n.name = v.name.strip()
    if v.forward != "isolated":
        n.forward_mode = v.forward
        n.forward_dev = v.device.strip() or None
    if v.bridge.strip():
        n.bridge = v.bridge.strip()
        n.stp = True
        n.delay = 0
    n.domain_name = v.domain.strip() or None
    if v.address.strip():
        n.ip_address = v.address.strip()
        n.ip_prefix = v.prefix
        if v.dhcp_start.strip() or v.dhcp_end.strip():
            n.dhcp_start = v.dhcp_start.strip()
            n.dhcp_end = v.dhcp_end.strip()
    return n.to_xml()


def _ipv4(text: str, what: str, example: str) -> tuple[Optional[ipaddress.IPv4Address], str]:
    try:
        return ipaddress.IPv4Address(text.strip()), ""
    except ValueError:
        return None, f"{what} '{text.strip()}' is not an IPv4 address (e.g. {example})"


def _field_of(message: str) -> str:
    """Which field a message of the XML model is about."""
    low = message.lower()
    for needle, name in (("bridge name", "bridge"), ("forward dev", "device"), ("<domain name", "domain"),
                         ("range", "dhcp_start"), ("prefix", "prefix"), ("address", "address")):
        if needle in low:
            return name
    return "name"


def check_form(v: FormValues, taken_names: Collection[str] = ()) -> FormCheck:
    """Check ``v``; ``taken_names``: the networks already on the chosen connection."""
    errors: dict[str, str] = {}
    name = v.name.strip()
    if not name:
        errors["name"] = "Give the network a name (e.g. isolated1)"
    elif len(name) > _NAME_MAX or not _NAME_RE.fullmatch(name):
        errors["name"] = (f"Name '{name}': use up to {_NAME_MAX} letters, digits and _ . + - "
                          f"(starting with a letter, digit or _)")
    elif name in taken_names:
        errors["name"] = f"A network named '{name}' already exists on this connection: choose another name"
    if v.forward not in FORWARD_MODES:
        errors["forward"] = f"Unknown forward mode '{v.forward}': choose NAT, routed or isolated"
    if v.device.strip() and v.forward == "isolated":
        errors["device"] = "An isolated network forwards to no device: leave the device empty"
    if not 8 <= v.prefix <= 30:
        errors["prefix"] = f"Prefix /{v.prefix}: use 8-30 (24 means 255.255.255.0)"
    if v.address.strip():
        _, msg = _ipv4(v.address, "Address", "192.168.100.1")
        if msg:
            errors["address"] = msg
    elif v.forward in ("nat", "route"):
        errors["address"] = "A NAT or routed network needs an IPv4 address (e.g. 192.168.100.1)"
    start, end = v.dhcp_start.strip(), v.dhcp_end.strip()
    if start or end:
        if not v.address.strip():
            errors.setdefault("dhcp_start", "DHCP needs the network's IPv4 address: fill in Address first")
        elif not start:
            errors["dhcp_start"] = "Give the first address of the DHCP range too (or leave both empty)"
        elif not end:
            errors["dhcp_end"] = "Give the last address of the DHCP range too (or leave both empty)"
        else:
            for key, text, what in (("dhcp_start", start, "DHCP start"), ("dhcp_end", end, "DHCP end")):
                _, msg = _ipv4(text, what, "192.168.100.2")
                if msg:
                    errors[key] = msg
    domain = v.domain.strip()
    if domain and validate.dns_name_problem(domain) is not None:  # the backend's rule
        errors["domain"] = f"Domain name '{domain}': use DNS labels separated by dots (e.g. example.lan)"
    xml = build_xml(v)
    try:
        parse_network(xml)  # the backend's own checks: range inside the subnet, host address, interface names
    except DriverError as exc:
        message = exc.detail or str(exc)
        errors.setdefault(_field_of(message), message[:1].upper() + message[1:])
    if errors:
        return FormCheck(None, errors)
    return FormCheck(xml, {})
