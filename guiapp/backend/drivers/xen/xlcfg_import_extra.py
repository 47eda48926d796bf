"""xl.cfg -> domain XML beyond the basics: CPU, features, clock, serials, channels, inputs, host devices."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml import etree

from .xlcfg_specs import CPUID_FROM_XL, SERIAL_SIMPLE, TSC_FROM_XL, kv, syntax, unsupported

if TYPE_CHECKING:
    from .xlcfg_import import Cfg

Sub = etree.SubElement
XEN_NS = "http://libvirt.org/schemas/domain/xen/1.0"
_CPUID_POLICY = {"1": "force", "0": "disable", "x": "optional", "k": "optional", "s": "optional"}


def cpu(c: Cfg, root: etree._Element, hvm: bool) -> None:
    """nestedhvm, cpuid and vnuma -> <cpu>."""
    nested = c.n("nestedhvm") if hvm else None
    cpuid = c.s("cpuid")
    vnuma = c.list("vnuma")
    if nested is None and not cpuid and not vnuma:
        return
    el = Sub(root, "cpu")
    if nested is not None or cpuid:
        el.set("mode", "host-passthrough")
    if nested == 0:
        Sub(el, "feature", policy="disable", name="vmx")
    if cpuid:
        pairs = cpuid.split(",")
        if pairs[0] != "host":
            raise unsupported(f"{c.what}: cpuid starting with {pairs[0]!r}: only libxl's 'host,...' form is supported")
        for pair in pairs[1:]:
            name, eq, value = pair.partition("=")
            if not eq or value not in _CPUID_POLICY:
                raise syntax(f"{c.what}: cpuid item {pair!r} is not name=1|0|x|k|s")
            Sub(el, "feature", policy=_CPUID_POLICY[value], name=CPUID_FROM_XL.get(name, name))
    if vnuma:
        _numa(c, el, vnuma)


def _numa(c: Cfg, cpu_el: etree._Element, vnuma: list) -> None:
    numa = Sub(cpu_el, "numa")
    for i, node in enumerate(vnuma):
        if not isinstance(node, list):
            raise syntax(f"{c.what}: vnuma must be a list of lists ([ [ \"pnode=0\", ... ], ... ])")
        f: dict[str, str] = {}
        for item in node:
            key, _, value = str(item).partition("=")
            f[key.strip()] = value.strip()
        if not f.get("size", "").isdigit() or not f.get("vcpus"):
            raise syntax(f"{c.what}: vnuma node {i} needs size= (MiB) and vcpus=")
        cell = Sub(numa, "cell", id=str(i), cpus=f["vcpus"], memory=str(int(f["size"]) * 1024), unit="KiB")
        dists = [d for d in f.get("vdistances", "").split(",") if d]
        if len(dists) == 2 and len(vnuma) != 2:  # xl's short form: local, remote
            dists = [dists[0] if j == i else dists[1] for j in range(len(vnuma))]
        if dists:
            if len(dists) != len(vnuma):
                raise syntax(f"{c.what}: vnuma node {i}: vdistances needs {len(vnuma)} values (or local,remote)")
            d_el = Sub(cell, "distances")
            for j, value in enumerate(dists):
                Sub(d_el, "sibling", id=str(j), value=value)


def features(c: Cfg, root: etree._Element, hvm: bool) -> None:
    """pae/acpi/apic/hap/viridian (HVM), e820_host and passthrough -> <features>."""
    feats = etree.Element("features")
    if hvm:
        for name in ("acpi", "apic", "pae"):
            if c.flag(name, True):
                Sub(feats, name)
        if not c.flag("hap", True):
            Sub(feats, "hap", state="off")
        if c.flag("viridian", False):
            Sub(feats, "viridian")
    xen = etree.Element("xen")
    if c.n("e820_host") is not None:
        Sub(xen, "e820_host", state="on" if c.flag("e820_host", False) else "off")
    passthrough = c.s("passthrough")
    if passthrough:
        if passthrough == "disabled":
            Sub(xen, "passthrough", state="off")
        elif passthrough == "enabled":
            Sub(xen, "passthrough", state="on")
        elif passthrough in ("sync_pt", "share_pt"):
            Sub(xen, "passthrough", state="on", mode=passthrough)
        else:
            raise unsupported(f"{c.what}: passthrough '{passthrough}' (expected enabled, disabled, sync_pt "
                              f"or share_pt)")
    if len(xen):
        feats.append(xen)
    if len(feats):
        os_el = root.find("os")
        (os_el.addnext if os_el is not None else root.append)(feats)


def clock(c: Cfg, root: etree._Element, hvm: bool) -> None:
    """localtime, rtc_timeoffset, tsc_mode and hpet -> <clock>."""
    localtime = c.flag("localtime", False)
    if hvm:
        el = Sub(root, "clock", offset="variable", adjustment=str(c.n("rtc_timeoffset") or 0),
                 basis="localtime" if localtime else "utc")
    else:
        el = Sub(root, "clock", offset="localtime" if localtime else "utc", adjustment="reset")
    tsc = c.s("tsc_mode")
    if tsc is not None:
        if tsc not in TSC_FROM_XL:
            raise unsupported(f"{c.what}: tsc_mode '{tsc}' (expected {', '.join(TSC_FROM_XL)})")
        Sub(el, "timer", name="tsc", present="yes", mode=TSC_FROM_XL[tsc])
    if hvm and c.n("hpet") is not None:
        Sub(el, "timer", name="hpet", present="yes" if c.flag("hpet", False) else "no")


def vif_bridge(nic: etree._Element, bridge: str) -> None:
    """``bridge=br.42`` / ``br:42:43`` (Open vSwitch VLANs, as xl writes them) -> <source> + <vlan>."""
    m = re.fullmatch(r"([^.:]+)(?:\.(\d+)|((?::\d+)+))", bridge)
    if m is None:
        Sub(nic, "source", bridge=bridge)
        return
    Sub(nic, "source", bridge=m.group(1))
    vlan = Sub(nic, "vlan")
    if m.group(2):
        Sub(vlan, "tag", id=m.group(2))
    else:
        vlan.set("trunk", "yes")
        for tag in m.group(3).split(":")[1:]:
            Sub(vlan, "tag", id=tag)
    Sub(nic, "virtualport", type="openvswitch")


_UNITS = {"B": 1 / 1024, "K": 1, "M": 1024, "G": 1024 * 1024}


def vif_rate(nic: etree._Element, rate: str) -> None:
    """``rate=10MB/s[@20ms]`` -> <bandwidth><outbound average=KB/s>."""
    m = re.fullmatch(r"(\d+)([BKMG])(b|B)/s(?:@(\d+)([mu]?)s)?", rate)
    if m is None:
        raise syntax(f"vif rate {rate!r} is not N{{B,K,M,G}}{{b,B}}/s[@INTERVAL]")
    value = int(m.group(1)) * _UNITS[m.group(2)] / (8 if m.group(3) == "b" else 1)
    Sub(Sub(nic, "bandwidth"), "outbound", average=str(int(value)))


def spice(c: Cfg, devices: etree._Element) -> None:
    attrs = {"type": "spice"}
    if c.n("spiceport") is not None:
        attrs["port"] = str(c.n("spiceport"))
    if c.n("spicetls_port") is not None:
        attrs["tlsPort"] = str(c.n("spicetls_port"))
    attrs["autoport"] = "no" if "port" in attrs else "yes"
    if c.s("spicehost"):
        attrs["listen"] = c.s("spicehost") or ""
    if not c.flag("spicedisable_ticketing", False) and c.s("spicepasswd"):
        attrs["passwd"] = c.s("spicepasswd") or ""
    g = Sub(devices, "graphics", **attrs)
    if c.s("spicehost"):
        Sub(g, "listen", type="address", address=c.s("spicehost") or "")
    Sub(g, "mouse", mode="client" if c.flag("spiceagent_mouse", False) else "server")
    Sub(g, "clipboard", copypaste="yes" if c.flag("spice_clipboard_sharing", False) else "no")


def controllers(c: Cfg, devices: etree._Element) -> None:
    """max_grant_frames/max_event_channels (xenbus) and usbctrl -> <controller>."""
    bus = {}
    if c.n("max_grant_frames") is not None:
        bus["maxGrantFrames"] = str(c.n("max_grant_frames"))
    if c.n("max_event_channels") is not None:
        bus["maxEventChannels"] = str(c.n("max_event_channels"))
    if bus:
        Sub(devices, "controller", type="xenbus", index="0", **bus)
    for i, spec in enumerate(c.list("usbctrl")):
        f = kv(str(spec))
        version = f.get("version", "2")
        if f.get("type", "qusb") != "qusb" or version not in ("1", "2"):
            raise unsupported(f"{c.what}: usbctrl {spec!r}: only type=qusb version=1|2 is supported")
        attrs = {"type": "usb", "index": str(i), "model": f"qusb{version}"}
        if f.get("ports"):
            attrs["ports"] = f["ports"]
        Sub(devices, "controller", **attrs)


def serials(c: Cfg, devices: etree._Element, hvm: bool) -> None:
    if not hvm:
        console = Sub(devices, "console", type="pty")
        Sub(console, "target", type="xen", port="0")
        return
    for port, value in enumerate(str(v) for v in c.list("serial")):
        if value == "none":
            continue
        if value in SERIAL_SIMPLE:
            el = Sub(devices, "serial", type=value)
        elif value.startswith("file:"):
            el = Sub(devices, "serial", type="file")
            Sub(el, "source", path=value[5:])
        elif value.startswith("/dev/"):
            el = Sub(devices, "serial", type="dev")
            Sub(el, "source", path=value)
        else:
            raise unsupported(f"{c.what}: serial '{value}' (guiapp takes pty, null, vc, stdio, file: and /dev/)")
        Sub(el, "target", port=str(port))


def channels(c: Cfg, devices: etree._Element) -> None:
    for spec in c.list("channel"):
        f = kv(str(spec))
        conn = f.get("connection")
        if not f.get("name") or conn not in ("pty", "socket"):
            raise unsupported(f"{c.what}: channel {spec!r}: needs name= and connection=pty|socket")
        el = Sub(devices, "channel", type="pty" if conn == "pty" else "unix")
        if conn == "socket":
            if not f.get("path"):
                raise unsupported(f"{c.what}: channel {spec!r}: connection=socket needs path=")
            Sub(el, "source", mode="bind", path=f["path"])
        Sub(el, "target", type="xen", name=f["name"])


def inputs(c: Cfg, devices: etree._Element, hvm: bool) -> None:
    if not hvm or not c.flag("usb", False) and not c.list("usbdevice"):
        return
    for dev in c.list("usbdevice"):
        if str(dev) not in ("mouse", "tablet", "keyboard"):
            raise unsupported(f"{c.what}: usbdevice '{dev}' (guiapp takes mouse, tablet and keyboard)")
        Sub(devices, "input", type=str(dev), bus="usb")


_PCI = re.compile(r"(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])")


def hostdevs(c: Cfg, devices: etree._Element) -> None:
    """pci= and usbdev= -> <hostdev>."""
    for spec in c.list("pci"):
        bdf, _, opts = str(spec).partition(",")
        m = _PCI.fullmatch(bdf.strip())
        if m is None:
            raise syntax(f"{c.what}: pci {spec!r} is not [DDDD:]BB:SS.F[,options]")
        hd = Sub(devices, "hostdev", mode="subsystem", type="pci", managed="no")
        Sub(hd, "driver", name="xen")
        src = Sub(hd, "source")
        if "permissive=1" in opts.split(","):
            src.set("writeFiltering", "no")
        Sub(src, "address", domain=f"0x{m.group(1) or '0000'}", bus=f"0x{m.group(2)}", slot=f"0x{m.group(3)}",
            function=f"0x{m.group(4)}")
    for spec in c.list("usbdev"):
        f = kv(str(spec))
        if not f.get("hostbus", "").isdigit() or not f.get("hostaddr", "").isdigit():
            raise unsupported(f"{c.what}: usbdev {spec!r}: guiapp takes hostbus=N,hostaddr=N")
        hd = Sub(devices, "hostdev", mode="subsystem", type="usb", managed="no")
        Sub(Sub(hd, "source"), "address", bus=f["hostbus"], device=f["hostaddr"])


def qemu_args(c: Cfg, root: etree._Element) -> None:
    """device_model_args -> <xen:commandline><xen:arg value=.../>."""
    args = c.list("device_model_args")
    if not args:
        return
    cmd = Sub(root, f"{{{XEN_NS}}}commandline", nsmap={"xen": XEN_NS})
    for arg in args:
        Sub(cmd, f"{{{XEN_NS}}}arg", value=str(arg))
