"""Which URIs go to a libvirt daemon, and how to reach it (unix socket, ssh, tcp).

Decided from the URI, the environment and whether a socket file exists: no
connection is made and nothing on the host changes.  Every value that ends up
in an ssh argument or the remote shell command is validated or quoted here.
"""

from __future__ import annotations

import os
import re
import stat
from typing import NamedTuple, Optional
from urllib.parse import quote, urlencode

from ... import constants as C
from ...errors import DriverError
from ...uri import URI

#: URI parameters consumed by the client side (never sent to the daemon), as libvirt's remote driver.
CLIENT_PARAMS = ("socket", "keyfile", "no_verify", "no_tty", "command", "netcat", "proxy", "mode", "name",
                 "pkipath", "sshauth", "known_hosts", "known_hosts_verify", "tls_priority", "auth", "route")

TRANSPORTS = ("unix", "ssh", "tcp")
DEFAULT_TCP_PORT = 16509
SYSTEM_SOCKET_DIR = "/run/libvirt"
#: drivers whose local URIs (``qemu:///system``) go to a running daemon when its socket exists
DAEMON_SCHEMES = ("qemu", "kvm")
ROUTE_ENV = "GUIAPP_URI_ROUTE"  # remote | local | auto (default)
#: guiappd (guiapp's own daemon, :mod:`guiapp.daemon`): its socket folder, and the schemes it serves locally
GUIAPPD_DIR_ENV = "GUIAPP_SOCKET_DIR"
GUIAPPD_SYSTEM_DIR = "/run/guiapp"
GUIAPPD_SCHEMES = ("qemu", "kvm", "xen")

_PROGRAM = re.compile(r"^[A-Za-z0-9_./+][A-Za-z0-9_./+-]*$")


class Target(NamedTuple):
    """How to reach the daemon and what to ask it to open (a NamedTuple: no ``dataclasses`` at start-up)."""

    transport: str  # unix | ssh | tcp
    name: str  # the URI sent in CONNECT_OPEN (transport and client parameters removed)
    socket: str = ""  # unix: local socket path; ssh: socket path on the far side ("" = helper decides)
    host: str = ""
    port: Optional[int] = None
    user: str = ""
    keyfile: str = ""
    no_verify: bool = False
    no_tty: bool = False
    ssh_binary: str = "ssh"
    netcat: str = ""
    proxy: str = "auto"  # auto | netcat | native
    read_only: bool = False
    auto: bool = False  # chosen by the local-daemon rule (not written in the URI)


def _bad(what: str, value: str, rule: str) -> DriverError:
    return DriverError(C.VIR_ERR_INVALID_ARG, f"invalid {what} {value!r} in the connection URI: {rule}")


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def daemon_name(uri: URI) -> str:
    """The URI the daemon opens: scheme, path and the non-client query parameters (no transport, no host)."""
    path = uri.path if uri.path.startswith("/") else "/" + uri.path
    query = {k: v for k, v in uri.query.items() if k not in CLIENT_PARAMS}
    return f"{uri.scheme}://{quote(path, safe='/:@._~-')}" + (("?" + urlencode(query)) if query else "")


def session_dir() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return os.path.join(runtime, "libvirt")


def local_sockets(uri: URI, read_only: bool) -> list[str]:
    """Candidate daemon sockets on this host for ``uri`` (libvirtd's, then the modular daemon's)."""
    suffix = "-sock-ro" if read_only else "-sock"
    session = uri.path.rstrip("/") == "/session"
    base = session_dir() if session else SYSTEM_SOCKET_DIR
    daemon = {"kvm": "qemu"}.get(uri.scheme, uri.scheme)
    names = ["libvirt" + suffix, f"virt{daemon}d" + suffix]
    if session:  # session daemons have no read-only socket
        names = ["libvirt-sock", f"virt{daemon}d-sock"]
    return [os.path.join(base, n) for n in names]


def guiappd_sockets(uri: URI, read_only: bool) -> list[str]:
    """guiappd's socket for ``uri`` (system: ``/run/guiapp/guiapp-sock[-ro]``; session: under $XDG_RUNTIME_DIR)."""
    if uri.scheme not in GUIAPPD_SCHEMES:
        return []
    session = uri.scheme != "xen" and uri.path.rstrip("/") in ("", "/session")
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    base = os.environ.get(GUIAPPD_DIR_ENV) or (os.path.join(runtime, "guiapp") if session else GUIAPPD_SYSTEM_DIR)
    if session:  # a session daemon has one socket; read-only is asked for in CONNECT_OPEN
        return [os.path.join(base, "guiapp-sock")]
    return [os.path.join(base, "guiapp-sock-ro" if read_only else "guiapp-sock")]


def route_mode() -> str:
    mode = os.environ.get(ROUTE_ENV, "auto").strip().lower() or "auto"
    if mode not in ("auto", "remote", "local"):
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"{ROUTE_ENV}={mode!r}: use remote, local or auto")
    return mode


def target_for(uri: URI, read_only: bool) -> Optional[Target]:
    """The daemon to use for ``uri``, or None when guiapp's own driver serves it."""
    mode = uri.query.get("route", "").lower() or route_mode()
    if mode not in ("auto", "remote", "local"):
        raise _bad("route", mode, "use remote, local or auto")
    if uri.transport:
        if uri.transport not in TRANSPORTS:
            raise DriverError(C.VIR_ERR_NO_CONNECT, f"transport '{uri.transport}' in '{uri.text}' is not supported "
                                                    f"by guiapp: use {', '.join(TRANSPORTS)}")
        return _explicit(uri, read_only)
    if uri.host:
        return None  # libvirt would use TLS (not supported): the scheme's own driver reports NO_CONNECT
    if uri.scheme not in DAEMON_SCHEMES + GUIAPPD_SCHEMES or mode == "local":
        return None
    # guiapp's own daemon first (it owns guiapp's guests), then a libvirt daemon (qemu only)
    candidates = guiappd_sockets(uri, read_only) + (local_sockets(uri, read_only) if uri.scheme in DAEMON_SCHEMES
                                                     else [])
    sock = next((s for s in candidates if _is_socket(s)), None)
    if sock is None:
        if mode == "remote":
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"{ROUTE_ENV}=remote but no libvirt daemon socket exists for '{uri.text}' "
                              f"(looked for {', '.join(candidates)})")
        return None
    return Target("unix", daemon_name(uri), socket=sock, read_only=read_only, auto=True)


def _flag(uri: URI, key: str) -> bool:
    value = uri.query.get(key, "0").strip().lower()
    if value not in ("0", "1", "", "yes", "no", "true", "false"):
        raise _bad(key, value, "use 0 or 1")
    return value in ("1", "yes", "true")


def _explicit(uri: URI, read_only: bool) -> Target:
    name = daemon_name(uri)
    sock = uri.query.get("socket", "")
    if sock and (not sock.startswith("/") or "\0" in sock or "\n" in sock):
        raise _bad("socket", sock, "it must be an absolute path")
    if uri.transport == "unix":
        if uri.host:
            raise _bad("host", uri.host, "unix sockets are local: write DRIVER+unix:///PATH?socket=...")
        if not sock:
            sock = next((s for s in local_sockets(uri, read_only) if _is_socket(s)), local_sockets(uri, read_only)[0])
        return Target("unix", name, socket=sock, read_only=read_only)
    from ...validate import host_problem, user_problem  # only for a daemon over tcp/ssh (command-line start-up)

    host = uri.host or "localhost"
    if host_problem(host):
        raise _bad("host", host, "a host name or address (letters, digits, '.', ':', '-'), not starting with '-'")
    if uri.transport == "tcp":
        return Target("tcp", name, host=host, port=uri.port or DEFAULT_TCP_PORT, read_only=read_only)
    user = uri.user
    if user_problem(user):
        raise _bad("user", user, "letters, digits, '.', '_', '-', '@', not starting with '-'")
    keyfile = uri.query.get("keyfile", "")
    if keyfile and (keyfile.startswith("-") or "\0" in keyfile or "\n" in keyfile):
        raise _bad("keyfile", keyfile, "a path to a private key file")
    binary = uri.query.get("command", "ssh") or "ssh"
    if not _PROGRAM.match(binary):
        raise _bad("command", binary, "the name or path of the ssh program")
    netcat = uri.query.get("netcat", "")
    if netcat and not _PROGRAM.match(netcat):
        raise _bad("netcat", netcat, "the name or path of netcat on the remote host")
    proxy = uri.query.get("proxy", "auto") or "auto"
    if proxy not in ("auto", "netcat", "native"):
        raise _bad("proxy", proxy, "use auto, netcat or native")
    if proxy == "native" and netcat:
        raise DriverError(C.VIR_ERR_INVALID_ARG, "netcat path not valid with native proxy mode")
    return Target("ssh", name, socket=sock, host=host, port=uri.port, user=user, keyfile=keyfile,
                  no_verify=_flag(uri, "no_verify"), no_tty=_flag(uri, "no_tty"), ssh_binary=binary,
                  netcat=netcat, proxy="netcat" if (netcat and proxy == "auto") else proxy, read_only=read_only)


def remote_command(t: Target) -> str:
    """The command the far side runs: virt-ssh-helper when present, else netcat on the daemon socket.

    It is one string for the remote login shell; every value in it is quoted.
    """
    import shlex  # only for ssh (command-line start-up of local URIs)

    sock = t.socket or os.path.join(SYSTEM_SOCKET_DIR, "libvirt-sock-ro" if t.read_only else "libvirt-sock")
    nc = shlex.quote(t.netcat or "nc")
    nc_cmd = (f"if {nc} -q 2>&1 | grep 'requires an argument' >/dev/null 2>&1; then ARG=-q0; else ARG=; fi; "
              f"exec {nc} $ARG -U {shlex.quote(sock)}")
    helper = "virt-ssh-helper " + ("-r " if t.read_only else "") + shlex.quote(t.name)
    if t.proxy == "netcat" or t.socket:
        script = nc_cmd  # an explicit socket names the daemon: talk to it directly
    elif t.proxy == "native":
        script = "exec " + helper
    else:
        script = f"if command -v virt-ssh-helper >/dev/null 2>&1; then exec {helper}; else {nc_cmd}; fi"
    return "sh -c " + shlex.quote(script)


def ssh_argv(t: Target) -> list[str]:
    """The local ssh command line (run without a shell; the host comes after ``--``)."""
    binary = t.ssh_binary
    if "/" not in binary:
        import shutil  # only for ssh (command-line start-up of local URIs)

        found = shutil.which(binary)
        if found is None:
            raise DriverError(C.VIR_ERR_NO_CONNECT, f"cannot find the ssh program '{binary}' on PATH; "
                                                    f"install openssh-client or set ?command=/path/to/ssh")
        binary = found
    argv = [binary]
    if t.port:
        argv += ["-p", str(int(t.port))]
    if t.user:
        argv += ["-l", t.user]
    if t.keyfile:
        argv += ["-i", t.keyfile]
    argv += ["-T", "-e", "none"]
    if t.no_tty:
        argv += ["-o", "BatchMode=yes"]
    if t.no_verify:
        argv += ["-o", "StrictHostKeyChecking=no"]
    argv += ["--", t.host, remote_command(t)]
    return argv
