"""Per-OS new-VM defaults (memory, disk, disk bus, NIC model, firmware) from osinfo-db's data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from .db import OsEntry, OsInfoDb, Resources

MiB = 1024 * 1024
GiB = 1024 * MiB

# PCI ids osinfo-db uses for the devices a new VM gets (vendor/device).
VIRTIO_BLOCK = ("http://pcisig.com/pci/1af4/1001", "http://pcisig.com/pci/1af4/1042")
VIRTIO_NET = ("http://pcisig.com/pci/1af4/1000", "http://pcisig.com/pci/1af4/1041")
AHCI = ("http://pcisig.com/pci/8086/2922", "http://qemu.org/chipset/x86/q35")  # ich9 AHCI, or q35 (has it)
NICS = (("e1000e", ("http://pcisig.com/pci/8086/10d3",)), ("e1000", ("http://pcisig.com/pci/8086/100e",)),
        ("rtl8139", ("http://pcisig.com/pci/10ec/8139",)))

#: UEFI firmware images QEMU can load with ``-bios`` (Debian's ``ovmf`` package), first found wins.
OVMF_FILES = ("/usr/share/ovmf/OVMF.fd", "/usr/share/qemu/OVMF.fd")

#: Used when neither the OS nor its ancestors recommend anything.
FALLBACK_MEMORY_MIB = 1024
FALLBACK_DISK_GIB = 10


@dataclass(frozen=True)
class OsDefaults:
    """What the wizard pre-fills for an OS, and the reason shown next to it."""

    os_id: str
    memory_mib: int
    disk_gib: int
    vcpus: int
    disk_bus: str  # virtio | sata | ide
    nic_model: str  # virtio | e1000e | e1000 | rtl8139
    firmware: str  # bios | efi
    efi_supported: bool


def all_devices(db: OsInfoDb, entry: OsEntry) -> set[str]:
    """Supported device ids of ``entry`` with those inherited (derives-from, clones); nearer entries win."""
    verdict: dict[str, bool] = {}
    for anc in db.ancestors(entry):
        for dev, ok in anc.devices.items():
            verdict.setdefault(dev, ok)
    return {d for d, ok in verdict.items() if ok}


def _resources(db: OsInfoDb, entry: OsEntry, arch: str) -> tuple[Resources, Resources]:
    """(recommended, minimum) for ``arch`` from the nearest entry that has any."""
    for anc in db.ancestors(entry):
        rec = anc.recommended.get(arch) or anc.recommended.get("all")
        mini = anc.minimum.get(arch) or anc.minimum.get("all")
        if rec or mini:
            return rec or Resources(), mini or Resources()
    return Resources(), Resources()


def _firmware(entry: OsEntry, arch: str) -> tuple[str, bool]:
    efi = entry.firmware.get((arch, "efi"), False)
    bios_ok = entry.firmware.get((arch, "bios"), True)
    return ("efi" if efi and not bios_ok else "bios"), efi


def os_defaults(db: OsInfoDb, key: str, arch: str = "x86_64") -> OsDefaults:
    """Defaults for the OS with id or short id ``key`` on ``arch``."""
    entry = db.get(key)
    rec, mini = _resources(db, entry, arch)
    ram = rec.ram or mini.ram
    storage = rec.storage or mini.storage
    devs = all_devices(db, entry)
    if any(d in devs for d in VIRTIO_BLOCK):
        bus = "virtio"
    elif any(d in devs for d in AHCI):
        bus = "sata"
    else:
        bus = "ide"
    nic = "virtio" if any(d in devs for d in VIRTIO_NET) else \
        next((model for model, ids in NICS if any(d in devs for d in ids)), "rtl8139")
    fw, efi = _firmware(entry, arch)
    return OsDefaults(os_id=entry.id, memory_mib=max(1, ram // MiB) if ram else FALLBACK_MEMORY_MIB,
                      disk_gib=max(1, -(-storage // GiB)) if storage else FALLBACK_DISK_GIB,
                      vcpus=max(1, rec.n_cpus or mini.n_cpus or 1),
                      disk_bus=bus, nic_model=nic, firmware=fw, efi_supported=efi)


def describe(d: OsDefaults) -> str:
    """One line for the wizard: what osinfo-db recommends."""
    fw = d.firmware.upper() + (" (UEFI available)" if d.efi_supported and d.firmware == "bios" else "")
    return (f"{d.memory_mib} MiB memory, {d.disk_gib} GiB disk on {d.disk_bus}, {d.nic_model} network, "
            f"{fw} firmware")


def optional_defaults(db: Optional[OsInfoDb], key: str, arch: str = "x86_64") -> Optional[OsDefaults]:
    """:func:`os_defaults`, or ``None`` without a database or key."""
    return os_defaults(db, key, arch) if db is not None and key else None


def stated_resources(db: OsInfoDb, key: str, arch: str = "x86_64") -> frozenset[str]:
    """Which of ``memory``, ``disk`` and ``vcpus`` osinfo-db states for the OS (itself or an ancestor) on ``arch``.

    :func:`os_defaults` fills the others with fallbacks; a caller with its own defaults (the user's
    Preferences) uses those instead.
    """
    rec, mini = _resources(db, db.get(key), arch)
    stated = {"memory": rec.ram or mini.ram, "disk": rec.storage or mini.storage, "vcpus": rec.n_cpus or mini.n_cpus}
    return frozenset(k for k, v in stated.items() if v)


def host_ovmf(candidates: tuple[str, ...] = OVMF_FILES) -> Optional[str]:
    """The first readable OVMF image of this host, or ``None`` (then UEFI guests cannot start here)."""
    return next((p for p in candidates if os.path.isfile(p) and os.access(p, os.R_OK)), None)
