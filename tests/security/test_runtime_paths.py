"""Runtime and config paths of the QEMU driver cannot collide, and any storable name starts (issue 11, 6 and 8).

Real QEMU processes (firmware-only guests: SeaBIOS, no kernel needed) in private XDG directories.
"""

# ruff: noqa: F811 - the fixtures imported from qemu_testlib are test arguments
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend" / "drivers" / "qemu"))
from qemu_testlib import QEMU, conn, dom_dir, runtime_dir, xdg  # noqa: F401 - fixtures

import guiapp.backend as libvirt
from guiapp.backend import constants as C

pytestmark = [pytest.mark.qemu]


def firmware_xml(name: str) -> str:
    return (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>32</memory>"
            f"<os><type arch='x86_64'>hvm</type></os><devices><graphics type='vnc' autoport='yes'/></devices>"
            f"</domain>")


def files_of(path: Path) -> set[str]:
    return {str(p) for p in path.rglob("*")} if path.exists() else set()


def test_undefining_x_cmd_keeps_running_x_files(conn, xdg) -> None:
    x = conn.createXML(firmware_xml("x"), 0)
    before = files_of(runtime_dir(xdg))
    rec = json.loads((dom_dir(runtime_dir(xdg), "x") / "record.json").read_text())
    for other in ("x.cmd", "x.console", "x.json", "x.pid", "x.vnc", "x.lease", "sock", "1-qmp", "record.json"):
        conn.defineXML(firmware_xml(other)).undefine()
    assert files_of(runtime_dir(xdg)) >= before  # nothing of x went
    for key in ("qmp", "qmp_cmd", "vnc_socket"):
        assert os.path.exists(rec[key]), key
    x.suspend()  # QMP still reaches it
    x.resume()
    assert x.info()[0] == C.VIR_DOMAIN_RUNNING
    x.destroy()
    assert not dom_dir(runtime_dir(xdg), "x").exists()
    assert list((runtime_dir(xdg) / "sock").iterdir()) == []


def test_two_running_guests_named_like_each_others_files(conn, xdg) -> None:
    a = conn.createXML(firmware_xml("g"), 0)
    b = conn.createXML(firmware_xml("g.cmd"), 0)
    assert a.ID() != b.ID()
    b.destroy()
    a.suspend()
    assert a.info()[0] == C.VIR_DOMAIN_PAUSED
    a.destroy()


@pytest.mark.parametrize("length", [80, 108, 200, 240, 251])
def test_long_names_define_and_start(conn, xdg, length: int) -> None:
    name = "n" * length
    dom = conn.defineXML(firmware_xml(name))
    dom.create()
    try:
        assert dom.info()[0] == C.VIR_DOMAIN_RUNNING
        rec = json.loads((dom_dir(runtime_dir(xdg), name) / "record.json").read_text())
        assert all(len(rec[k].encode()) <= 107 for k in ("qmp", "qmp_cmd", "qmp_stats", "vnc_socket"))
        dom.suspend()
        dom.resume()
    finally:
        dom.destroy()
        dom.undefine()


@pytest.mark.parametrize("name", ["n" * 252, "n" * 300, "é" * 126, "n" * 5000])
def test_names_too_long_to_store_are_refused_with_the_limit(conn, xdg, name: str) -> None:
    before = files_of(xdg / "cfg")
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.defineXML(firmware_xml(name))
    assert ei.value.get_error_code() == C.VIR_ERR_XML_ERROR
    assert "251 bytes" in str(ei.value) and "INTERNAL" not in str(ei.value)
    assert files_of(xdg / "cfg") == before
    assert conn.listAllDomains() == []


def test_transient_guest_with_a_very_long_name_starts(conn, xdg) -> None:
    """No file is named after a transient guest: any name libvirt accepts runs (libvirt's test driver takes
    5000-character names too)."""
    dom = conn.createXML(firmware_xml("t" * 1000), 0)
    assert dom.info()[0] == C.VIR_DOMAIN_RUNNING
    dom.destroy()


def test_running_guest_of_the_old_flat_layout_is_reattached(conn, xdg) -> None:
    """A guest started with ``<runtime>/<name>.json|.qmp|.cmd.qmp`` (before per-domain directories) is moved
    over on open: it is still running and controllable, and its old files go when it stops."""
    dom = conn.defineXML(firmware_xml("old"))
    dom.create()
    run = runtime_dir(xdg)
    d = dom_dir(run, "old")
    rec = json.loads((d / "record.json").read_text())
    conn.close()
    # rewrite its state as the older guiapp kept it
    legacy = {"qmp": run / "old.qmp", "qmp_cmd": run / "old.cmd.qmp", "vnc_socket": run / "old.vnc"}
    for key, path in legacy.items():
        os.rename(rec[key], path)
        rec[key] = str(path)
    os.rename(d / "pid", run / "old.pid")
    os.rename(d / "console.log", run / "old.console.log") if (d / "console.log").exists() else None
    del rec["pidfile"]
    (run / "old.json").write_text(json.dumps(rec))
    for f in d.iterdir():
        f.unlink()
    d.rmdir()
    (run / "old.lease").write_text("")

    c = libvirt.open("qemu:///session")
    try:
        old = c.lookupByName("old")
        assert old.isActive() == 1 and old.ID() == rec["id"]
        assert not (run / "old.json").exists()
        old.suspend()
        assert old.info()[0] == C.VIR_DOMAIN_PAUSED
        old.destroy()
        assert old.state()[0] == C.VIR_DOMAIN_SHUTOFF
        assert sorted(p.name for p in run.iterdir() if p.name.startswith("old.")) == []
        old.undefine()
    finally:
        c.close()


def test_runtime_dir_too_long_for_sockets_is_a_clear_error(xdg, monkeypatch) -> None:
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    deep = xdg / ("d" * 100)
    deep.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    c = libvirt.open("qemu:///session")
    try:
        with pytest.raises(libvirt.libvirtError) as ei:
            c.createXML(firmware_xml("deep"), 0)
        assert ei.value.get_error_code() == C.VIR_ERR_OPERATION_FAILED
        assert "XDG_RUNTIME_DIR" in str(ei.value) and "107" in str(ei.value)
    finally:
        c.close()


def test_autoport_vnc_of_a_local_guest_is_on_its_unix_socket_only(conn, xdg) -> None:
    """No TCP listener unless the XML gives a listen address; the console still finds the display."""
    from guiapp.vnc.address import console_target
    dom = conn.createXML(firmware_xml("vncsock"), 0)
    try:
        rec = json.loads((dom_dir(runtime_dir(xdg), "vncsock") / "record.json").read_text())
        vncs = [rec["argv"][i + 1] for i, a in enumerate(rec["argv"]) if a == "-vnc"]
        assert vncs == [f"vnc=unix:{rec['vnc_socket']}"] and "vnc_port" not in rec  # none: the key is left out
        target = console_target(dom)
        assert target.address.is_unix and target.address.path == rec["vnc_socket"]
        assert os.path.exists(rec["vnc_socket"])
    finally:
        dom.destroy()
    tcp = conn.createXML(firmware_xml("vnctcp").replace("autoport='yes'/>", "autoport='yes' listen='127.0.0.1'/>"),
                         0)
    try:
        rec = json.loads((dom_dir(runtime_dir(xdg), "vnctcp") / "record.json").read_text())
        assert rec["vnc_port"] is not None and rec["vnc_port"] >= 5900  # asked for: TCP on loopback
    finally:
        tcp.destroy()
