"""End to end over a real sshd, and what happens when peers die or misbehave: clear errors, never a hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import guiapp.backend as lib
from guiapp.models.demo import write_node

sys.path.append("/usr/lib/python3/dist-packages")
libvirt = pytest.importorskip("libvirt")

CLI = [sys.executable, "-m", "guiapp.backend.cli"]
ROOT = Path(__file__).resolve().parents[4]


def test_ssh_end_to_end_matches_libvirt(libvirtd, sshd) -> None:
    uri = sshd.ssh_uri(libvirtd.uri(transport="", driver_uri="test:///default"))
    c = lib.open(uri)
    theirs = libvirt.open(uri)
    try:
        assert c.getType() == "TEST" and c.getURI() == uri
        assert [(d.name(), d.ID(), d.state()) for d in c.listAllDomains()] == \
            [(d.name(), d.ID(), d.state()) for d in theirs.listAllDomains()]
        assert c.lookupByName("test").XMLDesc(0) == theirs.lookupByName("test").XMLDesc(0)
    finally:
        c.close()
        theirs.close()


def test_cli_list_over_ssh_prints_what_virsh_prints(libvirtd, sshd, tmp_path: Path) -> None:
    node = write_node(tmp_path / "n.xml", 12, paused=2)
    uri = sshd.ssh_uri(libvirtd.uri(transport="", driver_uri=node))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for args in (["list", "--all"], ["list"], ["dominfo", "vm-001"], ["domstate", "vm-002"]):
        mine = subprocess.run(CLI + ["-c", uri] + args, capture_output=True, text=True, env=env, timeout=60)
        theirs = subprocess.run(["virsh", "-c", uri] + args, capture_output=True, text=True, timeout=60)
        assert mine.returncode == theirs.returncode == 0, mine.stderr + theirs.stderr
        def stable(text: str) -> list[str]:  # the test driver's CPU time is the wall clock
            return [line for line in text.splitlines() if not line.startswith("CPU time:")]
        assert stable(mine.stdout) == stable(theirs.stdout), args


def test_refused_key_is_a_clear_error(libvirtd, sshd) -> None:
    uri = sshd.ssh_uri(libvirtd.uri(transport="", driver_uri="test:///default"), key=sshd.other_key)
    t0 = time.monotonic()
    with pytest.raises(lib.libvirtError) as e:
        lib.open(uri)
    assert time.monotonic() - t0 < 30
    assert e.value.get_error_code() == lib.VIR_ERR_SYSTEM_ERROR
    assert "Permission denied" in str(e.value)


def test_killed_ssh_fails_calls_and_is_reported_dead(libvirtd, sshd) -> None:
    c = lib.open(sshd.ssh_uri(libvirtd.uri(transport="", driver_uri="test:///default")))
    ssh_pid = c._driver._client.transport.proc.pid
    assert c.isAlive() == 1
    os.kill(ssh_pid, signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(lib.libvirtError) as e:
        for _ in range(100):
            c.listAllDomains()
            time.sleep(0.05)
    assert time.monotonic() - t0 < 10
    assert e.value.get_error_code() in (lib.VIR_ERR_SYSTEM_ERROR, lib.VIR_ERR_INVALID_CONN)
    assert c.isAlive() == 0
    c.close()


def test_killed_libvirtd_mid_call(own_libvirtd, tmp_path: Path) -> None:
    c = lib.open(own_libvirtd.uri(write_node(tmp_path / "n.xml", 300)))
    errors: list[lib.libvirtError] = []

    def poll() -> None:
        try:
            while True:
                c.getAllDomainStats()
        except lib.libvirtError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    own_libvirtd.kill()
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads) and len(errors) == 3
    assert {e.get_error_code() for e in errors} <= {lib.VIR_ERR_SYSTEM_ERROR, lib.VIR_ERR_INVALID_CONN}
    assert c.isAlive() == 0
    with pytest.raises(lib.libvirtError) as e:
        c.getHostname()
    assert e.value.get_error_code() == lib.VIR_ERR_INVALID_CONN
    c.close()


def test_sasl_demanding_daemon_gets_auth_failed(tmp_path: Path) -> None:
    from guiapp_tests_libvirtd import LibvirtDaemon, require  # loaded by conftest

    require()
    daemon = LibvirtDaemon(tmp_path / "d", extra_conf='auth_unix_rw = "sasl"').start()
    try:
        with pytest.raises(lib.libvirtError) as e:
            lib.open(daemon.uri("test:///default"))
        assert e.value.get_error_code() == lib.VIR_ERR_AUTH_FAILED
        assert "SASL" in str(e.value)
    finally:
        daemon.stop()


@pytest.mark.slow
def test_frozen_daemon_is_declared_dead_by_keepalive_within_15_s(own_libvirtd) -> None:
    """A daemon that stops answering (SIGSTOP: like a cut network) fails the pending call, no 60 s wait."""
    c = lib.open(own_libvirtd.uri("test:///default"))
    os.kill(own_libvirtd.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        with pytest.raises(lib.libvirtError) as e:
            c.getHostname()
        took = time.monotonic() - t0
        assert took <= 15, took  # the 15 s the issue asks for (defaults: 4 s x 3 + <= 1 s)
        assert e.value.get_error_code() == lib.VIR_ERR_SYSTEM_ERROR and "keepalive" in str(e.value)
        assert c.isAlive() == 0
    finally:
        os.kill(own_libvirtd.pid, signal.SIGCONT)
    c.close()
