"""The driver connections guiappd holds, shared by its clients, and which URIs a client may open.

One read-write ``virConnect`` per URI is opened through the public API
(``guiapp.backend.open``) and shared: QEMU and Xen connections stay open for the
daemon's life (the driver then owns every guest's QMP monitor and applies
lifecycle actions), ``test:///`` ones until their last client goes (as libvirtd's
shared ``test:///default``).  Each client gets its own ``virConnect`` front-end
on the shared driver, read-only when it came through the read-only socket or
asked for it, so the front-end's checks apply per client.

A client names only what the API lets it name: no transports, hosts or URI
parameters (``xen:///?xl=PROG`` would run a program of its choice as the
daemon's user), QEMU only in the daemon's own mode (``/system`` as root,
``/session`` otherwise), and a ``test:///PATH`` node file only when the client's
own user could read it.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from dataclasses import dataclass
from typing import Optional

from .. import backend
from ..backend import constants as C
from ..backend.connection import virConnect
from ..backend.errors import DriverError, libvirtError
from ..backend.uri import parse_uri

log = logging.getLogger("guiappd")

PERSISTENT_SCHEMES = ("qemu", "xen")  # kept open for the daemon's life (supervision)


@dataclass
class _Shared:
    conn: virConnect
    users: int = 0


def _may(st: os.stat_result, uid: int, gids: tuple[int, ...], bits: tuple[int, int, int]) -> bool:
    """Whether ``uid``/``gids`` has the (owner, group, other) permission ``bits`` on a file with status ``st``."""
    if st.st_uid == uid:
        return bool(st.st_mode & bits[0])
    if st.st_gid in gids:
        return bool(st.st_mode & bits[1])
    return bool(st.st_mode & bits[2])


def _readable_by(path: str, uid: int, gids: tuple[int, ...]) -> bool:
    """Whether user ``uid`` (groups ``gids``) could open the regular file ``path`` for reading (mode bits of the
    file and search permission on every folder above it)."""
    try:
        st = os.stat(path)
        parents = []
        d = os.path.dirname(path)
        while True:
            parents.append(os.stat(d))
            if d == "/":
                break
            d = os.path.dirname(d)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    if uid == 0:
        return True
    search = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
    return (all(_may(p, uid, gids, search) for p in parents)
            and _may(st, uid, gids, (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)))


def _peer_groups(uid: int, gid: int) -> tuple[int, ...]:
    import pwd

    try:
        name = pwd.getpwuid(uid).pw_name
        return tuple(os.getgrouplist(name, gid))
    except (KeyError, OSError):
        return (gid,)


class Connections:
    """The shared driver connections; see the module docstring."""

    def __init__(self, system: bool, default_uri: str) -> None:
        self.system = system
        self.default_uri = default_uri
        self._lock = threading.Lock()
        self._shared: dict[str, _Shared] = {}

    # ------------------------------------------------------------- policy
    def normalize(self, name: str, peer: tuple[int, int]) -> str:
        """The URI to open for a client's CONNECT_OPEN ``name`` (DriverError when refused)."""
        text = name.strip() or self.default_uri
        uri = parse_uri(text)
        if uri.transport or uri.host or uri.user or uri.port:
            raise DriverError(C.VIR_ERR_NO_CONNECT, f"'{text}': guiappd serves local URIs only "
                                                    f"(e.g. {self.default_uri}); it does not forward to other hosts",
                              C.VIR_FROM_REMOTE)
        if uri.query:
            raise DriverError(C.VIR_ERR_NO_CONNECT, f"'{text}': guiappd does not accept URI parameters from clients "
                                                    f"({', '.join(sorted(uri.query))}); the daemon's own settings "
                                                    f"apply", C.VIR_FROM_REMOTE)
        if uri.scheme in ("qemu", "kvm"):
            mine = "/system" if self.system else "/session"
            if (uri.path.rstrip("/") or "/session") != mine:
                raise DriverError(C.VIR_ERR_NO_CONNECT, f"'{text}': this guiappd serves qemu://{mine} "
                                                        f"(a {'system' if self.system else 'session'} daemon)",
                                  C.VIR_FROM_REMOTE)
            return "qemu://" + mine
        if uri.scheme == "xen":
            if uri.path not in ("", "/"):
                raise DriverError(C.VIR_ERR_NO_CONNECT, f"'{text}': the Xen driver serves xen:/// only",
                                  C.VIR_FROM_REMOTE)
            return "xen:///"
        if uri.scheme == "test":
            if uri.path == "/default":
                return "test:///default"
            path = os.path.normpath(uri.path)
            if not os.path.isabs(path) or not _readable_by(path, peer[0], _peer_groups(*peer)):
                raise DriverError(C.VIR_ERR_NO_CONNECT, f"'{text}': no readable node file at '{uri.path}' for your "
                                                        f"user (uid {peer[0]}); use test:///default or a file you "
                                                        f"can read", C.VIR_FROM_REMOTE)
            return "test://" + path
        raise DriverError(C.VIR_ERR_NO_CONNECT, f"'{text}': guiappd serves qemu, xen and test URIs, not "
                                                f"'{uri.scheme}'", C.VIR_FROM_REMOTE)

    # ------------------------------------------------------------- sharing
    def attach(self, name: str, read_only: bool, peer: tuple[int, int]) -> tuple[str, virConnect]:
        """``(key, conn)``: a client's own front-end connection to ``name`` (driver shared with other clients)."""
        key = self.normalize(name, peer)
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                shared = self._shared[key] = _Shared(backend.open(key))
            shared.users += 1
        driver = shared.conn._driver  # the one place the daemon shares a driver between front-ends
        return key, virConnect(driver, key, read_only)

    def detach(self, key: str) -> None:
        """A client is done with its connection to ``key``: close a test:/// driver nobody uses any more."""
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                return
            shared.users -= 1
            if shared.users > 0 or parse_uri(key).scheme in PERSISTENT_SCHEMES:
                return
            del self._shared[key]
        shared.conn.close()

    def open_at_start(self, uris: list[str], run_autostart: bool = True) -> dict[str, Optional[list[str]]]:
        """Open the daemon's own URIs and start their autostart networks, then guests (once per boot).

        Returns ``{uri: names started}`` (None when that driver has no autostart).
        """
        from ..backend.autostart import autostart

        done: dict[str, Optional[list[str]]] = {}
        for text in uris:
            key = self.normalize(text, (0, 0))
            with self._lock:
                if key not in self._shared:
                    self._shared[key] = _Shared(backend.open(key), users=1)  # the daemon's own reference
                conn = self._shared[key].conn
            if not run_autostart:
                continue
            try:
                done[key] = autostart(conn)
            except libvirtError as exc:
                if exc.get_error_code() != C.VIR_ERR_NO_SUPPORT:
                    raise
                done[key] = None  # this driver autostarts by itself (or has nothing to start)
        return done

    def uris(self) -> list[str]:
        with self._lock:
            return sorted(self._shared)

    def close_all(self) -> None:
        with self._lock:
            shared = list(self._shared.values())
            self._shared.clear()
        for s in shared:
            try:
                s.conn.close()
            except libvirtError as exc:  # closing never fails the shutdown
                log.warning("closing %s: %s", s.conn.getURI(), exc)
