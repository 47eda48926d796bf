"""Capabilities: model -> seed-format XML -> model, queries, /proc/cpuinfo."""

import platform

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.capabilities import (
    Capabilities,
    Guest,
    GuestDomain,
    Host,
    HostCPU,
    Machine,
    host_cpu_from_cpuinfo,
    parse_capabilities,
    wordsize_for,
)

# The seed's example (its "..." removed).
SEED_CAPS = """<capabilities>
  <host>
    <cpu>
      <arch>x86_64</arch>
      <features>
        <vmx/>
      </features>
    </cpu>
  </host>

  <!-- xen-3.0-x86_64 -->
  <guest>
    <os_type>xen</os_type>
    <arch name="x86_64">
      <wordsize>64</wordsize>
      <domain type="xen"></domain>
      <emulator>/usr/lib64/xen/bin/qemu-dm</emulator>
    </arch>
    <features>
    </features>
  </guest>

  <!-- hvm-3.0-x86_32 -->
  <guest>
    <os_type>hvm</os_type>
    <arch name="i686">
      <wordsize>32</wordsize>
      <domain type="xen"></domain>
      <emulator>/usr/lib/xen/bin/qemu-dm</emulator>
      <machine>pc</machine>
      <machine>isapc</machine>
      <loader>/usr/lib/xen/boot/hvmloader</loader>
    </arch>
    <features>
    </features>
  </guest>
</capabilities>
"""

# libvirt 9.0's test driver (abridged: topology and secmodel left out), in its own format.
LIBVIRT_CAPS = """<capabilities>
  <host>
    <cpu>
      <arch>i686</arch>
      <features>
        <pae/>
        <nonpae/>
      </features>
      <pages unit='KiB' size='4'/>
    </cpu>
    <power_management/>
  </host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/test-hv</emulator>
      <domain type='test'/>
    </arch>
    <features>
      <pae/>
      <nonpae/>
    </features>
  </guest>
</capabilities>
"""


def kvm_host() -> Capabilities:
    return Capabilities(
        Host(HostCPU("x86_64", ["vmx", "lm"], model="Skylake", vendor="Intel"),
             uuid="8c0a3f9e-7c3b-4c8e-9b8a-1d2e3f405162"),
        [
            Guest("hvm", "x86_64", emulator="/usr/bin/qemu-system-x86_64",
                  machines=[Machine("pc-i440fx-7.2", canonical=None, max_cpus=255),
                            Machine("pc", "pc-i440fx-7.2", 255)],
                  domains=[GuestDomain("qemu"), GuestDomain("kvm", "/usr/bin/qemu-kvm", [Machine("q35")])],
                  features={"acpi": {"default": "on", "toggle": "yes"}, "apic": {"default": "on", "toggle": "no"}}),
            Guest("hvm", "i686", emulator="/usr/bin/qemu-system-i386", machines=[Machine("pc"), Machine("isapc")],
                  domains=[GuestDomain("qemu")], features={"pae": {}, "nonpae": {}}),
            Guest("xen", "x86_64", emulator="/usr/lib/xen/bin/qemu-dm", domains=[GuestDomain("xen")]),
        ],
    )


def test_format_matches_the_seed_layout():
    root = etree.fromstring(kvm_host().to_xml())
    assert root.tag == "capabilities"
    assert root.findtext("host/cpu/arch") == "x86_64"
    assert [f.tag for f in root.find("host/cpu/features")] == ["vmx", "lm"]
    guests = root.findall("guest")
    assert [g.findtext("os_type") for g in guests] == ["hvm", "hvm", "xen"]
    arch = guests[0].find("arch")
    assert arch.get("name") == "x86_64" and arch.findtext("wordsize") == "64"
    assert arch.findtext("emulator") == "/usr/bin/qemu-system-x86_64"
    assert [m.text for m in arch.findall("machine")] == ["pc-i440fx-7.2", "pc"]
    assert arch.findall("machine")[1].get("canonical") == "pc-i440fx-7.2"
    assert [d.get("type") for d in arch.findall("domain")] == ["qemu", "kvm"]
    assert guests[0].find("features/acpi").attrib == {"default": "on", "toggle": "yes"}
    assert guests[1].find("arch").findtext("wordsize") == "32"


def test_round_trip():
    caps = kvm_host()
    text = caps.to_xml()
    back = parse_capabilities(text)
    assert back == caps
    assert back.to_xml() == text


def test_parse_the_seed_example():
    caps = parse_capabilities(SEED_CAPS)
    assert caps.host.cpu.arch == "x86_64"
    assert caps.host.cpu.features == ["vmx"] and caps.host.cpu.hw_virt == "vmx"
    assert caps.os_types() == ["xen", "hvm"]
    assert caps.arches() == ["x86_64", "i686"]
    assert caps.arches("hvm") == ["i686"]
    hvm = caps.find_guest("hvm", "i686", "xen")
    assert hvm is not None
    assert (hvm.wordsize, hvm.loader, hvm.emulator) == (32, "/usr/lib/xen/boot/hvmloader", "/usr/lib/xen/bin/qemu-dm")
    assert hvm.machine_names() == ["pc", "isapc"]
    assert caps.domain_types() == ["xen"]
    assert caps.find_guest("hvm", "x86_64") is None


def test_parse_libvirt_output_and_current_feature_form():
    caps = parse_capabilities(LIBVIRT_CAPS)
    assert caps.host.cpu.features == ["pae", "nonpae"]
    assert caps.domain_types("hvm", "i686") == ["test"]
    modern = LIBVIRT_CAPS.replace("<features>\n        <pae/>\n        <nonpae/>\n      </features>",
                                  "<feature name='vmx'/><feature name='svm'/>", 1)
    assert parse_capabilities(modern).host.cpu.features == ["vmx", "svm"]


def test_queries_per_domain_type():
    caps = kvm_host()
    g = caps.find_guest("hvm", "x86_64", "kvm")
    assert g.machine_names("kvm") == ["q35"]
    assert g.machine_names("qemu") == ["pc-i440fx-7.2", "pc"]
    assert g.emulator_for("kvm") == "/usr/bin/qemu-kvm"
    assert g.emulator_for("qemu") == "/usr/bin/qemu-system-x86_64"
    assert caps.domain_types("hvm") == ["qemu", "kvm"]
    assert caps.domain_types("hvm", "i686") == ["qemu"]
    assert caps.find_guest("hvm", domain_type="kvm").arch == "x86_64"


def test_parse_errors():
    with pytest.raises(DriverError) as info:
        parse_capabilities("<notcaps/>")
    assert info.value.code == C.VIR_ERR_XML_ERROR
    with pytest.raises(DriverError) as info:
        parse_capabilities("<capabilities><host/></capabilities>")
    assert "arch" in str(info.value)
    with pytest.raises(DriverError):
        parse_capabilities("<capabilities><host><cpu><arch>x86_64</arch></cpu></host><guest/></capabilities>")
    with pytest.raises(DriverError) as info:
        parse_capabilities("<capabilities>")
    assert info.value.code == C.VIR_ERR_XML_DETAIL


def test_wordsize():
    assert wordsize_for("i686") == 32 and wordsize_for("x86_64") == 64 and wordsize_for("aarch64") == 64
    assert Guest("hvm", "armv7l").wordsize == 32


INTEL = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz
cpu MHz\t\t: 2112.000
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep lm nx vmx ept sse4_2 avx2 aes hypervisor

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz
cpu MHz\t\t: 2112.000
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep lm nx vmx ept sse4_2 avx2 aes hypervisor
"""

AMD = INTEL.replace("GenuineIntel", "AuthenticAMD").replace(" vmx ept", " svm npt")


def test_host_cpu_from_cpuinfo_intel():
    cpu = host_cpu_from_cpuinfo(INTEL, arch="x86_64")
    assert cpu.arch == "x86_64"
    assert cpu.vendor == "Intel" and cpu.count == 2 and cpu.mhz == 2112
    assert cpu.model_name.startswith("Intel(R) Core(TM)")
    assert cpu.hw_virt == "vmx"
    assert "vmx" in cpu.features and "pae" in cpu.features and "ept" in cpu.features
    assert "fpu" not in cpu.features  # only flags of interest
    assert "fpu" in host_cpu_from_cpuinfo(INTEL, arch="x86_64", interesting=None).features


def test_host_cpu_from_cpuinfo_amd_and_none():
    cpu = host_cpu_from_cpuinfo(AMD, arch="x86_64")
    assert cpu.vendor == "AMD" and cpu.hw_virt == "svm" and "npt" in cpu.features
    plain = host_cpu_from_cpuinfo(INTEL.replace(" vmx", ""), arch="i386")
    assert plain.hw_virt is None and plain.arch == "i686"


def test_host_cpu_of_this_machine():
    cpu = host_cpu_from_cpuinfo()
    assert cpu.arch == (platform.machine() or "x86_64")
    caps = Capabilities(Host(cpu), [Guest("hvm", cpu.arch, domains=[GuestDomain("qemu")])])
    assert parse_capabilities(caps.to_xml()).host.cpu.features == cpu.features
