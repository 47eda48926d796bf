"""Debian's ``virsh console`` against guiappd serving a real tiny QEMU guest's serial console (stream
procedure DOMAIN_OPEN_CONSOLE): a shell command typed in comes back answered; ``--force`` from a second
virsh takes the console over and the first one ends."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Iterator

import pytest
from daemonlib import Guiappd, qemu_testlib
from test_streams import VIRSH, VirshConsole

import guiapp.backend as gl

ql = qemu_testlib()
pytestmark = [ql.needs_qemu, pytest.mark.qemu,
              pytest.mark.skipif(VIRSH is None, reason="virsh is not installed (apt-get install libvirt-clients)")]


@pytest.fixture
def qemud(tmp_path: Path) -> Iterator[Guiappd]:
    d = Guiappd(tmp_path, ["qemu:///session"], session=True).start()
    yield d
    d.stop()
    left = ql.qemu_processes_under(str(tmp_path))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"QEMU processes left running: {left}"


def _shell(v: VirshConsole, command: bytes, marker: bytes, timeout: float = 60) -> None:
    """Type ``command`` until ``marker`` shows (the guest's shell may not be up yet)."""
    deadline = time.monotonic() + timeout
    while marker not in v.seen:
        assert time.monotonic() < deadline, v.seen[-400:]
        v.type(command + b"\r")
        try:
            v.expect(marker, timeout=2)
        except AssertionError:
            continue


def test_virsh_console_on_a_real_guest_through_guiappd(qemud: Guiappd, tiny_guest: tuple[str, str]) -> None:
    kernel, initrd = tiny_guest
    uri = f"qemu+unix:///session?socket={qemud.rw}"
    with gl.open(uri) as c:
        dom = c.defineXML(ql.guest_xml("test", kernel, initrd))  # VirshConsole opens the domain named 'test'
        dom.create()
        first = VirshConsole(uri)
        forced = None
        try:
            first.expect(b"Escape character is ^]")
            _shell(first, b"echo R$((6*7))", b"R42")
            forced = VirshConsole(uri, "--force")
            forced.expect(b"Escape character is ^]")
            assert first.wait() == 0  # taken over: the first virsh leaves its console
            _shell(forced, b"echo F$((7*8))", b"F56")
            forced.type(b"\x1d")
            assert forced.wait() == 0
            assert dom.isActive() == 1
        finally:
            for v in (first, forced):
                if v is not None:
                    v.kill()
            dom.destroy()
