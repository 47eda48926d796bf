"""Vocabularies and value parsers of domain XML (libvirt's enums, sizes, UUIDs, MACs); no tree logic."""

from __future__ import annotations

import random
import re
from typing import Optional

from .. import constants as C
from .. import validate
from ..errors import DriverError

# ---------------------------------------------------------------------------
# vocabularies (libvirt's enums)

DOMAIN_TYPES = frozenset({
    "none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware", "hyperv",
    "vbox", "phyp", "parallels", "bhyve", "vz", "hvf",
})
OS_TYPES = frozenset({"hvm", "xen", "linux", "exe", "uml", "xenpvh"})
LIFECYCLE_ACTIONS = ("destroy", "restart", "rename-restart", "preserve")
CRASH_ACTIONS = LIFECYCLE_ACTIONS + ("coredump-destroy", "coredump-restart")
LIFECYCLE_DEFAULTS = {"on_poweroff": "destroy", "on_reboot": "restart", "on_crash": "destroy"}
BOOT_DEVS = frozenset({"fd", "hd", "cdrom", "network"})
DISK_TYPES = frozenset({"file", "block", "dir", "network", "volume", "nvme", "vhostuser"})
DISK_DEVICES = frozenset({"disk", "cdrom", "floppy", "lun"})
NET_TYPES = frozenset({
    "user", "network", "bridge", "ethernet", "mcast", "server", "client", "udp",
    "direct", "hostdev", "vhostuser", "internal", "vdpa", "null", "vds",
})
SOCKET_NET_TYPES = frozenset({"mcast", "server", "client", "udp"})
GRAPHICS_TYPES = frozenset({"vnc", "sdl", "rdp", "desktop", "spice", "egl-headless", "dbus"})
CHAR_TYPES = frozenset({
    "pty", "null", "vc", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix", "spicevmc",
    "spiceport", "nmdm", "qemu-vdagent", "dbus",
})

MAC_PREFIX_QEMU = "52:54:00"
MAC_PREFIX_XEN = "00:16:3e"

#: Largest memory size accepted, in KiB (libvirt's limit: what fits in a signed 64-bit byte count).
MAX_MEMORY_KIB = (2 ** 63 - 1) // 1024

#: libvirt's size units (virScaleInteger), bytes per unit; the unit-less default differs by element.
UNIT_SCALE = {
    "b": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024 ** 2, "mib": 1024 ** 2, "mb": 1000 ** 2,
    "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3,
    "t": 1024 ** 4, "tib": 1024 ** 4, "tb": 1000 ** 4,
    "p": 1024 ** 5, "pib": 1024 ** 5, "pb": 1000 ** 5,
    "e": 1024 ** 6, "eib": 1024 ** 6, "eb": 1000 ** 6,
}
_UNITS = {"": 1024, **UNIT_SCALE}  # memory: KiB without a unit

_HEX = frozenset("0123456789abcdefABCDEF")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_FROM = C.VIR_FROM_DOMAIN


def xml_error(detail: str) -> DriverError:
    """An XML_ERROR from the domain layer."""
    return DriverError(C.VIR_ERR_XML_ERROR, detail, _FROM)


# ---------------------------------------------------------------------------
# value helpers (public: drivers use them too)

def parse_memory(value: Optional[str], unit: Optional[str], what: str = "memory") -> int:
    """``<memory unit=...>value</memory>`` -> KiB, rounding bytes up like libvirt."""
    if value is None or not value.strip():
        raise xml_error(f"{what} size must be specified via <{what}> (e.g. <{what} unit='MiB'>512</{what}>)")
    if not (value.isascii() and value.isdigit()):
        raise DriverError(C.VIR_ERR_XML_ERROR, f"Invalid value '{value}' for element <{what}>: {what} size must "
                          f"be a whole non-negative number (with an optional unit attribute such as unit='MiB')",
                          C.VIR_FROM_XML)
    scale = _UNITS.get((unit or "").strip().lower())
    if scale is None:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown unit '{unit}' for <{what}>: use b, KiB, MiB, GiB, TiB "
                          f"(or k, M, G, T, KB, MB, GB for powers of 1000)", C.VIR_FROM_NONE)
    nbytes = int(value) * scale
    if nbytes > 2 ** 64 - 1:
        raise xml_error(f"{what} size {value} {unit or 'KiB'} is too large: numerical overflow")
    kib = -(-nbytes // 1024)
    if kib > MAX_MEMORY_KIB:
        raise xml_error(f"{what} size {value} {unit or 'KiB'} is too large (at most {MAX_MEMORY_KIB} KiB)")
    return kib


def parse_uuid(text: Optional[str]) -> bytes:
    """libvirt's ``virUUIDParse``: 32 hex digits, dashes and spaces between them allowed."""
    hexs = (text or "").strip().replace("-", "").replace(" ", "")
    if len(hexs) != 32 or not _HEX.issuperset(hexs):
        raise DriverError(C.VIR_ERR_INTERNAL_ERROR,
                          f"malformed uuid element: '{text}' (expected 32 hex digits, dashes optional, "
                          f"e.g. 4dea24b3-1d52-d8f3-2516-782e98a23fa0)", _FROM)
    return bytes.fromhex(hexs)


def parse_mac(text: Optional[str]) -> str:
    """Validate a MAC address (1-2 hex digits per octet, ':' separated) -> lowercase canonical form."""
    return validate.parse_mac(text, domain=_FROM)


def generate_mac(prefix: str = MAC_PREFIX_QEMU) -> str:
    n = random.getrandbits(24)
    if prefix == MAC_PREFIX_XEN:
        n &= 0x7FFFFF  # keep Xen's locally used half of its OUI
    return f"{prefix}:{n >> 16:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"


def mac_prefix_for(hypervisor: Optional[str]) -> str:
    return MAC_PREFIX_XEN if hypervisor in ("xen", "libxl") else MAC_PREFIX_QEMU


def parse_int(value: Optional[str], what: str, lo: int, hi: int) -> Optional[int]:
    """A decimal integer attribute/text in ``[lo, hi]`` (None passes through); XML_ERROR otherwise."""
    if value is None:
        return None
    v = value.strip()
    try:
        n = int(v, 10)
    except ValueError:
        raise xml_error(f"cannot parse {what} '{value}': expected an integer in {lo}-{hi}") from None
    if not lo <= n <= hi:
        raise xml_error(f"{what} {n} out of range (expected {lo}-{hi})")
    return n


def parse_yes_no(value: Optional[str], what: str) -> Optional[bool]:
    """``yes``/``no`` -> bool (None passes through); XML_ERROR otherwise."""
    if value is None:
        return None
    if value == "yes":
        return True
    if value == "no":
        return False
    raise xml_error(f"invalid value '{value}' for {what}: expected 'yes' or 'no'")


def check_domain_name(name: Optional[str]) -> None:
    """libvirt's rules for a domain name: non-empty, no '/', no control characters."""
    if name is None or name == "":
        raise DriverError(C.VIR_ERR_NO_NAME, "the domain needs a non-empty <name> (e.g. <name>demo</name>)",
                          _FROM)
    if "/" in name:
        raise xml_error(f"name {name} cannot contain '/': choose a name without slashes")
    if CONTROL_CHARS.search(name):
        raise xml_error(f"name {name!r} cannot contain control characters (tabs, newlines, ...)")


def check_lifecycle(tag: str, action: str, *, unknown_code: int = C.VIR_ERR_CONFIG_UNSUPPORTED) -> None:
    """``<on_poweroff|on_reboot|on_crash>`` takes one of libvirt's actions (coredump-* only on crash)."""
    allowed = CRASH_ACTIONS if tag == "on_crash" else LIFECYCLE_ACTIONS
    if action in allowed:
        return
    if action in CRASH_ACTIONS:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"Lifecycle event '{tag[3:]}' doesn't support '{action}' action "
                          f"(coredump-* is only valid in <on_crash>)", _FROM)
    raise DriverError(unknown_code, f"unknown {tag} action: {action or '(empty)'} "
                      f"(expected one of {', '.join(allowed)})", _FROM)
