"""Hardware editing through libvirt's RPC against guiappd (serving guiapp's test driver): Debian's virsh and
guiapp's remote driver, each checked against the domain XML the in-process API shows for the same steps."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from daemonlib import Guiappd
from lxml import etree

import guiapp.backend as guiapp_libvirt
from guiapp.backend import constants as C

VIRSH = shutil.which("virsh")


def virsh(uri: str, *args: str) -> subprocess.CompletedProcess:
    assert VIRSH is not None
    return subprocess.run([VIRSH, "-c", uri, *args], capture_output=True, text=True, timeout=60, cwd="/")


def _disks(xml: str) -> list[tuple[str, str]]:
    root = etree.fromstring(xml)
    return [(d.find("target").get("dev"), (d.find("source").get("file") if d.find("source") is not None else "-"))
            for d in root.iterfind("devices/disk")]


@pytest.mark.skipif(VIRSH is None, reason="virsh is not installed (apt-get install libvirt-clients)")
def test_real_virsh_edits_hardware_through_guiappd(guiappd: Guiappd) -> None:
    uri = f"test+unix:///default?socket={guiappd.rw}"
    r = virsh(uri, "attach-disk test /var/lib/x.img vdb --targetbus virtio --live")
    assert r.returncode == 0, r.stderr
    assert "Disk attached successfully" in r.stdout
    r = virsh(uri, "domblklist test")
    assert r.returncode == 0 and "vdb" in r.stdout and "/var/lib/x.img" in r.stdout, r.stdout + r.stderr
    r = virsh(uri, "attach-interface test network default --mac 52:54:00:aa:bb:cc --live")
    assert r.returncode == 0, r.stderr
    r = virsh(uri, "domiflist test")
    assert "52:54:00:aa:bb:cc" in r.stdout, r.stdout + r.stderr
    r = virsh(uri, "detach-interface test network --mac 52:54:00:aa:bb:cc --live")
    assert r.returncode == 0, r.stderr
    r = virsh(uri, "detach-disk test vdb --live")
    assert r.returncode == 0, r.stderr
    r = virsh(uri, "detach-disk test vdb --live")
    assert r.returncode == 1 and "vdb" in r.stderr
    r = virsh(uri, "desc test --title --live New-title")
    assert r.returncode == 0, r.stderr
    r = virsh(uri, "desc test --title")
    assert r.stdout.strip() == "New-title", r.stdout + r.stderr
    assert virsh(uri, "destroy test").returncode == 0
    r = virsh(uri, "domrename test renamed")
    assert r.returncode == 0 and "successfully renamed" in r.stdout, r.stdout + r.stderr
    assert virsh(uri, "domstate renamed").stdout.strip() == "shut off"


def test_guiapp_remote_driver_edits_like_in_process(guiappd: Guiappd) -> None:
    results = []
    for uri in ("test:///default", f"test+unix:///default?socket={guiappd.rw}"):
        conn = guiapp_libvirt.open(uri)
        dom = conn.lookupByName("test")
        dom.attachDeviceFlags("<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>",
                              C.VIR_DOMAIN_AFFECT_LIVE | C.VIR_DOMAIN_AFFECT_CONFIG)
        dom.updateDeviceFlags("<disk type='file' device='cdrom'><source file='/iso/a.iso'/>"
                              "<target dev='hdc' bus='ide'/><readonly/></disk>", C.VIR_DOMAIN_AFFECT_LIVE)
        dom.setMetadata(C.VIR_DOMAIN_METADATA_DESCRIPTION, "a\nb", None, None, C.VIR_DOMAIN_AFFECT_CONFIG)
        dom.destroy()
        dom.rename("moved", 0)
        moved = conn.lookupByName("moved")
        try:
            moved.detachDeviceFlags("<disk><target dev='hdx'/></disk>", 0)
            err = None
        except guiapp_libvirt.libvirtError as exc:
            err = (exc.get_error_code(), exc.get_error_message())
        results.append((dom.name(), _disks(moved.XMLDesc(0)), moved.metadata(0, None, 0), err))
        conn.close()
    assert results[0] == results[1]
    assert results[0][1] == [("vda", "/guest/diskimage1"), ("hdc", "-")]


def test_read_only_socket_refuses_device_changes(guiappd: Guiappd) -> None:
    conn = guiapp_libvirt.openReadOnly(f"test+unix:///default?socket={guiappd.ro}")
    try:
        dom = conn.lookupByName("test")
        with pytest.raises(guiapp_libvirt.libvirtError) as info:
            dom.attachDeviceFlags("<disk type='file'><source file='/x'/><target dev='vdb'/></disk>", 0)
        assert info.value.get_error_code() == C.VIR_ERR_OPERATION_DENIED
        assert [t for t, _ in _disks(dom.XMLDesc(0))] == ["vda"]
    finally:
        conn.close()
