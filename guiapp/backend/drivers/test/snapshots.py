"""Snapshots of the in-memory test driver (libvirt 9.0's ``testDomainSnapshot*``, checked with python3-libvirt).

A snapshot keeps a copy of the domain definition and its state; reverting restores both, with the
lifecycle events libvirt's test driver sends.  DISK_ONLY, REUSE_EXT and NO_METADATA are refused like there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ... import constants as C
from ...errors import DriverError
from .. import common, snaptree
from ..base import DomainRef, SnapshotRef
from ..snaptree import SnapshotTree

if TYPE_CHECKING:
    from ...xml.snapshot import SnapshotDef
    from .dom import Event, _Dom

_CREATE_FLAGS = (C.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | C.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
                 | C.VIR_DOMAIN_SNAPSHOT_CREATE_HALT | C.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE
                 | C.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | C.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE
                 | C.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE)


def _flags(flags: int, allowed: int, func: str) -> None:
    common.check_flags(flags, allowed, func, C.VIR_FROM_TEST)


class TestSnapshotOps:
    """The SnapshotOps family for :class:`guiapp.backend.drivers.test.driver.TestDriver` (mixed in)."""

    _lock: Any
    _snapshots: dict[bytes, SnapshotTree]

    if TYPE_CHECKING:  # provided by TestDriver
        def _get(self, ref: Any) -> _Dom: ...
        def _emit(self, events: list[Event]) -> None: ...
        def _start(self, dom: _Dom, flags: int, events: list[Event], *, reason: int = ..., detail: int = ...,
                   paused_detail: int = ...) -> None: ...
        def _stop(self, dom: _Dom, reason: int, detail: int, events: list[Event]) -> None: ...
        def _pause(self, dom: _Dom, reason: int) -> None: ...

    def _tree(self, dom: _Dom) -> SnapshotTree:
        tree = self._snapshots.get(dom.uuid)
        if tree is None:
            tree = self._snapshots[dom.uuid] = SnapshotTree()
        return tree

    def _snap(self, snap: SnapshotRef) -> tuple[_Dom, SnapshotTree, SnapshotDef]:
        dom = self._get(snap.domain)
        tree = self._tree(dom)
        return dom, tree, tree.get(snap.name)

    @staticmethod
    def _ref(dom: _Dom, s: SnapshotDef) -> SnapshotRef:
        return SnapshotRef(dom.ref, s.name)

    def domain_snapshot_create_xml(self, ref: DomainRef, xml: str, flags: int) -> SnapshotRef:
        _flags(flags, _CREATE_FLAGS, "testDomainSnapshotCreateXML")
        from ...xml.snapshot import STATE_NAMES, align_disks, parse_snapshot  # first snapshot: loaded then

        redefine = bool(flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if dom.config is None and flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_HALT:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, "cannot halt after transient domain snapshot")
            s = parse_snapshot(xml, redefine=redefine, now=int(time.time()), hypervisor="test")
            tree = self._tree(dom)
            if redefine:
                if s.domain is None:
                    s.domain = dom.cur.copy()
                tree.redefine(s, make_current=bool(flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT))
                return self._ref(dom, s)
            s.domain = dom.cur.copy()
            s.state = STATE_NAMES.get(dom.state, "nostate")
            active = dom.active
            if not s.memory:
                s.memory = "internal" if active else "no"
            if s.memory == "external":
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, "external memory snapshots are not supported "
                                  "by the test driver")
            align_disks(s, s.domain, default="internal")
            if any(d.snapshot == "external" for d in s.disks):
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED, "external disk snapshots are not supported "
                                  "by the test driver")
            s.parent = tree.current
            tree.add(s, make_current=True)
            if flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_HALT and active:
                self._stop(dom, C.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT, C.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT, events)
            out = self._ref(dom, s)
        self._emit(events)
        return out

    def domain_list_all_snapshots(self, ref: DomainRef, flags: int) -> list[SnapshotRef]:
        _flags(flags, snaptree.LIST_FLAGS, "testDomainListAllSnapshots")
        with self._lock:
            dom = self._get(ref)
            return [self._ref(dom, s) for s in self._tree(dom).list_all(flags)]

    def domain_snapshot_lookup_by_name(self, ref: DomainRef, name: str, flags: int) -> SnapshotRef:
        _flags(flags, 0, "testDomainSnapshotLookupByName")
        with self._lock:
            dom = self._get(ref)
            return self._ref(dom, self._tree(dom).get(name))

    def domain_snapshot_current(self, ref: DomainRef, flags: int) -> SnapshotRef:
        _flags(flags, 0, "testDomainSnapshotCurrent")
        with self._lock:
            dom = self._get(ref)
            return self._ref(dom, self._tree(dom).current_def())

    def domain_has_current_snapshot(self, ref: DomainRef, flags: int) -> bool:
        _flags(flags, 0, "testDomainHasCurrentSnapshot")
        with self._lock:
            return self._tree(self._get(ref)).current is not None

    def domain_snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int) -> str:
        _flags(flags, C.VIR_DOMAIN_SNAPSHOT_XML_SECURE, "testDomainSnapshotGetXMLDesc")
        with self._lock:
            return self._snap(snap)[2].to_xml(secure=bool(flags & C.VIR_DOMAIN_SNAPSHOT_XML_SECURE))

    def domain_snapshot_get_parent(self, snap: SnapshotRef, flags: int) -> SnapshotRef:
        _flags(flags, 0, "testDomainSnapshotGetParent")
        with self._lock:
            dom, tree, _ = self._snap(snap)
            return self._ref(dom, tree.parent_of(snap.name))

    def domain_snapshot_list_all_children(self, snap: SnapshotRef, flags: int) -> list[SnapshotRef]:
        _flags(flags, snaptree.CHILD_FLAGS, "testDomainSnapshotListAllChildren")
        with self._lock:
            dom, tree, _ = self._snap(snap)
            return [self._ref(dom, s) for s in tree.list_children(snap.name, flags)]

    def domain_snapshot_is_current(self, snap: SnapshotRef, flags: int) -> bool:
        _flags(flags, 0, "testDomainSnapshotIsCurrent")
        with self._lock:
            _, tree, s = self._snap(snap)
            return tree.current == s.name

    def domain_snapshot_has_metadata(self, snap: SnapshotRef, flags: int) -> bool:
        _flags(flags, 0, "testDomainSnapshotHasMetadata")
        with self._lock:
            self._snap(snap)
            return True

    def domain_snapshot_delete(self, snap: SnapshotRef, flags: int) -> None:
        _flags(flags, snaptree.DELETE_FLAGS, "testDomainSnapshotDelete")
        with self._lock:
            _, tree, s = self._snap(snap)
            if flags & (C.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | C.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY):
                tree.remove_descendants(s.name)
            if not flags & C.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY:
                tree.remove(s.name)

    def domain_revert_to_snapshot(self, snap: SnapshotRef, flags: int) -> None:
        _flags(flags, snaptree.REVERT_FLAGS, "testDomainRevertToSnapshot")
        snaptree.exclusive_revert(flags)
        events: list[Event] = []
        with self._lock:
            dom, tree, s = self._snap(snap)
            saved = snaptree.check_revert(s, flags, dom.name, transient=dom.config is None)
            want_run = flags & (C.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | C.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)
            online = s.state in ("running", "paused")
            tree.current = None
            if dom.active:
                self._stop(dom, C.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT, C.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT, events)
            if dom.config is not None:
                dom.config = saved.copy()
            if online or want_run:
                dom.live = saved.copy()
                self._start(dom, 0, events, reason=C.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT,
                            detail=C.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT)
                pause = flags & C.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED or (
                    s.state == "paused" and not flags & C.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING)
                if pause:
                    self._pause(dom, C.VIR_DOMAIN_PAUSED_FROM_SNAPSHOT)
                    events.append((dom.ref, C.VIR_DOMAIN_EVENT_SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT))
            tree.current = s.name
        self._emit(events)

    def _drop_snapshots(self, uuid: bytes) -> None:
        """Forget a domain's snapshot metadata (undefine with SNAPSHOTS_METADATA, or the domain is gone)."""
        self._snapshots.pop(uuid, None)


__all__ = ["TestSnapshotOps"]
