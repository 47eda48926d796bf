"""Snapshots of real TCG tiny guests: internal with memory, external disk-only, a QEMU killed mid-save.

Each test writes a marker inside the guest over its serial console, snapshots, changes the marker,
reverts and reads the marker back from the guest.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from qemu_testlib import console_text, guest_xml, type_on_console, wait_console, wait_for, wait_state

import guiapp.backend as libvirt
from guiapp.backend import constants as C

pytestmark = [pytest.mark.qemu, pytest.mark.slow]


def disk_xml(path: Path, fmt: str) -> str:
    return (f"<disk type='file' device='disk'><driver name='qemu' type='{fmt}'/><source file='{path}'/>"
            f"<target dev='vda' bus='virtio'/></disk>")


def make_image(path: Path, fmt: str) -> None:
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), "32M"], check=True)


def read_back(xdg: Path, dom: libvirt.virDomain, name: str, command: str, tag: str) -> str:
    """Run ``command`` in the guest, printing ``<tag>-<output>-END``; returns the output.

    The typed line reads ``-E""ND``, so the console's echo of the command never looks like its output."""
    type_on_console(dom, f'echo {tag}-$({command})-E""ND')
    wait_console(xdg, name, f"{tag}-", timeout=60)
    wait_for(lambda: "-END" in console_text(xdg, name).split(f"{tag}-")[-1], 30, f"{tag} output")
    return console_text(xdg, name).split(f"{tag}-")[-1].split("-END")[0]


def test_internal_snapshot_with_memory_reverts_guest_state(conn, xdg, tiny_guest, tmp_path):
    kernel, initrd = tiny_guest
    img = tmp_path / "int.qcow2"
    make_image(img, "qcow2")
    dom = conn.defineXML(guest_xml("snapint", kernel, initrd, extra=disk_xml(img, "qcow2")))
    dom.create()
    wait_console(xdg, "snapint")
    type_on_console(dom, "echo ONE > /tmp/marker")
    assert read_back(xdg, dom, "snapint", "cat /tmp/marker", "R1") == "ONE"
    snap = dom.snapshotCreateXML("<domainsnapshot><name>before</name><description>marker ONE</description>"
                                 "</domainsnapshot>", 0)
    root = snap.getXMLDesc()
    assert "<state>running</state>" in root and "snapshot='internal'" in root
    assert dom.state()[0] == C.VIR_DOMAIN_RUNNING
    type_on_console(dom, "echo TWO > /tmp/marker")
    assert read_back(xdg, dom, "snapint", "cat /tmp/marker", "R2") == "TWO"
    dom.revertToSnapshot(snap, 0)
    assert dom.state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT]
    assert read_back(xdg, dom, "snapint", "cat /tmp/marker", "R3") == "ONE"
    # the metadata is stored: a fresh connection sees the tree; the image holds the internal snapshot
    other = libvirt.open("qemu:///session")
    try:
        d2 = other.lookupByName("snapint")
        assert [s.getName() for s in d2.listAllSnapshots()] == ["before"]
        assert d2.snapshotCurrent().getName() == "before"
    finally:
        other.close()
    assert "before" in subprocess.run(["qemu-img", "snapshot", "-U", "-l", str(img)], capture_output=True,
                                      text=True, check=True).stdout
    with pytest.raises(libvirt.libvirtError) as info:
        dom.undefine()
    assert info.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID
    snap.delete(0)
    assert dom.listAllSnapshots() == []
    assert "before" not in subprocess.run(["qemu-img", "snapshot", "-U", "-l", str(img)], capture_output=True,
                                          text=True, check=True).stdout
    dom.destroy()
    # offline internal snapshot with qemu-img, revert while shut off
    off = dom.snapshotCreateXML("<domainsnapshot><name>off</name></domainsnapshot>", 0)
    assert "<state>shutoff</state>" in off.getXMLDesc()
    dom.revertToSnapshot(off, 0)
    assert dom.state()[0] == C.VIR_DOMAIN_SHUTOFF
    dom.undefineFlags(C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)


def test_external_disk_only_snapshot_and_revert(conn, xdg, tiny_guest, tmp_path):
    kernel, initrd = tiny_guest
    img = tmp_path / "ext.raw"
    make_image(img, "raw")
    dom = conn.defineXML(guest_xml("snapext", kernel, initrd, extra=disk_xml(img, "raw")))
    dom.create()
    wait_console(xdg, "snapext")
    type_on_console(dom, "echo ONE12345 > /dev/vda; sync")
    assert read_back(xdg, dom, "snapext", "head -c 8 /dev/vda", "R1") == "ONE12345"
    with pytest.raises(libvirt.libvirtError) as info:  # raw disks: internal snapshots are refused clearly
        dom.snapshotCreateXML("<domainsnapshot><name>nope</name></domainsnapshot>", 0)
    assert info.value.get_error_code() == C.VIR_ERR_CONFIG_UNSUPPORTED and "qcow2" in str(info.value)
    snap = dom.snapshotCreateXML("<domainsnapshot><name>ext1</name></domainsnapshot>",
                                 C.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
    overlay = tmp_path / "ext.ext1"
    assert overlay.exists()
    assert f"file='{overlay}'" in dom.XMLDesc() and f"file='{overlay}'" in dom.XMLDesc(
        C.VIR_DOMAIN_XML_INACTIVE)
    assert "<state>disk-snapshot</state>" in snap.getXMLDesc()
    type_on_console(dom, "echo TWO12345 > /dev/vda; sync")
    assert read_back(xdg, dom, "snapext", "head -c 8 /dev/vda", "R2") == "TWO12345"
    dom.revertToSnapshot(snap, C.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING)
    assert dom.state()[0] == C.VIR_DOMAIN_RUNNING
    wait_console(xdg, "snapext", count=1)
    wait_for(lambda: console_text(xdg, "snapext").count("GUIAPP-GUEST-READY") >= 1, 60, "boot after revert")
    assert read_back(xdg, dom, "snapext", "head -c 8 /dev/vda", "R3") == "ONE12345"
    # the overlay holding TWO is kept (nothing deleted); deleting the external snapshot is refused here:
    # its overlay left the disk's chain with the revert (live merging: test_qemu_snapshot_livecommit.py)
    assert overlay.exists() and img.exists()
    with pytest.raises(libvirt.libvirtError) as info:
        snap.delete(0)
    assert info.value.get_error_code() == C.VIR_ERR_OPERATION_FAILED and "no longer" in str(info.value)
    assert "METADATA_ONLY" in str(info.value) and overlay.exists()
    snap.delete(C.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
    assert dom.listAllSnapshots() == [] and overlay.exists()
    dom.destroy()


def test_hostile_external_file_and_name(conn, xdg, tiny_guest, tmp_path):
    kernel, initrd = tiny_guest
    img = tmp_path / "h.raw"
    make_image(img, "raw")
    dom = conn.defineXML(guest_xml("snaphostile", kernel, initrd, extra=disk_xml(img, "raw")))
    for xml, code in [
        ("<domainsnapshot><name>../x</name></domainsnapshot>", C.VIR_ERR_XML_DETAIL),
        ("<domainsnapshot><name>-o</name><disks><disk name='vda' snapshot='external'>"
         "<source file='relative,file=x'/></disk></disks></domainsnapshot>", C.VIR_ERR_XML_ERROR),
        ("<domainsnapshot><name>a</name><disks><disk name='vdz'/></disks></domainsnapshot>",
         C.VIR_ERR_CONFIG_UNSUPPORTED),
    ]:
        with pytest.raises(libvirt.libvirtError) as info:
            dom.snapshotCreateXML(xml, C.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
        assert info.value.get_error_code() == code
    # an option-looking name and a comma in the overlay path reach qemu-img as plain argv items
    s = dom.snapshotCreateXML(f"<domainsnapshot><name>-o x,y</name><disks><disk name='vda' snapshot='external'>"
                              f"<source file='{tmp_path}/ov,file=evil'/></disk></disks></domainsnapshot>",
                              C.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
    assert (tmp_path / "ov,file=evil").exists() and s.getName() == "-o x,y"
    assert not (tmp_path / "evil").exists()
    with pytest.raises(libvirt.libvirtError) as info:  # the file exists now: never overwritten
        dom.snapshotCreateXML(f"<domainsnapshot><name>again</name><disks><disk name='vda' snapshot='external'>"
                              f"<source file='{tmp_path}/ov,file=evil'/></disk></disks></domainsnapshot>",
                              C.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
    assert info.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID
    with pytest.raises(libvirt.libvirtError) as info:
        dom.snapshotCreateXML("<domainsnapshot/>", C.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE)
    assert info.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID and "agent" in str(info.value)
    dom.undefineFlags(C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)


def test_qemu_killed_during_snapshot_save_leaves_domain_usable(conn, xdg, tiny_guest, tmp_path):
    kernel, initrd = tiny_guest
    img = tmp_path / "kill.qcow2"
    make_image(img, "qcow2")
    dom = conn.defineXML(guest_xml("snapkill", kernel, initrd, extra=disk_xml(img, "qcow2")))
    dom.create()
    wait_console(xdg, "snapkill")
    driver = conn._driver
    real_qmp = driver._qmp

    def qmp_then_kill(d, cmd, args=None, **kw):  # QEMU dies right after it accepted the snapshot-save job
        out = real_qmp(d, cmd, args, **kw)
        if cmd == "snapshot-save":
            os.kill(d.record.pid, signal.SIGKILL)
        return out

    driver._qmp = qmp_then_kill
    try:
        with pytest.raises(libvirt.libvirtError):
            dom.snapshotCreateXML("<domainsnapshot><name>half</name></domainsnapshot>", 0)
    finally:
        driver._qmp = real_qmp
    assert dom.listAllSnapshots() == [] and not dom.hasCurrentSnapshot()
    wait_state(dom, C.VIR_DOMAIN_SHUTOFF)
    check = subprocess.run(["qemu-img", "check", "-q", str(img)])
    assert check.returncode in (0, 3)  # 3: only leaked clusters (what a killed writer leaves), no corruption
    dom.create()
    wait_console(xdg, "snapkill")  # a fresh start begins a new console log
    snap = dom.snapshotCreateXML("<domainsnapshot><name>whole</name></domainsnapshot>", 0)
    assert [s.getName() for s in dom.listAllSnapshots()] == [snap.getName()]
    dom.destroy()
    dom.undefineFlags(C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
