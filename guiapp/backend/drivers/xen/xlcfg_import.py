"""xl.cfg -> domain XML: the guest, its OS, memory, lifecycle, disks, vifs and graphics (the rest: xlcfg_import_extra).

The XML follows libvirt's ``xenParseXL`` (tests/xlconfigdata); it is validated through the domain model.
"""

from __future__ import annotations

import os
from typing import Optional

from lxml import etree

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import parse_domain
from . import xlcfg_import_extra as extra
from .capabilities import hvmloader_path
from .xlcfg_specs import BACKEND_FROM_XL, BOOT_FROM_XL, FROM, kv, syntax, unsupported
from .xlcfg_syntax import CfgValue, items, parse_cfg

Sub = etree.SubElement


class Cfg:
    """Typed reads of parsed xl.cfg settings (``what`` names the file in errors)."""

    def __init__(self, cfg: dict[str, CfgValue], what: str) -> None:
        self.cfg = cfg
        self.what = what

    def s(self, key: str) -> Optional[str]:
        v = self.cfg.get(key)
        return None if v is None or isinstance(v, list) else str(v)

    def n(self, key: str) -> Optional[int]:
        v = self.cfg.get(key)
        if v is None or isinstance(v, list):
            return None
        try:
            return int(v)
        except ValueError:
            raise syntax(f"{self.what}: {key} must be a number, not {v!r}") from None

    def flag(self, key: str, default: bool) -> bool:
        v = self.n(key)
        return default if v is None else v > 0

    def list(self, key: str) -> list:
        return items(self.cfg.get(key))


def _kind(c: Cfg) -> str:
    kind = (c.s("type") or c.s("builder") or "pv").lower()
    if kind == "generic":
        kind = "pv"
    if kind not in ("pv", "hvm", "pvh"):
        raise unsupported(f"{c.what}: guest type '{kind}' (expected pv, hvm or pvh)")
    return kind


def _head(c: Cfg, root: etree._Element) -> None:
    name = c.s("name")
    if not name:
        raise DriverError(C.VIR_ERR_NO_NAME, f"{c.what}: no name = \"...\" setting", FROM)
    Sub(root, "name").text = name
    if c.s("uuid"):
        Sub(root, "uuid").text = c.s("uuid")
    memory = c.n("memory") or 128
    maxmem = max(c.n("maxmem") or memory, memory)
    Sub(root, "memory", unit="KiB").text = str(maxmem * 1024)
    Sub(root, "currentMemory", unit="KiB").text = str(memory * 1024)
    vcpus = c.n("vcpus") or 1
    maxvcpus = max(c.n("maxvcpus") or vcpus, vcpus)
    vcpu = Sub(root, "vcpu", placement="static")
    vcpu.text = str(maxvcpus)
    if maxvcpus != vcpus:
        vcpu.set("current", str(vcpus))
    if c.s("bootloader"):
        Sub(root, "bootloader").text = c.s("bootloader")
        args = c.s("bootloader_args") or c.s("bootargs")
        if args:
            Sub(root, "bootloader_args").text = args


def _cmdline(c: Cfg) -> Optional[str]:
    """cmdline wins; else ``root=R extra`` (xl's own rule); else extra."""
    if c.s("cmdline"):
        return c.s("cmdline")
    if c.s("root"):
        return f"root={c.s('root')} {c.s('extra')}" if c.s("extra") else f"root={c.s('root')}"
    return c.s("extra")


def _hvm_loader(c: Cfg, os_el: etree._Element) -> None:
    """The firmware: bios=ovmf, firmware_override, an xm-era hvmloader kernel, else the host's hvmloader."""
    firmware_dir = os.path.dirname(hvmloader_path())
    if (c.s("bios") or "").lower() == "ovmf":
        Sub(os_el, "loader", readonly="yes", type="pflash").text = os.path.join(firmware_dir, "ovmf.bin")
        return
    if c.s("bios") not in (None, "rombios", "seabios"):
        raise unsupported(f"{c.what}: bios '{c.s('bios')}' (expected rombios, seabios or ovmf)")
    loader = c.s("firmware_override") or c.s("firmware")
    if loader is None and "hvmloader" in (c.s("kernel") or ""):
        loader = c.s("kernel")  # xm-era configs named hvmloader as the kernel
    Sub(os_el, "loader", type="rom").text = loader or hvmloader_path()


def _os(c: Cfg, root: etree._Element, kind: str) -> None:
    os_el = Sub(root, "os")
    arch = "x86_64"
    machine = {"pv": "xenpv", "hvm": "xenfv", "pvh": "xenpvh"}[kind]
    Sub(os_el, "type", arch=arch, machine=machine).text = {"pv": "linux", "hvm": "hvm", "pvh": "xenpvh"}[kind]
    hvm = kind == "hvm"
    if hvm:
        _hvm_loader(c, os_el)
    kernel = c.s("kernel")
    if kernel and not (hvm and "hvmloader" in kernel):
        Sub(os_el, "kernel").text = kernel
        if c.s("ramdisk"):
            Sub(os_el, "initrd").text = c.s("ramdisk")
    cmdline = _cmdline(c)
    if cmdline and (not hvm or kernel):
        Sub(os_el, "cmdline").text = cmdline
    if hvm:
        for ch in c.s("boot") or "c":
            Sub(os_el, "boot", dev=BOOT_FROM_XL.get(ch, "hd"))
    if c.s("acpi_firmware"):
        Sub(Sub(os_el, "acpi"), "table", type="slic").text = c.s("acpi_firmware")


def _lifecycle(c: Cfg, root: etree._Element) -> None:
    for action in ("on_poweroff", "on_reboot", "on_crash"):
        if c.s(action):
            Sub(root, action).text = c.s(action)


# ------------------------------------------------------------------ disks

_PREFIXES = (("phy:", "phy", "raw"), ("file:", "qdisk", "raw"), ("tap:aio:", "tap", "raw"),
             ("tap:qcow2:", "tap", "qcow2"), ("tap2:aio:", "tap", "raw"), ("qcow2:", "qdisk", "qcow2"),
             ("raw:", "qdisk", "raw"), ("qcow:", "qdisk", "qcow"), ("vhd:", "qdisk", "vhd"), ("tap:", "tap", "raw"),
             ("aio:", "tap", "raw"))


def _disk_fields(spec: str) -> dict[str, str]:
    """One disk spec in xl's syntax (xl-disk-configuration): ``key=value`` items and positional ones.

    Positional items are ``target,format,vdev,access`` in that order (empty ones keep the default);
    three items are the xm-era form ``[prefix:]target,vdev[:cdrom],access``.
    """
    fields = kv(spec)
    pos = [p.strip() for p in fields.pop("_positional", "").split(",")] if "_positional" in fields else []
    names = ["target", "vdev", "access"] if len(pos) == 3 else ["target", "format", "vdev", "access"]
    if len(pos) > len(names):
        raise syntax(f"disk {spec!r}: more than {len(names)} positional parameters")
    for name, value in zip(names, pos, strict=False):
        if value and name not in fields:
            fields[name] = value
    target = fields.get("target", "")
    for prefix, backend, fmt in _PREFIXES:
        if target.startswith(prefix):
            fields["target"] = target[len(prefix):]
            fields.setdefault("backendtype", backend)
            fields.setdefault("format", fmt)
            break
    vdev = fields.get("vdev", "")
    if vdev.endswith(":cdrom"):
        fields["vdev"] = vdev[:-len(":cdrom")]
        fields["devtype"] = "cdrom"
    return fields


def _bus_for(vdev: str, hvm: bool) -> str:
    if vdev.startswith("sd"):
        return "scsi"
    if vdev.startswith("hd"):
        return "ide" if hvm else "xen"
    return "xen"


def _disk(c: Cfg, devices: etree._Element, spec: str, hvm: bool) -> None:
    f = _disk_fields(spec)
    vdev = f.get("vdev")
    if not vdev:
        raise DriverError(C.VIR_ERR_NO_TARGET, f"{c.what}: disk {spec!r} has no vdev", FROM)
    target = f.get("target", "")
    cdrom = f.get("devtype") == "cdrom" or "cdrom" in f
    backend = f.get("backendtype") or f.get("backend-type") or "qdisk"
    if backend not in BACKEND_FROM_XL:
        raise unsupported(f"{c.what}: disk {vdev}: backendtype '{backend}' (expected phy, qdisk or tap)")
    if target.startswith("rbd:") or "://" in target:
        raise unsupported(f"{c.what}: disk {vdev}: network disk targets ({target.split(':')[0]}) are not "
                          f"supported by guiapp's Xen driver")
    dtype = "block" if backend == "phy" else "file"
    disk = Sub(devices, "disk", type=dtype, device="cdrom" if cdrom else "disk")
    fmt = f.get("format") or "raw"
    Sub(disk, "driver", name=BACKEND_FROM_XL[backend], type="raw" if fmt == "empty" else fmt)
    if target:
        Sub(disk, "source", **({"dev": target} if dtype == "block" else {"file": target}))
    Sub(disk, "target", dev=vdev, bus=_bus_for(vdev, hvm))
    if f.get("access", "rw") in ("ro", "r") or cdrom:
        Sub(disk, "readonly")


# ------------------------------------------------------------------ vifs and graphics

def _vif(devices: etree._Element, spec: str) -> None:
    f = kv(spec)
    bridge = f.get("bridge")
    nic = Sub(devices, "interface", type="bridge" if bridge else "ethernet")
    if f.get("mac"):
        Sub(nic, "mac", address=f["mac"])
    if bridge:
        extra.vif_bridge(nic, bridge)
    for ip in (f.get("ip") or "").split():
        Sub(nic, "ip", address=ip, family="ipv6" if ":" in ip else "ipv4")
    if f.get("rate"):
        extra.vif_rate(nic, f["rate"])
    if f.get("script"):
        Sub(nic, "script", path=f["script"])
    if f.get("vifname"):
        Sub(nic, "target", dev=f["vifname"])
    if f.get("type") == "vif" and not f.get("model"):
        Sub(nic, "model", type="netfront")
    elif f.get("model"):
        Sub(nic, "model", type=f["model"])


def _vnc_settings(c: Cfg, hvm: bool) -> Optional[dict[str, str]]:
    if hvm:
        if not c.flag("vnc", False):
            return None
        return {k: str(c.cfg[k]) for k in ("vncunused", "vncdisplay", "vnclisten", "vncpasswd") if k in c.cfg}
    vfb = c.list("vfb")
    if vfb:
        f = kv(str(vfb[0]))
        if f.get("vnc", "0") not in ("0", ""):
            return f
    return None


def _graphics(c: Cfg, devices: etree._Element, hvm: bool) -> None:
    vnc = _vnc_settings(c, hvm)
    if vnc is not None:
        unused = vnc.get("vncunused", "1") not in ("0", "")
        attrs = {"type": "vnc", "port": "-1", "autoport": "yes"}
        if not unused and vnc.get("vncdisplay", "").isdigit():
            attrs = {"type": "vnc", "port": str(5900 + int(vnc["vncdisplay"])), "autoport": "no"}
        if vnc.get("vnclisten"):
            attrs["listen"] = vnc["vnclisten"]
        if vnc.get("vncpasswd"):
            attrs["passwd"] = vnc["vncpasswd"]
        g = Sub(devices, "graphics", **attrs)
        if vnc.get("vnclisten"):
            Sub(g, "listen", type="address", address=vnc["vnclisten"])
    if hvm and c.flag("sdl", False):
        Sub(devices, "graphics", type="sdl")
    if hvm and c.flag("spice", False):
        extra.spice(c, devices)


def _devices(c: Cfg, root: etree._Element, hvm: bool) -> None:
    devices = Sub(root, "devices")
    emulator = c.s("device_model_override") or c.s("device_model")
    if emulator:
        Sub(devices, "emulator").text = emulator
    for spec in c.list("disk"):
        _disk(c, devices, str(spec), hvm)
    extra.controllers(c, devices)
    for spec in c.list("vif"):
        _vif(devices, str(spec))
    extra.serials(c, devices, hvm)
    extra.channels(c, devices)
    extra.inputs(c, devices, hvm)
    _graphics(c, devices, hvm)
    extra.hostdevs(c, devices)


def xl_to_domain_xml(text: str, what: str = "xl.cfg") -> str:
    """Domain XML (validated through the domain model) for xl.cfg ``text``."""
    c = Cfg(parse_cfg(text, what), what)
    kind = _kind(c)
    hvm = kind == "hvm"
    root = etree.Element("domain", type="xen")
    _head(c, root)
    extra.cpu(c, root, hvm)
    _os(c, root, kind)
    extra.features(c, root, hvm)
    extra.clock(c, root, hvm)
    _lifecycle(c, root)
    _devices(c, root, hvm)
    extra.qemu_args(c, root)
    return parse_domain(etree.tostring(root, encoding="unicode"), hypervisor="xen").to_xml(secure=False)


__all__ = ["xl_to_domain_xml", "Cfg"]
