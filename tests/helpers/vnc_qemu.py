"""Real QEMU displays for the console tests: a bare QEMU (firmware screen) or the tiny guest, on a VNC unix socket.

Also ``vncdo_capture``: an independent screen capture with vncdotool's command line (a fresh
process each time: vncdotool's ``api`` cannot reconnect within one process).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

QEMU = shutil.which("qemu-system-x86_64")
VNCDO = shutil.which("vncdo")
_skip_no_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed "
                                                        "(apt-get install qemu-system-x86)")


def needs_qemu(fn: Callable) -> Callable:
    """Mark a test as starting real QEMU (marker ``qemu``); skipped where QEMU is not installed."""
    return pytest.mark.qemu(_skip_no_qemu(fn))


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


class Qmp:
    """A minimal synchronous QMP client (one command at a time)."""

    def __init__(self, path: str) -> None:
        from qemu.qmp.legacy import QEMUMonitorProtocol

        self.mon = QEMUMonitorProtocol(path)
        wait_for(lambda: os.path.exists(path), 10, f"QMP socket {path}")
        self.mon.connect()

    def cmd(self, name: str, **args: object) -> object:
        reply = self.mon.cmd_obj({"execute": name, "arguments": args} if args else {"execute": name})
        if "error" in reply:
            raise RuntimeError(f"QMP {name}: {reply['error']}")
        return reply.get("return")

    def close(self) -> None:
        try:
            self.mon.close()
        except (OSError, EOFError):
            pass


class SerialReader:
    """Keeps reading a guest's serial unix socket (a guest whose serial is not read stalls)."""

    def __init__(self, path: str) -> None:
        wait_for(lambda: os.path.exists(path), 10, f"serial socket {path}")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.text = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.text += data.decode("utf-8", "replace")

    def write(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\n")

    def wait(self, marker: str, timeout: float = 30, count: int = 1) -> None:
        wait_for(lambda: self.text.count(marker) >= count, timeout,
                 f"{marker!r} x{count} on the serial console; so far:\n{self.text[-1500:]}")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class QemuDisplay:
    """One qemu-system-x86_64 with ``-vnc unix:PATH`` (TCG, no window); killed by :meth:`stop`."""

    def __init__(self, workdir: Path, *, paused: bool = False, password: Optional[str] = None,
                 kernel: Optional[tuple[str, str]] = None, name: str = "g", tcp: bool = False) -> None:
        self.dir = workdir
        self.vnc = str(workdir / f"{name}.vnc")
        self.qmp_path = str(workdir / f"{name}.qmp")
        self.serial_path = str(workdir / f"{name}.serial")
        self.password = password
        argv = [QEMU or "qemu-system-x86_64", "-accel", "tcg", "-m", "128" if kernel else "32", "-nodefaults",
                "-no-user-config", "-vga", "std", "-display", "none",
                "-vnc", f"unix:{self.vnc}" + (",password=on" if password else ""),
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                "-serial", f"unix:{self.serial_path},server=on,wait=off"]
        if kernel:
            argv += ["-kernel", kernel[0], "-initrd", kernel[1], "-append", "console=ttyS0 quiet panic=-1"]
        if tcp:  # a second VNC server on a free TCP display (see self.port)
            argv += ["-vnc", "127.0.0.1:0,to=99,id=vnc1" + (",password=on" if password else "")]
        if paused:
            argv.append("-S")
        self.port: Optional[int] = None
        for p in (self.vnc, self.qmp_path, self.serial_path):
            if os.path.exists(p):
                os.unlink(p)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        try:
            wait_for(lambda: os.path.exists(self.vnc) or self.proc.poll() is not None, 10, "the VNC socket")
            if self.proc.poll() is not None:
                raise RuntimeError(f"qemu exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            self.qmp = Qmp(self.qmp_path)
            if password:
                self.qmp.cmd("set_password", protocol="vnc", password=password)
            if tcp:
                for srv in self.qmp.cmd("query-vnc-servers"):  # type: ignore[union-attr]
                    for s in srv.get("server", []):
                        if s.get("family") == "ipv4":
                            self.port = int(s["service"])
            self.serial = SerialReader(self.serial_path) if kernel else None
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if getattr(self, "serial", None) is not None:
            self.serial.close()
        if getattr(self, "qmp", None) is not None:
            self.qmp.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        if self.proc.stderr:
            self.proc.stderr.close()


def vncdo_capture(vnc_path: str, out: Path, password: Optional[str] = None) -> Path:
    """Capture the display to a PNG with vncdotool's own client, in a separate process."""
    argv = [VNCDO or "vncdo", "-s", vnc_path]
    if password:
        argv += ["-p", password]
    argv += ["capture", str(out)]
    subprocess.run(argv, check=True, timeout=30, capture_output=True)
    return out


@pytest.fixture
def qemu_display(tmp_path: Path):
    """Factory: ``qemu_display(paused=..., password=..., kernel=...)``; every QEMU started is killed."""
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    started: list[QemuDisplay] = []

    def make(**kw: object) -> QemuDisplay:
        d = QemuDisplay(tmp_path, **kw)  # type: ignore[arg-type]
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop()

