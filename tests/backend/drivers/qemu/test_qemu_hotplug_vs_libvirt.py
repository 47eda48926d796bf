"""Persistent device changes on a defined QEMU domain: guiapp's qemu:///session against Debian's libvirtd
(qemu:///system of a private daemon, through python3-libvirt), the same calls, the same results and error codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from helpers import real_libvirt
from helpers.libvirtd import LibvirtDaemon, require
from lxml import etree
from qemu_testlib import needs_qemu

import guiapp.backend as guiapp_libvirt

CONFIG, LIVE = 2, 1
XML = """<domain type='qemu'>
  <name>hw-cmp</name>
  <uuid>8f9a43a5-5e8d-4b61-9a44-6c2d3f0b2a11</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><source file='/var/lib/libvirt/images/a.img'/><target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><mac address='52:54:00:aa:00:01'/><model type='virtio'/></interface>
  </devices>
</domain>"""
DISK = "<disk type='file' device='disk'><source file='/var/lib/libvirt/images/b.img'/><target dev='vdb' " \
       "bus='virtio'/></disk>"
NIC = "<interface type='user'><mac address='52:54:00:aa:00:01'/><model type='virtio'/></interface>"
CD = "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>"


def steps(dom: Any) -> list[Callable[[], Any]]:
    return [
        lambda: dom.attachDeviceFlags(DISK, CONFIG),
        lambda: dom.attachDeviceFlags(DISK, CONFIG),
        lambda: dom.attachDeviceFlags(DISK, LIVE),
        lambda: dom.attachDeviceFlags(DISK, 0),
        lambda: dom.detachDeviceFlags(DISK.replace("vdb", "vdz"), CONFIG),
        lambda: dom.updateDeviceFlags(CD, CONFIG),
        lambda: dom.attachDeviceFlags(CD, CONFIG),
        lambda: dom.updateDeviceFlags(CD.replace("<target", "<source file='/var/lib/libvirt/images/c.iso'/><target"),
                                      CONFIG),
        lambda: dom.updateDeviceFlags("<sound model='ich6'/>", CONFIG),
        lambda: dom.attachDeviceFlags("<sound model='ich6'/>", CONFIG),
        lambda: dom.detachDeviceFlags("<sound model='ich6'/>", CONFIG),
        lambda: dom.detachDeviceFlags("<sound model='ich6'/>", CONFIG),
        lambda: dom.detachDeviceFlags(NIC, CONFIG),
        lambda: dom.detachDeviceFlags(NIC, CONFIG),
        lambda: dom.attachDeviceFlags("<interface type='user'><model type='virtio'/></interface>", CONFIG),
        lambda: dom.attachDeviceFlags("<interface type='user'><model type='e1000'/></interface>", CONFIG),
        lambda: dom.detachDeviceFlags("<interface type='user'/>", CONFIG),
        lambda: dom.detachDeviceFlags("<disk", CONFIG),
        lambda: dom.attachDeviceFlags("<controller type='scsi' index='0' model='virtio-scsi'/>", CONFIG),
        lambda: dom.attachDeviceFlags("<controller type='scsi' index='0' model='virtio-scsi'/>", CONFIG),
        lambda: dom.detachDeviceFlags("<controller type='scsi' index='3'/>", CONFIG),
    ]


def run(mod: Any, uri: str) -> tuple[list[Any], list[tuple[str, str]], int]:
    mod.registerErrorHandler(lambda ctx, err: None, None)
    conn = mod.open(uri)
    try:
        dom = conn.defineXML(XML)
        out = []
        for step in steps(dom):
            try:
                out.append(("ok", step()))
            except mod.libvirtError as exc:
                out.append(("error", exc.get_error_code()))
        root = etree.fromstring(dom.XMLDesc(2))
        disks = [(d.find("target").get("dev"), (d.find("source").get("file") if d.find("source") is not None
                                                 else "-")) for d in root.iterfind("devices/disk")]
        nics = len(root.findall("devices/interface"))
        dom.undefine()
        return out, disks, nics
    finally:
        conn.close()
        mod.registerErrorHandler(None, None)


@needs_qemu
def test_config_device_changes_like_libvirtd_qemu(tmp_path: Path, xdg) -> None:
    require()
    real = real_libvirt()
    daemon = LibvirtDaemon(tmp_path / "libvirtd").start()
    try:
        theirs = run(real, daemon.uri("qemu:///system"))
    finally:
        daemon.stop()
    ours = run(guiapp_libvirt, "qemu:///session")
    for i, (a, b) in enumerate(zip(theirs[0], ours[0], strict=True)):
        assert a == b, f"step {i}: libvirtd {a}, guiapp {b}"
    assert ours[1:] == theirs[1:]
