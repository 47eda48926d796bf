"""virDomainReset over libvirt's RPC (REMOTE_PROC_DOMAIN_RESET): Debian's virsh and guiapp's remote driver
against guiappd serving the test driver."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from daemonlib import Guiappd

import guiapp.backend as libvirt
from guiapp.backend import constants as C

VIRSH = shutil.which("virsh")


@pytest.mark.skipif(VIRSH is None, reason="virsh is not installed (apt-get install libvirt-clients)")
def test_virsh_reset_through_guiappd(guiappd: Guiappd) -> None:
    uri = f"test+unix:///default?socket={guiappd.rw}"

    def virsh(*args: str) -> subprocess.CompletedProcess:
        assert VIRSH is not None
        return subprocess.run([VIRSH, "-c", uri, *args], capture_output=True, text=True, timeout=60, cwd="/")

    r = virsh("reset", "test")
    assert r.returncode == 0 and "was reset" in r.stdout, r.stdout + r.stderr
    assert virsh("destroy", "test").returncode == 0
    r = virsh("reset", "test")
    assert r.returncode == 1 and "not running" in r.stderr, r.stderr


def test_guiapp_remote_driver_resets(guiappd: Guiappd) -> None:
    libvirt.registerErrorHandler(lambda _c, _e: None, None)
    conn = libvirt.open(f"test+unix:///default?socket={guiappd.rw}")
    try:
        dom = conn.lookupByName("test")
        assert dom.reset(0) == 0 and dom.state()[0] == C.VIR_DOMAIN_RUNNING
        dom.destroy()
        with pytest.raises(libvirt.libvirtError) as info:
            dom.reset(0)
        assert info.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID
    finally:
        conn.close()
        libvirt.registerErrorHandler(None, None)
