"""``guiappd``: command line, socket paths, start-up (drivers, autostart) and shutdown.

System daemon (root): ``/run/guiapp/guiapp-sock`` (0600, read-write) and
``guiapp-sock-ro`` (0666, read-only).  Session daemon (any other user):
``$XDG_RUNTIME_DIR/guiapp/guiapp-sock`` (0600) only; read-only clients ask for it in
CONNECT_OPEN.  ``--socket-dir`` moves them; ``--libvirt-paths`` takes libvirt's own
names (``/run/libvirt/libvirt-sock`` …) on a host without libvirtd, refusing when a
daemon answers there.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from typing import Any, Optional

from .. import backend
from ..backend.errors import libvirtError
from .activation import Activated, ActivationError, listen_fds
from .conns import Connections
from .server import Server

log = logging.getLogger("guiappd")

SYSTEM_DIR = "/run/guiapp"
SOCK_NAME = "guiapp-sock"
LIBVIRT_SYSTEM_DIR = "/run/libvirt"


def session_dir(libvirt_paths: bool = False) -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return os.path.join(runtime, "libvirt" if libvirt_paths else "guiapp")


def socket_paths(system: bool, socket_dir: Optional[str], libvirt_paths: bool) -> tuple[str, Optional[str]]:
    """(read-write socket, read-only socket or None) for this daemon."""
    name = "libvirt-sock" if libvirt_paths else SOCK_NAME
    if socket_dir is None:
        socket_dir = (LIBVIRT_SYSTEM_DIR if libvirt_paths else SYSTEM_DIR) if system else session_dir(libvirt_paths)
    rw = os.path.join(socket_dir, name)
    return rw, (rw + "-ro" if system else None)


def is_live(path: str) -> bool:
    """Whether some daemon accepts connections on the unix socket ``path``."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def prepare_socket(path: str) -> None:
    """Make the socket's folder; refuse a live socket, remove a stale one."""
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    if os.path.lexists(path):
        if is_live(path):
            raise SystemExit(f"guiappd: a daemon already listens on {path}; stop it first (or use --socket-dir)")
        os.unlink(path)


def default_uris(system: bool) -> list[str]:
    """The URIs a daemon opens at start: QEMU in its mode when installed, Xen when a XenStore answers."""
    from ..backend.drivers import driver_for_scheme

    uris = []
    qemu: Any = driver_for_scheme("qemu")
    if qemu is not None and qemu.probe():
        uris.append("qemu:///system" if system else "qemu:///session")
    xen: Any = driver_for_scheme("xen")
    if xen is not None and system and xen.probe():
        uris.append("xen:///")
    return uris


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="guiappd", description="Serve guiapp's drivers over libvirt's RPC protocol.")
    p.add_argument("--system", action="store_true", default=None, help="system daemon (default when root)")
    p.add_argument("--session", dest="system", action="store_false", help="session daemon (default otherwise)")
    p.add_argument("--socket-dir", help="folder for the sockets (default /run/guiapp or $XDG_RUNTIME_DIR/guiapp)")
    p.add_argument("--libvirt-paths", action="store_true",
                   help="listen on libvirt's standard socket names (refused while a libvirt daemon answers there)")
    p.add_argument("--uri", action="append", dest="uris", metavar="URI",
                   help="a URI to open (and autostart) at start; repeatable (default: qemu in the daemon's mode, "
                        "xen:/// when a XenStore answers)")
    p.add_argument("--no-autostart", action="store_true", help="open the URIs but start no autostart guest/network")
    p.add_argument("--default-uri", help="what an empty CONNECT_OPEN name means (default: the first --uri, else "
                                         "test:///default)")
    p.add_argument("--workers", type=int, default=8, help="threads running calls (default 8)")
    p.add_argument("--max-clients", type=int, default=256)
    p.add_argument("--max-pending", type=int, default=16, help="calls in progress per client (default 16)")
    p.add_argument("--max-message", type=int, default=32 * 1024 * 1024,
                   help="largest packet a client may send, bytes (default and maximum: libvirt's 32 MiB)")
    p.add_argument("--stats-cache", type=float, default=1.0, metavar="SECONDS",
                   help="share a bulk-stats reply between clients for this long (default 1; 0 = off)")
    p.add_argument("--pid-file", help="write the daemon's pid here")
    p.add_argument("-v", "--verbose", action="count", default=0)
    return p.parse_args(argv)


def _serve_activated(server: Server, activated: list[Activated]) -> tuple[str, Optional[str]]:
    """Serve the sockets systemd passed; (read-write path, read-only path) for the start-up message."""
    rw: Optional[str] = None
    ro: Optional[str] = None
    for a in activated:
        server.listen(a.path, a.read_only, 0, a.sock)
        if a.read_only:
            ro = a.path
        else:
            rw = a.path
    return rw or "(no read-write socket)", ro


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                        format="guiappd[%(process)d]: %(levelname)s %(message)s", stream=sys.stderr)
    system = os.geteuid() == 0 if args.system is None else args.system
    # the daemon serves guiapp's own drivers: never route its own opens to a daemon (itself or a libvirtd)
    os.environ["GUIAPP_URI_ROUTE"] = "local"
    backend.registerErrorHandler(lambda _ctx, err: log.debug("error %s: %s", err[0], err[2]), None)

    try:
        activated = listen_fds()  # systemd socket activation: its sockets instead of our own
    except ActivationError as exc:
        print(f"guiappd: socket activation: {exc}", file=sys.stderr)
        return 1
    rw_path, ro_path = socket_paths(system, args.socket_dir, args.libvirt_paths)
    if not activated:
        for path in (rw_path, ro_path):
            if path:
                prepare_socket(path)
    uris = args.uris if args.uris is not None else default_uris(system)
    conns = Connections(system, args.default_uri or (uris[0] if uris else "test:///default"))
    try:
        started = conns.open_at_start(uris, run_autostart=not args.no_autostart)
    except libvirtError as exc:
        print(f"guiappd: cannot open {exc}", file=sys.stderr)
        return 1
    for uri, names in started.items():
        if names:
            log.warning("autostarted on %s: %s", uri, ", ".join(names))

    server = Server(conns, workers=args.workers, max_clients=args.max_clients, max_pending=args.max_pending,
                    max_message=args.max_message, stats_ttl=args.stats_cache)
    if activated:
        rw_path, ro_path = _serve_activated(server, activated)
    else:
        server.listen(rw_path, False, 0o600)
        if ro_path:
            server.listen(ro_path, True, 0o666)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"guiappd: listening on {rw_path}" + (f" and {ro_path}" if ro_path else ""), file=sys.stderr, flush=True)
    while not stop.wait(3600):
        pass
    server.stop()
    conns.close_all()
    counts = ", ".join(f"{k}={v}" for k, v in sorted(server.stats.items()))
    print(f"guiappd: stopped ({counts})", file=sys.stderr, flush=True)
    if args.pid_file:
        try:
            os.unlink(args.pid_file)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
