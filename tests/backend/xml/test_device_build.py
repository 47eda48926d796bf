"""backend/xml/device_build.py: device XML of the hardware pages, checked values, accepted by real libvirt."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import real_libvirt
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml import device_build as db
from guiapp.backend.xml.builder import DiskSpec, NicSpec

DOMAIN = """<domain type='test'><name>hw</name><memory>65536</memory><os><type>hvm</type></os><devices>
<disk type='file' device='disk'><source file='/var/lib/a.img'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='cdrom'><source file='/isos/x.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
<interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/></interface>
<graphics type='vnc' port='-1' autoport='yes'/>
<video><model type='vga'/></video>
<sound model='ich9'/>
<input type='tablet' bus='usb'/>
</devices></domain>"""

HOSTILE_PATHS = ["relative/x.img", "/tmp/a\nb.img", "/tmp/a\x00b", "/var/../etc/shadow", "/x/\u2028y", ""]


def refused(fn: Any) -> str:
    with pytest.raises(DriverError) as info:
        fn()
    assert info.value.code == C.VIR_ERR_INVALID_ARG
    return info.value.detail


def test_list_devices_names_each_device() -> None:
    items = db.list_devices(DOMAIN)
    assert [(i.kind, i.key) for i in items] == [
        ("disk", "disk:vda"), ("cdrom", "disk:hdc"), ("interface", "interface:52:54:00:aa:bb:cc"),
        ("graphics", "graphics:0"), ("video", "video:0"), ("sound", "sound:0"), ("input", "input:0")]
    cd = next(i for i in items if i.kind == "cdrom")
    assert cd.label == "CD-ROM hdc" and cd.summary.startswith("/isos/x.iso") and cd.updatable and cd.removable
    assert not next(i for i in items if i.kind == "graphics").removable  # libvirt cannot detach graphics


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_paths_are_refused_everywhere(path: str) -> None:
    assert db.path_problem(path) is not None
    refused(lambda: db.new_disk(DOMAIN, DiskSpec("disk", path, "raw"), "virtio"))
    if path:
        refused(lambda: db.new_disk(DOMAIN, DiskSpec("cdrom", path, "raw"), "sata"))
        refused(lambda: db.disk_with_media(db.list_devices(DOMAIN)[1].xml, path))
    refused(lambda: db.edit_disk(db.list_devices(DOMAIN)[0].xml, path, False))
    refused(lambda: db.new_filesystem(path, "share"))


@pytest.mark.parametrize("listen", ["localhost' autoport='no", "1.2.3.4 ", "::g", "0.0.0.0/8", ""])
def test_hostile_listen_addresses_are_refused(listen: str) -> None:
    assert "not an IP address" in refused(lambda: db.new_graphics("vnc", listen))
    refused(lambda: db.edit_graphics(db.list_devices(DOMAIN)[3].xml, listen=listen, port=-1))


def test_other_hostile_values() -> None:
    nic = db.list_devices(DOMAIN)[2].xml
    refused(lambda: db.edit_nic(nic, source="net/../x", model="", link_up=True))
    refused(lambda: db.edit_nic(nic, source="default", model="e1000'/><x y='", link_up=True))
    refused(lambda: db.new_nic(NicSpec(mode="bridge", bridge="br0;reboot")))
    refused(lambda: db.new_nic(NicSpec(mode="ethernet", target_dev="tap 0")))
    refused(lambda: db.new_nic(NicSpec(mode="mcast", address="230.0.0.1\n", port=5558)))
    refused(lambda: db.new_filesystem("/srv/share", "tag with space"))
    refused(lambda: db.new_graphics("vnc", "127.0.0.1", 80))
    refused(lambda: db.new_video("virtio' accel3d='yes"))
    refused(lambda: db.new_input("tablet", "serial"))
    refused(lambda: db.new_disk(DOMAIN, DiskSpec("disk", "/x.img", "vmdk"), "virtio"))
    refused(lambda: db.new_disk(DOMAIN, DiskSpec("disk", "", ""), "virtio"))  # a disk needs an image


def test_new_disk_takes_the_first_free_target() -> None:
    xml = db.new_disk(DOMAIN, DiskSpec("disk", "/var/lib/b.qcow2", "qcow2"), "virtio")
    el = etree.fromstring(xml)
    assert el.find("target").get("dev") == "vdb" and el.find("driver").get("type") == "qcow2"
    cd = etree.fromstring(db.new_disk(DOMAIN, DiskSpec("cdrom", "", ""), "ide"))
    assert cd.find("target").get("dev") == "hdd" and cd.find("source") is None  # hdc is taken


def test_edits_keep_the_identity_of_the_device() -> None:
    items = db.list_devices(DOMAIN)
    ejected = etree.fromstring(db.disk_with_media(items[1].xml, None))
    assert ejected.find("source") is None and ejected.find("target").get("dev") == "hdc"
    nic = etree.fromstring(db.edit_nic(items[2].xml, source="other", model="e1000", link_up=False))
    assert nic.find("mac").get("address") == "52:54:00:aa:bb:cc"
    assert (nic.find("source").get("network"), nic.find("model").get("type"), nic.find("link").get("state")) == \
        ("other", "e1000", "down")
    assert db.graphics_value(db.edit_graphics(items[3].xml, listen="0.0.0.0", port=5905)) == ("vnc", "0.0.0.0", 5905)
    assert db.model_value(db.edit_model(items[4].xml, "virtio")) == "virtio"


def built_devices() -> list[str]:
    return [
        db.new_disk(DOMAIN, DiskSpec("disk", "/var/lib/b.qcow2", "qcow2"), "virtio"),
        db.new_disk(DOMAIN, DiskSpec("cdrom", "/isos/y.iso", "raw"), "sata"),
        db.new_nic(NicSpec(mode="network", network="default", model="virtio")),
        db.new_nic(NicSpec(mode="bridge", bridge="br0")),
        db.new_nic(NicSpec(mode="user")),
        db.new_nic(NicSpec(mode="mcast", address="230.0.0.1", port=5558)),
        db.new_nic(NicSpec(mode="server", address="127.0.0.1", port=5559)),
        db.new_serial("pty"),
        db.new_graphics("spice", "127.0.0.1", 5930),
        db.new_input("keyboard", "virtio"),
        db.new_video("virtio"),
        db.new_sound("ac97"),
        db.new_filesystem("/srv/share", "share"),
        db.edit_nic(db.list_devices(DOMAIN)[2].xml, source="default", model="e1000", link_up=False),
    ]


def test_real_libvirt_accepts_every_built_device_and_keeps_its_values() -> None:
    """Debian's libvirt parses each device we build (defined inside a domain on its test driver)."""
    lv = real_libvirt()
    conn = lv.open("test:///default")
    try:
        for i, dev in enumerate(built_devices()):
            root = etree.fromstring(DOMAIN.encode())
            root.find("name").text = f"hw{i}"
            root.find("devices").append(etree.fromstring(dev))
            dom = conn.defineXML(etree.tostring(root, encoding="unicode"))
            back = etree.fromstring(dom.XMLDesc(0).encode())
            want = etree.fromstring(dev)
            got = [el for el in back.find("devices") if el.tag == want.tag]
            src = want.find("source")
            if src is not None:
                want_src = dict(src.attrib).items()
                assert any(g.find("source") is not None and dict(g.find("source").attrib).items() >= want_src
                           for g in got), dev
            mac = want.find("mac")
            if mac is not None:
                assert any(g.find("mac") is not None and g.find("mac").get("address") == mac.get("address")
                           for g in got), dev
            dom.undefine()
    finally:
        conn.close()
