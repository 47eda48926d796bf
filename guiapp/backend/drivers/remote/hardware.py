"""The DomainHardwareOps family over libvirt's RPC (DOMAIN_{ATTACH,DETACH,UPDATE}_DEVICE_FLAGS, DOMAIN_RENAME,
DOMAIN_{SET,GET}_METADATA of remote_protocol.x), mixed into :class:`.driver.RemoteDriver`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..base import DomainRef


def _dom(ref: DomainRef) -> dict[str, Any]:
    return {"name": ref.name, "uuid": ref.uuid, "id": ref.id}


class RemoteHardwareOps:
    """Each operation is one REMOTE procedure; errors arrive from the daemon unchanged."""

    if TYPE_CHECKING:
        def _call(self, proc: Any, args: Any = None, timeout: Optional[float] = None, raw: bool = False) -> Any: ...

    def domain_attach_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        self._call("DOMAIN_ATTACH_DEVICE_FLAGS", {"dom": _dom(ref), "xml": xml, "flags": flags})

    def domain_detach_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        self._call("DOMAIN_DETACH_DEVICE_FLAGS", {"dom": _dom(ref), "xml": xml, "flags": flags})

    def domain_update_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        self._call("DOMAIN_UPDATE_DEVICE_FLAGS", {"dom": _dom(ref), "xml": xml, "flags": flags})

    def domain_rename(self, ref: DomainRef, new_name: str, flags: int) -> DomainRef:
        self._call("DOMAIN_RENAME", {"dom": _dom(ref), "new_name": new_name, "flags": flags})
        return ref._replace(name=new_name)

    def domain_set_metadata(self, ref: DomainRef, type: int, metadata: Optional[str], key: Optional[str],
                            uri: Optional[str], flags: int) -> None:
        self._call("DOMAIN_SET_METADATA", {"dom": _dom(ref), "type": type, "metadata": metadata, "key": key,
                                           "uri": uri, "flags": flags})

    def domain_get_metadata(self, ref: DomainRef, type: int, uri: Optional[str], flags: int) -> str:
        r = self._call("DOMAIN_GET_METADATA", {"dom": _dom(ref), "type": type, "uri": uri, "flags": flags})
        return r["metadata"]


__all__ = ["RemoteHardwareOps"]
