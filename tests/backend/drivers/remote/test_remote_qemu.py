"""A real TCG guest on qemu:///system of a private Debian libvirtd, through guiapp's remote driver
(unix socket and ssh), compared with python3-libvirt and virsh."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import guiapp.backend as lib

sys.path.append("/usr/lib/python3/dist-packages")
libvirt = pytest.importorskip("libvirt")

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                                                   reason="qemu-system-x86 is not installed")]
ROOT = Path(__file__).resolve().parents[4]

GUEST = """<domain type='qemu'>
  <name>remote-tiny</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline></os>
  <features><acpi/></features>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><serial type='pty'/><console type='pty'/>
    <memballoon model='none'/></devices>
</domain>"""


@pytest.fixture
def qemu_daemon(tmp_path: Path):
    from guiapp_tests_libvirtd import LibvirtDaemon, require  # loaded by conftest

    require()
    daemon = LibvirtDaemon(tmp_path / "libvirtd", with_virtlogd=True).start()
    yield daemon
    try:  # whatever the test left running goes, through the daemon itself
        c = libvirt.open(daemon.uri("qemu:///system"))
        for d in c.listAllDomains():
            if d.isActive():
                d.destroy()
            if d.isPersistent():
                d.undefine()
        c.close()
    except libvirt.libvirtError:
        pass
    daemon.stop()


@pytest.fixture
def guest_files(tiny_guest):
    """The kernel and initrd where the daemon's qemu user (libvirt-qemu) can read them."""
    d = tempfile.mkdtemp(prefix="guiapp-remote-guest-", dir="/var/tmp")
    os.chmod(d, 0o755)
    out = []
    for src in tiny_guest:
        dst = os.path.join(d, os.path.basename(src))
        shutil.copy(src, dst)
        os.chmod(dst, 0o644)
        out.append(dst)
    yield out
    shutil.rmtree(d, ignore_errors=True)


def test_tcg_guest_lifecycle_through_libvirtd(qemu_daemon, guest_files, sshd) -> None:
    uri = qemu_daemon.uri("qemu:///system")
    c = lib.open(uri)
    theirs = libvirt.open(uri)
    events: list[tuple[str, int]] = []
    started = threading.Event()

    def cb(conn, dom, event, detail, opaque) -> None:
        events.append((dom.name(), event))
        if event == lib.VIR_DOMAIN_EVENT_STARTED:
            started.set()

    cid = c.domainEventRegisterAny(None, lib.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
    try:
        assert c.getType() == "QEMU"
        caps = c.getCapabilities()
        assert caps == theirs.getCapabilities() and "<arch>x86_64</arch>" in caps
        kernel, initrd = guest_files
        d = c.defineXML(GUEST.format(kernel=kernel, initrd=initrd))
        assert theirs.lookupByName("remote-tiny").UUIDString() == d.UUIDString()
        native = c.domainXMLToNative("qemu-argv", d.XMLDesc(0), 0)
        assert native == theirs.domainXMLToNative("qemu-argv", d.XMLDesc(0), 0) and "-kernel" in native
        t0 = time.monotonic()
        d.create()
        assert started.wait(30), events
        assert d.state()[0] == lib.VIR_DOMAIN_RUNNING and d.ID() > 0
        assert theirs.lookupByName("remote-tiny").state() == d.state()
        stats = dict(c.getAllDomainStats())
        row = next(v for k, v in stats.items() if k.name() == "remote-tiny")
        assert row["state.state"] == lib.VIR_DOMAIN_RUNNING and row["vcpu.current"] == 1
        assert c.lookupByName("remote-tiny").XMLDesc(0) == theirs.lookupByName("remote-tiny").XMLDesc(0)
        # the same guest over ssh, listed by guiapp-virsh and virsh alike
        ssh_uri = sshd.ssh_uri(qemu_daemon.uri("qemu:///system", transport=""))
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        mine = subprocess.run([sys.executable, "-m", "guiapp.backend.cli", "-c", ssh_uri, "list", "--all"],
                              capture_output=True, text=True, env=env, timeout=60)
        virsh = subprocess.run(["virsh", "-c", ssh_uri, "list", "--all"], capture_output=True, text=True,
                               timeout=60)
        assert mine.returncode == 0 and mine.stdout == virsh.stdout and "remote-tiny" in mine.stdout
        d.suspend()
        assert theirs.lookupByName("remote-tiny").state()[0] == lib.VIR_DOMAIN_PAUSED
        d.resume()
        d.destroy()
        assert d.state()[0] == lib.VIR_DOMAIN_SHUTOFF and time.monotonic() - t0 < 60
        with pytest.raises(lib.libvirtError) as e:
            d.suspend()
        err = None
        try:
            theirs.lookupByName("remote-tiny").suspend()
        except libvirt.libvirtError as exc:
            err = (exc.get_error_code(), exc.get_error_domain(), exc.get_error_message())
        assert (e.value.get_error_code(), e.value.get_error_domain(), e.value.get_error_message()) == err
        d.undefine()
        assert [x.name() for x in theirs.listAllDomains()] == []
    finally:
        c.domainEventDeregisterAny(cid)
        c.close()
        theirs.close()
    assert (("remote-tiny", lib.VIR_DOMAIN_EVENT_STARTED) in events
            and ("remote-tiny", lib.VIR_DOMAIN_EVENT_SUSPENDED) in events)
