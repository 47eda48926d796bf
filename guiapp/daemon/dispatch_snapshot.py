"""REMOTE_PROC_DOMAIN_SNAPSHOT_* procedures served from the public snapshot API (registered by importing)."""

from __future__ import annotations

from typing import Any

from ..backend.snapshot import virDomainSnapshot
from .dispatch import Session, _dom, _h, dom_wire


def snap_wire(snap: virDomainSnapshot) -> dict[str, Any]:
    """A ``remote_nonnull_domain_snapshot``."""
    return {"name": snap.getName(), "dom": dom_wire(snap.getDomain())}


def _snap(s: Session, wire: dict[str, Any]) -> virDomainSnapshot:
    return _dom(s, wire["dom"]).snapshotLookupByName(wire["name"], 0)


@_h("DOMAIN_SNAPSHOT_CREATE_XML")
def _create(s: Session, a: Any) -> Any:
    return {"snap": snap_wire(_dom(s, a["dom"]).snapshotCreateXML(a["xml_desc"], a["flags"]))}


@_h("DOMAIN_LIST_ALL_SNAPSHOTS")
def _list(s: Session, a: Any) -> Any:
    snaps = _dom(s, a["dom"]).listAllSnapshots(a["flags"])
    return {"snapshots": [snap_wire(x) for x in snaps] if a["need_results"] else [], "ret": len(snaps)}


@_h("DOMAIN_SNAPSHOT_NUM")
def _num(s: Session, a: Any) -> Any:
    return {"num": _dom(s, a["dom"]).snapshotNum(a["flags"])}


@_h("DOMAIN_SNAPSHOT_LIST_NAMES")
def _names(s: Session, a: Any) -> Any:
    return {"names": _dom(s, a["dom"]).snapshotListNames(a["flags"])[:max(a["maxnames"], 0)]}


@_h("DOMAIN_SNAPSHOT_NUM_CHILDREN")
def _num_children(s: Session, a: Any) -> Any:
    return {"num": _snap(s, a["snap"]).numChildren(a["flags"])}


@_h("DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES")
def _children_names(s: Session, a: Any) -> Any:
    return {"names": _snap(s, a["snap"]).listChildrenNames(a["flags"])[:max(a["maxnames"], 0)]}


@_h("DOMAIN_SNAPSHOT_LOOKUP_BY_NAME")
def _lookup(s: Session, a: Any) -> Any:
    return {"snap": snap_wire(_dom(s, a["dom"]).snapshotLookupByName(a["name"], a["flags"]))}


@_h("DOMAIN_SNAPSHOT_CURRENT")
def _current(s: Session, a: Any) -> Any:
    return {"snap": snap_wire(_dom(s, a["dom"]).snapshotCurrent(a["flags"]))}


@_h("DOMAIN_HAS_CURRENT_SNAPSHOT")
def _has_current(s: Session, a: Any) -> Any:
    return {"result": _dom(s, a["dom"]).hasCurrentSnapshot(a["flags"])}


@_h("DOMAIN_REVERT_TO_SNAPSHOT")
def _revert(s: Session, a: Any) -> None:
    snap = _snap(s, a["snap"])
    snap.getDomain().revertToSnapshot(snap, a["flags"])


@_h("DOMAIN_SNAPSHOT_GET_XML_DESC")
def _xml(s: Session, a: Any) -> Any:
    return {"xml": _snap(s, a["snap"]).getXMLDesc(a["flags"])}


@_h("DOMAIN_SNAPSHOT_GET_PARENT")
def _parent(s: Session, a: Any) -> Any:
    return {"snap": snap_wire(_snap(s, a["snap"]).getParent(a["flags"]))}


@_h("DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN")
def _children(s: Session, a: Any) -> Any:
    kids = _snap(s, a["snapshot"]).listAllChildren(a["flags"])
    return {"snapshots": [snap_wire(x) for x in kids] if a["need_results"] else [], "ret": len(kids)}


@_h("DOMAIN_SNAPSHOT_IS_CURRENT")
def _is_current(s: Session, a: Any) -> Any:
    return {"current": _snap(s, a["snap"]).isCurrent(a["flags"])}


@_h("DOMAIN_SNAPSHOT_HAS_METADATA")
def _has_metadata(s: Session, a: Any) -> Any:
    return {"metadata": _snap(s, a["snap"]).hasMetadata(a["flags"])}


@_h("DOMAIN_SNAPSHOT_DELETE")
def _delete(s: Session, a: Any) -> None:
    _snap(s, a["snap"]).delete(a["flags"])


__all__ = ["snap_wire"]
