"""The guest kinds the New-VM wizard builds (Xen PV, Xen HVM, KVM, QEMU) and what a connection's
capabilities offer for each: availability with the reason when not, architectures, machine types,
firmware and emulator (no Qt).

A test-driver connection emulates every kind (the test driver accepts any domain type).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .capabilities import Capabilities, Guest


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
