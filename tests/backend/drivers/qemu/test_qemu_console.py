"""openConsole on a real guest: the tiny Linux's shell on its serial pty, through the API and the CLI."""

from __future__ import annotations

import os
import pty
import select
import sys
import threading
import time
from pathlib import Path

import pytest
from qemu_testlib import guest_xml, wait_console

import guiapp.backend as libvirt

pytestmark = [pytest.mark.qemu, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[4]


class Reader:
    """Drains a console stream on a thread (a guest whose console nobody reads nearly stalls)."""

    def __init__(self, st: libvirt.virStream) -> None:
        self.st, self.data, self.ended = st, b"", threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while chunk := self.st.recv(4096):
                self.data += chunk
        except libvirt.libvirtError:
            pass
        self.ended.set()

    def ask(self, command: str, marker: bytes, timeout: float = 30) -> bytes:
        """Type ``command`` until ``marker`` shows (QEMU notices a new pty client within about a second)."""
        deadline = time.monotonic() + timeout
        while marker not in self.data:
            assert time.monotonic() < deadline, f"no {marker!r} on the console; got {self.data[-500:]!r}"
            self.st.send(command.encode() + b"\r")
            end = time.monotonic() + 2
            while marker not in self.data and time.monotonic() < end:
                time.sleep(0.05)
        return self.data


def test_shell_over_the_serial_console(conn, xdg, tiny_guest) -> None:  # type: ignore[no-untyped-def]
    kernel, initrd = tiny_guest
    dom = conn.createXML(guest_xml("con", kernel, initrd), 0)
    wait_console(xdg, "con")
    st = conn.newStream(0)
    dom.openConsole(None, st, 0)
    first = Reader(st)
    first.ask("echo GUIAPP$((6*7))", b"GUIAPP42")  # the shell computed it: keys went in, output came out

    with pytest.raises(libvirt.libvirtError) as e:
        dom.openConsole("serial0", conn.newStream(0), 0)  # the same pty under its serial alias
    assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    with pytest.raises(libvirt.libvirtError) as e:
        dom.openConsole("serial1", conn.newStream(0), 0)
    assert e.value.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR

    st2 = conn.newStream(0)
    dom.openConsole("serial0", st2, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
    assert first.ended.wait(5)  # the forced-out session ends
    second = Reader(st2)
    second.ask("echo TAKEN$((2+3))", b"TAKEN5")
    dom.destroy()
    assert second.ended.wait(10)  # the guest went away: the stream ends instead of hanging


def test_cli_console_on_the_guest(conn, xdg, tiny_guest) -> None:  # type: ignore[no-untyped-def]
    kernel, initrd = tiny_guest
    conn.createXML(guest_xml("clicon", kernel, initrd), 0)
    wait_console(xdg, "clicon")
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PYTHONPATH"] = str(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "guiapp.backend.cli", "-c", "qemu:///session",
                                  "console", "clicon"])
    out = b""

    def read_for(seconds: float, marker: bytes) -> None:
        nonlocal out
        end = time.monotonic() + seconds
        while marker not in out and time.monotonic() < end:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    return
    try:
        read_for(60, b"Escape character is ^]")
        assert b"Connected to domain 'clicon'" in out
        deadline = time.monotonic() + 30
        while b"CLI99" not in out:
            assert time.monotonic() < deadline, out[-500:]
            os.write(fd, b"echo CLI$((33*3))\r")
            read_for(2, b"CLI99")
        os.write(fd, b"\x1d")
        _, status = os.waitpid(pid, 0)
        pid = 0
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
