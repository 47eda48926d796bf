"""Deleting an external snapshot of a QEMU domain by committing its overlay (libvirt 9.0's way).

Deleting external snapshot S merges the overlay S created (the writes made after S) into the image it was
taken on (``qemu-img commit`` shut off; a running domain uses :mod:`.snapcommit_live`); whatever sat on that
overlay (the domain's disk, or a child snapshot's overlay) is re-pointed at the merged image (``qemu-img
rebase -u``, safe: the overlay's data is now in it) and the overlay is removed.  Refused, with nothing
changed, where libvirt 9.0 refuses or where the merge would change an image something else still reads: the
overlay is no longer in the domain's chain (e.g. after a revert), the parent snapshot is internal, or another
snapshot or domain uses the image the overlay would be merged into.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any, Optional

from lxml import etree

from ... import constants as C
from ...errors import DriverError
from ...hoststorage.tools import run
from ...xml.domain import DomainDef
from ...xml.snapshot import SnapshotDef
from ..snaptree import SnapshotTree

E = C.VIR_FROM_QEMU
_HINT = "; delete with METADATA_ONLY (virsh --metadata) to drop the record and keep every image"


def _refuse(code: int, why: str) -> DriverError:
    return DriverError(code, why + _HINT, E)


def _source(defn: Optional[DomainDef], target: str) -> Optional[Any]:
    if defn is None:
        return None
    return next((d for d in defn.disks if d.target == target), None)


def _chain(path: str) -> list[str]:
    """The image files ``path`` reads, itself first (``qemu-img info --backing-chain``; [] when unreadable)."""
    try:
        out = run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path])
        return [os.path.realpath(str(i.get("filename", ""))) for i in json.loads(out)]
    except (DriverError, ValueError, AttributeError):
        return []


def _reads_through(top: str, base: str, overlay: str) -> bool:
    """Whether image ``top`` has ``base`` in its backing chain but not ``overlay``."""
    chain = _chain(top)
    return os.path.realpath(base) in chain and os.path.realpath(overlay) not in chain


def plan_commit(s: SnapshotDef, tree: SnapshotTree, current: DomainDef,
                other_domains: Iterable[DomainDef]) -> list[tuple[str, str, str, str, Optional[SnapshotDef]]]:
    """Check that deleting ``s`` can merge its overlays; returns (disk, overlay, base, base format, child or
    None when the domain's own disk sits on the overlay) per disk.  Raises without touching anything."""
    if s.domain is None:
        raise _refuse(C.VIR_ERR_OPERATION_INVALID, f"snapshot {s.name} has no domain definition to merge into")
    parent = tree.snaps.get(s.parent) if s.parent else None
    if parent is not None and not parent.external:
        raise _refuse(C.VIR_ERR_OPERATION_UNSUPPORTED,
                      "deleting external snapshot that has internal snapshot as parent not supported")
    others = [o for o in tree.snaps.values() if o.name != s.name]
    plan = []
    for sd in s.disks:
        if sd.snapshot != "external" or not sd.file:
            continue
        base = _source(s.domain, sd.name)
        if base is None or not base.source:
            raise _refuse(C.VIR_ERR_OPERATION_FAILED, f"failed to find disk '{sd.name}' in snapshot VM XML")
        on_top: list[Optional[SnapshotDef]] = [c for c in others if (d := _source(c.domain, sd.name)) is not None
                                               and d.source == sd.file]
        live = _source(current, sd.name)
        if live is not None and live.source == sd.file:
            on_top.append(None)
        elif not on_top:
            raise _refuse(C.VIR_ERR_OPERATION_FAILED, f"the overlay {sd.file} of snapshot {s.name} is no longer "
                          f"in disk {sd.name}'s chain (the domain was reverted away from it)")
        elif live is not None and live.source and _reads_through(live.source, base.source, sd.file):
            raise _refuse(C.VIR_ERR_OPERATION_UNSUPPORTED, f"disk {sd.name} of the domain ({live.source}) reads "
                          f"{base.source} without {sd.file} (it was reverted); merging snapshot {s.name}'s "
                          f"overlay into {base.source} would change what the domain sees")
        if len(on_top) != 1:
            raise _refuse(C.VIR_ERR_OPERATION_UNSUPPORTED, f"more than one image sits on the overlay {sd.file} "
                          f"of snapshot {s.name}; merging it would change what they see")
        users = [o.name for o in others if (d := _source(o.domain, sd.name)) is not None
                 and d.source == base.source]
        users += [f"domain {o.name}" for o in other_domains
                  for d in o.disks if d.source in (base.source, sd.file)]
        if users:
            raise _refuse(C.VIR_ERR_OPERATION_UNSUPPORTED, f"{base.source} is still needed as it is by "
                          f"{', '.join(users)}; merging snapshot {s.name}'s overlay into it would change it")
        plan.append((sd.name, sd.file, base.source, base.format or "raw", on_top[0]))
    if not plan:
        raise _refuse(C.VIR_ERR_OPERATION_INVALID, f"snapshot {s.name} has no external disk to merge")
    return plan


def commit(plan: list[tuple[str, str, str, str, Optional[SnapshotDef]]]) -> tuple[dict[str, tuple[str, str]],
                                                                                list[SnapshotDef]]:
    """Merge each overlay into its base and re-point what sat on it; then remove the overlays.

    Returns the domain's disk moves (target -> (base, format)) and the child snapshots whose saved
    definition now names the base (the caller stores both)."""
    moves: dict[str, tuple[str, str]] = {}
    children: list[SnapshotDef] = []
    for disk, overlay, base, fmt, child in plan:
        run(["qemu-img", "commit", "-q", "-f", "qcow2", overlay])
        if child is None:
            moves[disk] = (base, fmt)
            continue
        sd = next((d for d in child.disks if d.name == disk and d.snapshot == "external" and d.file), None)
        if sd is not None:
            run(["qemu-img", "rebase", "-u", "-f", "qcow2", "-F", fmt, "-b", base, str(sd.file)])
        set_source(child.domain, disk, base, fmt)
        children.append(child)
    remove_overlays(plan)
    return moves, children


def remove_overlays(plan: list[tuple[str, str, str, str, Optional[SnapshotDef]]]) -> None:
    """Delete the overlay files of a carried-out commit ``plan`` (one already gone is fine)."""
    for _disk, overlay, _base, _fmt, _child in plan:
        try:
            os.unlink(overlay)
        except FileNotFoundError:
            pass


def set_source(defn: Optional[DomainDef], target: str, path: str, fmt: str) -> None:
    """Point disk ``target`` of ``defn`` (in place, on its XML tree) at ``path`` in format ``fmt``."""
    d = _source(defn, target)
    if d is None:
        return
    d.source = path  # through the property: drops the definition's cached formatted text
    drv = d.element.find("driver")
    if drv is None:
        drv = etree.Element("driver", name="qemu")
        d.element.insert(0, drv)
    drv.set("type", fmt)


__all__ = ["commit", "plan_commit", "remove_overlays", "set_source"]
