"""Byte streams a libvirt RPC connection runs over: sockets and ssh-like commands."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from typing import Optional, Protocol, Sequence


class TransportError(OSError):
    """The stream could not be opened (the message says which and why)."""


class Transport(Protocol):
    def sendall(self, data: bytes) -> None: ...

    def recv(self, n: int) -> bytes: ...

    def close(self) -> None: ...

    def describe(self) -> str: ...


class SocketTransport:
    """A connected stream socket (unix or TCP)."""

    def __init__(self, sock: socket.socket, what: str) -> None:
        self.sock = sock
        self.what = what

    @classmethod
    def unix(cls, path: str, timeout: float = 10.0) -> SocketTransport:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            sock.close()
            raise TransportError(exc.errno, f"Failed to connect socket to '{path}': {exc.strerror}") from None
        sock.settimeout(None)
        return cls(sock, f"unix socket {path}")

    @classmethod
    def tcp(cls, host: str, port: int, timeout: float = 10.0) -> SocketTransport:
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise TransportError(exc.errno, f"unable to connect to server at '{host}:{port}': "
                                            f"{exc.strerror or exc}") from None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, f"tcp {host}:{port}")

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def describe(self) -> str:
        return self.what


class CommandTransport:
    """A child process (``ssh …``) whose stdin/stdout carry the stream, as libvirt's ssh transport.

    The command is run from an argument list, never through a local shell; its
    stderr is kept (last 4 KiB) to explain a failure.
    """

    def __init__(self, argv: Sequence[str], env: Optional[dict[str, str]] = None) -> None:
        self.argv = list(argv)
        r_err, w_err = os.pipe()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=w_err,
                                         env=env, bufsize=0, start_new_session=True)
        except OSError as exc:
            os.close(r_err)
            os.close(w_err)
            raise TransportError(exc.errno, f"cannot run {self.argv[0]}: {exc.strerror}") from None
        os.close(w_err)
        self._err_fd = r_err
        os.set_blocking(r_err, False)
        self._stderr = b""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin
        self._out_fd = self.proc.stdout.fileno()

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self._in.write(view)
            if n is None:  # pragma: no cover - the pipe is blocking
                continue
            view = view[n:]

    def recv(self, n: int) -> bytes:
        return os.read(self._out_fd, n)

    def stderr_text(self) -> str:
        """What the command wrote on stderr so far (last 4 KiB)."""
        try:
            while True:
                chunk = os.read(self._err_fd, 4096)
                if not chunk:
                    break
                self._stderr = (self._stderr + chunk)[-4096:]
        except (BlockingIOError, OSError):
            pass
        return self._stderr.decode("utf-8", "replace").strip()

    def close(self) -> None:
        self.stderr_text()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            os.close(self._err_fd)
        except OSError:
            pass

    def describe(self) -> str:
        return f"command {self.argv[0]}"
