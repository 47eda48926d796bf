"""The SnapshotOps family over libvirt's RPC (REMOTE_PROC_DOMAIN_SNAPSHOT_* of remote_protocol.x), mixed into
:class:`.driver.RemoteDriver`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..base import DomainRef, SnapshotRef

if TYPE_CHECKING:
    from collections.abc import Mapping

def _dom(ref: DomainRef) -> dict[str, Any]:
    return {"name": ref.name, "uuid": ref.uuid, "id": ref.id}


def _snap(ref: SnapshotRef) -> dict[str, Any]:
    return {"name": ref.name, "dom": _dom(ref.domain)}


def _ref(s: Mapping[str, Any]) -> SnapshotRef:
    d = s["dom"]
    return SnapshotRef(DomainRef(d["name"], d["uuid"], d["id"]), s["name"])


class RemoteSnapshotOps:
    """Each operation is one REMOTE procedure; errors arrive from the daemon unchanged."""

    if TYPE_CHECKING:
        def _call(self, proc: Any, args: Any = None, timeout: Optional[float] = None, raw: bool = False) -> Any: ...

    def domain_snapshot_create_xml(self, ref: DomainRef, xml: str, flags: int) -> SnapshotRef:
        r = self._call("DOMAIN_SNAPSHOT_CREATE_XML", {"dom": _dom(ref), "xml_desc": xml, "flags": flags})
        return _ref(r["snap"])

    def domain_list_all_snapshots(self, ref: DomainRef, flags: int) -> list[SnapshotRef]:
        r = self._call("DOMAIN_LIST_ALL_SNAPSHOTS", {"dom": _dom(ref), "need_results": 1, "flags": flags})
        return [_ref(s) for s in r["snapshots"]]

    def domain_snapshot_lookup_by_name(self, ref: DomainRef, name: str, flags: int) -> SnapshotRef:
        r = self._call("DOMAIN_SNAPSHOT_LOOKUP_BY_NAME", {"dom": _dom(ref), "name": name, "flags": flags})
        return _ref(r["snap"])

    def domain_snapshot_current(self, ref: DomainRef, flags: int) -> SnapshotRef:
        return _ref(self._call("DOMAIN_SNAPSHOT_CURRENT", {"dom": _dom(ref), "flags": flags})["snap"])

    def domain_has_current_snapshot(self, ref: DomainRef, flags: int) -> bool:
        return bool(self._call("DOMAIN_HAS_CURRENT_SNAPSHOT", {"dom": _dom(ref), "flags": flags})["result"])

    def domain_revert_to_snapshot(self, snap: SnapshotRef, flags: int) -> None:
        self._call("DOMAIN_REVERT_TO_SNAPSHOT", {"snap": _snap(snap), "flags": flags})

    def domain_snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int) -> str:
        return self._call("DOMAIN_SNAPSHOT_GET_XML_DESC", {"snap": _snap(snap), "flags": flags})["xml"]

    def domain_snapshot_get_parent(self, snap: SnapshotRef, flags: int) -> SnapshotRef:
        return _ref(self._call("DOMAIN_SNAPSHOT_GET_PARENT", {"snap": _snap(snap), "flags": flags})["snap"])

    def domain_snapshot_list_all_children(self, snap: SnapshotRef, flags: int) -> list[SnapshotRef]:
        r = self._call("DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN", {"snapshot": _snap(snap), "need_results": 1,
                                                              "flags": flags})
        return [_ref(s) for s in r["snapshots"]]

    def domain_snapshot_is_current(self, snap: SnapshotRef, flags: int) -> bool:
        return bool(self._call("DOMAIN_SNAPSHOT_IS_CURRENT", {"snap": _snap(snap), "flags": flags})["current"])

    def domain_snapshot_has_metadata(self, snap: SnapshotRef, flags: int) -> bool:
        return bool(self._call("DOMAIN_SNAPSHOT_HAS_METADATA", {"snap": _snap(snap), "flags": flags})["metadata"])

    def domain_snapshot_delete(self, snap: SnapshotRef, flags: int) -> None:
        self._call("DOMAIN_SNAPSHOT_DELETE", {"snap": _snap(snap), "flags": flags})


__all__ = ["RemoteSnapshotOps"]
