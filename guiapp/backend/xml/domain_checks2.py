"""More of libvirt 9.0's domain rules: NUMA and tuning, disk secrets and encryption, graphics listens, devices.

Split from :mod:`domain_checks` to keep each module readable; :data:`CHECKS` is appended there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from .domain_checks import _drive_key, _int, _internal, _unsupported, _xml, child, disks_of

_FROM = C.VIR_FROM_DOMAIN


def _detail(msg: str) -> DriverError:
    return DriverError(C.VIR_ERR_XML_DETAIL, msg, _FROM)


def parse_cpuset(text: Optional[str]) -> Optional[set[int]]:
    """libvirt's bitmap syntax ('0-3,^2,8') -> the set; None when it does not parse."""
    if text is None:
        return None
    out: set[int] = set()
    neg: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        target = out
        if part.startswith("^"):
            target, part = neg, part[1:]
        lo, _, hi = part.partition("-")
        a, b = _int(lo), _int(hi) if hi else _int(lo)
        if a is None or b is None or a > b or a < 0:
            return None
        target.update(range(a, b + 1))
    return out - neg


def _check_numa(root: etree._Element) -> None:
    cells = root.findall("cpu/numa/cell")
    ids = [_int(c.get("id")) for c in cells]
    if cells and None not in ids and sorted(ids) != list(range(len(ids))):  # type: ignore[type-var]
        raise _xml("Exactly one 'cell' element per guest NUMA cell allowed, non-contiguous ranges or ranges not "
                   "starting from 0 are not allowed")
    mem = root.find("numatune/memory")
    memnodes = root.findall("numatune/memnode")
    if mem is not None:
        nodeset = mem.get("nodeset")
        if nodeset is not None and not parse_cpuset(nodeset):
            raise _unsupported(f"Invalid value of 'nodeset': {nodeset}")
        placement = mem.get("placement")
        if placement == "static" and nodeset is None:
            raise _unsupported("nodeset for NUMA memory tuning must be set if 'placement' is 'static'")
        if memnodes and (placement == "auto" or (placement is None and nodeset is None
                                                  and root.find("vcpu[@placement='auto']") is not None)):
            raise _unsupported("Per-node binding is not compatible with automatic NUMA placement.")
        if mem.get("mode") == "restrictive":
            for mn in memnodes:
                if mn.get("mode") != "restrictive":
                    raise _xml("'restrictive' mode is required in memnode element when mode is 'restrictive' in "
                               "memory element")
    for dimm in root.iterfind("devices/memory/target/node"):
        node = _int(dimm.text)
        if node is not None and node >= len(cells):
            raise _detail(f"can't add memory backend for guest node '{node}' as the guest has only "
                          f"'{len(cells)}' NUMA nodes configured")


def _check_cputune(root: etree._Element) -> None:
    seen: set[int] = set()
    for vs in root.iterfind("cputune/vcpusched"):
        vcpus = parse_cpuset(vs.get("vcpus")) or set()
        if seen & vcpus:
            raise _detail("'vcpusched' attributes 'vcpus' must not overlap")
        seen |= vcpus
    n_io = _int(root.findtext("iothreads")) or 0
    ids = {_int(t.get("id")) for t in root.iterfind("iothreadids/iothread")} or set(range(1, n_io + 1))
    for io in root.iterfind("cputune/iothreadsched"):
        for i in sorted(parse_cpuset(io.get("iothreads")) or set()):
            if i not in ids:
                raise _unsupported(f"Cannot find 'iothread' : {i}")


def _check_disk_secrets(root: etree._Element) -> None:
    for disk in disks_of(root):
        src = child(disk, "source")
        if src is None:
            continue
        if src.get("fdgroup") is None and next(disk.iter("auth", "encryption"), None) is None:
            continue  # the common case: nothing below can refuse this disk
        if src.get("fdgroup") is not None:
            target = disk.find("target")
            dev = target.get("dev") if target is not None else ""
            raise _unsupported(f"driver does not support FD passing for disk '{dev}' (drop the fdgroup attribute)")
        if disk.find("auth") is not None and src.find("auth") is not None:
            raise _unsupported("an <auth> definition already found for disk source")
        if disk.find("encryption") is not None and src.find("encryption") is not None:
            raise _unsupported("an <encryption> definition already found for disk source")
        for enc in (disk.find("encryption"), src.find("encryption")):
            if enc is not None and enc.get("format") == "luks" and enc.find("cipher") is not None:
                raise _unsupported("supplying <cipher> for domain disk definition is unnecessary")
        for auth in (disk.find("auth"), src.find("auth")):
            secret = auth.find("secret") if auth is not None else None
            if secret is None:
                continue
            stype = secret.get("type")
            if stype is None:
                raise _unsupported("unknown secret type '<null>'")
            proto = src.get("protocol")
            if proto == "iscsi" and stype != "iscsi" or proto == "rbd" and stype != "ceph":
                raise _unsupported(f"invalid secret type '{stype}'")


def _check_graphics(root: etree._Element) -> None:
    for g in root.iterfind("devices/graphics"):
        first = g.find("listen")
        if first is None:
            continue
        lt = first.get("type")
        if lt == "network" and not first.get("network"):
            raise _xml("'network' attribute is required for listen type 'network'")
        attr = g.get("listen")
        if attr is not None and lt == "address" and first.get("address") not in (None, attr):
            raise _unsupported(f"graphics 'listen' attribute '{attr}' must match 'address' attribute of first "
                               f"listen element (found '{first.get('address')}')")
        sock = g.get("socket")
        if sock is not None and lt == "socket" and first.get("socket") not in (None, sock):
            raise _unsupported(f"graphics 'socket' attribute '{sock}' must match 'socket' attribute of first "
                               f"listen element (found '{first.get('socket')}')")


def _check_misc_devices(root: etree._Element) -> None:
    for shm in root.iterfind("devices/shmem"):
        if shm.find("msi") is not None and shm.find("server") is None:
            raise _xml("msi option is only supported with a server")
    for addr in root.iterfind("devices//address[@type='usb']"):
        port = addr.get("port")
        if port is not None and len(port.split(".")) > 4:
            raise _internal("Cannot parse <address> 'port' attribute (at most 4 levels, e.g. '1.2.3.4')")
    ramfb = 0
    for hd in root.iterfind("devices/hostdev[@type='mdev']"):
        model = hd.get("model")
        addr = hd.find("address")
        if addr is not None:
            at = addr.get("type")
            if model == "vfio-pci" and at not in ("pci", None) or model == "vfio-ccw" and at not in ("ccw", None):
                raise _xml(f"Unsupported address type '{at}' with mediated device model '{model}'")
        src_addr = hd.find("source/address")
        if src_addr is not None and src_addr.get("uuid") is None:
            raise _unsupported("Missing 'uuid' attribute for element <address>")
        if hd.get("ramfb") == "on":
            ramfb += 1
    if ramfb > 1:
        raise _unsupported("Only one vgpu device can have 'ramfb' enabled")
    drives = {
        (a.get("controller") or "0", a.get("bus") or "0", a.get("target") or "0", a.get("unit") or "0")
        for a in root.iterfind("devices/hostdev[@type='scsi']/address[@type='drive']")
    }
    if drives:
        for disk in root.iterfind("devices/disk"):
            t = disk.find("target")
            key = _drive_key(t.get("bus") if t is not None else None, t.get("dev") if t is not None else None,
                             disk.find("address"))
            if key is not None and key[0] == "scsi" and tuple(str(k) for k in key[1:]) in drives:
                raise _unsupported(f"using disk target name '{t.get('dev')}' conflicts with SCSI host device "
                                   f"address controller='{key[1]}' bus='{key[2]}' target='{key[3]}' unit='{key[4]}'")


CHECKS2 = (_check_numa, _check_cputune, _check_disk_secrets, _check_graphics, _check_misc_devices)

#: The element tags each rule needs to refuse anything (see :data:`.domain_checks.TRIGGERS`).
TRIGGERS2: dict[Callable[[etree._Element], None], frozenset[str]] = {
    _check_numa: frozenset({"cell", "numatune", "node"}),
    _check_cputune: frozenset({"vcpusched", "iothreadsched"}),
    _check_disk_secrets: frozenset({"disk"}),
    _check_graphics: frozenset({"listen"}),
    _check_misc_devices: frozenset({"shmem", "address", "hostdev"}),
}
