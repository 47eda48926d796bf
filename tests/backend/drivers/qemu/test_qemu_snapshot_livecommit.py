"""Deleting an external snapshot of a RUNNING tiny TCG guest merges its overlay with QMP block-commit.

The guest writes markers on its raw disk over the serial console; after the delete it still reads them, the
domain runs on the base image, the overlay is gone and a restart still shows the marker.  A QEMU killed
during the commit leaves the snapshot listed and the domain startable on its overlay.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from qemu_testlib import console_text, guest_xml, type_on_console, wait_console, wait_for, wait_state

import guiapp.backend as libvirt
from guiapp.backend import constants as C

pytestmark = [pytest.mark.qemu, pytest.mark.slow]
DISK_ONLY = C.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
READ = "sync; echo 3 > /proc/sys/vm/drop_caches; head -c 8 /dev/vda"  # from the disk, not the page cache


def make(conn: libvirt.virConnect, tmp_path: Path, tiny_guest: tuple[str, str], name: str) -> tuple:
    base = tmp_path / f"{name}.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(base), "32M"], check=True)
    kernel, initrd = tiny_guest
    disk = (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{base}'/>"
            f"<target dev='vda' bus='virtio'/></disk>")
    dom = conn.defineXML(guest_xml(name, kernel, initrd, extra=disk))
    dom.create()
    return dom, base


def read_back(xdg: Path, dom: libvirt.virDomain, name: str, tag: str) -> str:
    """The first 8 bytes of the guest's /dev/vda as the guest reads them (``-E""ND``: the echo never matches)."""
    type_on_console(dom, f'echo {tag}-$({READ})-E""ND')
    wait_console(xdg, name, f"{tag}-", timeout=60)
    wait_for(lambda: "-END" in console_text(xdg, name).split(f"{tag}-")[-1], 30, f"{tag} output")
    return console_text(xdg, name).split(f"{tag}-")[-1].split("-END")[0]


def write(dom: libvirt.virDomain, text: str) -> None:
    """A durable guest write: ``fsync`` sends the disk a flush, so QEMU writes its qcow2 metadata out (``sync``
    alone does not flush a raw block device: a later SIGKILL of QEMU could lose the overlay's mapping)."""
    type_on_console(dom, f"printf {text} | dd of=/dev/vda conv=fsync 2>/dev/null")


def disk_source(xml: str, where: str = "devices/disk/source") -> str:
    from lxml import etree
    src = etree.fromstring(xml.encode()).find(where)
    assert src is not None
    return str(src.get("file"))


def backing(path: Path) -> str:
    out = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return str(json.loads(out).get("backing-filename"))


def test_live_delete_of_the_active_layer_moves_the_disk_back_to_the_base(conn, xdg, tiny_guest, tmp_path):
    dom, base = make(conn, tmp_path, tiny_guest, "lcommit1")
    wait_console(xdg, "lcommit1")
    snap = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", DISK_ONLY)
    overlay = tmp_path / "lcommit1.s1"
    assert disk_source(dom.XMLDesc()) == str(overlay)
    write(dom, "MARK1234")
    assert read_back(xdg, dom, "lcommit1", "R1") == "MARK1234"
    assert base.read_bytes()[:8] == bytes(8)  # the write went into the overlay
    snap.delete(0)
    assert dom.state()[0] == C.VIR_DOMAIN_RUNNING and dom.listAllSnapshots() == []
    assert not overlay.exists() and base.read_bytes()[:8] == b"MARK1234"
    for xml in (dom.XMLDesc(), dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)):
        assert disk_source(xml) == str(base) and "type='raw'" in xml
    assert read_back(xdg, dom, "lcommit1", "R2") == "MARK1234"
    write(dom, "LATE5678")  # the guest keeps writing, now onto the base
    assert read_back(xdg, dom, "lcommit1", "R3") == "LATE5678"
    dom.destroy()
    dom.create()
    wait_console(xdg, "lcommit1")
    assert read_back(xdg, dom, "lcommit1", "R4") == "LATE5678"
    dom.destroy()
    dom.undefine()


def test_live_delete_below_the_active_layer_and_qemu_killed_mid_commit(conn, xdg, tiny_guest, tmp_path):
    dom, base = make(conn, tmp_path, tiny_guest, "lcommit2")
    wait_console(xdg, "lcommit2")
    s1 = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", DISK_ONLY)
    write(dom, "AAAA1111")
    assert read_back(xdg, dom, "lcommit2", "R1") == "AAAA1111"
    s2 = dom.snapshotCreateXML("<domainsnapshot><name>s2</name></domainsnapshot>", DISK_ONLY)
    write(dom, "BBBB2222")
    assert read_back(xdg, dom, "lcommit2", "R2") == "BBBB2222"
    ov1, ov2 = tmp_path / "lcommit2.s1", tmp_path / "lcommit2.s2"
    # s1's overlay is below the active layer: block-commit top-node/base-node; s2's overlay now sits on the base
    s1.delete(0)
    assert not ov1.exists() and base.read_bytes()[:8] == b"AAAA1111"
    assert backing(ov2) == str(base) and disk_source(dom.XMLDesc()) == str(ov2)
    assert disk_source(s2.getXMLDesc(0), "domain/devices/disk/source") == str(base)
    assert [s.getName() for s in dom.listAllSnapshots()] == ["s2"]
    assert read_back(xdg, dom, "lcommit2", "R3") == "BBBB2222"
    # QEMU dies right after it accepted the active commit of s2: nothing changes on our side
    driver = conn._driver
    real_qmp = driver._qmp

    def qmp_then_kill(d, cmd, args=None, **kw):
        out = real_qmp(d, cmd, args, **kw)
        if cmd == "block-commit":
            os.kill(d.record.pid, signal.SIGKILL)
        return out

    driver._qmp = qmp_then_kill
    try:
        with pytest.raises(libvirt.libvirtError):
            s2.delete(0)
    finally:
        driver._qmp = real_qmp
    wait_state(dom, C.VIR_DOMAIN_SHUTOFF)
    assert [s.getName() for s in dom.listAllSnapshots()] == ["s2"] and ov2.exists()
    assert disk_source(dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)) == str(ov2)
    dom.create()  # on its overlay, which still holds BBBB2222
    wait_console(xdg, "lcommit2")
    assert read_back(xdg, dom, "lcommit2", "R4") == "BBBB2222"
    # the retry (QEMU opened the overlay itself this time, no blockdev-add node) merges it
    s2.delete(0)
    assert not ov2.exists() and dom.listAllSnapshots() == [] and base.read_bytes()[:8] == b"BBBB2222"
    assert disk_source(dom.XMLDesc()) == str(base) == disk_source(dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE))
    assert read_back(xdg, dom, "lcommit2", "R5") == "BBBB2222"
    dom.destroy()
    dom.undefine()
