"""The driver model of the seed: one protocol, each driver implements a subset.

A driver is a class with a ``open(uri, read_only)`` class method returning an
instance bound to one connection.  Every other operation (the Protocols of
:mod:`.contract`) is optional:
the API front-end looks the method up by name and, when a driver does not
have it, reports ``VIR_ERR_NO_SUPPORT`` naming the public function (the seed's
NULL entry points).  Drivers never check read-only access, closed connections
or argument types; the front-end does that once for all of them.

Drivers raise :class:`guiapp.backend.errors.DriverError` for every failure.
Domains are identified to drivers by :class:`DomainRef` (name, 16-byte UUID, id).
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple, Optional, Protocol, runtime_checkable

from ..uri import URI


class DomainRef(NamedTuple):
    """What a lookup returns: enough for the front-end to build a virDomain."""

    name: str
    uuid: bytes  # 16 raw bytes
    id: int  # -1 when the domain is not running


class NetworkRef(NamedTuple):
    """What a network lookup returns: enough for the front-end to build a virNetwork."""

    name: str
    uuid: bytes  # 16 raw bytes


class SnapshotRef(NamedTuple):
    """What a snapshot lookup returns: the domain and the snapshot's name (unique within the domain)."""

    domain: DomainRef
    name: str


@runtime_checkable
class Driver(Protocol):
    """Mandatory part of every driver."""

    #: libvirt's error domain for this driver's errors (VIR_FROM_TEST, VIR_FROM_QEMU, ...).
    error_domain: ClassVar[int]
    #: URI schemes this driver serves ("test", "qemu", "xen").
    schemes: ClassVar[tuple[str, ...]]

    @classmethod
    def open(cls, uri: URI, read_only: bool) -> Driver:
        """Connect; raise DriverError(VIR_ERR_NO_CONNECT/OPEN_FAILED, ...) when it cannot serve ``uri``."""

    @classmethod
    def probe(cls) -> Optional[str]:
        """The URI this driver would serve by default on this host, or None (for uri=None)."""

    def close(self) -> None: ...

    def get_type(self) -> str: ...

    def get_uri(self) -> str: ...


# The optional operations, their signatures and C names live in .contract (typed Protocols, one source).
from .contract import OPERATIONS  # noqa: E402,F401 - re-exported for older imports
