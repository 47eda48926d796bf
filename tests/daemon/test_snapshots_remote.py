"""Snapshots through libvirt's RPC: Debian's virsh against guiappd, and guiapp's remote driver against guiappd,
both compared with real virsh on libvirt's own test:///default (the same command sequence)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from daemonlib import Guiappd
from helpers import load_module

import guiapp.backend as guiapp_libvirt

cli_snap = load_module("backend/test_cli_snapshot.py", "cli_snapshot_tests")
VIRSH = shutil.which("virsh")
pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh is not installed (apt-get install libvirt-clients)")


def virsh_session(uri: str, commands: list[str]) -> tuple[list[str], str]:
    script = "echo MARK; " + "; echo MARK; ".join(commands) + "; echo MARK"
    proc = subprocess.run([VIRSH, "-c", uri, script], capture_output=True, text=True, timeout=120, cwd="/")
    parts = proc.stdout.split("MARK\n")
    return [cli_snap._norm(p) for p in parts[1:-1]], cli_snap._norm(proc.stderr)


def test_real_virsh_over_guiappd_matches_libvirt(guiappd: Guiappd) -> None:
    reference = virsh_session("test:///default", cli_snap.SEQUENCE)
    ours = virsh_session(f"test+unix:///default?socket={guiappd.rw}", cli_snap.SEQUENCE)
    cli_snap._compare(ours, reference)


def test_guiapp_remote_driver_over_guiappd_matches_libvirt(guiappd: Guiappd, monkeypatch) -> None:
    reference = virsh_session("test:///default", cli_snap.SEQUENCE)
    uri = f"test+unix:///default?socket={guiappd.rw}"
    conn_open = guiapp_libvirt.open
    monkeypatch.setattr(guiapp_libvirt, "open", lambda _uri=None: conn_open(uri))
    cli_snap._compare(cli_snap.run_ours(guiapp_libvirt, cli_snap.SEQUENCE), reference)


def test_snapshot_changes_refused_on_read_only_socket(guiappd: Guiappd) -> None:
    conn = guiapp_libvirt.openReadOnly(f"test+unix:///default?socket={guiappd.ro}")
    try:
        dom = conn.lookupByName("test")
        with pytest.raises(guiapp_libvirt.libvirtError) as info:
            dom.snapshotCreateXML("<domainsnapshot/>", 0)
        assert info.value.get_error_code() == guiapp_libvirt.VIR_ERR_OPERATION_DENIED
        assert dom.listAllSnapshots() == []
    finally:
        conn.close()
