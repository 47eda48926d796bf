"""``<graphics type='vnc'>`` -> QEMU's ``-vnc`` options (and ``-object tls-creds-x509`` for VNC TLS).

libvirt's mapping (qemuBuildGraphicsVNCCommandLine) with the host settings of :mod:`.hostconf`:

* ``<listen type='none'>`` -> ``-vnc none``; ``<listen type='socket'>`` or ``socket=`` -> a unix socket only.
* A listen address or a fixed port -> a TCP listener; a display with neither gets guiapp's unix socket only
  (``vnc_auto_unix_socket = 1``, guiapp's default) or a TCP listener on ``vnc_listen`` with an automatic port.
* guiapp's own viewer always connects through the unix socket of the run (``RunPaths.vnc_socket``): a TCP
  listener is a second ``-vnc`` display beside it.
* ``vnc_tls``/``vnc_sasl`` add ``tls-creds=``/``sasl=on`` to the TCP listeners, which is what they protect;
  the unix sockets are reached through the 0700 runtime directory and stay plain, because guiapp's viewer
  speaks neither VeNCrypt nor SASL (libvirt also puts them on a unix socket).
* A ``socket=`` inside the driver's runtime directory is one a previous run generated (it would be another
  guest's socket now): it is dropped and the display falls back to the default listener, as libvirt does
  with a socket under its ``/var/lib/libvirt/qemu`` (qemuDomainRecheckInternalPaths).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from ... import constants as C
from ...errors import DriverError
from . import optcheck
from .hostconf import QemuHostConfig, check_tls_dir, tls_creds
from .optcheck import qemu_escape

E = C.VIR_FROM_QEMU
TLS_ALIAS = "vnc-tls-creds0"


@dataclass
class VncPlan:
    """What a domain's graphics add to the argv; ``password``: set over QMP after start."""

    argv: list[str] = field(default_factory=list)
    password: Optional[str] = None


def _vnc_policy(g: Any) -> str:
    """``sharePolicy`` -> ``,share=``; ``powerControl='yes'`` -> ``,power-control=on`` (fixed values only)."""
    out = ""
    share = g.element.get("sharePolicy")
    if share is not None:
        if share not in ("allow-exclusive", "force-shared", "ignore"):
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"<graphics sharePolicy='{share}'>: use allow-exclusive, force-shared or ignore", E)
        out += f",share={share}"
    power = g.element.get("powerControl")
    if power is not None:
        if power not in ("yes", "no"):
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, f"<graphics powerControl='{power}'>: use yes or no", E)
        out += ",power-control=on" if power == "yes" else ""
    return out


def _websocket(g: Any) -> str:
    """``websocket='5700'`` -> ``,websocket=5700`` (a fixed port; libvirt's -1 picks one: refused here)."""
    value = g.element.get("websocket")
    if value is None:
        return ""
    n = int(value) if value.lstrip("-").isdigit() else None
    if n is None or n < 1:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"<graphics websocket='{value}'>: give a fixed port (1-65535); automatic websocket "
                          f"ports are not supported", E)
    return f",websocket={optcheck.port(n, '<graphics websocket>')}"


def _generated(path: str, runtime_dir: str) -> bool:
    """``path`` lies inside the driver's runtime directory (where it generates its own sockets)."""
    if not runtime_dir:
        return False
    root = os.path.normpath(runtime_dir)
    return os.path.normpath(path).startswith(root.rstrip("/") + "/")


def drop_generated_socket(g: Any, runtime_dir: str) -> bool:
    """Remove from the ``<graphics>`` ``g`` a socket inside ``runtime_dir`` (``socket=``, and a ``<listen
    type='socket'>``'s path, whose listen becomes an address, as libvirt does): True when it did. For the live
    definition of a run, so it shows the socket QEMU really listens on; the caller refreshes the definition."""
    el = g.element
    dropped = False
    if el.get("socket") and _generated(el.get("socket"), runtime_dir):
        del el.attrib["socket"]
        dropped = True
    for listen in el.findall("listen"):
        if listen.get("type") == "socket" and listen.get("socket") and _generated(listen.get("socket"), runtime_dir):
            del listen.attrib["socket"]
            listen.set("type", "address")
            dropped = True
    return dropped


def vnc_options(graphics: list[Any], own_socket: str, runtime_dir: str, host: QemuHostConfig,
                check_files: bool) -> VncPlan:
    """The options of the domain's ``<graphics>`` (only VNC; another type is refused naming it)."""
    plan = VncPlan()
    vnc = [g for g in graphics if g.type == "vnc"]
    others = [g.type for g in graphics if g.type != "vnc"]
    if others:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"graphics type '{others[0]}' is not supported; use <graphics type='vnc'/>", E)
    if not vnc:
        plan.argv += ["-display", "none"]
        return plan
    g = vnc[0]
    plan.argv += ["-vga", "std"]
    listen_el = g.element.find("listen")
    listen_type = listen_el.get("type") if listen_el is not None else None
    if listen_type == "none":  # libvirt's -vnc none: a display without any listener
        plan.argv += ["-vnc", "none"]
        return plan
    websocket = _websocket(g)
    extra = ""
    if g.passwd:
        plan.password = g.passwd
        extra = ",password=on"
    extra += _vnc_policy(g)
    socket = g.socket
    if listen_type == "socket":
        socket = listen_el.get("socket") or socket
    if socket is not None:
        optcheck.abs_path(socket, "VNC socket")
        if _generated(socket, runtime_dir):
            socket = None
            listen_type = "address" if listen_type == "socket" else listen_type
    port: Optional[int] = g.port if g.port is not None and g.port >= 0 and not g.autoport else None
    # TCP when the XML asks for it (a listen address, or a fixed port), or by the host setting: an autoport
    # display of a local guest is otherwise reached through its unix socket alone, like the console does
    tcp = listen_type != "socket" and socket is None and (
        g.listen is not None or port is not None or not host.vnc_auto_unix_socket)
    secure = ""
    if tcp and host.vnc_tls:
        if check_files:
            check_tls_dir(host.vnc_dir, "vnc_tls_x509_cert_dir")
        plan.argv += ["-object", tls_creds(TLS_ALIAS, host.vnc_dir, listen=True, verify=host.vnc_verify)]
        secure += f",tls-creds={TLS_ALIAS}"
    if tcp and host.vnc_sasl:
        secure += ",sasl=on"
    # the key spelled out: an implied first value containing '=' would be read as a key by QEMU
    plan.argv += ["-vnc", f"vnc=unix:{qemu_escape(socket or own_socket)}{extra}{'' if tcp else websocket}"]
    if tcp:
        listen = optcheck.inet_host(g.listen or host.vnc_listen, "VNC listen address")
        if port is None:
            plan.argv += ["-vnc", f"{listen}:0,to=99,id=vnc1{extra}{secure}{websocket}"]
        elif port < 5900:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"VNC port {port} is below 5900; use 5900 + display number or -1 for automatic", E)
        else:
            plan.argv += ["-vnc", f"{listen}:{port - 5900},id=vnc1{extra}{secure}{websocket}"]
    return plan


__all__ = ["VncPlan", "drop_generated_socket", "vnc_options"]
