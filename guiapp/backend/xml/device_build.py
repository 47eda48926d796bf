"""One device's XML for the hardware pages: list a definition's devices, build new ones, edit one (no Qt).

Every value a user types is checked here before it is written into device XML (paths, addresses,
names, models), so the GUI's as-you-type checks and the XML agree: ``*_problem`` functions say why a
value is refused (or None), the builders raise ``DriverError(VIR_ERR_INVALID_ARG)`` with that text.
Devices are matched by the API with libvirt's rules (``xml/devices_edit.py``); the edits here keep the
element's identity (disk target, NIC MAC, graphics type).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
from copy import deepcopy
from dataclasses import dataclass
from typing import Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from ..validate import ifname_problem, text_problem
from .builder import _BUS_PREFIX, DiskSpec, NicSpec, _next_target, disk_element, nic_element
from .devices_edit import ATTACHABLE, UPDATABLE, _insert
from .domain import generate_mac, mac_prefix_for
from .safe import parse_xml

_FROM = C.VIR_FROM_DOMAIN

DISK_BUSES = ("virtio", "sata", "scsi", "ide", "usb", "xen")
CDROM_BUSES = ("sata", "ide", "scsi", "usb")
INPUT_TYPES = (("tablet", "usb"), ("mouse", "usb"), ("keyboard", "usb"), ("tablet", "virtio"),
               ("keyboard", "virtio"), ("mouse", "ps2"), ("keyboard", "ps2"))
VIDEO_MODELS = ("virtio", "qxl", "vga", "bochs", "ramfb", "cirrus", "none")
SOUND_MODELS = ("ich9", "ich6", "ac97", "es1370", "sb16", "usb")
GRAPHICS_TYPES = ("vnc", "spice")
SERIAL_TYPES = ("pty", "null")
_TAG = re.compile(r"^[A-Za-z0-9_.-]{1,36}$")
VIRTIOFSD_PATHS = ("/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd")


def _err(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_INVALID_ARG, detail, _FROM)


def _check(problem: Optional[str]) -> None:
    if problem:
        raise _err(problem)


# -- what a value may be --------------------------------------------------------------------------------

def path_problem(path: str, what: str = "path") -> Optional[str]:
    """Why ``path`` cannot be a host file a device points at (absolute, printable, no '..'), or None."""
    if not path:
        return f"Give the {what}"
    bad = text_problem(path, spaces=True)
    if bad:
        return f"The {what} cannot be used: {bad}"
    if not path.startswith("/"):
        return f"The {what} must be absolute (start with /): {path}"
    if "/../" in path + "/":
        return f"The {what} must not contain '..': {path}"
    if len(path.encode()) > 4095:
        return f"The {what} is longer than the 4095 bytes a host path may have"
    return None


def listen_problem(address: str) -> Optional[str]:
    """Why ``address`` cannot be a display's listen address (an IP address), or None."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return f"'{address}' is not an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1)"
    return None


def port_problem(port: int) -> Optional[str]:
    """A display port: -1 (automatic) or 5900-65535."""
    if port == -1 or 5900 <= port <= 65535:
        return None
    return f"Port {port} is outside 5900-65535 (or use automatic)"


def tag_problem(tag: str) -> Optional[str]:
    """The mount tag of a shared folder: 1-36 letters, digits, '_', '.', '-'."""
    if _TAG.match(tag or ""):
        return None
    return f"Mount tag '{tag}' must be 1-36 letters, digits, '_', '.' or '-'"


def _choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise _err(f"unknown {what} '{value}' (expected one of {', '.join(allowed)})")


def virtiofs_available() -> bool:
    """Whether this host has virtiofsd (shared folders with driver type virtiofs)."""
    return any(os.access(p, os.X_OK) for p in VIRTIOFSD_PATHS) or shutil.which("virtiofsd") is not None


# -- listing ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceItem:
    """One device of a definition as the hardware list shows it."""

    kind: str  # the element's tag; "cdrom"/"floppy" for those disks
    key: str  # identity within the definition (disk target, MAC, kind+index)
    label: str
    summary: str
    xml: str

    @property
    def tag(self) -> str:
        return "disk" if self.kind in ("cdrom", "floppy") else self.kind

    @property
    def removable(self) -> bool:
        return self.tag in ATTACHABLE

    @property
    def updatable(self) -> bool:
        return self.tag in UPDATABLE


_LISTED = ("disk", "interface", "graphics", "serial", "console", "channel", "input", "sound", "video",
           "filesystem", "hostdev", "rng", "watchdog", "tpm")


def _src(el: etree._Element) -> str:
    s = el.find("source")
    if s is None:
        return ""
    return s.get("file") or s.get("dev") or s.get("dir") or s.get("network") or s.get("bridge") or s.get("path") or ""


def list_devices(domain_xml: str) -> list[DeviceItem]:
    """The devices of ``domain_xml`` worth a page, in document order."""
    root = parse_xml(domain_xml)
    out: list[DeviceItem] = []
    counts: dict[str, int] = {}
    for el in root.iterfind("devices/*"):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag not in _LISTED:
            continue
        n = counts.get(tag, 0)
        counts[tag] = n + 1
        xml = etree.tostring(el, encoding="unicode").strip()
        src = _src(el)
        if tag == "disk":
            kind = el.get("device", "disk")
            target = el.find("target")
            dev = target.get("dev", "?") if target is not None else "?"
            bus = target.get("bus", "") if target is not None else ""
            label = {"cdrom": "CD-ROM", "floppy": "Floppy"}.get(kind, "Disk") + f" {dev}"
            summary = (src or "(empty)") + (f", {bus}" if bus else "")
            out.append(DeviceItem(kind if kind in ("cdrom", "floppy") else "disk", f"disk:{dev}", label, summary,
                                  xml))
            continue
        if tag == "interface":
            mac = el.find("mac")
            addr = mac.get("address", "") if mac is not None else ""
            model = el.find("model")
            out.append(DeviceItem(tag, f"interface:{addr or n}", f"NIC {addr[-8:] if addr else n}",
                                  f"{el.get('type', '')} {src}".strip()
                                  + (f", {model.get('type')}" if model is not None else ""), xml))
            continue
        names = {"graphics": "Display", "serial": "Serial", "console": "Console", "channel": "Channel",
                 "input": "Input", "sound": "Sound", "video": "Video", "filesystem": "Shared folder",
                 "hostdev": "Host device", "rng": "RNG", "watchdog": "Watchdog", "tpm": "TPM"}
        detail = el.get("type") or el.get("model") or ""
        model = el.find("model")
        if tag == "video" and model is not None:
            detail = model.get("type", "")
        if tag == "input":
            detail = f"{el.get('type', '')} ({el.get('bus', '')})"
        if tag == "filesystem":
            target = el.find("target")
            detail = target.get("dir", "") if target is not None else ""
        label = f"{names[tag]} {detail}".strip()
        out.append(DeviceItem(tag, f"{tag}:{n}", label, src or detail, xml))
    return out


def used_targets(domain_xml: str) -> set[str]:
    return {t.get("dev", "") for t in parse_xml(domain_xml).iterfind("devices/disk/target")}


# -- new devices -----------------------------------------------------------------------------------------

def new_disk(domain_xml: str, spec: DiskSpec, bus: str, *, xen: bool = False) -> str:
    """A new disk/CD-ROM/floppy on ``bus`` at the first free target of ``domain_xml``."""
    _choice(bus, DISK_BUSES + ("fdc",), "disk bus")
    _choice(spec.device, ("disk", "cdrom", "floppy"), "disk device")
    if spec.source:
        _check(path_problem(spec.source, "disk image path"))
    elif spec.device == "disk":
        raise _err("a disk needs an image file or volume (an empty drive is for CD-ROMs and floppies)")
    if spec.format:
        _choice(spec.format, ("raw", "qcow2"), "disk format")
    used = used_targets(domain_xml)
    start = 2 if (spec.device == "cdrom" and bus == "ide") else 0
    target = _next_target(_BUS_PREFIX.get(bus, "hd"), used, start)
    return etree.tostring(disk_element(spec, target, bus, xen), encoding="unicode")


def new_nic(spec: NicSpec, hypervisor: str = "") -> str:
    """A new interface (a MAC generated for ``hypervisor`` when the spec has none)."""
    if spec.mode == "bridge":
        _check(ifname_problem(spec.bridge))
    if spec.target_dev:
        _check(ifname_problem(spec.target_dev))
    if spec.mode == "network":
        _check(None if spec.network and not text_problem(spec.network, "/") else
               f"'{spec.network}' is not a network name")
    if spec.script:
        _check(path_problem(spec.script, "network script"))
    if spec.address:
        _check(listen_problem(spec.address))
    mac = spec.mac.lower() if spec.mac else generate_mac(mac_prefix_for(hypervisor or None))
    return etree.tostring(nic_element(spec, mac), encoding="unicode")


def new_serial(kind: str = "pty") -> str:
    _choice(kind, SERIAL_TYPES, "serial type")
    return f"<serial type='{kind}'><target port='0'/></serial>" if kind == "pty" else "<serial type='null'/>"


def new_graphics(kind: str, listen: str = "127.0.0.1", port: int = -1) -> str:
    _choice(kind, GRAPHICS_TYPES, "display type")
    _check(listen_problem(listen))
    _check(port_problem(port))
    g = etree.Element("graphics", type=kind, port=str(port), autoport="yes" if port == -1 else "no", listen=listen)
    etree.SubElement(g, "listen", type="address", address=listen)
    return etree.tostring(g, encoding="unicode")


def new_input(kind: str, bus: str) -> str:
    if (kind, bus) not in INPUT_TYPES:
        raise _err(f"unknown input device {kind} on {bus}")
    return etree.tostring(etree.Element("input", type=kind, bus=bus), encoding="unicode")


def new_video(model: str) -> str:
    _choice(model, VIDEO_MODELS, "video model")
    v = etree.Element("video")
    etree.SubElement(v, "model", type=model)
    return etree.tostring(v, encoding="unicode")


def new_sound(model: str) -> str:
    _choice(model, SOUND_MODELS, "sound model")
    return etree.tostring(etree.Element("sound", model=model), encoding="unicode")


def new_filesystem(source_dir: str, tag: str) -> str:
    """A virtiofs shared folder: host ``source_dir`` mounted in the guest by ``tag``."""
    _check(path_problem(source_dir, "shared folder"))
    _check(tag_problem(tag))
    fs = etree.Element("filesystem", type="mount", accessmode="passthrough")
    etree.SubElement(fs, "driver", type="virtiofs")
    etree.SubElement(fs, "source", dir=source_dir)
    etree.SubElement(fs, "target", dir=tag)
    return etree.tostring(fs, encoding="unicode")


def with_device(domain_xml: str, device_xml: str) -> str:
    """``domain_xml`` with the device added in libvirt's device order (for kinds libvirt cannot attach,
    e.g. a display: the whole definition is defined again, as virt-manager does)."""
    root = deepcopy(parse_xml(domain_xml))
    devices = root.find("devices")
    if devices is None:
        devices = etree.SubElement(root, "devices")
    _insert(devices, deepcopy(parse_xml(device_xml)))
    return etree.tostring(root, encoding="unicode")


# -- edits of one device ---------------------------------------------------------------------------------

def _one(xml: str, tag: str) -> etree._Element:
    el = parse_xml(xml)
    if el.tag != tag:
        raise _err(f"expected a <{tag}> element, got <{el.tag}>")
    return deepcopy(el)


def _out(el: etree._Element) -> str:
    return etree.tostring(el, encoding="unicode").strip()


def disk_with_media(disk_xml: str, path: Optional[str]) -> str:
    """A CD-ROM/floppy ``disk_xml`` with ``path`` inserted (None or '': ejected)."""
    el = _one(disk_xml, "disk")
    if el.get("device") not in ("cdrom", "floppy"):
        raise _err("only CD-ROM and floppy drives take removable media")
    src = el.find("source")
    if src is not None:
        el.remove(src)
    if path:
        _check(path_problem(path, "image path"))
        el.set("type", "file")
        src = etree.Element("source", file=path)
        target = el.find("target")
        (target.addprevious(src) if target is not None else el.append(src))
    return _out(el)


def edit_disk(disk_xml: str, path: str, readonly: bool) -> str:
    """``disk_xml`` with its image path and read-only flag changed (the target stays)."""
    el = _one(disk_xml, "disk")
    if el.get("device") in ("cdrom", "floppy"):
        return disk_with_media(disk_xml, path)
    _check(path_problem(path, "disk image path"))
    src = el.find("source")
    if src is None:
        src = etree.Element("source")
        target = el.find("target")
        (target.addprevious(src) if target is not None else el.append(src))
    src.attrib.clear()
    src.set("dev" if el.get("type") == "block" else "file", path)
    ro = el.find("readonly")
    if readonly and ro is None:
        etree.SubElement(el, "readonly")
    elif not readonly and ro is not None:
        el.remove(ro)
    return _out(el)


def edit_nic(nic_xml: str, *, source: str, model: str, link_up: bool) -> str:
    """``nic_xml`` with its network/bridge name, model and link state changed (the MAC stays)."""
    el = _one(nic_xml, "interface")
    kind = el.get("type")
    if kind in ("network", "bridge"):
        if kind == "bridge":
            _check(ifname_problem(source))
        elif not source or text_problem(source, "/"):
            raise _err(f"'{source}' is not a network name")
        src = el.find("source")
        if src is None:
            src = etree.SubElement(el, "source")
        src.attrib.clear()
        src.set(kind, source)
    m = el.find("model")
    if model:
        if text_problem(model, "/'\"<>&") or len(model) > 32:
            raise _err(f"'{model}' is not a NIC model")
        if m is None:
            m = etree.SubElement(el, "model")
        m.set("type", model)
    elif m is not None:
        el.remove(m)
    link = el.find("link")
    if link is None:
        link = etree.SubElement(el, "link")
    link.set("state", "up" if link_up else "down")
    return _out(el)


def edit_graphics(graphics_xml: str, *, listen: str, port: int) -> str:
    """``graphics_xml`` listening on ``listen``, port ``port`` (-1: automatic); its password is kept."""
    el = _one(graphics_xml, "graphics")
    _check(listen_problem(listen))
    _check(port_problem(port))
    el.set("listen", listen)
    el.set("port", str(port))
    el.set("autoport", "yes" if port == -1 else "no")
    for old in el.findall("listen"):
        el.remove(old)
    etree.SubElement(el, "listen", type="address", address=listen)
    return _out(el)


def edit_model(device_xml: str, model: str) -> str:
    """A video or sound device with another model."""
    el = parse_xml(device_xml)
    if el.tag == "video":
        _choice(model, VIDEO_MODELS, "video model")
        el = deepcopy(el)
        m = el.find("model")
        if m is None:
            m = etree.SubElement(el, "model")
        m.attrib.clear()
        m.set("type", model)
        return _out(el)
    if el.tag == "sound":
        _choice(model, SOUND_MODELS, "sound model")
        el = deepcopy(el)
        el.set("model", model)
        return _out(el)
    raise _err(f"<{el.tag}> has no model to change here")


def disk_value(disk_xml: str) -> tuple[str, bool]:
    """(image path, read-only) of a disk."""
    el = parse_xml(disk_xml)
    return _src(el), el.find("readonly") is not None


def nic_value(nic_xml: str) -> tuple[str, str, str, bool]:
    """(type, network/bridge, model, link up) of an interface."""
    el = parse_xml(nic_xml)
    m, link = el.find("model"), el.find("link")
    return (el.get("type", ""), _src(el), m.get("type", "") if m is not None else "",
            link is None or link.get("state") != "down")


def graphics_value(graphics_xml: str) -> tuple[str, str, int]:
    """(type, listen address, port; -1 automatic) of a display."""
    el = parse_xml(graphics_xml)
    lis = el.find("listen")
    listen = el.get("listen") or (lis.get("address") if lis is not None else None) or "127.0.0.1"
    auto = el.get("autoport") == "yes" or el.get("port") in (None, "-1")
    return el.get("type", ""), listen, -1 if auto else int(el.get("port", "-1"))


def is_serial_console(device_xml: str) -> bool:
    """Whether a <console> is libvirt's alias of the first serial port (edit that port instead)."""
    el = parse_xml(device_xml)
    target = el.find("target")
    return el.tag == "console" and target is not None and target.get("type") == "serial"


def model_value(device_xml: str) -> str:
    el = parse_xml(device_xml)
    if el.tag == "video":
        m = el.find("model")
        return m.get("type", "") if m is not None else ""
    return el.get("model", "")


__all__ = ["DeviceItem", "list_devices", "new_disk", "new_nic", "new_serial", "new_graphics", "new_input",
           "new_video", "new_sound", "new_filesystem", "disk_with_media", "edit_disk", "edit_nic", "edit_graphics",
           "edit_model", "path_problem", "listen_problem", "port_problem", "tag_problem", "virtiofs_available",
           "DISK_BUSES", "CDROM_BUSES", "INPUT_TYPES", "VIDEO_MODELS", "SOUND_MODELS", "GRAPHICS_TYPES",
           "SERIAL_TYPES", "with_device", "disk_value", "nic_value", "graphics_value", "model_value", "used_targets",
           "is_serial_console"]
