"""The domain XML model: the seed's four examples, the six network modes, today's libvirt XML, errors."""

import re
import uuid as uuidlib
from pathlib import Path

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import (
    MAC_PREFIX_QEMU,
    MAC_PREFIX_XEN,
    DomainDef,
    format_uuid,
    parse_domain,
    parse_mac,
    parse_memory,
    parse_uuid,
)
from guiapp.backend.xml.serialize import to_text

SEED = Path(__file__).resolve().parents[2] / "data" / "seed"
SEED_DOMAINS = ["fc4_pv.xml", "fv0_hvm.xml", "kvm_demo2.xml", "qemu_fedora.xml"]
NET_FILES = sorted(p.name for p in SEED.glob("net_*.xml"))
ALL_FILES = SEED_DOMAINS + NET_FILES


def seed(name: str) -> str:
    return (SEED / name).read_text()


def D(body: str = "", *, type_: str = "kvm", name: str = "demo", memory: str = "<memory>131072</memory>",
      os: str = "<os><type>hvm</type></os>") -> str:
    return f"<domain type='{type_}'><name>{name}</name>{memory}{os}{body}</domain>"


def dev(devices: str, **kw) -> str:
    return D(f"<devices>{devices}</devices>", **kw)


def err(xml, **kw) -> DriverError:
    with pytest.raises(DriverError) as info:
        parse_domain(xml, **kw)
    return info.value


# -- the seed's examples -----------------------------------------------------------------

def test_seed_files_are_the_seed_examples_verbatim():
    repo = Path(__file__).resolve().parents[3]
    candidates = [repo.parent / "shared" / "seed", Path("/work/shared/seed")]
    pages = [p for c in candidates if c.is_dir() for p in sorted(c.glob("*.txt"))]
    if not pages:
        pytest.skip("seed text not available")
    page = pages[0].read_text()
    for name in SEED_DOMAINS:
        assert seed(name).rstrip("\n") in page


def test_fc4_xen_paravirt():
    d = parse_domain(seed("fc4_pv.xml"))
    assert (d.type, d.id, d.name) == ("xen", 18, "fc4")
    assert d.os_type == "linux"
    assert d.kernel == "/boot/vmlinuz-2.6.15-1.43_FC5guest"
    assert d.initrd == "/boot/initrd-2.6.15-1.43_FC5guest.img"
    assert d.root_dev == "/dev/sda1"
    assert d.cmdline == " ro selinux=0 3"  # leading space kept verbatim
    assert (d.memory_kib, d.current_memory_kib, d.vcpus, d.vcpus_current) == (131072, 131072, 1, 1)
    assert (d.on_poweroff, d.on_reboot, d.on_crash) == ("destroy", "restart", "destroy")
    [disk] = d.disks
    assert (disk.type, disk.device, disk.source, disk.target) == ("file", "disk", "/u/fc4.img", "sda1")
    [nic] = d.interfaces
    assert (nic.type, nic.bridge, nic.mac, nic.script) == ("bridge", "xenbr0", "aa:00:00:00:00:11",
                                                            "/etc/xen/scripts/vif-bridge")
    [con] = d.consoles
    assert (con.type, con.tty, con.path) == ("pty", "/dev/pts/5", "/dev/pts/5")
    assert len(d.uuid) == 16 and uuidlib.UUID(d.uuid_str).version == 4  # generated


def test_fv0_xen_hvm():
    d = parse_domain(seed("fv0_hvm.xml"))
    assert (d.type, d.id, d.name) == ("xen", 3, "fv0")
    assert d.uuid_str == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"  # given without dashes
    assert d.uuid == bytes.fromhex("4dea22b31d52d8f32516782e98ab3fa0")
    assert d.os_type == "hvm" and d.loader == "/usr/lib/xen/boot/hvmloader"
    assert d.boot_devs == ["hd"]
    assert d.features == {"pae", "acpi", "apic"}
    assert (d.on_poweroff, d.on_reboot, d.on_crash) == ("destroy", "restart", "restart")
    assert d.emulator == "/usr/lib/xen/bin/qemu-dm"
    assert [(x.device, x.source, x.target, x.readonly) for x in d.disks] == [
        ("disk", "/root/fv0", "hda", False),
        ("cdrom", "/root/fc5-x86_64-boot.iso", "hdc", True),
        ("floppy", "/root/fd.img", "fda", False),
    ]
    [nic] = d.interfaces
    assert (nic.type, nic.bridge, nic.mac, nic.script) == ("bridge", "xenbr0", "00:16:3e:5d:c7:9e", "vif-bridge")
    [g] = d.graphics
    assert (g.type, g.port, g.autoport) == ("vnc", 5904, False)


def test_kvm_demo2():
    d = parse_domain(seed("kvm_demo2.xml"))
    assert (d.type, d.id, d.uuid_str) == ("kvm", None, "4dea24b3-1d52-d8f3-2516-782e98a23fa0")
    assert d.emulator == "/home/user/usr/kvm-devel/bin/qemu-system-x86_64"
    [disk] = d.disks
    assert (disk.device, disk.source, disk.target) == ("disk", "/home/user/fedora/diskboot.img", "hda")
    [nic] = d.interfaces
    assert (nic.type, nic.mac) == ("user", "24:42:53:21:52:45")
    [g] = d.graphics
    assert (g.type, g.port, g.autoport) == ("vnc", -1, True)


def test_qemu_fedora():
    d = parse_domain(seed("qemu_fedora.xml"))
    assert (d.type, d.name) == ("qemu", "QEmu-fedora-i686")
    assert (d.arch, d.machine) == ("i686", "pc")
    assert (d.memory_kib, d.current_memory_kib, d.vcpus) == (219200, 219200, 2)
    assert d.boot_devs == ["cdrom"]
    # libvirt's disk order (virDomainDiskInsert): hda before the seed's earlier hdc
    assert [(x.device, x.target, x.readonly) for x in d.disks] == [("disk", "hda", False), ("cdrom", "hdc", True)]
    [nic] = d.interfaces
    assert (nic.type, nic.network) == ("network", "default")  # <source name='default'/> as the seed writes
    assert nic.mac.startswith(MAC_PREFIX_QEMU + ":")


_NORMALIZED_TEXT = {"uuid", "memory", "currentMemory"}


def _assert_equivalent(src: etree._Element, out: etree._Element, path: str = "") -> None:
    """Every element/attribute/text of ``src`` is in ``out`` at the same place (normalizations aside)."""
    assert out.tag == src.tag, path
    here = f"{path}/{src.tag}"
    for k, v in src.attrib.items():
        if k == "address" and src.tag == "mac":
            assert out.get(k) == v.lower(), here
        else:
            assert out.get(k) == v, f"{here}@{k}"
    if len(src) == 0 and src.tag not in _NORMALIZED_TEXT:
        if len(out) == 0:
            assert (out.text or "") == (src.text or ""), here  # leaf text is kept verbatim
        else:  # an element the parser added children to (a generated <mac>)
            assert (out.text or "").strip() == (src.text or "").strip(), here
    for tag in dict.fromkeys(c.tag for c in src if isinstance(c.tag, str)):
        src_children = src.findall(tag)
        out_children = out.findall(tag)
        assert len(out_children) == len(src_children), f"{here}/{tag}"
        if tag == "disk":  # libvirt orders disks by bus and target (virDomainDiskInsert): match them by target
            src_children.sort(key=lambda e: e.find("target").get("dev"))
            out_children.sort(key=lambda e: e.find("target").get("dev"))
        for a, b in zip(src_children, out_children, strict=True):
            _assert_equivalent(a, b, here)


@pytest.mark.parametrize("name", ALL_FILES)
def test_formats_back_equivalent_element_by_element(name):
    text = seed(name)
    d = parse_domain(text)
    out = etree.fromstring(d.to_xml(secure=False))
    _assert_equivalent(etree.fromstring(text), out)
    # normalized values
    mem = out.find("memory")
    assert mem.get("unit") == "KiB"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", out.findtext("uuid"))
    for tag in ("on_poweroff", "on_reboot", "on_crash", "currentMemory", "vcpu"):
        assert out.find(tag) is not None, tag


@pytest.mark.parametrize("name", ALL_FILES)
def test_round_trip_is_stable(name):
    once = parse_domain(seed(name)).to_xml()
    twice = parse_domain(once).to_xml()
    assert once == twice
    assert parse_domain(twice).to_xml() == twice
    assert parse_domain(once).to_xml(inactive=True) == parse_domain(twice).to_xml(inactive=True)


def test_output_is_indented_with_two_spaces():
    out = parse_domain(seed("fv0_hvm.xml")).to_xml()
    lines = out.splitlines()
    assert lines[0].startswith("<domain ")
    assert "  <name>fv0</name>" in lines
    assert "    <pae/>" in lines  # the seed's 5-space indent is normalized
    assert "      <source file='/root/fv0'/>" in lines
    assert out.endswith("</domain>\n")


# -- network modes -----------------------------------------------------------------------

def _nics(name):
    return parse_domain(seed(name)).interfaces


def test_net_user():
    a, b = _nics("net_user.xml")
    assert a.type == b.type == "user"
    assert a.mac.startswith("52:54:00:") and b.mac == "10:22:33:44:55:66"


def test_net_network():
    a, b, c = _nics("net_network.xml")
    assert [n.network for n in (a, b, c)] == ["default"] * 3
    assert (b.target_dev, b.mac) == ("vnet7", "12:22:33:44:55:66")


def test_net_bridge():
    a, b, c = _nics("net_bridge.xml")
    assert (a.bridge, b.bridge, c.bridge) == ("br0", "br0", "xenbr0")  # source dev= as the seed writes
    assert b.target_dev == "vnet7" and c.script == "/etc/xen/scripts/vif-bridge"


def test_net_ethernet():
    a, b = _nics("net_ethernet.xml")
    assert a.type == b.type == "ethernet"
    assert (b.target_dev, b.script) == ("vnet7", "/etc/qemu-ifup-mynet")


@pytest.mark.parametrize("name,type_,addr,port", [
    ("net_mcast.xml", "mcast", "230.0.0.1", 5558),
    ("net_server.xml", "server", "192.168.0.1", 5558),
    ("net_client.xml", "client", "192.168.0.1", 5558),
    ("net_udp.xml", "udp", "127.0.0.1", 11111),
])
def test_net_socket_modes(name, type_, addr, port):
    [n] = _nics(name)
    assert (n.type, n.source_address, n.source_port) == (type_, addr, port)
    if type_ == "udp":
        assert (n.local_address, n.local_port, n.model) == ("127.0.0.1", 22222, "virtio")


# -- today's libvirt XML -----------------------------------------------------------------

@pytest.mark.parametrize("value,unit,kib", [
    ("1", None, 1), ("1", "KiB", 1), ("1", "k", 1), ("1", "K", 1), ("1", "KB", 1),  # 1000 bytes -> 1 KiB
    ("1024", "b", 1), ("1025", "bytes", 2), ("1048577", "b", 1025),
    ("1", "MiB", 1024), ("1", "M", 1024), ("1", "MB", 977), ("2", "GiB", 2 * 1024 ** 2), ("1", "G", 1024 ** 2),
    ("1", "GB", 976563), ("1", "TiB", 1024 ** 3), ("1", "T", 1024 ** 3), ("1", "PiB", 1024 ** 4),
])
def test_memory_units_convert_to_kib_like_libvirt(value, unit, kib):
    assert parse_memory(value, unit) == kib


def test_memory_units_in_documents():
    d = parse_domain(D(memory="<memory unit='GiB'>1</memory><currentMemory unit='MiB'>512</currentMemory>"))
    assert (d.memory_kib, d.current_memory_kib) == (1048576, 524288)
    out = d.to_xml()
    assert "<memory unit='KiB'>1048576</memory>" in out
    assert "<currentMemory unit='KiB'>524288</currentMemory>" in out


def test_current_memory_is_clamped_to_memory():
    d = parse_domain(D(memory="<memory>1024</memory><currentMemory>4096</currentMemory>"))
    assert d.current_memory_kib == 1024
    assert "<currentMemory unit='KiB'>1024</currentMemory>" in d.to_xml()


def test_vcpu_current():
    d = parse_domain(D("<vcpu current='2'>4</vcpu>"))
    assert (d.vcpus, d.vcpus_current) == (4, 2)
    assert "<vcpu placement='static' current='2'>4</vcpu>" in d.to_xml()  # libvirt's attribute order


FULL = dev("""
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/x.img'/>
    <target dev='vda' bus='virtio'/><boot order='1'/></disk>
  <disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdb' bus='virtio'/></disk>
  <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
  <serial type='pty'><source path='/dev/pts/3'/><target port='0'/></serial>
  <console type='pty' tty='/dev/pts/3'><source path='/dev/pts/3'/><target type='serial' port='0'/></console>
  <graphics type='vnc' port='5901' autoport='yes' listen='0.0.0.0' passwd='secret'>
    <listen type='address' address='0.0.0.0'/></graphics>
  <graphics type='vnc' socket='/run/vnc.sock'/>
  <graphics type='spice' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics>
  <input type='tablet' bus='usb'/>
  <video><model type='vga' vram='16384' heads='1'/></video>
  <memballoon model='virtio'/>
  <foo bar='1'><baz>keep me</baz></foo>
""", type_="kvm") .replace("<os>", "<clock offset='utc'/><metadata><app:info xmlns:app='http://example.org/app'>x"
                                   "</app:info></metadata><os>")


def test_modern_devices():
    d = parse_domain(FULL)
    a, b, c = d.disks
    assert (a.type, a.source, a.target, a.bus, a.format, a.driver_name, a.boot_order) == (
        "file", "/x.img", "vda", "virtio", "qcow2", "qemu", 1)
    assert (b.type, b.source, b.target) == ("block", "/dev/sdb", "vdb")
    assert (c.device, c.source, c.readonly, c.bus) == ("cdrom", None, True, "ide")  # empty drive is fine
    [s] = d.serials
    assert (s.type, s.path, s.target_port) == ("pty", "/dev/pts/3", 0)
    [con] = d.consoles
    assert (con.type, con.path, con.target_port, con.target_type) == ("pty", "/dev/pts/3", 0, "serial")
    g1, g2, g3 = d.graphics
    assert (g1.type, g1.port, g1.autoport, g1.listen, g1.passwd) == ("vnc", 5901, True, "0.0.0.0", "secret")
    assert (g2.socket, g2.autoport, g2.port) == ("/run/vnc.sock", False, None)
    assert (g3.type, g3.listen, g3.autoport) == ("spice", "127.0.0.1", True)


def test_unmodelled_elements_are_kept():
    out = parse_domain(FULL).to_xml()
    for piece in ("<clock offset='utc'/>", "<input type='tablet' bus='usb'/>", "<memballoon model='virtio'/>",
                  "<model type='vga' vram='16384' heads='1' primary='yes'/>", "<baz>keep me</baz>",
                  "<foo bar='1'>",
                  'xmlns:app="http://example.org/app"', "</app:info>"):  # metadata: libxml2's dump, as libvirt
        assert piece in out, piece
    assert parse_domain(out).to_xml() == out


def test_comments_survive():
    out = parse_domain(D("<!-- a note --><devices><!-- inside --></devices>")).to_xml()
    assert "<!-- a note -->" in out and "<!-- inside -->" in out


# -- generated values ------------------------------------------------------------------------

def test_missing_uuid_is_generated_and_placed_after_name():
    d = parse_domain(D())
    assert uuidlib.UUID(d.uuid_str).bytes == d.uuid
    root = etree.fromstring(d.to_xml())
    assert [c.tag for c in root][:2] == ["name", "uuid"]
    assert parse_domain(D()).uuid != d.uuid


@pytest.mark.parametrize("type_,hypervisor,prefix", [
    ("kvm", None, MAC_PREFIX_QEMU), ("qemu", None, MAC_PREFIX_QEMU), ("test", None, MAC_PREFIX_QEMU),
    ("xen", None, MAC_PREFIX_XEN), ("kvm", "xen", MAC_PREFIX_XEN), ("xen", "qemu", MAC_PREFIX_QEMU),
])
def test_missing_mac_is_generated_with_the_hypervisor_prefix(type_, hypervisor, prefix):
    d = parse_domain(dev("<interface type='user'/><interface type='network'><source network='default'/>"
                         "</interface>", type_=type_), hypervisor=hypervisor)
    macs = [n.mac for n in d.interfaces]
    assert all(m.startswith(prefix + ":") for m in macs), macs
    assert all(parse_mac(m) == m for m in macs)
    root = etree.fromstring(d.to_xml())
    for nic, mac in zip(root.iter("interface"), macs, strict=True):
        assert nic[0].tag == "mac" and nic[0].get("address") == mac  # libvirt puts <mac> first


def test_mac_is_lowercased():
    d = parse_domain(dev("<interface type='user'><mac address='AA:BB:CC:DD:EE:F0'/></interface>"))
    assert d.interfaces[0].mac == "aa:bb:cc:dd:ee:f0"
    assert "address='aa:bb:cc:dd:ee:f0'" in d.to_xml()


@pytest.mark.parametrize("attr", ["", " type=''"])
def test_missing_type_is_refused_like_libvirt(attr):
    """Issue 15 replaces the seed's 'xen' default: libvirt 9.0 refuses a domain without a type."""
    e = err(f"<domain{attr}><name>a</name><memory>1024</memory><os><type>linux</type></os></domain>")
    assert e.code == C.VIR_ERR_INTERNAL_ERROR and "missing domain type attribute" in e.detail


def test_uuid_helpers():
    raw = parse_uuid(" 4dea24b3-1d52-d8f3-2516-782e98a23fa0 ")
    assert format_uuid(raw) == "4dea24b3-1d52-d8f3-2516-782e98a23fa0"
    assert parse_uuid("4DEA24B31D52D8F32516782E98A23FA0") == raw


# -- validation errors ------------------------------------------------------------------------

ERRORS = [
    # (xml, code, substring of the message)
    ("<foo/>", C.VIR_ERR_XML_ERROR, "expecting root element of 'domain', not 'foo'"),
    ("<domain xmlns='http://x'><name>a</name></domain>", C.VIR_ERR_XML_ERROR, "no namespace"),
    ("<domain type='kvm'><memory>1</memory><os><type>hvm</type></os></domain>", C.VIR_ERR_NO_NAME,
     "missing name information"),
    (D(name=""), C.VIR_ERR_NO_NAME, "missing name information"),
    (D(name="a/b"), C.VIR_ERR_XML_ERROR, "name a/b cannot contain '/'"),
    (D(name="a\tb"), C.VIR_ERR_XML_ERROR, "control characters"),
    (D("<uuid>zz</uuid>"), C.VIR_ERR_INTERNAL_ERROR, "malformed uuid element"),
    (D("<uuid>4dea24b3-1d52-d8f3-2516-782e98a23fa</uuid>"), C.VIR_ERR_INTERNAL_ERROR, "malformed uuid element"),
    (D(memory=""), C.VIR_ERR_XML_ERROR, "memory size must be specified"),
    (D(memory="<memory>0</memory>"), C.VIR_ERR_XML_ERROR, "memory size must be greater than 0"),
    (D(memory="<memory>abc</memory>"), C.VIR_ERR_XML_ERROR, "memory size must be a whole"),
    (D(memory="<memory>-5</memory>"), C.VIR_ERR_XML_ERROR, "memory size must be a whole"),
    (D(memory="<memory>1.5</memory>"), C.VIR_ERR_XML_ERROR, "memory size must be a whole"),
    (D(memory="<memory unit='XB'>5</memory>"), C.VIR_ERR_INVALID_ARG, "unknown unit 'XB'"),
    (D(memory="<memory unit='EiB'>99</memory>"), C.VIR_ERR_XML_ERROR, "too large"),
    (D("<vcpu>0</vcpu>"), C.VIR_ERR_XML_ERROR, "vcpu count must be at least 1"),
    (D("<vcpu>-1</vcpu>"), C.VIR_ERR_XML_ERROR, "maximum vcpus count must be an integer"),
    (D("<vcpu>abc</vcpu>"), C.VIR_ERR_XML_ERROR, "maximum vcpus count must be an integer"),
    (D("<vcpu current='5'>2</vcpu>"), C.VIR_ERR_CONFIG_UNSUPPORTED, "must not be less than current"),
    (D("<vcpu current='0'>2</vcpu>"), C.VIR_ERR_XML_ERROR, "current vcpus count must be at least 1"),
    (D("<on_reboot>explode</on_reboot>"), C.VIR_ERR_CONFIG_UNSUPPORTED, "unknown on_reboot action: explode"),
    (D("<on_poweroff></on_poweroff>"), C.VIR_ERR_CONFIG_UNSUPPORTED, "unknown on_poweroff action"),
    (D("<on_reboot>coredump-restart</on_reboot>"), C.VIR_ERR_CONFIG_UNSUPPORTED, "doesn't support"),
    (D(os=""), C.VIR_ERR_XML_ERROR, "an os <type> must be specified"),
    (D(os="<os><boot dev='hd'/></os>"), C.VIR_ERR_XML_ERROR, "an os <type> must be specified"),
    (D(os="<os><type>foo</type></os>"), C.VIR_ERR_CONFIG_UNSUPPORTED, "unknown OS type"),
    (D(os="<os><type>hvm</type><boot dev='usb'/></os>"), C.VIR_ERR_XML_ERROR, "unknown boot device 'usb'"),
    ("<domain type='bogus'><name>a</name><memory>1</memory><os><type>hvm</type></os></domain>",
     C.VIR_ERR_CONFIG_UNSUPPORTED, "invalid domain type bogus"),
    (D("<name>b</name>"), C.VIR_ERR_XML_ERROR, "more than once"),
    (dev("<interface type='foo'/>"), C.VIR_ERR_XML_ERROR, "'type' in element 'interface': 'foo'"),
    (dev("<interface type='user'><mac address='11:22:33:44:55:66:'/></interface>"), C.VIR_ERR_XML_ERROR,
     "unable to parse mac address '11:22:33:44:55:66:'"),
    (dev("<interface type='user'><mac address='zz:22:33:44:55:66'/></interface>"), C.VIR_ERR_XML_ERROR,
     "unable to parse mac address"),
    (dev("<interface type='user'><mac address='01:22:33:44:55:66'/></interface>"), C.VIR_ERR_XML_ERROR,
     "expected unicast mac address, found multicast"),
    (dev("<interface type='network'/>"), C.VIR_ERR_XML_ERROR, "interface type='network' requires a 'source'"),
    (dev("<interface type='network'><source/></interface>"), C.VIR_ERR_XML_ERROR, "attribute 'network'"),
    (dev("<interface type='bridge'/>"), C.VIR_ERR_XML_ERROR, "interface type='bridge' requires a 'source'"),
    (dev("<interface type='mcast'><source address='nohost' port='5558'/></interface>"), C.VIR_ERR_XML_ERROR,
     "invalid multicast address"),
    (dev("<interface type='mcast'><source port='5558'/></interface>"), C.VIR_ERR_XML_ERROR, "'address'"),
    (dev("<interface type='mcast'><source address='230.0.0.1'/></interface>"), C.VIR_ERR_XML_ERROR, "'port'"),
    (dev("<interface type='server'><source address='192.168.0.1' port='70000'/></interface>"),
     C.VIR_ERR_XML_ERROR, "out of range"),
    (dev("<interface type='client'><source address='192.168.0.1' port='0'/></interface>"),
     C.VIR_ERR_XML_ERROR, "out of range"),
    (dev("<interface type='client'><source address='192.168.0.1' port='abc'/></interface>"),
     C.VIR_ERR_XML_ERROR, "cannot parse port"),
    (dev("<interface type='client'/>"), C.VIR_ERR_XML_ERROR, "requires a 'source'"),
    (dev("<disk type='file'><source file='/a'/></disk>"), C.VIR_ERR_NO_TARGET, "/a"),
    (dev("<disk type='file'><source file='/a'/><target/></disk>"), C.VIR_ERR_NO_TARGET, "missing target"),
    (dev("<disk type='file' device='disk'><target dev='hda'/></disk>"), C.VIR_ERR_NO_SOURCE, "hda"),
    (dev("<disk type='zzz'><source file='/a'/><target dev='hda'/></disk>"), C.VIR_ERR_XML_ERROR, "'zzz'"),
    (dev("<disk type='file' device='zzz'><source file='/a'/><target dev='hda'/></disk>"), C.VIR_ERR_XML_ERROR,
     "'device'"),
    (dev("<disk type='file'><source file='/a'/><target dev='hda'/></disk>"
         "<disk type='file'><source file='/b'/><target dev='hda'/></disk>"), C.VIR_ERR_XML_ERROR,
     "target 'hda' duplicated for disk sources '/a' and '/b'"),
    (dev("<disk type='file'><source file='/a'/><target dev='hda'/><boot order='0'/></disk>"),
     C.VIR_ERR_XML_ERROR, "boot order"),
    (dev("<graphics type='zzz'/>"), C.VIR_ERR_XML_ERROR, "'type' in element 'graphics'"),
    (dev("<graphics type='vnc' port='abc'/>"), C.VIR_ERR_XML_ERROR, "cannot parse vnc port 'abc'"),
    (dev("<graphics type='vnc' port='70000'/>"), C.VIR_ERR_XML_ERROR, "out of range"),
    (dev("<graphics type='vnc' port='-2'/>"), C.VIR_ERR_XML_ERROR, "out of range"),
    (dev("<graphics type='vnc' autoport='maybe'/>"), C.VIR_ERR_XML_ERROR, "'yes' or 'no'"),
    (dev("<serial type='bogus'/>"), C.VIR_ERR_XML_ERROR, "element 'serial'"),
    (dev("<serial type='pty'><target port='x'/></serial>"), C.VIR_ERR_XML_ERROR, "serial target port"),
    ("<domain type='kvm' id='x'><name>a</name><memory>1</memory><os><type>hvm</type></os></domain>",
     C.VIR_ERR_XML_ERROR, "invalid domain id"),
]


@pytest.mark.parametrize("xml,code,text", ERRORS, ids=[f"{i}-{e[2][:30]}" for i, e in enumerate(ERRORS)])
def test_validation_errors(xml, code, text):
    e = err(xml)
    assert e.code == code
    # libvirt 9.0: XML-level problems come from VIR_FROM_XML, a bad unit from VIR_FROM_NONE (tests/backend/conformance)
    by_xml = ("expecting root", "no namespace", "memory size must be a whole", "'type' in element 'graphics'")
    expected = C.VIR_FROM_XML if text.startswith(by_xml) else C.VIR_FROM_NONE if "unknown unit" in text \
        else C.VIR_FROM_DOMAIN
    assert e.domain == expected
    assert text in str(e)


def test_errors_say_what_to_fix():
    assert "e.g." in str(err(D(memory="")))
    assert "224.0.0.0/4" in str(err(dev("<interface type='mcast'><source address='nogroup' port='1'/></interface>")))
    assert "<target dev=" in str(err(dev("<disk type='file'><source file='/a'/></disk>")))
    assert "<os><type>hvm</type></os>" in str(err(D(os="")))


def test_lifecycle_actions():
    d = parse_domain(D("<on_poweroff>preserve</on_poweroff><on_reboot>rename-restart</on_reboot>"
                       "<on_crash>coredump-restart</on_crash>"))
    assert (d.on_poweroff, d.on_reboot, d.on_crash) == ("preserve", "rename-restart", "coredump-restart")
    d.on_crash = "coredump-destroy"
    assert "<on_crash>coredump-destroy</on_crash>" in d.to_xml()
    with pytest.raises(DriverError):
        d.on_reboot = "coredump-destroy"


def test_cdrom_and_floppy_may_be_empty():
    d = parse_domain(dev("<disk type='file' device='cdrom'><target dev='hdc'/></disk>"
                         "<disk type='file' device='floppy'><target dev='fda'/></disk>"))
    assert [x.source for x in d.disks] == [None, None]


# -- setters, formatting variants, copies ---------------------------------------------------------------

def test_setters_update_the_tree_and_the_cached_text():
    d = parse_domain(seed("kvm_demo2.xml"))
    before = d.to_xml()
    assert d.to_xml() is before  # cached
    d.memory_kib = 262144
    d.current_memory_kib = 200000
    d.vcpus = 4
    d.vcpus_current = 2
    d.name = "renamed"
    d.id = 7
    out = d.to_xml()
    assert out is not before
    root = etree.fromstring(out)
    assert root.get("id") == "7"
    assert root.findtext("name") == "renamed"
    assert root.findtext("memory") == "262144" and root.findtext("currentMemory") == "200000"
    assert root.findtext("vcpu") == "4" and root.find("vcpu").get("current") == "2"
    d.id = None
    assert "id=" not in d.to_xml().splitlines()[0]
    # lowering the maximum clamps the current values, like virDomainSetMaxMemory
    d.memory_kib = 100000
    assert d.current_memory_kib == 100000
    d.vcpus = 1
    assert d.vcpus_current == 1 and etree.fromstring(d.to_xml()).find("vcpu").get("current") is None
    with pytest.raises(DriverError) as info:
        d.current_memory_kib = 100001
    assert info.value.code == C.VIR_ERR_INVALID_ARG
    with pytest.raises(DriverError):
        d.name = "a/b"
    with pytest.raises(DriverError):
        d.vcpus_current = 2
    assert parse_domain(d.to_xml()).to_xml() == d.to_xml()


def test_arch_machine_and_device_setters():
    d = parse_domain(FULL)
    d.arch, d.machine = "x86_64", "pc-q35-7.2"
    d.disks[2].source = "/iso/boot.iso"
    d.graphics[0].port = 5907
    d.serials[0].path = "/dev/pts/9"
    root = etree.fromstring(d.to_xml())
    t = root.find("os/type")
    assert (t.get("arch"), t.get("machine")) == ("x86_64", "pc-q35-7.2")
    assert root.findall("devices/disk")[2].find("source").get("file") == "/iso/boot.iso"
    assert root.find("devices/graphics").get("port") == "5907"
    assert root.find("devices/serial/source").get("path") == "/dev/pts/9"
    d.disks[2].source = None  # eject
    assert parse_domain(d.to_xml()).disks[2].source is None
    assert parse_domain(d.to_xml()).to_xml() == d.to_xml()


def test_inactive_drops_runtime_state():
    d = parse_domain(FULL.replace("<domain type='kvm'>", "<domain type='kvm' id='4'>"))
    live = etree.fromstring(d.to_xml())
    assert live.get("id") == "4"
    assert live.find("devices/graphics").get("port") == "5901"
    cold = etree.fromstring(d.to_xml(inactive=True))
    assert cold.get("id") is None
    assert cold.find("devices/graphics").get("port") == "-1"  # autoport: the port is runtime state
    assert cold.find("devices/serial/source") is None
    con = cold.find("devices/console")
    assert con.get("tty") is None and con.find("source") is None
    assert con.find("target").get("port") == "0"
    # the seed's console form
    fc4 = parse_domain(seed("fc4_pv.xml"))
    assert "tty=" not in fc4.to_xml(inactive=True)
    assert "id='18'" not in fc4.to_xml(inactive=True)
    assert d.to_xml() == to_text(live) + "\n"  # the live text is untouched
    assert parse_domain(d.to_xml(inactive=True)).to_xml() == d.to_xml(inactive=True)


def test_allocated_autoport_is_runtime_state():
    d = parse_domain(seed("kvm_demo2.xml"))
    d.graphics[0].port = 5900  # what a driver does when it starts the domain
    assert "port='5900' autoport='yes'" in d.to_xml()
    assert "port='-1'" in d.to_xml(inactive=True)


def test_fixed_vnc_port_is_kept_when_inactive():
    d = parse_domain(seed("fv0_hvm.xml"))
    assert "port='5904'" in d.to_xml(inactive=True)


def test_secure_drops_passwords_by_default():
    d = parse_domain(FULL)
    assert "passwd" not in d.to_xml()
    assert "passwd='secret'" in d.to_xml(secure=False)
    # libvirt's flags: VIR_DOMAIN_XML_SECURE *keeps* the password
    assert "passwd='secret'" in d.xml_for_flags(C.VIR_DOMAIN_XML_SECURE)
    assert "passwd" not in d.xml_for_flags(0)
    assert "passwd" not in d.xml_for_flags(C.VIR_DOMAIN_XML_INACTIVE)
    assert d.graphics[0].passwd == "secret"  # stripping works on a copy


def test_copy_is_independent():
    a = parse_domain(seed("qemu_fedora.xml"))
    b = a.copy()
    assert b.to_xml() == a.to_xml() and b.root is not a.root
    b.memory_kib = 1024
    b.name = "other"
    b.disks[0].source = "/other.img"  # hda: libvirt's disk order puts it before the seed's hdc CD-ROM
    assert a.memory_kib == 219200 and a.name == "QEmu-fedora-i686"
    assert a.disks[0].source == "/home/user/fedora.img"
    assert "other" not in a.to_xml()


def test_refresh_after_direct_tree_edit():
    d = parse_domain(seed("kvm_demo2.xml"))
    d.to_xml()
    d.root.find("vcpu").text = "3"
    d.refresh()
    assert d.vcpus == 3 and "<vcpu placement='static'>3</vcpu>" in d.to_xml()
    d.root.find("memory").text = "0"
    with pytest.raises(DriverError):
        d.refresh()


def test_domaindef_of_an_element():
    root = etree.fromstring(seed("kvm_demo2.xml"))
    d = DomainDef(root, hypervisor="kvm")
    assert d.root is root and d.name == "demo2"


def test_output_validates_against_libvirt_schema():
    rng = Path("/usr/share/libvirt/schemas/domain.rng")
    if not rng.exists():
        pytest.skip("libvirt's RelaxNG schemas are not installed")
    schema = etree.RelaxNG(etree.parse(str(rng)))
    for text in (seed("kvm_demo2.xml"), seed("fv0_hvm.xml"), seed("net_mcast.xml")):
        out = etree.fromstring(parse_domain(text).to_xml())
        assert schema.validate(out), schema.error_log
