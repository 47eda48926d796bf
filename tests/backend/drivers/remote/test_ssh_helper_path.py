"""The ``virt-ssh-helper`` path (an ssh URI without ``?socket=``): the far side runs Debian's real
virt-ssh-helper, which finds the daemon at libvirt's standard socket, as on a real host.

The throwaway sshd runs in a private mount namespace whose ``/run`` is a tmpfs where
``/run/libvirt/libvirt-sock`` is a bind mount of the private libvirtd's socket, so the helper (spawned by
sshd) reaches that libvirtd and never the host's.  guiapp and Debian's python3-libvirt open the same URI
and must agree.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import pytest

import guiapp.backend as lib
from guiapp.backend.drivers.remote.route import remote_command, target_for
from guiapp.backend.uri import parse_uri

_lv = sys.modules["guiapp_tests_libvirtd"]  # tests/helpers/, loaded by this folder's conftest.py
_ssh = sys.modules["guiapp_tests_sshd"]

sys.path.append("/usr/lib/python3/dist-packages")
libvirt = pytest.importorskip("libvirt")

HELPER = shutil.which("virt-ssh-helper")


@pytest.fixture
def helper_sshd(libvirtd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An sshd whose sessions see the private libvirtd at /run/libvirt/libvirt-sock (and nothing else in /run)."""
    if HELPER is None:
        pytest.skip("virt-ssh-helper (libvirt-daemon) is not installed")
    _lv.require()
    wrapper = tmp_path / "sshd-in-ns"
    inner = ("mount -t tmpfs guiapp-test-run /run && mkdir -p /run/sshd /run/libvirt && "
             ": > /run/libvirt/libvirt-sock && : > /run/libvirt/libvirt-sock-ro && "
             f"mount --bind {shlex.quote(libvirtd.sock)} /run/libvirt/libvirt-sock && "
             f"mount --bind {shlex.quote(libvirtd.ro_sock)} /run/libvirt/libvirt-sock-ro "
             f'&& exec {shlex.quote(_ssh.SSHD)} "$@"')
    wrapper.write_text(f"#!/bin/sh\nexec unshare --mount --propagation private sh -c {shlex.quote(inner)} sh \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setattr(_ssh, "SSHD", str(wrapper))
    server = _ssh.SSHServer(tmp_path / "sshd").start()
    yield server
    server.stop()


def test_the_helper_is_what_runs_without_socket() -> None:
    target = target_for(parse_uri("test+ssh://root@h/default"), False)
    assert target is not None
    cmd = remote_command(target)
    assert "exec virt-ssh-helper test:///default" in cmd and "-U" in cmd  # helper first, netcat as fallback


def test_virt_ssh_helper_path_matches_libvirt(libvirtd, helper_sshd) -> None:
    uri = helper_sshd.ssh_uri("test:///default")
    assert "socket=" not in uri
    ours = lib.open(uri)
    theirs = libvirt.open(uri)
    try:
        assert type(ours._driver).__name__ == "RemoteDriver"
        assert [(d.name(), d.ID(), d.state()) for d in ours.listAllDomains()] == \
            [(d.name(), d.ID(), d.state()) for d in theirs.listAllDomains()]
        assert ours.lookupByName("test").XMLDesc(0) == theirs.lookupByName("test").XMLDesc(0)
        # the same daemon behind both: a change through one is seen by the other
        ours.lookupByName("test").suspend()
        try:
            assert theirs.lookupByName("test").state()[0] == libvirt.VIR_DOMAIN_PAUSED
        finally:
            ours.lookupByName("test").resume()
        ro = lib.openReadOnly(uri)  # virt-ssh-helper -r: the daemon's read-only socket
        try:
            with pytest.raises(lib.libvirtError) as err:
                ro.lookupByName("test").suspend()
            assert err.value.get_error_code() == lib.VIR_ERR_OPERATION_DENIED
        finally:
            ro.close()
    finally:
        ours.close()
        theirs.close()
