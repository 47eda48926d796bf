"""Every row of the hints table, triggered for real and checked for its hint.

Failures come from guiapp's drivers (QEMU, test, Xen, remote), from Debian's libvirt (python3-libvirt) for the
ones libvirt reports too (same hint for the same failure), and from child processes run with fewer
privileges (a root without CAP_DAC_OVERRIDE / CAP_NET_ADMIN) or in a private mount namespace (a tiny tmpfs,
``/dev/null`` in place of ``/dev/kvm``).  The rows needing ssh live in
``tests/backend/drivers/remote/test_remote_hints.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import guiapp.backend as lib
from guiapp.backend.hints import RULES, hint_for

ROOT = Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-system-x86_64")
needs_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed")


def _dom(name: str, devices: str = "", *, dtype: str = "qemu", os_extra: str = "", mem_mib: int = 64,
         extra: str = "") -> str:
    return (f"<domain type='{dtype}'><name>{name}</name>{extra}<memory unit='MiB'>{mem_mib}</memory>"
            f"<os><type arch='x86_64' machine='pc'>hvm</type>{os_extra}</os><devices>{devices}</devices></domain>")


def _error(fn: Callable[[], Any]) -> lib.libvirtError:
    with pytest.raises(lib.libvirtError) as e:
        fn()
    return e.value


def _key(err: Any) -> str:
    hint = hint_for(err)
    assert hint is not None, f"no hint for {err!r}: {getattr(err, 'err', err)}"
    assert hint.text and "{" not in hint.text
    return hint.key


@pytest.fixture
def quiet() -> Iterator[None]:
    lib.registerErrorHandler(lambda ctx, err: None, None)
    yield
    lib.registerErrorHandler(None, None)


@pytest.fixture
def qconn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quiet: None) -> Iterator[lib.virConnect]:
    """qemu:///session in private XDG folders; every guest is destroyed at the end."""
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    (tmp_path / "run").mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    c = lib.open("qemu:///session")
    yield c
    for d in c.listAllDomains(lib.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
        d.destroy()
    c.close()


# ---------------------------------------------------------------------------- guiapp's own drivers
def test_missing_kernel(qconn: lib.virConnect) -> None:
    e = _error(lambda: qconn.createXML(_dom("k", os_extra="<kernel>/nonexistent/vmlinuz</kernel>"), 0))
    assert _key(e) == "missing-kernel" and "/nonexistent/vmlinuz" in hint_for(e).text  # type: ignore[union-attr]


def test_missing_disk_and_iso(qconn: lib.virConnect) -> None:
    disk = "<disk type='file' device='disk'><source file='/nonexistent/a.img'/><target dev='vda' bus='virtio'/></disk>"
    iso = ("<disk type='file' device='cdrom'><source file='/nonexistent/install.iso'/><target dev='hdc'/>"
           "<readonly/></disk>")
    assert _key(_error(lambda: qconn.createXML(_dom("d", disk), 0))) == "missing-disk"
    assert _key(_error(lambda: qconn.createXML(_dom("i", iso), 0))) == "missing-iso"


def test_bridge_missing(qconn: lib.virConnect) -> None:
    nic = "<interface type='bridge'><source bridge='nosuchbr7'/></interface>"
    e = _error(lambda: qconn.createXML(_dom("b", nic), 0))
    assert _key(e) == "bridge-missing" and "nosuchbr7" in hint_for(e).text  # type: ignore[union-attr]


def test_network_not_running(qconn: lib.virConnect) -> None:
    if os.geteuid() != 0:
        pytest.skip("as a user the session driver reports qemu-bridge-helper instead (tested below)")
    nic = "<interface type='network'><source network='default'/></interface>"
    assert _key(_error(lambda: qconn.createXML(_dom("n", nic), 0))) == "network-bridge-down"


def test_qemu_binary_missing(qconn: lib.virConnect) -> None:
    e = _error(lambda: qconn.createXML(_dom("e", "<emulator>/nonexistent/qemu-system-x86_64</emulator>"), 0))
    assert _key(e) == "qemu-missing"


def test_not_running_no_support_name_in_use(qconn: lib.virConnect) -> None:
    dom = qconn.defineXML(_dom("idle"))
    try:
        assert _key(_error(dom.shutdown)) == "not-running"
        assert hint_for(_error(dom.shutdown)).action == ("start-domain", "idle")  # type: ignore[union-attr]
        assert _key(_error(dom.securityLabel)) == "no-support"
        clash = _dom("idle", extra="<uuid>11111111-2222-3333-4444-555555555555</uuid>")
        assert _key(_error(lambda: qconn.defineXML(clash))) == "name-in-use"
    finally:
        dom.undefine()


def test_read_only_and_xml(quiet: None) -> None:
    ro = lib.openReadOnly("test:///default")
    assert _key(_error(lambda: ro.lookupByName("test").destroy())) == "read-only"
    rw = lib.open("test:///default")
    assert _key(_error(lambda: rw.defineXML("<domain"))) == "xml-invalid"
    assert _key(_error(lambda: rw.defineXML("<domain type='test'><memory>1</memory></domain>"))) == "xml-invalid"


def test_daemon_unreachable(quiet: None, tmp_path: Path) -> None:
    e = _error(lambda: lib.open(f"qemu+unix:///system?socket={tmp_path}/no-such-sock"))
    assert _key(e) == "daemon-unreachable"


def test_xen_toolstack_missing(quiet: None, tmp_path: Path) -> None:
    e = _error(lambda: lib.open(f"xen:///?xenstored={tmp_path}/no-xenstored-socket"))
    assert _key(e) == "xen-toolstack"


@needs_qemu
@pytest.mark.qemu
def test_out_of_memory(qconn: lib.virConnect) -> None:
    e = _error(lambda: qconn.createXML(_dom("m", mem_mib=900_000_000), 0))
    assert _key(e) == "out-of-memory"


@needs_qemu
@pytest.mark.qemu
def test_display_port_in_use(qconn: lib.virConnect) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        if port < 5900 or port > 5900 + 99:  # QEMU takes display numbers: find one in its range
            s.close()
            port = next(p for p in range(5990, 5900, -1) if _bindable(p))
            s2 = socket.socket()
            s2.bind(("127.0.0.1", port))
            s2.listen()
        else:
            s2 = None
        try:
            vnc = f"<graphics type='vnc' port='{port}' autoport='no' listen='127.0.0.1'/>"
            assert _key(_error(lambda: qconn.createXML(_dom("p", vnc), 0))) == "port-in-use"
        finally:
            if s2 is not None:
                s2.close()


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@needs_qemu
@pytest.mark.qemu
def test_shutdown_without_acpi(qconn: lib.virConnect) -> None:
    dom = qconn.createXML(_dom("noacpi"), 0)  # no <features><acpi/>: the guest cannot be asked to power off
    e = _error(dom.shutdown)
    assert _key(e) == "no-acpi"
    assert hint_for(e).action == ("destroy-domain", "noacpi")  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- child processes
_CHILD = """
import json, sys
import guiapp.backend as lib
lib.registerErrorHandler(lambda c, e: None, None)
c = lib.open("qemu:///session")
xml = open(sys.argv[1]).read()
try:
    d = c.createXML(xml, 0) if sys.argv[2] == "create" else c.defineXML(xml)
    print(json.dumps(None))
    if sys.argv[2] == "create":
        d.destroy()
except lib.libvirtError as e:
    print(json.dumps(list(e.err)))
"""


def _child(tmp_path: Path, xml: str, what: str, prefix: list[str], config: Path | None = None) -> tuple:
    run = tmp_path / "crun"
    run.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_RUNTIME_DIR=str(run),
               XDG_CONFIG_HOME=str(config or tmp_path / "ccfg"), GUIAPP_URI_ROUTE="local")
    xml_file = tmp_path / "child-domain.xml"
    xml_file.write_text(xml)
    out = subprocess.run(prefix + [sys.executable, "-c", _CHILD, str(xml_file), what], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    err = json.loads(out.stdout.strip().splitlines()[-1])
    assert err is not None, "the child did not fail"
    return tuple(err)


def _root_with(tool: str) -> None:
    if os.geteuid() != 0 or shutil.which(tool) is None:
        pytest.skip(f"needs root and {tool}")
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")


@pytest.mark.qemu
def test_permission_denied_on_image(tmp_path: Path) -> None:
    _root_with("setpriv")
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"not a kernel")
    os.chown(kernel, 65534, 65534)
    kernel.chmod(0o600)  # root without CAP_DAC_OVERRIDE cannot read it, as an unprivileged QEMU could not
    err = _child(tmp_path, _dom("perm", os_extra=f"<kernel>{kernel}</kernel>"), "create",
                 ["setpriv", "--bounding-set=-dac_override,-dac_read_search"])
    assert _key(err) == "permission-denied" and str(kernel) in hint_for(err).text  # type: ignore[union-attr]


def test_bridge_helper_not_allowed(tmp_path: Path) -> None:
    _root_with("setpriv")
    nic = "<interface type='network'><source network='default'/></interface>"
    err = _child(tmp_path, _dom("helper", nic), "create", ["setpriv", "--bounding-set=-net_admin"])
    assert _key(err) == "bridge-helper"


def test_kvm_unavailable(tmp_path: Path) -> None:
    _root_with("unshare")
    script = 'mount --bind /dev/null /dev/kvm 2>/dev/null || mount -t tmpfs none /dev/null 2>/dev/null; exec "$@"'
    if not os.path.exists("/dev/kvm"):
        script = 'exec "$@"'
    err = _child(tmp_path, _dom("kvm", dtype="kvm"), "create", ["unshare", "--mount", "sh", "-c", script, "sh"])
    assert _key(err) == "kvm-unavailable"


def test_disk_full(tmp_path: Path) -> None:
    _root_with("unshare")
    full = tmp_path / "full"
    full.mkdir()
    script = f'mount -t tmpfs -o size=64k guiapp-test-full {full} && exec "$@"'
    big = _dom("full", extra="<description>" + "x" * 200_000 + "</description>")
    err = _child(tmp_path, big, "define", ["unshare", "--mount", "sh", "-c", script, "sh"], config=full)
    assert _key(err) == "disk-full"


# ---------------------------------------------------------------------------- Debian's libvirt, same hints
def test_libvirt_errors_get_the_same_hints(quiet: None, tmp_path: Path) -> None:
    sys.path.append("/usr/lib/python3/dist-packages")
    libvirt = pytest.importorskip("libvirt")
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    c = libvirt.open("test:///default")
    ro = libvirt.openReadOnly("test:///default")
    dom = c.lookupByName("test")
    try:
        dom.destroy()

        def theirs(fn: Callable[[], Any]) -> str:
            with pytest.raises(libvirt.libvirtError) as e:
                fn()
            return _key(e.value)
        assert theirs(dom.shutdown) == "not-running"
        assert theirs(lambda: ro.lookupByName("test").create()) == "read-only"
        assert theirs(lambda: c.defineXML("<domain")) == "xml-invalid"
        assert theirs(lambda: dom.openConsole(None, c.newStream(0), 0)) == "no-support"
        clash = dom.XMLDesc().replace(dom.UUIDString(), "11111111-2222-3333-4444-555555555555")
        assert theirs(lambda: c.defineXML(clash)) == "name-in-use"
        assert theirs(lambda: libvirt.open(f"qemu+unix:///system?socket={tmp_path}/none")) == "daemon-unreachable"
    finally:
        dom.create()  # libvirt's test:///default is shared by the process while a connection is open: as found
        ro.close()
        c.close()
        libvirt.registerErrorHandler(None, None)


def test_every_rule_is_covered_and_keys_are_unique() -> None:
    keys = [r.key for r in RULES]
    assert len(keys) == len(set(keys))
    text = Path(__file__).read_text() + (Path(__file__).parent / "drivers/remote/test_remote_hints.py").read_text()
    missing = [k for k in keys if f'"{k}"' not in text.replace(f'Rule("{k}"', "")]
    assert not missing, f"hint rows no test triggers: {missing}"


def test_cli_prints_the_hint(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "guiapp.backend.cli", "-c", "test:///default", "-r", "destroy",
                          "test"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert lines[0].startswith("error: ") and lines[-1].startswith("hint: This connection is read-only.")
