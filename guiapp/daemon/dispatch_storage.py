"""REMOTE storage procedures served by guiappd, each answered through guiapp's public storage API.

Registered into :data:`guiapp.daemon.dispatch.HANDLERS` on import (``dispatch`` imports this module).
A pool on the wire is found by its UUID, a volume by its key, as libvirtd finds them.  Volume
upload/download are stream procedures: :mod:`guiapp.daemon.dispatch_stream` serves them.
"""

from __future__ import annotations

from typing import Any, Optional

from ..backend.storage import virStoragePool, virStorageVol
from .dispatch import HANDLERS, Handler, Session, _conn


def pool_wire(p: virStoragePool) -> dict[str, Any]:
    """A ``remote_nonnull_storage_pool`` for a virStoragePool."""
    return {"name": p.name(), "uuid": p.UUID()}


def vol_wire(v: virStorageVol, pool: Optional[str] = None) -> dict[str, Any]:
    """A ``remote_nonnull_storage_vol`` (``pool``: its pool's name when the caller knows it)."""
    return {"pool": pool if pool is not None else v.storagePoolLookupByVolume().name(), "name": v.name(),
            "key": v.key()}


def _pool(s: Session, a: Any) -> virStoragePool:
    return _conn(s).storagePoolLookupByUUID(a["pool"]["uuid"])


def _vol(s: Session, wire: dict[str, Any]) -> virStorageVol:
    return _conn(s).storageVolLookupByKey(wire["key"])


def _h(name: str) -> Any:
    def deco(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn
    return deco


# --------------------------------------------------------------------- pools
@_h("CONNECT_LIST_ALL_STORAGE_POOLS")
def _list_all(s: Session, a: Any) -> Any:
    pools = _conn(s).listAllStoragePools(a["flags"])
    return {"pools": [pool_wire(p) for p in pools] if a["need_results"] else [], "ret": len(pools)}


@_h("CONNECT_LIST_STORAGE_POOLS")
def _list_active(s: Session, a: Any) -> Any:
    return {"names": _conn(s).listStoragePools()[:max(0, a["maxnames"])]}


@_h("CONNECT_NUM_OF_STORAGE_POOLS")
def _num_active(s: Session, a: Any) -> Any:
    return {"num": len(_conn(s).listStoragePools())}


@_h("CONNECT_LIST_DEFINED_STORAGE_POOLS")
def _list_defined(s: Session, a: Any) -> Any:
    return {"names": _conn(s).listDefinedStoragePools()[:max(0, a["maxnames"])]}


@_h("CONNECT_NUM_OF_DEFINED_STORAGE_POOLS")
def _num_defined(s: Session, a: Any) -> Any:
    return {"num": len(_conn(s).listDefinedStoragePools())}


@_h("CONNECT_FIND_STORAGE_POOL_SOURCES")
def _find_sources(s: Session, a: Any) -> Any:
    return {"xml": _conn(s).findStoragePoolSources(a["type"], a["srcSpec"], a["flags"])}


@_h("STORAGE_POOL_LOOKUP_BY_NAME")
def _by_name(s: Session, a: Any) -> Any:
    return {"pool": pool_wire(_conn(s).storagePoolLookupByName(a["name"]))}


@_h("STORAGE_POOL_LOOKUP_BY_UUID")
def _by_uuid(s: Session, a: Any) -> Any:
    return {"pool": pool_wire(_conn(s).storagePoolLookupByUUID(a["uuid"]))}


@_h("STORAGE_POOL_LOOKUP_BY_VOLUME")
def _by_volume(s: Session, a: Any) -> Any:
    return {"pool": pool_wire(_vol(s, a["vol"]).storagePoolLookupByVolume())}


@_h("STORAGE_POOL_DEFINE_XML")
def _define(s: Session, a: Any) -> Any:
    return {"pool": pool_wire(_conn(s).storagePoolDefineXML(a["xml"], a["flags"]))}


@_h("STORAGE_POOL_CREATE_XML")
def _create_xml(s: Session, a: Any) -> Any:
    return {"pool": pool_wire(_conn(s).storagePoolCreateXML(a["xml"], a["flags"]))}


for _name, _method in (("STORAGE_POOL_CREATE", "create"), ("STORAGE_POOL_BUILD", "build"),
                       ("STORAGE_POOL_DELETE", "delete"), ("STORAGE_POOL_REFRESH", "refresh")):
    def _with_flags(s: Session, a: Any, _m: str = _method) -> None:
        getattr(_pool(s, a), _m)(a["flags"])
    HANDLERS[_name] = _with_flags

for _name, _method in (("STORAGE_POOL_DESTROY", "destroy"), ("STORAGE_POOL_UNDEFINE", "undefine")):
    def _plain(s: Session, a: Any, _m: str = _method) -> None:
        getattr(_pool(s, a), _m)()
    HANDLERS[_name] = _plain


@_h("STORAGE_POOL_GET_INFO")
def _info(s: Session, a: Any) -> Any:
    state, capacity, allocation, available = _pool(s, a).info()
    return {"state": state, "capacity": capacity, "allocation": allocation, "available": available}


@_h("STORAGE_POOL_GET_XML_DESC")
def _xml(s: Session, a: Any) -> Any:
    return {"xml": _pool(s, a).XMLDesc(a["flags"])}


@_h("STORAGE_POOL_GET_AUTOSTART")
def _get_autostart(s: Session, a: Any) -> Any:
    return {"autostart": _pool(s, a).autostart()}


@_h("STORAGE_POOL_SET_AUTOSTART")
def _set_autostart(s: Session, a: Any) -> None:
    _pool(s, a).setAutostart(a["autostart"])


@_h("STORAGE_POOL_IS_ACTIVE")
def _is_active(s: Session, a: Any) -> Any:
    return {"active": _pool(s, a).isActive()}


@_h("STORAGE_POOL_IS_PERSISTENT")
def _is_persistent(s: Session, a: Any) -> Any:
    return {"persistent": _pool(s, a).isPersistent()}


@_h("STORAGE_POOL_LIST_ALL_VOLUMES")
def _list_vols(s: Session, a: Any) -> Any:
    p = _pool(s, a)
    vols = p.listAllVolumes(a["flags"])
    name = p.name()
    return {"vols": [vol_wire(v, name) for v in vols] if a["need_results"] else [], "ret": len(vols)}


@_h("STORAGE_POOL_LIST_VOLUMES")
def _list_vol_names(s: Session, a: Any) -> Any:
    return {"names": _pool(s, a).listVolumes()[:max(0, a["maxnames"])]}


@_h("STORAGE_POOL_NUM_OF_VOLUMES")
def _num_vols(s: Session, a: Any) -> Any:
    return {"num": _pool(s, a).numOfVolumes()}


# ------------------------------------------------------------------- volumes
@_h("STORAGE_VOL_LOOKUP_BY_NAME")
def _vol_by_name(s: Session, a: Any) -> Any:
    p = _pool(s, a)
    return {"vol": vol_wire(p.storageVolLookupByName(a["name"]), p.name())}


@_h("STORAGE_VOL_LOOKUP_BY_PATH")
def _vol_by_path(s: Session, a: Any) -> Any:
    return {"vol": vol_wire(_conn(s).storageVolLookupByPath(a["path"]))}


@_h("STORAGE_VOL_LOOKUP_BY_KEY")
def _vol_by_key(s: Session, a: Any) -> Any:
    return {"vol": vol_wire(_conn(s).storageVolLookupByKey(a["key"]))}


@_h("STORAGE_VOL_CREATE_XML")
def _vol_create(s: Session, a: Any) -> Any:
    p = _pool(s, a)
    return {"vol": vol_wire(p.createXML(a["xml"], a["flags"]), p.name())}


@_h("STORAGE_VOL_CREATE_XML_FROM")
def _vol_clone(s: Session, a: Any) -> Any:
    p = _pool(s, a)
    return {"vol": vol_wire(p.createXMLFrom(a["xml"], _vol(s, a["clonevol"]), a["flags"]), p.name())}


@_h("STORAGE_VOL_GET_INFO")
def _vol_info(s: Session, a: Any) -> Any:
    kind, capacity, allocation = _vol(s, a["vol"]).info()
    return {"type": kind, "capacity": capacity, "allocation": allocation}


@_h("STORAGE_VOL_GET_XML_DESC")
def _vol_xml(s: Session, a: Any) -> Any:
    return {"xml": _vol(s, a["vol"]).XMLDesc(a["flags"])}


@_h("STORAGE_VOL_GET_PATH")
def _vol_path(s: Session, a: Any) -> Any:
    return {"name": _vol(s, a["vol"]).path()}


@_h("STORAGE_VOL_DELETE")
def _vol_delete(s: Session, a: Any) -> None:
    _vol(s, a["vol"]).delete(a["flags"])


@_h("STORAGE_VOL_WIPE")
def _vol_wipe(s: Session, a: Any) -> None:
    _vol(s, a["vol"]).wipe(a["flags"])


@_h("STORAGE_VOL_RESIZE")
def _vol_resize(s: Session, a: Any) -> None:
    _vol(s, a["vol"]).resize(a["capacity"], a["flags"])


__all__ = ["pool_wire", "vol_wire"]
