"""A domain of the in-memory test driver (its definitions, state and running time), the driver's clock
and the small helpers every part of the driver uses."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Optional

from ... import constants as C
from ...errors import DriverError
from .. import common
from ..base import DomainRef
from .profile import _Profile

if TYPE_CHECKING:  # the XML model loads when a definition is made or read (command-line start-up)
    from lxml import etree

    from ...xml.domain import DomainDef
    from ...xml.node import NodeDomain

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


def tree_devices(root: etree._Element) -> tuple[list[tuple[Optional[str], Optional[str]]], list[Optional[str]]]:
    """(disks as (target, source), interfaces' target devs) read from a domain tree."""
    from ...xml.domain import Disk, Interface

    return ([(x.target, x.source) for x in map(Disk, root.iterfind("devices/disk"))],
            [n.target_dev for n in map(Interface, root.iterfind("devices/interface"))])


class _Dom:
    """A domain: its persistent and running definitions, state, id and running time.

    A domain loaded from a node file starts *pending*: the file's checks ran at open, and its
    definitions are made on first use of :attr:`config` or :attr:`live` (listing, lookups, state and
    ``info()`` only need :meth:`sizes` and the reference), so opening thousands of domains builds none.
    """

    __slots__ = ("_config", "_live", "_pending", "state", "reason", "id", "autostart", "ref", "run_ns", "since",
                 "profile", "uuid", "has_managed_save", "cpu_base", "cpu_t0")

    def __init__(self, config: Optional[DomainDef], live: Optional[DomainDef],
                 pending: Optional[NodeDomain] = None) -> None:
        self._config = config  # persistent definition, None for a transient domain
        self._live = live  # running definition, None when shut off
        self._pending = pending  # a node file's domain whose definitions are not made yet
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
        if pending is not None:
            name, uuid = pending.facts.name, pending.facts.uuid
        else:
            d = live or config
            assert d is not None
            name, uuid = d.name, d.uuid
        self.uuid = uuid
        self.ref = DomainRef(name, uuid, -1)

    def _build(self) -> None:
        """Make a pending domain's definitions as opening the node file used to: the running one (with the
        id given at open) and, for a persistent running domain, a copy as its persistent one."""
        nd = self._pending
        assert nd is not None
        self._pending = None
        d = nd.definition
        if d.id is not None:
            d.id = None
        active = nd.state != C.VIR_DOMAIN_SHUTOFF
        self._config = None if nd.transient else (d.copy() if active else d)
        if active:
            d.id = self.id
            self._live = d

    @property
    def config(self) -> Optional[DomainDef]:
        """The persistent definition, None for a transient domain."""
        if self._pending is not None:
            self._build()
        return self._config

    @config.setter
    def config(self, d: Optional[DomainDef]) -> None:
        if self._pending is not None:
            self._build()
        self._config = d

    @property
    def live(self) -> Optional[DomainDef]:
        """The running definition, None when shut off."""
        if self._pending is not None:
            self._build()
        return self._live

    @live.setter
    def live(self, d: Optional[DomainDef]) -> None:
        if self._pending is not None:
            self._build()
        self._live = d

    @property
    def pending(self) -> Optional[NodeDomain]:
        """The node file's domain while its definitions are not made (see the class docstring)."""
        return self._pending

    @property
    def persistent(self) -> bool:
        nd = self._pending
        return self._config is not None if nd is None else not nd.transient

    def sizes(self) -> tuple[int, int, int, int]:
        """(memory KiB, current memory KiB, vCPUs, current vCPUs) of the current definition (made or not)."""
        nd = self._pending
        if nd is not None:
            f = nd.facts
            return f.memory_kib, f.current_memory_kib, f.vcpus, f.vcpus_current
        d = self.cur
        return d.memory_kib, d.current_memory_kib, d.vcpus, d.vcpus_current

    def devices(self) -> tuple[list[tuple[Optional[str], Optional[str]]], list[Optional[str]]]:
        """(disks as (target, source), interfaces' target devs) of the current definition; a pending
        domain's are read from its checked tree (libvirt's defaults change neither, nor their order)."""
        nd = self._pending
        if nd is None:
            d = self.cur
            return [(x.target, x.source) for x in d.disks], [n.target_dev for n in d.interfaces]
        return tree_devices(nd.tree)

    @property
    def cur(self) -> DomainDef:
        live = self.live
        return live if live is not None else self.config  # type: ignore[return-value]

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

