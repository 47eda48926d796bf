"""Deleting snapshots of QEMU domains (the delete part of :class:`.snapshots.QemuSnapshotOps`, mixed into
:class:`.driver.QemuDriver` beside it).

Internal snapshots go with QMP ``snapshot-delete`` when the running guest still uses the snapshotted images,
else with ``qemu-img snapshot -d``. Deleting an external snapshot merges its overlay into the image below
(shut off: :mod:`.snapcommit`; running: :mod:`.snapcommit_live`), alone; with ``METADATA_ONLY`` only the
records go and every image stays.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ... import constants as C
from ...errors import DriverError
from ...hoststorage.tools import run
from ...xml.domain import DomainDef
from ...xml.snapshot import SnapshotDef
from .. import common, snaptree
from ..base import SnapshotRef
from ..snaptree import SnapshotTree
from .snapshots import E, reload_def

if TYPE_CHECKING:
    from .dom import Dom
    from .snapshots import QemuSnapshotOps as _Base  # the helpers it uses (_snap, _store, _job, ...)
else:
    _Base = object


class QemuSnapshotDelete(_Base):
    """virDomainSnapshotDelete of :class:`.driver.QemuDriver` (mixed in)."""

    def domain_snapshot_delete(self, snap: SnapshotRef, flags: int) -> None:
        common.check_flags(flags, snaptree.DELETE_FLAGS, "virDomainSnapshotDelete", E)
        meta_only = bool(flags & C.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
        with self.lock():
            dom, tree, s = self._snap(snap)
            store = self._store(dom)
            victims: list[SnapshotDef] = []
            if flags & (C.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | C.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY):
                victims += tree.descendants(s.name)
            if not flags & C.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY:
                victims.append(s)
            if not meta_only:
                ext = [v.name for v in victims if v.external]
                if ext and (len(victims) > 1 or not s.external):
                    raise DriverError(
                        C.VIR_ERR_CONFIG_UNSUPPORTED,
                        f"deleting external snapshot {', '.join(ext)} together with others is not supported; "
                        f"delete them one at a time, or with METADATA_ONLY (virsh --metadata) to drop the "
                        f"records and keep every image", E)
                if ext:
                    self._delete_external(dom, tree, s)
                for v in reversed(victims):  # children first
                    self._delete_internal(dom, v)
            for v in victims:
                if v.name in tree.snaps:
                    if v is s and not flags & C.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY:
                        children = tree.children(v.name)
                        tree.remove(v.name)
                        store.save_tree(tree, children)
                    else:
                        tree.snaps.pop(v.name)
                        if tree.current == v.name:
                            tree.current = s.name
                    store.remove(v.name)
            store.set_current(tree.current)

    def _delete_external(self, dom: Dom, tree: SnapshotTree, s: SnapshotDef) -> None:
        """Merge the snapshot's overlays into their bases (:mod:`.snapcommit` shut off, :mod:`.snapcommit_live`
        running)."""
        from . import snapcommit
        others = [d.defn for d in list(self._doms.values()) if d is not dom]
        plan = snapcommit.plan_commit(s, tree, dom.defn, others)
        if not dom.active:
            moves, children = snapcommit.commit(plan)
            self._commit_done(dom, tree, moves, children)
            return
        from .snapcommit_live import commit_live
        moves, children = {}, []
        try:
            commit_live(self._qmp, self._job, dom, plan, moves, children)
        finally:  # disks QEMU already moved to their base are recorded even when a later one failed
            if moves and dom.live is not None:
                self._set_live(dom, _with_sources(dom.live, moves))
                self._save_record(dom)
            self._commit_done(dom, tree, moves, children)

    def _commit_done(self, dom: Dom, tree: SnapshotTree, moves: dict[str, tuple[str, str]],
                     children: list[SnapshotDef]) -> None:
        """Store what a commit changed: the persistent disk sources and the re-pointed child snapshots."""
        if moves and dom.config is not None:
            self._write_config(dom, _with_sources(dom.config, moves))
        for child in children:
            if child.domain is not None:
                child.domain = reload_def(child.domain)
        self._store(dom).save_tree(tree, children)

    def _delete_internal(self, dom: Dom, s: SnapshotDef) -> None:
        if s.domain is None:
            return
        disks = self._qcow2_disks(s, s.domain)
        if not disks:
            return
        live = {d.target: d.source for d in dom.defn.disks}
        if dom.active and all(live.get(d.target) == d.source for d in disks):
            nodes = self._nodes(dom)
            self._job(dom, "snapshot-delete", {"tag": s.name, "devices": [nodes[d.target] for d in disks]})
            return
        for d in disks:
            if os.path.exists(d.source):
                run(["qemu-img", "snapshot", "-d", s.name, d.source])


def _with_sources(defn: DomainDef, moves: dict[str, tuple[str, str]]) -> DomainDef:
    """A copy of ``defn`` with the disks of ``moves`` (target -> (path, format)) on their new images."""
    from . import snapcommit
    new = defn.copy()
    for target, (path, fmt) in moves.items():
        snapcommit.set_source(new, target, path, fmt)
    return reload_def(new)
