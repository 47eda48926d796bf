"""Build and edit a new guest's domain XML, one section at a time (the New-VM wizard's model; no Qt).

The document is the state: :class:`DomainBuilder` holds a :class:`DomainDef`
and each ``set_*`` method rewrites the elements of one section (install/OS,
platform, memory, storage, network, display, lifecycle).  An edit is made on a
copy of the tree and re-validated by :func:`parse_domain` before it replaces
the current document, so a refused edit (``DriverError``) loses nothing.

Guest kinds (:data:`KINDS`: Xen PV, Xen HVM, KVM and QEMU) and what a connection's capabilities offer
for them live in :mod:`.guest_kinds` (re-exported here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from .domain import DomainDef, Graphics, generate_mac, mac_prefix_for, parse_domain
from .domain_devices import Disk, Interface
from .guest_kinds import (
    KINDS,
    KVM,
    QEMU,
    XEN_HVM,
    XEN_PV,
    GuestKind,
    KindOption,
    default_loader,
    emulator_for,
    find_guest,
    is_test_connection,
    kind_of,
    kind_options,
    machines_for,
)
from .props import NodeList

_FROM = C.VIR_FROM_DOMAIN


# ----------------------------------------------------------------------------- section specs

INSTALL_METHODS = ("cdrom", "import", "network", "kernel", "url")  # HVM kinds; PV always boots a kernel
NET_MODES = ("user", "network", "bridge", "ethernet", "mcast", "server", "client")
DISK_FORMATS = ("qcow2", "raw")
NIC_MODELS_HVM = ("virtio", "e1000", "rtl8139", "ne2k_pci", "pcnet")
NIC_MODELS_XEN_HVM = ("e1000", "rtl8139")


@dataclass
class InstallSpec:
    """Page 2: how the guest boots the first time."""

    method: str = "cdrom"  # cdrom | import | network | kernel | url (HVM); PV ignores it (kernel boot)
    iso: str = ""
    image: str = ""  # import: the existing disk image
    image_format: str = "raw"
    kernel: str = ""
    initrd: str = ""
    cmdline: str = ""
    root_dev: str = ""
    loader: str = ""  # HVM firmware (Xen: hvmloader; QEMU/KVM: -bios)
    firmware: str = ""  # HVM <os firmware='efi|bios'> (autoselection); '' leaves it out
    url: str = ""  # url: the install tree (kernel/initrd are the fetched files; osinfo/netinstall.py)


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

_BUS_PREFIX = {"ide": "hd", "virtio": "vd", "sata": "sd", "scsi": "sd", "xen": "xvd", "fdc": "fd", "usb": "sd"}
#: the skeleton every new guest starts from; every field is then written through DomainDef's properties
_SKELETON = "<domain type='{type}'><name>new-vm</name><memory>1</memory><os><type>{os}</type></os><devices/></domain>"


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


def _clear(nodes: NodeList[Any]) -> None:
    for node in list(nodes):
        nodes.remove(node)


def disk_element(spec: DiskSpec, target: str, bus: str, xen: bool) -> etree._Element:
    """One ``<disk>`` for ``spec`` at ``target`` on ``bus`` (the wizard's disks and Add Hardware's)."""
    disk = Disk(etree.Element("disk", type="block" if spec.block else "file", device=spec.device))
    if spec.format:
        disk.driver_name = "phy" if (spec.block and xen) else "qemu"
        disk.format = spec.format
    if spec.source:
        disk.source = spec.source
    disk.target = target
    disk.bus = bus
    disk.readonly = spec.readonly or spec.device == "cdrom"
    return disk.element


def check_nic_mode(n: NicSpec) -> None:
    if n.mode not in NET_MODES:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown network mode '{n.mode}' "
                                                 f"(expected one of {', '.join(NET_MODES)})", _FROM)


def nic_element(n: NicSpec, mac: str) -> etree._Element:
    """One ``<interface>`` for ``n`` with MAC ``mac`` (the wizard's NICs and Add Hardware's)."""
    check_nic_mode(n)
    nic = Interface(etree.Element("interface", type=n.mode))
    nic.mac = mac
    if n.mode == "network":
        nic.network = n.network
    elif n.mode == "bridge":
        nic.bridge = n.bridge
    elif n.mode in ("mcast", "server", "client"):
        nic.source_address = n.address or None
        nic.source_port = n.port
    if n.target_dev and n.mode in ("network", "bridge", "ethernet"):
        nic.target_dev = n.target_dev
    if n.script and n.mode in ("ethernet", "bridge"):
        nic.script = n.script
    if n.model:
        nic.model = n.model
    return nic.element


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
        self.defn: DomainDef = parse_domain(_SKELETON.format(type=kind.domain_type, os=kind.os_type),
                                            hypervisor=kind.domain_type)
        self.set_name(name)
        self.set_memory(memory_mib)
        self.set_vcpus(vcpus)
        self._edit(self._render_all)

    # -- plumbing -------------------------------------------------------------------
    def _edit(self, fn: Callable[[DomainDef], None]) -> None:
        """Apply ``fn`` to a copy of the definition; keep the result only if it validates."""
        d = self.defn.copy()
        fn(d)
        d.refresh()
        self.defn = d

    def _render_all(self, d: DomainDef) -> None:
        d.type = self.kind.domain_type
        self._render_each(d, self._render_os, self._render_features, self._render_lifecycle, self._render_disks,
                          self._render_nics, self._render_chars, self._render_graphics, self._render_emulator)

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
        self._edit(lambda d: setattr(d, "name", name))

    def set_uuid(self, uuid: str) -> None:
        self._edit(lambda d: setattr(d, "uuid", uuid.strip()))

    def set_memory(self, mib: int) -> None:
        if mib < 1:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"memory must be at least 1 MiB, not {mib}", _FROM)

        def fn(d: DomainDef) -> None:
            d.memory_kib = int(mib) * 1024
            d.current_memory_kib = int(mib) * 1024
        self._edit(fn)

    def set_vcpus(self, n: int) -> None:
        if n < 1:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"a guest needs at least 1 vCPU, not {n}", _FROM)

        def fn(d: DomainDef) -> None:
            d.vcpus = int(n)
            d.vcpus_current = int(n)
        self._edit(fn)

    @staticmethod
    def _render_each(d: DomainDef, *renderers: Callable[[DomainDef], None]) -> None:
        for render in renderers:
            render(d)

    def set_platform(self, arch: Optional[str], machine: Optional[str], emulator: Optional[str] = None) -> None:
        self.arch, self.machine, self.emulator = arch or None, machine or None, emulator or None
        self._edit(lambda d: self._render_each(d, self._render_os, self._render_emulator))

    def set_install(self, spec: InstallSpec) -> None:
        self.install = spec
        self._edit(lambda d: self._render_each(d, self._render_os, self._render_disks))

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
    def _render_os(self, d: DomainDef) -> None:
        k, ins = self.kind, self.install
        d.os_type = k.os_type
        d.arch = d.machine = None  # rewritten in this order: arch, then machine
        d.arch = self.arch or None
        d.machine = self.machine if self.machine and k.hvm else None
        d.loader = ins.loader if k.hvm and ins.loader else None
        d.firmware = ins.firmware if k.hvm and ins.firmware else None
        kernel_boot = k.pv or ins.method in ("kernel", "url")
        d.kernel = ins.kernel if kernel_boot and ins.kernel else None
        d.initrd = ins.initrd if kernel_boot and ins.initrd else None
        d.cmdline = ins.cmdline if kernel_boot and ins.cmdline else None
        d.root_dev = ins.root_dev if kernel_boot and ins.root_dev else None
        boots: list[str] = []
        if k.hvm:
            boots = {"cdrom": ["cdrom", "hd"], "import": ["hd"], "network": ["network", "hd"],
                     "kernel": ["hd"], "url": ["hd"]}.get(ins.method, ["hd"])
        d.boot_devs = boots

    def _render_features(self, d: DomainDef) -> None:
        k = self.kind
        d.features = set()  # rebuilt in the kind's order
        d.features = [] if k.pv else (["pae", "acpi", "apic"] if k.xen else ["acpi", "apic"])

    def _render_lifecycle(self, d: DomainDef) -> None:
        lc = self.lifecycle
        d.on_poweroff, d.on_reboot, d.on_crash = lc.on_poweroff, lc.on_reboot, lc.on_crash

    def _render_emulator(self, d: DomainDef) -> None:
        d.emulator = self.emulator if self.emulator and self.kind.hvm else None

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

    def _render_disks(self, d: DomainDef) -> None:
        _clear(d.disks)
        used: set[str] = set()
        for spec in self.all_disks():
            bus = spec.bus or self.default_bus(spec.device)
            if spec.device == "cdrom" and bus == "virtio":
                bus = "ide"
            if self.kind.pv and spec.device != "floppy":
                bus = "xen"
            prefix = _BUS_PREFIX.get(bus, "hd")
            start = 2 if (spec.device == "cdrom" and bus == "ide") else 0
            d.disks.append(disk_element(spec, _next_target(prefix, used, start), bus, self.kind.xen))

    def _mac(self, i: int, spec: NicSpec) -> str:
        if spec.mac:
            return spec.mac.lower()
        while len(self._auto_macs) <= i:
            self._auto_macs.append(generate_mac(mac_prefix_for(self.kind.domain_type)))
        return self._auto_macs[i]

    def _render_nics(self, d: DomainDef) -> None:
        for n in self.nics:
            check_nic_mode(n)  # all of them before anything changes
        _clear(d.interfaces)
        for i, n in enumerate(self.nics):
            d.interfaces.append(nic_element(n, self._mac(i, n)))

    def _render_chars(self, d: DomainDef) -> None:
        _clear(d.serials)
        _clear(d.consoles)
        if self.kind.hvm:
            serial = d.serials.append(etree.Element("serial", type="pty"))
            serial.target_port = 0
        console = d.consoles.append(etree.Element("console", type="pty"))
        console.target_type = "serial" if self.kind.hvm else "xen"
        console.target_port = 0

    def _render_graphics(self, d: DomainDef) -> None:
        _clear(d.graphics)
        v = self.vnc
        if v is None:
            return
        auto = v.port is None or v.port < 0
        g = d.graphics.append(Graphics.new(d, "vnc", -1 if auto else v.port, auto))
        g.listen_attr = v.listen or None
        g.passwd = v.passwd or None
        if v.listen:
            g.listen_address = v.listen


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
