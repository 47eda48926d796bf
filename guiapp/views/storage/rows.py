"""What the Storage window shows, read on the job runner's threads (no Qt here).

:func:`fetch_pools` lists one connection's pools with their state and sizes;
:func:`fetch_volumes` lists one pool's volumes with format, sizes and the domains
whose disks use them (read from every domain's XML once per refresh).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ...backend.cli_storage import pretty

_FORMAT = re.compile(r"<format type=['\"]([^'\"]+)['\"]")
_TYPE = re.compile(r"<pool type=['\"]([^'\"]+)['\"]")
_TARGET = re.compile(r"<target>\s*<path>([^<]*)</path>")
_DISK_SOURCE = re.compile(r"<source (?:file|dev)=['\"]([^'\"]+)['\"]")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&apos;", "'").replace("&quot;", '"') \
        .replace("&amp;", "&")


@dataclass(frozen=True)
class PoolRow:
    uri: str
    name: str
    uuid: str
    type: str
    active: bool
    autostart: bool
    persistent: bool
    capacity: int
    allocation: int
    available: int
    target: str
    read_only: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.uri, self.uuid)

    @property
    def usage(self) -> float:
        """Fraction of the pool's capacity in use (0 when unknown)."""
        return self.allocation / self.capacity if self.capacity else 0.0

    @property
    def usage_text(self) -> str:
        if not self.active:
            return "inactive"
        return f"{pretty(self.allocation)} of {pretty(self.capacity)} ({self.usage:.0%})"


@dataclass(frozen=True)
class VolRow:
    name: str
    path: str
    format: str
    capacity: int
    allocation: int
    used_by: tuple[tuple[str, bool], ...] = ()  # (domain, running)
    backing: str = ""
    key: str = ""

    @property
    def used_by_text(self) -> str:
        return ", ".join(f"{d} (running)" if up else d for d, up in self.used_by)

    @property
    def running_users(self) -> list[str]:
        return [d for d, up in self.used_by if up]


@dataclass
class VolumeList:
    uri: str
    pool: str
    rows: list[VolRow] = field(default_factory=list)


def fetch_pools(uri: str, conn: Any, read_only: bool) -> list[PoolRow]:
    rows = []
    for p in conn.listAllStoragePools(0):
        state, cap, alloc, avail = p.info()
        xml = p.XMLDesc(0)
        t = _TYPE.search(xml)
        target = _TARGET.search(xml)
        rows.append(PoolRow(uri, p.name(), p.UUIDString(), t.group(1) if t else "?", state != 0,
                            bool(p.autostart()), bool(p.isPersistent()), cap, alloc, avail,
                            _unescape(target.group(1)) if target else "", read_only))
    return sorted(rows, key=lambda r: r.name)


def disk_users(conn: Any) -> dict[str, list[tuple[str, bool]]]:
    """path -> [(domain, running)] from the disks of every domain of ``conn``."""
    users: dict[str, list[tuple[str, bool]]] = {}
    for dom in conn.listAllDomains(0):
        try:
            xml = dom.XMLDesc(0)
            running = bool(dom.isActive())
        except Exception:  # the domain went away meanwhile
            continue
        for path in set(_DISK_SOURCE.findall(xml)):
            users.setdefault(_unescape(path), []).append((dom.name(), running))
    return users


_CAPACITY = re.compile(r"<capacity unit='bytes'>(\d+)</capacity>")
_ALLOCATION = re.compile(r"<allocation unit='bytes'>(\d+)</allocation>")
_PATH = re.compile(r"<path>([^<]*)</path>")


def volume_row(name: str, key: str, xml: str, users: dict[str, list[tuple[str, bool]]]) -> VolRow:
    """One volume's row from its XML alone (one driver call per volume keeps big pools quick)."""
    head, _, backing_part = xml.partition("<backingStore>")
    cap, alloc = _CAPACITY.search(head), _ALLOCATION.search(head)
    path_m, fmt = _PATH.search(head), _FORMAT.search(head)
    backing = _PATH.search(backing_part) if backing_part else None
    path = _unescape(path_m.group(1)) if path_m else ""
    return VolRow(name, path, fmt.group(1) if fmt else "", int(cap.group(1)) if cap else 0,
                  int(alloc.group(1)) if alloc else 0, tuple(sorted(users.get(path, []))),
                  _unescape(backing.group(1)) if backing else "", key)


def fetch_volumes(uri: str, conn: Any, pool_name: str, refresh: bool = False) -> VolumeList:
    pool = conn.storagePoolLookupByName(pool_name)
    if refresh:
        pool.refresh(0)
    users = disk_users(conn)
    rows = [volume_row(v.name(), v.key(), v.XMLDesc(0), users) for v in pool.listAllVolumes(0)]
    return VolumeList(uri, pool_name, sorted(rows, key=lambda r: r.name))


def volume_xml(name: str, fmt: str, capacity: int, backing: Optional[VolRow] = None) -> str:
    """``<volume>`` XML for the New Volume form (values escaped; the backend checks them again)."""
    from ...backend.xml.serialize import escape_text as escape
    from ...backend.xml.serialize import quote_attr as quoteattr
    parts = ["<volume>", f"  <name>{escape(name)}</name>", f"  <capacity unit='bytes'>{int(capacity)}</capacity>"]
    if fmt:
        parts.append(f"  <target><format type={quoteattr(fmt)}/></target>")
    if backing is not None:
        parts.append(f"  <backingStore><path>{escape(backing.path)}</path>"
                     f"<format type={quoteattr(backing.format or 'raw')}/></backingStore>")
    parts.append("</volume>")
    return "\n".join(parts) + "\n"


def pool_xml(name: str, pool_type: str, target: str = "", devices: tuple[str, ...] = (),
             vg_name: str = "") -> str:
    """``<pool>`` XML for the New Pool form."""
    from ...backend.xml.serialize import escape_text as escape
    from ...backend.xml.serialize import quote_attr as quoteattr
    parts = [f"<pool type={quoteattr(pool_type)}>", f"  <name>{escape(name)}</name>", "  <source>"]
    parts += [f"    <device path={quoteattr(d)}/>" for d in devices]
    if pool_type == "logical":
        parts += [f"    <name>{escape(vg_name or name)}</name>", "    <format type='lvm2'/>"]
    parts.append("  </source>")
    if target:
        parts.append(f"  <target><path>{escape(target)}</path></target>")
    parts.append("</pool>")
    return "\n".join(parts) + "\n"


def find_devices(conn: Any) -> list[str]:
    """Devices of the host's LVM sources (findStoragePoolSources('logical')) for the New Pool form."""
    xml = conn.findStoragePoolSources("logical", None, 0)
    return [_unescape(d) for d in re.findall(r"<device path=['\"]([^'\"]+)['\"]", xml)]


__all__ = ["PoolRow", "VolRow", "VolumeList", "fetch_pools", "fetch_volumes", "disk_users", "volume_xml", "pool_xml",
           "find_devices"]
