"""One domain's snapshot tree and the rules libvirt applies to it in every driver.

Listing filters follow libvirt 9.0's ``virDomainMomentObjListFilter`` / ``virDomainSnapshotObjListGetNames``;
deleting one snapshot reparents its children to its parent and moves "current" to the parent, as the
test and QEMU drivers do.  Drivers add the hypervisor work (disk images, QMP) around these calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, Optional

from .. import constants as C
from ..errors import DriverError

if TYPE_CHECKING:  # annotations only: loading a driver does not load the snapshot XML model
    from ..xml.domain import DomainDef
    from ..xml.snapshot import SnapshotDef

FROM = None  # the driver's own error domain, as libvirt's drivers report these

LIST_FLAGS = (C.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS | C.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES
              | C.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES | C.VIR_DOMAIN_SNAPSHOT_LIST_METADATA
              | C.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA | C.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE
              | C.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE | C.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY
              | C.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL | C.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL
              | C.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)
#: For listAllChildren the ROOTS bit means DESCENDANTS.
CHILD_FLAGS = LIST_FLAGS
DELETE_FLAGS = (C.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | C.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY
                | C.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY)
REVERT_FLAGS = (C.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | C.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
                | C.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE)


def not_found(name: str) -> DriverError:
    return DriverError(C.VIR_ERR_NO_DOMAIN_SNAPSHOT, f"no domain snapshot with matching name '{name}'", FROM)


class SnapshotTree:
    """The snapshots of one domain by name (creation order), with the current one."""

    def __init__(self) -> None:
        self.snaps: dict[str, SnapshotDef] = {}
        self.current: Optional[str] = None

    def __len__(self) -> int:
        return len(self.snaps)

    def get(self, name: str) -> SnapshotDef:
        s = self.snaps.get(name)
        if s is None:
            raise not_found(name)
        return s

    def children(self, name: Optional[str]) -> list[SnapshotDef]:
        return [s for s in self.snaps.values() if s.parent == name]

    def descendants(self, name: str) -> list[SnapshotDef]:
        """Every snapshot below ``name``, parents before children."""
        out: list[SnapshotDef] = []
        todo = [name]
        while todo:
            kids = self.children(todo.pop(0))
            out.extend(kids)
            todo.extend(k.name for k in kids)
        return out

    def topological(self) -> Iterator[SnapshotDef]:
        yield from self.descendants_of_roots()

    def descendants_of_roots(self) -> list[SnapshotDef]:
        out: list[SnapshotDef] = []
        for root in self.children(None):
            out.append(root)
            out.extend(self.descendants(root.name))
        orphans = [s for s in self.snaps.values() if s not in out]  # parent named but missing (redefine)
        return out + orphans

    def add(self, s: SnapshotDef, *, make_current: bool) -> None:
        """Insert a new snapshot (its parent already set by the caller)."""
        if s.name in self.snaps:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"domain moment {s.name} already exists",
                              C.VIR_FROM_DOMAIN)
        self.snaps[s.name] = s
        if make_current:
            self.current = s.name

    def redefine(self, s: SnapshotDef, *, make_current: bool) -> None:
        """REDEFINE: replace an existing snapshot's metadata (same state kind) or add a new one."""
        old = self.snaps.get(s.name)
        if s.parent is not None:
            if s.parent == s.name or (old is not None and s.parent in {d.name for d in self.descendants(s.name)}):
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"cannot set '{s.parent}' as parent of snapshot "
                                  f"'{s.name}': that would make a loop", FROM)
        if old is not None:
            if (old.state in ("shutoff", "disk-snapshot")) != (s.state in ("shutoff", "disk-snapshot")):
                raise DriverError(C.VIR_ERR_INVALID_ARG,
                                  f"cannot change between online and offline snapshot state in snapshot {s.name}",
                                  FROM)
            self.snaps[s.name] = s
        else:
            self.snaps[s.name] = s
        if make_current:
            self.current = s.name

    def remove(self, name: str) -> None:
        """Drop one snapshot: its children move to its parent; a current snapshot passes that to its parent."""
        s = self.snaps.pop(name)
        for child in self.snaps.values():
            if child.parent == name:
                child.parent = s.parent
        if self.current == name:
            self.current = s.parent

    def remove_descendants(self, name: str) -> list[SnapshotDef]:
        """Drop every descendant of ``name``; current among them moves to ``name``."""
        gone = self.descendants(name)
        for d in gone:
            self.snaps.pop(d.name, None)
            if self.current == d.name:
                self.current = name
        return gone

    def is_leaf(self, name: str) -> bool:
        return not any(s.parent == name for s in self.snaps.values())

    def select(self, candidates: Iterable[SnapshotDef], flags: int) -> list[SnapshotDef]:
        """Apply libvirt's list filters (LEAVES, METADATA, state, location) to ``candidates``."""
        leaves = flags & (C.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | C.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES)
        meta = flags & (C.VIR_DOMAIN_SNAPSHOT_LIST_METADATA | C.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA)
        states = flags & (C.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE | C.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE
                          | C.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY)
        where = flags & (C.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL | C.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL)
        out = []
        for s in candidates:
            if leaves == C.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES and not self.is_leaf(s.name):
                continue
            if leaves == C.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES and self.is_leaf(s.name):
                continue
            if meta == C.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA:
                continue  # every snapshot we list has metadata
            if states:
                kind = (C.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE if s.state == "shutoff"
                        else C.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY if s.state == "disk-snapshot"
                        else C.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE)
                if not states & kind:
                    continue
            if where:
                kind = C.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL if s.external else C.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL
                if not where & kind:
                    continue
            out.append(s)
        return out

    def list_all(self, flags: int) -> list[SnapshotDef]:
        pool: Iterable[SnapshotDef]
        if flags & C.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS:
            pool = self.children(None)
        elif flags & C.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL:
            pool = self.descendants_of_roots()
        else:
            pool = self.snaps.values()
        return self.select(pool, flags)

    def list_children(self, name: str, flags: int) -> list[SnapshotDef]:
        self.get(name)
        pool = self.descendants(name) if flags & C.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS else self.children(name)
        return self.select(pool, flags & ~C.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS)

    def parent_of(self, name: str) -> SnapshotDef:
        s = self.get(name)
        if s.parent is None or s.parent not in self.snaps:
            raise DriverError(C.VIR_ERR_NO_DOMAIN_SNAPSHOT, f"snapshot '{name}' does not have a parent", FROM)
        return self.snaps[s.parent]

    def current_def(self) -> SnapshotDef:
        if self.current is None or self.current not in self.snaps:
            raise DriverError(C.VIR_ERR_NO_DOMAIN_SNAPSHOT, "the domain does not have a current snapshot", FROM)
        return self.snaps[self.current]


def exclusive_revert(flags: int) -> None:
    both = C.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | C.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
    if flags & both == both:
        raise DriverError(C.VIR_ERR_INVALID_ARG,
                          "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' "
                          "are mutually exclusive", FROM)


def check_revert(snap: SnapshotDef, flags: int, dom_name: str, transient: bool) -> DomainDef:
    """libvirt's preconditions of a revert, the same in every driver (after :func:`exclusive_revert`).

    Returns the domain definition saved with the snapshot (what the revert restores)."""
    want_run = flags & (C.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | C.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)
    if transient and snap.state not in ("running", "paused") and not want_run:
        raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                          "transient domain needs to request run or pause to revert to inactive snapshot", FROM)
    if snap.domain is None:
        raise DriverError(C.VIR_ERR_SNAPSHOT_REVERT_RISKY,
                          f"snapshot '{snap.name}' lacks domain '{dom_name}' rollback info", FROM)
    return snap.domain


__all__ = ["SnapshotTree", "not_found", "exclusive_revert", "check_revert", "LIST_FLAGS", "DELETE_FLAGS",
           "REVERT_FLAGS"]
