"""Build and edit a new guest's domain XML, one section at a time (the New-VM wizard's model; no Qt).

The document is the state: :class:`DomainBuilder` holds a :class:`DomainDef`
and each ``set_*`` method rewrites the elements of one section (install/OS,
platform, memory, storage, network, display, lifecycle).  An edit is made on a
copy of the tree and re-validated by :func:`parse_domain` before it replaces
the current document, so a refused edit (``DriverError``) loses nothing.

Guest kinds (:data:`KINDS`): Xen PV, Xen HVM, KVM and QEMU.  What a connection
can run comes from its capabilities (:func:`kind_options`); a test-driver
connection emulates every kind (the test driver accepts any domain type).
"""

from __future__ import annotations

import os
from copy import deepcopy
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from .capabilities import Capabilities, Guest
from .domain import DomainDef, generate_mac, mac_prefix_for, parse_domain

_FROM = C.VIR_FROM_DOMAIN


# ----------------------------------------------------------------------------- guest kinds

@dataclass(frozen=True)
class GuestKind:
    """One of the four guest kinds the wizard builds."""

    key: str
    label: str
    domain_type: str  # <domain type>
    os_type: str  # <os><type>
    caps_os_types: tuple[str, ...]  # capabilities <os_type> values that run it
    description: str

    @property
    def xen(self) -> bool:
        return self.domain_type == "xen"

    @property
    def pv(self) -> bool:
        return self.os_type in ("linux", "xen")

    @property
    def hvm(self) -> bool:
        return self.os_type == "hvm"


XEN_PV = GuestKind("xen-pv", "Xen paravirtualized (PV)", "xen", "linux", ("xen", "linux"),
                   "A Xen-aware Linux kernel booted directly by the hypervisor; no emulated hardware.")
XEN_HVM = GuestKind("xen-hvm", "Xen fully virtualized (HVM)", "xen", "hvm", ("hvm",),
                    "An unmodified OS on Xen with hardware virtualization (VT-x/AMD-V) and qemu-dm devices.")
KVM = GuestKind("kvm", "KVM", "kvm", "hvm", ("hvm",),
                "QEMU with the Linux KVM accelerator: near-native speed, needs /dev/kvm and VT-x/AMD-V.")
QEMU = GuestKind("qemu", "QEMU (emulated)", "qemu", "hvm", ("hvm",),
                 "QEMU with TCG emulation: any architecture QEMU offers, no hardware support needed, slower.")

KINDS: dict[str, GuestKind] = {k.key: k for k in (XEN_PV, XEN_HVM, KVM, QEMU)}


def kind_of(domain_type: str, os_type: str) -> Optional[GuestKind]:
    """The kind of a definition, or None."""
    for k in KINDS.values():
        if k.domain_type == domain_type and (os_type == k.os_type or (k.pv and os_type in ("linux", "xen"))):
            return k
    return None


@dataclass
class KindOption:
    """A kind as the connection offers it: available or not (with the reason), and its architectures."""

    kind: GuestKind
    available: bool
    reason: str = ""
    arches: list[str] = field(default_factory=list)
    emulated: bool = False  # a test connection pretending to run this kind


def is_test_connection(driver_type: str) -> bool:
    return driver_type.lower() == "test"


def kind_options(caps: Capabilities, driver_type: str) -> list[KindOption]:
    """Every kind, available or disabled with the reason, from ``caps`` of a ``driver_type`` connection."""
    out = []
    test = is_test_connection(driver_type)
    for kind in KINDS.values():
        if test:
            arches = _arches(caps, kind.caps_os_types, None) or [caps.host.cpu.arch]
            out.append(KindOption(kind, True, "", arches, emulated=True))
            continue
        arches = _arches(caps, kind.caps_os_types, kind.domain_type)
        if arches:
            out.append(KindOption(kind, True, "", arches))
        else:
            out.append(KindOption(kind, False, _why_not(caps, kind, driver_type)))
    return out


def _arches(caps: Capabilities, os_types: tuple[str, ...], domain_type: Optional[str]) -> list[str]:
    seen: dict[str, None] = {}
    for g in caps.guests:
        if g.os_type in os_types and (domain_type is None or domain_type in g.domain_types):
            seen[g.arch] = None
    return list(seen)


def _why_not(caps: Capabilities, kind: GuestKind, driver_type: str) -> str:
    offered = ", ".join(sorted({t for g in caps.guests for t in g.domain_types})) or "none"
    if kind.xen:
        return (f"this {driver_type} connection runs no Xen guests (its capabilities offer: {offered}); "
                f"connect to xen:/// on a Xen host (dom0)")
    if kind.domain_type == "kvm":
        if "qemu" in offered.split(", "):
            return ("KVM is not usable on this host (no /dev/kvm with VT-x/AMD-V in the capabilities); "
                    "choose QEMU (emulated) instead")
        return f"this {driver_type} connection offers no KVM guests (its capabilities offer: {offered})"
    return (f"this {driver_type} connection offers no QEMU guests (its capabilities offer: {offered}); "
            f"connect to qemu:///session or qemu:///system")


def find_guest(caps: Capabilities, kind: GuestKind, arch: Optional[str], emulated: bool) -> Optional[Guest]:
    """The capabilities ``<guest>`` that runs ``kind`` on ``arch``."""
    for g in caps.guests:
        if g.os_type not in kind.caps_os_types or (arch is not None and g.arch != arch):
            continue
        if emulated or kind.domain_type in g.domain_types:
            return g
    return None


def machines_for(caps: Capabilities, kind: GuestKind, arch: Optional[str], emulated: bool) -> list[str]:
    """Machine types for ``kind`` on ``arch`` (its domain type's own list when it has one)."""
    g = find_guest(caps, kind, arch, emulated)
    if g is None:
        return []
    return g.machine_names(kind.domain_type)


def default_loader(caps: Capabilities, kind: GuestKind, arch: Optional[str], emulated: bool) -> Optional[str]:
    """The firmware an HVM guest of ``kind`` gets by default (Xen's hvmloader from the capabilities)."""
    if not kind.hvm:
        return None
    g = find_guest(caps, kind, arch, emulated)
    if g is not None and g.loader:
        return g.loader
    return "/usr/lib/xen/boot/hvmloader" if kind.xen else None


def emulator_for(caps: Capabilities, kind: GuestKind, arch: Optional[str], emulated: bool) -> Optional[str]:
    """``<emulator>`` for a real connection (a test connection's fake emulator is not written)."""
    if emulated or kind.pv:
        return None
    g = find_guest(caps, kind, arch, emulated)
    return g.emulator_for(kind.domain_type) if g is not None else None


# ----------------------------------------------------------------------------- section specs

INSTALL_METHODS = ("cdrom", "import", "network", "kernel")  # HVM kinds; PV always boots a kernel
NET_MODES = ("user", "network", "bridge", "ethernet", "mcast", "server", "client")
DISK_FORMATS = ("qcow2", "raw")
NIC_MODELS_HVM = ("virtio", "e1000", "rtl8139", "ne2k_pci", "pcnet")
NIC_MODELS_XEN_HVM = ("e1000", "rtl8139")


@dataclass
class InstallSpec:
    """Page 2: how the guest boots the first time."""

    method: str = "cdrom"  # cdrom | import | network | kernel (HVM); PV ignores it (kernel boot)
    iso: str = ""
    image: str = ""  # import: the existing disk image
    image_format: str = "raw"
    kernel: str = ""
    initrd: str = ""
    cmdline: str = ""
    root_dev: str = ""
    loader: str = ""  # HVM firmware (Xen: hvmloader; QEMU/KVM: -bios)


@dataclass
class DiskSpec:
    """One disk, cdrom or floppy of the storage page."""

    device: str = "disk"  # disk | cdrom | floppy
    source: str = ""  # empty: an empty cdrom/floppy drive
    format: str = ""  # raw | qcow2 | "" (drive default)
    block: bool = False  # a block device (<disk type='block'>)
    bus: str = ""  # ide | virtio | sata | scsi | xen | fdc; "" picks the kind's default
    readonly: bool = False


@dataclass
class NicSpec:
    """One network interface in one of the modes of :data:`NET_MODES`."""

    mode: str = "user"
    network: str = ""
    bridge: str = ""
    target_dev: str = ""
    script: str = ""
    address: str = ""
    port: Optional[int] = None
    mac: str = ""  # empty: generated once and kept
    model: str = ""


@dataclass
class VncSpec:
    port: int = -1  # -1: automatic
    listen: str = "127.0.0.1"
    passwd: str = ""


@dataclass
class Lifecycle:
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"


# ----------------------------------------------------------------------------- the builder

_TOP_ORDER = ("name", "uuid", "memory", "currentMemory", "vcpu", "os", "features", "cpu", "clock",
              "on_poweroff", "on_reboot", "on_crash", "devices")
_DEV_ORDER = ("emulator", "disk", "controller", "interface", "serial", "console", "input", "graphics", "video")
_BUS_PREFIX = {"ide": "hd", "virtio": "vd", "sata": "sd", "scsi": "sd", "xen": "xvd", "fdc": "fd", "usb": "sd"}


def _el(tag: str, text: Optional[str] = None, **attrs: Optional[str]) -> etree._Element:
    """A new element; attributes given as None are left out."""
    e = etree.Element(tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        e.text = text
    return e


def _sub(parent: etree._Element, tag: str, text: Optional[str] = None, **attrs: Optional[str]) -> etree._Element:
    e = _el(tag, text, **attrs)
    parent.append(e)
    return e


def _place(parent: etree._Element, new: list[etree._Element], tags: tuple[str, ...], order: tuple[str, ...]) -> None:
    """Replace the children of ``parent`` tagged ``tags`` by ``new``, keeping ``order`` between groups."""
    for child in list(parent):
        if child.tag in tags:
            parent.remove(child)
    rank = {t: i for i, t in enumerate(order)}
    mine = min(rank.get(t, len(order)) for t in tags)
    index = 0
    for i, child in enumerate(parent):
        if isinstance(child.tag, str) and rank.get(child.tag, len(order)) < mine:
            index = i + 1
    for offset, e in enumerate(new):
        parent.insert(index + offset, e)


def _next_target(prefix: str, used: set[str], start: int = 0) -> str:
    for n in list(range(start, 26)) + list(range(0, start)):
        name = prefix + chr(ord("a") + n)
        if name not in used:
            used.add(name)
            return name
    n = 26
    while True:
        name = prefix + "a" + chr(ord("a") + n - 26)
        if name not in used:
            used.add(name)
            return name
        n += 1


def disk_element(spec: DiskSpec, target: str, bus: str, xen: bool) -> etree._Element:
    """One ``<disk>`` for ``spec`` at ``target`` on ``bus`` (the wizard's disks and Add Hardware's)."""
    d = _el("disk", type="block" if spec.block else "file", device=spec.device)
    if spec.format:
        _sub(d, "driver", name="phy" if (spec.block and xen) else "qemu", type=spec.format)
    if spec.source:
        _sub(d, "source", **{("dev" if spec.block else "file"): spec.source})
    _sub(d, "target", dev=target, bus=bus)
    if spec.readonly or spec.device == "cdrom":
        _sub(d, "readonly")
    return d


def nic_element(n: NicSpec, mac: str) -> etree._Element:
    """One ``<interface>`` for ``n`` with MAC ``mac`` (the wizard's NICs and Add Hardware's)."""
    if n.mode not in NET_MODES:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown network mode '{n.mode}' "
                                                 f"(expected one of {', '.join(NET_MODES)})", _FROM)
    e = _el("interface", type=n.mode)
    _sub(e, "mac", address=mac)
    if n.mode == "network":
        _sub(e, "source", network=n.network)
    elif n.mode == "bridge":
        _sub(e, "source", bridge=n.bridge)
    elif n.mode in ("mcast", "server", "client"):
        _sub(e, "source", address=n.address or None, port=str(n.port) if n.port is not None else None)
    if n.target_dev and n.mode in ("network", "bridge", "ethernet"):
        _sub(e, "target", dev=n.target_dev)
    if n.script and n.mode in ("ethernet", "bridge"):
        _sub(e, "script", path=n.script)
    if n.model:
        _sub(e, "model", type=n.model)
    return e


class DomainBuilder:
    """A new guest's definition; every ``set_*`` call edits one section of the document."""

    def __init__(self, kind: GuestKind, name: str = "new-vm", *, memory_mib: int = 512, vcpus: int = 1,
                 arch: Optional[str] = None, machine: Optional[str] = None) -> None:
        self.kind = kind
        self.install = InstallSpec(method="kernel" if kind.pv else "cdrom")
        self.disks: list[DiskSpec] = []
        self.nics: list[NicSpec] = []
        self.vnc: Optional[VncSpec] = VncSpec()
        self.lifecycle = Lifecycle()
        self.arch = arch
        self.machine = machine
        self.emulator: Optional[str] = None
        self._auto_macs: list[str] = []
        root = _el("domain", type=kind.domain_type)
        _sub(root, "name", name)
        _sub(root, "memory", str(memory_mib), unit="MiB")
        _sub(root, "vcpu", str(vcpus))
        os_el = _sub(root, "os")
        _sub(os_el, "type", kind.os_type)
        _sub(root, "devices")
        self.defn: DomainDef = parse_domain(etree.tostring(root), hypervisor=kind.domain_type)
        self._edit(self._render_all)

    # -- plumbing -------------------------------------------------------------------
    def _edit(self, fn: Callable[[etree._Element], None]) -> None:
        """Apply ``fn`` to a copy of the tree; keep the result only if it validates."""
        root = deepcopy(self.defn.root)
        fn(root)
        etree.indent(root, space="  ")
        self.defn = DomainDef(root, hypervisor=self.kind.domain_type)

    def _devices(self, root: etree._Element) -> etree._Element:
        dev = root.find("devices")
        if dev is None:
            dev = _el("devices")
            _place(root, [dev], ("devices",), _TOP_ORDER)
        return dev

    def _render_all(self, root: etree._Element) -> None:
        root.set("type", self.kind.domain_type)
        self._render_os(root)
        self._render_features(root)
        self._render_lifecycle(root)
        self._render_disks(root)
        self._render_nics(root)
        self._render_chars(root)
        self._render_graphics(root)
        self._render_emulator(root)

    # -- whole-document operations --------------------------------------------------
    def xml(self, *, secure: bool = False) -> str:
        """The document (``secure=True`` leaves the VNC password out, for display)."""
        return self.defn.to_xml(secure=secure)

    @property
    def name(self) -> str:
        return self.defn.name

    def set_kind(self, kind: GuestKind) -> None:
        """Switch kind: domain type, OS type and every kind-dependent element follow."""
        old = self.kind
        self.kind = kind
        if kind.pv != old.pv:
            self.install = replace(self.install, method="kernel" if kind.pv else "cdrom")
        if kind.xen != old.xen:
            self._auto_macs = []  # Xen and QEMU use different MAC prefixes
            self.emulator = None
        try:
            self._edit(self._render_all)
        except DriverError:
            self.kind = old
            raise

    def set_name(self, name: str) -> None:
        DomainDef._check_name(name)
        self._edit(lambda root: setattr(root.find("name"), "text", name))

    def set_uuid(self, uuid: str) -> None:
        def fn(root: etree._Element) -> None:
            el = root.find("uuid")
            el.text = uuid.strip()
        self._edit(fn)

    def set_memory(self, mib: int) -> None:
        if mib < 1:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"memory must be at least 1 MiB, not {mib}", _FROM)

        def fn(root: etree._Element) -> None:
            for tag in ("memory", "currentMemory"):
                el = root.find(tag)
                el.text = str(int(mib) * 1024)
                el.set("unit", "KiB")
        self._edit(fn)

    def set_vcpus(self, n: int) -> None:
        if n < 1:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"a guest needs at least 1 vCPU, not {n}", _FROM)

        def fn(root: etree._Element) -> None:
            el = root.find("vcpu")
            el.text = str(int(n))
            el.attrib.pop("current", None)
        self._edit(fn)

    @staticmethod
    def _render_each(root: etree._Element, *renderers: Callable[[etree._Element], None]) -> None:
        for render in renderers:
            render(root)

    def set_platform(self, arch: Optional[str], machine: Optional[str], emulator: Optional[str] = None) -> None:
        self.arch, self.machine, self.emulator = arch or None, machine or None, emulator or None
        self._edit(lambda root: self._render_each(root, self._render_os, self._render_emulator))

    def set_install(self, spec: InstallSpec) -> None:
        self.install = spec
        self._edit(lambda root: self._render_each(root, self._render_os, self._render_disks))

    def set_storage(self, disks: list[DiskSpec]) -> None:
        self.disks = list(disks)
        self._edit(self._render_disks)

    def set_interfaces(self, nics: list[NicSpec]) -> None:
        self.nics = list(nics)
        self._edit(self._render_nics)

    def set_graphics(self, vnc: Optional[VncSpec]) -> None:
        self.vnc = vnc
        self._edit(self._render_graphics)

    def set_lifecycle(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self._edit(self._render_lifecycle)

    # -- sections -------------------------------------------------------------------
    def _render_os(self, root: etree._Element) -> None:
        k, ins = self.kind, self.install
        os_el = _el("os")
        t = _sub(os_el, "type", k.os_type)
        if self.arch:
            t.set("arch", self.arch)
        if self.machine and k.hvm:
            t.set("machine", self.machine)
        if k.hvm and ins.loader:
            _sub(os_el, "loader", ins.loader)
        if k.pv or ins.method == "kernel":
            if ins.kernel:
                _sub(os_el, "kernel", ins.kernel)
            if ins.initrd:
                _sub(os_el, "initrd", ins.initrd)
            if ins.root_dev:
                _sub(os_el, "root", ins.root_dev)
            if ins.cmdline:
                _sub(os_el, "cmdline", ins.cmdline)
        if k.hvm:
            boots = {"cdrom": ["cdrom", "hd"], "import": ["hd"], "network": ["network", "hd"],
                     "kernel": ["hd"]}.get(ins.method, ["hd"])
            for dev in boots:
                _sub(os_el, "boot", dev=dev)
        _place(root, [os_el], ("os",), _TOP_ORDER)

    def _render_features(self, root: etree._Element) -> None:
        k = self.kind
        names = [] if k.pv else (["pae", "acpi", "apic"] if k.xen else ["acpi", "apic"])
        new = []
        if names:
            f = _el("features")
            for n in names:
                _sub(f, n)
            new.append(f)
        _place(root, new, ("features",), _TOP_ORDER)

    def _render_lifecycle(self, root: etree._Element) -> None:
        lc = self.lifecycle
        new = [_el(tag, getattr(lc, tag)) for tag in ("on_poweroff", "on_reboot", "on_crash")]
        _place(root, new, ("on_poweroff", "on_reboot", "on_crash"), _TOP_ORDER)

    def _render_emulator(self, root: etree._Element) -> None:
        dev = self._devices(root)
        new = [_el("emulator", self.emulator)] if self.emulator and self.kind.hvm else []
        _place(dev, new, ("emulator",), _DEV_ORDER)

    def all_disks(self) -> list[DiskSpec]:
        """The install page's disks (import image, install ISO) followed by the storage page's."""
        ins = self.install
        out: list[DiskSpec] = []
        if self.kind.hvm and ins.method == "import" and ins.image:
            out.append(DiskSpec("disk", ins.image, ins.image_format or "raw", block=_is_block(ins.image)))
        out.extend(self.disks)
        if self.kind.hvm and ins.method == "cdrom" and ins.iso:
            out.append(DiskSpec("cdrom", ins.iso, "raw", readonly=True))
        return out

    def default_bus(self, device: str) -> str:
        k = self.kind
        if device == "floppy":
            return "fdc"
        if k.pv:
            return "xen"
        if device == "cdrom" or k.xen:
            return "ide"
        return "virtio"

    def _render_disks(self, root: etree._Element) -> None:
        dev = self._devices(root)
        used: set[str] = set()
        new = []
        for spec in self.all_disks():
            bus = spec.bus or self.default_bus(spec.device)
            if spec.device == "cdrom" and bus == "virtio":
                bus = "ide"
            if self.kind.pv and spec.device != "floppy":
                bus = "xen"
            prefix = _BUS_PREFIX.get(bus, "hd")
            start = 2 if (spec.device == "cdrom" and bus == "ide") else 0
            new.append(disk_element(spec, _next_target(prefix, used, start), bus, self.kind.xen))
        _place(dev, new, ("disk",), _DEV_ORDER)

    def _mac(self, i: int, spec: NicSpec) -> str:
        if spec.mac:
            return spec.mac.lower()
        while len(self._auto_macs) <= i:
            self._auto_macs.append(generate_mac(mac_prefix_for(self.kind.domain_type)))
        return self._auto_macs[i]

    def _render_nics(self, root: etree._Element) -> None:
        dev = self._devices(root)
        new = []
        for i, n in enumerate(self.nics):
            new.append(nic_element(n, self._mac(i, n)))
        _place(dev, new, ("interface",), _DEV_ORDER)

    def _render_chars(self, root: etree._Element) -> None:
        dev = self._devices(root)
        new = []
        if self.kind.hvm:
            s = _el("serial", type="pty")
            _sub(s, "target", port="0")
            new.append(s)
            c = _el("console", type="pty")
            _sub(c, "target", type="serial", port="0")
            new.append(c)
        else:
            c = _el("console", type="pty")
            _sub(c, "target", type="xen", port="0")
            new.append(c)
        _place(dev, new, ("serial", "console"), _DEV_ORDER)

    def _render_graphics(self, root: etree._Element) -> None:
        dev = self._devices(root)
        new = []
        v = self.vnc
        if v is not None:
            auto = v.port is None or v.port < 0
            g = _el("graphics", type="vnc", port="-1" if auto else str(v.port), autoport="yes" if auto else "no",
                    listen=v.listen or None, passwd=v.passwd or None)
            if v.listen:
                _sub(g, "listen", type="address", address=v.listen)
            new.append(g)
        _place(dev, new, ("graphics",), _DEV_ORDER)


def _is_block(path: str) -> bool:
    try:
        import stat
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


__all__ = [
    "GuestKind", "KINDS", "XEN_PV", "XEN_HVM", "KVM", "QEMU", "KindOption", "kind_options", "kind_of",
    "find_guest", "machines_for", "default_loader", "emulator_for", "is_test_connection",
    "InstallSpec", "DiskSpec", "NicSpec", "VncSpec", "Lifecycle", "DomainBuilder", "disk_element", "nic_element",
    "INSTALL_METHODS", "NET_MODES", "DISK_FORMATS", "NIC_MODELS_HVM", "NIC_MODELS_XEN_HVM",
]
