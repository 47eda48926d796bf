"""Snapshots of QEMU domains: internal (QMP snapshot-save/load/delete, qemu-img offline) and external disk-only.

* **Internal** (every snapshotted disk qcow2): a running guest saves memory + disks with the job-based
  ``snapshot-save`` (the vmstate goes into the first qcow2 disk), reverts with ``snapshot-load``, deletes
  with ``snapshot-delete``; a shut-off guest uses ``qemu-img snapshot -c/-a/-d``.
* **External, disk-only** (``DISK_ONLY``; the only kind for raw disks): each disk gets a new qcow2
  overlay backed by its current image (``qemu-img create -b``; on a running guest ``blockdev-add`` +
  ``blockdev-snapshot`` in one ``transaction``); the domain's disk sources move to the overlays.
  Reverting makes *new* overlays on the snapshot's base images (the overlays written since stay on disk,
  nothing is merged or overwritten).  Deleting an external snapshot merges its overlay into the image below,
  as libvirt 9.0 (shut off: ``qemu-img commit``, :mod:`.snapcommit`; running: QMP ``block-commit``,
  :mod:`.snapcommit_live`); it is refused, changing nothing, where an image another snapshot or domain
  needs would change (:mod:`.snapdelete`).

Metadata is stored beside the domain config (:mod:`..snapstore`); it is written only after QEMU or
qemu-img succeeded, so a failed or killed save never lists a half snapshot.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from lxml import etree

from ... import constants as C
from ...errors import DriverError
from ...hoststorage.tools import run
from ...xml.domain import DomainDef
from ...xml.snapshot import STATE_NAMES, SnapshotDef, align_disks, parse_snapshot
from .. import common, snaptree
from ..base import DomainRef, SnapshotRef
from ..snapstore import SnapshotStore
from ..snaptree import SnapshotTree

if TYPE_CHECKING:
    from .dom import Dom

E = C.VIR_FROM_QEMU
_CREATE_FLAGS = (C.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | C.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
                 | C.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA | C.VIR_DOMAIN_SNAPSHOT_CREATE_HALT
                 | C.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | C.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE
                 | C.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | C.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE
                 | C.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE)
_JOB_TIMEOUT = 600.0
_jobs = itertools.count(1)
_POLL = 0.5  # seconds between query-jobs looks when no JOB_STATUS_CHANGE event arrives (guest owned elsewhere)
_waiters: dict[str, threading.Event] = {}


def job_event(event: str, data: dict[str, Any]) -> bool:
    """QMP event hook (monitor loop thread): wake the :meth:`QemuSnapshotOps._job` waiting on this job."""
    if event != "JOB_STATUS_CHANGE" or data.get("status") not in ("concluded", "ready"):
        return False
    waiter = _waiters.get(str(data.get("id")))
    if waiter is None:
        return False
    waiter.set()
    return True


def _err(code: int, detail: str) -> DriverError:
    return DriverError(code, detail, E)


def _disk(defn: DomainDef, target: str) -> Any:
    for d in defn.disks:
        if d.target == target:
            return d
    raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"no disk named '{target}'")


def _overlay_path(source: str, snap: str) -> str:
    """libvirt's default external file name: the image's path with its suffix replaced by the snapshot name."""
    p = Path(source)
    return str(p.with_name(f"{p.stem if p.suffix else p.name}.{snap}"))


class QemuSnapshotOps:
    """The SnapshotOps family of :class:`.driver.QemuDriver` (mixed in)."""

    if TYPE_CHECKING:  # provided by QemuDriver
        dirs: Any
        _doms: dict[str, Dom]
        lock: Any  # FileLock: self.lock() is a context manager
        def _find(self, ref: DomainRef) -> Dom: ...
        def _qmp(self, dom: Dom, cmd: str, args: Optional[dict[str, Any]] = None, *, timeout: float = 30.0,
                 fd: Optional[tuple[int, str]] = None) -> Any: ...
        def _start(self, defn: DomainDef, *, paused: bool = False, restore: Any = None,
                   keep_id: Optional[int] = None) -> Dom: ...
        def _kill(self, dom: Dom, reason: int) -> None: ...
        def _note_state(self, dom: Dom, state: Optional[tuple[int, int]] = None) -> None: ...
        def _save_record(self, dom: Dom) -> None: ...
        def _set_live(self, dom: Dom, live: DomainDef) -> None: ...
        def _write_config(self, dom: Dom, defn: DomainDef) -> None: ...
        def _state(self, dom: Dom) -> tuple[int, int]: ...

    # ------------------------------------------------------------------ metadata
    def _store(self, dom: Dom) -> SnapshotStore:
        return SnapshotStore(Path(self.dirs.config) / "snapshot" / dom.uuid.hex(), "qemu", E)

    def _tree(self, dom: Dom) -> SnapshotTree:
        return self._store(dom).load()

    def _snap(self, snap: SnapshotRef) -> tuple[Dom, SnapshotTree, SnapshotDef]:
        dom = self._find(snap.domain)
        tree = self._tree(dom)
        return dom, tree, tree.get(snap.name)

    # ------------------------------------------------------------------ QMP jobs
    def _nodes(self, dom: Dom) -> dict[str, str]:
        """Disk target -> QEMU node name of its top image (from query-block)."""
        out = {}
        for b in self._qmp(dom, "query-block"):
            dev, ins = b.get("device") or "", b.get("inserted") or {}
            if dev.startswith("drive-") and ins.get("node-name"):
                out[dev[len("drive-"):]] = ins["node-name"]
        return out

    def _job(self, dom: Dom, cmd: str, args: dict[str, Any],
             on_ready: Optional[Callable[[str], None]] = None) -> None:
        """Run a job-based QMP command to its end; its error becomes a DriverError.

        ``on_ready(job id)`` is called once when the job reaches ``ready`` (an active block-commit waiting
        for ``job-complete``).
        The end is seen from QEMU's ``JOB_STATUS_CHANGE`` event on our kept-open monitor (no polling
        latency); ``query-jobs`` every :data:`_POLL` s covers a guest whose monitor another process holds."""
        job = f"guiapp-{cmd}-{os.getpid()}-{next(_jobs)}"
        done = _waiters[job] = threading.Event()
        try:
            self._qmp(dom, cmd, {"job-id": job, **args}, timeout=_JOB_TIMEOUT)
            deadline = time.monotonic() + _JOB_TIMEOUT
            while True:
                done.wait(_POLL)
                done.clear()
                j = next((j for j in self._qmp(dom, "query-jobs") if j.get("id") == job), None)
                if j is None or j.get("status") == "concluded":
                    break
                if j.get("status") == "ready" and on_ready is not None:
                    on_ready(job)
                    on_ready = None
                if time.monotonic() > deadline:
                    try:  # a block-commit left running would hold its nodes; QEMU keeps working on the top
                        self._qmp(dom, "job-cancel", {"id": job})
                    except DriverError:
                        pass
                    raise _err(C.VIR_ERR_OPERATION_TIMEOUT,
                               f"QEMU's {cmd} job did not finish in {_JOB_TIMEOUT:.0f} s")
        finally:
            _waiters.pop(job, None)
        try:
            self._qmp(dom, "job-dismiss", {"id": job})
        except DriverError:
            pass
        if j is not None and j.get("error"):
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"QEMU's {cmd} failed: {j['error']}")

    # ------------------------------------------------------------------ create
    def domain_snapshot_create_xml(self, ref: DomainRef, xml: str, flags: int) -> SnapshotRef:
        common.check_flags(flags, _CREATE_FLAGS, "virDomainSnapshotCreateXML", E)
        redefine = bool(flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
        if flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE:
            raise _err(C.VIR_ERR_OPERATION_INVALID, "QEMU guest agent is not configured: --quiesce needs a "
                       "guest agent channel, which guiapp does not support yet; snapshot without --quiesce")
        if flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA:
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, "snapshots without metadata are not supported: guiapp "
                       "needs the metadata to revert and delete safely")
        s = parse_snapshot(xml, redefine=redefine, now=int(time.time()), hypervisor="qemu")
        with self.lock():
            dom = self._find(ref)
            store, tree = self._store(dom), self._tree(dom)
            if redefine:
                if s.domain is None:
                    s.domain = dom.defn.copy()
                tree.redefine(s, make_current=bool(flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT))
                store.save_tree(tree, [s])
                return SnapshotRef(dom.ref(), s.name)
            if s.name in tree.snaps:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"domain moment {s.name} already exists",
                                  C.VIR_FROM_DOMAIN)
            if dom.config is None and flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_HALT:
                raise _err(C.VIR_ERR_OPERATION_INVALID, "cannot halt after transient domain snapshot")
            active = dom.active
            state = self._state(dom)[0]
            s.domain = dom.defn.copy()
            if flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY:
                if s.memory and s.memory != "no":
                    raise _err(C.VIR_ERR_XML_ERROR, "memory state cannot be saved with offline or disk-only "
                               "snapshot")
                s.memory, s.state = "no", "disk-snapshot"
                align_disks(s, s.domain, default="external")
                self._external(dom, s, active)
            else:
                s.state = STATE_NAMES.get(state, "nostate")
                if s.memory == "external":
                    raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, "external memory snapshots are not supported yet; "
                               "take an internal snapshot (qcow2 disks) or a disk-only one")
                s.memory = "internal" if active else "no"
                align_disks(s, s.domain, default="internal")
                if any(d.snapshot == "external" for d in s.disks):
                    raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, "mixing external disks with an internal snapshot is "
                               "not supported; use --disk-only for an external snapshot")
                self._internal(dom, s, active)
            s.parent = tree.current
            tree.add(s, make_current=True)
            store.save_tree(tree, [s])
            if flags & C.VIR_DOMAIN_SNAPSHOT_CREATE_HALT and dom.active:
                self._kill(dom, C.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT)
            out = SnapshotRef(dom.ref(), s.name)
        self._note_state(dom)
        return out

    def _qcow2_disks(self, s: SnapshotDef, defn: DomainDef) -> list[Any]:
        disks = []
        for sd in s.disks:
            if sd.snapshot != "internal":
                continue
            d = _disk(defn, sd.name)
            if (d.format or "raw") != "qcow2" or d.type != "file" or not d.source:
                raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED,
                           f"internal snapshot for disk {sd.name} unsupported for a {d.format or 'raw'} "
                           f"{d.type} image: it needs a qcow2 file; take a disk-only (external) snapshot instead")
            disks.append(d)
        return disks

    def _internal(self, dom: Dom, s: SnapshotDef, active: bool) -> None:
        assert s.domain is not None
        disks = self._qcow2_disks(s, s.domain)
        if active:
            if not disks:
                raise _err(C.VIR_ERR_OPERATION_UNSUPPORTED, "an internal snapshot with memory needs at least "
                           "one writable qcow2 disk to hold the memory state")
            nodes = self._nodes(dom)
            names = [nodes[d.target] for d in disks]
            self._job(dom, "snapshot-save", {"tag": s.name, "vmstate": names[0], "devices": names})
            if dom.record is not None:  # the job's STOP/RESUME events (handled later, on the worker) were ours
                dom.record.changed_at = time.time()
                self._save_record(dom)
            return
        done: list[str] = []
        try:
            for d in disks:
                run(["qemu-img", "snapshot", "-c", s.name, d.source])
                done.append(d.source)
        except DriverError:
            for path in done:  # all or nothing
                try:
                    run(["qemu-img", "snapshot", "-d", s.name, path])
                except DriverError:
                    pass
            raise

    def _external(self, dom: Dom, s: SnapshotDef, active: bool) -> None:
        """Create the overlays, switch the running QEMU onto them, and move the domain's disk sources."""
        assert s.domain is not None
        plan: list[tuple[Any, str]] = []
        for sd in s.disks:
            if sd.snapshot != "external":
                continue
            d = _disk(s.domain, sd.name)
            if d.type != "file" or not d.source:
                raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"external snapshot of disk '{sd.name}' needs a file "
                           f"image (it is a {d.type} disk)")
            sd.file = sd.file or _overlay_path(d.source, s.name)
            sd.driver_type = "qcow2"
            if os.path.lexists(sd.file):
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"external snapshot file for disk {sd.name} already "
                           f"exists: {sd.file}; choose another file or remove it")
            plan.append((d, sd.file))
        if not plan:
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, "the snapshot would cover no disk")
        made: list[str] = []
        try:
            for d, overlay in plan:
                run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", d.format or "raw", "-b", d.source, overlay])
                made.append(overlay)
            if active:
                nodes = self._nodes(dom)
                actions = []
                for d, overlay in plan:
                    node = f"snap{next(_jobs)}-{d.target}"
                    self._qmp(dom, "blockdev-add", {"driver": "qcow2", "node-name": node, "backing": None,
                                                    "file": {"driver": "file", "filename": overlay}})
                    actions.append({"type": "blockdev-snapshot",
                                    "data": {"node": nodes[d.target], "overlay": node}})
                self._qmp(dom, "transaction", {"actions": actions})
        except BaseException:
            for path in made:  # only the files this call created
                try:
                    os.unlink(path)
                except OSError:
                    pass
            raise
        self._move_disks(dom, {d.target: overlay for d, overlay in plan}, active)

    def _move_disks(self, dom: Dom, moves: dict[str, str], active: bool) -> None:
        """Point the domain's disks (live and persistent) at new qcow2 images."""
        def apply(defn: DomainDef) -> DomainDef:
            new = defn.copy()
            for d in new.disks:
                if d.target in moves:
                    d.source = moves[d.target]
                    drv = d.element.find("driver")
                    if drv is None:
                        drv = etree.Element("driver", name="qemu")
                        d.element.insert(0, drv)
                    drv.set("type", "qcow2")
            return reload_def(new)
        if active and dom.live is not None:
            self._set_live(dom, apply(dom.live))
            self._save_record(dom)
        if dom.config is not None:
            self._write_config(dom, apply(dom.config))

    # ------------------------------------------------------------------ queries
    def domain_list_all_snapshots(self, ref: DomainRef, flags: int) -> list[SnapshotRef]:
        common.check_flags(flags, snaptree.LIST_FLAGS, "virDomainListAllSnapshots", E)
        dom = self._find(ref)
        return [SnapshotRef(dom.ref(), s.name) for s in self._tree(dom).list_all(flags)]

    def domain_snapshot_lookup_by_name(self, ref: DomainRef, name: str, flags: int) -> SnapshotRef:
        common.check_flags(flags, 0, "virDomainSnapshotLookupByName", E)
        dom = self._find(ref)
        return SnapshotRef(dom.ref(), self._tree(dom).get(name).name)

    def domain_snapshot_current(self, ref: DomainRef, flags: int) -> SnapshotRef:
        common.check_flags(flags, 0, "virDomainSnapshotCurrent", E)
        dom = self._find(ref)
        return SnapshotRef(dom.ref(), self._tree(dom).current_def().name)

    def domain_has_current_snapshot(self, ref: DomainRef, flags: int) -> bool:
        common.check_flags(flags, 0, "virDomainHasCurrentSnapshot", E)
        return self._tree(self._find(ref)).current is not None

    def domain_snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int) -> str:
        common.check_flags(flags, C.VIR_DOMAIN_SNAPSHOT_XML_SECURE, "virDomainSnapshotGetXMLDesc", E)
        return self._snap(snap)[2].to_xml(secure=bool(flags & C.VIR_DOMAIN_SNAPSHOT_XML_SECURE))

    def domain_snapshot_get_parent(self, snap: SnapshotRef, flags: int) -> SnapshotRef:
        common.check_flags(flags, 0, "virDomainSnapshotGetParent", E)
        dom, tree, _ = self._snap(snap)
        return SnapshotRef(dom.ref(), tree.parent_of(snap.name).name)

    def domain_snapshot_list_all_children(self, snap: SnapshotRef, flags: int) -> list[SnapshotRef]:
        common.check_flags(flags, snaptree.CHILD_FLAGS, "virDomainSnapshotListAllChildren", E)
        dom, tree, _ = self._snap(snap)
        return [SnapshotRef(dom.ref(), s.name) for s in tree.list_children(snap.name, flags)]

    def domain_snapshot_is_current(self, snap: SnapshotRef, flags: int) -> bool:
        common.check_flags(flags, 0, "virDomainSnapshotIsCurrent", E)
        _, tree, s = self._snap(snap)
        return tree.current == s.name

    def domain_snapshot_has_metadata(self, snap: SnapshotRef, flags: int) -> bool:
        common.check_flags(flags, 0, "virDomainSnapshotHasMetadata", E)
        self._snap(snap)
        return True

    # ------------------------------------------------------------------ revert
    def domain_revert_to_snapshot(self, snap: SnapshotRef, flags: int) -> None:
        common.check_flags(flags, snaptree.REVERT_FLAGS, "virDomainRevertToSnapshot", E)
        snaptree.exclusive_revert(flags)
        with self.lock():
            dom, tree, s = self._snap(snap)
            saved = snaptree.check_revert(s, flags, dom.name, transient=dom.config is None)
            want_run = flags & (C.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | C.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)
            online = s.state in ("running", "paused")
            paused = bool(flags & C.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED) or (
                s.state == "paused" and not flags & C.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING)
            defn = saved.copy()
            if s.external:
                defn = self._revert_external(dom, s, defn)
            elif online:
                self._revert_internal_live(dom, s, defn, paused)
                defn = None  # type: ignore[assignment]
            else:
                if dom.active:
                    self._kill(dom, C.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT)
                for d in self._qcow2_disks(s, saved):
                    run(["qemu-img", "snapshot", "-a", s.name, d.source])
            if defn is not None:
                if dom.config is not None:
                    self._write_config(dom, defn.copy())
                if want_run:
                    self._start(defn, paused=bool(flags & C.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED))
            tree.current = s.name
            self._store(dom).set_current(s.name)
        self._note_state(dom)

    def _revert_internal_live(self, dom: Dom, s: SnapshotDef, defn: DomainDef, paused: bool) -> None:
        """Load memory + disks with snapshot-load (starting QEMU paused first when the domain is off)."""
        if dom.active and not self._same_devices(dom.defn, defn):
            self._kill(dom, C.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT)
        if dom.config is not None:
            self._write_config(dom, defn.copy())
        if not dom.active:
            dom = self._start(defn, paused=True)
        else:
            self._qmp(dom, "stop")
        disks = self._qcow2_disks(s, defn)
        nodes = self._nodes(dom)
        names = [nodes[d.target] for d in disks]
        self._job(dom, "snapshot-load", {"tag": s.name, "vmstate": names[0], "devices": names})
        rec = dom.record
        assert rec is not None
        if paused:
            rec.set_state(C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_PAUSED_FROM_SNAPSHOT, changed_at=time.time())
        else:
            self._qmp(dom, "cont")
            rec.set_state(C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT, changed_at=time.time())
        self._save_record(dom)

    @staticmethod
    def _same_devices(a: DomainDef, b: DomainDef) -> bool:
        return ([(d.target, d.source, d.format) for d in a.disks] == [(d.target, d.source, d.format) for d in b.disks]
                and a.memory_kib == b.memory_kib)

    def _revert_external(self, dom: Dom, s: SnapshotDef, defn: DomainDef) -> DomainDef:
        """Stop the domain and give it fresh overlays on the snapshot's base images (nothing is deleted)."""
        if s.state not in ("disk-snapshot", "shutoff"):
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, "revert to an external snapshot with memory is not supported")
        if dom.active:
            self._kill(dom, C.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT)
        moves: dict[str, str] = {}
        stamp = time.strftime("%Y%m%d%H%M%S")
        for sd in s.disks:
            if sd.snapshot != "external":
                continue
            base = _disk(defn, sd.name)
            overlay = _overlay_path(base.source, f"{s.name}-revert-{stamp}")
            if os.path.lexists(overlay):
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"{overlay} already exists; try again in a second")
            run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", base.format or "raw", "-b", base.source, overlay])
            moves[sd.name] = overlay
        for d in defn.disks:
            if d.target in moves:
                d.source = moves[d.target]
                drv = d.element.find("driver")
                if drv is not None:
                    drv.set("type", "qcow2")
        return reload_def(defn)

    def _drop_snapshot_metadata(self, dom: Dom) -> None:
        self._store(dom).remove_all()


def reload_def(defn: DomainDef) -> DomainDef:
    """A DomainDef rebuilt from its (edited) tree, so every accessor sees the edit."""
    from ...xml.domain import parse_domain
    return parse_domain(defn.to_xml(secure=False), hypervisor=defn.hypervisor)


__all__ = ["QemuSnapshotOps", "reload_def"]
