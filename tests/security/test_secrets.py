"""Issue 11 item 4: secrets (a VNC password) never leave through a read-only connection, argv, logs or errors.

libvirt's rule, checked against Debian's libvirt-python: ``XMLDesc`` with VIR_DOMAIN_XML_SECURE or
VIR_DOMAIN_XML_MIGRATABLE on a read-only connection fails with VIR_ERR_OPERATION_DENIED
("virDomainGetXMLDesc with secure flag") before any driver is asked, and ``domainXMLToNative`` /
``domainXMLFromNative`` are refused on read-only connections altogether. guiapp applies it in the front end,
so every driver (test, qemu, xen) is covered; each is exercised here.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hv_peers import real_libvirt, session_conn, xen_fixtures

import guiapp.backend as libvirt
from guiapp.backend import constants as C

_xen = xen_fixtures()
xs_shim, xenstored, fake_xl, xen_env = _xen.xs_shim, _xen.xenstored, _xen.fake_xl, _xen.xen_env

SECRET = "pw4vnc"
SECRET_FLAGS = [C.VIR_DOMAIN_XML_SECURE, C.VIR_DOMAIN_XML_MIGRATABLE,
                C.VIR_DOMAIN_XML_SECURE | C.VIR_DOMAIN_XML_INACTIVE]

NODE = f"""<node>
  <domain type='test'>
    <name>locked</name>
    <uuid>6695eb01-f6a4-8304-79aa-97f2502e1931</uuid>
    <memory>65536</memory>
    <os><type>hvm</type></os>
    <devices><graphics type='vnc' port='5904' passwd='{SECRET}'/></devices>
  </domain>
</node>"""

QEMU_GUEST = f"""<domain type='qemu'>
  <name>locked</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><graphics type='vnc' port='-1' autoport='yes' passwd='{SECRET}'/></devices>
</domain>"""

XEN_GUEST = f"""<domain type='xen'>
  <name>locked</name>
  <memory>131072</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type><loader>/usr/lib/xen/boot/hvmloader</loader></os>
  <devices><graphics type='vnc' port='-1' autoport='yes' passwd='{SECRET}'/></devices>
</domain>"""


@pytest.fixture
def quiet():
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    yield
    libvirt.registerErrorHandler(None, None)


@pytest.fixture
def node_uri(tmp_path: Path) -> str:
    path = tmp_path / "node.xml"
    path.write_text(NODE)
    return f"test://{path}"


def denied(fn, *args) -> tuple[int, int, str]:
    """(code, domain, message) of the libvirtError ``fn(*args)`` raises."""
    with pytest.raises(Exception) as ei:
        fn(*args)
    e = ei.value
    return e.get_error_code(), e.get_error_domain(), e.get_error_message()


def assert_secret_rule(rw, ro, name: str) -> None:
    """RW: SECURE has the password, 0 does not; RO: 0 has none, SECURE/MIGRATABLE are refused."""
    assert SECRET in rw.lookupByName(name).XMLDesc(C.VIR_DOMAIN_XML_SECURE)
    assert SECRET not in rw.lookupByName(name).XMLDesc(0)
    dom = ro.lookupByName(name)
    assert SECRET not in dom.XMLDesc(0) and SECRET not in dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)
    for flags in SECRET_FLAGS:
        assert denied(dom.XMLDesc, flags) == (C.VIR_ERR_OPERATION_DENIED, C.VIR_FROM_DOMAIN,
                                              "operation forbidden: virDomainGetXMLDesc with secure flag")


@pytest.mark.parametrize("flags", SECRET_FLAGS)
def test_read_only_secure_xml_is_refused_exactly_as_libvirt(quiet, flags: int) -> None:
    ours = denied(libvirt.openReadOnly("test:///default").lookupByName("test").XMLDesc, flags)
    assert ours[0] == C.VIR_ERR_OPERATION_DENIED
    real = real_libvirt()
    if real is None:
        pytest.skip("python3-libvirt is not installed")
    theirs = denied(real.openReadOnly("test:///default").lookupByName("test").XMLDesc, flags)
    assert ours == theirs


def test_native_formats_are_refused_on_read_only_exactly_as_libvirt(quiet) -> None:
    ro = libvirt.openReadOnly("test:///default")
    xml = ro.lookupByName("test").XMLDesc(0)
    ours = [denied(ro.domainXMLToNative, "qemu-argv", xml, 0), denied(ro.domainXMLFromNative, "xen-xl", "x=1", 0)]
    assert [o[0] for o in ours] == [C.VIR_ERR_OPERATION_DENIED] * 2
    real = real_libvirt()
    if real is None:
        pytest.skip("python3-libvirt is not installed")
    rro = real.openReadOnly("test:///default")
    theirs = [denied(rro.domainXMLToNative, "qemu-argv", xml, 0), denied(rro.domainXMLFromNative, "xen-xl", "x=1", 0)]
    assert ours == theirs


def test_test_driver_keeps_the_password_from_read_only_like_libvirt(quiet, node_uri: str) -> None:
    assert_secret_rule(libvirt.open(node_uri), libvirt.openReadOnly(node_uri), "locked")
    real = real_libvirt()
    if real is not None:  # the same node file in Debian's libvirt: same visibility
        rw = real.open(node_uri)
        assert SECRET in rw.lookupByName("locked").XMLDesc(C.VIR_DOMAIN_XML_SECURE)
        assert SECRET not in rw.lookupByName("locked").XMLDesc(0)


@pytest.fixture
def qemu_rw(tmp_path: Path):
    yield from session_conn(tmp_path)


def test_qemu_driver_read_only_and_native_argv(quiet, qemu_rw) -> None:
    qemu_rw.defineXML(QEMU_GUEST)
    ro = libvirt.openReadOnly("qemu:///session")
    try:
        assert_secret_rule(qemu_rw, ro, "locked")
        assert denied(ro.domainXMLToNative, "qemu-argv", QEMU_GUEST, 0)[0] == C.VIR_ERR_OPERATION_DENIED
    finally:
        ro.close()
    argv = shlex.split(qemu_rw.domainXMLToNative("qemu-argv", QEMU_GUEST, 0))
    assert not any(SECRET in a for a in argv)
    assert any(a.endswith(",password=on") for a in argv)  # set later over QMP (set_password)
    cfg = Path(os.environ["XDG_CONFIG_HOME"]) / "guiapp" / "qemu" / "locked.xml"
    assert SECRET in cfg.read_text() and cfg.stat().st_mode & 0o077 == 0  # the definition keeps it, 0600


@pytest.mark.xen
def test_xen_driver_read_only(quiet, xen_env) -> None:
    rw = libvirt.open("xen:///")
    rw.defineXML(XEN_GUEST)
    ro = libvirt.openReadOnly("xen:///")
    assert_secret_rule(rw, ro, "locked")
    assert denied(ro.domainXMLToNative, "xen-xl", XEN_GUEST, 0)[0] == C.VIR_ERR_OPERATION_DENIED
    assert f'vncpasswd = "{SECRET}"' in rw.domainXMLToNative("xen-xl", XEN_GUEST, 0)  # read-write: the config
    ro.close()
    rw.close()


def _virsh(args: list[str], env: dict) -> tuple[int, str, str]:
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("flag", ["--security-info", "--migratable"])
def test_virsh_read_only_dumpxml_security_info_like_real_virsh(node_uri: str, flag: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    ours = _virsh([sys.executable, "-m", "guiapp.backend.cli", "-r", "-c", node_uri, "dumpxml", "locked", flag], env)
    assert (ours[0], ours[2]) == (1, "error: operation forbidden: virDomainGetXMLDesc with secure flag\n"), ours
    assert SECRET not in ours[1]
    rw = _virsh([sys.executable, "-m", "guiapp.backend.cli", "-c", node_uri, "dumpxml", "locked",
                 "--security-info"], env)
    assert rw[0] == 0 and SECRET in rw[1]
    if shutil.which("virsh"):
        theirs = _virsh(["virsh", "-r", "-c", node_uri, "dumpxml", "locked", flag], env)
        assert theirs == ours


def test_parse_errors_and_logs_mask_the_password(quiet, qemu_rw, caplog: pytest.LogCaptureFixture) -> None:
    broken = QEMU_GUEST.replace("<devices>", "<devices><oops>")
    msg = denied(qemu_rw.defineXML, broken)[2]
    assert "passwd='***'" in msg and SECRET not in msg
    # a broken stored definition is logged (and skipped) without its password
    cfg_dir = Path(os.environ["XDG_CONFIG_HOME"]) / "guiapp" / "qemu"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    (cfg_dir / "locked.xml").write_text(broken)
    with caplog.at_level(logging.DEBUG):
        names = libvirt.open("qemu:///session").listDefinedDomains()
    assert "locked" not in names
    assert "locked.xml" in caplog.text and SECRET not in caplog.text


def _qemu_pids_under(path: str) -> list[int]:
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        zombie = stat[stat.rfind(b")") + 2:][:1] == b"Z"
        if b"qemu-system" in cmd and path.encode() in cmd and not zombie:
            pids.append(int(entry))
    return pids


def _rfb_security_types(sock_path: str) -> bytes:
    """The security types a VNC server offers (RFB 3.8): 1 none, 2 VNC password."""
    import socket
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sock_path)
        assert s.recv(12).startswith(b"RFB ")
        s.sendall(b"RFB 003.008\n")
        count = s.recv(1)[0]
        return s.recv(count)


@pytest.mark.qemu
def test_real_qemu_gets_the_password_over_qmp_not_argv(quiet, qemu_rw, tmp_path: Path) -> None:
    """The password is not in /proc/PID/cmdline (readable by every local user), yet QEMU asks for it; the
    domain's name holds '=' and ',' (QEMU would split a ``-qmp unix:PATH`` there)."""
    name = "lock=ed,x"
    dom = qemu_rw.createXML(QEMU_GUEST.replace("<name>locked</name>", f"<name>{name}</name>"), 0)
    try:
        pids = _qemu_pids_under(str(tmp_path))
        assert len(pids) == 1, pids
        argv = Path(f"/proc/{pids[0]}/cmdline").read_bytes().decode().split("\0")
        assert not any(SECRET in a for a in argv)
        vnc = next(a for a in argv if a.startswith("vnc=unix:"))
        sock = vnc[len("vnc=unix:"):vnc.rindex(",password=on")].replace(",,", ",")
        assert _rfb_security_types(sock) == b"\x02"  # VNC authentication only: the password is set
        assert SECRET not in dom.XMLDesc(0) and SECRET in dom.XMLDesc(C.VIR_DOMAIN_XML_SECURE)
    finally:
        dom.destroy()
    assert _qemu_pids_under(str(tmp_path)) == []
