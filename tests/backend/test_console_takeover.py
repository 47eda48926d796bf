"""VIR_DOMAIN_CONSOLE_FORCE across processes (console_takeover.py): a real pty held by another process is
refused without FORCE, taken with it (the holder's read returns b'' and it lets go of the flock), and a
holder that never reads cannot be forced (clear error, nothing changed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import guiapp.backend as lib
from guiapp.backend import console
from guiapp.backend.errors import DriverError

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from guiapp.backend import console
from guiapp.backend.errors import DriverError
path = sys.argv[1]
c = console.SESSIONS.open(("pty", path), 0, lambda: console.PtyConsole(path))
print("held", flush=True)
if sys.argv[2] == "read":
    print("read", repr(c.read(100)), flush=True)
    time.sleep(30)
else:
    time.sleep(30)  # holds the console without ever reading it
"""


@pytest.fixture
def guest_pty():
    """A pty pair standing in for a hypervisor's: (master fd, /dev/pts/N path)."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    yield master, path
    os.close(master)


def _holder(path: str, mode: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, path, mode], stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    return p


def _stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.kill()
    p.wait(10)


def test_force_takes_a_pty_from_another_process(guest_pty) -> None:
    master, path = guest_pty
    holder = _holder(path, "read")
    try:
        with pytest.raises(DriverError) as e:
            console.SESSIONS.open(("pty", path), 0, lambda: console.PtyConsole(path))
        assert e.value.code == lib.VIR_ERR_OPERATION_FAILED
        assert console.BUSY in e.value.detail and "--force" in e.value.detail
        t0 = time.monotonic()
        mine = console.SESSIONS.open(("pty", path), lib.VIR_DOMAIN_CONSOLE_FORCE, lambda: console.PtyConsole(path))
        assert time.monotonic() - t0 < 3
        assert holder.stdout is not None and holder.stdout.readline().strip() == "read b''"  # its session ended
        os.write(master, b"from-the-guest")
        got = b""
        while b"from-the-guest" not in got:
            got += mine.read(64)
        mine.write(b"to-the-guest")
        assert os.read(master, 64) == b"to-the-guest"
        mine.finish()
    finally:
        _stop(holder)


def test_a_holder_that_never_reads_cannot_be_forced(guest_pty) -> None:
    _master, path = guest_pty
    holder = _holder(path, "sleep")
    try:
        t0 = time.monotonic()
        with pytest.raises(DriverError) as e:
            console.SESSIONS.open(("pty", path), lib.VIR_DOMAIN_CONSOLE_FORCE, lambda: console.PtyConsole(path))
        assert e.value.code == lib.VIR_ERR_OPERATION_FAILED and "did not let go" in e.value.detail
        assert time.monotonic() - t0 < 15
        assert holder.poll() is None  # the holder keeps its console
    finally:
        _stop(holder)
