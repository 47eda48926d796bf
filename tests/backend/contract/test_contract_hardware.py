"""The hardware-editing family (issue 17) once for every driver: rename, title/description/metadata and
persistent device changes, with Debian's libvirt test driver as the reference where it has the call."""

from __future__ import annotations

from lxml import etree

from guiapp.backend import constants as C

TITLE, DESC, ELEMENT = C.VIR_DOMAIN_METADATA_TITLE, C.VIR_DOMAIN_METADATA_DESCRIPTION, C.VIR_DOMAIN_METADATA_ELEMENT
LIVE, CONFIG = C.VIR_DOMAIN_AFFECT_LIVE, C.VIR_DOMAIN_AFFECT_CONFIG


def test_rename_rules(target):
    conn = target.open()
    a = conn.defineXML(target.xml("contract-a"))
    conn.defineXML(target.xml("contract-b"))
    target.fails(lambda: a.rename("contract-b", 0), C.VIR_ERR_OPERATION_INVALID)
    target.fails(lambda: a.rename("contract-a", 0), C.VIR_ERR_OPERATION_INVALID)
    target.fails(lambda: a.rename("contract/x", 0), C.VIR_ERR_XML_ERROR)
    target.fails(lambda: a.rename("", 0), C.VIR_ERR_INVALID_ARG)
    target.fails(lambda: a.rename("contract-c", 1), C.VIR_ERR_INVALID_ARG)
    uuid = a.UUID()
    assert a.rename("contract-c", 0) == 0
    assert conn.lookupByName("contract-c").UUID() == uuid
    target.fails(lambda: conn.lookupByName("contract-a"), C.VIR_ERR_NO_DOMAIN)
    assert sorted(n for n in conn.listDefinedDomains() if n.startswith("contract-")) == ["contract-b", "contract-c"]


def test_metadata_rules(target):
    conn = target.open()
    dom = conn.defineXML(target.xml("contract-m"))
    target.fails(lambda: dom.metadata(TITLE, None, 0), C.VIR_ERR_NO_DOMAIN_METADATA)
    assert dom.setMetadata(TITLE, "A title", None, None, 0) == 0
    assert dom.metadata(TITLE, None, CONFIG) == "A title"
    assert dom.setMetadata(DESC, "line 1\nline 2", None, None, CONFIG) == 0
    assert dom.metadata(DESC, None, 0) == "line 1\nline 2"
    target.fails(lambda: dom.setMetadata(TITLE, "two\nlines", None, None, 0), C.VIR_ERR_INVALID_ARG)
    target.fails(lambda: dom.setMetadata(TITLE, "x", None, None, LIVE), C.VIR_ERR_OPERATION_INVALID)
    target.fails(lambda: dom.metadata(TITLE, None, LIVE | CONFIG), C.VIR_ERR_INVALID_ARG)
    target.fails(lambda: dom.metadata(9, None, 0), C.VIR_ERR_INVALID_ARG)
    assert dom.setMetadata(ELEMENT, "<app version='2'/>", "app", "http://example.org/app/", 0) == 0
    assert etree.fromstring(dom.metadata(ELEMENT, "http://example.org/app/", 0)).get("version") == "2"
    assert dom.setMetadata(TITLE, "", None, None, 0) == 0
    target.fails(lambda: dom.metadata(TITLE, None, 0), C.VIR_ERR_NO_DOMAIN_METADATA)
    # kept by the driver, not only by this connection (guiapp's test driver gives each connection its own node)
    again = (conn if target.kind == "test" else target.open()).lookupByName("contract-m")
    assert again.metadata(DESC, None, 0) == "line 1\nline 2"


_DISKS = {"test": ("/guest/data.img", "vdb"), "qemu": ("/var/lib/data.img", "vdb"), "xen": ("/var/data.img", "xvdb")}


def test_persistent_device_rules(target):
    conn = target.open()
    dom = conn.defineXML(target.xml("contract-d"))
    path, dev = _DISKS.get(target.kind, ("/guest/data.img", "vdb"))
    disk = f"<disk type='file' device='disk'><source file='{path}'/><target dev='{dev}'/></disk>"
    if target.kind == "libvirt":  # libvirt's test driver has no device calls
        target.fails(lambda: dom.attachDeviceFlags(disk, CONFIG), C.VIR_ERR_NO_SUPPORT)
        return
    assert dom.attachDeviceFlags(disk, CONFIG) == 0
    target.fails(lambda: dom.attachDeviceFlags(disk, CONFIG), C.VIR_ERR_OPERATION_INVALID)
    target.fails(lambda: dom.attachDeviceFlags(disk, LIVE), C.VIR_ERR_OPERATION_INVALID)
    again = (conn if target.kind == "test" else target.open()).lookupByName("contract-d")
    assert dev in [t.get("dev") for t in etree.fromstring(again.XMLDesc(0)).iterfind("devices/disk/target")]
    target.fails(lambda: dom.detachDeviceFlags(disk.replace(f"'{dev}'", "'vdz'"), CONFIG), C.VIR_ERR_DEVICE_MISSING)
    target.fails(lambda: dom.attachDeviceFlags("<disk", CONFIG), C.VIR_ERR_XML_DETAIL)
    assert dom.detachDeviceFlags(disk, 0) == 0
    assert dev not in dom.XMLDesc(0)
