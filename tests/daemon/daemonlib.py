"""A private guiappd for tests: its own socket folder, XDG dirs and pid file; stopped by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
DIST_PACKAGES = "/usr/lib/python3/dist-packages"


class Guiappd:
    """One guiappd process under ``scratch`` (sockets in ``scratch/sock``)."""

    def __init__(self, scratch: Path, uris: list[str], *, session: bool = True, extra: Optional[list[str]] = None,
                 env: Optional[dict[str, str]] = None) -> None:
        self.scratch = scratch
        self.sock_dir = scratch / "sock"
        self.pid_file = scratch / "guiappd.pid"
        self.log = scratch / "guiappd.log"
        self.uris = uris
        self.session = session
        self.extra = extra or []
        self.env = dict(os.environ)
        self.env.update({"XDG_RUNTIME_DIR": str(scratch / "run"), "XDG_CONFIG_HOME": str(scratch / "cfg"),
                         "PYTHONPATH": str(ROOT)})
        self.env.pop("GUIAPP_SOCKET_DIR", None)
        self.env.update(env or {})
        self.proc: Optional[subprocess.Popen] = None

    @property
    def rw(self) -> str:
        return str(self.sock_dir / "guiapp-sock")

    @property
    def ro(self) -> str:
        return str(self.sock_dir / "guiapp-sock-ro")

    def start(self, timeout: float = 60.0) -> Guiappd:
        (self.scratch / "run").mkdir(parents=True, exist_ok=True)
        if self.pid_file.exists():  # left by a SIGKILLed daemon: wait for the new one's
            self.pid_file.unlink()
        argv = [sys.executable, "-m", "guiapp.daemon", "--socket-dir", str(self.sock_dir),
                "--pid-file", str(self.pid_file), "--system" if not self.session else "--session"]
        for u in self.uris:
            argv += ["--uri", u]
        argv += self.extra
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log, cwd=str(ROOT),
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.pid_file.exists():  # written once every socket listens
            if self.proc.poll() is not None:
                raise RuntimeError(f"guiappd exited with {self.proc.returncode}:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"guiappd did not come up within {timeout} s:\n{self.log.read_text()}")
            time.sleep(0.05)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            os.kill(self.pid, sig)
            assert self.proc is not None
            self.proc.wait(30)

    def stop(self) -> str:
        """SIGTERM (then SIGKILL); returns the daemon's log."""
        if self.alive():
            assert self.proc is not None
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.log.read_text() if self.log.exists() else ""


def python_libvirt_env() -> dict[str, str]:
    """Environment for a subprocess importing Debian's python3-libvirt."""
    env = dict(os.environ)
    env["PYTHONPATH"] = DIST_PACKAGES
    return env


class RawClient:
    """A bare libvirt RPC peer for hostile and boundary tests: sends any bytes, reads packets."""

    def __init__(self, path: str, timeout: float = 20.0) -> None:
        import socket

        from guiapp.backend.rpc.protocol import FrameReader

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.reader = FrameReader()
        self.serial = 0
        self.backlog: list = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def packet(self):
        """The next packet (Header, payload), or None when the daemon closed the connection."""
        if self.backlog:
            return self.backlog.pop(0)
        while True:
            data = self.sock.recv(1 << 16)
            if not data:
                return None
            self.backlog.extend(self.reader.feed(data))
            if self.backlog:
                return self.backlog.pop(0)

    def call(self, name: str, args=None):
        """(status, decoded reply or remote_error) of one call."""
        from guiapp.backend.rpc import protocol

        proc = protocol.procedure(name)
        self.serial += 1
        self.send(protocol.call(proc, self.serial, args))
        return self.reply(proc)

    def reply(self, proc=None):
        from guiapp.backend.rpc import protocol, xdr

        got = self.packet()
        assert got is not None, "the daemon closed the connection"
        header, payload = got
        if header.status == protocol.Status.ERROR:
            return "error", xdr.decode("remote_error", payload)
        p = proc or protocol.procedure(header.proc)
        return "ok", xdr.decode(p.ret, payload)

    def closed(self) -> bool:
        """Whether the daemon closed this connection (reads until EOF or timeout)."""
        try:
            while True:
                data = self.sock.recv(1 << 16)
                if not data:
                    return True
        except OSError as exc:
            return "reset" in str(exc).lower() or "broken" in str(exc).lower()

    def close(self) -> None:
        self.sock.close()


def qemu_testlib():
    """tests/backend/drivers/qemu/qemu_testlib.py (guest XML, waits, the tiny guest), loaded by path."""
    import importlib.util

    name = "guiapp_tests_qemu_testlib"
    if name not in sys.modules:
        path = ROOT / "tests" / "backend" / "drivers" / "qemu" / "qemu_testlib.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]
