"""The capabilities document (``virConnectGetCapabilities``), model, formatter and parser.

The format is the seed's::

    <capabilities>
      <host>
        <cpu>
          <arch>x86_64</arch>
          <features>
            <vmx/>
          </features>
        </cpu>
      </host>
      <guest>
        <os_type>hvm</os_type>
        <arch name="i686">
          <wordsize>32</wordsize>
          <emulator>/usr/lib/xen/bin/qemu-dm</emulator>
          <loader>/usr/lib/xen/boot/hvmloader</loader>
          <machine>pc</machine>
          <machine>isapc</machine>
          <domain type="xen"/>
        </arch>
        <features>
          <pae/>
        </features>
      </guest>
    </capabilities>

plus what current libvirt adds and the GUI can use: ``<host><uuid>``, CPU
``<model>``/``<vendor>``, ``<machine canonical maxCpus>``, per-domain-type
``<emulator>``/``<machine>``, feature attributes (``<acpi default='on' toggle='yes'/>``).
Drivers fill a :class:`Capabilities` from the host; :func:`host_cpu_from_cpuinfo`
reads the host CPU part from ``/proc/cpuinfo``.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional, Union

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from .safe import check_root, parse_xml

#: CPU flags worth reporting: hardware virtualization and what guests care about.
FLAGS_OF_INTEREST = (
    "vmx", "svm", "pae", "lm", "nx", "hypervisor", "ept", "npt", "x2apic", "aes", "avx", "avx2",
    "sse4_1", "sse4_2", "pdpe1gb", "rdrand", "tsc_deadline_timer",
)

_WORDSIZE = {
    "i686": 32, "i386": 32, "i486": 32, "i586": 32, "x86_64": 64, "aarch64": 64, "armv7l": 32,
    "ppc64": 64, "ppc64le": 64, "ppc": 32, "s390x": 64, "riscv64": 64, "mips": 32, "mips64": 64,
}


def wordsize_for(arch: str) -> int:
    return _WORDSIZE.get(arch, 64 if "64" in arch else 32)


@dataclass
class Machine:
    name: str
    canonical: Optional[str] = None
    max_cpus: Optional[int] = None


@dataclass
class GuestDomain:
    """``<domain type='kvm'>`` inside a guest arch, with optional own emulator/machines."""

    type: str
    emulator: Optional[str] = None
    machines: list[Machine] = field(default_factory=list)


@dataclass
class Guest:
    """One ``<guest>``: an OS type on an architecture and the domain types that run it."""

    os_type: str
    arch: str
    wordsize: Optional[int] = None
    emulator: Optional[str] = None
    loader: Optional[str] = None
    machines: list[Machine] = field(default_factory=list)
    domains: list[GuestDomain] = field(default_factory=list)
    #: feature name -> attributes (``{'acpi': {'default': 'on', 'toggle': 'yes'}, 'pae': {}}``)
    features: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.wordsize is None:
            self.wordsize = wordsize_for(self.arch)

    @property
    def domain_types(self) -> list[str]:
        return [d.type for d in self.domains]

    def machine_names(self, domain_type: Optional[str] = None) -> list[str]:
        """Machines for ``domain_type`` (its own list if it has one, else the arch's)."""
        if domain_type is not None:
            for d in self.domains:
                if d.type == domain_type and d.machines:
                    return [m.name for m in d.machines]
        return [m.name for m in self.machines]

    def emulator_for(self, domain_type: Optional[str] = None) -> Optional[str]:
        if domain_type is not None:
            for d in self.domains:
                if d.type == domain_type and d.emulator:
                    return d.emulator
        return self.emulator


@dataclass
class HostCPU:
    arch: str
    features: list[str] = field(default_factory=list)
    model: Optional[str] = None
    vendor: Optional[str] = None
    #: extra facts from /proc/cpuinfo (not formatted): logical CPU count, MHz, model name
    count: Optional[int] = field(default=None, compare=False)
    mhz: Optional[int] = field(default=None, compare=False)
    model_name: Optional[str] = field(default=None, compare=False)

    @property
    def hw_virt(self) -> Optional[str]:
        """'vmx' (Intel VT-x), 'svm' (AMD-V) or None."""
        for flag in ("vmx", "svm"):
            if flag in self.features:
                return flag
        return None


@dataclass
class Host:
    cpu: HostCPU
    uuid: Optional[str] = None


@dataclass
class Capabilities:
    host: Host
    guests: list[Guest] = field(default_factory=list)

    # -- queries used by drivers and the GUI's wizard ---------------------------

    def os_types(self) -> list[str]:
        return list(dict.fromkeys(g.os_type for g in self.guests))

    def arches(self, os_type: Optional[str] = None) -> list[str]:
        return list(dict.fromkeys(g.arch for g in self.guests if os_type in (None, g.os_type)))

    def domain_types(self, os_type: Optional[str] = None, arch: Optional[str] = None) -> list[str]:
        out: dict[str, None] = {}
        for g in self.guests:
            if os_type in (None, g.os_type) and arch in (None, g.arch):
                out.update(dict.fromkeys(g.domain_types))
        return list(out)

    def find_guest(self, os_type: str, arch: Optional[str] = None,
                   domain_type: Optional[str] = None) -> Optional[Guest]:
        """The first guest matching (``os_type``, ``arch``) that supports ``domain_type``."""
        for g in self.guests:
            if g.os_type != os_type or (arch is not None and g.arch != arch):
                continue
            if domain_type is not None and domain_type not in g.domain_types:
                continue
            return g
        return None

    # -- formatting ---------------------------------------------------------------

    def to_element(self) -> etree._Element:
        root = etree.Element("capabilities")
        host = etree.SubElement(root, "host")
        if self.host.uuid:
            etree.SubElement(host, "uuid").text = self.host.uuid
        cpu = etree.SubElement(host, "cpu")
        etree.SubElement(cpu, "arch").text = self.host.cpu.arch
        if self.host.cpu.model:
            etree.SubElement(cpu, "model").text = self.host.cpu.model
        if self.host.cpu.vendor:
            etree.SubElement(cpu, "vendor").text = self.host.cpu.vendor
        feats = etree.SubElement(cpu, "features")
        for name in self.host.cpu.features:
            etree.SubElement(feats, name)
        for g in self.guests:
            guest = etree.SubElement(root, "guest")
            etree.SubElement(guest, "os_type").text = g.os_type
            arch = etree.SubElement(guest, "arch", name=g.arch)
            etree.SubElement(arch, "wordsize").text = str(g.wordsize)
            if g.emulator:
                etree.SubElement(arch, "emulator").text = g.emulator
            if g.loader:
                etree.SubElement(arch, "loader").text = g.loader
            _machines(arch, g.machines)
            for d in g.domains:
                dom = etree.SubElement(arch, "domain", type=d.type)
                if d.emulator:
                    etree.SubElement(dom, "emulator").text = d.emulator
                _machines(dom, d.machines)
            gf = etree.SubElement(guest, "features")
            for name, attrs in g.features.items():
                etree.SubElement(gf, name, {k: str(v) for k, v in attrs.items()})
        etree.indent(root, space="  ")
        return root

    def to_xml(self) -> str:
        return etree.tostring(self.to_element(), encoding="unicode") + "\n"


def _machines(parent: etree._Element, machines: Iterable[Machine]) -> None:
    for m in machines:
        el = etree.SubElement(parent, "machine")
        el.text = m.name
        if m.canonical:
            el.set("canonical", m.canonical)
        if m.max_cpus is not None:
            el.set("maxCpus", str(m.max_cpus))


# -- parsing -----------------------------------------------------------------------

def _cap_error(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_XML_ERROR, f"capabilities: {detail}", C.VIR_FROM_CAPABILITIES)


def _parse_machines(parent: etree._Element) -> list[Machine]:
    out = []
    for m in parent.iterfind("machine"):
        name = (m.text or "").strip()
        if not name:
            continue
        max_cpus = m.get("maxCpus")
        out.append(Machine(name, m.get("canonical"),
                           int(max_cpus) if max_cpus and max_cpus.isdigit() else None))
    return out


def parse_capabilities(xml: Union[str, bytes, etree._Element]) -> Capabilities:
    """Read a capabilities document (ours, the seed's or real libvirt's) back into the model."""
    root = xml if isinstance(xml, etree._Element) else parse_xml(xml, "capabilities",
                                                                 domain=C.VIR_FROM_CAPABILITIES)
    check_root(root, "capabilities", domain=C.VIR_FROM_CAPABILITIES)
    host_el = root.find("host")
    cpu_el = host_el.find("cpu") if host_el is not None else None
    arch = cpu_el.findtext("arch") if cpu_el is not None else None
    if not arch:
        raise _cap_error("missing <host><cpu><arch>")
    features: list[str] = []
    if cpu_el is not None:
        for f in cpu_el.iterfind("features/*"):
            if isinstance(f.tag, str):
                features.append(f.tag)
        for f in cpu_el.iterfind("feature"):  # current libvirt: <feature name='vmx'/>
            if f.get("name"):
                features.append(f.get("name"))
    cpu = HostCPU(arch=arch.strip(), features=features,
                  model=cpu_el.findtext("model") if cpu_el is not None else None,
                  vendor=cpu_el.findtext("vendor") if cpu_el is not None else None)
    host = Host(cpu=cpu, uuid=host_el.findtext("uuid") if host_el is not None else None)
    caps = Capabilities(host=host)
    for g in root.iterfind("guest"):
        os_type = (g.findtext("os_type") or "").strip()
        arch_el = g.find("arch")
        if not os_type or arch_el is None or not arch_el.get("name"):
            raise _cap_error("each <guest> needs <os_type> and <arch name=...>")
        ws = (arch_el.findtext("wordsize") or "").strip()
        domains = [GuestDomain(d.get("type") or "", d.findtext("emulator"), _parse_machines(d))
                   for d in arch_el.iterfind("domain")]
        feats: dict[str, dict[str, str]] = {}
        fe = g.find("features")
        if fe is not None:
            for f in fe:
                if isinstance(f.tag, str):
                    feats[f.tag] = dict(f.attrib)
        caps.guests.append(Guest(
            os_type=os_type, arch=arch_el.get("name"), wordsize=int(ws) if ws.isdigit() else None,
            emulator=arch_el.findtext("emulator"), loader=arch_el.findtext("loader"),
            machines=_parse_machines(arch_el), domains=domains, features=feats,
        ))
    return caps


# -- host CPU from /proc/cpuinfo -------------------------------------------------------

_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon", "CentaurHauls": "VIA"}


def host_cpu_from_cpuinfo(text: Optional[str] = None, *, arch: Optional[str] = None,
                          interesting: Optional[Iterable[str]] = FLAGS_OF_INTEREST) -> HostCPU:
    """The host CPU as capabilities show it, from ``/proc/cpuinfo`` text (read when None).

    ``interesting`` limits the reported flags (None keeps all of them).  The
    architecture comes from ``platform.machine()`` unless given.
    """
    if text is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
    arch = arch or platform.machine() or "x86_64"
    if arch in ("i386", "i486", "i586"):
        arch = "i686"
    flags: list[str] = []
    vendor = model_name = None
    mhz = None
    count = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        value = value.strip()
        if key == "processor":
            count += 1
        elif key in ("flags", "Features") and not flags:
            flags = value.split()
        elif key == "vendor_id" and vendor is None:
            vendor = _VENDORS.get(value, value)
        elif key == "model name" and model_name is None:
            model_name = value
        elif key == "cpu MHz" and mhz is None:
            try:
                mhz = int(float(value))
            except ValueError:
                pass
    if interesting is not None:
        wanted = set(interesting)
        flags = [f for f in flags if f in wanted]
    return HostCPU(arch=arch, features=flags, vendor=vendor, count=count or os.cpu_count(), mhz=mhz,
                   model_name=model_name)


__all__ = [
    "Capabilities", "Host", "HostCPU", "Guest", "GuestDomain", "Machine", "parse_capabilities",
    "host_cpu_from_cpuinfo", "wordsize_for", "FLAGS_OF_INTEREST",
]
