"""Domain XML <-> xl.cfg (the xl toolstack's domain configuration format, see xl.cfg(5)).

The mapping follows the pairs libvirt keeps in ``tests/xlconfigdata``:

==========================  =================================================
XML                         xl.cfg
==========================  =================================================
name, uuid                  name, uuid
memory / currentMemory      maxmem / memory (MiB, rounded up)
vcpu / vcpu@current         maxvcpus / vcpus (vcpus alone when equal)
os/type linux|xen           type = "pv"; kernel, ramdisk, cmdline | root+extra
os/type hvm                 builder = "hvm"; firmware_override (<loader>),
                            boot (hd=c cdrom=d fd=a network=n), pae/acpi/apic,
                            device_model_override (<emulator>), serial
os/type xenpvh              type = "pvh"; kernel, ramdisk, cmdline
on_poweroff/reboot/crash    on_poweroff/on_reboot/on_crash
disk                        "format=,vdev=,access=ro|rw,backendtype=,devtype=cdrom,target="
interface bridge|ethernet   "mac=,bridge=,script=,model=,vifname=,ip="
graphics vnc (HVM)          vnc, vncunused, vncdisplay, vnclisten, vncpasswd
graphics vnc (PV)           vfb = [ "vnc=1,vncunused=,vncdisplay=,vnclisten=,vncpasswd=" ]
==========================  =================================================

Floppy drives have no libxl equivalent: they stay in the XML and are left out
of the xl.cfg (with a comment saying so).  Unsupported constructs (another
domain type, interface types xl has no notion of) are refused with
``VIR_ERR_CONFIG_UNSUPPORTED``; a PV guest without kernel or bootloader and an
HVM guest without loader are refused with ``VIR_ERR_NO_KERNEL``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Optional, Union

from lxml import etree

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef, parse_domain

_FROM = C.VIR_FROM_DOMAIN
CfgValue = Union[str, int, list]

_BOOT_TO_XL = {"hd": "c", "cdrom": "d", "fd": "a", "network": "n"}
_BOOT_FROM_XL = {v: k for k, v in _BOOT_TO_XL.items()}
_BACKEND_TO_XL = {"phy": "phy", "qemu": "qdisk", "tap": "tap", "tap2": "tap", "qdisk": "qdisk"}
_BACKEND_FROM_XL = {"phy": "phy", "qdisk": "qemu", "tap": "tap"}
XL_ACTIONS = ("destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart",
              "soft-reset")


def _items(value: Optional[CfgValue]) -> list:
    """A list-valued setting (``disk = [...]``) as a list; a scalar is one item."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _unsupported(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, detail, _FROM)


# ============================================================ xl.cfg syntax

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r]+) | (?P<comment>\#[^\n]*) | (?P<nl>\n) |
    (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*') |
    (?P<num>0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?) |
    (?P<ident>[A-Za-z_][A-Za-z0-9_.]*) |
    (?P<op>\+=|[=\[\],;])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b", "f": "\f",
            "v": "\v"}


def _unquote(tok: str) -> str:
    body = tok[1:-1]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt in "xX" and re.match(r"[0-9a-fA-F]{2}", body[i + 2:i + 4]):
                out.append(chr(int(body[i + 2:i + 4], 16)))
                i += 4
                continue
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            if m:
                out.append(chr(int(m.group(0), 8)))
                i += 1 + len(m.group(0))
                continue
            out.append(nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_cfg(text: str, what: str = "xl.cfg") -> dict[str, CfgValue]:
    """Parse xl.cfg text into {key: str | int | list[str]}; syntax errors raise VIR_ERR_CONF_SYNTAX."""
    toks: list[tuple[str, str, int]] = []
    line = 1
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise DriverError(C.VIR_ERR_CONF_SYNTAX, f"{what}:{line}: unexpected character {text[pos]!r}", _FROM)
        kind = m.lastgroup or ""
        if kind == "nl":
            toks.append(("nl", "\n", line))
            line += 1
        elif kind not in ("ws", "comment"):
            toks.append((kind, m.group(0), line))
        pos = m.end()
    toks.append(("eof", "", line))

    out: dict[str, CfgValue] = {}
    i = 0

    def err(msg: str) -> DriverError:
        return DriverError(C.VIR_ERR_CONF_SYNTAX, f"{what}:{toks[i][2]}: {msg}", _FROM)

    def atom() -> CfgValue:
        nonlocal i
        kind, tok, _ = toks[i]
        if kind == "str":
            i += 1
            return _unquote(tok)
        if kind == "num":
            i += 1
            if "." in tok:
                return tok
            return int(tok, 16) if tok[:2].lower() == "0x" else int(tok)
        raise err(f"expected a string or a number, found {tok!r}")

    def skip_nl() -> None:
        nonlocal i
        while toks[i][0] == "nl":
            i += 1

    while True:
        skip_nl()
        kind, tok, _ = toks[i]
        if kind == "eof":
            break
        if kind == "op" and tok == ";":
            i += 1
            continue
        if kind != "ident":
            raise err(f"expected a setting name, found {tok!r}")
        key = tok
        i += 1
        op = toks[i][1]
        if op not in ("=", "+="):
            raise err(f"expected '=' after {key!r}")
        i += 1
        if toks[i][1] == "[":
            i += 1
            items: list = []
            while True:
                skip_nl()
                if toks[i][1] == "]":
                    i += 1
                    break
                items.append(atom())
                skip_nl()
                if toks[i][1] == ",":
                    i += 1
                elif toks[i][1] != "]":
                    raise err("expected ',' or ']' in list")
            value: CfgValue = items
        else:
            value = atom()
        if op == "+=" and key in out:
            prev = out[key]
            value = (prev + value) if isinstance(prev, list) and isinstance(value, list) else f"{prev}{value}"
        out[key] = value
        if toks[i][0] not in ("nl", "eof") and toks[i][1] != ";":
            raise err(f"unexpected {toks[i][1]!r} after the value of {key!r}")
    return out


def _quote(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _comment(text: str) -> str:
    """A comment stays on its line: control characters (a newline would start a setting) are escaped."""
    return "".join(ch if ch >= " " and ch != "\x7f" else f"\\x{ord(ch):02x}" for ch in text)


def format_cfg(cfg: dict[str, CfgValue], comments: Optional[list[str]] = None) -> str:
    """xl.cfg text for ``cfg`` (one setting a line, in insertion order)."""
    lines = [f"# {_comment(c)}" for c in comments or []]
    for key, value in cfg.items():
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, list):
            text = "[ " + ", ".join(_quote(str(v)) for v in value) + " ]"
        else:
            text = _quote(str(value))
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


# ============================================================ XML -> xl.cfg

def _mib(kib: int) -> int:
    return -(-kib // 1024)


def _spec_value(value: str, what: str, *, secret: bool = False) -> str:
    """A value inside a ``key=value,...`` device spec: it may not carry ',' or '=' (a secret is not quoted back)."""
    if "," in value or "=" in value:
        shown = "" if secret else f" {value!r}"
        raise _unsupported(f"{what}{shown} contains ',' or '=', which xl's device syntax cannot carry")
    return value


def _ip_value(value: str, what: str) -> str:
    """An IP address for a vif's ``ip=`` (xl splits the list on spaces)."""
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        raise _unsupported(f"{what} {value!r} is not an IP address") from None


def _disk_spec(disk) -> str:
    parts = []
    fmt = disk.format or ("empty" if disk.source is None else "raw")
    if disk.source is not None or disk.format:
        parts.append(f"format={_spec_value(fmt, 'disk format')}")
    parts.append(f"vdev={_spec_value(disk.target, 'disk target')}")
    parts.append("access=ro" if disk.readonly or disk.device == "cdrom" else "access=rw")
    if disk.driver_name:
        backend = _BACKEND_TO_XL.get(disk.driver_name)
        if backend is None:
            raise _unsupported(f"disk {disk.target}: driver name '{disk.driver_name}' is not supported by xl "
                               f"(use phy, qemu or tap)")
        parts.append(f"backendtype={backend}")
    if disk.device == "cdrom":
        parts.append("devtype=cdrom")
    if disk.type not in ("file", "block"):
        raise _unsupported(f"disk {disk.target}: <disk type='{disk.type}'> is not supported by the Xen driver "
                           f"(use type='file' or type='block')")
    parts.append(f"target={disk.source or ''}")
    return ",".join(parts)


def _vif_spec(nic) -> str:
    if nic.type not in ("bridge", "ethernet"):
        raise _unsupported(f"interface type '{nic.type}' is not supported by the Xen driver "
                           f"(use <interface type='bridge'><source bridge='xenbr0'/></interface> or type='ethernet')")
    parts = [f"mac={nic.mac}"]
    if nic.bridge:
        parts.append(f"bridge={_spec_value(nic.bridge, 'bridge')}")
    if nic.script:
        parts.append(f"script={_spec_value(nic.script, 'script')}")
    if nic.model:
        parts.append(f"model={_spec_value(nic.model, 'model')}")
    if nic.target_dev:
        parts.append(f"vifname={_spec_value(nic.target_dev, 'target dev')}")
    ips = [ip.get("address") for ip in nic.element.findall("ip") if ip.get("address")]
    if ips:
        parts.append("ip=" + " ".join(_ip_value(ip, "interface <ip address>") for ip in ips))
    return ",".join(parts)


def _vnc(g, cfg: dict[str, CfgValue], pv: bool) -> None:
    if pv:
        bits = ["vnc=1", f"vncunused={1 if g.autoport else 0}"]
        if not g.autoport and g.port is not None and g.port >= 5900:
            bits.append(f"vncdisplay={g.port - 5900}")
        if g.listen:
            bits.append(f"vnclisten={_spec_value(g.listen, 'vnc listen address')}")
        if g.passwd:
            bits.append(f"vncpasswd={_spec_value(g.passwd, 'the VNC password', secret=True)}")
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


def _feature(d: DomainDef, name: str) -> Optional[bool]:
    """True/False for ``<features><name state='on|off'/>``, None when absent."""
    el = d.root.find(f"features/{name}")
    if el is None:
        return None
    return el.get("state", "on") != "off"


def guest_kind(d: DomainDef) -> str:
    """'pv', 'hvm' or 'pvh' for a Xen domain definition."""
    return {"linux": "pv", "xen": "pv", "hvm": "hvm", "xenpvh": "pvh"}.get(d.os_type, "")


def validate(d: DomainDef) -> str:
    """Refuse what xl cannot run; returns the guest kind."""
    if d.type not in ("xen", "libxl"):
        raise _unsupported(f"domain type '{d.type}' is not supported by the Xen driver: use <domain type='xen'>")
    kind = guest_kind(d)
    if not kind:
        raise DriverError(C.VIR_ERR_OS_TYPE, f"'{d.os_type}' in <os><type>: the Xen driver runs linux/xen (PV), "
                                             f"hvm and xenpvh guests", _FROM)
    bootloader = d.root.findtext("bootloader")
    if kind in ("pv", "pvh") and not d.kernel and not bootloader:
        raise DriverError(C.VIR_ERR_NO_KERNEL,
                          f"the {kind.upper()} guest '{d.name}' needs <os><kernel>/path/to/vmlinuz</kernel> "
                          f"(or a <bootloader> such as pygrub)", _FROM)
    if kind == "hvm" and not d.loader:
        raise DriverError(C.VIR_ERR_NO_KERNEL,
                          f"the HVM guest '{d.name}' needs <os><loader>/usr/lib/xen/boot/hvmloader</loader>",
                          _FROM)
    if d.arch and d.arch not in ("x86_64", "i686", "aarch64", "armv7l"):
        raise _unsupported(f"architecture '{d.arch}' is not supported by Xen")
    return kind


def to_cfg(d: DomainDef) -> tuple[dict[str, CfgValue], list[str]]:
    """The xl.cfg settings for ``d`` (validated first) and comments about what was left out."""
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
    bootloader = d.root.findtext("bootloader")
    if kind == "hvm":
        cfg["firmware_override"] = d.loader  # type: ignore[assignment]
        if d.boot_devs:
            cfg["boot"] = "".join(_BOOT_TO_XL[b] for b in d.boot_devs)
        for feat in ("pae", "acpi", "apic", "hap", "viridian"):
            state = _feature(d, feat)
            if state is not None or feat in ("pae", "acpi", "apic"):
                cfg[feat] = 1 if state else 0
        if d.kernel:  # direct kernel boot of an HVM guest
            cfg["kernel"] = d.kernel
            if d.initrd:
                cfg["ramdisk"] = d.initrd
            if d.cmdline:
                cfg["cmdline"] = d.cmdline
        if d.emulator:
            cfg["device_model_override"] = d.emulator
        if d.serials:
            s = d.serials[0]
            cfg["serial"] = {"pty": "pty", "null": "null", "vc": "vc"}.get(s.type, "pty")
    else:
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
    for action in ("on_poweroff", "on_reboot", "on_crash"):
        value = getattr(d, action)
        if value not in XL_ACTIONS:
            raise _unsupported(f"{action} action '{value}' is not supported by xl")
        cfg[action] = value
    disks = []
    for disk in d.disks:
        if disk.device == "floppy":
            notes.append(f"floppy {disk.target} ({disk.source}) left out: libxl has no floppy drives")
            continue
        if disk.device == "lun":
            raise _unsupported(f"disk {disk.target}: device='lun' is not supported by the Xen driver")
        disks.append(_disk_spec(disk))
    if disks:
        cfg["disk"] = disks
    vifs = [_vif_spec(n) for n in d.interfaces]
    if vifs:
        cfg["vif"] = vifs
    for g in d.graphics:
        if g.type == "vnc":
            _vnc(g, cfg, pv=kind != "hvm")
            break
        if g.type == "sdl" and kind == "hvm":
            cfg["sdl"] = 1
            break
        raise _unsupported(f"graphics type '{g.type}' is not supported by the Xen driver (use vnc)")
    return cfg, notes


def domain_to_xl(d: Union[DomainDef, str]) -> str:
    """xl.cfg text for a DomainDef (or domain XML text)."""
    if isinstance(d, str):
        d = parse_domain(d, hypervisor="xen")
    cfg, notes = to_cfg(d)
    return format_cfg(cfg, notes)


# ============================================================ xl.cfg -> XML

def _kv(spec: str) -> dict[str, str]:
    """Parse ``k=v,k=v,...,target=REST`` (target takes the rest of the string, commas included)."""
    out: dict[str, str] = {}
    rest = spec
    while rest:
        if rest.startswith("target="):
            out["target"] = rest[len("target="):]
            break
        item, _, rest = rest.partition(",")
        key, eq, value = item.partition("=")
        if not eq:
            out.setdefault("_positional", "")
            out["_positional"] += ("," if out["_positional"] else "") + item
            continue
        out[key.strip()] = value.strip()
    return out


def _legacy_disk(spec: str) -> dict[str, str]:
    """``phy:/dev/vg/lv,hda,w`` / ``file:/img,hdc:cdrom,r`` -> key/value form."""
    fields = [f.strip() for f in spec.split(",")]
    out: dict[str, str] = {}
    target = fields[0] if fields else ""
    for prefix, backend, fmt in (("phy:", "phy", "raw"), ("file:", "qdisk", "raw"), ("tap:aio:", "tap", "raw"),
                                 ("tap:qcow2:", "tap", "qcow2"), ("qcow2:", "qdisk", "qcow2"), ("raw:", "qdisk", "raw"),
                                 ("tap:", "tap", "raw")):
        if target.startswith(prefix):
            target = target[len(prefix):]
            out["backendtype"] = backend
            out["format"] = fmt
            break
    out["target"] = target
    if len(fields) > 1:
        vdev = fields[1]
        if vdev.endswith(":cdrom"):
            vdev = vdev[:-len(":cdrom")]
            out["devtype"] = "cdrom"
        out["vdev"] = vdev
    if len(fields) > 2:
        out["access"] = "ro" if fields[2] in ("r", "ro") else "rw"
    return out


def _bus_for(vdev: str, hvm: bool) -> str:
    if vdev.startswith("xvd"):
        return "xen"
    if vdev.startswith("sd"):
        return "scsi"
    if vdev.startswith("hd"):
        return "ide" if hvm else "xen"
    return "xen"


def xl_to_domain_xml(text: str, what: str = "xl.cfg") -> str:
    """Domain XML (validated through the domain model) for xl.cfg ``text``."""
    cfg = parse_cfg(text, what)

    def s(key: str) -> Optional[str]:
        v = cfg.get(key)
        return None if v is None or isinstance(v, list) else str(v)

    def n(key: str) -> Optional[int]:
        v = cfg.get(key)
        if v is None or isinstance(v, list):
            return None
        try:
            return int(v)
        except ValueError:
            raise DriverError(C.VIR_ERR_CONF_SYNTAX, f"{what}: {key} must be a number, not {v!r}", _FROM) from None

    kind = (s("type") or s("builder") or "pv").lower()
    if kind == "generic":
        kind = "pv"
    if kind not in ("pv", "hvm", "pvh"):
        raise _unsupported(f"{what}: guest type '{kind}' (expected pv, hvm or pvh)")
    hvm = kind == "hvm"
    name = s("name")
    if not name:
        raise DriverError(C.VIR_ERR_NO_NAME, f"{what}: no name = \"...\" setting", _FROM)

    root = etree.Element("domain", type="xen")
    etree.SubElement(root, "name").text = name
    if s("uuid"):
        etree.SubElement(root, "uuid").text = s("uuid")
    memory = n("memory") or 128
    maxmem = max(n("maxmem") or memory, memory)
    etree.SubElement(root, "memory", unit="KiB").text = str(maxmem * 1024)
    etree.SubElement(root, "currentMemory", unit="KiB").text = str(memory * 1024)
    vcpus = n("vcpus") or 1
    maxvcpus = max(n("maxvcpus") or vcpus, vcpus)
    vcpu = etree.SubElement(root, "vcpu")
    vcpu.text = str(maxvcpus)
    if maxvcpus != vcpus:
        vcpu.set("current", str(vcpus))
    if s("bootloader"):
        etree.SubElement(root, "bootloader").text = s("bootloader")
        if s("bootloader_args"):
            etree.SubElement(root, "bootloader_args").text = s("bootloader_args")
    os_el = etree.SubElement(root, "os")
    etree.SubElement(os_el, "type").text = {"pv": "linux", "hvm": "hvm", "pvh": "xenpvh"}[kind]
    if hvm:
        loader = s("firmware_override") or s("firmware")
        if loader is None and s("kernel") and "hvmloader" in (s("kernel") or ""):
            loader = s("kernel")  # xm-era configs named hvmloader as the kernel
        etree.SubElement(os_el, "loader").text = loader or "/usr/lib/xen/boot/hvmloader"
        for ch in s("boot") or "":
            if ch in _BOOT_FROM_XL:
                etree.SubElement(os_el, "boot", dev=_BOOT_FROM_XL[ch])
    kernel = s("kernel")
    if kernel and not (hvm and "hvmloader" in kernel):
        etree.SubElement(os_el, "kernel").text = kernel
        if s("ramdisk"):
            etree.SubElement(os_el, "initrd").text = s("ramdisk")
    if s("root") and not s("cmdline"):
        etree.SubElement(os_el, "root").text = s("root")
        if s("extra"):
            etree.SubElement(os_el, "cmdline").text = s("extra")
    elif s("cmdline") or s("extra"):
        etree.SubElement(os_el, "cmdline").text = s("cmdline") or s("extra")
    if hvm:
        f_el = etree.SubElement(root, "features")
        for f in ("pae", "acpi", "apic", "hap", "viridian"):
            if f in cfg:
                on = (n(f) or 0) > 0
                if on or f == "hap":
                    etree.SubElement(f_el, f, **({} if on else {"state": "off"}))
            elif f in ("pae", "acpi", "apic"):  # xl's defaults for HVM guests
                etree.SubElement(f_el, f)
    for action in ("on_poweroff", "on_reboot", "on_crash"):
        if s(action):
            etree.SubElement(root, action).text = s(action)
    devices = etree.SubElement(root, "devices")
    emulator = s("device_model_override") or s("device_model")
    if emulator:
        etree.SubElement(devices, "emulator").text = emulator
    for spec in _items(cfg.get("disk")):
        spec = str(spec)
        kv = _kv(spec)
        if "_positional" in kv or not any(k in kv for k in ("vdev", "target")):
            kv = _legacy_disk(spec)
        vdev = kv.get("vdev")
        if not vdev:
            raise DriverError(C.VIR_ERR_NO_TARGET, f"{what}: disk {spec!r} has no vdev", _FROM)
        target = kv.get("target", "")
        cdrom = kv.get("devtype") == "cdrom" or kv.get("cdrom") is not None
        backend = kv.get("backendtype") or kv.get("backend-type")
        dtype = "block" if backend == "phy" or (backend is None and target.startswith("/dev/")) else "file"
        disk = etree.SubElement(devices, "disk", type=dtype, device="cdrom" if cdrom else "disk")
        fmt = kv.get("format")
        drv_name = _BACKEND_FROM_XL.get(backend or "", None)
        if drv_name or (fmt and fmt != "empty"):
            drv = etree.SubElement(disk, "driver")
            if drv_name:
                drv.set("name", drv_name)
            if fmt and fmt != "empty":
                drv.set("type", fmt)
        if target:
            etree.SubElement(disk, "source", **({"dev": target} if dtype == "block" else {"file": target}))
        etree.SubElement(disk, "target", dev=vdev, bus=_bus_for(vdev, hvm))
        if kv.get("access", "rw") in ("ro", "r") or cdrom:
            etree.SubElement(disk, "readonly")
    for spec in _items(cfg.get("vif")):
        kv = _kv(str(spec))
        bridge = kv.get("bridge")
        nic = etree.SubElement(devices, "interface", type="bridge" if bridge else "ethernet")
        if kv.get("mac"):
            etree.SubElement(nic, "mac", address=kv["mac"])
        if bridge:
            etree.SubElement(nic, "source", bridge=bridge)
        for ip in (kv.get("ip") or "").split():
            etree.SubElement(nic, "ip", address=ip)
        if kv.get("script"):
            etree.SubElement(nic, "script", path=kv["script"])
        if kv.get("vifname"):
            etree.SubElement(nic, "target", dev=kv["vifname"])
        if kv.get("model"):
            etree.SubElement(nic, "model", type=kv["model"])
    if hvm and s("serial") and s("serial") != "none":
        serial = etree.SubElement(devices, "serial", type="pty")
        etree.SubElement(serial, "target", port="0")
    if not hvm:
        console = etree.SubElement(devices, "console", type="pty")
        etree.SubElement(console, "target", type="xen", port="0")
    vnc: Optional[dict[str, str]] = None
    if hvm and (n("vnc") or 0) > 0:
        vnc = {k: str(cfg[k]) for k in ("vncunused", "vncdisplay", "vnclisten", "vncpasswd") if k in cfg}
    elif not hvm and cfg.get("vfb"):
        kv = _kv(str(cfg["vfb"][0]))  # type: ignore[index]
        if kv.get("vnc", "0") not in ("0", ""):
            vnc = kv
    if vnc is not None:
        unused = vnc.get("vncunused", "1") not in ("0", "")
        attrs = {"type": "vnc", "port": "-1", "autoport": "yes"}
        if not unused and vnc.get("vncdisplay", "").isdigit():
            attrs = {"type": "vnc", "port": str(5900 + int(vnc["vncdisplay"])), "autoport": "no"}
        if vnc.get("vnclisten"):
            attrs["listen"] = vnc["vnclisten"]
        if vnc.get("vncpasswd"):
            attrs["passwd"] = vnc["vncpasswd"]
        etree.SubElement(devices, "graphics", **attrs)
    return parse_domain(etree.tostring(root, encoding="unicode"), hypervisor="xen").to_xml(secure=False)


__all__ = ["parse_cfg", "format_cfg", "to_cfg", "domain_to_xl", "xl_to_domain_xml", "validate", "guest_kind"]
