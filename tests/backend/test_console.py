"""virDomain.openConsole: the test driver's echo console, the pty end on a real pty, the session rule, and
``guiapp-virsh console`` driven through a pty."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

import guiapp.backend as lib
from guiapp.backend import console
from guiapp.backend.errors import DriverError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def conn() -> Iterator[lib.virConnect]:
    lib.registerErrorHandler(lambda ctx, err: None, None)
    c = lib.open("test:///default")
    yield c
    c.close()
    lib.registerErrorHandler(None, None)


def _open(conn: lib.virConnect, flags: int = 0, dev: str | None = None) -> lib.virStream:
    st = conn.newStream(0)
    conn.lookupByName("test").openConsole(dev, st, flags)
    return st


def test_echo_console_round_trip(conn: lib.virConnect) -> None:
    st = _open(conn)
    assert st.send(b"hello\r") == 6
    assert st.recv(3) == b"hel" and st.recv(100) == b"lo\r"  # a short read keeps the rest, in order
    st.finish()
    with pytest.raises(lib.libvirtError) as e:
        st.recv(10)
    assert e.value.get_error_code() == lib.VIR_ERR_INVALID_STREAM


def test_second_session_refused_force_takes_over(conn: lib.virConnect) -> None:
    first = _open(conn)
    with pytest.raises(lib.libvirtError) as e:
        _open(conn)
    assert e.value.get_error_code() == lib.VIR_ERR_OPERATION_FAILED
    assert "Active console session exists for this domain" in str(e.value)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(first.recv(10)))
    reader.start()  # a reader blocked in recv() is woken when another session takes over
    time.sleep(0.2)
    second = _open(conn, lib.VIR_DOMAIN_CONSOLE_FORCE)
    reader.join(5)
    assert got == [b""]
    second.send(b"x")
    assert second.recv(5) == b"x"
    second.finish()
    _open(conn).finish()  # finished sessions free the console


def test_console_errors(conn: lib.virConnect) -> None:
    dom = conn.lookupByName("test")
    ro = lib.openReadOnly("test:///default")
    for fn, code in (
        (lambda: ro.lookupByName("test").openConsole(None, ro.newStream(0), 0), lib.VIR_ERR_OPERATION_DENIED),
        (lambda: dom.openConsole("serial7", conn.newStream(0), 0), lib.VIR_ERR_INTERNAL_ERROR),
        (lambda: dom.openConsole(None, conn.newStream(0), 0x100), lib.VIR_ERR_INVALID_ARG),
        (lambda: dom.openConsole(5, conn.newStream(0), 0), lib.VIR_ERR_INVALID_ARG),  # type: ignore[arg-type]
        (lambda: dom.openConsole(None, ro.newStream(0), 0), lib.VIR_ERR_INVALID_ARG),  # another conn's stream
    ):
        with pytest.raises(lib.libvirtError) as e:
            fn()
        assert e.value.get_error_code() == code, e.value
    used = _open(conn)
    with pytest.raises(lib.libvirtError) as e:
        dom.openConsole(None, used, lib.VIR_DOMAIN_CONSOLE_FORCE)  # a stream serves one console
    assert e.value.get_error_code() == lib.VIR_ERR_INVALID_STREAM
    used.finish()
    dom.destroy()
    with pytest.raises(lib.libvirtError) as e:
        _open(conn)
    assert e.value.get_error_code() == lib.VIR_ERR_OPERATION_INVALID
    ro.close()


def test_pty_end_on_a_real_pty() -> None:
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    end = console.PtyConsole(path)
    try:
        os.write(master, b"guest says hi\n")
        assert end.read(100) == b"guest says hi\n"  # raw: no line discipline on the way
        end.write(b"keys\r")
        assert select.select([master], [], [], 5)[0]
        assert os.read(master, 100) == b"keys\r"  # raw: no echo, no CR->NL mapping
        with pytest.raises(DriverError) as e:  # another open of the same pty (any process) is refused
            console.PtyConsole(path)
        assert e.value.code == lib.VIR_ERR_OPERATION_FAILED
        end.finish()
        assert end.read(10) == b""
        console.PtyConsole(path).finish()  # the lock went with the session
    finally:
        end.finish()
        os.close(master)


def test_pty_end_unlocks_at_close_while_the_file_is_still_referenced() -> None:
    """A reader thread inside select() keeps the open file alive after close(): FORCE must not see it busy."""
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    end = console.PtyConsole(path)
    other_ref = os.dup(end._fd)  # stands for select()'s (or a forking thread's) reference to the same file
    try:
        end.abort()  # what a FORCE takeover does to the old session
        console.PtyConsole(path).finish()  # the lock went at once, not when the last reference goes
    finally:
        os.close(other_ref)
        os.close(master)


@pytest.mark.parametrize("hostile", ["/etc/passwd", "/dev/pts/../../etc/shadow", "/dev/pts/0;rm -rf /",
                                     "/dev/pts/", "pts/1", "/dev/pts/1\n"])
def test_pty_end_refuses_what_is_not_a_pty_path(hostile: str) -> None:
    with pytest.raises(DriverError) as e:
        console.PtyConsole(hostile)
    assert e.value.code == lib.VIR_ERR_INTERNAL_ERROR


def _read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_cli_console_through_a_pty() -> None:
    """guiapp-virsh console on the test driver's echo console: raw keys in, echo out, ^] ends it."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the pty as its terminal
        os.environ["PYTHONPATH"] = str(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "guiapp.backend.cli", "-c", "test:///default",
                                  "console", "test"])
    try:
        banner = _read_until(fd, b"Escape character is ^] (Ctrl + ])", 60)
        assert b"Connected to domain 'test'" in banner
        os.write(fd, b"abc\x03def\r")  # raw mode: ^C reaches the guest instead of killing the CLI
        echoed = _read_until(fd, b"def\r", 10)
        assert b"abc\x03def\r" in echoed
        os.write(fd, b"\x1d")
        _, status = os.waitpid(pid, 0)
        pid = 0
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)


def test_cli_console_errors() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "guiapp.backend.cli", "-c", "test:///default", "console", "test",
                          "--devname", "serial9"], capture_output=True, text=True, env=env, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 1
    assert "error: internal error: cannot find character device serial9" in out.stderr


def test_pty_end_reports_the_hypervisor_hanging_up() -> None:
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    end = console.PtyConsole(path)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(end.read(10)))
    reader.start()
    time.sleep(0.2)
    os.close(master)  # what QEMU's exit does to the pty
    reader.join(5)
    assert got == [b""] and end.closed
