"""Host probing for the QEMU driver: KVM usability, CPU features, installed emulators and machines.

``-machine help`` of every ``qemu-system-*`` is cached on disk keyed by the
binary's path, size and mtime, so a new connection does not run QEMU again.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ...errors import DriverError
from .state import atomic_write

KVM_GET_API_VERSION = 0xAE00
KVM_API_VERSION = 12

#: qemu-system binary suffix -> (libvirt arch name, word size)
BINARY_ARCH = {"x86_64": ("x86_64", 64), "i386": ("i686", 32), "aarch64": ("aarch64", 64), "arm": ("armv7l", 32),
               "ppc64": ("ppc64", 64), "riscv64": ("riscv64", 64), "s390x": ("s390x", 64), "mips": ("mips", 32),
               "mipsel": ("mipsel", 32), "sparc": ("sparc", 32), "sparc64": ("sparc64", 64)}

_HOST_ARCH = {"x86_64": "x86_64", "i686": "i686", "aarch64": "aarch64"}


def kvm_usable(path: str = "/dev/kvm") -> bool:
    """True when ``/dev/kvm`` opens read-write and speaks the stable KVM API."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, KVM_GET_API_VERSION) == KVM_API_VERSION
    except OSError:
        return False
    finally:
        os.close(fd)


def cpu_features() -> set[str]:
    """Virtualization-relevant flags of the host CPU (vmx, svm, pae, ...)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    m = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
    flags = set(m.group(1).split()) if m else set()
    return flags & {"vmx", "svm", "pae", "nx", "lm"}


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return os.uname().machine
    m = re.search(r"^model name\s*:\s*(.*)$", text, re.M)
    return m.group(1).strip() if m else os.uname().machine


@dataclass
class GuestCaps:
    """One installed emulator: its arch, word size and machine types (default first)."""

    emulator: str
    arch: str
    wordsize: int
    machines: list[str] = field(default_factory=list)
    domain_types: list[str] = field(default_factory=lambda: ["qemu"])


def find_emulators() -> list[tuple[str, str]]:
    """(binary path, suffix) for each known ``qemu-system-<suffix>`` on PATH (first hit per name)."""
    found: dict[str, str] = {}
    for d in os.environ.get("PATH", "/usr/bin").split(os.pathsep):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in sorted(names):
            if n.startswith("qemu-system-") and n[12:] in BINARY_ARCH and n not in found:
                p = os.path.join(d, n)
                if os.access(p, os.X_OK):
                    found[n] = p
    return [(p, n[12:]) for n, p in sorted(found.items())]


def parse_machine_help(text: str) -> list[str]:
    """Machine names from ``-machine help``, in QEMU's order but the default one (or its alias) first."""
    rows: list[tuple[str, str]] = []
    for line in text.splitlines()[1:]:
        parts = line.split(None, 1)
        if parts:
            rows.append((parts[0], parts[1] if len(parts) > 1 else ""))
    names = [n for n, _ in rows]
    default = next((n for n, desc in rows if "(default)" in desc), None)
    if default is not None:
        alias = next((n for n, desc in rows if f"(alias of {default})" in desc), None)
        first = alias or default
        names.remove(first)
        names.insert(0, first)
    return names


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "guiapp" / "qemu-capabilities.json"


def machines_of(binary: str, cache: dict[str, dict]) -> list[str]:
    """Machines of ``binary`` from ``cache`` when its size and mtime still match, else by running it."""
    st = os.stat(binary)
    key = f"{st.st_size}:{st.st_mtime_ns}"
    entry = cache.get(binary)
    if entry and entry.get("key") == key:
        return list(entry["machines"])
    try:
        out = subprocess.run([binary, "-machine", "help"], capture_output=True, text=True, timeout=20,
                             stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    machines = parse_machine_help(out)
    cache[binary] = {"key": key, "machines": machines}
    return machines


def _load_cache() -> dict[str, dict]:
    try:
        cache = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _save_cache(cache: dict[str, dict], before: str) -> None:
    if json.dumps(cache, sort_keys=True) != before:
        path = cache_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps(cache, sort_keys=True), 0o644)
        except (OSError, DriverError):
            pass  # a read-only cache only costs time


def known_machines(binary: str) -> list[str]:
    """Machine types of the emulator ``binary`` (a path or a name on PATH); [] when it cannot be asked."""
    path = binary if os.path.isabs(binary) else shutil.which(binary)
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        return []
    cache = _load_cache()
    before = json.dumps(cache, sort_keys=True)
    try:
        machines = machines_of(path, cache)
    except OSError:
        return []
    _save_cache(cache, before)
    return machines


def probe_guests(kvm: bool) -> list[GuestCaps]:
    cache = _load_cache()
    before = json.dumps(cache, sort_keys=True)
    host = os.uname().machine
    guests = []
    for binary, suffix in find_emulators():
        arch, wordsize = BINARY_ARCH[suffix]
        machines = machines_of(binary, cache)
        types = ["qemu"]
        if kvm and (arch == host or (host == "x86_64" and arch == "i686")):
            types.append("kvm")
        guests.append(GuestCaps(binary, arch, wordsize, machines, types))
    _save_cache(cache, before)
    return guests


@dataclass
class HostCaps:
    arch: str
    features: set[str]
    kvm: bool
    guests: list[GuestCaps]

    def to_xml(self) -> str:
        """Capabilities XML in the seed's format."""
        root = etree.Element("capabilities")
        host = etree.SubElement(root, "host")
        cpu = etree.SubElement(host, "cpu")
        etree.SubElement(cpu, "arch").text = self.arch
        feats = etree.SubElement(cpu, "features")
        for f in sorted(self.features & {"vmx", "svm", "pae", "nx"}):
            etree.SubElement(feats, f)
        for g in self.guests:
            guest = etree.SubElement(root, "guest")
            etree.SubElement(guest, "os_type").text = "hvm"
            arch = etree.SubElement(guest, "arch", name=g.arch)
            etree.SubElement(arch, "wordsize").text = str(g.wordsize)
            etree.SubElement(arch, "emulator").text = g.emulator
            for m in g.machines:
                etree.SubElement(arch, "machine").text = m
            for t in g.domain_types:
                etree.SubElement(arch, "domain", type=t)
            gf = etree.SubElement(guest, "features")
            if g.arch in ("i686", "x86_64"):
                etree.SubElement(gf, "acpi", default="on", toggle="yes")
                if g.arch == "i686":
                    etree.SubElement(gf, "pae")
        return etree.tostring(root, pretty_print=True, encoding="unicode")


def probe_host() -> HostCaps:
    kvm = kvm_usable()
    return HostCaps(_HOST_ARCH.get(os.uname().machine, os.uname().machine), cpu_features(), kvm, probe_guests(kvm))
