"""Storage pool and volume XML in libvirt's format (``<pool>``, ``<volume>``): parse, check, format.

:func:`parse_pool` / :func:`parse_volume` read a document through the safe parser
and return a :class:`PoolDef` / :class:`VolumeDef`; ``format()`` writes libvirt's
layout (sizes in ``unit='bytes'``, children in libvirt's order, single quotes), so
``parse(format(x))`` gives ``x`` back.  Understood::

    <pool type='dir|logical'>
      <name/> <uuid/> <capacity/> <allocation/> <available/>
      <source> <device path='/dev/sdb1'/>… <name>VG</name> <format type='lvm2'/> </source>
      <target> <path/> <permissions> <mode/> <owner/> <group/> <label/> </permissions> </target>
    </pool>

    <volume type='file|block'>
      <name/> <key/> <capacity unit='G'/> <allocation/>
      <target> <path/> <format type='raw|qcow2|…'/> <permissions/> </target>
      <backingStore> <path/> <format type='…'/> <permissions/> </backingStore>
    </volume>

Names of volumes become file names: a name with ``/``, a NUL, a control character
or that is ``.``/``..`` is refused here, before any driver sees it.  Errors are
``VIR_ERR_XML_ERROR`` (``VIR_ERR_NO_NAME`` for a missing name) in ``VIR_FROM_STORAGE``.
"""

from __future__ import annotations

import os
import re
import uuid as _uuid
from dataclasses import dataclass, field, replace
from typing import Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from .domain import format_uuid, parse_uuid
from .domain_values import UNIT_SCALE
from .props import AttrListProp, StrProp, XMLChildList, XMLNode, XPath
from .safe import check_root, parse_xml
from .serialize import to_text

_FROM = C.VIR_FROM_STORAGE

#: Pool types this project implements; the others are libvirt's but need hardware or network storage.
POOL_TYPES = ("dir", "logical")
#: Volume formats a dir pool creates with qemu-img (others are shown when found).
CREATE_FORMATS = ("raw", "qcow2")
KNOWN_FORMATS = ("raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vpc", "vhdx", "iso", "dmg", "cow", "bochs",
                 "cloop", "luks", "none")

_SIZE_UNITS = {"": 1, **UNIT_SCALE}  # volume sizes: bytes without a unit
_MAX_SIZE = 2 ** 63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_VG_NAME = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}")
_LABEL = re.compile(r"[^\x00-\x1f\x7f]{1,1024}")


def xml_error(detail: str, code: int = C.VIR_ERR_XML_ERROR) -> DriverError:
    return DriverError(code, detail, _FROM)


def parse_size(value: Optional[str], unit: Optional[str], what: str) -> int:
    """``<capacity unit='G'>5</capacity>`` -> bytes (no unit: bytes, as libvirt for storage)."""
    if value is None or not value.strip():
        raise xml_error(f"missing {what} value: write e.g. <{what} unit='GiB'>10</{what}>")
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        raise xml_error(f"malformed {what} '{value}': a whole non-negative number is needed "
                        f"(with an optional unit such as unit='GiB')")
    scale = _SIZE_UNITS.get((unit or "").strip().lower())
    if scale is None:
        raise xml_error(f"unknown unit '{unit}' for <{what}>: use bytes, KiB, MiB, GiB, TiB (or KB, MB, GB)")
    size = int(text) * scale
    if size > _MAX_SIZE:
        raise xml_error(f"{what} {value} {unit or 'bytes'} is too large: numerical overflow")
    return size


def check_volume_name(name: str) -> str:
    """A volume name is a file name in its pool: no '/', NUL or control characters, not '.' or '..'."""
    if not name:
        raise xml_error("missing volume name element: write <name>disk.qcow2</name>")
    if "/" in name or name in (".", "..") or _CONTROL.search(name) or len(name.encode()) > 255:
        raise xml_error(f"volume name {name!r} is not usable as a file name: it must not contain '/' or "
                        f"control characters, must not be '.' or '..' and must be at most 255 bytes")
    return name


def check_pool_name(name: str) -> str:
    if not name:
        raise xml_error("missing pool name element: write <name>mypool</name>", C.VIR_ERR_NO_NAME)
    if "/" in name or name in (".", "..") or _CONTROL.search(name) or len(name) > 255:
        raise xml_error(f"pool name {name!r} must not contain '/' or control characters and must not be "
                        f"'.' or '..'")
    return name


def check_vg_name(name: str) -> str:
    """An LVM volume group name as lvm(8) accepts it (and never an option such as '-ff')."""
    if not _VG_NAME.fullmatch(name) or name in (".", "..") or name.startswith(("snapshot", "pvmove")):
        raise xml_error(f"volume group name {name!r} is not valid for LVM: use letters, digits and + _ . - "
                        f"(not starting with '-'), at most 127 characters")
    return name


def check_abs_path(path: str, what: str) -> str:
    """An absolute, normalized path without control characters (it reaches other programs' argv)."""
    if not path or not path.startswith("/") or _CONTROL.search(path):
        raise xml_error(f"{what} {path!r} must be an absolute path without control characters")
    return normpath(path)


def normpath(path: str) -> str:
    """libvirt's virFileSanitizePath: collapse '//' and drop a trailing '/'."""
    out = re.sub(r"/+", "/", path)
    return out[:-1] if len(out) > 1 and out.endswith("/") else out


class _Text(StrProp):
    """Element text stripped; "" for an element without text, None when absent (libvirt's reading)."""

    __slots__ = ()

    def load(self, obj: XMLNode) -> Optional[str]:
        el = self.path.find(obj.element)
        return None if el is None else (el.text or "").strip()


class _PermsXML(XMLNode):
    """``<permissions>`` (mode in octal, numeric owner/group, label)."""

    __slots__ = ()
    ORDER = {"permissions": ("mode", "owner", "group", "label")}
    mode = _Text("mode")
    owner = _Text("owner")
    group = _Text("group")
    label = _Text("label")


class _PoolXML(XMLNode):
    """The fields of a ``<pool>`` document (read by :func:`parse_pool`, written by ``PoolDef.format``)."""

    __slots__ = ()
    ORDER = {"pool": ("name", "uuid", "capacity", "allocation", "available", "source", "target"),
             "source": ("device", "name", "format"), "target": ("path", "permissions")}
    type = StrProp("@type")
    name = _Text("name")
    uuid = _Text("uuid")
    devices = AttrListProp("source/device/@path")
    source_name = _Text("source/name")
    source_format = StrProp("source/format/@type")
    target_path = _Text("target/path")
    capacity = _Text("capacity")
    allocation = _Text("allocation")
    available = _Text("available")
    perms = XMLChildList("target/permissions", _PermsXML)


class _VolumeXML(XMLNode):
    """The fields of a ``<volume>`` document (read by :func:`parse_volume`, written by ``VolumeDef.to_xml``)."""

    __slots__ = ()
    ORDER = {"volume": ("name", "key", "capacity", "allocation", "target", "backingStore"),
             "target": ("path", "format", "permissions"), "backingStore": ("path", "format", "permissions")}
    type = StrProp("@type")
    name = _Text("name")
    key = _Text("key")
    capacity = _Text("capacity")
    allocation = _Text("allocation")
    path = _Text("target/path")
    format = StrProp("target/format/@type")
    perms = XMLChildList("target/permissions", _PermsXML)
    backing_path = _Text("backingStore/path")
    backing_format = StrProp("backingStore/format/@type")
    backing_perms = XMLChildList("backingStore/permissions", _PermsXML)


def _write_sized(x: XMLNode, tag: str, value: int) -> None:
    el = XPath(tag).make(x.element, x.ORDER)
    el.text = str(value)
    el.set("unit", "bytes")


def _write_perms(x: XMLNode, perms: XMLChildList[_PermsXML], p: Permissions) -> None:
    if p.empty():
        return
    node = perms.__get__(x, type(x)).append(etree.Element("permissions"))
    if p.mode is not None:
        node.mode = f"0{p.mode:o}"
    if p.owner is not None:
        node.owner = str(p.owner)
    if p.group is not None:
        node.group = str(p.group)
    if p.label is not None:
        node.label = p.label


def _finish(x: XMLNode, *always: str) -> str:
    """Indent like libvirt; elements in ``always`` are written open/closed even when empty."""
    etree.indent(x.element, space="  ")
    for tag in always:
        el = x.element.find(tag)
        if el is not None and not len(el) and el.text is None:
            el.text = "\n  "
    return to_text(x.element) + "\n"


@dataclass(frozen=True)
class Permissions:
    mode: Optional[int] = None
    owner: Optional[int] = None  # None (or -1 in XML): unchanged
    group: Optional[int] = None
    label: Optional[str] = None

    def empty(self) -> bool:
        return self.mode is None and self.owner is None and self.group is None and self.label is None


@dataclass(frozen=True)
class PoolDef:
    type: str
    name: str
    uuid: bytes
    target_path: str
    devices: tuple[str, ...] = ()
    source_name: Optional[str] = None
    source_format: Optional[str] = None
    perms: Permissions = field(default_factory=Permissions)
    capacity: int = 0
    allocation: int = 0
    available: int = 0

    def with_sizes(self, capacity: int, allocation: int, available: int) -> PoolDef:
        return replace(self, capacity=capacity, allocation=allocation, available=available)

    def format(self) -> str:
        x = _PoolXML(etree.Element("pool", type=self.type))
        x.name = self.name
        x.uuid = format_uuid(self.uuid)
        _write_sized(x, "capacity", self.capacity)
        _write_sized(x, "allocation", self.allocation)
        _write_sized(x, "available", self.available)
        XPath("source").make(x.element, x.ORDER)
        x.devices = self.devices
        x.source_name = self.source_name
        x.source_format = self.source_format
        x.target_path = self.target_path
        _write_perms(x, _PoolXML.perms, self.perms)
        return _finish(x, "source")


@dataclass(frozen=True)
class VolumeDef:
    name: str
    type: str = "file"
    key: Optional[str] = None
    capacity: Optional[int] = None  # None: not given (allowed with a backing store / createXMLFrom)
    allocation: Optional[int] = None
    path: Optional[str] = None
    format: Optional[str] = None
    perms: Permissions = field(default_factory=Permissions)
    backing_path: Optional[str] = None
    backing_format: Optional[str] = None
    backing_perms: Permissions = field(default_factory=Permissions)

    def to_xml(self) -> str:
        x = _VolumeXML(etree.Element("volume", type=self.type))
        x.name = self.name
        x.key = self.key
        _write_sized(x, "capacity", self.capacity or 0)
        _write_sized(x, "allocation", self.allocation or 0)
        XPath("target").make(x.element, x.ORDER)
        x.path = self.path
        x.format = self.format
        _write_perms(x, _VolumeXML.perms, self.perms)
        if self.backing_path is not None:
            x.backing_path = self.backing_path
            x.backing_format = self.backing_format
            _write_perms(x, _VolumeXML.backing_perms, self.backing_perms)
        return _finish(x, "target")


def _parse_perms(x: Optional[_PermsXML]) -> Permissions:
    if x is None:
        return Permissions()
    mode_t, owner_t, group_t, label = x.mode, x.owner, x.group, x.label
    mode = owner = group = None
    if mode_t:
        try:
            mode = int(mode_t, 8)
        except ValueError:
            raise xml_error(f"malformed octal mode '{mode_t}' in <permissions>: write e.g. <mode>0600</mode>") \
                from None
        if not 0 <= mode <= 0o7777:
            raise xml_error(f"mode '{mode_t}' in <permissions> is out of range (0 to 07777)")
    for what, txt in (("owner", owner_t), ("group", group_t)):
        if txt:
            try:
                val = int(txt, 10)
            except ValueError:
                raise xml_error(f"malformed {what} '{txt}' in <permissions>: a numeric id is needed") from None
            if val < -1 or val > 2 ** 32 - 2:
                raise xml_error(f"{what} '{txt}' in <permissions> is out of range")
            if what == "owner":
                owner = None if val == -1 else val
            else:
                group = None if val == -1 else val
    if label is not None and not _LABEL.fullmatch(label):
        raise xml_error("security label in <permissions> must be 1-1024 characters without control characters")
    return Permissions(mode, owner, group, label or None)


def _opt_size(root: etree._Element, tag: str) -> Optional[int]:
    el = root.find(tag)
    if el is None:
        return None
    return parse_size(el.text, el.get("unit"), tag)


# ------------------------------------------------------------------------- pools
def parse_pool(xml: str, *, new_uuid: bool = True) -> PoolDef:
    """Parse and check a ``<pool>`` document (a missing UUID is generated)."""
    root = parse_xml(xml, "storage_pool_definition", domain=_FROM)
    check_root(root, "pool", domain=_FROM)
    ptype = root.get("type")
    if not ptype:
        raise xml_error("storage pool missing type attribute: write <pool type='dir'> or <pool type='logical'>")
    if ptype not in POOL_TYPES:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED if ptype in _OTHER_POOLS else C.VIR_ERR_XML_ERROR,
                          f"storage pool type '{ptype}' is not supported here: use one of "
                          f"{', '.join(POOL_TYPES)}", _FROM)
    x = _PoolXML(root)
    name = check_pool_name(x.name or (x.source_name if ptype == "logical" else "") or "")
    uuid_text = x.uuid
    if uuid_text:
        uuid = parse_uuid(uuid_text)
    elif new_uuid:
        uuid = _uuid.uuid4().bytes
    else:
        raise xml_error("missing uuid element for pool")
    devices = tuple(check_abs_path(d.get("path") or "", "source device path")
                    for d in XPath("source/device").find_all(root))
    perms = _parse_perms(x.perms[0] if x.perms else None)
    path_text = x.target_path
    if ptype == "dir":
        if not path_text:
            raise xml_error("missing storage pool target path: write <target><path>/some/dir</path></target>")
        return PoolDef("dir", name, uuid, check_abs_path(path_text, "pool target path"), devices=devices,
                       perms=perms, capacity=_opt_size(root, "capacity") or 0,
                       allocation=_opt_size(root, "allocation") or 0, available=_opt_size(root, "available") or 0)
    vg = check_vg_name(x.source_name or name)
    fmt = x.source_format
    if fmt not in (None, "lvm2", "auto"):
        raise xml_error(f"unknown logical pool source format '{fmt}': use lvm2")
    return PoolDef("logical", name, uuid, f"/dev/{vg}", devices=devices, source_name=vg, source_format="lvm2",
                   perms=perms, capacity=_opt_size(root, "capacity") or 0,
                   allocation=_opt_size(root, "allocation") or 0, available=_opt_size(root, "available") or 0)


_OTHER_POOLS = ("fs", "netfs", "disk", "iscsi", "iscsi-direct", "scsi", "mpath", "rbd", "sheepdog", "gluster",
                "zfs", "vstorage")


# ------------------------------------------------------------------------ volumes
def parse_volume(xml: str, pool_type: str = "dir") -> VolumeDef:
    """Parse and check a ``<volume>`` document as a volume of a ``pool_type`` pool would be."""
    root = parse_xml(xml, "storage_volume_definition", domain=_FROM)
    check_root(root, "volume", domain=_FROM)
    x = _VolumeXML(root)
    name = check_volume_name(x.name or "")
    vtype = root.get("type") or ("block" if pool_type == "logical" else "file")
    if vtype not in ("file", "block", "dir", "network", "netdir", "ploop"):
        raise xml_error(f"unknown volume type '{vtype}'")
    cap_el = root.find("capacity")
    capacity = None if cap_el is None else parse_size(cap_el.text, cap_el.get("unit"), "capacity")
    allocation = _opt_size(root, "allocation")
    path = x.path or None
    fmt = x.format
    if pool_type == "dir":
        fmt = fmt or "raw"
        if fmt not in KNOWN_FORMATS:
            raise xml_error(f"unknown volume format type '{fmt}': use one of {', '.join(CREATE_FORMATS)}")
    elif fmt is not None and fmt not in ("none", "raw"):
        raise xml_error(f"volume format '{fmt}' is not available in a {pool_type} pool (logical volumes are raw)")
    else:
        fmt = None
    perms = _parse_perms(x.perms[0] if x.perms else None)
    backing = root.find("backingStore")
    bpath = bfmt = None
    bperms = Permissions()
    if backing is not None:
        bpath = x.backing_path or None
        if bpath is not None:
            bpath = check_abs_path(bpath, "backing store path")
        bfmt = x.backing_format
        if bfmt is not None and bfmt not in KNOWN_FORMATS:
            raise xml_error(f"unknown backing store format type '{bfmt}'")
        bperms = _parse_perms(x.backing_perms[0] if x.backing_perms else None)
    return VolumeDef(name=name, type=vtype, key=x.key or None, capacity=capacity,
                     allocation=allocation, path=path, format=fmt, perms=perms, backing_path=bpath,
                     backing_format=bfmt, backing_perms=bperms)


def volume_path(pool: PoolDef, name: str) -> str:
    """Where volume ``name`` of ``pool`` lives (the name is checked again: it is about to become a path)."""
    return os.path.join(pool.target_path, check_volume_name(name))


__all__ = ["PoolDef", "VolumeDef", "Permissions", "parse_pool", "parse_volume", "parse_size", "volume_path",
           "check_volume_name", "check_vg_name", "check_abs_path", "POOL_TYPES", "CREATE_FORMATS"]
