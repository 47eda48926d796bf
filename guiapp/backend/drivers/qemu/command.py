"""Domain XML -> the argv of ``qemu-system-<arch>`` (a list, never a shell string).

:func:`build_command` is pure apart from checking that files exist: the GUI's
preview and the tests get the exact argv without starting anything.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Optional, Sequence

from lxml import etree

from ... import constants as C
from ...errors import DriverError
from ...xml.domain_devices import CharDev
from . import optcheck
from .chardev import host_side, serial_device
from .graphics import vnc_options
from .hostconf import DEFAULT as DEFAULT_HOST
from .hostconf import QemuHostConfig
from .nic import TapPlan, nic_options
from .optcheck import qemu_escape

E = C.VIR_FROM_QEMU

#: ``<os><type arch>`` -> the qemu-system binary suffix.
ARCH_BINARY = {"i686": "i386", "i586": "i386", "i486": "i386", "i386": "i386", "x86_64": "x86_64",
               "aarch64": "aarch64", "armv7l": "arm", "ppc64": "ppc64", "ppc64le": "ppc64", "riscv64": "riscv64",
               "s390x": "s390x", "mips": "mips", "mipsel": "mipsel", "sparc": "sparc", "sparc64": "sparc64"}

#: ``<controller type='usb' model>`` -> QEMU device (libvirt's qemuControllerModelUSB names)
USB_MODELS = {"piix3-uhci": "piix3-usb-uhci", "piix4-uhci": "piix4-usb-uhci", "qemu-xhci": "qemu-xhci",
              "nec-xhci": "nec-usb-xhci", "ich9-ehci1": "ich9-usb-ehci1"}

_BOOT_LETTER = {"hd": "c", "cdrom": "d", "fd": "a", "network": "n"}


@dataclass(frozen=True)
class RunPaths:
    """Runtime files QEMU is told about."""

    qmp: str
    qmp_cmd: str
    pidfile: str
    console_log: str
    vnc_socket: str
    qmp_stats: str = ""  # a third monitor for a process that does not own the guest (drivers/qemu/monitors.py)
    runtime_dir: str = ""  # the driver's runtime directory: a VNC socket of the XML inside it is a stale one


@dataclass
class Command:
    argv: list[str]
    emulator: str
    accel: str
    taps: list[TapPlan] = field(default_factory=list)
    vnc_password: Optional[str] = None
    balloon: bool = True
    no_shutdown: bool = True  # started with -no-shutdown (QEMU stays after a guest power-off)


def _arch_binary(defn: Any) -> tuple[str, str]:
    """(arch, qemu-system-* suffix) of a domain; the arch names a binary, so only known ones pass."""
    arch = defn.arch or os.uname().machine
    if arch not in ARCH_BINARY:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"architecture {arch!r} is not supported; use one of {', '.join(sorted(ARCH_BINARY))}", E)
    return arch, ARCH_BINARY[arch]


def find_emulator(defn: Any) -> str:
    """The ``<emulator>`` of the XML (must exist), else ``qemu-system-<arch>`` from PATH."""
    if defn.emulator:
        path = defn.emulator
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"emulator '{path}' of domain '{defn.name}' is not an executable file; "
                              f"fix <devices><emulator> or remove it to use qemu-system-<arch> from PATH", E)
        return path
    arch, suffix = _arch_binary(defn)
    found = shutil.which(f"qemu-system-{suffix}")
    if found is None and suffix == "i386":
        found = shutil.which("qemu-system-x86_64")
    if found is None:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"no emulator for architecture '{arch}': qemu-system-{suffix} is not on PATH; "
                          f"install it or set <devices><emulator>", E)
    return found


def _require_file(path: Optional[str], what: str, code: int, name: str) -> None:
    if path and not os.path.exists(path):
        raise DriverError(code, f"{what} '{path}' of domain '{name}' does not exist; fix the path in the XML", E)


def _target_index(target: str) -> int:
    """hda -> 0, hdc -> 2, vdb -> 1, sdaa -> 26 (libvirt's disk name numbering)."""
    letters = target.lstrip("0123456789")
    for prefix in ("xvd", "hd", "sd", "vd", "fd"):
        if letters.startswith(prefix):
            letters = letters[len(prefix):]
            break
    idx = 0
    for ch in letters:
        if not "a" <= ch <= "z":
            raise ValueError(target)
        idx = idx * 26 + (ord(ch) - 96)
    return idx - 1


def disk_bus(disk: Any) -> str:
    """``<target bus>``, else from the name: hd -> ide, sd -> scsi, vd -> virtio, fd -> fdc."""
    if disk.bus:
        return disk.bus
    t = disk.target or ""
    if t.startswith("vd"):
        return "virtio"
    if t.startswith("sd"):
        return "scsi"
    if t.startswith("fd") or disk.device == "floppy":
        return "fdc"
    return "ide"


class _Builder:
    def __init__(self, defn: Any, paths: RunPaths, accel: str, resolve_bridge: Callable[[str], str],
                 tap_name: Callable[[int], str], check_files: bool,
                 bridge_helper: Optional[Callable[[str, str], str]] = None,
                 machines: Sequence[str] = (), host: QemuHostConfig = DEFAULT_HOST) -> None:
        self.d = defn
        self.host = host
        self.machines = machines
        self.paths = paths
        self.accel = accel
        self.resolve_bridge = resolve_bridge
        self.bridge_helper = bridge_helper
        self.tap_name = tap_name
        self.check_files = check_files
        self.argv: list[str] = []
        self.taps: list[TapPlan] = []
        self.controllers: set[str] = set()
        self.device_boot = False

    def add(self, *args: str) -> None:
        self.argv.extend(args)

    def machine(self) -> None:
        d = self.d
        machine = optcheck.machine(d.machine or "pc", self.machines)
        opts = [machine, f"accel={self.accel}"]
        if "acpi" not in d.features:
            opts.append("acpi=off")
        self.add("-machine", ",".join(opts))
        mem = d.memory_kib
        self.add("-m", f"size={mem}k")
        cur = d.vcpus_current or d.vcpus
        self.add("-smp", f"{cur},maxcpus={d.vcpus},sockets={d.vcpus},cores=1,threads=1")
        self.add("-uuid", d.uuid_str)
        self.add("-name", f"guest={qemu_escape(d.name)},debug-threads=on")

    def os_boot(self) -> None:
        d = self.d
        for what, path in (("kernel", d.kernel), ("initrd", d.initrd), ("loader", d.loader)):
            if path:
                optcheck.abs_path(path, f"<os><{what}>")
        if d.kernel:
            if self.check_files:
                _require_file(d.kernel, "kernel", C.VIR_ERR_NO_KERNEL, d.name)
                _require_file(d.initrd, "initrd", C.VIR_ERR_NO_KERNEL, d.name)
            self.add("-kernel", d.kernel)
            if d.initrd:
                self.add("-initrd", d.initrd)
            cmdline = " ".join(p for p in ((f"root={d.root_dev}" if d.root_dev else ""), (d.cmdline or "").strip())
                               if p)
            if cmdline:
                self.add("-append", cmdline)
        if d.loader:
            if self.check_files:
                _require_file(d.loader, "loader", C.VIR_ERR_CONFIG_UNSUPPORTED, d.name)
            self.add("-bios", d.loader)
        devices_have_boot = any(getattr(x, "boot_order", None) for x in d.disks)
        if d.boot_devs and not devices_have_boot and not d.kernel:
            order = "".join(_BOOT_LETTER[b] for b in d.boot_devs if b in _BOOT_LETTER)
            if order:
                self.add("-boot", f"order={order}")

    def _controller(self, bus: str) -> str:
        """Add the controller a bus needs (once) and return its id prefix."""
        if bus == "scsi" and "scsi" not in self.controllers:
            self.controllers.add("scsi")
            self.add("-device", "virtio-scsi-pci,id=scsi0")
        if bus == "sata" and "sata" not in self.controllers:
            self.controllers.add("sata")
            if not (self.d.machine or "pc").startswith(("q35", "pc-q35")):
                self.add("-device", "ahci,id=sata0")
        return bus

    def usb_controller(self) -> None:
        """``<controller type='usb' index='0'>`` (libvirt's inputs spell it out) -> its ``-device``; ``model='none'``
        or no element: none (a USB disk still adds one). Models come from a fixed table (nothing of the XML's
        text reaches argv); another model is refused naming the element."""
        ctls = [c for c in self.d.root.findall("devices/controller")
                if c.get("type") == "usb" and c.get("index", "0") == "0"]
        machine = self.d.machine or ""
        if not ctls and (machine.startswith(("pc", "q35")) or not machine):
            ctls = [etree.Element("controller", type="usb")]  # libvirt adds one on x86 pc/q35 machines
        for ctl in ctls:
            model = ctl.get("model")
            if model == "none":
                return
            q35 = (self.d.machine or "").startswith(("q35", "pc-q35"))
            device = USB_MODELS.get(model or ("qemu-xhci" if q35 else "piix3-uhci"))
            if device is None:
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"<controller type='usb' model='{model}'> is not supported; use one of "
                                  f"{', '.join(sorted(USB_MODELS))} or none", E)
            self.controllers.add("usb")
            self.add("-device", f"{device},id=usb")
            return

    def disks(self) -> None:
        d = self.d
        q35 = (d.machine or "").startswith(("q35", "pc-q35"))
        for disk in d.disks:
            target = disk.target or ""
            if not target:
                raise DriverError(C.VIR_ERR_NO_TARGET, f"a disk of domain '{d.name}' has no <target dev=...>", E)
            try:
                idx = _target_index(target)
            except ValueError:
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"disk target '{target}' is not a disk name such as hda, vdb or sdc", E) from None
            bus = disk_bus(disk)
            if bus == "ide" and q35:
                bus = "sata"
            if disk.type not in (None, "file", "block"):
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"disk type '{disk.type}' of {target} is not supported; use 'file' or 'block'", E)
            if disk.source:
                optcheck.abs_path(disk.source, f"<source> of disk {target}")
            if disk.source and self.check_files:
                _require_file(disk.source, f"source of disk {target}", C.VIR_ERR_NO_SOURCE, d.name)
            if not disk.source and disk.device == "disk":
                raise DriverError(C.VIR_ERR_NO_SOURCE, f"disk {target} of domain '{d.name}' has no <source>", E)
            drive_id = f"drive-{target}"
            dopts = ["if=none", f"id={drive_id}"]
            if disk.source:
                dopts.insert(0, f"file={qemu_escape(disk.source)}")
                dopts.append(f"format={optcheck.disk_format(disk.format or 'raw', target)}")
            readonly = disk.readonly or disk.device == "cdrom"
            if readonly:
                dopts.append("readonly=on")
            if disk.device == "cdrom":
                dopts.append("media=cdrom")
            self.add("-drive", ",".join(dopts))
            cd = disk.device == "cdrom"
            boot = f",bootindex={disk.boot_order}" if getattr(disk, "boot_order", None) else ""
            if bus == "virtio":
                if cd:
                    raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"cdrom {target} cannot be on the virtio bus", E)
                dev = f"virtio-blk-pci,drive={drive_id},id={target}"
            elif bus == "ide":
                if idx > 3:
                    raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                      f"IDE has 4 units (hda..hdd); {target} does not fit, use virtio or sata", E)
                dev = f"{'ide-cd' if cd else 'ide-hd'},bus=ide.{idx // 2},unit={idx % 2},drive={drive_id},id={target}"
            elif bus == "sata":
                self._controller("sata")
                prefix = "ide" if q35 else "sata0"
                if idx > 5:
                    raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"SATA has 6 ports; {target} does not fit", E)
                dev = f"{'ide-cd' if cd else 'ide-hd'},bus={prefix}.{idx},drive={drive_id},id={target}"
            elif bus == "scsi":
                self._controller("scsi")
                dev = f"{'scsi-cd' if cd else 'scsi-hd'},bus=scsi0.0,channel=0,scsi-id=0,lun={idx}," \
                      f"drive={drive_id},id={target}"
            elif bus == "usb":  # usb-storage on the guest's USB controller (added once)
                if "usb" not in self.controllers:
                    self.controllers.add("usb")
                    self.add("-device", "qemu-xhci,id=usb" if q35 else "piix3-usb-uhci,id=usb")
                removable_attr = disk.element.find("target").get("removable", "off")
                if removable_attr not in ("on", "off"):
                    raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                      f"<target removable='{removable_attr}'> of disk {target}: use on or off", E)
                removable = removable_attr == "on"
                dev = f"usb-storage,bus=usb.0,drive={drive_id},id={target}{',removable=on' if removable else ''}"
            elif bus == "fdc":
                if idx > 1:
                    raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"the floppy controller has fda and fdb only, "
                                                                    f"not {target}", E)
                dev = f"floppy,unit={idx},drive={drive_id},id={target}"
            else:
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"<target bus='{bus}'> of disk {target} is not supported; use ide, sata, scsi, "
                                  f"virtio, usb or fdc", E)
            self.add("-device", dev + boot)

    def nics(self) -> None:
        for i, iface in enumerate(self.d.interfaces):
            argv, tap = nic_options(self.d, iface, i, resolve_bridge=self.resolve_bridge,
                                    bridge_helper=self.bridge_helper, tap_name=self.tap_name,
                                    check_files=self.check_files)
            if tap is not None:
                self.taps.append(tap)
            self.add(*argv)

    def chardevs(self) -> None:
        d = self.d
        serials = list(d.serials) or [c for c in d.consoles[:1] if c.target_type != "virtio"]
        for i, ch in enumerate(serials):
            cid = f"charserial{i}"
            log = f",logfile={qemu_escape(self.paths.console_log)},logappend=on" if i == 0 else ""
            self._chardev(ch, cid, f"{ch.kind} {i}", log)
            self.add("-device", serial_device(ch, cid, i))
        virtio = [(i, c) for i, c in enumerate(d.consoles) if c.target_type == "virtio"]
        if virtio:  # libvirt: one virtio-serial bus, a virtconsole on it per console
            self.add("-device", "virtio-serial-pci,id=virtio-serial0")
        for i, ch in virtio:
            cid = f"charconsole{i}"
            log = f",logfile={qemu_escape(self.paths.console_log)},logappend=on" if not serials and i == 0 else ""
            self._chardev(ch, cid, f"{ch.kind} {i}", log)
            self.add("-device", f"virtconsole,chardev={cid},id=console{i}")
        for i, el in enumerate(d.root.findall("devices/parallel")):  # libvirt: isa-parallel on x86
            cid = f"charparallel{i}"
            self._chardev(CharDev(el), cid, f"parallel {i}", "")
            self.add("-device", f"isa-parallel,chardev={cid},id=parallel{i}")

    def _chardev(self, ch: Any, cid: str, what: str, log: str) -> None:
        objects, value = host_side(ch, cid, what, log, self.host, self.check_files)
        self.add(*objects)
        self.add("-chardev", value)

    def graphics(self) -> Optional[str]:
        plan = vnc_options(self.d.graphics, self.paths.vnc_socket, self.paths.runtime_dir, self.host,
                           self.check_files)
        self.add(*plan.argv)
        return plan.password

    def clock(self) -> None:
        """``<clock offset='localtime'>`` -> ``-rtc base=localtime``; ``offset='absolute' start='SECONDS'`` ->
        ``-rtc base=<UTC ISO time>`` (libvirt's mapping); utc is QEMU's default."""
        clock = self.d.root.find("clock")
        offset = clock.get("offset", "utc") if clock is not None else "utc"
        if offset == "localtime":
            self.add("-rtc", "base=localtime")
        elif offset == "absolute":
            start = clock.get("start", "") if clock is not None else ""
            try:
                when = datetime.fromtimestamp(int(start), UTC) if start.isdigit() else None
            except (OverflowError, ValueError, OSError):
                when = None
            if when is None:
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"<clock offset='absolute' start='{start}'>: start must be seconds since "
                                  f"1970-01-01 UTC up to 253402300799 (9999-12-31T23:59:59)", E)
            self.add("-rtc", f"base={when.strftime('%Y-%m-%dT%H:%M:%S')}")
        elif offset != "utc":
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"<clock offset='{offset}'> is not supported by this QEMU driver: use "
                              f"offset='utc', 'localtime' or 'absolute'", E)

    def build(self, emulator: str, incoming: Optional[int]) -> Command:
        d = self.d
        self.add(emulator)
        self.machine()
        self.add("-nodefaults", "-no-user-config")
        self.clock()
        self.os_boot()
        self.usb_controller()
        self.disks()
        self.nics()
        self.chardevs()
        password = self.graphics()
        balloon = True
        mb = d.root.find("devices/memballoon")
        if mb is not None and mb.get("model") == "none":
            balloon = False
        if balloon:
            self.add("-device", "virtio-balloon-pci,id=balloon0")
        if d.root.find("devices/panic") is not None:
            self.add("-device", "pvpanic")
        self.add("-action", "panic=pause")
        # a guest power-off ends QEMU by itself unless the driver must act on it (restart, preserve)
        no_shutdown = d.on_poweroff not in ("destroy", "coredump-destroy")
        if no_shutdown:
            self.add("-no-shutdown")
        if d.on_reboot != "restart":
            self.add("-no-reboot")
        # -chardev + -mon rather than -qmp unix:PATH, whose path QEMU splits at an '=' (a domain named a=b)
        for n, path in enumerate(p for p in (self.paths.qmp, self.paths.qmp_cmd, self.paths.qmp_stats) if p):
            self.add("-chardev", f"socket,id=qmp{n},path={qemu_escape(path)},server=on,wait=off")
            self.add("-mon", f"chardev=qmp{n},mode=control")
        self.add("-pidfile", self.paths.pidfile, "-daemonize", "-S")
        if incoming is not None:
            self.add("-incoming", f"fd:{incoming}")
        return Command(self.argv, emulator, self.accel, self.taps, password, balloon, no_shutdown)


def build_command(defn: Any, paths: RunPaths, *, kvm_usable: bool,
                  resolve_bridge: Callable[[str], str] = lambda n: "virbr0" if n == "default" else f"virbr-{n}",
                  tap_name: Callable[[int], str] = lambda i: f"vnet{i}", check_files: bool = True,
                  incoming: Optional[int] = None,
                  bridge_helper: Optional[Callable[[str, str], str]] = None,
                  machines: Optional[Callable[[str], Sequence[str]]] = None,
                  host: QemuHostConfig = DEFAULT_HOST) -> Command:
    """The QEMU argv (and tap plan) for ``defn``; raises DriverError with what to fix.

    QEMU always starts stopped (``-S``, ``-daemonize``): the driver connects to QMP,
    sets things up and continues it.  ``incoming``: an fd to restore a saved state from.
    ``bridge_helper(bridge, what)``: for processes that cannot create taps, the path of
    qemu-bridge-helper to attach ``network``/``bridge`` interfaces with (or it raises);
    ``what`` is ``network:NAME`` or ``bridge:NAME``.  ``machines(emulator)``: the machine types the
    emulator has (``<type machine>`` must be one of them; empty: only its syntax is checked).
    ``host``: the driver's host settings (:mod:`.hostconf`: VNC/chardev TLS and SASL, VNC listener defaults).
    Every XML value is checked or escaped here (:mod:`.optcheck`): none adds a key or option to QEMU's.
    """
    if defn.type not in ("qemu", "kvm"):
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"domain type '{defn.type}' cannot run on QEMU; use type='qemu' or type='kvm'", E)
    if defn.os_type != "hvm":
        raise DriverError(C.VIR_ERR_OS_TYPE,
                          f"'{defn.os_type}': QEMU runs only <os><type>hvm</type></os> guests", E)
    if defn.type == "kvm" and not kvm_usable:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          "domain type 'kvm' needs a usable /dev/kvm on this host (none here); "
                          "use type='qemu' to run the guest with TCG emulation", E)
    if check_files:
        emulator = find_emulator(defn)
    else:
        emulator = defn.emulator or f"qemu-system-{_arch_binary(defn)[1]}"
    accel = "kvm" if defn.type == "kvm" else "tcg"
    known = machines(emulator) if machines is not None else ()
    return _Builder(defn, paths, accel, resolve_bridge, tap_name, check_files,
                    bridge_helper, known, host).build(emulator, incoming)
