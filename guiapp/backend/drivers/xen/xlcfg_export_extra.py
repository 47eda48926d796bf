"""Domain XML -> xl.cfg beyond the basics: features, CPU, clock, serials, channels, host devices, controllers.

Whatever xl.cfg cannot carry is refused with VIR_ERR_CONFIG_UNSUPPORTED naming the element.
"""

from __future__ import annotations

from typing import Optional

from lxml import etree

from ...xml.domain import DomainDef
from .xlcfg_specs import CPUID_TO_XL, SERIAL_SIMPLE, TSC_TO_XL, number, spec_value, unsupported
from .xlcfg_syntax import CfgValue

XEN_NS = "http://libvirt.org/schemas/domain/xen/1.0"
_ON = ("on", "yes", None)


def _state(el: Optional[etree._Element]) -> Optional[bool]:
    if el is None:
        return None
    return el.get("state") in _ON


# ------------------------------------------------------------------ features, CPU, clock

def features(d: DomainDef, cfg: dict[str, CfgValue], kind: str) -> None:
    """<features>, <cpu> and <clock> into their xl.cfg settings."""
    f = d.root.find("features")
    known = ("pae", "acpi", "apic", "hap", "viridian", "xen") if kind == "hvm" else ("xen", "pae", "acpi", "apic")
    for el in f if f is not None else ():
        if isinstance(el.tag, str) and el.tag not in known:
            raise unsupported(f"<features><{el.tag}>: not supported by the Xen driver for a {kind.upper()} guest "
                              f"(xl.cfg has no such setting)")
    if kind == "hvm":
        for name in ("pae", "acpi", "apic"):
            cfg[name] = 1 if f is not None and _state(f.find(name)) else 0
        for name in ("hap", "viridian"):
            state = _state(f.find(name)) if f is not None else None
            if state is not None:
                cfg[name] = 1 if state else 0
        slic = d.root.find("os/acpi/table")
        if slic is not None:
            if slic.get("type") != "slic":
                raise unsupported(f"<os><acpi><table type='{slic.get('type')}'>: xl only takes a SLIC table")
            cfg["acpi_firmware"] = slic.text or ""
    _xen_features(d, cfg)
    _cpu(d, cfg, kind)
    _clock(d, cfg, kind)


def _xen_features(d: DomainDef, cfg: dict[str, CfgValue]) -> None:
    xen = d.root.find("features/xen")
    if xen is None:
        return
    for child in xen:
        if child.tag == "e820_host":
            cfg["e820_host"] = 1 if _state(child) else 0
        elif child.tag == "passthrough":
            if _state(child):
                cfg["passthrough"] = child.get("mode") or "enabled"
            else:
                cfg["passthrough"] = "disabled"
        else:
            raise unsupported(f"<features><xen><{child.tag}>: not supported by the Xen driver")


def _cpu(d: DomainDef, cfg: dict[str, CfgValue], kind: str) -> None:
    cpu = d.root.find("cpu")
    if cpu is None:
        return
    mode = cpu.get("mode")
    feats = cpu.findall("feature")
    if mode not in (None, "host-passthrough") or (mode is None and feats) or cpu.find("model") is not None:
        raise unsupported(f"<cpu mode='{mode or 'custom'}'>: the Xen driver only takes mode='host-passthrough' "
                          f"(with <feature> policies) and <numa>")
    if mode == "host-passthrough":
        pairs = ["host"]
        nested = True
        for feat in feats:
            name, policy = feat.get("name") or "", feat.get("policy") or "require"
            off = policy in ("disable", "forbid")
            if name in ("vmx", "svm"):
                nested = nested and not off
                continue
            value = "0" if off else "x" if policy == "optional" else "1"
            pairs.append(f"{spec_value(CPUID_TO_XL.get(name, name), 'cpu feature name')}={value}")
        if kind == "hvm":
            cfg["nestedhvm"] = 1 if nested else 0
        if len(pairs) > 1:
            cfg["cpuid"] = ",".join(pairs)
    numa = cpu.find("numa")
    if numa is not None:
        cfg["vnuma"] = _vnuma(numa.findall("cell"))


def _vnuma(cells: list) -> list:
    """<numa><cell> -> vnuma nodes; distances completed as libvirt does (symmetric, local 10, remote 20)."""
    from ...xml.domain import parse_memory
    n = len(cells)
    dist: list[list[Optional[int]]] = [[None] * n for _ in range(n)]
    for i, cell in enumerate(cells):
        for sib in cell.findall("distances/sibling"):
            j = number(sib.get("id") or "", "numa sibling id", 0, n - 1)
            dist[i][j] = number(sib.get("value") or "", "numa distance", 10, 255)
    for i in range(n):
        for j in range(n):
            if dist[i][j] is None:
                dist[i][j] = dist[j][i] if dist[j][i] is not None else (10 if i == j else 20)
    nodes = []
    for i, cell in enumerate(cells):
        kib = parse_memory(cell.get("memory"), cell.get("unit"), "numa cell memory")
        cpus = cell.get("cpus") or ""
        if not cpus or not all(ch.isdigit() or ch in ",-^" for ch in cpus):
            raise unsupported(f"numa cell {i}: cpus {cpus!r} is not a CPU list")
        nodes.append([f"pnode={i}", f"size={-(-kib // 1024)}", f"vcpus={cpus}",
                      "vdistances=" + ",".join(str(x) for x in dist[i])])
    return nodes


def _clock(d: DomainDef, cfg: dict[str, CfgValue], kind: str) -> None:
    clock = d.root.find("clock")
    if clock is None:
        return
    offset = clock.get("offset", "utc")
    if offset == "localtime":
        cfg["localtime"] = 1
    elif offset == "variable":
        cfg["localtime"] = 1 if clock.get("basis") == "localtime" else 0
        cfg["rtc_timeoffset"] = number(clock.get("adjustment") or "0", "clock adjustment", -2 ** 31, 2 ** 31 - 1)
    elif offset != "utc":
        raise unsupported(f"<clock offset='{offset}'>: the Xen driver takes utc, localtime or variable")
    for timer in clock.findall("timer"):
        name, present = timer.get("name"), timer.get("present", "yes") == "yes"
        if name == "tsc":
            mode = timer.get("mode", "auto")
            if mode not in TSC_TO_XL:
                raise unsupported(f"<timer name='tsc' mode='{mode}'>: xl's tsc_mode has no such mode")
            cfg["tsc_mode"] = TSC_TO_XL[mode]
        elif name == "hpet" and kind == "hvm":
            cfg["hpet"] = 1 if present else 0
        else:
            raise unsupported(f"<timer name='{name}'>: not supported by the Xen driver (tsc; hpet for HVM)")


# ------------------------------------------------------------------ vifs and graphics

def vlan_suffix(nic) -> str:
    """Open vSwitch VLANs as xl writes them on the bridge name: ``.TAG`` or ``:TAG:TAG`` (trunk)."""
    vlan = nic.element.find("vlan")
    if vlan is None:
        return ""
    tags = [str(number(t.get("id") or "", "vlan tag", 0, 4095)) for t in vlan.findall("tag")]
    if vlan.get("trunk") == "yes" or len(tags) > 1:
        return "".join(f":{t}" for t in tags)
    return f".{tags[0]}" if tags else ""


def vif_rate(nic) -> list[str]:
    """<bandwidth><outbound average=KB/s [peak burst]> -> ``rate=NKB/s`` (inbound xl cannot limit: refused)."""
    bw = nic.element.find("bandwidth")
    if bw is None:
        return []
    if bw.find("inbound") is not None:
        raise unsupported("interface <bandwidth><inbound>: xl's rate= only limits outbound traffic")
    out = bw.find("outbound")
    if out is None:
        return []
    average = number(out.get("average") or "", "outbound average", 1)
    if out.get("burst"):
        burst = number(out.get("burst") or "", "outbound burst", 1)
        return [f"rate={average}KB/s@{burst * 1000000 // average}us"]
    return [f"rate={average}KB/s"]


def spice(g, cfg: dict[str, CfgValue]) -> None:
    """<graphics type='spice'> -> spice* settings."""
    el = g.element
    cfg["spice"] = 1
    if g.listen:
        cfg["spicehost"] = g.listen
    if g.port is not None and g.port > 0:
        cfg["spiceport"] = g.port
    if el.get("tlsPort") and el.get("tlsPort") != "-1":
        cfg["spicetls_port"] = number(el.get("tlsPort") or "", "spice tlsPort", 1, 65535)
    if g.passwd:
        cfg["spicedisable_ticketing"] = 0
        cfg["spicepasswd"] = g.passwd
    else:
        cfg["spicedisable_ticketing"] = 1
    mouse = el.find("mouse")
    if mouse is not None:
        cfg["spiceagent_mouse"] = 1 if mouse.get("mode") == "client" else 0
    clip = el.find("clipboard")
    if clip is not None and clip.get("copypaste") == "yes":
        cfg["spicevdagent"] = 1
        cfg["spice_clipboard_sharing"] = 1


# ------------------------------------------------------------------ other devices

def devices(d: DomainDef, cfg: dict[str, CfgValue], kind: str) -> None:
    """Serials, channels, host devices, controllers, inputs, video and QEMU arguments."""
    _serials(d, cfg, kind)
    devs = d.root.find("devices")
    if devs is not None:
        _channels(devs, cfg)
        _hostdevs(devs, cfg)
        _controllers(devs, cfg)
        _inputs(devs, cfg, kind)
        _video(devs, cfg, kind)
        for el in devs:
            if el.tag in ("sound", "watchdog", "rng", "tpm", "smartcard", "redirdev", "filesystem", "hub",
                          "shmem", "iommu", "vsock", "panic", "parallel", "lease", "memory"):
                raise unsupported(f"<{el.tag}> devices are not supported by the Xen driver")
    args = d.root.findall(f"{{{XEN_NS}}}commandline/{{{XEN_NS}}}arg")
    if args:
        cfg["device_model_args"] = [a.get("value") or "" for a in args]


def _serials(d: DomainDef, cfg: dict[str, CfgValue], kind: str) -> None:
    if kind != "hvm":
        for s in d.serials:
            if s.type != "pty" or (s.target_port or 0) != 0:
                raise unsupported("PV guests have one console (pty): a <serial> of another type or port "
                                  "is not supported by the Xen driver")
        return
    values: list[str] = []
    for s in d.serials:
        if s.type in SERIAL_SIMPLE:
            values.append(s.type)
        elif s.type in ("file", "dev") and s.path:
            values.append(f"{'file:' if s.type == 'file' else ''}{s.path}")
        else:
            raise unsupported(f"<serial type='{s.type}'>: the Xen driver takes pty, null, vc, stdio, "
                              f"file and dev serials")
    if len(values) == 1:
        cfg["serial"] = values[0]
    elif values:
        cfg["serial"] = values


def _channels(devs: etree._Element, cfg: dict[str, CfgValue]) -> None:
    specs = []
    for ch in devs.findall("channel"):
        target = ch.find("target")
        name = target.get("name") if target is not None else None
        if target is None or target.get("type") != "xen" or not name:
            raise unsupported("<channel>: the Xen driver takes <target type='xen' name='...'/> channels")
        if ch.get("type") == "pty":
            specs.append(f"connection=pty,name={spec_value(name, 'channel name')}")
        elif ch.get("type") == "unix":
            src = ch.find("source")
            path = src.get("path") if src is not None else None
            if not path:
                raise unsupported("<channel type='unix'> needs <source path='...'/>")
            specs.append(f"connection=socket,path={spec_value(path, 'channel path')},"
                         f"name={spec_value(name, 'channel name')}")
        else:
            raise unsupported(f"<channel type='{ch.get('type')}'>: the Xen driver takes pty and unix channels")
    if specs:
        cfg["channel"] = specs


def _hostdevs(devs: etree._Element, cfg: dict[str, CfgValue]) -> None:
    pci, usb = [], []
    for hd in devs.findall("hostdev"):
        addr = hd.find("source/address")
        if hd.get("mode", "subsystem") != "subsystem" or addr is None:
            raise unsupported("<hostdev>: the Xen driver takes subsystem PCI and USB devices with a source address")
        if hd.get("type") == "pci":
            dom = number(addr.get("domain") or "0", "pci domain", 0, 0xFFFF)
            bus = number(addr.get("bus") or "", "pci bus", 0, 0xFF)
            slot = number(addr.get("slot") or "", "pci slot", 0, 0x1F)
            func = number(addr.get("function") or "", "pci function", 0, 7)
            spec = f"{dom:04x}:{bus:02x}:{slot:02x}.{func:x}"
            if hd.find("source").get("writeFiltering") == "no":
                spec += ",permissive=1"
            pci.append(spec)
        elif hd.get("type") == "usb":
            usb.append(f"hostbus={number(addr.get('bus') or '', 'usb bus', 0, 255)},"
                       f"hostaddr={number(addr.get('device') or '', 'usb device', 0, 255)}")
        else:
            raise unsupported(f"<hostdev type='{hd.get('type')}'>: the Xen driver takes pci and usb")
    if pci:
        cfg["pci"] = pci
    if usb:
        cfg["usbdev"] = usb


def _controllers(devs: etree._Element, cfg: dict[str, CfgValue]) -> None:
    ctrls = []
    for c in devs.findall("controller"):
        ctype, model = c.get("type"), c.get("model")
        if ctype == "xenbus":
            if c.get("maxGrantFrames"):
                cfg["max_grant_frames"] = number(c.get("maxGrantFrames") or "", "maxGrantFrames", 1)
            if c.get("maxEventChannels"):
                cfg["max_event_channels"] = number(c.get("maxEventChannels") or "", "maxEventChannels", 1)
        elif ctype == "usb" and model in ("qusb1", "qusb2"):
            spec = f"type=qusb,version={model[-1]}"
            if c.get("ports"):
                spec += f",ports={number(c.get('ports') or '', 'usb ports', 1, 31)}"
            ctrls.append(spec)
        elif ctype in ("ide", "pci", "usb", "fdc") or (ctype, model) == ("scsi", None):
            continue  # implicit controllers (fdc: of the floppies left out): xl has nothing to set for them
        else:
            raise unsupported(f"<controller type='{ctype}' model='{model}'>: not supported by the Xen driver")
    if ctrls:
        cfg["usbctrl"] = ctrls


def _inputs(devs: etree._Element, cfg: dict[str, CfgValue], kind: str) -> None:
    usb = []
    for inp in devs.findall("input"):
        bus, itype = inp.get("bus"), inp.get("type")
        if bus in ("ps2", "xen", None) and itype in ("mouse", "keyboard"):
            continue  # the implicit ones
        if bus == "usb" and kind == "hvm" and itype in ("mouse", "tablet", "keyboard"):
            usb.append(itype)
        else:
            raise unsupported(f"<input type='{itype}' bus='{bus}'>: not supported by the Xen driver")
    if usb:
        cfg["usb"] = 1
        cfg["usbdevice"] = usb


def _video(devs: etree._Element, cfg: dict[str, CfgValue], kind: str) -> None:
    for video in devs.findall("video"):
        model = video.find("model")
        mtype = model.get("type") if model is not None else "cirrus"
        vram = model.get("vram") if model is not None else None
        if kind != "hvm":
            if mtype not in ("xen", "cirrus", "vga"):  # the defaults libvirt and guiapp fill in: the PV vfb
                raise unsupported(f"<video model='{mtype}'>: PV guests only have the xen framebuffer")
            continue
        if mtype == "vga":
            cfg["stdvga"] = 1
        elif mtype in ("qxl", "none"):
            cfg["vga"] = mtype
        elif mtype != "cirrus":
            raise unsupported(f"<video model='{mtype}'>: the Xen driver takes cirrus, vga, qxl or none")
        default = {"cirrus": "8192", "vga": "16384"}.get(mtype)
        if vram and vram != default:
            cfg["videoram"] = number(vram, "video vram", 1) // 1024
