"""Xen capabilities and node info from ``xl info`` (``xen_caps``, ``machine``, CPU topology).

``xen_caps`` tokens (``xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p
hvm-3.0-x86_64``) become the seed's ``<guest>`` blocks: ``xen`` (PV) and ``hvm``
per architecture; a ``p`` suffix means PAE.  HVM guests get the hvmloader path
as ``<loader>``, every guest the device model as ``<emulator>``.
"""

from __future__ import annotations

import glob
import os
import re
from typing import Optional

from ...xml.capabilities import Capabilities, Guest, GuestDomain, Host, Machine, host_cpu_from_cpuinfo

_CAP = re.compile(r"^(xen|hvm)-(\d+\.\d+)-(x86_64|x86_32p?|aarch64|armv7l)$")
_ARCH = {"x86_64": "x86_64", "x86_32": "i686", "x86_32p": "i686", "aarch64": "aarch64", "armv7l": "armv7l"}


def _first_existing(patterns: list[str], fallback: str) -> str:
    for pattern in patterns:
        hits = sorted(glob.glob(pattern), reverse=True)
        for hit in hits:
            if os.path.exists(hit):
                return hit
    return fallback


def hvmloader_path() -> str:
    return _first_existing(["/usr/lib/xen-*/boot/hvmloader", "/usr/lib/xen/boot/hvmloader",
                            "/usr/libexec/xen/boot/hvmloader"], "/usr/lib/xen/boot/hvmloader")


def emulator_path() -> str:
    return _first_existing(["/usr/lib/xen-*/bin/qemu-system-i386", "/usr/lib/xen/bin/qemu-system-i386",
                            "/usr/libexec/xen/bin/qemu-system-i386", "/usr/bin/qemu-system-i386"],
                           "/usr/lib/xen/bin/qemu-system-i386")


def guests_from_caps(xen_caps: str, *, loader: Optional[str] = None,
                     emulator: Optional[str] = None) -> list[Guest]:
    """The ``<guest>`` blocks for a ``xen_caps`` string (unknown tokens are skipped)."""
    loader = loader or hvmloader_path()
    emulator = emulator or emulator_path()
    guests: dict[tuple[str, str], Guest] = {}
    for token in xen_caps.split():
        m = _CAP.match(token)
        if not m:
            continue
        kind, _version, xarch = m.groups()
        os_type = "xen" if kind == "xen" else "hvm"
        arch = _ARCH[xarch]
        g = guests.get((os_type, arch))
        if g is None:
            g = Guest(os_type=os_type, arch=arch, emulator=emulator,
                      loader=loader if os_type == "hvm" else None,
                      machines=[Machine("xenpv" if os_type == "xen" else "xenfv")],
                      domains=[GuestDomain("xen")])
            guests[(os_type, arch)] = g
        if xarch == "x86_32p":
            g.features["pae"] = {}
        elif xarch == "x86_32":
            g.features["nonpae"] = {}
        if os_type == "hvm":
            g.features.setdefault("acpi", {"default": "on", "toggle": "yes"})
            g.features.setdefault("apic", {"default": "on", "toggle": "no"})
            if arch == "x86_64":
                g.features.setdefault("pae", {})
    return list(guests.values())


def capabilities(info: dict[str, str], cpuinfo: Optional[str] = None) -> Capabilities:
    """The capabilities document for ``xl info`` output (parsed) and the host's /proc/cpuinfo."""
    arch = info.get("machine") or None
    if arch in ("i386", "i486", "i586"):
        arch = "i686"
    cpu = host_cpu_from_cpuinfo(cpuinfo, arch=arch)
    return Capabilities(host=Host(cpu=cpu), guests=guests_from_caps(info.get("xen_caps", "")))


def _int(info: dict[str, str], key: str, default: int) -> int:
    try:
        return int(float(info.get(key, "").split()[0]))
    except (ValueError, IndexError):
        return default


def node_info(info: dict[str, str]) -> list:
    """virNodeGetInfo's list: [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]."""
    cpus = _int(info, "nr_cpus", os.cpu_count() or 1)
    nodes = max(_int(info, "nr_nodes", 1), 1)
    cores = max(_int(info, "cores_per_socket", 1), 1)
    threads = max(_int(info, "threads_per_core", 1), 1)
    sockets = max(cpus // (nodes * cores * threads), 1)
    return [info.get("machine", "x86_64"), _int(info, "total_memory", 0), cpus, _int(info, "cpu_mhz", 0),
            nodes, sockets, cores, threads]


def hypervisor_version(info: dict[str, str]) -> int:
    """Xen's version as libvirt encodes versions (major * 1e6 + minor * 1e3 + micro)."""
    major = _int(info, "xen_major", 0)
    minor = _int(info, "xen_minor", 0)
    m = re.match(r"\.?(\d+)", info.get("xen_extra", ""))
    micro = int(m.group(1)) if m else 0
    return major * 1_000_000 + minor * 1_000 + micro


__all__ = ["capabilities", "guests_from_caps", "node_info", "hypervisor_version", "hvmloader_path",
           "emulator_path"]
