"""Defining and undefining QEMU domains, autostart, and the start-up clean-up of interrupted writes.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING

from ... import constants as C
from ...errors import DriverError
from ...filestore import clean_temp_files
from ...hoststorage.table import StorageTable
from ..base import DomainRef
from ..snaptree import SnapshotTree
from .capabilities import known_machines
from .command import build_command
from .dom import Dom, _err, log
from .lifecycle import QemuLifecycle, _dummy_paths
from .record import stopped_record
from .state import RECORD, atomic_write, record_paths, remove_runtime_files


class QemuDefine(QemuLifecycle):
    """Persistent definitions of :class:`~.driver.QemuDriver`."""

    _storage: StorageTable  # the connection's storage pools (autostarted before guests)

    if TYPE_CHECKING:  # in .snapshots
        def _tree(self, dom: Dom) -> SnapshotTree: ...
        def _drop_snapshot_metadata(self, dom: Dom) -> None: ...

    def domain_define_xml(self, xml: str, flags: int) -> DomainRef:
        defn = self._parse(xml)
        # refuse what can never run, before anything is written
        build_command(defn.copy(), _dummy_paths(), kvm_usable=True, check_files=False, machines=known_machines)
        with self.lock():
            self._sync()
            self._check_record_usable(defn.uuid)
            existing = self._check_unique(defn, allow_same=True)
            self._store_config(defn)
            self._sync()
            dom = self._doms.get(defn.name)
            if dom is None:  # cannot happen: the stored file was read back before it replaced the old one
                raise _err(C.VIR_ERR_INTERNAL_ERROR, f"domain '{defn.name}' was written but does not load back: "
                                                     f"{self.config_errors.get(str(self.dirs.config_file(defn.name)))}")
            with self._mu:  # the worker's _sync() must not see the domain without its record (not yet saved)
                if dom.record is None:
                    dom.record = stopped_record(dom.name, dom.uuid, C.VIR_DOMAIN_SHUTOFF_UNKNOWN)
                    self._save_record(dom)
            dom.seen = self._state(dom)
        self._emit(dom, C.VIR_DOMAIN_EVENT_DEFINED, C.VIR_DOMAIN_EVENT_DEFINED_UPDATED
                   if existing is not None and existing.config is not None else C.VIR_DOMAIN_EVENT_DEFINED_ADDED)
        return dom.ref()

    def domain_undefine(self, ref: DomainRef, flags: int) -> None:
        with self.lock():
            dom = self._find(ref)
            if dom.config is None:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"cannot undefine transient domain '{dom.name}'")
            nsnap = len(self._tree(dom))  # snapshot metadata: drivers/qemu/snapshots.py
            if nsnap and not flags & C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"cannot delete {'active' if dom.active else 'inactive'} "
                                                        f"domain with {nsnap} snapshots")
            image = self._managed_image(dom.uuid)
            if image is not None and not flags & C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE:
                raise _err(C.VIR_ERR_OPERATION_INVALID,
                           "Refusing to undefine while domain managed save image exists")
            if image is not None:
                image.unlink()
            self._drop_snapshot_metadata(dom)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.dirs.config_file(dom.name))
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._autostart_path(dom.name))
            dom.config = None
            if not dom.active:
                remove_runtime_files(self.dirs, dom.uuid, dom.record)
                self._rec_cache.pop(str(self.dirs.domain_dir(dom.uuid) / RECORD), None)
            self._sync()
        self._emit(dom, C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED)

    def _clean_temp_files(self) -> None:
        """Remove temp files of writers that died (a killed define) from our directories (lock held)."""
        dirs = [self.dirs.runtime, self.dirs.config, self.dirs.config / "autostart"]
        dirs += [p.parent for p in record_paths(self.dirs)]
        for d in dirs:
            for fn in clean_temp_files(d):
                log.info("removed %s left by an interrupted write", d / fn)

    def autostart_once(self) -> list[str]:
        """Start the autostart domains once per boot (the runtime directory is on tmpfs), as libvirtd does.

        Never called by opening a connection: the daemon (or a host's start-up) calls it.
        Returns the names started."""
        if self.read_only:
            raise _err(C.VIR_ERR_OPERATION_DENIED, "autostart needs a read-write connection")
        started: list[str] = []
        with self.lock():
            marker = self.dirs.runtime / "autostarted"
            if marker.exists():
                return started
            atomic_write(marker, f"{time.time()}\n")
            self._sync()
            self._storage.autostart_all()  # pools first: autostart guests may have disks in them
            for dom in list(self._doms.values()):
                if dom.config is not None and not dom.active and self._autostart_path(dom.name).exists():
                    try:
                        self._start(dom.config.copy())
                        started.append(dom.name)
                    except DriverError as exc:
                        log.warning("autostart of domain '%s' failed: %s", dom.name, exc)
        return started

    def _volume_users(self, path: str) -> list[tuple[str, bool]]:
        """(domain, running) of every domain with a disk on ``path`` (for storage's in-use checks)."""
        out = []
        with self._mu:
            for dom in self._doms.values():
                defs = [d for d in (dom.config, dom.live) if d is not None]
                if any(disk.source == path for d in defs for disk in d.disks):
                    out.append((dom.name, dom.active))
        return out

    def domain_get_autostart(self, ref: DomainRef) -> bool:
        return self._autostart_path(self._find(ref).name).exists()

    def domain_set_autostart(self, ref: DomainRef, value: bool) -> None:
        dom = self._find(ref)
        if dom.config is None:
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"cannot set autostart for transient domain '{dom.name}'")
        path = self._autostart_path(dom.name)
        if value:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, dom.name + "\n")
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
