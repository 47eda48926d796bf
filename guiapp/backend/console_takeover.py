"""``VIR_DOMAIN_CONSOLE_FORCE`` across processes: the holder of a pty console lets another process take it.

A process holding a guest's pty (``flock``ed, :class:`guiapp.backend.console.PtyConsole`) also listens on
an abstract unix socket named after the pty (``\\0guiapp-console:/dev/pts/N``; no file, gone with the
process).  A process opening the same console with FORCE, finding the ``flock`` taken, connects there and
asks; the holder checks the asker's credentials (``SO_PEERCRED``: the same user, or root), ends its session
as an in-process FORCE would (its reader gets ``b""``), answers, and drops the lock; the asker then takes
the ``flock``.  The holder notices the request while its reader waits for guest output (a console that
nobody reads from cannot be taken over: the asker gets the "Active console session" error after
:data:`TAKEOVER_TIMEOUT`).  The asker must already have opened the pty itself (the kernel's permission
check), so the socket grants nothing a process could not do with the pty anyway.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Optional

TAKEOVER_TIMEOUT = 5.0  # seconds a FORCE waits for the holder to let go
REQUEST, GRANTED = b"release\n", b"released\n"


def _name(path: str) -> str:
    return "\0guiapp-console:" + path


def listen(path: str) -> Optional[socket.socket]:
    """The holder's listening socket for ``path`` (None when the name is taken: FORCE from others then fails)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
    try:
        s.bind(_name(path))
        s.listen(4)
    except OSError:
        s.close()
        return None
    return s


def _peer_uid(conn: socket.socket) -> int:
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", raw)[1])


def take_request(lsock: socket.socket) -> Optional[socket.socket]:
    """Accept one pending request (holder side): the connection to answer with :func:`grant`, or None when it
    was not a valid request (wrong user, no request line)."""
    try:
        conn, _ = lsock.accept()
    except OSError:
        return None
    try:
        conn.settimeout(1.0)
        uid = _peer_uid(conn)
        if uid not in (0, os.geteuid()) or conn.recv(len(REQUEST)) != REQUEST:
            conn.close()
            return None
    except OSError:
        conn.close()
        return None
    return conn


def grant(conn: socket.socket) -> None:
    """Tell the asker the console is free (after the holder closed it)."""
    try:
        conn.sendall(GRANTED)
    except OSError:
        pass
    finally:
        conn.close()


def ask_release(path: str, timeout: float = TAKEOVER_TIMEOUT) -> bool:
    """Ask the process holding ``path`` to let go (asker side); True once it answered that it did."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    deadline = time.monotonic() + timeout
    try:
        s.settimeout(timeout)
        s.connect(_name(path))
        s.sendall(REQUEST)
        got = b""
        while not got.endswith(b"\n") and time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(32)
            if not chunk:
                break
            got += chunk
        return got == GRANTED
    except OSError:
        return False
    finally:
        s.close()


__all__ = ["TAKEOVER_TIMEOUT", "ask_release", "grant", "listen", "take_request"]
