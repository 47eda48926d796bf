"""The remote driver's storage operations: each one REMOTE procedure (libvirt's ``remote_protocol.x``).

Mixed into :class:`guiapp.backend.drivers.remote.driver.RemoteDriver`, whose ``_call`` reports the
daemon's errors unchanged.  Volume upload/download travel as libvirt's stream packets (:mod:`rpc.stream`).
"""

from __future__ import annotations

from typing import Any, Optional

from ...hoststorage.refs import StoragePoolRef, StorageVolRef
from ...rpc.client import Client
from .streams import open_stream

LIST_MAX = 16384


def pool_wire(ref: StoragePoolRef) -> dict[str, Any]:
    """A ``remote_nonnull_storage_pool``."""
    return {"name": ref.name, "uuid": ref.uuid}


def vol_wire(ref: StorageVolRef) -> dict[str, Any]:
    """A ``remote_nonnull_storage_vol`` (the key travels as libvirt's ``key``)."""
    return {"pool": ref.pool, "name": ref.name, "key": ref.uuid}


def _pool(d: dict[str, Any]) -> StoragePoolRef:
    return StoragePoolRef(d["name"], d["uuid"])


def _vol(d: dict[str, Any]) -> StorageVolRef:
    return StorageVolRef(d["pool"], d["name"], d["key"])


class RemoteStorageMixin:
    """StorageOps over libvirt's RPC protocol."""

    _client: Client  # RemoteDriver's

    def _call(self, proc: str, args: Any = None, timeout: Optional[float] = None,
              raw: bool = False) -> Any:  # provided by RemoteDriver
        raise NotImplementedError

    # ---------------------------------------------------------------- pools
    def list_all_storage_pools(self, flags: int = 0) -> list[StoragePoolRef]:
        r = self._call("CONNECT_LIST_ALL_STORAGE_POOLS", {"need_results": 1, "flags": flags})
        return [_pool(p) for p in r["pools"]]

    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        return _pool(self._call("STORAGE_POOL_LOOKUP_BY_NAME", {"name": name})["pool"])

    def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef:
        return _pool(self._call("STORAGE_POOL_LOOKUP_BY_UUID", {"uuid": uuid})["pool"])

    def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        return _pool(self._call("STORAGE_POOL_DEFINE_XML", {"xml": xml, "flags": flags})["pool"])

    def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        return _pool(self._call("STORAGE_POOL_CREATE_XML", {"xml": xml, "flags": flags})["pool"])

    def storage_pool_create(self, ref: StoragePoolRef, flags: int = 0) -> None:
        self._call("STORAGE_POOL_CREATE", {"pool": pool_wire(ref), "flags": flags})

    def storage_pool_build(self, ref: StoragePoolRef, flags: int = 0) -> None:
        self._call("STORAGE_POOL_BUILD", {"pool": pool_wire(ref), "flags": flags})

    def storage_pool_destroy(self, ref: StoragePoolRef) -> None:
        self._call("STORAGE_POOL_DESTROY", {"pool": pool_wire(ref)})

    def storage_pool_delete(self, ref: StoragePoolRef, flags: int = 0) -> None:
        self._call("STORAGE_POOL_DELETE", {"pool": pool_wire(ref), "flags": flags})

    def storage_pool_undefine(self, ref: StoragePoolRef) -> None:
        self._call("STORAGE_POOL_UNDEFINE", {"pool": pool_wire(ref)})

    def storage_pool_refresh(self, ref: StoragePoolRef, flags: int = 0) -> None:
        self._call("STORAGE_POOL_REFRESH", {"pool": pool_wire(ref), "flags": flags})

    def storage_pool_get_info(self, ref: StoragePoolRef) -> list[int]:
        r = self._call("STORAGE_POOL_GET_INFO", {"pool": pool_wire(ref)})
        return [r["state"], r["capacity"], r["allocation"], r["available"]]

    def storage_pool_get_xml_desc(self, ref: StoragePoolRef, flags: int = 0) -> str:
        return self._call("STORAGE_POOL_GET_XML_DESC", {"pool": pool_wire(ref), "flags": flags})["xml"]

    def storage_pool_get_autostart(self, ref: StoragePoolRef) -> bool:
        return bool(self._call("STORAGE_POOL_GET_AUTOSTART", {"pool": pool_wire(ref)})["autostart"])

    def storage_pool_set_autostart(self, ref: StoragePoolRef, value: bool) -> None:
        self._call("STORAGE_POOL_SET_AUTOSTART", {"pool": pool_wire(ref), "autostart": 1 if value else 0})

    def storage_pool_is_active(self, ref: StoragePoolRef) -> bool:
        return bool(self._call("STORAGE_POOL_IS_ACTIVE", {"pool": pool_wire(ref)})["active"])

    def storage_pool_is_persistent(self, ref: StoragePoolRef) -> bool:
        return bool(self._call("STORAGE_POOL_IS_PERSISTENT", {"pool": pool_wire(ref)})["persistent"])

    def storage_pool_list_all_volumes(self, ref: StoragePoolRef, flags: int = 0) -> list[StorageVolRef]:
        r = self._call("STORAGE_POOL_LIST_ALL_VOLUMES", {"pool": pool_wire(ref), "need_results": 1, "flags": flags})
        return [_vol(v) for v in r["vols"]]

    def find_storage_pool_sources(self, pool_type: str, spec: Optional[str], flags: int = 0) -> str:
        r = self._call("CONNECT_FIND_STORAGE_POOL_SOURCES", {"type": pool_type, "srcSpec": spec, "flags": flags})
        return r["xml"]

    # -------------------------------------------------------------- volumes
    def storage_vol_lookup_by_name(self, ref: StoragePoolRef, name: str) -> StorageVolRef:
        return _vol(self._call("STORAGE_VOL_LOOKUP_BY_NAME", {"pool": pool_wire(ref), "name": name})["vol"])

    def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        return _vol(self._call("STORAGE_VOL_LOOKUP_BY_PATH", {"path": path})["vol"])

    def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        return _vol(self._call("STORAGE_VOL_LOOKUP_BY_KEY", {"key": key})["vol"])

    def storage_vol_create_xml(self, ref: StoragePoolRef, xml: str, flags: int = 0) -> StorageVolRef:
        return _vol(self._call("STORAGE_VOL_CREATE_XML", {"pool": pool_wire(ref), "xml": xml, "flags": flags})["vol"])

    def storage_vol_create_xml_from(self, ref: StoragePoolRef, xml: str, src: StorageVolRef,
                                    flags: int = 0) -> StorageVolRef:
        r = self._call("STORAGE_VOL_CREATE_XML_FROM", {"pool": pool_wire(ref), "xml": xml, "clonevol": vol_wire(src),
                                                        "flags": flags})
        return _vol(r["vol"])

    def storage_vol_get_info(self, ref: StorageVolRef) -> list[int]:
        r = self._call("STORAGE_VOL_GET_INFO", {"vol": vol_wire(ref)})
        return [r["type"], r["capacity"], r["allocation"]]

    def storage_vol_get_xml_desc(self, ref: StorageVolRef, flags: int = 0) -> str:
        return self._call("STORAGE_VOL_GET_XML_DESC", {"vol": vol_wire(ref), "flags": flags})["xml"]

    def storage_vol_get_path(self, ref: StorageVolRef) -> str:
        return self._call("STORAGE_VOL_GET_PATH", {"vol": vol_wire(ref)})["name"]

    def storage_vol_delete(self, ref: StorageVolRef, flags: int = 0) -> None:
        self._call("STORAGE_VOL_DELETE", {"vol": vol_wire(ref), "flags": flags})

    def storage_vol_wipe(self, ref: StorageVolRef, flags: int = 0) -> None:
        self._call("STORAGE_VOL_WIPE", {"vol": vol_wire(ref), "flags": flags})

    def storage_vol_resize(self, ref: StorageVolRef, capacity: int, flags: int = 0) -> None:
        self._call("STORAGE_VOL_RESIZE", {"vol": vol_wire(ref), "capacity": capacity, "flags": flags})

    def storage_vol_upload(self, ref: StorageVolRef, offset: int, length: int, flags: int = 0) -> Any:
        return open_stream(self._client, "STORAGE_VOL_UPLOAD",
                           {"vol": vol_wire(ref), "offset": offset, "length": length, "flags": flags}, "upload")

    def storage_vol_download(self, ref: StorageVolRef, offset: int, length: int, flags: int = 0) -> Any:
        return open_stream(self._client, "STORAGE_VOL_DOWNLOAD",
                           {"vol": vol_wire(ref), "offset": offset, "length": length, "flags": flags}, "download")
