"""The volume changes of a :class:`~.table.StorageTable`: create (with the pool's free space checked),
delete, wipe, resize, upload and download, each refused while a running domain uses the volume
(a mixin of the table; its lookups and locking are the table's)."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Optional

from .. import constants as C
from ..errors import DriverError
from ..xml.storage import VolumeDef, parse_volume
from .backend import Backend, Sink, Source
from .refs import Pool, StoragePoolRef, StorageVolRef

#: (domain name, running) of every domain whose disks use a path.
Users = Callable[[str], list[tuple[str, bool]]]


class VolumeChanges:
    """Mixed into :class:`~.table.StorageTable`."""

    lock: threading.RLock
    users: Users
    vol_exists_code: int

    if TYPE_CHECKING:
        def backend(self, pool: Pool) -> Backend: ...
        def active_pool(self, ref: StoragePoolRef) -> Pool: ...
        def volumes(self, pool: Pool) -> dict[str, VolumeDef]: ...
        def vol(self, ref: StorageVolRef) -> tuple[Pool, VolumeDef]: ...

    def _check_space(self, pool: Pool, need: int, name: str) -> None:
        avail = self.backend(pool).sizes(pool)[2]
        if need > avail:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"not enough space in storage pool '{pool.defn.name}' for volume '{name}': "
                              f"{need} bytes asked for, {avail} bytes available")

    def create_volume(self, pref: StoragePoolRef, xml: str, flags: int,
                      source: Optional[StorageVolRef] = None) -> StorageVolRef:
        with self.lock:
            pool = self.active_pool(pref)
            vdef = parse_volume(xml, pool.defn.type)
            vols = self.volumes(pool)
            if vdef.name in vols:
                raise DriverError(self.vol_exists_code, f"storage volume name '{vdef.name}' already in use"
                                  if self.vol_exists_code != C.VIR_ERR_OPERATION_FAILED
                                  else "storage vol already exists")
            src: Optional[VolumeDef] = None
            if source is not None:
                src = self.vol(source)[1]
            elif vdef.capacity is None and vdef.backing_path is None:
                raise DriverError(C.VIR_ERR_XML_ERROR, "missing capacity element: write e.g. "
                                  "<capacity unit='GiB'>10</capacity>", C.VIR_FROM_STORAGE)
            if vdef.capacity == 0 and src is None and vdef.backing_path is None:
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"volume '{vdef.name}' has capacity 0: give it a size "
                                  f"of at least 1 byte")
            need = vdef.capacity if vdef.capacity is not None else (src.capacity or 0 if src else 0)
            self._check_space(pool, need, vdef.name)
            made = self.backend(pool).create_volume(pool, vdef, src)
            vols[made.name] = made
            return pool.vol_ref(made)

    def _refuse_running_users(self, vol: VolumeDef, action: str) -> None:
        running = sorted(d for d, up in self.users(vol.path or "") if up)
        if running:
            raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                              f"cannot {action} volume '{vol.name}': it is in use by running domain"
                              f"{'s' if len(running) > 1 else ''} {', '.join(repr(d) for d in running)}; "
                              f"shut {'them' if len(running) > 1 else 'it'} down first")

    def vol_delete(self, ref: StorageVolRef, flags: int) -> None:
        with self.lock:
            pool, vol = self.vol(ref)
            self._refuse_running_users(vol, "delete")
            self.backend(pool).delete_volume(pool, vol)
            self.volumes(pool).pop(vol.name, None)

    def vol_wipe(self, ref: StorageVolRef, flags: int) -> None:
        with self.lock:
            pool, vol = self.vol(ref)
            self._refuse_running_users(vol, "wipe")
            backend = self.backend(pool)
            backend.wipe_volume(pool, vol)
            self.volumes(pool)[vol.name] = backend.stat_volume(pool, vol)

    def vol_resize(self, ref: StorageVolRef, capacity: int, flags: int) -> None:
        with self.lock:
            pool, vol = self.vol(ref)
            old = vol.capacity or 0
            new = old + capacity if flags & C.VIR_STORAGE_VOL_RESIZE_DELTA else capacity
            if new <= 0:
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"cannot resize volume '{vol.name}' to {new} bytes: the "
                                                         f"size must be at least 1 byte")
            shrink = new < old
            if shrink and not flags & C.VIR_STORAGE_VOL_RESIZE_SHRINK:
                raise DriverError(C.VIR_ERR_INVALID_ARG,
                                  f"cannot shrink volume '{vol.name}' from {old} to {new} bytes without the "
                                  f"shrink flag (VIR_STORAGE_VOL_RESIZE_SHRINK / --shrink): data past the new "
                                  f"end is lost")
            if new > old:
                self._check_space(pool, new - old, vol.name)
            self._refuse_running_users(vol, "resize")
            backend = self.backend(pool)
            backend.resize_volume(pool, vol, new, shrink)
            self.volumes(pool)[vol.name] = backend.stat_volume(pool, replace(vol, capacity=new))

    def vol_upload(self, ref: StorageVolRef, offset: int, length: int, flags: int) -> Sink:
        with self.lock:
            pool, vol = self.vol(ref)
            self._refuse_running_users(vol, "upload to")
            if vol.capacity is not None and offset > vol.capacity and pool.defn.type != "dir":
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"offset {offset} is past the end of volume '{vol.name}'")
            sink = self.backend(pool).upload(pool, vol, offset, length)
            return _Updating(sink, self, pool, vol)

    def vol_download(self, ref: StorageVolRef, offset: int, length: int, flags: int) -> Source:
        with self.lock:
            pool, vol = self.vol(ref)
            return self.backend(pool).download(pool, vol, offset, length)


class _Updating:
    """A sink that re-reads its volume after the upload finished (capacity and format may have changed)."""

    def __init__(self, sink: Sink, table: VolumeChanges, pool: Pool, vol: VolumeDef) -> None:
        self.sink, self.table, self.pool, self.vol = sink, table, pool, vol

    def write(self, data: bytes) -> None:
        self.sink.write(data)

    def finish(self) -> None:
        self.sink.finish()
        with self.table.lock:
            vols = self.pool.vols
            if vols is not None:
                try:
                    vols[self.vol.name] = self.table.backend(self.pool).stat_volume(self.pool, self.vol)
                except DriverError:
                    vols.pop(self.vol.name, None)

    def abort(self) -> None:
        self.sink.abort()
