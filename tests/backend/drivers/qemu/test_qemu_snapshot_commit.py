"""Deleting external snapshots of a shut-off QEMU domain merges the overlay (qemu-img commit), as libvirt 9.0
does; refusals change nothing.  Data is written into the images with qemu-io and read back the same way."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from qemu_testlib import guest_xml

import guiapp.backend as libvirt
from guiapp.backend import constants as C

DISK_ONLY = C.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY


def disk_xml(path: Path) -> str:
    return (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{path}'/>"
            f"<target dev='vda' bus='virtio'/></disk>")


def qemu_io(path: Path, fmt: str, command: str) -> bool:
    out = subprocess.run(["qemu-io", "-f", fmt, "-c", command, str(path)], capture_output=True, text=True)
    return out.returncode == 0 and "Pattern verification failed" not in out.stdout + out.stderr


def make(conn: libvirt.virConnect, tmp_path: Path, tiny_guest: tuple[str, str], name: str) -> tuple:
    base = tmp_path / f"{name}.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(base), "16M"], check=True)
    kernel, initrd = tiny_guest
    return conn.defineXML(guest_xml(name, kernel, initrd, extra=disk_xml(base))), base


def test_delete_merges_the_overlay_into_the_base(conn, tiny_guest, tmp_path):
    dom, base = make(conn, tmp_path, tiny_guest, "commit1")
    s1 = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", DISK_ONLY)
    ov1 = tmp_path / "commit1.s1"
    assert ov1.exists() and f"file='{ov1}'" in dom.XMLDesc(0)
    assert qemu_io(ov1, "qcow2", "write -P 0xab 0 64k")
    s2 = dom.snapshotCreateXML("<domainsnapshot><name>s2</name></domainsnapshot>", DISK_ONLY)
    ov2 = tmp_path / "commit1.s2"
    assert qemu_io(ov2, "qcow2", "write -P 0xcd 64k 64k")
    # s1's overlay sits under s2's: merging it re-points s2's overlay at the base
    s1.delete(0)
    assert not ov1.exists() and qemu_io(base, "raw", "read -P 0xab 0 64k")
    assert qemu_io(base, "raw", "read -P 0 64k 64k")  # s2's later writes stay in s2's overlay
    info = subprocess.run(["qemu-img", "info", "--output=json", str(ov2)], capture_output=True, text=True).stdout
    assert f'"backing-filename": "{base}"' in info
    assert f"file='{base}'" in s2.getXMLDesc(0).split("<domain type")[1]
    assert [s.getName() for s in dom.listAllSnapshots()] == ["s2"] and s2.getParent is not None
    # s2's overlay is the domain's disk: merging it moves the disk back to the base (raw)
    s2.delete(0)
    assert not ov2.exists() and qemu_io(base, "raw", "read -P 0xcd 64k 64k")
    xml = dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)
    assert f"file='{base}'" in xml and "type='raw'" in xml and dom.listAllSnapshots() == []
    dom.undefine()


def test_delete_refused_when_the_overlay_left_the_chain_or_the_base_is_shared(conn, tiny_guest, tmp_path):
    dom, base = make(conn, tmp_path, tiny_guest, "commit2")
    s1 = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", DISK_ONLY)
    ov1 = tmp_path / "commit2.s1"
    assert qemu_io(ov1, "qcow2", "write -P 0xab 0 64k")
    dom.revertToSnapshot(s1, 0)  # a new overlay on the base: s1's overlay leaves the chain
    with pytest.raises(libvirt.libvirtError) as info:
        s1.delete(0)
    assert "no longer" in str(info.value) and "METADATA_ONLY" in str(info.value)
    assert ov1.exists() and qemu_io(base, "raw", "read -P 0 0 64k")  # nothing merged
    s1.delete(C.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
    dom.undefine()
    # another domain on the same base: its image must not change under it
    dom, base = make(conn, tmp_path, tiny_guest, "commit3")
    kernel, initrd = tiny_guest
    other = conn.defineXML(guest_xml("commit3b", kernel, initrd, extra=disk_xml(base)))
    s2 = dom.snapshotCreateXML("<domainsnapshot><name>s2</name></domainsnapshot>", DISK_ONLY)
    assert qemu_io(tmp_path / "commit3.s2", "qcow2", "write -P 0xab 0 64k")
    with pytest.raises(libvirt.libvirtError) as info:
        s2.delete(0)
    assert "domain commit3b" in str(info.value) and qemu_io(base, "raw", "read -P 0 0 64k")
    assert (tmp_path / "commit3.s2").exists() and [s.getName() for s in dom.listAllSnapshots()] == ["s2"]
    other.undefine()
    s2.delete(C.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
    dom.undefine()


def test_delete_refused_when_the_domain_was_reverted_onto_the_same_base(conn, tiny_guest, tmp_path):
    """s2 sits on s1's overlay, but the domain was reverted to s1 (a new overlay on the base): merging s1's
    overlay into the base would change what the domain reads."""
    dom, base = make(conn, tmp_path, tiny_guest, "commit4")
    s1 = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", DISK_ONLY)
    ov1 = tmp_path / "commit4.s1"
    assert qemu_io(ov1, "qcow2", "write -P 0xab 0 64k")
    dom.snapshotCreateXML("<domainsnapshot><name>s2</name></domainsnapshot>", DISK_ONLY)
    dom.revertToSnapshot(s1, 0)
    with pytest.raises(libvirt.libvirtError) as info:
        s1.delete(0)
    assert info.value.get_error_code() == C.VIR_ERR_OPERATION_UNSUPPORTED and "reverted" in str(info.value)
    assert ov1.exists() and qemu_io(base, "raw", "read -P 0 0 64k")  # nothing merged into the base
    assert sorted(s.getName() for s in dom.listAllSnapshots()) == ["s1", "s2"]
    dom.undefineFlags(C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
