"""Device XML for attach/detach/update: parse one device, find it in a domain, insert or remove it.

libvirt's rules (virDomainDeviceDefParse + qemuDomain{Attach,Detach,Update}DeviceConfig):
disks are matched by ``<target dev>``, interfaces by MAC (and alias when given; without a MAC the
only interface, else "multiple matching devices found"), controllers by type and index, filesystems
by target dir, graphics by type, character devices by kind and target port, anything else by its
content with ``<alias>`` and ``<address>`` ignored.  A new device goes after the last device of its
kind, in libvirt's output order.  Every edit works on a copy of the definition and re-validates it
with the domain parser, so a failed edit leaves the caller's definition untouched.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Callable, Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from .domain import DomainDef
from .props.tree import remove_element
from .safe import parse_xml

#: <devices> children in the order libvirt writes them (virDomainDefFormatInternal).
DEVICE_ORDER = ("emulator", "disk", "controller", "lease", "filesystem", "interface", "smartcard", "serial",
                "parallel", "console", "channel", "input", "tpm", "graphics", "sound", "audio", "video",
                "hostdev", "redirdev", "redirfilter", "hub", "watchdog", "memballoon", "rng", "nvram", "panic",
                "shmem", "memory", "iommu", "vsock", "crypto")

#: Devices whose persistent definition can be attached or detached (qemuDomainAttachDeviceConfig).
ATTACHABLE = frozenset({"disk", "controller", "lease", "filesystem", "interface", "serial", "parallel", "console",
                        "channel", "input", "sound", "video", "hostdev", "redirdev", "watchdog", "rng", "shmem",
                        "memory", "vsock", "tpm", "hub", "smartcard"})

#: Devices whose persistent definition can be updated in place (qemuDomainUpdateDeviceConfig).
UPDATABLE = frozenset({"disk", "interface", "graphics"})

_CHAR = ("serial", "parallel", "console", "channel")
_IGNORED = frozenset({"alias", "address"})
_FROM = C.VIR_FROM_DOMAIN


def _err(code: int, detail: str) -> DriverError:
    return DriverError(code, detail, _FROM)


def parse_device(xml: str) -> etree._Element:
    """Parse one device element (``<disk>``, ``<interface>``, ...); VIR_ERR_XML_ERROR for anything else."""
    root = parse_xml(xml, "device_definition")
    tag = root.tag if isinstance(root.tag, str) else "?"
    if tag not in DEVICE_ORDER or tag == "emulator":
        raise DriverError(C.VIR_ERR_XML_ERROR,
                          f"unknown device type '{tag}': give one device element such as <disk>, <interface>, "
                          f"<controller>, <serial>, <input>, <sound>, <video>, <hostdev>", C.VIR_FROM_DOMAIN)
    return root


def device_kind(el: etree._Element) -> str:
    """The element's tag (a device kind of DEVICE_ORDER)."""
    return str(el.tag)


def _child_attr(el: etree._Element, child: str, attr: str) -> Optional[str]:
    c = el.find(child)
    return None if c is None else c.get(attr)


def _canonical(el: etree._Element) -> tuple:
    """A comparable form of ``el`` without alias/address and whitespace."""
    kids = tuple(sorted(_canonical(c) for c in el if isinstance(c.tag, str) and c.tag not in _IGNORED))
    return (el.tag, tuple(sorted(el.attrib.items())), (el.text or "").strip(), kids)


def _mac_of(el: etree._Element) -> Optional[str]:
    mac = _child_attr(el, "mac", "address")
    return mac.lower() if mac else None


def _alias_of(el: etree._Element) -> Optional[str]:
    return _child_attr(el, "alias", "name")


def _find_interface(devices: list[etree._Element], want: etree._Element) -> int:
    """virDomainNetFindIdx: by MAC (and alias when the request has one)."""
    mac, alias = _mac_of(want), _alias_of(want)
    hits = [i for i, el in enumerate(devices)
            if (mac is None or _mac_of(el) == mac) and (alias is None or _alias_of(el) == alias)]
    if len(hits) > 1:
        raise _err(C.VIR_ERR_OPERATION_FAILED, f"multiple devices matching MAC address {mac} found" if mac
                   else "multiple matching devices found")
    if not hits:
        raise _err(C.VIR_ERR_DEVICE_MISSING, f"no device found at address '(<null>)' matching MAC address "
                                             f"'{mac or '(<null>)'}' and alias '{alias or '(<null>)'}'")
    return hits[0]


def _same_char(a: etree._Element, b: etree._Element) -> bool:
    if a.tag == "channel":
        name = _child_attr(b, "target", "name")
        if name is not None:
            return _child_attr(a, "target", "name") == name
    port = _child_attr(b, "target", "port")
    if port is not None:
        return _child_attr(a, "target", "port") == port
    return _canonical(a) == _canonical(b)


def _matcher(want: etree._Element) -> Callable[[etree._Element], bool]:
    """A predicate finding the domain's device that ``want`` names (interfaces: :func:`_find_interface`)."""
    tag = want.tag
    if tag == "disk":
        dev = _child_attr(want, "target", "dev")
        if not dev:
            raise _err(C.VIR_ERR_NO_TARGET, "the disk needs <target dev='...'/> naming it (e.g. <target dev='vdb'/>)")
        return lambda el: _child_attr(el, "target", "dev") == dev
    if tag == "controller":
        ctype, index = want.get("type"), want.get("index") or "0"
        return lambda el: el.get("type") == ctype and (el.get("index") or "0") == index
    if tag == "filesystem":
        target = _child_attr(want, "target", "dir")
        return lambda el: _child_attr(el, "target", "dir") == target
    if tag == "graphics":
        gtype = want.get("type")
        return lambda el: el.get("type") == gtype
    if tag in _CHAR:
        return lambda el: _same_char(el, want)
    canon = _canonical(want)
    return lambda el: _canonical(el) == canon


def _devices_el(d: DomainDef) -> etree._Element:
    devices = d.root.find("devices")
    if devices is None:
        devices = etree.SubElement(d.root, "devices")
    return devices


def find_device(d: DomainDef, want: etree._Element) -> Optional[etree._Element]:
    """The device of ``d`` that ``want`` names, or None (errors for ambiguous interfaces)."""
    same_kind = [el for el in _devices_el(d) if el.tag == want.tag]
    if want.tag == "interface":
        try:
            return same_kind[_find_interface(same_kind, want)]
        except DriverError as exc:
            if exc.code == C.VIR_ERR_DEVICE_MISSING:
                return None
            raise
    match = _matcher(want)
    return next((el for el in same_kind if match(el)), None)


def _missing(want: etree._Element) -> DriverError:
    tag = want.tag
    if tag == "disk":
        return _err(C.VIR_ERR_DEVICE_MISSING, f"no target device {_child_attr(want, 'target', 'dev')}")
    if tag == "interface":
        mac, alias = _mac_of(want), _alias_of(want)
        return _err(C.VIR_ERR_DEVICE_MISSING, f"no device found at address '(<null>)' matching MAC address "
                                              f"'{mac or '(<null>)'}' and alias '{alias or '(<null>)'}'")
    if tag == "filesystem":
        return _err(C.VIR_ERR_DEVICE_MISSING, "no matching filesystem device was found")
    return _err(C.VIR_ERR_DEVICE_MISSING, "device not present in domain configuration")


def _insert(devices: etree._Element, el: etree._Element) -> None:
    """Put ``el`` after the last device of its kind, else before the first device that comes later."""
    rank = DEVICE_ORDER.index(str(el.tag))
    last_le = None
    for child in devices:
        if not isinstance(child.tag, str):
            continue
        r = DEVICE_ORDER.index(child.tag) if child.tag in DEVICE_ORDER else len(DEVICE_ORDER)
        if r <= rank:
            last_le = child
    el.tail = None
    if last_le is None:
        devices.insert(0, el)
    else:
        last_le.addnext(el)
    etree.indent(devices, space="  ", level=1)


def _reload(d: DomainDef) -> DomainDef:
    d.refresh()  # re-validates the whole definition (a bad device fails here, on the copy)
    return d


def attach_device(d: DomainDef, dev: etree._Element) -> tuple[DomainDef, etree._Element]:
    """A copy of ``d`` with ``dev`` added, and the device as stored (a generated MAC filled in)."""
    tag = str(dev.tag)
    if tag not in ATTACHABLE:
        raise _err(C.VIR_ERR_OPERATION_UNSUPPORTED, f"persistent attach of device '{tag}' is not supported")
    if tag == "disk":
        target = _child_attr(dev, "target", "dev")
        if target and any(_child_attr(el, "target", "dev") == target for el in d.root.iterfind("devices/disk")):
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"target {target} already exists")
    elif tag == "controller":
        if find_device(d, dev) is not None:
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"controller index='{dev.get('index') or '0'}' already exists")
    elif tag == "filesystem":
        if find_device(d, dev) is not None:
            raise _err(C.VIR_ERR_OPERATION_INVALID, "Target already exists")
    elif tag == "hostdev" and find_device(d, dev) is not None:
        raise _err(C.VIR_ERR_OPERATION_INVALID, "device is already in the domain configuration")
    new = d.copy()
    el = deepcopy(dev)
    _insert(_devices_el(new), el)
    return _reload(new), el


def detach_device(d: DomainDef, dev: etree._Element) -> tuple[DomainDef, etree._Element]:
    """A copy of ``d`` without the device ``dev`` names, and the removed element."""
    if dev.tag == "console" and _child_attr(dev, "target", "type") == "serial":
        raise _err(C.VIR_ERR_OPERATION_INVALID, "detaching serial console is not supported")
    new = d.copy()
    found = find_device(new, dev)
    if found is None:
        raise _missing(dev)
    devices = _devices_el(new)
    # libvirt's back-compat: the first serial port is also the first console (target type serial)
    first_serial = next((el for el in devices if el.tag == "serial"), None)
    console = next((el for el in devices if el.tag == "console"), None)
    if found is first_serial and console is not None and _child_attr(console, "target", "type") == "serial":
        remove_element(console)
    remove_element(found)
    return _reload(new), found


def update_device(d: DomainDef, dev: etree._Element) -> tuple[DomainDef, etree._Element, etree._Element]:
    """A copy of ``d`` with the device ``dev`` names replaced by ``dev``: (new def, old element, new element)."""
    tag = str(dev.tag)
    if tag not in UPDATABLE:
        raise _err(C.VIR_ERR_OPERATION_UNSUPPORTED, f"persistent update of device '{tag}' is not supported")
    new = d.copy()
    found = find_device(new, dev)
    if found is None:
        if tag == "disk":
            raise _err(C.VIR_ERR_INVALID_ARG, f"target {_child_attr(dev, 'target', 'dev')} doesn't exist.")
        if tag == "graphics":
            raise _err(C.VIR_ERR_INVALID_ARG, f"cannot find existing graphics type '{dev.get('type')}' "
                                              f"device to modify")
        raise _missing(dev)
    el = deepcopy(dev)
    if tag == "interface" and el.find("mac") is None:  # keep the MAC the device was found by
        el.insert(0, deepcopy(found.find("mac")))
    el.tail = found.tail
    found.addprevious(el)
    found.getparent().remove(found)
    etree.indent(_devices_el(new), space="  ", level=1)
    return _reload(new), found, el


def stored(d: DomainDef, dev: etree._Element) -> etree._Element:
    """The element of ``d`` that names the same device as ``dev`` (after an edit; must exist)."""
    found = find_device(d, dev)
    assert found is not None
    return found


__all__ = ["DEVICE_ORDER", "ATTACHABLE", "UPDATABLE", "parse_device", "device_kind", "find_device",
           "attach_device", "detach_device", "update_device", "stored"]
