"""The wizard's input checks: each returns None when the value is fine, else a message saying what to fix.

Pure functions (no Qt, no driver calls) so pages can run them on every keystroke.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from collections.abc import Collection
from typing import Optional

from guiapp.backend import validate
from guiapp.backend.xml.domain import parse_uuid

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
NAME_MAX = 64
MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
HOST_RE = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                     r"[A-Za-z0-9])?)*")
MULTICAST_V4 = ipaddress.ip_network("224.0.0.0/4")


def check_name(name: str, existing: Collection[str] = ()) -> Optional[str]:
    if not name:
        return "Enter a name for the virtual machine."
    if len(name) > NAME_MAX:
        return f"The name is {len(name)} characters long; use at most {NAME_MAX}."
    if not NAME_RE.fullmatch(name):
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "_.+-"))})
        if bad:
            shown = " ".join(repr(c) for c in bad)
            return f"The name may only contain letters, digits and _ . + - (not {shown})."
        return "The name must start with a letter or a digit."
    if name in existing:
        return f"A virtual machine named '{name}' already exists on this connection; choose another name."
    return None


def check_uuid(text: str) -> Optional[str]:
    if not text.strip():
        return None  # generated
    try:
        parse_uuid(text)
    except Exception:
        return f"'{text}' is not a UUID: use 32 hex digits, dashes optional (or leave it empty to generate one)."
    return None


def check_readable_file(path: str, what: str, *, allow_block: bool = False) -> Optional[str]:
    """An existing, readable regular file (or block device when ``allow_block``)."""
    if not path:
        return f"Choose the {what}."
    if not os.path.isabs(path):
        return f"The {what} path must be absolute (start with /): {path}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"The {what} {path} does not exist."
    except OSError as exc:
        return f"Cannot check the {what} {path}: {exc.strerror}."
    if stat.S_ISDIR(st.st_mode):
        return f"The {what} {path} is a directory; choose a file."
    if not (stat.S_ISREG(st.st_mode) or (allow_block and stat.S_ISBLK(st.st_mode))):
        kinds = "a regular file or a block device" if allow_block else "a regular file"
        return f"The {what} {path} is not {kinds}."
    if not os.access(path, os.R_OK):
        return f"The {what} {path} cannot be read (permission denied)."
    return None


def check_new_file(path: str, what: str = "new disk image", *, create_parent: bool = False) -> Optional[str]:
    """A path where a new file can be created: absolute, parent writable (or creatable), nothing there yet."""
    if not path:
        return f"Choose where to create the {what}."
    if not os.path.isabs(path):
        return f"The {what} path must be absolute (start with /): {path}"
    if os.path.lexists(path):
        return f"{path} already exists; choose another file name (the wizard never overwrites a file)."
    parent = os.path.dirname(path) or "/"
    if not os.path.isdir(parent):
        if not create_parent:
            return f"The folder {parent} does not exist."
        while not os.path.isdir(parent):  # the folder is created on finish: its first existing ancestor counts
            if os.path.lexists(parent):
                return f"{parent} is not a folder."
            parent = os.path.dirname(parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"Cannot create files in {parent} (permission denied)."
    return None


def check_disk_size(gib: float, path: str = "") -> Optional[str]:
    if gib <= 0:
        return "The disk size must be greater than 0."
    if path:
        parent = os.path.dirname(path) or "/"
        try:
            st = os.statvfs(parent)
        except OSError:
            return None
        free = st.f_bavail * st.f_frsize
        if gib * 1024 ** 3 > free * 50:  # sparse images: refuse only what can never fit
            return f"{gib:g} GiB is far more than the {free / 1024 ** 3:.1f} GiB free in {parent}."
    return None


def check_mac(text: str, taken: Collection[str] = ()) -> Optional[str]:
    if not MAC_RE.fullmatch(text):
        return f"'{text}' is not a MAC address: write six hex pairs separated by colons, e.g. 52:54:00:12:34:56."
    if int(text[:2], 16) & 1:
        return f"{text} is a multicast MAC address; the lowest bit of the first octet must be 0 (e.g. 52:...)."
    if text.lower() == "00:00:00:00:00:00":
        return "00:00:00:00:00:00 is not a usable MAC address."
    if text.lower() in taken:
        return f"The MAC address {text} is used twice; every interface needs its own."
    return None


def check_port(port: int, what: str = "port", lo: int = 1, hi: int = 65535) -> Optional[str]:
    if not lo <= port <= hi:
        return f"The {what} {port} is out of range: use {lo}-{hi}."
    return None


def check_multicast(address: str) -> Optional[str]:
    if not address:
        return "Enter the multicast group address (224.0.0.0 - 239.255.255.255, e.g. 230.0.0.1)."
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"'{address}' is not an IPv4 address; use a multicast group such as 230.0.0.1."
    if ip.version != 4 or ip not in MULTICAST_V4:
        return f"{address} is outside the multicast range 224.0.0.0/4 (224.0.0.0 - 239.255.255.255)."
    return None


def check_host(address: str, what: str = "address") -> Optional[str]:
    if not address:
        return f"Enter the {what} (an IP address or a host name)."
    try:
        ipaddress.ip_address(address)
        return None
    except ValueError:
        pass
    if not HOST_RE.fullmatch(address):
        return f"'{address}' is neither an IP address nor a valid host name."
    return None


def check_ifname(name: str, what: str, *, required: bool) -> Optional[str]:
    if not name:
        return f"Enter the {what}." if required else None
    problem = validate.ifname_problem(name)  # the backend's rule: what it would refuse anyway
    if problem is not None:
        return f"{validate.shown(name)} is not a valid {what}: {problem}; use {validate.IFNAME_RULE}."
    return None


def check_memory(mib: int, host_mib: Optional[int]) -> Optional[str]:
    if mib < 1:
        return "The guest needs at least 1 MiB of memory."
    if host_mib and mib > host_mib:
        return f"{mib} MiB is more than the host's {host_mib} MiB of memory."
    return None


def check_vcpus(n: int, limit: Optional[int], host_cpus: Optional[int]) -> Optional[str]:
    if n < 1:
        return "The guest needs at least 1 vCPU."
    if host_cpus and n > host_cpus:
        return f"{n} vCPUs is more than the host's {host_cpus} CPUs."
    if limit and n > limit:
        return f"{n} vCPUs is more than this hypervisor allows for one guest ({limit})."
    return None


def check_listen(address: str) -> Optional[str]:
    if not address:
        return None
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return f"The VNC listen address '{address}' is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)."
    return None


def check_vnc_password(passwd: str) -> Optional[str]:
    if len(passwd) > 8:
        return "VNC passwords count only their first 8 characters; use at most 8."
    if any(ord(c) < 32 or ord(c) > 126 for c in passwd):
        return "Use printable ASCII characters only in the VNC password."
    return None
