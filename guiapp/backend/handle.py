"""What virDomain and virNetwork share: identity by (connection, UUID), and the front-end's argument checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import constants as C
from .errors import DriverError
from .uuids import format_uuid

if TYPE_CHECKING:
    from .connection import virConnect


def check_flags(flags: Any) -> int:
    """``flags`` must be a non-negative int (libvirt's unsigned int flags)."""
    if isinstance(flags, bool) or not isinstance(flags, int) or flags < 0:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"flags must be a non-negative integer, not {flags!r}")
    return flags


def check_positive(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"{what} must be a positive integer, not {value!r}")


def check_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"{what} must be a string, not {type(value).__name__}")
    return value


class Handle:
    """A named, UUID-identified object of one connection (its ``_ref`` is the driver's NamedTuple)."""

    __slots__ = ("_conn", "_ref")

    def __init__(self, conn: virConnect, ref: Any) -> None:
        self._conn = conn
        self._ref = ref

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._ref.name}>"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._conn is self._conn and other._ref.uuid == self._ref.uuid

    def __hash__(self) -> int:
        return hash(self._ref.uuid)

    def connect(self) -> virConnect:
        return self._conn

    def name(self) -> str:
        return self._ref.name

    def UUID(self) -> bytes:
        return self._ref.uuid

    def UUIDString(self) -> str:
        return format_uuid(self._ref.uuid)
