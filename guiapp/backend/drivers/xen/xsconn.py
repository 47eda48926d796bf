"""XenStore sockets and the guarded wire layer under :mod:`.xsclient`: where a daemon's socket is, a bounded
connect and ping, errors, and pyxs's router made safe (a daemon that goes away wakes every waiting request).

Errors are :class:`XenStoreError` (a DriverError in ``VIR_FROM_XENSTORE``).
"""

from __future__ import annotations

import errno
import itertools
import os
import queue
import socket
import struct
import time
from typing import Optional, Union

from pyxs import Router
from pyxs._internal import Op
from pyxs.connection import UnixSocketConnection
from pyxs.exceptions import ConnectionError as PyXSConnectionError
from pyxs.exceptions import InvalidPath
from pyxs.helpers import check_path

from ... import constants as C
from ...errors import DriverError

#: Seconds a request may wait for its reply before the connection is declared dead.
DEFAULT_TIMEOUT = 5.0

#: Where a XenStore daemon's socket is looked for, after $XENSTORED_PATH.
SOCKET_PATHS = ("/run/xenstored/socket", "/var/run/xenstored/socket")

NUL = b"\x00"
_HEADER = struct.Struct("<IIII")
_rq_ids = itertools.count(1)  # itertools.count is atomic under the GIL (pyxs's next_rq_id is not)

Value = Union[str, bytes]


class XenStoreError(DriverError):
    """A XenStore failure; ``errname`` is the daemon's errno name (``ENOENT``) or '' for transport errors."""

    def __init__(self, code: int, detail: str, errname: str = "") -> None:
        super().__init__(code, detail, C.VIR_FROM_XENSTORE)
        self.errname = errname


def gone(path: str, why: str) -> XenStoreError:
    return XenStoreError(C.VIR_ERR_NO_XENSTORE,
                         f"{path}: {why}; is the XenStore daemon (xenstored/oxenstored) running? "
                         f"Set XENSTORED_PATH or the URI parameter ?xenstored=PATH to its socket")


def socket_candidates(explicit: Optional[str] = None) -> list[str]:
    """Socket paths to try, most specific first."""
    out: list[str] = []
    for p in (explicit, os.environ.get("XENSTORED_PATH"), *SOCKET_PATHS):
        if p and p not in out:
            out.append(p)
    return out


def read_only_socket(path: str) -> str:
    """The daemon's read-only socket next to ``path`` when there is one (C xenstored < 4.16), else ``path``."""
    ro = path + "_ro" if path.endswith("socket") else ""
    return ro if ro and os.path.exists(ro) else path


def connect_unix(path: str, timeout: float) -> socket.socket:
    """A connected Unix socket (with ``timeout`` set), retrying while the daemon's listen backlog is full.

    oxenstored listens with a backlog of 1: a connect racing another one fails with
    EAGAIN at once (Unix sockets do not queue more), so retry until ``timeout``.
    """
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.connect(path)
            sock.settimeout(timeout)
            return sock
        except BlockingIOError:
            sock.close()
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        except BaseException:
            sock.close()
            raise


def ping(path: str, timeout: float = 0.05) -> bool:
    """True when a XenStore daemon answers on ``path`` within ``timeout`` seconds (never blocks longer)."""
    if not path or not os.path.exists(path):
        return False
    try:
        sock = connect_unix(path, timeout)
    except OSError:
        return False
    try:
        payload = b"/" + NUL
        sock.sendall(_HEADER.pack(Op.DIRECTORY, 1, 0, len(payload)) + payload)
        header = b""
        while len(header) < _HEADER.size:
            chunk = sock.recv(_HEADER.size - len(header))
            if not chunk:
                return False
            header += chunk
        op, rq_id, _tx, size = _HEADER.unpack(header)
        return op in (Op.DIRECTORY, Op.ERROR) and rq_id == 1 and size <= 4096
    except OSError:
        return False
    finally:
        sock.close()


# ------------------------------------------------------------------ transport

class _Transport:
    """A Unix socket with a bounded connect, with the interface pyxs's connection expects."""

    def __init__(self, path: str, timeout: float) -> None:
        try:
            self.sock = connect_unix(path, timeout)
        except OSError as exc:
            raise PyXSConnectionError(f"error connecting to {path!r}: {exc.strerror or exc}") from None

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, size: int) -> bytes:
        view = memoryview(bytearray(size))
        got = 0
        while got < size:
            n = self.sock.recv_into(view[got:])
            if not n:
                raise OSError(errno.ECONNRESET, "connection closed by the XenStore daemon")
            got += n
        return view.tobytes()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class _Connection(UnixSocketConnection):
    """pyxs's Unix socket connection with a connect timeout."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(path)
        self.timeout = timeout

    def create_transport(self) -> _Transport:
        return _Transport(self.path, self.timeout)


class _Dead:
    """What waiting requests receive when the router thread ends."""

    op = -1


_DEAD = _Dead()


class _GuardedRouter(Router):
    """pyxs's router; when its thread ends (EOF, late reply, error) every waiting request is woken."""

    def __init__(self, connection: _Connection) -> None:
        super().__init__(connection)
        self.dead = False
        self.failure: Optional[BaseException] = None
        self.thread.name = f"xenstore-router {connection.path}"

    def __call__(self) -> None:
        try:
            super().__call__()
        except BaseException as exc:  # noqa: B036 - recorded, the thread must end quietly
            self.failure = exc
        finally:
            self.dead = True
            for rvar in list(self.rvars.values()):
                rvar.set(_DEAD)
            self.rvars.clear()
            for subs in list(self.monitors.values()):
                for sub in list(subs):
                    sub.events.put(None)  # wakes watch readers


class _Subscriber:
    """What pyxs's router delivers watch events to (it only needs ``.events``)."""

    def __init__(self) -> None:
        self.events: queue.Queue[Optional[tuple[bytes, bytes]]] = queue.Queue()



def _b(value: Value) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _path(path: Value) -> bytes:
    raw = _b(path)
    try:
        check_path(raw)
    except InvalidPath:
        raise XenStoreError(C.VIR_ERR_INVALID_ARG,
                            f"invalid XenStore path {raw!r}: use [A-Za-z0-9-/_@] only, no trailing or double '/'"
                            ) from None
    return raw

