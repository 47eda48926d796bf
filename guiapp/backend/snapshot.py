"""virDomainSnapshot and the snapshot methods of virDomain, with libvirt-python's names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import constants as C
from .drivers.base import DomainRef, SnapshotRef
from .errors import DriverError
from .handle import check_flags as _flags
from .handle import check_str as _str

if TYPE_CHECKING:
    from .connection import virConnect
    from .domain import virDomain

#: Snapshot XML flags that may reveal secrets (refused on read-only connections, like the domain's).
_SECURE = C.VIR_DOMAIN_SNAPSHOT_XML_SECURE


class virDomainSnapshot:
    """A handle on one snapshot of a domain; valid while the snapshot exists."""

    __slots__ = ("_dom", "_ref")

    def __init__(self, dom: virDomain, ref: SnapshotRef) -> None:
        self._dom = dom
        self._ref = ref

    def __repr__(self) -> str:
        return f"<virDomainSnapshot {self._ref.name} of {self._ref.domain.name}>"

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other._dom == self._dom
                and other._ref.name == self._ref.name)

    def __hash__(self) -> int:
        return hash((self._ref.domain.uuid, self._ref.name))

    @property
    def _conn(self) -> virConnect:
        return self._dom._conn

    def _call(self, op: str, mutating: bool, *args: Any) -> Any:
        return self._conn._invoke(op, mutating, self._ref, *args)

    def _wrap(self, ref: SnapshotRef) -> virDomainSnapshot:
        return virDomainSnapshot(self._dom, ref)

    def getName(self) -> str:
        return self._ref.name

    def getDomain(self) -> virDomain:
        return self._dom

    def domain(self) -> virDomain:
        return self._dom

    def getConnect(self) -> virConnect:
        return self._conn

    def connect(self) -> virConnect:
        return self._conn

    def getXMLDesc(self, flags: int = 0) -> str:
        def check() -> None:
            _flags(flags)
            if self._conn._ro and flags & _SECURE:
                raise DriverError(C.VIR_ERR_OPERATION_DENIED, "virDomainSnapshotGetXMLDesc with secure flag",
                                  C.VIR_FROM_DOMAIN_SNAPSHOT)
        self._conn._checked(False, "virDomainSnapshotGetXMLDesc", check)
        return self._call("domain_snapshot_get_xml_desc", False, flags)

    def getParent(self, flags: int = 0) -> virDomainSnapshot:
        self._conn._checked(False, "virDomainSnapshotGetParent", lambda: _flags(flags))
        return self._wrap(self._call("domain_snapshot_get_parent", False, flags))

    def listAllChildren(self, flags: int = 0) -> list[virDomainSnapshot]:
        self._conn._checked(False, "virDomainSnapshotListAllChildren", lambda: _flags(flags))
        return [self._wrap(r) for r in self._call("domain_snapshot_list_all_children", False, flags)]

    def listChildrenNames(self, flags: int = 0) -> list[str]:
        return [s.getName() for s in self.listAllChildren(flags)]

    def numChildren(self, flags: int = 0) -> int:
        return len(self.listAllChildren(flags))

    def isCurrent(self, flags: int = 0) -> int:
        self._conn._checked(False, "virDomainSnapshotIsCurrent", lambda: _flags(flags))
        return 1 if self._call("domain_snapshot_is_current", False, flags) else 0

    def hasMetadata(self, flags: int = 0) -> int:
        self._conn._checked(False, "virDomainSnapshotHasMetadata", lambda: _flags(flags))
        return 1 if self._call("domain_snapshot_has_metadata", False, flags) else 0

    def delete(self, flags: int = 0) -> int:
        """Delete the snapshot (CHILDREN: with its descendants; CHILDREN_ONLY; METADATA_ONLY)."""
        self._conn._checked(True, "virDomainSnapshotDelete", lambda: _flags(flags))
        self._call("domain_snapshot_delete", True, flags)
        return 0


class SnapshotMethods:
    """The snapshot methods of virDomain (mixed into it; ``_conn`` and ``_ref`` come from Handle)."""

    __slots__ = ()
    _conn: virConnect
    _ref: DomainRef

    def _snap(self, ref: SnapshotRef) -> virDomainSnapshot:
        return virDomainSnapshot(self, ref)  # type: ignore[arg-type]

    def snapshotCreateXML(self, xmlDesc: str, flags: int = 0) -> virDomainSnapshot:
        """Take (or with REDEFINE, record) a snapshot described by ``<domainsnapshot>`` XML."""
        self._conn._checked(True, "virDomainSnapshotCreateXML", lambda: (_str(xmlDesc, "xmlDesc"), _flags(flags)))
        return self._snap(self._conn._invoke("domain_snapshot_create_xml", True, self._ref, xmlDesc, flags))

    def listAllSnapshots(self, flags: int = 0) -> list[virDomainSnapshot]:
        self._conn._checked(False, "virDomainListAllSnapshots", lambda: _flags(flags))
        return [self._snap(r) for r in self._conn._invoke("domain_list_all_snapshots", False, self._ref, flags)]

    def snapshotListNames(self, flags: int = 0) -> list[str]:
        return [s.getName() for s in self.listAllSnapshots(flags)]

    def snapshotNum(self, flags: int = 0) -> int:
        return len(self.listAllSnapshots(flags))

    def snapshotLookupByName(self, name: str, flags: int = 0) -> virDomainSnapshot:
        self._conn._checked(False, "virDomainSnapshotLookupByName", lambda: (_str(name, "name"), _flags(flags)))
        return self._snap(self._conn._invoke("domain_snapshot_lookup_by_name", False, self._ref, name, flags))

    def snapshotCurrent(self, flags: int = 0) -> virDomainSnapshot:
        self._conn._checked(False, "virDomainSnapshotCurrent", lambda: _flags(flags))
        return self._snap(self._conn._invoke("domain_snapshot_current", False, self._ref, flags))

    def hasCurrentSnapshot(self, flags: int = 0) -> int:
        self._conn._checked(False, "virDomainHasCurrentSnapshot", lambda: _flags(flags))
        return 1 if self._conn._invoke("domain_has_current_snapshot", False, self._ref, flags) else 0

    def revertToSnapshot(self, snap: virDomainSnapshot, flags: int = 0) -> int:
        """Bring the domain back to ``snap`` (RUNNING / PAUSED pick the state afterwards)."""
        def check() -> None:
            _flags(flags)
            if not isinstance(snap, virDomainSnapshot) or snap._ref.domain.uuid != self._ref.uuid:
                raise DriverError(C.VIR_ERR_INVALID_DOMAIN_SNAPSHOT,
                                  "snap must be a snapshot of this domain", C.VIR_FROM_DOMAIN_SNAPSHOT)
        self._conn._checked(True, "virDomainRevertToSnapshot", check)
        self._conn._invoke("domain_revert_to_snapshot", True, snap._ref, flags)
        return 0


__all__ = ["virDomainSnapshot", "SnapshotMethods"]
