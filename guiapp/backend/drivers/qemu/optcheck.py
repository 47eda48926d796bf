"""What an XML value may be before it goes into a QEMU option (``-drive``, ``-machine``, ``-netdev``, ``-vnc``).

QEMU parses option values as ``key=value,key=value`` (``,,`` is a literal comma), and some values further:
``file=`` takes protocol prefixes (``nbd:``, ``json:{...}``), ``host:port`` pairs are split on the last colon.
A value from the domain XML is therefore either checked against what it may be here (format names from a
list, machine names from the emulator, IP addresses, ports, absolute paths) or escaped with
:func:`qemu_escape` where it is a free string.  Every refusal is ``VIR_ERR_CONFIG_UNSUPPORTED``
naming the value and what to use instead.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Optional

from ... import constants as C
from ...errors import DriverError

E = C.VIR_FROM_QEMU

#: Image formats QEMU's ``-drive format=`` is allowed to get (libvirt's storage file formats QEMU opens).
DISK_FORMATS = frozenset({"raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vhdx", "vpc", "cloop", "dmg",
                          "parallels", "bochs"})

#: Machine type names as QEMU prints them in ``-machine help`` (``pc``, ``pc-i440fx-7.2``, ``q35``, ``none``).
_MACHINE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def qemu_escape(value: str) -> str:
    """QEMU's option syntax doubles commas inside values."""
    return value.replace(",", ",,")


def _refuse(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, detail, E)


def disk_format(fmt: str, target: str) -> str:
    """``<driver type>``: one of :data:`DISK_FORMATS` (as libvirt: 'unknown driver format value')."""
    if fmt not in DISK_FORMATS:
        raise _refuse(f"unknown driver format value {fmt!r} of disk {target}; use one of "
                      f"{', '.join(sorted(DISK_FORMATS))}")
    return fmt


def machine(name: str, known: Optional[Iterable[str]] = None) -> str:
    """``<type machine>``: a machine name, and one the emulator has when its list is ``known``."""
    if not _MACHINE.fullmatch(name):
        raise _refuse(f"machine type {name!r} is not a machine name (letters, digits, '.', '_', '-'); "
                      f"use one of `qemu-system-<arch> -machine help`, e.g. 'pc' or 'q35'")
    names = list(known or ())
    if names and name not in names:
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        raise _refuse(f"machine type {name!r} is not supported by this emulator; use one of {shown}")
    return name


def abs_path(path: str, what: str) -> str:
    """A path QEMU opens: absolute (so no ``protocol:`` or ``json:`` prefix is parsed) and without NUL."""
    if not path.startswith("/") or "\0" in path:
        raise _refuse(f"{what} {path!r} must be an absolute path (starting with '/')")
    return path


def inet_host(addr: str, what: str, *, multicast: bool = False, ipv4: bool = False) -> str:
    """An IP address as QEMU's ``host:port`` syntax wants it (IPv6 in brackets); host names are refused."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise _refuse(f"{what} {addr!r} is not an IP address; use one such as 127.0.0.1 or ::1") from None
    if ipv4 and ip.version != 4:
        raise _refuse(f"{what} {addr!r}: QEMU takes an IPv4 address here")
    if multicast and not ip.is_multicast:
        raise _refuse(f"{what} {addr!r} is not a multicast address; use one in 224.0.0.0/4, e.g. 230.0.0.1")
    return f"[{ip.compressed}]" if ip.version == 6 else ip.compressed


def port(value: object, what: str) -> int:
    """A TCP/UDP port number 1..65535."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _refuse(f"{what} {value!r} is not a port number (1-65535)")
    return value
