"""Clone a domain like ``virt-clone``, through the public API only.

The clone gets a new name, a new UUID, new MAC addresses (``52:54:00:…``, none equal to the
source's) and no generated interface target names.  Each writable, non-shareable disk (cdroms,
floppies, ``<readonly/>`` and ``<shareable/>`` disks are always shared) is handled by ``storage``:

* ``copy``   — a full copy: a new volume in the source volume's pool made with ``createXMLFrom``;
* ``linked`` — a qcow2 volume in the same pool whose backing file is the source (``<backingStore>``);
* ``share``  — the clone uses the same disk (as virt-clone's ``--preserve-data``).

A disk that is not a volume of any pool is copied with ``qemu-img`` beside its source only on a
local QEMU or Xen connection (the files are the host's); elsewhere the error says to use a pool or
``share``.  New volumes and files are named ``<clone name><suffix of the source>`` (``-2``, ``-3``…
when taken).  A running source is refused unless paused, or nothing needs copying (as virt-clone).
The clone's first config-history version names its origin.  On failure every volume or file made
is removed again and nothing is defined.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from lxml import etree

from . import constants as C
from .errors import DriverError, libvirtError
from .history_api import operation
from .uuids import format_uuid, new_uuid
from .validate import shown
from .xml.safe import parse_xml

STORAGE_MODES = ("copy", "linked", "share")
#: progress(done, total, what)
Progress = Callable[[int, int, str], None]

_SUFFIX = re.compile(r"(\.[A-Za-z0-9]{1,8})\Z")


@dataclass
class DiskPlan:
    """What happens to one disk of the source."""

    target: str
    source: str
    mode: str  # copy | linked | share
    fmt: str = "raw"
    volume: Any = None  # the source virStorageVol, when the disk is one
    new_path: str = ""


@dataclass
class ClonePlan:
    """The clone's XML before its disks are made, and the disks' plans."""

    name: str
    uuid: str
    root: Any
    disks: list[DiskPlan] = field(default_factory=list)
    macs: list[str] = field(default_factory=list)


def _fail(code: int, detail: str) -> DriverError:
    return DriverError(code, detail, C.VIR_FROM_DOMAIN)


def check_clone_name(name: Any) -> str:
    """A domain name that is also safe as a file and volume name (disks are named after it)."""
    if not isinstance(name, str) or not name.strip():
        raise _fail(C.VIR_ERR_INVALID_ARG, "the clone needs a name")
    bad = sorted({c for c in name if ord(c) < 32 or ord(c) == 127 or c == "/"})
    if bad:
        raise _fail(C.VIR_ERR_INVALID_ARG, f"refusing the clone name {shown(name)}: it contains "
                    + " ".join(shown(c) for c in bad) + " (its disks are named after it)")
    if name[0] in ".-" or name != name.strip():
        raise _fail(C.VIR_ERR_INVALID_ARG, f"refusing the clone name {shown(name)}: it may not start with '.' "
                                           f"or '-' nor start or end with spaces (its disks are named after it)")
    if len(name.encode("utf-8", "surrogatepass")) > 200:
        raise _fail(C.VIR_ERR_INVALID_ARG, "the clone name is longer than 200 bytes")
    return name


def _new_mac(taken: set[str]) -> str:
    rng = random.SystemRandom()
    while True:
        mac = "52:54:00:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
        if mac not in taken:
            taken.add(mac)
            return mac


def _vol_format(vol: Any) -> str:
    root = parse_xml(vol.XMLDesc(0), "volume")
    fmt = root.find("target/format")
    return (fmt.get("type") if fmt is not None else None) or "raw"


def _find_volume(conn: Any, disk: Any) -> Any:
    """The virStorageVol a ``<disk>`` uses, or None (a file or device no active pool holds).

    Searched by listing (not by a failing lookup, which the default error handler would print)."""
    src = disk.find("source")
    if src is None:
        return None
    if disk.get("type") == "volume":
        pool = conn.storagePoolLookupByName(src.get("pool") or "")
        return pool.storageVolLookupByName(src.get("volume") or "")
    path = src.get("file") or src.get("dev")
    if not path:
        return None
    for pool in conn.listAllStoragePools(C.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        for vol in pool.listAllVolumes(0):
            if vol.path() == path:
                return vol
    return None


def plan(conn: Any, src: Any, name: str, storage: str = "copy") -> ClonePlan:
    """Check the request and work out the clone's XML and what to do with each disk (changes nothing)."""
    check_clone_name(name)
    if storage not in STORAGE_MODES:
        raise _fail(C.VIR_ERR_INVALID_ARG, f"storage must be one of {', '.join(STORAGE_MODES)}, not {shown(storage)}")
    root = parse_xml(src.XMLDesc(C.VIR_DOMAIN_XML_SECURE | C.VIR_DOMAIN_XML_INACTIVE))
    for attr in ("id",):
        root.attrib.pop(attr, None)
    root.find("name").text = name
    uuid_el = root.find("uuid")
    if uuid_el is None:
        uuid_el = etree.SubElement(root, "uuid")
    uuid = format_uuid(new_uuid())
    uuid_el.text = uuid
    result = ClonePlan(name, uuid, root)
    taken = {(m.get("address") or "").lower() for m in root.iterfind("devices/interface/mac")}
    for nic in root.iterfind("devices/interface"):
        mac = nic.find("mac")
        if mac is None:
            mac = etree.SubElement(nic, "mac")
        mac.set("address", _new_mac(taken))
        result.macs.append(mac.get("address"))
        target = nic.find("target")
        if target is not None and target.get("managed") != "no":
            nic.remove(target)  # libvirt names the tap again (vnetN); a fixed name would clash with the source
    for disk in root.iterfind("devices/disk"):
        tgt = disk.find("target")
        dev = tgt.get("dev") if tgt is not None else "?"
        src_el = disk.find("source")
        path = "" if src_el is None else (src_el.get("file") or src_el.get("dev") or src_el.get("volume") or "")
        fixed = (disk.get("device") in ("cdrom", "floppy") or disk.find("readonly") is not None
                 or disk.find("shareable") is not None or not path or storage == "share")
        driver = disk.find("driver")
        fmt = (driver.get("type") if driver is not None else None) or "raw"
        result.disks.append(DiskPlan(dev or "?", path, "share" if fixed else storage, fmt))
    copying = any(d.mode != "share" for d in result.disks)
    state = src.state()[0]
    if copying and state not in (C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_PAUSED):
        raise _fail(C.VIR_ERR_OPERATION_INVALID,
                    f"domain '{src.name()}' is running: its disks cannot be copied consistently; pause or shut it "
                    f"down first, or clone with storage 'share'")
    for d, disk in zip(result.disks, root.iterfind("devices/disk"), strict=True):
        if d.mode != "share":
            d.volume = _find_volume(conn, disk)
            if d.volume is not None:
                d.fmt = _vol_format(d.volume)
            elif disk.get("type") not in ("file", None):
                raise _fail(C.VIR_ERR_OPERATION_INVALID,
                            f"disk {d.target} ({shown(d.source)}) is a {disk.get('type')} device in no storage "
                            f"pool: only files and pool volumes can be copied; clone with storage 'share'")
            elif not _local_files(conn):
                raise _fail(C.VIR_ERR_OPERATION_INVALID,
                            f"disk {d.target} ({shown(d.source)}) is not a volume of a storage pool on this "
                            f"connection, so it cannot be copied here; put it in a pool, or clone with storage "
                            f"'share'")
            elif not os.path.isabs(d.source):
                raise _fail(C.VIR_ERR_INVALID_ARG, f"disk {d.target}: source {shown(d.source)} is not an "
                                                   f"absolute path")
    return result


def _local_files(conn: Any) -> bool:
    """The connection's disk paths are this host's files (guiapp's own QEMU or Xen driver, not remote)."""
    module = type(getattr(conn, "_driver", None)).__module__
    return module.startswith(("guiapp.backend.drivers.qemu.", "guiapp.backend.drivers.xen."))


def _raise(conn: Any, exc: DriverError) -> None:
    """Report ``exc`` as the connection reports errors (only libvirtError leaves the API)."""
    raise conn._fail(exc, C.VIR_FROM_DOMAIN) from None


def _free_name(taken: Callable[[str], bool], base: str, suffix: str) -> str:
    for n in range(1, 1000):
        cand = f"{base}{'' if n == 1 else f'-{n}'}{suffix}"
        if not taken(cand):
            return cand
    raise _fail(C.VIR_ERR_OPERATION_FAILED, f"no free name for a copy of {base}{suffix}")


def _make_volume(d: DiskPlan, name: str) -> tuple[Any, str]:
    """Copy or link a pool volume; returns (new volume, its path)."""
    pool = d.volume.storagePoolLookupByVolume()
    m = _SUFFIX.search(d.volume.name())
    suffix = m.group(1) if m else ""
    if d.mode == "linked" and suffix in (".img", ".raw", "") and d.fmt != "qcow2":
        suffix = ".qcow2"
    names = {v.name() for v in pool.listAllVolumes(0)}
    vname = _free_name(names.__contains__, name, suffix)
    cap = d.volume.info()[1]
    vol = etree.Element("volume")
    etree.SubElement(vol, "name").text = vname
    etree.SubElement(vol, "capacity", unit="bytes").text = str(cap)
    fmt = "qcow2" if d.mode == "linked" else d.fmt
    etree.SubElement(etree.SubElement(vol, "target"), "format", type=fmt)
    if d.mode == "linked":
        bs = etree.SubElement(vol, "backingStore")
        etree.SubElement(bs, "path").text = d.volume.path()
        etree.SubElement(bs, "format", type=d.fmt)
        new = pool.createXML(etree.tostring(vol, encoding="unicode"), 0)
    else:
        new = pool.createXMLFrom(etree.tostring(vol, encoding="unicode"), d.volume, 0)
    return new, new.path()


def _make_file(d: DiskPlan, name: str) -> str:
    """Copy or link a file no pool holds, beside it (local QEMU/Xen only)."""
    from .hoststorage.tools import run

    folder, base = os.path.split(d.source)
    m = _SUFFIX.search(base)
    suffix = m.group(1) if m else ""
    if d.mode == "linked" and d.fmt != "qcow2":
        suffix = ".qcow2"
    new_name = _free_name(lambda n: os.path.lexists(os.path.join(folder, n)), name, suffix)
    dest = os.path.join(folder, new_name)
    try:
        os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    except OSError as exc:
        raise _fail(C.VIR_ERR_OPERATION_FAILED, f"cannot create {dest}: {exc.strerror}") from None
    try:
        if d.mode == "linked":
            size = run(["qemu-img", "info", "--output=json", "-f", d.fmt, "--", d.source])
            import json
            virtual = int(json.loads(size)["virtual-size"])
            run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", d.source, "-F", d.fmt, "--", dest, str(virtual)])
        else:
            run(["qemu-img", "convert", "-q", "-f", d.fmt, "-O", d.fmt, "--", d.source, dest])
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(dest)
        raise
    return dest


def _point_disk(disk: Any, d: DiskPlan, new_vol: Any) -> None:
    src = disk.find("source")
    if disk.get("type") == "volume" and new_vol is not None:
        src.set("volume", new_vol.name())
    elif src.get("dev") is not None and disk.get("type") == "block":
        src.set("dev", d.new_path)
    else:
        disk.set("type", "file")
        for a in list(src.attrib):
            if a not in ("startupPolicy",):
                del src.attrib[a]
        src.set("file", d.new_path)
    if d.mode == "linked":
        drv = disk.find("driver")
        if drv is None:
            drv = etree.SubElement(disk, "driver", name="qemu")
            disk.insert(0, drv)
        drv.set("type", "qcow2")
        bs = disk.find("backingStore")
        if bs is not None:
            disk.remove(bs)
    elif disk.find("backingStore") is not None:
        disk.remove(disk.find("backingStore"))


def clone(conn: Any, src: Any, name: str, storage: str = "copy", progress: Optional[Progress] = None) -> Any:
    """Clone ``src`` as ``name`` (see the module docstring); returns the new, defined (not started) virDomain."""
    try:
        p = plan(conn, src, name, storage)
    except DriverError as exc:
        _raise(conn, exc)
    made_vols: list[Any] = []
    made_files: list[str] = []
    work = [d for d in p.disks if d.mode != "share"]
    try:
        disks = list(p.root.iterfind("devices/disk"))
        for i, (d, disk) in enumerate((d, disk) for d, disk in zip(p.disks, disks, strict=True) if d.mode != "share"):
            if progress is not None:
                progress(i, len(work), f"{'linking' if d.mode == 'linked' else 'copying'} disk {d.target}")
            new_vol = None
            if d.volume is not None:
                new_vol, d.new_path = _make_volume(d, name)
                made_vols.append(new_vol)
            else:
                try:
                    d.new_path = _make_file(d, name)
                except DriverError as exc:
                    _raise(conn, exc)
                made_files.append(d.new_path)
            _point_disk(disk, d, new_vol)
        if progress is not None:
            progress(len(work), len(work), "defining the clone")
        with operation(f"clone of {src.name()} ({src.UUIDString()})"):
            return conn.defineXML(etree.tostring(p.root, encoding="unicode"))
    except BaseException:
        for vol in made_vols:
            with contextlib.suppress(libvirtError):
                vol.delete(0)
        for path in made_files:
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise


__all__ = ["STORAGE_MODES", "DiskPlan", "ClonePlan", "check_clone_name", "plan", "clone"]
