"""``<domainsnapshot>`` documents in libvirt's format (parse, validate, format).

Follows libvirt 9.0's ``src/conf/snapshot_conf.c``: without REDEFINE the caller's
state, parent and creationTime are ignored (the driver fills them in); with
REDEFINE a name, a state and a creationTime are required.  Names become file
names beside the domain's config, so a name is refused when it holds ``/``, a
control character, or starts with ``.``.
"""

from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Optional, Union

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from .domain import DomainDef, domain_from_element
from .props import FlagProp, StrProp, XMLChildList, XMLNode, insert_ordered
from .safe import check_root, parse_xml
from .serialize import to_text

#: Snapshot states libvirt writes (virDomainSnapshotState): the domain's state names plus disk-snapshot.
STATES = ("nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended",
          "disk-snapshot")
#: Domain state number (virDomainState) -> snapshot state name.
STATE_NAMES = {i: s for i, s in enumerate(STATES[:8])}
MEMORY_MODES = ("no", "internal", "external")
DISK_MODES = ("no", "internal", "external", "manual")
MAX_NAME = 200
_BAD_NAME = re.compile(r"[/\x00-\x1f\x7f]")


def _err(code: int, msg: str) -> DriverError:
    return DriverError(code, msg, C.VIR_FROM_DOMAIN_SNAPSHOT)


def check_name(name: str) -> str:
    """A snapshot name safe to use as a file name (libvirt refuses '/'; we also refuse control chars, '.')."""
    if not name or _BAD_NAME.search(name) or name.startswith(".") or len(name.encode()) > MAX_NAME:
        raise _err(C.VIR_ERR_XML_DETAIL,
                   f"invalid snapshot name {name!r}: use 1-{MAX_NAME} bytes, no '/', no control characters, "
                   "not starting with '.'")
    return name


class SnapshotDiskXML(XMLNode):
    """``<disks><disk name snapshot>`` with ``<driver type>`` and ``<source file>``."""

    __slots__ = ()
    ORDER = {"disk": ("driver", "source")}
    name = StrProp("@name")
    snapshot = StrProp("@snapshot")
    file = StrProp("source/@file")
    driver_type = StrProp("driver/@type")


class SnapshotXML(XMLNode):
    """The fields of a ``<domainsnapshot>`` document (read by :func:`parse_snapshot`, written by ``to_xml``)."""

    __slots__ = ()
    ORDER = {"domainsnapshot": ("name", "description", "state", "parent", "creationTime", "memory", "disks",
                                "domain")}
    name = StrProp("name")
    has_description = FlagProp("description")
    description = StrProp("description")
    state = StrProp("state")
    parent = StrProp("parent/name")
    creation_time = StrProp("creationTime")
    memory = StrProp("memory/@snapshot")
    memory_file = StrProp("memory/@file")
    disks = XMLChildList("disks/disk", SnapshotDiskXML)


@dataclass
class SnapshotDisk:
    """One ``<disk name snapshot>`` of a snapshot, with the overlay file of an external one."""

    name: str
    snapshot: str = "internal"
    file: Optional[str] = None
    driver_type: Optional[str] = None


@dataclass
class SnapshotDef:
    """A parsed ``<domainsnapshot>``."""

    name: str = ""
    description: Optional[str] = None
    state: str = "nostate"
    parent: Optional[str] = None
    creation_time: int = 0
    memory: str = ""  # "" = not given
    memory_file: Optional[str] = None
    disks: list[SnapshotDisk] = field(default_factory=list)
    domain: Optional[DomainDef] = None

    @property
    def disk_only(self) -> bool:
        return self.state == "disk-snapshot"

    @property
    def external(self) -> bool:
        """libvirt's virDomainSnapshotIsExternal: external memory or any external disk."""
        return self.memory == "external" or any(d.snapshot == "external" for d in self.disks)

    def to_xml(self, *, secure: bool = False) -> str:
        """The document as libvirt writes it (two-space indent, the domain XML nested)."""
        x = SnapshotXML(etree.Element("domainsnapshot"))
        x.name = self.name
        if self.description is not None:
            x.description = self.description
        x.state = self.state
        if self.parent is not None:
            x.parent = self.parent
        x.creation_time = str(self.creation_time)
        if self.memory:
            x.memory = self.memory
            if self.memory_file:
                x.memory_file = self.memory_file
        for d in self.disks:
            disk = x.disks.append(etree.Element("disk", name=d.name, snapshot=d.snapshot))
            if d.driver_type:
                disk.driver_type = d.driver_type
            if d.file:
                disk.file = d.file
        root = x.element
        if self.domain is not None:
            dom = parse_xml(self.domain.to_xml(inactive=True, secure=not secure))
            insert_ordered(root, dom, SnapshotXML.ORDER["domainsnapshot"])
        etree.indent(root, space="  ")
        return to_text(root) + "\n"

    def copy(self) -> SnapshotDef:
        new = SnapshotDef(self.name, self.description, self.state, self.parent, self.creation_time, self.memory,
                          self.memory_file, [SnapshotDisk(d.name, d.snapshot, d.file, d.driver_type)
                                             for d in self.disks],
                          self.domain.copy() if self.domain is not None else None)
        return new


def _parse_disk(x: SnapshotDiskXML) -> SnapshotDisk:
    name = x.name
    if not name:
        raise _err(C.VIR_ERR_INTERNAL_ERROR, "missing name from disk snapshot element")
    mode = x.snapshot or ""
    path = x.file
    if not mode:
        mode = "external" if path else ""
    if mode and mode not in DISK_MODES:
        raise _err(C.VIR_ERR_XML_ERROR, f"unknown disk snapshot setting '{mode}' (use one of {', '.join(DISK_MODES)})")
    if path is not None and not path.startswith("/"):
        raise _err(C.VIR_ERR_XML_ERROR, f"disk snapshot image path '{path}' must be absolute")
    dtype = x.driver_type
    if dtype is not None and dtype not in ("qcow2", "raw", "qed"):
        raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown disk snapshot driver '{dtype}'")
    return SnapshotDisk(name, mode or "default", path, dtype)


def parse_snapshot(xml: Union[str, bytes], *, redefine: bool = False, now: int = 0,
                   hypervisor: Optional[str] = None) -> SnapshotDef:
    """Parse and check a ``<domainsnapshot>``; ``now`` (seconds) names an unnamed snapshot."""
    root = parse_xml(xml, "domainsnapshot", domain=C.VIR_FROM_DOMAIN_SNAPSHOT)
    check_root(root, "domainsnapshot", domain=C.VIR_FROM_DOMAIN_SNAPSHOT)
    x = SnapshotXML(root)
    s = SnapshotDef()
    name = x.name
    if name is None or not name.strip():
        if redefine:
            raise _err(C.VIR_ERR_XML_ERROR, "a redefined snapshot must have a name")
        name = str(now)
    s.name = check_name(name)
    s.description = (x.description or "") if x.has_description else None
    s.creation_time = now
    if redefine:
        ctime = x.creation_time
        if ctime is None and root.find("creationTime") is None:
            raise _err(C.VIR_ERR_INTERNAL_ERROR, "missing creationTime from existing snapshot")
        try:
            s.creation_time = int(ctime or "")
        except ValueError:
            raise _err(C.VIR_ERR_XML_ERROR, f"malformed creationTime '{ctime or ''}'") from None
        state = x.state
        if state is None and root.find("state") is None:
            raise _err(C.VIR_ERR_XML_ERROR, "missing state from existing snapshot")
        state = state or ""
        if state not in STATES:
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"Invalid state '{state}' in domain snapshot XML")
        s.state = state
        parent = x.parent
        s.parent = check_name(parent) if parent else None
        dom = root.find("domain")
        if dom is not None:
            s.domain = domain_from_element(deepcopy(dom), hypervisor=hypervisor)
    if root.find("memory") is not None:
        mode = x.memory or ""
        s.memory_file = x.memory_file
        if mode == "manual":
            raise _err(C.VIR_ERR_XML_ERROR, "'manual' memory snapshot mode not supported")
        if mode and mode not in MEMORY_MODES:
            raise _err(C.VIR_ERR_XML_ERROR, f"unknown memory snapshot setting '{mode}'")
        if s.memory_file and not mode:
            mode = "external"
        if s.memory_file and mode != "external":
            raise _err(C.VIR_ERR_XML_ERROR, f"memory filename '{s.memory_file}' requires external snapshot")
        if mode == "external" and not s.memory_file:
            raise _err(C.VIR_ERR_XML_ERROR, "external memory snapshots require a filename")
        if s.memory_file and not s.memory_file.startswith("/"):
            raise _err(C.VIR_ERR_XML_ERROR, f"memory snapshot file path ({s.memory_file}) must be absolute")
        s.memory = mode
    s.disks = [_parse_disk(d) for d in x.disks]
    return s


def read_snapshot_xml(xml: Union[str, bytes]) -> SnapshotXML:
    """The fields of a ``<domainsnapshot>`` as a driver wrote it (safe parser, no checks): for display."""
    root = parse_xml(xml, "domainsnapshot", domain=C.VIR_FROM_DOMAIN_SNAPSHOT)
    check_root(root, "domainsnapshot", domain=C.VIR_FROM_DOMAIN_SNAPSHOT)
    return SnapshotXML(root)


def snapshot_request_xml(name: str = "", description: str = "") -> str:
    """A ``<domainsnapshot>`` to create (only name and description; empty ones left out)."""
    x = SnapshotXML(etree.Element("domainsnapshot"))
    x.name = name or None
    x.description = description or None
    x.element.text = None  # compact: one line
    for el in x.element:
        el.tail = None
    return etree.tostring(x.element, encoding="unicode")


def align_disks(s: SnapshotDef, dom: DomainDef, *, default: str) -> None:
    """libvirt's virDomainSnapshotAlignDisks: one entry per domain disk, in domain order, checked."""
    by_target = {d.target: d for d in dom.disks if d.target}
    seen: dict[str, SnapshotDisk] = {}
    for sd in s.disks:
        if sd.name not in by_target:
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"no disk named '{sd.name}'")
        if sd.name in seen:
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"disk '{sd.name}' specified twice")
        seen[sd.name] = sd
    out: list[SnapshotDisk] = []
    for disk in dom.disks:
        if not disk.target:
            continue
        sd = seen.get(disk.target) or SnapshotDisk(disk.target, "default")
        if sd.snapshot == "default":
            ro = disk.readonly or disk.device in ("cdrom", "floppy")
            sd.snapshot = "no" if ro else default
        if sd.file and sd.snapshot != "external":
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED,
                       f"file '{sd.file}' for disk '{sd.name}' requires use of external snapshot mode")
        out.append(sd)
    s.disks = out


__all__ = ["SnapshotDef", "SnapshotDisk", "SnapshotXML", "SnapshotDiskXML", "read_snapshot_xml",
           "snapshot_request_xml", "parse_snapshot", "align_disks", "check_name", "STATES", "STATE_NAMES"]
