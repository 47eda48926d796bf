"""Where a domain's VNC display is: a unix socket (local QEMU) or host:port, from the live XML.

No Qt here. :func:`console_target` makes driver calls: run it off the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

from ..backend import constants as C
from ..backend.xml.safe import parse_xml

WILDCARD_LISTEN = {"", "0.0.0.0", "::", "[::]"}

#: States whose display can be shown: running, blocked, paused.
_LIVE_STATES = (C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_BLOCKED, C.VIR_DOMAIN_PAUSED)


class NoConsoleError(Exception):
    """The domain has no VNC display to connect to; the message says why and what to do."""


@dataclass(frozen=True)
class VncAddress:
    """A VNC server address: ``path`` for a unix socket, else ``host`` and ``port``."""

    path: Optional[str] = None
    host: Optional[str] = None
    port: Optional[int] = None

    @property
    def is_unix(self) -> bool:
        return self.path is not None

    @property
    def display(self) -> Optional[int]:
        return None if self.port is None else self.port - 5900

    def __str__(self) -> str:
        if self.path is not None:
            return f"unix:{self.path}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> VncAddress:
        """``unix:/path``, ``/path``, ``host:port`` (port >= 5900) or ``host::port``."""
        text = text.strip()
        if text.startswith("unix:"):
            return cls(path=text[5:])
        if text.startswith("/"):
            return cls(path=text)
        host, sep, port = text.rpartition(":")
        if host.endswith(":"):
            host = host[:-1]
        if not sep or not port.isdigit():
            raise ValueError(f"bad VNC address {text!r}: use unix:/path/to/socket or host:port")
        num = int(port)
        if not 0 < num < 65536:
            raise ValueError(f"bad VNC port {num} in {text!r}: expected 1-65535")
        return cls(host=host.strip("[]") or "127.0.0.1", port=num)


@dataclass(frozen=True)
class ConsoleTarget:
    """What a console needs to connect: the address and whether the display has a password."""

    address: VncAddress
    has_password: bool = False
    name: str = ""


def _uri_host(uri: str) -> Optional[str]:
    try:
        return urlsplit(uri).hostname
    except ValueError:
        return None


def has_vnc_graphics(xml: str) -> bool:
    """Whether a domain XML has a ``<graphics type='vnc'>`` (a console or thumbnail is possible)."""
    return any(g.get("type") == "vnc" for g in parse_xml(xml).iterfind("devices/graphics"))


def target_from_xml(xml: str, *, uri: str = "", local_socket: Optional[str] = None) -> ConsoleTarget:
    """The console target described by a domain's live XML (raises :class:`NoConsoleError`).

    ``local_socket`` is the driver's unix socket for the display when it knows one (local QEMU);
    it wins over TCP, as a socket in the XML (``socket=`` or ``<listen type='socket'>``) does.
    """
    root = parse_xml(xml)
    name = root.findtext("name") or ""
    g = next((e for e in root.iterfind("devices/graphics") if e.get("type") == "vnc"), None)
    if g is None:
        raise NoConsoleError(f"domain '{name}' has no <graphics type='vnc'>; add one to get a graphical console")
    has_password = g.get("passwd") is not None
    socket = g.get("socket")
    listen = g.get("listen")
    for child in g.iterfind("listen"):
        if child.get("type") == "socket" and socket is None:
            socket = child.get("socket")
        elif child.get("type", "address") == "address" and listen is None:
            listen = child.get("address")
    host = _uri_host(uri)
    local = host in (None, "", "localhost")
    if socket and local:
        return ConsoleTarget(VncAddress(path=socket), has_password, name)
    if local_socket and local:
        return ConsoleTarget(VncAddress(path=local_socket), has_password, name)
    port_text = g.get("port")
    port = int(port_text) if port_text and port_text.lstrip("-").isdigit() else -1
    if port <= 0:
        raise NoConsoleError(f"the VNC display of '{name}' has no port yet (is the domain running?)")
    if listen is None or listen in WILDCARD_LISTEN:
        listen = host if host else "127.0.0.1"
    return ConsoleTarget(VncAddress(host=listen, port=port), has_password, name)


def console_target(dom: Any) -> ConsoleTarget:
    """Resolve a running virDomain's console (driver calls: not on the UI thread)."""
    state = dom.state()[0]
    if state not in _LIVE_STATES:
        raise NoConsoleError(f"domain '{dom.name()}' is not running")
    # public calls only: a local QEMU guest's live XML names its display's unix socket
    return target_from_xml(dom.XMLDesc(0), uri=dom.connect().getURI())
