"""Connection URIs (``driver[+transport]://[user@][host][:port]/path[?query]``)."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from . import constants as C
from .errors import DriverError


class URI(NamedTuple):
    """A parsed connection URI (a NamedTuple, not a dataclass: ``dataclasses`` costs command-line start-up)."""

    text: str
    scheme: str  # the driver part: "test", "qemu", "xen"
    transport: str = ""  # "ssh", "tcp", "unix", ... ("" for local)
    user: str = ""
    host: str = ""
    port: int | None = None
    path: str = ""
    query: dict[str, str] = {}  # parse_uri always passes its own dict; never mutated

    @property
    def is_local(self) -> bool:
        return not self.host and self.transport in ("", "unix")


def shown(text: str) -> str:
    """``text`` with control characters (NUL, newline...) as ``\\xNN`` escapes, for error messages."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in text)


def _check_printable(text: str, what: str, uri: str) -> None:
    if any(not c.isprintable() for c in text):
        raise DriverError(C.VIR_ERR_INVALID_ARG,
                          f"malformed connection URI '{shown(uri)}': its {what} contains control characters "
                          f"('{shown(text)}'); remove them")


def parse_uri(text: str) -> URI:
    """Parse ``text``; a malformed URI raises DriverError(VIR_ERR_INVALID_ARG)."""
    if not isinstance(text, str) or not text.strip():
        raise DriverError(C.VIR_ERR_INVALID_ARG, "empty connection URI; use e.g. test:///default or qemu:///session")
    text = text.strip()
    _check_printable(text, "text", text)
    if "://" not in text and ":" not in text:
        raise DriverError(C.VIR_ERR_INVALID_ARG,
                          f"malformed connection URI '{text}': expected driver:///path, e.g. test:///default")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"malformed connection URI '{text}': {exc}") from None
    scheme, _, transport = parts.scheme.lower().partition("+")
    if not scheme:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"malformed connection URI '{text}': no driver name before ':'")
    user, path = unquote(parts.username or ""), unquote(parts.path)
    query = dict(parse_qsl(parts.query))
    for what, value in [("user", user), ("path", path)] + [(f"parameter '{k}'", f"{k}{v}") for k, v in query.items()]:
        _check_printable(value, what, text)  # e.g. %00: a NUL byte would reach a file name
    return URI(
        text=text,
        scheme=scheme,
        transport=transport,
        user=user,
        host=parts.hostname or "",
        port=port,
        path=path,
        query=query,
    )


def uri_is_local(text: str) -> bool:
    """True for a URI of this host (no host name; no transport, or a unix socket); False when malformed."""
    try:
        return parse_uri(text).is_local
    except DriverError:
        return False


def uri_transport(text: str) -> str:
    """The URI's transport ("ssh", "tcp", "unix"; "" for none), "" when malformed (its open reports that)."""
    try:
        return parse_uri(text).transport
    except DriverError:
        return ""
