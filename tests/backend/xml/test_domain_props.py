"""DomainDef's fields are properties over the tree: one source of truth, writes in libvirt's order.

The order check runs the same edits through Debian's real libvirt (test driver): the
elements a property write creates must come out where libvirt's own formatter puts them.
"""

from __future__ import annotations

import pytest
from helpers import real_libvirt
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import DomainDef, parse_domain

BASE = """<domain type='test'>
  <name>p1</name>
  <uuid>3c1d0b5e-7e2a-4a53-9a43-5b0d1f7e9a11</uuid>
  <memory unit='MiB'>64</memory>
  <os>
    <type arch='i686'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/a.img'/>
      <target dev='hda'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:11:22:33'/>
      <source network='default'/>
    </interface>
    <graphics type='vnc'/>
    <console type='pty'/>
  </devices>
</domain>"""


def children(el: etree._Element) -> list[str]:
    return [c.tag for c in el if isinstance(c.tag, str)]


def test_fields_read_the_tree_not_a_copy():
    d = parse_domain(BASE)
    # what parse-time normalization added is what the accessors show (the old load-time copies missed it)
    assert d.boot_devs == [b.get("dev") for b in d.root.iterfind("os/boot")] == ["hd"]
    assert d.graphics[0].port == -1 and d.graphics[0].autoport
    assert d.kernel is None and d.disks[0].source == "/var/lib/a.img"
    d.root.find("devices/disk/source").set("file", "/var/lib/b.img")
    assert d.disks[0].source == "/var/lib/b.img"  # device fields are read live
    etree.SubElement(d.root.find("os"), "kernel").text = "/vmlinuz"
    d.refresh()  # after a direct edit of the domain's own fields (they are kept per instance)
    assert d.kernel == "/vmlinuz" and "<kernel>/vmlinuz</kernel>" in d.to_xml()


def test_os_writes_go_where_libvirt_puts_them_and_drop_the_cache():
    d = parse_domain(BASE)
    before = d.to_xml()
    d.cmdline = "console=ttyS0"
    d.kernel = "/vmlinuz"
    d.loader = "/usr/share/bios.bin"
    d.initrd = "/initrd.img"
    d.boot_devs = ["cdrom", "hd"]
    assert children(d.root.find("os")) == ["type", "loader", "kernel", "initrd", "cmdline", "boot", "boot"]
    text = d.to_xml()
    assert text != before and "<cmdline>console=ttyS0</cmdline>" in text
    again = parse_domain(text)
    # a property write is a tree edit, not a define: libvirt's parse defaults (the loader's type='rom', as
    # virsh define on test:///default shows) come with the next parse, and from then on formatting is stable
    assert again.to_xml() == text.replace("<loader>", "<loader type='rom'>")
    assert parse_domain(again.to_xml()).to_xml() == again.to_xml()
    assert (again.kernel, again.initrd, again.cmdline, again.boot_devs) == \
        ("/vmlinuz", "/initrd.img", "console=ttyS0", ["cdrom", "hd"])
    d.kernel = d.initrd = d.cmdline = d.loader = None
    d.boot_devs = ["hd"]
    assert d.to_xml() == before  # removing gives the original bytes back (indentation included)


def test_features_and_emulator():
    d = parse_domain(BASE)
    d.features = ["acpi", "apic"]
    d.emulator = "/usr/bin/qemu-system-x86_64"
    assert d.features == {"acpi", "apic"} and d.emulator == "/usr/bin/qemu-system-x86_64"
    top = children(d.root)
    assert top.index("os") < top.index("features") < top.index("on_poweroff")
    assert children(d.root.find("devices"))[0] == "emulator"
    assert parse_domain(d.to_xml()).features == {"acpi", "apic"}


def test_scalar_rules_still_apply():
    d = parse_domain(BASE)
    with pytest.raises(DriverError) as e:
        d.name = "a/b"
    assert e.value.code == C.VIR_ERR_XML_ERROR and d.name == "p1"
    d.vcpus = 4
    d.vcpus_current = 2
    assert d.root.find("vcpu").get("current") == "2" and d.root.findtext("vcpu") == "4"
    d.vcpus = 1  # the current count is clamped, and the attribute goes
    assert d.vcpus_current == 1 and d.root.find("vcpu").get("current") is None
    d.memory_kib = 1024  # the balloon follows the new maximum
    assert (d.memory_kib, d.current_memory_kib) == (1024, 1024)
    with pytest.raises(DriverError) as e:
        d.on_poweroff = "coredump-destroy"
    assert e.value.code == C.VIR_ERR_CONFIG_UNSUPPORTED and d.on_poweroff == "destroy"
    with pytest.raises(DriverError):
        d.type = "nosuchhypervisor"
    assert d.type == "test"


def test_device_writes_are_checked_and_reach_the_domain():
    d = parse_domain(BASE)
    text = d.to_xml()
    nic = d.interfaces[0]
    with pytest.raises(DriverError):
        nic.target_dev = "vnet0; rm -rf /"  # a hostile interface name never reaches the tree
    assert d.to_xml() == text
    nic.target_dev = "vnet7"
    assert children(nic.element) == ["mac", "source", "target"] and d.to_xml() != text
    d.disks[0].source = None  # eject: <source> goes
    assert d.disks[0].source is None and d.root.find("devices/disk/source") is None
    d.disks[0].source = "/var/lib/c.img"
    assert children(d.disks[0].element)[0] == "source"


def test_copy_is_independent_and_needs_no_reparse():
    d = parse_domain(BASE)
    c = d.copy()
    c.kernel = "/k"
    c.interfaces[0].mac = "52:54:00:AA:BB:CC"
    assert d.kernel is None and d.interfaces[0].mac == "52:54:00:11:22:33"
    assert c.interfaces[0].mac == "52:54:00:aa:bb:cc"
    assert isinstance(c, DomainDef) and c.name == "p1"


def test_created_elements_follow_real_libvirt_order():
    """Property writes on a bare domain, then the same document through libvirt's own formatter."""
    libvirt = real_libvirt()
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    d = parse_domain(BASE.replace("<graphics type='vnc'/>", "").replace("<console type='pty'/>", ""))
    # written in an order unlike libvirt's; each write places its element itself
    d.boot_devs = ["network", "hd"]
    d.cmdline = "console=ttyS0"
    d.initrd = "/boot/initrd"
    d.kernel = "/boot/vmlinuz"
    d.loader = "/usr/share/seabios/bios.bin"
    d.features = ["pae", "acpi"]
    d.emulator = "/usr/bin/test-hv"
    ours = d.root
    conn = libvirt.open("test:///default")
    try:
        dom = conn.defineXML(d.to_xml(secure=False))
        try:
            theirs = etree.fromstring(dom.XMLDesc(0).encode())
        finally:
            dom.undefine()
    finally:
        conn.close()
    for path in ("os", "devices"):
        mine = [t for t in children(ours.find(path))]
        real = [t for t in children(theirs.find(path)) if t in mine]
        assert [t for t in mine if t in real] == real, path
    top_real = [t for t in children(theirs) if t in children(ours)]
    assert [t for t in children(ours) if t in top_real] == top_real


def test_primed_fields_agree_with_the_properties_over_libvirts_inputs():
    """DomainDef keeps its hot fields from one pass at parse time: the same values its properties read."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "data" / "libvirt" / "domain"
    hot = [DomainDef._type, DomainDef._id, DomainDef._name, DomainDef._uuid, DomainDef._memory,
           DomainDef._current_memory, DomainDef._vcpus, DomainDef._vcpus_current, DomainDef._os_type]
    checked = 0
    for path in sorted(data.glob("*/*.xml")):
        try:
            d = parse_domain(path.read_bytes(), hypervisor="test")
        except DriverError:
            continue
        primed = [d._cache.get(p, "missing") for p in hot]
        assert primed == [p.load(d) for p in hot], path.name
        checked += 1
    assert checked > 1000


def _assert_store_matches_tree(d: DomainDef) -> None:
    from guiapp.backend.xml.props import XMLChildList, XMLProperty

    for name, prop in vars(type(d).__mro__[1]).items():  # DomainFields' declarations
        if isinstance(prop, XMLProperty):
            assert prop.__get__(d, DomainDef) == prop.load(d), name
        elif isinstance(prop, XMLChildList):
            assert [n.element for n in prop.__get__(d, DomainDef)] == prop.path.find_all(d.root), name
    # the cached text is the tree's (compared through lxml's own serializer: to_xml writes libvirt's ' quotes)
    text = d.to_xml(secure=False)
    assert etree.tostring(etree.fromstring(text), encoding="unicode") == etree.tostring(d.root, encoding="unicode")


def test_what_a_write_drops_keeps_the_kept_values_true():
    """A write drops only what was read under the child it changed; everything kept still equals the tree."""
    d = parse_domain(BASE)
    writes = [
        lambda: setattr(d, "id", 7), lambda: setattr(d, "name", "p2"), lambda: setattr(d, "memory_kib", 2048),
        lambda: setattr(d, "vcpus", 3), lambda: setattr(d, "vcpus_current", 2), lambda: setattr(d, "kernel", "/k"),
        lambda: setattr(d, "boot_devs", ["cdrom"]), lambda: setattr(d, "features", ["acpi"]),
        lambda: setattr(d.graphics[0], "port", 5901), lambda: setattr(d.consoles[0], "path", "/dev/pts/4"),
        lambda: setattr(d.disks[0], "source", None), lambda: setattr(d.interfaces[0], "target_dev", "vnet3"),
        lambda: d.disks.append(etree.fromstring("<disk type='file' device='cdrom'><target dev='hdc'/></disk>")),
        lambda: d.disks.remove(d.disks[0]), lambda: setattr(d, "emulator", "/usr/bin/x"),
        lambda: setattr(d, "on_crash", "restart"), lambda: setattr(d, "id", None),
    ]
    for write in writes:
        _assert_store_matches_tree(d)  # reads everything: the store is full before each write
        write()
        _assert_store_matches_tree(d)
    # the raw <disk> appended above gets libvirt's parse defaults (bus, readonly, address) at the next parse;
    # after that one parse the text is stable and keeps every written value
    again = parse_domain(d.to_xml())
    assert parse_domain(again.to_xml()).to_xml() == again.to_xml()
    fields = ("name", "memory_kib", "vcpus", "vcpus_current", "kernel", "boot_devs", "features", "emulator", "on_crash")
    assert [getattr(again, f) for f in fields] == [getattr(d, f) for f in fields]
    assert [(x.device, x.target, x.source) for x in again.disks] == [(x.device, x.target, x.source) for x in d.disks]
