"""The pools of one connection and every storage operation's checks, for any pool backend.

A :class:`StorageTable` keeps :class:`~.refs.Pool` records; with a
:class:`~.store.PoolStore` it re-reads the definitions on disk before each call (so
the GUI and ``guiapp-virsh`` see the same pools), without one it is the test
driver's in-memory node.  ``default`` (optional) is a pool definition that exists
without a file until it is first changed or started: listing never writes anything.
Creating, deleting, wiping, resizing and streaming volumes are in :mod:`.volume_changes`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Optional

from .. import constants as C
from ..errors import DriverError
from ..xml.storage import PoolDef, VolumeDef, normpath, parse_pool
from .backend import Backend
from .refs import Pool, StoragePoolRef, StorageVolRef
from .store import PoolStore
from .tools import err
from .volume_changes import Users, VolumeChanges

_POOL_TYPE_FLAGS = {"dir": C.VIR_CONNECT_LIST_STORAGE_POOLS_DIR, "logical": C.VIR_CONNECT_LIST_STORAGE_POOLS_LOGICAL}


def _no_pool(what: str) -> DriverError:
    return DriverError(C.VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching {what}")


def _no_vol(what: str) -> DriverError:
    return DriverError(C.VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching {what}")


class StorageTable(VolumeChanges):
    """See the module docstring."""

    def __init__(self, backends: dict[str, Backend], store: Optional[PoolStore] = None,
                 users: Optional[Users] = None, default: Optional[PoolDef] = None,
                 vol_exists_code: int = C.VIR_ERR_STORAGE_VOL_EXIST) -> None:
        self.backends = backends
        self.store = store
        self.users: Users = users or (lambda path: [])
        self.default = default
        self.pools: dict[str, Pool] = {}
        self.lock = threading.RLock()
        self.vol_exists_code = vol_exists_code

    # ------------------------------------------------------------ bookkeeping
    def add(self, defn: PoolDef, *, active: bool, persistent: bool = True, autostart: bool = False) -> Pool:
        pool = Pool(defn, persistent=persistent, active=active, autostart=autostart)
        if active:
            pool.vols = {}
        self.pools[defn.name] = pool
        return pool

    def sync(self) -> None:
        """Re-read the store (no-op for in-memory tables); keeps scanned volumes of unchanged pools."""
        if self.store is None:
            return
        defs = self.store.load()
        if self.default is not None and self.default.name not in defs:
            defs[self.default.name] = self.default
        transient = self.store.transient()
        seen = set()
        for name, defn in list(defs.items()) + list(transient.items()):
            seen.add(name)
            old = self.pools.get(name)
            active = self.store.active(name)
            if self.default is not None and name == self.default.name and defn is self.default:
                active = os.path.isdir(defn.target_path)  # not written yet: active when its directory exists
            if old is None or old.defn.uuid != defn.uuid or old.defn.target_path != defn.target_path:
                old = self.pools[name] = Pool(defn)
            else:
                old.defn = replace(defn, capacity=old.defn.capacity, allocation=old.defn.allocation,
                                   available=old.defn.available)
            old.persistent = name in defs
            old.autostart = self.store.autostart(name)
            if old.active != active:
                old.vols = None
            old.active = active
        for name in set(self.pools) - seen:
            del self.pools[name]

    def backend(self, pool: Pool) -> Backend:
        return self.backends[pool.defn.type]

    def get(self, ref: StoragePoolRef) -> Pool:
        self.sync()
        pool = self.pools.get(ref.name)
        if pool is None or pool.defn.uuid != ref.uuid:
            raise _no_pool(f"uuid '{ref.uuid.hex()}' (pool '{ref.name}' was removed)")
        return pool

    def active_pool(self, ref: StoragePoolRef) -> Pool:
        pool = self.get(ref)
        if not pool.active:
            raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.defn.name}' is not active: "
                                                            f"start it first")
        return pool

    def volumes(self, pool: Pool) -> dict[str, VolumeDef]:
        """The pool's volumes, scanned again when never scanned or when the backend saw a change
        (a dir pool's directory changed: another process made or removed a volume)."""
        if pool.vols is None or self._stamp(pool) != pool.stamp:
            self._refresh(pool)
        return pool.vols  # type: ignore[return-value]

    def _stamp(self, pool: Pool) -> object:
        stamp = getattr(self.backend(pool), "stamp", None)
        return stamp(pool) if stamp is not None else None

    def _refresh(self, pool: Pool) -> None:
        backend = self.backend(pool)
        pool.stamp = self._stamp(pool)
        pool.vols = backend.scan(pool)
        cap, alloc, avail = backend.sizes(pool)
        pool.defn = pool.defn.with_sizes(cap, alloc, avail)

    def _persist(self, pool: Pool) -> None:
        if self.store is not None and pool.persistent:
            self.store.save(pool.defn)

    def _mark_active(self, pool: Pool, active: bool) -> None:
        if self.default is not None and pool.defn.name == self.default.name and pool.persistent:
            self._persist(pool)  # from now on its state is its marker, not whether its directory exists
        pool.active = active
        if self.store is not None:
            self.store.set_active(pool.defn.name, active, None if pool.persistent else pool.defn.format())

    # ----------------------------------------------------------------- pools
    def list_all(self, flags: int) -> list[StoragePoolRef]:
        with self.lock:
            self.sync()
            out = []
            for pool in sorted(self.pools.values(), key=lambda p: p.defn.name):
                if self._matches(pool, flags):
                    out.append(pool.ref)
            return out

    @staticmethod
    def _matches(pool: Pool, flags: int) -> bool:
        pairs = ((C.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE, C.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE, pool.active),
                 (C.VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT, C.VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT,
                  pool.persistent),
                 (C.VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART, C.VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART,
                  pool.autostart))
        for yes, no, value in pairs:
            if flags & (yes | no) and not ((flags & yes and value) or (flags & no and not value)):
                return False
        types = flags & ~0x3F  # the pool type filters (DIR, LOGICAL, ...)
        if types and not types & _POOL_TYPE_FLAGS.get(pool.defn.type, 0):
            return False
        return True

    def lookup_name(self, name: str) -> StoragePoolRef:
        with self.lock:
            self.sync()
            pool = self.pools.get(name)
            if pool is None:
                raise _no_pool(f"name '{name}'")
            return pool.ref

    def lookup_uuid(self, uuid: bytes) -> StoragePoolRef:
        with self.lock:
            self.sync()
            for pool in self.pools.values():
                if pool.defn.uuid == uuid:
                    return pool.ref
            raise _no_pool(f"uuid '{uuid.hex()}'")

    def _check_new(self, defn: PoolDef) -> Optional[Pool]:
        """The existing pool ``defn`` redefines (same name and UUID), or None; conflicts raise."""
        for pool in self.pools.values():
            same_name, same_uuid = pool.defn.name == defn.name, pool.defn.uuid == defn.uuid
            if same_name and same_uuid:
                return pool
            if same_name:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"pool '{defn.name}' is already defined with uuid {pool.defn.uuid.hex()}")
            if same_uuid:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"pool '{pool.defn.name}' already exists with uuid {defn.uuid.hex()}")
            if pool.defn.type == defn.type and pool.defn.target_path == defn.target_path:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"storage pool '{pool.defn.name}' already uses target '{defn.target_path}'")
        return None

    def define(self, xml: str, flags: int) -> StoragePoolRef:
        defn = parse_pool(xml)
        with self.lock:
            self.sync()
            old = self._check_new(defn)
            if old is not None and old.active:  # the new definition applies from the next start
                old.pending, old.persistent = defn, True
                if self.store is not None:
                    self.store.save(defn)
                return old.ref
            pool = old or self.add(defn, active=False)
            pool.defn, pool.persistent = defn, True
            self._persist(pool)
            return pool.ref

    def create_transient(self, xml: str, flags: int) -> StoragePoolRef:
        defn = parse_pool(xml)
        with self.lock:
            self.sync()
            if self._check_new(defn) is not None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"storage pool '{defn.name}' already exists")
            pool = Pool(defn, persistent=False)
            self._start(pool, flags)
            self.pools[defn.name] = pool
            return pool.ref

    def _start(self, pool: Pool, flags: int) -> None:
        backend = self.backend(pool)
        build = flags & (C.VIR_STORAGE_POOL_CREATE_WITH_BUILD | C.VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE
                         | C.VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE)
        is_default = self.default is not None and pool.defn.name == self.default.name
        if build or is_default:
            backend.build(pool, 0)
        backend.start(pool)
        self._mark_active(pool, True)
        pool.vols = None
        self._refresh(pool)

    def start(self, ref: StoragePoolRef, flags: int) -> None:
        with self.lock:
            pool = self.get(ref)
            if pool.active:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.defn.name}' is already active")
            if self.default is not None and pool.defn.name == self.default.name:
                self._persist(pool)
            self._start(pool, flags)

    def build(self, ref: StoragePoolRef, flags: int) -> None:
        with self.lock:
            pool = self.get(ref)
            if pool.active:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.defn.name}' is already active")
            self.backend(pool).build(pool, flags)

    def destroy(self, ref: StoragePoolRef) -> None:
        with self.lock:
            pool = self.active_pool(ref)
            running = sorted({d for v in (pool.vols or {}).values() for d, up in self.users(v.path or "") if up})
            if running:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                  f"storage pool '{pool.defn.name}' has volumes in use by running domain(s) "
                                  f"{', '.join(running)}: stop them first")
            self.backend(pool).stop(pool)
            self._mark_active(pool, False)
            pool.vols = None
            if pool.pending is not None:
                pool.defn, pool.pending = pool.pending, None
            if not pool.persistent:
                del self.pools[pool.defn.name]

    def delete(self, ref: StoragePoolRef, flags: int) -> None:
        with self.lock:
            pool = self.get(ref)
            if pool.active:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                  f"storage pool '{pool.defn.name}' is still active: destroy (stop) it first")
            self.backend(pool).delete(pool, flags)

    def undefine(self, ref: StoragePoolRef) -> None:
        with self.lock:
            pool = self.get(ref)
            if pool.active:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"storage pool '{pool.defn.name}' is active")
            if self.store is not None:
                self.store.remove(pool.defn.name)
            del self.pools[pool.defn.name]

    def refresh(self, ref: StoragePoolRef) -> None:
        with self.lock:
            self._refresh(self.active_pool(ref))

    def info(self, ref: StoragePoolRef) -> list[int]:
        with self.lock:
            pool = self.get(ref)
            if not pool.active:
                return [C.VIR_STORAGE_POOL_INACTIVE, 0, 0, 0]
            self.volumes(pool)
            d = pool.defn
            return [C.VIR_STORAGE_POOL_RUNNING, d.capacity, d.allocation, d.available]

    def xml_desc(self, ref: StoragePoolRef, flags: int) -> str:
        with self.lock:
            pool = self.get(ref)
            if not pool.active:
                return pool.defn.with_sizes(0, 0, 0).format()
            if flags & C.VIR_STORAGE_XML_INACTIVE and pool.pending is not None:
                return pool.pending.format()
            self.volumes(pool)
            return pool.defn.format()

    def get_autostart(self, ref: StoragePoolRef) -> bool:
        with self.lock:
            return self.get(ref).autostart

    def set_autostart(self, ref: StoragePoolRef, value: bool) -> None:
        with self.lock:
            pool = self.get(ref)
            if not pool.persistent:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                  f"cannot set autostart for transient storage pool '{pool.defn.name}'")
            if self.store is not None:
                self._persist(pool)
                self.store.set_autostart(pool.defn.name, value)
            pool.autostart = value

    def is_active(self, ref: StoragePoolRef) -> bool:
        with self.lock:
            return self.get(ref).active

    def is_persistent(self, ref: StoragePoolRef) -> bool:
        with self.lock:
            return self.get(ref).persistent

    def autostart_all(self) -> list[str]:
        """Start every inactive autostart pool (errors are skipped); the names started."""
        started = []
        with self.lock:
            self.sync()
            for pool in list(self.pools.values()):
                if pool.autostart and not pool.active:
                    try:
                        self._start(pool, 0)
                        started.append(pool.defn.name)
                    except DriverError:
                        continue
        return started

    # --------------------------------------------------------------- volumes
    def list_volumes(self, ref: StoragePoolRef) -> list[StorageVolRef]:
        with self.lock:
            pool = self.active_pool(ref)
            return [pool.vol_ref(v) for _, v in sorted(self.volumes(pool).items())]

    def vol(self, ref: StorageVolRef) -> tuple[Pool, VolumeDef]:
        pool = self.pools.get(ref.pool)
        if pool is None or not pool.active:
            self.sync()
            pool = self.pools.get(ref.pool)
        if pool is None or not pool.active:
            raise _no_vol(f"key '{ref.uuid}' (its pool '{ref.pool}' is gone or stopped)")
        known = pool.vols  # a known volume is served without looking at the disk; a miss looks again
        vol = known.get(ref.name) if known is not None else None
        if vol is None:
            vol = self.volumes(pool).get(ref.name)
        if vol is None or (vol.key or vol.path or vol.name) != ref.uuid:
            raise _no_vol(f"name '{ref.name}'")
        return pool, vol

    def vol_lookup_name(self, pref: StoragePoolRef, name: str) -> StorageVolRef:
        with self.lock:
            pool = self.active_pool(pref)
            vol = self.volumes(pool).get(name)
            if vol is None:
                raise _no_vol(f"name '{name}'")
            return pool.vol_ref(vol)

    def _find_vol(self, match: Callable[[VolumeDef], bool], what: str) -> StorageVolRef:
        with self.lock:
            self.sync()
            for pool in self.pools.values():
                if pool.active:
                    for vol in self.volumes(pool).values():
                        if match(vol):
                            return pool.vol_ref(vol)
            raise _no_vol(what)

    def vol_lookup_path(self, path: str) -> StorageVolRef:
        want = normpath(path) if path.startswith("/") else path
        return self._find_vol(lambda v: v.path == want, f"path '{path}'")

    def vol_lookup_key(self, key: str) -> StorageVolRef:
        return self._find_vol(lambda v: v.key == key, f"key '{key}'")

    def vol_info(self, ref: StorageVolRef) -> list[int]:
        with self.lock:
            _, vol = self.vol(ref)
            kind = C.VIR_STORAGE_VOL_BLOCK if vol.type == "block" else C.VIR_STORAGE_VOL_FILE
            return [kind, vol.capacity or 0, vol.allocation or 0]

    def vol_xml(self, ref: StorageVolRef) -> str:
        with self.lock:
            return self.vol(ref)[1].to_xml()

    def vol_path(self, ref: StorageVolRef) -> str:
        with self.lock:
            return self.vol(ref)[1].path or ""


__all__ = ["StorageTable", "Users", "err"]
