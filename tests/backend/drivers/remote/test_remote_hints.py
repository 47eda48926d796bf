"""Hints for the failures only a remote peer gives: ssh host key and login (real sshd), a network that is
not running (Debian's libvirtd, its own qemu driver)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import guiapp.backend as lib
from guiapp.backend.hints import hint_for


def _hint_key(fn) -> str:  # type: ignore[no-untyped-def]
    lib.registerErrorHandler(lambda ctx, err: None, None)
    try:
        with pytest.raises(lib.libvirtError) as e:
            fn()
    finally:
        lib.registerErrorHandler(None, None)
    hint = hint_for(e.value)
    assert hint is not None, e.value.err
    return hint.key


def test_ssh_refused_key(libvirtd, sshd) -> None:  # type: ignore[no-untyped-def]
    uri = sshd.ssh_uri(libvirtd.uri(transport="", driver_uri="test:///default"), key=sshd.other_key)
    assert _hint_key(lambda: lib.open(uri)) == "ssh-auth"


def test_ssh_unknown_host_key(libvirtd, sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wrapper = tmp_path / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec ssh -F /dev/null -o UserKnownHostsFile={tmp_path}/known_hosts '
                       f'-o GlobalKnownHostsFile=/dev/null "$@"\n')
    wrapper.chmod(0o755)
    uri = sshd.ssh_uri(libvirtd.uri(transport="", driver_uri="test:///default"))
    uri = uri.replace("no_verify=1&", "").replace(f"command={sshd.ssh_wrapper}", f"command={wrapper}")
    assert _hint_key(lambda: lib.open(uri)) == "ssh-host-key"


def test_network_not_running_on_libvirtd(own_libvirtd) -> None:  # type: ignore[no-untyped-def]
    """libvirt's qemu driver refuses to start a guest on an inactive network: the hint offers to start it."""
    sys.path.append("/usr/lib/python3/dist-packages")
    libvirt = pytest.importorskip("libvirt")
    uri = own_libvirtd.uri("qemu:///system")
    theirs = libvirt.open(uri)
    try:
        theirs.networkDefineXML("<network><name>hintnet</name><bridge name='ghint0'/></network>")
        theirs.defineXML("<domain type='qemu'><name>hintdom</name><memory unit='MiB'>64</memory>"
                         "<os><type arch='x86_64'>hvm</type></os><devices><interface type='network'>"
                         "<source network='hintnet'/></interface></devices></domain>")
        c = lib.open(uri)
        try:
            dom = c.lookupByName("hintdom")
            assert _hint_key(dom.create) == "network-inactive"
            lib.registerErrorHandler(lambda ctx, err: None, None)
            try:
                dom.create()
            except lib.libvirtError as exc:
                assert hint_for(exc).action == ("start-network", "hintnet")  # type: ignore[union-attr]
            finally:
                lib.registerErrorHandler(None, None)
        finally:
            c.close()
    finally:
        for name in ("hintdom",):
            try:
                theirs.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass
        try:
            theirs.networkLookupByName("hintnet").undefine()
        except libvirt.libvirtError:
            pass
        theirs.close()
