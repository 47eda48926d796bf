"""\"Open in external viewer\": the user's VNC viewer command, with the console address filled in.

The command is a shell-like line stored in QSettings under :data:`SETTINGS_VIEWER`, with
placeholders ``{address}`` (``unix:/path`` or ``host::port``), ``{socket}``, ``{host}``,
``{port}``, ``{display}`` and ``{name}``. It is split with :mod:`shlex` and started detached,
never through a shell.
"""

from __future__ import annotations

import shlex
import shutil
import string
from typing import Any, Optional

from ...vnc.address import VncAddress

SETTINGS_VIEWER = "console/external_viewer"
DEFAULT_VIEWER = "vncviewer {address}"
PLACEHOLDERS = ("address", "socket", "host", "port", "display", "name")


class ViewerError(Exception):
    """The viewer command is unusable; the message says what to change."""


def viewer_command(settings: Optional[Any]) -> str:
    if settings is None:
        return DEFAULT_VIEWER
    value = settings.value(SETTINGS_VIEWER, DEFAULT_VIEWER)
    return str(value).strip() or DEFAULT_VIEWER


def build_argv(template: str, address: VncAddress, name: str = "") -> list[str]:
    """The argv for ``template`` and ``address`` (raises :class:`ViewerError`)."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise ViewerError(f"cannot parse the viewer command {template!r}: {exc}") from None
    if not words:
        raise ViewerError("the external viewer command is empty; set one in Preferences, e.g. 'vncviewer {address}'")
    used: set[str] = set()
    for w in words:
        for _lit, field, _spec, _conv in string.Formatter().parse(w):
            if field is not None:
                if field not in PLACEHOLDERS:
                    raise ViewerError(f"unknown placeholder {{{field}}} in the viewer command; "
                                      f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
                used.add(field)
    if address.is_unix and used & {"host", "port", "display"}:
        raise ViewerError(f"this console is the unix socket {address.path}, which has no host/port: "
                          "use {address} or {socket} in the viewer command")
    if not address.is_unix and "socket" in used:
        raise ViewerError(f"this console is {address}, not a unix socket: use {{address}} or {{host}}/{{port}}")
    values = {
        "address": address.path if address.is_unix else f"{address.host}::{address.port}",
        "socket": address.path or "",
        "host": address.host or "",
        "port": str(address.port or ""),
        "display": str(address.display if address.display is not None else ""),
        "name": name,
    }
    argv = [w.format(**values) for w in words]
    if shutil.which(argv[0]) is None:
        raise ViewerError(f"the VNC viewer '{argv[0]}' was not found; install it or change the command "
                          "in Preferences (for example 'vncviewer {address}')")
    return argv


def launch(template: str, address: VncAddress, name: str = "") -> int:
    """Start the viewer detached; returns its pid (raises :class:`ViewerError`)."""
    from PySide6.QtCore import QProcess

    argv = build_argv(template, address, name)
    ok, pid = QProcess.startDetached(argv[0], argv[1:])
    if not ok:
        raise ViewerError(f"could not start {' '.join(shlex.quote(a) for a in argv)}")
    return int(pid)
