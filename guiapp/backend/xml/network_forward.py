"""``<forward>`` of a network: every libvirt mode parsed, checked and normalized (libvirt 9.0's rules).

Modes: ``nat``, ``route``, ``open`` (a bridge of ours with IP), ``bridge`` (a host bridge, or macvtap bridge
mode over a pool of ``<interface dev>``), ``private``, ``vepa``, ``passthrough`` (macvtap over the pool or
a ``<pf dev>``), ``hostdev`` (PCI addresses or a ``<pf>``).  Errors: VIR_ERR_XML_ERROR for malformed
values, VIR_ERR_CONFIG_UNSUPPORTED for unknown modes, drivers or address types.
"""

from __future__ import annotations

from typing import Optional

from lxml import etree

from .. import constants as C
from .. import validate
from ..errors import DriverError

_FROM = C.VIR_FROM_NETWORK
L3_MODES = ("nat", "route", "open")
#: modes whose guests attach to host interfaces directly (no bridge of ours, no addresses, no DHCP)
DIRECT_MODES = ("bridge", "private", "vepa", "passthrough", "hostdev")
MACVTAP_MODES = ("bridge", "private", "vepa", "passthrough")
FORWARD_MODES = L3_MODES + DIRECT_MODES
DRIVER_NAMES = ("kvm", "vfio", "xen")


def _xml_error(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_XML_ERROR, detail, _FROM)


def _unsupported(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, detail, _FROM)


def _pci_key(el: etree._Element, net: str) -> tuple[int, int, int, int]:
    """(domain, bus, slot, function) of an ``<address type='pci'>``, range-checked, attributes rewritten 0x.."""
    limits = (("domain", 0xFFFF, 4), ("bus", 0xFF, 2), ("slot", 0x1F, 2), ("function", 7, 1))
    out = []
    for attr, hi, width in limits:
        text = el.get(attr, "0")
        try:
            value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        except ValueError:
            raise _xml_error(f"invalid PCI {attr} {validate.shown(text)} in <forward> of network {net}: "
                             f"expected a number such as 0x{0:0{width}x}") from None
        if not 0 <= value <= hi:
            raise _xml_error(f"PCI {attr} {text} out of range (0..0x{hi:x}) in <forward> of network {net}")
        el.set(attr, f"0x{value:0{width}x}")
        out.append(value)
    return out[0], out[1], out[2], out[3]


def _interfaces(fwd: etree._Element, dev: Optional[str], net: str) -> None:
    """The ``<interface dev>`` pool: names checked, no repeats, the first one equal to ``dev``."""
    seen: set[str] = set()
    ifaces = fwd.findall("interface")
    for i, el in enumerate(ifaces):
        name = el.get("dev")
        if name is None:
            raise _xml_error(f"Missing required dev attribute in <forward> <interface> element of network {net}")
        validate.check_ifname(name, f"forward interface dev of network '{net}'", domain=_FROM)
        if i == 0 and dev is not None and name != dev:
            raise _xml_error(f"<forward dev='{dev}'> must match first <interface dev='{name}'/> in network {net}")
        if name in seen:
            raise _xml_error(f"interface '{name}' can only be listed once in network {net}")
        seen.add(name)
    if dev is not None and not ifaces:
        el = etree.Element("interface")
        el.set("dev", dev)
        fwd.append(el)


def _addresses(fwd: etree._Element, net: str) -> None:
    seen: set[tuple[int, int, int, int]] = set()
    for el in fwd.findall("address"):
        atype = el.get("type")
        if atype is None:
            raise _xml_error(f"missing address type in network {net}")
        if atype != "pci":
            raise _unsupported(f"unknown address type '{atype}' in network {net}: <forward> takes type='pci'")
        key = _pci_key(el, net)
        if key in seen:
            d, b, s, f = key
            raise _xml_error(f"PCI device '{d:04x}:{b:02x}:{s:02x}.{f:x}' can only be listed once in network {net}")
        seen.add(key)


def load_forward(fwd: etree._Element, net: str) -> tuple[str, Optional[str]]:
    """Check and normalize ``<forward>`` in place; returns (mode, the first forward device or None)."""
    mode = fwd.get("mode") or "nat"
    if mode not in FORWARD_MODES:
        raise _unsupported(f"unknown forwarding type '{mode}' in network '{net}': use one of "
                           f"{', '.join(FORWARD_MODES)} (or leave out <forward> for an isolated network)")
    driver = fwd.find("driver")
    if driver is not None and driver.get("name") not in DRIVER_NAMES:
        raise _unsupported(f"Unknown forward <driver name='{driver.get('name')}'/> in network {net}: use "
                           f"{', '.join(DRIVER_NAMES)}")
    if len(fwd.findall("nat")) > 1:
        raise _xml_error(f"Only one <nat> element is allowed in <forward> of network {net}")
    dev = fwd.get("dev")
    pfs = fwd.findall("pf")
    has_addr = fwd.find("address") is not None
    if dev is not None and (has_addr or pfs):
        raise _xml_error(f"the <forward> 'dev' attribute cannot be used when <address> or <pf> sub-elements "
                         f"are present in network {net}")
    if dev is not None:
        validate.check_ifname(dev, f"forward dev of network '{net}'", domain=_FROM)
    _interfaces(fwd, dev, net)
    first = fwd.find("interface")
    if first is not None:
        dev = first.get("dev")
    elif has_addr:
        _addresses(fwd, net)
    if len(pfs) > 1:
        raise _xml_error(f"Only one <pf> element is allowed in <forward> of network {net}")
    for el in pfs:
        if el.get("dev") is None:
            raise _xml_error(f"Missing required dev attribute in <pf> element of network '{net}'")
        validate.check_ifname(el.get("dev"), f"forward pf dev of network '{net}'", domain=_FROM)
    _write_attrs(fwd, dev, mode)
    _order_children(fwd)
    return mode, dev


_CHILD_ORDER = ("driver", "nat", "pf", "interface", "address")


def _order_children(fwd: etree._Element) -> None:
    """libvirt's order inside <forward>: driver, nat, pf, the interface/address pool, then anything else."""
    rank = {tag: i for i, tag in enumerate(_CHILD_ORDER)}
    children = sorted((c for c in fwd if isinstance(c.tag, str)), key=lambda c: rank.get(c.tag, len(rank)))
    for c in children:
        fwd.remove(c)
        fwd.append(c)


def _write_attrs(fwd: etree._Element, dev: Optional[str], mode: str) -> None:
    """libvirt's attribute order: dev, mode, managed, then the rest."""
    others = [(k, v) for k, v in fwd.attrib.items() if k not in ("dev", "mode")]
    fwd.attrib.clear()
    if dev is not None:
        fwd.set("dev", dev)
    fwd.set("mode", mode)
    for k, v in others:
        fwd.set(k, v)


def check_mode_rules(root: etree._Element, mode: Optional[str], net: str, n_ips: int) -> None:
    """What the forward mode allows of the rest of the network (libvirt's virNetworkDefParseXML checks)."""
    fwd = root.find("forward")
    n_ifs = len(fwd.findall("interface")) if fwd is not None else 0
    bridge = root.find("bridge")
    if mode in L3_MODES:
        if n_ips == 0:
            raise _xml_error(f"{mode} forwarding requested, but no IP address provided for network '{net}'")
        if n_ifs > 1:
            raise _xml_error(f"multiple forwarding interfaces specified for network '{net}', only one is "
                             f"supported")
        if mode == "open" and n_ifs:
            raise _xml_error(f"forward dev not allowed for network '{net}' with forward mode='{mode}'")
        return
    if mode not in DIRECT_MODES:
        return
    if bridge is not None and mode != "bridge":
        raise _xml_error(f"bridge name not allowed in {mode} mode (network '{net}')")
    if bridge is not None:
        if bridge.get("stp") is not None or bridge.get("delay") not in (None, "0") or bridge.get("zone"):
            raise _xml_error(f"bridge delay/stp/zone options only allowed in route, nat, and isolated mode, "
                             f"not in {mode} (network '{net}')")
        if bridge.get("name") is not None and (n_ifs or (fwd is not None and fwd.find("pf") is not None)):
            raise _xml_error(f"A network with forward mode='{mode}' can specify a bridge name or a forward dev, "
                             f"but not both (network '{net}')")
    if root.find("mtu") is not None:
        raise _xml_error(f"mtu size only allowed in open, route, nat, and isolated mode, not in {mode} "
                         f"(network '{net}')")


def is_direct(mode: Optional[str]) -> bool:
    """True for the modes without a bridge of ours (the bridge gets no stp/delay defaults)."""
    return mode in DIRECT_MODES


__all__ = ["load_forward", "check_mode_rules", "is_direct", "FORWARD_MODES", "DIRECT_MODES", "MACVTAP_MODES",
           "L3_MODES"]
