"""What every part of the QEMU driver shares: this process's view of a domain (:class:`Dom`), state
shorthands, the error helpers and the driver's logger."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef
from .. import common
from ..base import DomainRef
from .monitor import Monitor
from .record import RuntimeRecord
from .state import CMDLOCK, LEASE, RECORD, process_alive

log = logging.getLogger("guiapp.qemu")

E = C.VIR_FROM_QEMU
RUNNING, PAUSED, SHUTOFF, CRASHED = C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_SHUTOFF, \
    C.VIR_DOMAIN_CRASHED
KEEP_FILES = (LEASE, CMDLOCK)
KEEP_RECORD = KEEP_FILES + (RECORD,)  # a record is replaced atomically, never removed first (readers race)


def _err(code: int, detail: str) -> DriverError:
    return DriverError(code, detail, E)


def _existing(dom: Optional[Dom]) -> Optional[common.Existing]:
    return None if dom is None else common.Existing(dom.name, dom.uuid, dom.active)


def _no_domain(what: str) -> DriverError:
    return DriverError(C.VIR_ERR_NO_DOMAIN, what, E)


@dataclass
class Dom:
    """This process's view of one domain (persistent config and/or runtime record)."""

    name: str
    uuid: bytes
    config: Optional[DomainDef] = None
    record: Optional[RuntimeRecord] = None
    record_error: Optional[DriverError] = None  # its record file cannot be used (e.g. a newer guiapp's)
    live: Optional[DomainDef] = None
    live_src: Optional[str] = None
    monitor: Optional[Monitor] = None
    lease_fd: Optional[int] = None
    pidfd: Optional[int] = None
    watched_pid: Optional[int] = None
    balloon_bytes: Optional[int] = None
    blockstats: list[dict[str, Any]] = field(default_factory=list)
    seen: Optional[tuple[int, int]] = None  # last state an event was emitted for
    attach_status: Optional[str] = None  # QEMU's status at attach time when it needs handling

    @property
    def pid(self) -> Optional[int]:
        r = self.record
        return r.pid if r and r.state != SHUTOFF else None

    @property
    def active(self) -> bool:
        r = self.record
        return r is not None and r.pid is not None and r.running and process_alive(r.pid, r.start_time)

    @property
    def defn(self) -> DomainDef:
        """The definition in effect: live while running, else the persistent one."""
        d = self.live if self.active and self.live is not None else self.config or self.live
        assert d is not None
        return d

    def ref(self) -> DomainRef:
        r = self.record
        return DomainRef(self.name, self.uuid, r.id if r is not None and r.id is not None and self.active else -1)
