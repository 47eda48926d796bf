"""Read Debian's ``osinfo-db`` XML (``/usr/share/osinfo/os``) into plain records, lazily and once."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Iterable, Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from ..xml.safe import parse_xml

#: Where Debian's ``osinfo-db`` package installs the database.
DEFAULT_DB_DIR = "/usr/share/osinfo"
#: Largest osinfo-db file read (the biggest in Debian 12 is ~100 KiB).
MAX_FILE_SIZE = 2 * 1024 * 1024


@dataclass(frozen=True)
class Media:
    """One ``<media>`` entry that carries an ``<iso>`` block: regexes libosinfo matches against the PVD."""

    arch: str
    variant: str
    volume_id: Optional[str]
    system_id: Optional[str]
    publisher_id: Optional[str]
    application_id: Optional[str]
    volume_size: Optional[int]
    kernel: str
    initrd: str


@dataclass(frozen=True)
class Tree:
    """One ``<tree>`` entry: an install tree's known URL and boot files, or the ``.treeinfo`` regexes it matches."""

    arch: str
    variant: str
    url: str
    kernel: str
    initrd: str
    treeinfo: dict[str, str]  # family / version / arch / variant -> regex (empty: matched by layout)


@dataclass(frozen=True)
class Resources:
    """Minimum or recommended resources for one arch (bytes, as osinfo-db stores them)."""

    ram: Optional[int] = None
    storage: Optional[int] = None
    n_cpus: Optional[int] = None


@dataclass
class OsEntry:
    """One ``<os>`` element, without localised names."""

    id: str
    short_ids: list[str]
    name: str
    family: str = ""
    distro: str = ""
    version: str = ""
    vendor: str = ""
    release_date: str = ""
    eol_date: str = ""
    parents: list[str] = field(default_factory=list)  # derives-from and clones ids
    devices: dict[str, bool] = field(default_factory=dict)  # device id -> supported
    minimum: dict[str, Resources] = field(default_factory=dict)  # arch ("all", "x86_64", ...) -> resources
    recommended: dict[str, Resources] = field(default_factory=dict)
    firmware: dict[tuple[str, str], bool] = field(default_factory=dict)  # (arch, type) -> supported
    media: list[Media] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    variants: dict[str, str] = field(default_factory=dict)  # variant id -> name

    def media_name(self, media: Media) -> str:
        """The name for this media: its variant's name when it has one (as ``osinfo-detect`` prints it)."""
        return self.variants.get(media.variant) or self.name

    @property
    def short_id(self) -> str:
        return self.short_ids[0] if self.short_ids else ""


def _text(el: etree._Element, tag: str) -> str:
    """Text of the first child ``tag`` without an ``xml:lang`` attribute, stripped."""
    for child in el.findall(tag):
        if "{http://www.w3.org/XML/1998/namespace}lang" not in child.attrib:
            return (child.text or "").strip()
    return ""


def _int(el: Optional[etree._Element]) -> Optional[int]:
    if el is None or not (el.text or "").strip():
        return None
    try:
        return int((el.text or "").strip())
    except ValueError:
        return None


def _resources(el: etree._Element) -> Resources:
    return Resources(ram=_int(el.find("ram")), storage=_int(el.find("storage")), n_cpus=_int(el.find("n-cpus")))


def _media(el: etree._Element) -> Optional[Media]:
    iso = el.find("iso")
    if iso is None:
        return None
    var = el.find("variant")

    def opt(tag: str) -> Optional[str]:
        t = iso.find(tag)
        return (t.text or "").strip() if t is not None and (t.text or "").strip() else None

    return Media(arch=el.get("arch", "all"), variant=var.get("id", "") if var is not None else "",
                 volume_id=opt("volume-id"), system_id=opt("system-id"), publisher_id=opt("publisher-id"),
                 application_id=opt("application-id"), volume_size=_int(iso.find("volume-size")),
                 kernel=_text(el, "kernel"), initrd=_text(el, "initrd"))


def _tree(el: etree._Element) -> Tree:
    var = el.find("variant")
    info = el.find("treeinfo")
    fields = {} if info is None else {t: (info.findtext(t) or "").strip() for t in ("family", "version", "arch",
                                                                                    "variant")}
    return Tree(arch=el.get("arch", "all"), variant=var.get("id", "") if var is not None else "",
                url=_text(el, "url"), kernel=_text(el, "kernel"), initrd=_text(el, "initrd"),
                treeinfo={k: v for k, v in fields.items() if v})


def parse_os(el: etree._Element) -> OsEntry:
    """One ``<os>`` element -> :class:`OsEntry`."""
    entry = OsEntry(id=el.get("id", ""), short_ids=[(s.text or "").strip() for s in el.findall("short-id")],
                    name=_text(el, "name"), family=_text(el, "family"), distro=_text(el, "distro"),
                    version=_text(el, "version"), vendor=_text(el, "vendor"),
                    release_date=_text(el, "release-date"), eol_date=_text(el, "eol-date"))
    for tag in ("derives-from", "clones"):
        entry.parents += [p.get("id", "") for p in el.findall(tag) if p.get("id")]
    for dev in el.findall("devices/device"):
        if dev.get("id"):
            entry.devices[dev.get("id", "")] = dev.get("supported", "true") != "false"
    for res in el.findall("resources"):
        arch = res.get("arch", "all")
        if (m := res.find("minimum")) is not None:
            entry.minimum[arch] = _resources(m)
        if (r := res.find("recommended")) is not None:
            entry.recommended[arch] = _resources(r)
    for fw in el.findall("firmware"):
        entry.firmware[(fw.get("arch", "all"), fw.get("type", ""))] = fw.get("supported", "true") != "false"
    for var in el.findall("variant"):
        if var.get("id"):
            entry.variants[var.get("id", "")] = _text(var, "name")
    entry.media = [m for m in (_media(x) for x in el.findall("media")) if m is not None]
    entry.trees = [_tree(x) for x in el.findall("tree")]
    return entry


def _merge(into: OsEntry, extra: OsEntry) -> None:
    """Add a ``<name>.d/*.xml`` extension of an OS to its main entry (libosinfo merges them too)."""
    for name in ("name", "family", "distro", "version", "vendor", "release_date", "eol_date"):
        if not getattr(into, name):
            setattr(into, name, getattr(extra, name))
    into.short_ids += [s for s in extra.short_ids if s not in into.short_ids]
    into.parents += [p for p in extra.parents if p not in into.parents]
    for d, ok in extra.devices.items():
        into.devices.setdefault(d, ok)
    for src, dst in ((extra.minimum, into.minimum), (extra.recommended, into.recommended)):
        for arch, res in src.items():
            dst.setdefault(arch, res)
    for key, ok in extra.firmware.items():
        into.firmware.setdefault(key, ok)
    into.media += extra.media
    into.trees += extra.trees
    for vid, vname in extra.variants.items():
        into.variants.setdefault(vid, vname)


def _files(os_dir: str) -> Iterable[str]:
    for root, dirs, files in os.walk(os_dir):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".xml"):
                yield os.path.join(root, name)


class OsInfoDb:
    """The OS list of one osinfo-db directory; parsed on first use, then kept (thread-safe)."""

    def __init__(self, path: str = DEFAULT_DB_DIR) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._oses: Optional[dict[str, OsEntry]] = None

    def _load(self) -> dict[str, OsEntry]:
        os_dir = os.path.join(self.path, "os")
        if not os.path.isdir(os_dir):
            raise DriverError(C.VIR_ERR_NO_SUPPORT,
                              f"no osinfo database at {os_dir!r}: install Debian's osinfo-db package",
                              C.VIR_FROM_NONE)
        out: dict[str, OsEntry] = {}
        for path in _files(os_dir):
            with open(path, "rb") as f:
                data = f.read(MAX_FILE_SIZE + 1)
            if len(data) > MAX_FILE_SIZE:
                raise DriverError(C.VIR_ERR_XML_ERROR, f"osinfo-db file {path!r} is larger than "
                                  f"{MAX_FILE_SIZE} bytes: not a database file", C.VIR_FROM_NONE)
            root = parse_xml(data, path, domain=C.VIR_FROM_NONE)
            for el in root.iter("os"):
                entry = parse_os(el)
                if entry.id in out:
                    _merge(out[entry.id], entry)
                elif entry.id:
                    out[entry.id] = entry
        return out

    def oses(self) -> dict[str, OsEntry]:
        """All OS entries by id (loads the database the first time)."""
        with self._lock:
            if self._oses is None:
                self._oses = self._load()
            return self._oses

    @property
    def loaded(self) -> bool:
        return self._oses is not None

    def get(self, key: str) -> OsEntry:
        """An OS by id or short id; ``VIR_ERR_INVALID_ARG`` naming the key when unknown."""
        oses = self.oses()
        if key in oses:
            return oses[key]
        for entry in oses.values():
            if key in entry.short_ids:
                return entry
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown operating system {key!r} (not in osinfo-db)",
                          C.VIR_FROM_NONE)

    def search(self, text: str, limit: int = 50) -> list[OsEntry]:
        """OSes whose name or short id contains every word of ``text`` (case-insensitive), newest first."""
        words = text.lower().split()
        hits = [e for e in self.oses().values()
                if all(w in e.name.lower() or any(w in s.lower() for s in e.short_ids) for w in words)]
        hits.sort(key=lambda e: (e.release_date or "0", e.name), reverse=True)
        return hits[:limit]

    def ancestors(self, entry: OsEntry) -> list[OsEntry]:
        """``entry`` then the OSes it derives from or clones, nearest first, each once."""
        oses = self.oses()
        out: list[OsEntry] = []
        seen: set[str] = set()
        todo = [entry.id]
        while todo:
            oid = todo.pop(0)
            if oid in seen or oid not in oses:
                continue
            seen.add(oid)
            out.append(oses[oid])
            todo += oses[oid].parents
        return out


_default: Optional[OsInfoDb] = None
_default_lock = threading.Lock()


def default_db() -> OsInfoDb:
    """The shared database for :data:`DEFAULT_DB_DIR` (created, not yet loaded, on first call)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = OsInfoDb()
        return _default
