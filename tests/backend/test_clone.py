"""Cloning (backend/clone.py) on the test driver: identity, disks copied/linked/shared through the storage
API, running sources, clean-up on failure, and guiapp-virsh clone / config-history."""

from __future__ import annotations

import io
import re

import pytest

import guiapp.backend as libvirt
from guiapp.backend import cli_history
from guiapp.backend.clone import clone

BASE_VOL = ("<volume><name>base.qcow2</name><capacity>1048576</capacity>"
            "<target><format type='qcow2'/></target></volume>")


@pytest.fixture
def conn():
    c = libvirt.open("test:///default")
    yield c
    c.close()


def _with_pool_disk(conn) -> libvirt.virDomain:
    """A shut-off copy of 'test' whose disk is a volume of default-pool."""
    pool = conn.storagePoolLookupByName("default-pool")
    vol = pool.createXML(BASE_VOL)
    xml = conn.lookupByName("test").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    xml = xml.replace("/guest/diskimage1", vol.path()).replace("<name>test</name>", "<name>src</name>")
    xml = re.sub(r"<uuid>.*</uuid>", "", xml)
    xml = xml.replace('<disk type="file" device="disk">', '<disk type="file" device="disk"><driver name="qemu" '
                                                          'type="qcow2"/>')
    return conn.defineXML(xml)


def _macs(xml: str) -> list[str]:
    return re.findall(r"<mac address=[\"']([0-9a-f:]+)[\"']", xml)


def _vols(conn) -> list[str]:
    return sorted(v.name() for v in conn.storagePoolLookupByName("default-pool").listAllVolumes())


def test_share_clone_gets_new_identity(conn) -> None:
    src = conn.lookupByName("test")
    src.suspend()  # nothing to copy with share: running would do too, paused as well
    new = clone(conn, src, "test-clone", "share")
    assert new.name() == "test-clone" and new.UUIDString() != src.UUIDString()
    assert not new.isActive() and new.isPersistent()
    a, b = src.XMLDesc(0), new.XMLDesc(0)
    assert _macs(a) == ["aa:bb:cc:dd:ee:ff"] and len(_macs(b)) == 1 and _macs(b) != _macs(a)
    assert _macs(b)[0].startswith("52:54:00:")
    assert "/guest/diskimage1" in b  # shared
    hist = new.guiappConfigVersions()
    assert len(hist) == 1 and hist[0]["op"] == f"clone of test ({src.UUIDString()})"


@pytest.mark.parametrize("mode, fmt, backing", [("copy", "qcow2", None),
                                                ("linked", "qcow2", "/default-pool/base.qcow2")])
def test_disk_copied_or_linked_through_the_storage_api(conn, mode, fmt, backing) -> None:
    src = _with_pool_disk(conn)
    steps = []
    new = clone(conn, src, "c", mode, progress=lambda *a: steps.append(a))
    assert steps == [(0, 1, f"{'linking' if mode == 'linked' else 'copying'} disk vda"), (1, 1, "defining the clone")]
    assert _vols(conn) == ["base.qcow2", "c.qcow2"]
    vol = conn.storageVolLookupByPath("/default-pool/c.qcow2")
    vxml = vol.XMLDesc(0)
    assert f"<format type='{fmt}'/>" in vxml
    assert (backing in vxml) if backing else ("backingStore" not in vxml)
    assert "/default-pool/c.qcow2" in new.XMLDesc(0) and "/default-pool/base.qcow2" in src.XMLDesc(0)
    again = clone(conn, src, "c2", mode)  # next free names
    assert "/default-pool/c2.qcow2" in again.XMLDesc(0)


def test_running_source_refused_unless_paused(conn) -> None:
    src = _with_pool_disk(conn)
    src.create()
    with pytest.raises(libvirt.libvirtError) as e:
        clone(conn, src, "c")
    assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert "pause or shut it down" in e.value.get_error_message()
    assert _vols(conn) == ["base.qcow2"]
    src.suspend()
    assert clone(conn, src, "c").name() == "c"


def test_failed_define_removes_the_volumes_made(conn) -> None:
    src = _with_pool_disk(conn)
    with pytest.raises(libvirt.libvirtError) as e:
        clone(conn, src, "test")  # the name is taken: define fails after the copy
    assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    assert _vols(conn) == ["base.qcow2"]


def test_disk_outside_pools_on_the_test_driver_says_what_to_do(conn) -> None:
    src = conn.lookupByName("test")
    src.destroy()
    with pytest.raises(libvirt.libvirtError) as e:
        clone(conn, src, "x")
    assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert "not a volume of a storage pool" in e.value.get_error_message() and "'share'" in e.value.get_error_message()
    with pytest.raises(libvirt.libvirtError) as e:
        clone(conn, src, "x", "deep")
    assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def test_read_only_connection_cannot_clone() -> None:
    ro = libvirt.openReadOnly("test:///default")
    with pytest.raises(libvirt.libvirtError) as e:
        clone(ro, ro.lookupByName("test"), "x", "share")
    assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED


def test_cli_clone_and_history(conn) -> None:
    _with_pool_disk(conn)
    out, err = io.StringIO(), io.StringIO()
    rc = cli_history.HANDLERS["clone"](conn, {"domain": "src", "name": "cli-copy", "storage": "linked"},
                                       out=out, err=err)
    assert (rc, err.getvalue()) == (0, "")
    assert out.getvalue().startswith("[0/1] linking disk vda\n[1/1] defining the clone\nDomain 'cli-copy' cloned ")
    out = io.StringIO()
    conn.lookupByName("cli-copy").setMemoryFlags(65536, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    assert cli_history.HANDLERS["config-history"](conn, {"domain": "cli-copy"}, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["Version", "Time", "Operation", "User", "Name"]
    assert lines[2].split()[0] == "1" and "clone of src" in lines[2]
    assert lines[3].split()[0] == "2" and "setMemoryFlags" in lines[3]
    out = io.StringIO()
    assert cli_history.HANDLERS["config-diff"](conn, {"domain": "cli-copy", "version1": "1", "version2": "2"},
                                               out=out) == 0
    assert "+  <currentMemory unit='KiB'>65536</currentMemory>" in out.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert cli_history.HANDLERS["config-revert"](conn, {"domain": "cli-copy", "version": "x"}, out=out, err=err) == 1
    assert err.getvalue() == "error: version 'x' is not a number (see config-history)\n"
    assert cli_history.HANDLERS["config-revert"](conn, {"domain": "cli-copy", "version": "1"}, out=out) == 0
    conn.lookupByName("cli-copy").undefine()
    out = io.StringIO()
    assert cli_history.HANDLERS["deleted-list"](conn, {}, out=out) == 0
    assert "cli-copy" in out.getvalue()
    assert cli_history.HANDLERS["restore-deleted"](conn, {"domain": "cli-copy"}, out=io.StringIO()) == 0
    assert conn.lookupByName("cli-copy").isPersistent()


def test_guiapp_clone_entry_point(tmp_path, capsys) -> None:
    from guiapp.backend.cli_history import clone_main

    node = tmp_path / "n.xml"
    node.write_text("<node><domain type='test'><name>a</name><memory>1048576</memory><os><type>hvm</type></os>"
                    "</domain></node>")
    uri = f"test://{node}"
    assert clone_main(["-c", uri, "-o", "a", "-n", "../b"]) == 1
    out, err = capsys.readouterr()
    assert err == ("error: Failed to clone domain 'a'\nerror: invalid argument: refusing the clone name '../b': it "
                   "contains '/' (its disks are named after it)\n")
    assert clone_main(["-c", uri, "-o", "nope", "-n", "b"]) == 1
    assert capsys.readouterr().err == "error: failed to get domain 'nope'\n"
    assert clone_main(["-c", uri, "-o", "a", "-n", "b", "-q"]) == 0
    assert capsys.readouterr() == ("", "")
