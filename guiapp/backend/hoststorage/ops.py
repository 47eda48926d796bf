"""The storage operations of a driver, delegated to a :class:`~.table.StorageTable` in ``self._storage``.

The method names are the ``storage_*`` entries of
:data:`guiapp.backend.drivers.base.OPERATIONS`; the front-end
(virConnect / virStoragePool / virStorageVol) checks read-only access and arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import constants as C

if TYPE_CHECKING:  # imported where used: a driver class mixing this in must import fast (CLI start-up)
    from .backend import Sink, Source
    from .refs import StoragePoolRef, StorageVolRef
    from .table import StorageTable


class StorageOpsMixin:
    """Driver entry points for storage pools and volumes; needs ``self._storage``."""

    _storage: StorageTable

    def list_all_storage_pools(self, flags: int = 0) -> list[StoragePoolRef]:
        return self._storage.list_all(flags)

    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        return self._storage.lookup_name(name)

    def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef:
        return self._storage.lookup_uuid(uuid)

    def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        return self._storage.define(xml, flags)

    def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        return self._storage.create_transient(xml, flags)

    def storage_pool_create(self, ref: StoragePoolRef, flags: int = 0) -> None:
        self._storage.start(ref, flags)

    def storage_pool_build(self, ref: StoragePoolRef, flags: int = 0) -> None:
        self._storage.build(ref, flags)

    def storage_pool_destroy(self, ref: StoragePoolRef) -> None:
        self._storage.destroy(ref)

    def storage_pool_delete(self, ref: StoragePoolRef, flags: int = 0) -> None:
        self._storage.delete(ref, flags)

    def storage_pool_undefine(self, ref: StoragePoolRef) -> None:
        self._storage.undefine(ref)

    def storage_pool_refresh(self, ref: StoragePoolRef, flags: int = 0) -> None:
        self._storage.refresh(ref)

    def storage_pool_get_info(self, ref: StoragePoolRef) -> list[int]:
        return self._storage.info(ref)

    def storage_pool_get_xml_desc(self, ref: StoragePoolRef, flags: int = 0) -> str:
        return self._storage.xml_desc(ref, flags)

    def storage_pool_get_autostart(self, ref: StoragePoolRef) -> bool:
        return self._storage.get_autostart(ref)

    def storage_pool_set_autostart(self, ref: StoragePoolRef, value: bool) -> None:
        self._storage.set_autostart(ref, value)

    def storage_pool_is_active(self, ref: StoragePoolRef) -> bool:
        return self._storage.is_active(ref)

    def storage_pool_is_persistent(self, ref: StoragePoolRef) -> bool:
        return self._storage.is_persistent(ref)

    def storage_pool_list_all_volumes(self, ref: StoragePoolRef, flags: int = 0) -> list[StorageVolRef]:
        return self._storage.list_volumes(ref)

    def storage_vol_lookup_by_name(self, ref: StoragePoolRef, name: str) -> StorageVolRef:
        return self._storage.vol_lookup_name(ref, name)

    def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        return self._storage.vol_lookup_path(path)

    def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        return self._storage.vol_lookup_key(key)

    def storage_vol_create_xml(self, ref: StoragePoolRef, xml: str, flags: int = 0) -> StorageVolRef:
        return self._storage.create_volume(ref, xml, flags)

    def storage_vol_create_xml_from(self, ref: StoragePoolRef, xml: str, src: StorageVolRef,
                                    flags: int = 0) -> StorageVolRef:
        return self._storage.create_volume(ref, xml, flags, src)

    def storage_vol_get_info(self, ref: StorageVolRef) -> list[int]:
        return self._storage.vol_info(ref)

    def storage_vol_get_xml_desc(self, ref: StorageVolRef, flags: int = 0) -> str:
        return self._storage.vol_xml(ref)

    def storage_vol_get_path(self, ref: StorageVolRef) -> str:
        return self._storage.vol_path(ref)

    def storage_vol_delete(self, ref: StorageVolRef, flags: int = 0) -> None:
        self._storage.vol_delete(ref, flags)

    def storage_vol_wipe(self, ref: StorageVolRef, flags: int = 0) -> None:
        self._storage.vol_wipe(ref, flags)

    def storage_vol_resize(self, ref: StorageVolRef, capacity: int, flags: int = 0) -> None:
        self._storage.vol_resize(ref, capacity, flags)

    def storage_vol_upload(self, ref: StorageVolRef, offset: int, length: int, flags: int = 0) -> Sink:
        return self._storage.vol_upload(ref, offset, length, flags)

    def storage_vol_download(self, ref: StorageVolRef, offset: int, length: int, flags: int = 0) -> Source:
        return self._storage.vol_download(ref, offset, length, flags)

    def find_storage_pool_sources(self, pool_type: str, spec: str | None, flags: int = 0) -> str:
        from .lvm import find_sources
        from .tools import err

        if pool_type != "logical":
            raise err(C.VIR_ERR_NO_SUPPORT, f"finding sources of '{pool_type}' pools is not supported: only "
                                            f"'logical' (LVM volume groups)")
        if "logical" not in self._storage.backends or getattr(self, "_in_memory_storage", False):
            return "<sources>\n</sources>\n"
        return find_sources()


__all__ = ["StorageOpsMixin"]
