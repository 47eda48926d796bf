"""Xen: device changes of the persistent definition (checked by its xl.cfg), rename and metadata; live device
changes refused with VIR_ERR_NO_SUPPORT (real oxenstored with the test shim, fake xl)."""

from __future__ import annotations

import pytest
from lxml import etree
from xen_seed import FC4

import guiapp.backend as libvirt
from guiapp.backend import constants as C

NIC = "<interface type='bridge'><mac address='00:16:3e:00:00:42'/><source bridge='xenbr1'/></interface>"
DISK = "<disk type='file' device='disk'><source file='/var/lib/xen/images/data.img'/><target dev='xvdb'/></disk>"


@pytest.fixture
def conn(xen_env):
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    c = libvirt.open("xen:///")
    yield c
    c.close()
    libvirt.registerErrorHandler(None, None)


def test_config_device_changes_and_live_refusal(conn, xen_env):
    dom = conn.defineXML(FC4)
    dom.attachDeviceFlags(DISK, C.VIR_DOMAIN_AFFECT_CONFIG)
    dom.attachDeviceFlags(NIC, 0)  # CURRENT on a shut-off domain: its config
    cfg = conn.domainXMLToNative("xen-xl", dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE))
    assert "/var/lib/xen/images/data.img" in cfg and "xvdb" in cfg and "00:16:3e:00:00:42" in cfg
    again = libvirt.open("xen:///").lookupByName("fc4")  # stored, not only in this connection
    assert [t.get("dev") for t in etree.fromstring(again.XMLDesc(0)).iterfind("devices/disk/target")][-1] == "xvdb"
    dom.detachDeviceFlags(NIC, C.VIR_DOMAIN_AFFECT_CONFIG)
    assert "00:16:3e:00:00:42" not in dom.XMLDesc(0)
    with pytest.raises(libvirt.libvirtError) as info:
        dom.attachDeviceFlags("<disk type='network' device='disk'><source protocol='nbd' name='x'/>"
                              "<target dev='xvdc'/></disk>", C.VIR_DOMAIN_AFFECT_CONFIG)
    assert info.value.get_error_code() == C.VIR_ERR_CONFIG_UNSUPPORTED  # what xl cannot run is not stored
    assert "xvdc" not in dom.XMLDesc(0)
    dom.create()
    with pytest.raises(libvirt.libvirtError) as info:
        dom.attachDeviceFlags(NIC, C.VIR_DOMAIN_AFFECT_LIVE)
    assert info.value.get_error_code() == C.VIR_ERR_NO_SUPPORT and "--config" in info.value.get_error_message()
    dom.attachDeviceFlags(NIC, C.VIR_DOMAIN_AFFECT_CONFIG)  # fine while it runs: next boot
    assert "00:16:3e:00:00:42" in dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)
    assert "00:16:3e:00:00:42" not in dom.XMLDesc(0)
    dom.setMetadata(C.VIR_DOMAIN_METADATA_TITLE, "running title", None, None, C.VIR_DOMAIN_AFFECT_LIVE)
    assert dom.metadata(C.VIR_DOMAIN_METADATA_TITLE, None, 0) == "running title"
    with pytest.raises(libvirt.libvirtError) as info:
        dom.metadata(C.VIR_DOMAIN_METADATA_TITLE, None, C.VIR_DOMAIN_AFFECT_CONFIG)
    assert info.value.get_error_code() == C.VIR_ERR_NO_DOMAIN_METADATA
    with pytest.raises(libvirt.libvirtError) as info:
        dom.rename("fc5", 0)
    assert info.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID
    dom.destroy()


def test_rename_keeps_autostart(conn, xen_env):
    dom = conn.defineXML(FC4)
    dom.setAutostart(1)
    dom.setMetadata(C.VIR_DOMAIN_METADATA_DESCRIPTION, "kept", None, None, 0)
    dom.rename("fc5", 0)
    assert dom.name() == "fc5" and conn.listDefinedDomains() == ["fc5"]
    moved = conn.lookupByName("fc5")
    assert moved.autostart() == 1 and moved.metadata(C.VIR_DOMAIN_METADATA_DESCRIPTION, None, 0) == "kept"
    with pytest.raises(libvirt.libvirtError) as info:
        conn.lookupByName("fc4")
    assert info.value.get_error_code() == C.VIR_ERR_NO_DOMAIN
