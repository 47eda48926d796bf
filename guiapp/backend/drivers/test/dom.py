"""A domain of the in-memory test driver (its definitions, state and running time), the driver's clock
and the small helpers every part of the driver uses."""

from __future__ import annotations

import time
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef
from .. import common
from ..base import DomainRef
from .profile import _Profile

_FROM_TEST = C.VIR_FROM_TEST
_FROM_DOMAIN = C.VIR_FROM_DOMAIN

Event = tuple[DomainRef, int, int]

#: The driver's clock (monotonic ns); tests replace it to move time forward.
clock = time.monotonic_ns


def _now() -> int:
    return clock()


def _check_flags(flags: int, allowed: int, func: str) -> None:
    common.check_flags(flags, allowed, func, _FROM_TEST)


def _not_running() -> DriverError:
    return common.not_running()


def _existing(dom: Optional[_Dom]) -> Optional[common.Existing]:
    return None if dom is None else common.Existing(dom.name, dom.uuid, dom.active)


class _Dom:
    __slots__ = ("config", "live", "state", "reason", "id", "autostart", "ref", "run_ns", "since",
                 "profile", "uuid", "has_managed_save", "cpu_base", "cpu_t0")

    def __init__(self, config: Optional[DomainDef], live: Optional[DomainDef]) -> None:
        self.config = config  # persistent definition, None for a transient domain
        self.live = live  # running definition, None when shut off
        self.state = C.VIR_DOMAIN_SHUTOFF
        self.reason = C.VIR_DOMAIN_SHUTOFF_UNKNOWN
        self.id = -1
        self.autostart = False
        self.run_ns = 0  # running time accumulated before ``since``
        self.since: Optional[int] = None  # monotonic ns when it last started running
        self.profile: Optional[_Profile] = None
        self.cpu_base = 0  # cpu time used before the current profile (a vCPU change starts a new one)
        self.cpu_t0 = 0  # running ns when the current profile started
        self.has_managed_save = False
        d = live or config
        assert d is not None
        self.uuid = d.uuid
        self.ref = DomainRef(d.name, d.uuid, -1)

    @property
    def cur(self) -> DomainDef:
        return self.live if self.live is not None else self.config  # type: ignore[return-value]

    @property
    def active(self) -> bool:
        return self.id != -1

    @property
    def name(self) -> str:
        return self.ref.name

    def running_ns(self, now: int) -> int:
        if self.since is None:
            return self.run_ns
        return self.run_ns + now - self.since

