"""The QEMU driver's versioned runtime record: format, old files, newer versions refused, through the API."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from qemu_testlib import QEMU, dom_dir, runtime_dir

import guiapp.backend as libvirt
from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu.record import (
    VERSION,
    NicUse,
    RecordError,
    RecordVersionError,
    RuntimeRecord,
    load_record,
    save_record,
)

UUID = "c7a5fdbdcdaf9455926ad65c16db1809"

#: A record exactly as the driver wrote it before records were versioned (a running guest; keys with null).
OLD_RUNNING = {
    "name": "old", "uuid": UUID, "id": 3, "pid": 4242, "start_time": 123456, "state": 1, "reason": 1,
    "qmp": "/run/x/sock/3-qmp", "qmp_cmd": "/run/x/sock/3-cmd", "vcpu_tids": [4243], "taps": ["vnet0"],
    "argv": ["qemu-system-x86_64", "-name", "guest=old"], "vnc_port": None, "vnc_socket": "/run/x/sock/3-vnc",
    "pidfile": f"/run/x/{UUID}/pid", "no_shutdown": True, "started": 1.5, "changed_at": 2.5,
    "nets": [{"network": "default", "mac": "52:54:00:00:00:01", "tap": "vnet0"}], "own_taps": [],
    "xml": "<domain type='qemu'><name>old</name></domain>", "fake_reboot": True, "pause_reason": 2,
}


def test_old_unversioned_record_loads_with_every_field(tmp_path: Path) -> None:
    p = tmp_path / "record.json"
    p.write_text(json.dumps(OLD_RUNNING))
    rec = load_record(p)
    assert rec is not None and rec.version == 1
    assert (rec.name, rec.uuid, rec.id, rec.pid, rec.start_time, rec.state) == ("old", UUID, 3, 4242, 123456, 1)
    assert rec.nets == [NicUse("default", "52:54:00:00:00:01", "vnet0")]
    assert rec.vnc_port is None and rec.exit_reason is None and rec.running
    assert rec.socket_paths() == ["/run/x/sock/3-qmp", "/run/x/sock/3-cmd", "/run/x/sock/3-vnc"]
    assert rec.take_pause_reason(7) == 2 and rec.pause_reason is None and rec.take_pause_reason(7) == 7


def test_round_trip_is_atomic_private_and_leaves_out_nulls(tmp_path: Path) -> None:
    p = tmp_path / "record.json"
    rec = RuntimeRecord.from_dict(OLD_RUNNING, p)
    save_record(p, rec)
    assert oct(p.stat().st_mode & 0o777) == "0o600"
    assert [f.name for f in tmp_path.iterdir()] == ["record.json"]  # no temp file left
    data = json.loads(p.read_text())
    assert data["version"] == VERSION and "vnc_port" not in data and "exit_reason" not in data
    assert load_record(p) == rec
    # what older readers test: key presence (exit_reason), list-of-dict nets
    assert data["nets"] == OLD_RUNNING["nets"]


def test_unknown_keys_are_kept_and_written_back(tmp_path: Path) -> None:
    p = tmp_path / "record.json"
    p.write_text(json.dumps({**OLD_RUNNING, "version": VERSION, "hotplugged": ["net1"]}))
    rec = load_record(p)
    assert rec is not None and rec.extra == {"hotplugged": ["net1"]}
    save_record(p, rec)
    assert json.loads(p.read_text())["hotplugged"] == ["net1"]


def test_newer_version_is_refused_clearly(tmp_path: Path) -> None:
    p = tmp_path / "record.json"
    p.write_text(json.dumps({**OLD_RUNNING, "version": VERSION + 1}))
    with pytest.raises(RecordVersionError) as info:
        load_record(p)
    err = info.value
    assert err.code == C.VIR_ERR_OPERATION_FAILED and err.version == VERSION + 1
    assert str(p) in err.detail and f"format version {VERSION + 1}" in err.detail
    assert f"reads versions 1 to {VERSION}" in err.detail and "guiapp that started it" in err.detail


@pytest.mark.parametrize("data,why", [
    ({**OLD_RUNNING, "pid": "4242"}, "'pid' is str"),
    ({**OLD_RUNNING, "pid": True}, "'pid' is bool"),
    ({**OLD_RUNNING, "taps": "vnet0"}, "'taps' is str"),
    ({**OLD_RUNNING, "vcpu_tids": [1, "2"]}, "'vcpu_tids' is list"),
    ({**OLD_RUNNING, "nets": [{"mac": "x"}]}, "a 'nets' entry"),
    ({**OLD_RUNNING, "version": "1"}, "'version' is '1'"),
    ({**OLD_RUNNING, "version": 0}, "'version' is 0"),
    ({k: v for k, v in OLD_RUNNING.items() if k != "name"}, "'name' is missing"),
    ({**OLD_RUNNING, "uuid": "../../etc"}, "not hexadecimal"),
    ({**OLD_RUNNING, "uuid": "abcd"}, "32 hex digits"),
])
def test_wrong_types_make_a_broken_record(tmp_path: Path, data: dict, why: str) -> None:
    p = tmp_path / "record.json"
    p.write_text(json.dumps(data))
    with pytest.raises(RecordError, match=re.escape(why)):
        load_record(p)


@pytest.mark.parametrize("text", ["{", "[1, 2]", ""])
def test_not_json_or_not_an_object_is_broken(tmp_path: Path, text: str) -> None:
    p = tmp_path / "record.json"
    p.write_text(text)
    with pytest.raises(RecordError, match=str(p)):
        load_record(p)
    assert load_record(tmp_path / "absent.json") is None


# -- through the driver (defined domains: no guest is booted) -------------------------------------------------

XML = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>32</memory>
  <os><type arch='x86_64'>hvm</type></os><devices/></domain>"""

needs_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed")


@needs_qemu
def test_a_newer_guiapps_record_is_refused_through_the_api_and_left_alone(conn: libvirt.virConnect,
                                                                            xdg: Path) -> None:
    conn.defineXML(XML.format(name="newer"))
    path = dom_dir(runtime_dir(xdg), "newer") / "record.json"
    newer = {**json.loads(path.read_text()), "version": VERSION + 5, "state": 1, "pid": os.getpid()}
    path.write_text(json.dumps(newer))
    before = path.read_bytes()
    c = libvirt.open("qemu:///session")
    try:
        assert "newer" in c.listDefinedDomains()
        uuid = c.lookupByName("newer").UUIDString()
        same = XML.format(name="newer").replace("</name>", f"</name><uuid>{uuid}</uuid>")
        for call in (lambda: c.lookupByName("newer").info(), lambda: c.lookupByName("newer").create(),
                     lambda: c.lookupByName("newer").undefine(), lambda: c.defineXML(same)):
            with pytest.raises(libvirt.libvirtError) as info:
                call()
            assert info.value.get_error_code() == C.VIR_ERR_OPERATION_FAILED
            assert f"format version {VERSION + 5}" in info.value.get_error_message()
            assert "guiapp that started it" in info.value.get_error_message()
        with pytest.raises(libvirt.libvirtError, match=f"format version {VERSION + 5}"):
            c.createXML(same, 0)
    finally:
        c.close()
    assert path.read_bytes() == before  # nothing was rewritten


@needs_qemu
def test_an_old_unversioned_stopped_record_loads(conn: libvirt.virConnect,
                                                                              xdg: Path) -> None:
    dom = conn.defineXML(XML.format(name="plain"))
    path = dom_dir(runtime_dir(xdg), "plain") / "record.json"
    old = {"name": "plain", "uuid": dom.UUIDString().replace("-", ""), "state": C.VIR_DOMAIN_SHUTOFF,
           "reason": C.VIR_DOMAIN_SHUTOFF_DESTROYED}
    path.write_text(json.dumps(old))  # exactly what the unversioned driver wrote for a stopped domain
    c = libvirt.open("qemu:///session")
    try:
        d = c.lookupByName("plain")
        assert d.state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_DESTROYED]
        d.setMemoryFlags(16 * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    finally:
        c.close()


@needs_qemu
@pytest.mark.qemu
def test_a_running_guest_with_an_unversioned_record_is_reattached(conn: libvirt.virConnect, xdg: Path) -> None:
    """A guest started before records were versioned (its record has no version and null keys) is re-attached
    by a new connection: still running, controllable, and its record is versioned when next written."""
    dom = conn.defineXML(XML.format(name="legacyrec"))
    dom.create()
    dom_id = dom.ID()
    conn.close()
    path = dom_dir(runtime_dir(xdg), "legacyrec") / "record.json"
    data = json.loads(path.read_text())
    del data["version"]
    data.update(vnc_port=None, start_time=data["start_time"])  # the old writer kept null keys
    path.write_text(json.dumps(data, sort_keys=True, indent=1))
    c = libvirt.open("qemu:///session")
    try:
        d = c.lookupByName("legacyrec")
        assert d.isActive() == 1 and d.ID() == dom_id
        d.suspend()
        assert d.state()[0] == C.VIR_DOMAIN_PAUSED
        assert json.loads(path.read_text())["version"] == VERSION
        d.destroy()
        assert d.state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_DESTROYED]
    finally:
        c.close()
