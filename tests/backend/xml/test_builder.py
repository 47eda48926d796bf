"""The wizard's document builder: kinds from capabilities, sections edited in place, refused edits lose nothing."""

from __future__ import annotations

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu.command import RunPaths, build_command
from guiapp.backend.drivers.xen.xlcfg import domain_to_xl, parse_cfg
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.builder import (
    KINDS,
    KVM,
    NET_MODES,
    QEMU,
    XEN_HVM,
    XEN_PV,
    DiskSpec,
    DomainBuilder,
    InstallSpec,
    Lifecycle,
    NicSpec,
    VncSpec,
    default_loader,
    kind_of,
    kind_options,
    machines_for,
)
from guiapp.backend.xml.capabilities import (
    Capabilities,
    Guest,
    GuestDomain,
    Host,
    HostCPU,
    Machine,
    parse_capabilities,
)
from guiapp.backend.xml.domain import parse_domain

TEST_CAPS = Capabilities(Host(HostCPU("i686", ["pae"])), [
    Guest("hvm", "i686", emulator="/usr/bin/test-hv", domains=[GuestDomain("test")]),
    Guest("xen", "i686", emulator="/usr/bin/test-hv", domains=[GuestDomain("test")]),
])
QEMU_CAPS = Capabilities(Host(HostCPU("x86_64", ["nx"])), [
    Guest("hvm", "x86_64", emulator="/usr/bin/qemu-system-x86_64",
          machines=[Machine("pc"), Machine("q35")], domains=[GuestDomain("qemu")]),
    Guest("hvm", "aarch64", emulator="/usr/bin/qemu-system-aarch64",
          machines=[Machine("virt")], domains=[GuestDomain("qemu")]),
])
XEN_CAPS = Capabilities(Host(HostCPU("x86_64", ["vmx"])), [
    Guest("xen", "x86_64", emulator="/usr/lib/xen/bin/qemu-dm", domains=[GuestDomain("xen")]),
    Guest("hvm", "x86_64", emulator="/usr/lib/xen/bin/qemu-dm", loader="/usr/lib/xen/boot/hvmloader",
          machines=[Machine("xenfv")], domains=[GuestDomain("xen")]),
])
PATHS = RunPaths("/r/q.qmp", "/r/q.cmd.qmp", "/r/q.pid", "/r/q.log", "/r/q.vnc")


def options(caps: Capabilities, driver: str) -> dict[str, tuple[bool, str, list[str]]]:
    return {o.kind.key: (o.available, o.reason, o.arches) for o in kind_options(caps, driver)}


def test_test_connection_emulates_every_kind() -> None:
    opts = kind_options(TEST_CAPS, "TEST")
    assert [o.kind.key for o in opts] == ["xen-pv", "xen-hvm", "kvm", "qemu"]
    assert all(o.available and o.emulated and o.arches == ["i686"] for o in opts)


def test_qemu_connection_offers_what_capabilities_say() -> None:
    opts = options(QEMU_CAPS, "QEMU")
    assert opts["qemu"] == (True, "", ["x86_64", "aarch64"])
    assert not opts["kvm"][0] and "KVM is not usable" in opts["kvm"][1] and "QEMU (emulated)" in opts["kvm"][1]
    assert not opts["xen-pv"][0] and "xen:///" in opts["xen-pv"][1]
    assert not opts["xen-hvm"][0]
    assert machines_for(QEMU_CAPS, QEMU, "aarch64", False) == ["virt"]
    assert machines_for(QEMU_CAPS, QEMU, "x86_64", False) == ["pc", "q35"]


def test_xen_connection() -> None:
    opts = options(XEN_CAPS, "Xen")
    assert opts["xen-pv"][0] and opts["xen-hvm"][0]
    assert not opts["kvm"][0] and not opts["qemu"][0]
    assert "no QEMU guests" in opts["qemu"][1]
    assert default_loader(XEN_CAPS, XEN_HVM, "x86_64", False) == "/usr/lib/xen/boot/hvmloader"
    assert default_loader(XEN_CAPS, XEN_PV, "x86_64", False) is None


def test_real_test_driver_capabilities_parse() -> None:
    import guiapp.backend as libvirt
    conn = libvirt.open("test:///default")
    try:
        caps = parse_capabilities(conn.getCapabilities())
    finally:
        conn.close()
    opts = kind_options(caps, "TEST")
    assert [o.kind.key for o in opts if o.available] == list(KINDS)


@pytest.mark.parametrize("key", list(KINDS))
def test_new_document_validates_and_round_trips(key: str) -> None:
    kind = KINDS[key]
    b = DomainBuilder(kind, "g1", memory_mib=256, vcpus=2)
    d = parse_domain(b.xml(), hypervisor=kind.domain_type)
    assert (d.type, d.os_type, d.name, d.memory_kib, d.vcpus) == (kind.domain_type, kind.os_type, "g1", 262144, 2)
    assert kind_of(d.type, d.os_type) == kind
    assert d.uuid == b.defn.uuid
    # the default VNC display, lifecycle defaults and a console
    assert [g.type for g in d.graphics] == ["vnc"] and d.graphics[0].autoport
    assert (d.on_poweroff, d.on_reboot, d.on_crash) == ("destroy", "restart", "destroy")
    assert len(d.consoles) == 1 and len(d.serials) == (1 if kind.hvm else 0)


def test_install_sections() -> None:
    b = DomainBuilder(KVM, "i")
    b.set_install(InstallSpec(method="cdrom", iso="/x.iso"))
    assert b.defn.boot_devs == ["cdrom", "hd"]
    assert [(x.device, x.target, x.source, x.readonly) for x in b.defn.disks] == [("cdrom", "hdc", "/x.iso", True)]
    b.set_install(InstallSpec(method="import", image="/disk.img", image_format="qcow2"))
    assert b.defn.boot_devs == ["hd"]
    assert [(x.device, x.target, x.format) for x in b.defn.disks] == [("disk", "vda", "qcow2")]
    b.set_install(InstallSpec(method="network"))
    assert b.defn.boot_devs == ["network", "hd"] and b.defn.disks == []
    b.set_install(InstallSpec(method="kernel", kernel="/k", initrd="/i", cmdline="console=ttyS0", root_dev="/dev/vda1",
                              loader="/OVMF.fd"))
    d = b.defn
    assert (d.kernel, d.initrd, d.cmdline, d.root_dev, d.loader) == ("/k", "/i", "console=ttyS0", "/dev/vda1",
                                                                       "/OVMF.fd")
    # Xen PV ignores the HVM method and loader
    b.set_kind(XEN_PV)
    d = b.defn
    assert d.type == "xen" and d.os_type == "linux" and d.loader is None and d.boot_devs == []
    assert b.defn.features == set()


def test_set_kind_keeps_macs_within_a_family_and_changes_prefix_across() -> None:
    b = DomainBuilder(QEMU, "m")
    b.set_interfaces([NicSpec("user"), NicSpec("bridge", bridge="br0")])
    macs = [i.mac for i in b.defn.interfaces]
    b.set_memory(128)
    b.set_kind(KVM)
    assert [i.mac for i in b.defn.interfaces] == macs  # stable while the user goes back and forth
    b.set_kind(XEN_HVM)
    assert all(i.mac.startswith("00:16:3e:") for i in b.defn.interfaces)
    assert b.defn.memory_kib == 128 * 1024 and b.defn.type == "xen"


def test_refused_edit_loses_nothing() -> None:
    b = DomainBuilder(QEMU, "keep")
    b.set_interfaces([NicSpec("mcast", address="230.0.0.1", port=5558)])
    before = b.xml()
    with pytest.raises(DriverError) as e:
        b.set_interfaces([NicSpec("mcast", address="nohost", port=5558)])
    assert e.value.code == C.VIR_ERR_XML_ERROR and "224.0.0.0/4" in e.value.detail
    with pytest.raises(DriverError):
        b.set_interfaces([NicSpec("user", mac="01:00:00:00:00:01")])
    with pytest.raises(DriverError):
        b.set_name("a/b")
    with pytest.raises(DriverError):
        b.set_memory(0)
    assert b.xml() == before


def test_disk_targets_per_bus() -> None:
    b = DomainBuilder(XEN_HVM, "d")
    b.set_install(InstallSpec(method="cdrom", iso="/i.iso", loader="/usr/lib/xen/boot/hvmloader"))
    b.set_storage([DiskSpec("disk", "/a.img", "raw"), DiskSpec("disk", "/b.img", "raw"), DiskSpec("cdrom", ""),
                   DiskSpec("floppy", "/f.img")])
    assert [(x.device, x.target, x.bus) for x in b.defn.disks] == [
        ("disk", "hda", "ide"), ("disk", "hdb", "ide"), ("cdrom", "hdc", "ide"), ("cdrom", "hdd", "ide"),
        ("floppy", "fda", "fdc")]  # libvirt's order (virDomainDiskInsert): by bus, then target index
    b.set_kind(XEN_PV)
    assert [x.target for x in b.defn.disks] == ["xvda", "xvdb", "xvdc", "fda"]
    b.set_kind(QEMU)
    b.set_storage([DiskSpec("disk", "/a.img", "qcow2", bus="sata"), DiskSpec("disk", "/dev/sdz", "raw", block=True)])
    root = etree.fromstring(b.xml().encode())
    disks = root.findall("devices/disk")
    assert disks[0].find("target").attrib == {"dev": "sda", "bus": "sata"}
    assert disks[1].get("type") == "block" and disks[1].find("source").get("dev") == "/dev/sdz"


def test_display_and_lifecycle() -> None:
    b = DomainBuilder(QEMU, "v")
    b.set_graphics(VncSpec(port=5907, listen="0.0.0.0", passwd="pw"))
    g = b.defn.graphics[0]
    assert (g.port, g.autoport, g.listen, g.passwd) == (5907, False, "0.0.0.0", "pw")
    assert "passwd" not in b.xml(secure=True) and "passwd='pw'" in b.xml()
    b.set_graphics(None)
    assert b.defn.graphics == []
    b.set_lifecycle(Lifecycle("preserve", "destroy", "coredump-restart"))
    assert (b.defn.on_poweroff, b.defn.on_reboot, b.defn.on_crash) == ("preserve", "destroy", "coredump-restart")
    with pytest.raises(DriverError):
        b.set_lifecycle(Lifecycle(on_poweroff="coredump-destroy"))
    assert b.defn.on_poweroff == "preserve"


def nic_for(mode: str) -> NicSpec:
    return {"user": NicSpec("user", model="virtio"), "network": NicSpec("network", network="default"),
            "bridge": NicSpec("bridge", bridge="br0"), "ethernet": NicSpec("ethernet", target_dev="vnet3",
                                                                          script="/etc/qemu-ifup"),
            "mcast": NicSpec("mcast", address="230.0.0.1", port=5558),
            "server": NicSpec("server", address="127.0.0.1", port=5559),
            "client": NicSpec("client", address="127.0.0.1", port=5559, mac="52:54:00:00:00:02")}[mode]


@pytest.mark.parametrize("mode", NET_MODES)
def test_qemu_command_for_every_mode(mode: str) -> None:
    b = DomainBuilder(QEMU, "n")
    b.set_interfaces([nic_for(mode)])
    argv = build_command(b.defn.copy(), PATHS, kvm_usable=False, check_files=False).argv
    netdev = argv[argv.index("-netdev") + 1]
    expected = {"user": "user,id=hostnet0", "network": "tap,id=hostnet0,ifname=vnet0",
                "bridge": "tap,id=hostnet0,ifname=vnet0",
                "ethernet": "tap,id=hostnet0,ifname=vnet3,script=/etc/qemu-ifup",
                "mcast": "socket,id=hostnet0,mcast=230.0.0.1:5558",
                "server": "socket,id=hostnet0,listen=127.0.0.1:5559",
                "client": "socket,id=hostnet0,connect=127.0.0.1:5559"}[mode]
    assert netdev.startswith(expected)
    assert f"mac={b.defn.interfaces[0].mac}" in argv[argv.index("-netdev") + 3]


@pytest.mark.parametrize("kind", [XEN_PV, XEN_HVM])
def test_xen_kinds_make_an_xl_cfg(kind: object) -> None:
    b = DomainBuilder(kind, "x", memory_mib=512)  # type: ignore[arg-type]
    b.set_install(InstallSpec(method="cdrom", iso="/i.iso", kernel="/vmlinuz", root_dev="/dev/xvda1",
                              cmdline="ro", loader="/usr/lib/xen/boot/hvmloader"))
    b.set_storage([DiskSpec("disk", "/x.img", "raw")])
    b.set_interfaces([NicSpec("bridge", bridge="xenbr0", mac="00:16:3e:00:00:01"),
                      NicSpec("ethernet", script="/etc/xen/scripts/vif-route")])
    cfg = parse_cfg(domain_to_xl(b.defn))
    assert cfg["name"] == "x" and cfg["memory"] == 512
    assert cfg["vif"][0] == "mac=00:16:3e:00:00:01,bridge=xenbr0"
    assert cfg["vif"][1].endswith("script=/etc/xen/scripts/vif-route")
    if kind is XEN_PV:
        assert (cfg["type"], cfg["kernel"], cfg["root"], cfg["extra"]) == ("pv", "/vmlinuz", "/dev/xvda1", "ro")
        assert cfg["disk"] == ["format=raw,vdev=xvda,access=rw,backendtype=qdisk,target=/x.img"]
    else:
        assert (cfg["builder"], cfg["boot"]) == ("hvm", "dc")
        assert "firmware_override" not in cfg  # the default hvmloader is left to libxl (as libvirt does)
        assert len(cfg["disk"]) == 2 and "devtype=cdrom" in cfg["disk"][1]
