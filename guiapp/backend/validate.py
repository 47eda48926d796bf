"""Validators shared by several boundaries: interface names, DNS names, MAC addresses, config-file values.

The one home of the rules deciding whether a value from XML (or a form) may
reach another program's syntax.  Each rule has a ``*_problem`` function
returning why a value is refused (None when it is fine), usable by the GUI on
every keystroke, and a ``check_*`` function raising :class:`DriverError` with
the code and error domain of the caller's boundary.

Interface names (``ifname``): what the kernel accepts (``dev_valid_name``: 1-15
bytes, not ``.``/``..``, no ``/``, ``:`` or whitespace) *and* libvirt's schema
accepts (``deviceName``: letters, digits, ``_ . - \\ : /``), minus what the
programs the name reaches would read as syntax (``\\``, a leading ``-``), so a
name is safe in an nft string, an iptables argument, a dnsmasq option and a
QEMU option alike.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

from . import constants as C
from .errors import DriverError

IFNAMSIZ = 16  # the kernel's buffer: names have at most 15 bytes
IFNAME_RULE = "1-15 ASCII letters, digits, '_', '.' or '-' (not first), e.g. virbr1"
_IFNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")

DNS_RULE = "dot-separated labels of 1-63 ASCII letters, digits or '-' (not first or last), e.g. host1.example.org"
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

_MAC_CANON = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
_MAC_LOOSE = re.compile(r"[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}")


def shown(value: object, limit: int = 80) -> str:
    """``value`` quoted for an error message: control characters escaped, long values cut."""
    text = repr(str(value))[1:-1]
    return "'" + (text if len(text) <= limit else text[:limit] + "...") + "'"


def _error(code: int, domain: int, detail: str) -> DriverError:
    return DriverError(code, detail, domain)


# -- interface names ------------------------------------------------------------------------------------------------

def ifname_problem(name: Optional[str]) -> Optional[str]:
    """Why ``name`` cannot be an interface name, or None when it can."""
    if not name:
        return "it is empty"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size >= IFNAMSIZ:
        return f"it has {size} bytes (at most {IFNAMSIZ - 1})"
    if name in (".", ".."):
        return f"'{name}' is not an interface name"
    bad = sorted({c for c in name if c not in _IFNAME_CHARS})
    if bad:
        return "it contains " + " ".join(shown(c) for c in bad)
    if name.startswith("-"):
        return "it starts with '-'"
    return None


def check_ifname(name: Optional[str], what: str, *, domain: int, code: int = C.VIR_ERR_XML_ERROR) -> str:
    """``name`` if it is a valid interface name, else DriverError(code) naming ``what`` and the value."""
    problem = ifname_problem(name)
    if problem is not None:
        raise _error(code, domain, f"invalid {what} {shown(name)}: {problem}; an interface name has {IFNAME_RULE}")
    return name  # type: ignore[return-value]


# -- DNS names ------------------------------------------------------------------------------------------------------

def dns_name_problem(name: Optional[str]) -> Optional[str]:
    """Why ``name`` is not an RFC 1123 host/domain name (one or more labels), or None when it is."""
    if not name:
        return "it is empty"
    if len(name) > 253:
        return f"it has {len(name)} characters (at most 253)"
    for label in name.split("."):
        if not _LABEL.fullmatch(label):
            if not label:
                return "it has an empty label (two dots, or a dot at either end)"
            return f"its label {shown(label)} is not 1-63 letters, digits or '-' (not first or last)"
    return None


def check_dns_name(name: Optional[str], what: str, *, domain: int, code: int = C.VIR_ERR_XML_ERROR) -> str:
    """``name`` if it is an RFC 1123 name, else DriverError(code) naming ``what`` and the value."""
    problem = dns_name_problem(name)
    if problem is not None:
        raise _error(code, domain, f"invalid {what} {shown(name)}: {problem}; expected {DNS_RULE}")
    return name  # type: ignore[return-value]


# -- MAC addresses --------------------------------------------------------------------------------------------------

def parse_mac(text: Optional[str], *, domain: int = C.VIR_FROM_DOMAIN) -> str:
    """Validate a unicast MAC address (1-2 hex digits per octet, ':' separated) -> lowercase canonical form."""
    if text is not None and _MAC_CANON.fullmatch(text):
        mac = text
    elif text is not None and _MAC_LOOSE.fullmatch(text):
        mac = ":".join(f"{int(p, 16):02x}" for p in text.split(":"))
    else:
        raise _error(C.VIR_ERR_XML_ERROR, domain, f"unable to parse mac address {shown(text)} (expected six hex "
                     f"pairs such as 52:54:00:12:34:56)")
    if int(mac[:2], 16) & 1:
        raise _error(C.VIR_ERR_XML_ERROR, domain, f"expected unicast mac address, found multicast {shown(text)} "
                     f"(the lowest bit of the first octet must be 0)")
    return mac


# -- values written into other programs' files ------------------------------------------------------------------------

def _is_control(ch: str) -> bool:
    """Control, format, line/paragraph separator or unassigned code points (what may end or hide a line)."""
    return unicodedata.category(ch)[0] in "CZ" and ch != " "


def text_problem(value: str, separators: str = "", *, spaces: bool = False) -> Optional[str]:
    """Why ``value`` cannot be one field of a line-based config file, or None.

    Control characters and line breaks are always refused, whitespace unless
    ``spaces``, and every character of ``separators`` (the file's syntax).
    """
    bad = sorted({c for c in value if _is_control(c) or c in separators or (c.isspace() and not spaces)})
    if bad:
        return "it contains " + " ".join(shown(c) for c in bad)
    return None


def check_text(value: str, what: str, separators: str = "", *, spaces: bool = False, domain: int,
               code: int = C.VIR_ERR_INVALID_ARG) -> str:
    """``value`` if :func:`text_problem` finds nothing, else DriverError(code) naming ``what`` and the value."""
    problem = text_problem(value, separators, spaces=spaces)
    if problem is not None:
        raise _error(code, domain, f"refusing to write {what} {shown(value)}: {problem}")
    return value


#: What an ssh command line may take as a host and a login name (no option injection: no leading '-').
_SSH_HOST = re.compile(r"^[A-Za-z0-9_.:%\[\]][A-Za-z0-9_.:%\[\]-]*$")
_SSH_USER = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$")


def host_problem(host: str) -> str:
    """'' when ``host`` may be put on an ssh command line, else what to fix (used by the GUI too)."""
    if not host:
        return "enter the remote host name or address"
    if not _SSH_HOST.match(host):
        return f"'{host}' is not a host name or address (letters, digits, '.', ':', '-'; not starting with '-')"
    return ""


def user_problem(user: str) -> str:
    """'' when ``user`` ('' = ssh's default) is a safe login name, else what to fix."""
    if user and not _SSH_USER.match(user):
        return f"'{user}' is not a user name (letters, digits, '.', '_', '-', '@'; not starting with '-')"
    return ""


__all__ = ["IFNAMSIZ", "IFNAME_RULE", "DNS_RULE", "shown", "ifname_problem", "check_ifname", "dns_name_problem",
           "check_dns_name", "parse_mac", "text_problem", "check_text", "host_problem", "user_problem"]
