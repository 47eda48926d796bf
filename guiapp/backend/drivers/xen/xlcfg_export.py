"""Domain XML -> xl.cfg: the guest, its OS, memory, disks, vifs and graphics (devices beyond: xlcfg_export_extra)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional, Union

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef, parse_domain
from . import xlcfg_export_extra as extra
from .capabilities import hvmloader_path
from .xlcfg_specs import BACKEND_TO_XL, BOOT_TO_XL, FROM, XL_ACTIONS, ip_value, spec_value, unsupported
from .xlcfg_syntax import CfgValue, format_cfg, quote

#: hvmloader paths libxl uses on its own: a <loader> naming one of them is left to libxl's default.
DEFAULT_LOADERS = ("/usr/lib/xen/boot/hvmloader",)


def _mib(kib: int) -> int:
    return -(-kib // 1024)


def guest_kind(d: DomainDef) -> str:
    """'pv', 'hvm' or 'pvh' for a Xen domain definition."""
    return {"linux": "pv", "xen": "pv", "hvm": "hvm", "xenpvh": "pvh"}.get(d.os_type, "")


def _loader_type(d: DomainDef) -> Optional[str]:
    el = d.root.find("os/loader")
    return None if el is None else el.get("type")


def validate(d: DomainDef) -> str:
    """Refuse what xl cannot run; returns the guest kind."""
    if d.type not in ("xen", "libxl"):
        raise unsupported(f"domain type '{d.type}' is not supported by the Xen driver: use <domain type='xen'>")
    kind = guest_kind(d)
    if not kind:
        raise DriverError(C.VIR_ERR_OS_TYPE, f"'{d.os_type}' in <os><type>: the Xen driver runs linux/xen (PV), "
                                             f"hvm and xenpvh guests", FROM)
    bootloader = d.root.findtext("bootloader")
    if kind in ("pv", "pvh") and not d.kernel and not bootloader:
        raise DriverError(C.VIR_ERR_NO_KERNEL,
                          f"the {kind.upper()} guest '{d.name}' needs <os><kernel>/path/to/vmlinuz</kernel> "
                          f"(or a <bootloader> such as pygrub)", FROM)
    if kind == "hvm" and not d.loader:
        raise DriverError(C.VIR_ERR_NO_KERNEL,
                          f"the HVM guest '{d.name}' needs <os><loader>{hvmloader_path()}</loader>", FROM)
    if d.arch and d.arch not in ("x86_64", "i686", "aarch64", "armv7l"):
        raise unsupported(f"architecture '{d.arch}' is not supported by Xen")
    return kind


def _hvm_os(d: DomainDef, cfg: dict[str, CfgValue]) -> None:
    """builder=hvm: firmware (hvmloader default, OVMF as bios=ovmf), boot order, features, kernel, emulator."""
    if _loader_type(d) == "pflash":
        cfg["bios"] = "ovmf"
    elif d.loader and d.loader not in DEFAULT_LOADERS + (hvmloader_path(),):
        cfg["firmware_override"] = d.loader
    if d.boot_devs:
        cfg["boot"] = "".join(BOOT_TO_XL[b] for b in d.boot_devs)
    if d.kernel:  # direct kernel boot of an HVM guest
        cfg["kernel"] = d.kernel
        if d.initrd:
            cfg["ramdisk"] = d.initrd
        if d.cmdline:
            cfg["cmdline"] = d.cmdline
    if d.emulator:
        cfg["device_model_override"] = d.emulator


def _pv_os(d: DomainDef, cfg: dict[str, CfgValue]) -> None:
    """PV/PVH: bootloader (+args), kernel, ramdisk, cmdline (or root+extra)."""
    bootloader = d.root.findtext("bootloader")
    if bootloader:
        cfg["bootloader"] = bootloader
        args = d.root.findtext("bootloader_args")
        if args:
            cfg["bootloader_args"] = args
    if d.kernel:
        cfg["kernel"] = d.kernel
    if d.initrd:
        cfg["ramdisk"] = d.initrd
    if d.root_dev:  # the seed's <root>: xl's root= plus extra= keep the two apart
        cfg["root"] = d.root_dev
        if d.cmdline:
            cfg["extra"] = d.cmdline
    elif d.cmdline:
        cfg["cmdline"] = d.cmdline
    if d.emulator:
        cfg["device_model_override"] = d.emulator


def _disk_spec(disk) -> str:
    if disk.type not in ("file", "block"):
        raise unsupported(f"disk {disk.target}: <disk type='{disk.type}'> is not supported by the Xen driver "
                          f"(use type='file' or type='block')")
    parts = []
    fmt = disk.format or ("empty" if disk.source is None else "raw")
    if disk.source is not None or disk.format:
        parts.append(f"format={spec_value(fmt, 'disk format')}")
    parts.append(f"vdev={spec_value(disk.target, 'disk target')}")
    parts.append("access=ro" if disk.readonly or disk.device == "cdrom" else "access=rw")
    if disk.driver_name:
        backend = BACKEND_TO_XL.get(disk.driver_name)
        if backend is None:
            raise unsupported(f"disk {disk.target}: driver name '{disk.driver_name}' is not supported by xl "
                              f"(use phy, qemu or tap)")
        parts.append(f"backendtype={backend}")
    if disk.device == "cdrom":
        parts.append("devtype=cdrom")
    parts.append(f"target={disk.source or ''}")
    return ",".join(parts)


def _disks(d: DomainDef, cfg: dict[str, CfgValue], notes: list[str]) -> None:
    disks = []
    for disk in d.disks:
        if disk.device == "floppy":
            notes.append(f"floppy {disk.target} ({disk.source}) left out: libxl has no floppy drives")
            continue
        if disk.device == "lun":
            raise unsupported(f"disk {disk.target}: device='lun' is not supported by the Xen driver")
        disks.append(_disk_spec(disk))
    if disks:
        cfg["disk"] = disks


def _vif_bridge(nic, bridges: Optional[Mapping[str, str]]) -> Optional[str]:
    """The bridge a vif joins: its own, or (type='network') the network's bridge from ``bridges``."""
    if nic.type != "network":
        return nic.bridge
    name = nic.element.find("source").get("network") if nic.element.find("source") is not None else None
    bridge = (bridges if bridges is not None else {}).get(name or "")
    if not bridge:
        raise unsupported(f"interface of network '{name}': the network is not defined or has no bridge "
                          f"(Xen guests join a network through its bridge)")
    return bridge


def _vif_spec(nic, bridges: Optional[Mapping[str, str]]) -> str:
    if nic.type not in ("bridge", "ethernet", "network"):
        raise unsupported(f"interface type '{nic.type}' is not supported by the Xen driver (use type='network', "
                          f"<interface type='bridge'><source bridge='xenbr0'/></interface> or type='ethernet')")
    parts = [f"mac={nic.mac}"]
    bridge = _vif_bridge(nic, bridges)
    if bridge:
        parts.append(f"bridge={spec_value(bridge, 'bridge')}{extra.vlan_suffix(nic)}")
    ips = [ip.get("address") for ip in nic.element.findall("ip") if ip.get("address")]
    if ips:
        parts.append("ip=" + " ".join(ip_value(ip, "interface <ip address>") for ip in ips))
    if nic.script:
        parts.append(f"script={spec_value(nic.script, 'script')}")
    if nic.model == "netfront":
        parts.append("type=vif")
    elif nic.model:
        parts.append(f"model={spec_value(nic.model, 'model')}")
    if nic.target_dev:
        parts.append(f"vifname={spec_value(nic.target_dev, 'target dev')}")
    parts += extra.vif_rate(nic)
    return ",".join(parts)


def _vnc(g, cfg: dict[str, CfgValue], pv: bool) -> None:
    if pv:
        bits = ["vnc=1", f"vncunused={1 if g.autoport else 0}"]
        if not g.autoport and g.port is not None and g.port >= 5900:
            bits.append(f"vncdisplay={g.port - 5900}")
        if g.listen:
            bits.append(f"vnclisten={spec_value(g.listen, 'vnc listen address')}")
        if g.passwd:
            bits.append(f"vncpasswd={spec_value(g.passwd, 'the VNC password', secret=True)}")
        cfg["vfb"] = [",".join(bits)]
        return
    cfg["vnc"] = 1
    cfg["vncunused"] = 1 if g.autoport else 0
    if not g.autoport and g.port is not None and g.port >= 5900:
        cfg["vncdisplay"] = g.port - 5900
    if g.listen:
        cfg["vnclisten"] = g.listen
    if g.passwd:
        cfg["vncpasswd"] = g.passwd


def _graphics(d: DomainDef, cfg: dict[str, CfgValue], kind: str) -> None:
    if kind == "hvm" and not any(g.type == "vnc" for g in d.graphics):
        cfg["vnc"] = 0  # libxl enables VNC on HVM guests unless told otherwise
    for g in d.graphics:
        if g.type == "vnc" and not cfg.get("vnc") and "vfb" not in cfg:
            _vnc(g, cfg, pv=kind != "hvm")
        elif g.type == "sdl" and kind == "hvm" and "sdl" not in cfg:
            cfg["sdl"] = 1
        elif g.type == "spice" and kind == "hvm" and "spice" not in cfg:
            extra.spice(g, cfg)
        else:
            raise unsupported(f"graphics type '{g.type}' is not supported by the Xen driver for a "
                              f"{kind.upper()} guest (one vnc; sdl and spice for HVM guests)")


def _lifecycle(d: DomainDef, cfg: dict[str, CfgValue]) -> None:
    for action in ("on_poweroff", "on_reboot", "on_crash"):
        value = getattr(d, action)
        if value not in XL_ACTIONS:
            raise unsupported(f"{action} action '{value}' is not supported by xl")
        cfg[action] = value


def to_cfg(d: DomainDef, bridges: Optional[Mapping[str, str]] = None) -> tuple[dict[str, CfgValue], list[str]]:
    """The xl.cfg settings for ``d`` (validated first) and comments about what was left out.

    ``bridges`` maps network names to their bridges, for ``<interface type='network'>``.
    """
    kind = validate(d)
    cfg: dict[str, CfgValue] = {"name": d.name, "uuid": d.uuid_str}
    notes: list[str] = [f"generated by guiapp from the domain XML of '{d.name}'"]
    if kind == "hvm":
        cfg["builder"] = "hvm"
    else:
        cfg["type"] = kind
    cfg["maxmem"] = _mib(d.memory_kib)
    cfg["memory"] = _mib(d.current_memory_kib)
    if d.vcpus_current != d.vcpus:
        cfg["maxvcpus"] = d.vcpus
    cfg["vcpus"] = d.vcpus_current
    if kind == "hvm":
        _hvm_os(d, cfg)
    else:
        _pv_os(d, cfg)
    extra.features(d, cfg, kind)
    _lifecycle(d, cfg)
    _disks(d, cfg, notes)
    vifs = [_vif_spec(n, bridges) for n in d.interfaces]
    if vifs:
        cfg["vif"] = vifs
    _graphics(d, cfg, kind)
    extra.devices(d, cfg, kind)
    return cfg, notes


def domain_to_xl(d: Union[DomainDef, str], bridges: Optional[Mapping[str, str]] = None) -> str:
    """xl.cfg text for a DomainDef (or domain XML text)."""
    if isinstance(d, str):
        d = parse_domain(d, hypervisor="xen")
    cfg, notes = to_cfg(d, bridges)
    return format_cfg(cfg, notes)


__all__ = ["to_cfg", "domain_to_xl", "validate", "guest_kind", "quote"]
