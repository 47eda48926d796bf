"""guiappd on libvirt's socket names, and reached over ssh the way libvirt's client does (nc -U on the far side)."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from daemonlib import Guiappd

import guiapp.backend as gl

VIRSH = shutil.which("virsh")


def test_libvirt_paths_refused_while_a_daemon_answers(tmp_path: Path) -> None:
    a = Guiappd(tmp_path / "a", ["test:///default"], extra=["--libvirt-paths"])
    a.sock_dir = tmp_path / "shared"
    a.extra += ["--socket-dir", str(a.sock_dir)]
    a.start()
    sock = a.sock_dir / "libvirt-sock"
    try:
        assert sock.is_socket()
        if VIRSH:
            out = subprocess.run([VIRSH, "-q", "-c", f"test+unix:///default?socket={sock}", "list"],
                                 capture_output=True, text=True, timeout=60).stdout
            assert "test" in out
        b = Guiappd(tmp_path / "b", ["test:///default"], extra=["--libvirt-paths", "--socket-dir", str(a.sock_dir)])
        with pytest.raises(RuntimeError, match="already listens"):
            b.start(timeout=60)
        a.kill(signal.SIGKILL)  # leaves a stale socket file: the next daemon replaces it
        assert sock.exists()
        c = Guiappd(tmp_path / "c", ["test:///default"], extra=["--libvirt-paths", "--socket-dir", str(a.sock_dir)])
        c.sock_dir = a.sock_dir
        c.start()
        try:
            with gl.open(f"test+unix:///default?socket={sock}") as conn:
                assert conn.lookupByName("test").isActive()
        finally:
            c.stop()
    finally:
        a.stop()


def test_reached_over_ssh_with_netcat(sshd, guiappd: Guiappd) -> None:
    uri = sshd.ssh_uri("test:///default", socket=guiappd.rw)
    with gl.open(uri) as conn:
        assert type(conn._driver).__name__ == "RemoteDriver"
        assert [d.name() for d in conn.listAllDomains()] == ["test"]
        conn.lookupByName("test").suspend()
        assert conn.lookupByName("test").state()[0] == gl.VIR_DOMAIN_PAUSED
    if VIRSH:
        r = subprocess.run([VIRSH, "-q", "-c", uri, "domstate", "test"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "paused"  # the same test:///default the daemon shares
