"""systemd socket activation for guiappd (``sd_listen_fds`` protocol, no libsystemd needed).

systemd (or ``systemd-socket-activate``) passes listening sockets as fds 3, 4, … with ``LISTEN_PID`` (our pid),
``LISTEN_FDS`` (how many) and ``LISTEN_FDNAMES`` (colon-separated names, ``FileDescriptorName=`` in the socket
units).  A socket named ``…-ro`` (or whose path ends in ``-ro``) is the read-only one.  Each passed fd must be a
listening unix stream socket; anything else is refused (the daemon exits with a message) rather than served.
The variables are removed from the environment so that child processes (QEMU, helpers) do not see them.
"""

from __future__ import annotations

import os
import socket
from typing import NamedTuple

SD_LISTEN_FDS_START = 3


class Activated(NamedTuple):
    sock: socket.socket
    path: str
    read_only: bool


class ActivationError(Exception):
    """The passed file descriptors are not what guiappd can serve."""


def listen_fds(environ: dict[str, str] | None = None) -> list[Activated]:
    """The sockets systemd passed to this process (empty when not socket-activated)."""
    env = os.environ if environ is None else environ
    try:
        pid, count = int(env.get("LISTEN_PID", "")), int(env.get("LISTEN_FDS", ""))
    except ValueError:
        return []
    names = env.get("LISTEN_FDNAMES", "").split(":") if env.get("LISTEN_FDNAMES") else []
    for var in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        env.pop(var, None)
    if pid != os.getpid() or count <= 0:
        return []
    if count > 16:
        raise ActivationError(f"LISTEN_FDS={count}: guiappd serves at most a read-write and a read-only socket")
    out = []
    for i in range(count):
        fd = SD_LISTEN_FDS_START + i
        try:
            os.set_inheritable(fd, False)
            sock = socket.socket(fileno=fd)
        except OSError as exc:
            raise ActivationError(f"passed fd {fd} is not a socket: {exc.strerror}") from None
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM or not listening:
            raise ActivationError(f"passed fd {fd} is not a listening unix stream socket (family {sock.family}, "
                                  f"type {sock.type}); use ListenStream=/path in the socket unit")
        path = sock.getsockname()
        path = path.decode(errors="replace") if isinstance(path, bytes) else str(path)
        name = names[i] if i < len(names) else ""
        out.append(Activated(sock, path, name.endswith("-ro") or path.endswith("-ro")))
    if sum(1 for a in out if not a.read_only) > 1 or sum(1 for a in out if a.read_only) > 1:
        raise ActivationError("more than one read-write or read-only socket passed; name them with "
                              "FileDescriptorName=guiapp-sock / guiapp-sock-ro")
    return out


__all__ = ["Activated", "ActivationError", "listen_fds"]
