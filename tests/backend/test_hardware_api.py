"""Hardware editing through the public API (issue 17): devices, rename, title/description/metadata.

Rename and metadata run the same calls on guiapp's and Debian's libvirt 9.0 test driver and compare
results and error codes.  libvirt's test driver has no device attach/detach/update (it answers
VIR_ERR_NO_SUPPORT), so the device rules are checked against libvirt's QEMU driver texts and codes
(qemuDomain{Attach,Detach,Update}DeviceConfig) on guiapp's test driver, which applies them in memory.
"""

from __future__ import annotations

import gc
from types import ModuleType
from typing import Any, Callable

import pytest
from helpers import real_libvirt
from lxml import etree

import guiapp.backend as libvirt
from guiapp.backend import constants as C

DISK = "<disk type='file' device='disk'><source file='/var/lib/x.img'/><target dev='vdb' bus='virtio'/></disk>"
CDROM = "<disk type='file' device='cdrom'>{}<target dev='hdc' bus='ide'/><readonly/></disk>"
NIC = "<interface type='network'><mac address='52:54:00:11:22:33'/><source network='default'/></interface>"


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    yield
    libvirt.registerErrorHandler(None, None)


@pytest.fixture
def dom() -> Any:
    conn = libvirt.open("test:///default")
    yield conn.lookupByName("test")
    conn.close()


def code(fn: Callable[[], Any]) -> int:
    with pytest.raises(libvirt.libvirtError) as info:
        fn()
    return info.value.get_error_code()


def disks(xml: str) -> list[str]:
    return [t.get("dev") for t in etree.fromstring(xml).iterfind("devices/disk/target")]


def macs(xml: str) -> list[str]:
    return [m.get("address") for m in etree.fromstring(xml).iterfind("devices/interface/mac")]


# -- devices ----------------------------------------------------------------------------------

def test_attach_live_and_config_then_detach(dom: Any) -> None:
    assert dom.attachDeviceFlags(DISK, C.VIR_DOMAIN_AFFECT_LIVE | C.VIR_DOMAIN_AFFECT_CONFIG) == 0
    assert disks(dom.XMLDesc(0)) == ["vda", "vdb"]
    assert disks(dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)) == ["vda", "vdb"]
    err = code(lambda: dom.attachDeviceFlags(DISK, C.VIR_DOMAIN_AFFECT_CONFIG))
    assert err == C.VIR_ERR_OPERATION_INVALID
    assert "target vdb already exists" in libvirt.virGetLastErrorMessage()
    dom.detachDeviceFlags("<disk><target dev='vdb'/></disk>", C.VIR_DOMAIN_AFFECT_LIVE)
    assert disks(dom.XMLDesc(0)) == ["vda"]
    assert disks(dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)) == ["vda", "vdb"]
    assert code(lambda: dom.detachDevice("<disk><target dev='vdb'/></disk>")) == C.VIR_ERR_DEVICE_MISSING
    assert "no target device vdb" in libvirt.virGetLastErrorMessage()


def test_current_means_live_when_running_config_when_off(dom: Any) -> None:
    dom.attachDeviceFlags(DISK, C.VIR_DOMAIN_AFFECT_CURRENT)
    assert disks(dom.XMLDesc(0)) == ["vda", "vdb"]
    assert disks(dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)) == ["vda"]
    dom.destroy()
    assert disks(dom.XMLDesc(0)) == ["vda"]  # the live change went with the run
    dom.attachDeviceFlags(DISK, 0)
    assert disks(dom.XMLDesc(0)) == ["vda", "vdb"]
    assert code(lambda: dom.attachDeviceFlags(DISK, C.VIR_DOMAIN_AFFECT_LIVE)) == C.VIR_ERR_OPERATION_INVALID


def test_interface_gets_one_mac_for_live_and_config(dom: Any) -> None:
    dom.attachDeviceFlags("<interface type='network'><source network='default'/></interface>",
                          C.VIR_DOMAIN_AFFECT_LIVE | C.VIR_DOMAIN_AFFECT_CONFIG)
    live, config = macs(dom.XMLDesc(0)), macs(dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE))
    assert len(live) == 2 and live == config and live[1].startswith("52:54:00")
    # without a MAC, two interfaces are ambiguous
    assert code(lambda: dom.detachDeviceFlags("<interface type='network'/>", 0)) == C.VIR_ERR_OPERATION_FAILED
    assert "multiple matching devices found" in libvirt.virGetLastErrorMessage()
    dom.detachDeviceFlags(f"<interface type='network'><mac address='{live[1].upper()}'/></interface>", 3)
    assert macs(dom.XMLDesc(0)) == macs(dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)) == live[:1]
    assert code(lambda: dom.detachDeviceFlags(NIC, 0)) == C.VIR_ERR_DEVICE_MISSING
    assert "matching MAC address '52:54:00:11:22:33'" in libvirt.virGetLastErrorMessage()


def test_cdrom_update_changes_and_ejects_media(dom: Any) -> None:
    dom.attachDeviceFlags(CDROM.format(""), 3)
    dom.updateDeviceFlags(CDROM.format("<source file='/iso/a.iso'/>"), C.VIR_DOMAIN_AFFECT_LIVE)
    root = etree.fromstring(dom.XMLDesc(0))
    assert root.find("devices/disk[@device='cdrom']/source").get("file") == "/iso/a.iso"
    assert etree.fromstring(dom.XMLDesc(2)).find("devices/disk[@device='cdrom']/source") is None
    dom.updateDeviceFlags(CDROM.format(""), 0)  # eject
    assert etree.fromstring(dom.XMLDesc(0)).find("devices/disk[@device='cdrom']/source") is None
    err = code(lambda: dom.updateDeviceFlags(CDROM.format("").replace("hdc", "hdd"), 0))
    assert err == C.VIR_ERR_INVALID_ARG and "target hdd doesn't exist" in libvirt.virGetLastErrorMessage()
    err = code(lambda: dom.updateDeviceFlags("<sound model='ich6'/>", 0))
    assert err == C.VIR_ERR_OPERATION_UNSUPPORTED


def test_interface_update_by_mac_keeps_mac(dom: Any) -> None:
    mac = macs(dom.XMLDesc(0))[0]
    dom.updateDeviceFlags(f"<interface type='network'><mac address='{mac}'/><source network='default'/>"
                          f"<link state='down'/></interface>", 0)
    iface = etree.fromstring(dom.XMLDesc(0)).find("devices/interface")
    assert iface.find("link").get("state") == "down" and iface.find("mac").get("address") == mac


def test_devices_land_in_libvirts_order(dom: Any) -> None:
    dom.attachDeviceFlags("<serial type='pty'><target port='0'/></serial>", 3)
    dom.attachDeviceFlags(DISK, 3)
    dom.attachDeviceFlags("<input type='tablet' bus='usb'/>", 3)
    tags = [el.tag for el in etree.fromstring(dom.XMLDesc(2)).find("devices")]
    order = ["disk", "controller", "interface", "serial", "input", "memballoon"]
    assert [t for t in order if t in tags] == sorted(set(tags) & set(order), key=order.index)
    assert tags.index("disk") < tags.index("interface") < tags.index("serial") < tags.index("input")
    assert tags.index("input") < tags.index("memballoon")
    dom.detachDeviceFlags("<input type='tablet' bus='usb'/>", 3)
    assert "input" not in [el.tag for el in etree.fromstring(dom.XMLDesc(2)).find("devices")]


def test_detaching_the_first_serial_takes_its_console_alias_like_libvirt(dom: Any) -> None:
    """qemuDomainChrRemove: the first serial port is also the first console (target type serial); detaching
    the port removes both, detaching that console alone is VIR_ERR_OPERATION_INVALID."""
    def chars() -> list[str]:
        root = etree.fromstring(dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE))
        return [f"{el.tag}:{el.get('type')}" for el in root.find("devices") if el.tag in ("serial", "console")]
    dom.attachDeviceFlags("<serial type='pty'><target port='0'/></serial>", C.VIR_DOMAIN_AFFECT_CONFIG)
    assert chars() == ["serial:pty", "console:pty"]
    console = "<console type='pty'><target type='serial' port='0'/></console>"
    assert code(lambda: dom.detachDeviceFlags(console, C.VIR_DOMAIN_AFFECT_CONFIG)) == C.VIR_ERR_OPERATION_INVALID
    assert "detaching serial console is not supported" in libvirt.virGetLastErrorMessage()
    dom.detachDeviceFlags("<serial type='pty'><target port='0'/></serial>", C.VIR_DOMAIN_AFFECT_CONFIG)
    assert chars() == []


def test_bad_device_xml_is_refused_and_loses_nothing(dom: Any) -> None:
    before = (dom.XMLDesc(0), dom.XMLDesc(2))
    assert code(lambda: dom.attachDeviceFlags("<disk", 3)) == C.VIR_ERR_XML_DETAIL
    assert code(lambda: dom.attachDeviceFlags("<domain/>", 3)) == C.VIR_ERR_XML_ERROR
    assert code(lambda: dom.attachDeviceFlags("<graphics type='vnc'/>", 3)) == C.VIR_ERR_OPERATION_UNSUPPORTED
    assert code(lambda: dom.attachDeviceFlags("<disk device='disk'><target dev='vdc'/></disk>", 3)) \
        == C.VIR_ERR_NO_SOURCE  # the domain parser's rule, on the copy
    assert code(lambda: dom.attachDeviceFlags(DISK, 8)) == C.VIR_ERR_INVALID_ARG
    assert code(lambda: dom.attachDeviceFlags(None, 0)) == C.VIR_ERR_INVALID_ARG  # type: ignore[arg-type]
    assert (dom.XMLDesc(0), dom.XMLDesc(2)) == before


def test_read_only_refuses_before_parsing() -> None:
    conn = libvirt.openReadOnly("test:///default")
    d = conn.lookupByName("test")
    for fn in (lambda: d.attachDeviceFlags("<garbage", 0), lambda: d.detachDevice("<x"),
               lambda: d.updateDeviceFlags("<x", 0), lambda: d.rename("x", 0),
               lambda: d.setMetadata(1, "t", None, None, 0)):
        assert code(fn) == C.VIR_ERR_OPERATION_DENIED
    assert code(lambda: d.metadata(1, None, 0)) == C.VIR_ERR_NO_DOMAIN_METADATA  # reading is fine


# -- rename and metadata: the same calls on Debian's libvirt -----------------------------------

@pytest.fixture(scope="module")
def real() -> ModuleType:
    return real_libvirt()


def outcome(mod: ModuleType, fn: Callable[[], Any]) -> Any:
    try:
        return ("ok", fn())
    except mod.libvirtError as exc:
        return ("error", exc.get_error_code(), exc.get_error_domain())


def _scenario(mod: ModuleType, uri: str = "test:///default") -> list:
    """Rename and metadata steps on the running domain 'test' of ``uri``; each step's result or error."""
    mod.registerErrorHandler(lambda ctx, err: None, None)
    conn = mod.open(uri)
    d = conn.lookupByName("test")
    out = []
    steps: list[Callable[[], Any]] = [
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_TITLE, None, 0),
        lambda: d.setMetadata(C.VIR_DOMAIN_METADATA_TITLE, "My title", None, None, 0),
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_TITLE, None, 0),
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_TITLE, None, C.VIR_DOMAIN_AFFECT_CONFIG),
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_TITLE, None, 3),
        lambda: d.metadata(7, None, 0),
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_TITLE, "http://x/", 0),
        lambda: d.setMetadata(C.VIR_DOMAIN_METADATA_TITLE, "two\nlines", None, None, 0),
        lambda: d.setMetadata(C.VIR_DOMAIN_METADATA_DESCRIPTION, "one\ntwo", None, None, 3),
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_DESCRIPTION, None, C.VIR_DOMAIN_AFFECT_CONFIG),
        lambda: d.setMetadata(C.VIR_DOMAIN_METADATA_TITLE, "", None, None, 0),
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_TITLE, None, 0),
        lambda: d.setMetadata(C.VIR_DOMAIN_METADATA_ELEMENT, "<foo/>", "k", "http://x/", 0),
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_ELEMENT, "http://x/", 0),
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_ELEMENT, "http://y/", 0),
        lambda: d.setMetadata(C.VIR_DOMAIN_METADATA_ELEMENT, "<foo/>", None, None, 0),
        lambda: d.setMetadata(C.VIR_DOMAIN_METADATA_ELEMENT, None, None, "http://x/", 0),
        lambda: d.metadata(C.VIR_DOMAIN_METADATA_ELEMENT, "http://x/", 0),
        lambda: d.rename("other", 0),
        lambda: d.destroy(),
        lambda: d.rename("a/b", 0),
        lambda: d.rename("", 0),
        lambda: d.rename("test", 0),
        lambda: d.rename("other", 1),
        lambda: d.rename("other", 0),
        lambda: conn.listDefinedDomains(),
        lambda: conn.lookupByName("other").metadata(C.VIR_DOMAIN_METADATA_DESCRIPTION, None, 0),
        lambda: outcome(mod, lambda: conn.lookupByName("test")),
        lambda: conn.defineXML("<domain type='test'><name>third</name><memory>1024</memory><os><type>hvm</type>"
                               "</os></domain>") and 0,
        lambda: conn.lookupByName("other").rename("third", 0),
    ]
    for step in steps:
        out.append(outcome(mod, step))
    conn.close()
    mod.registerErrorHandler(None, None)
    return out


def scenario(mod: ModuleType, uri: str = "test:///default") -> list:
    """:func:`_scenario`, leaving no handle behind (libvirt shares test:///default while any handle lives)."""
    try:
        return _scenario(mod, uri)
    finally:
        gc.collect()


def test_rename_and_metadata_like_libvirt(real: ModuleType) -> None:
    theirs, ours = scenario(real), scenario(libvirt)
    for i, (a, b) in enumerate(zip(theirs, ours, strict=True)):
        assert a == b, f"step {i}: libvirt {a!r}, guiapp {b!r}"


def test_rename_events_and_handle_follows() -> None:
    conn = libvirt.open("test:///default")
    seen: list[tuple[str, int, int]] = []
    conn.domainEventRegisterAny(None, C.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                lambda c, d, ev, det, o: seen.append((d.name(), ev, det)), None)
    d = conn.lookupByName("test")
    d.destroy()
    d.rename("renamed", 0)
    assert d.name() == "renamed" and conn.lookupByName("renamed").UUID() == d.UUID()
    assert ("test", C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_RENAMED) in seen
    assert ("renamed", C.VIR_DOMAIN_EVENT_DEFINED, C.VIR_DOMAIN_EVENT_DEFINED_RENAMED) in seen
    d.create()
    assert d.isActive()
    conn.close()
