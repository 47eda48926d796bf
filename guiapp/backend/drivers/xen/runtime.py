"""The Xen driver's state and the reads every part shares: the sub-drivers (XenStore, xl, the file store),
persistent definitions (re-read when the config directory changes), running domains, their live XML, and the
checks a new definition goes through."""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef, format_uuid, parse_domain
from .. import common
from ..base import DomainRef
from . import xlcfg
from .events import DomainEvents, ref_of
from .livexml import apply_runtime, synthesize
from .networks import AnyBridge, XenNetworksMixin, network_names
from .store import Store
from .xenstore import XenStoreDriver, XsDomain
from .xl import Xl, XlDomain
from .xsclient import DEFAULT_TIMEOUT

log = logging.getLogger("guiapp.xen")


#: Seconds one ``xl list`` answers for (state and CPU time of every domain).
ROWS_TTL = 0.5


def _no_domain(what: str) -> DriverError:
    return DriverError(C.VIR_ERR_NO_DOMAIN, what, C.VIR_FROM_XEN)


def _not_running(name: str) -> DriverError:
    return common.not_running(name, C.VIR_FROM_XEN)


class XenRuntime(XenNetworksMixin):
    """Attributes and shared reads of :class:`~.driver.XenDriver` (the base of its parts)."""

    def __init__(self, socket_path: str, read_only: bool, xl: Xl, store: Store,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.xs = XenStoreDriver(socket_path, read_only, timeout)
        self.xl = xl
        self.store = store
        self.read_only = read_only
        self._lock = threading.RLock()
        self._defs: dict[str, DomainDef] = {}
        self._defs_stamp: Optional[float] = None
        self._info: Optional[dict[str, str]] = None
        self._rows_cache: Optional[tuple[int, float, Optional[dict[int, XlDomain]]]] = None
        self.events = DomainEvents(self.xs, after_change=self._reap)
        self.xs.client()  # fail now, not on the first call, when the socket does not answer
        for path in store.clean_temp_files():  # a define killed half-way (writers still alive are spared)
            log.info("removed %s left by an interrupted write", path)


    # ------------------------------------------------------------ definitions
    def _definitions(self) -> dict[str, DomainDef]:
        """Persistent definitions, re-read when the config directory changed (another connection wrote)."""
        try:
            stamp = self.store.config_dir.stat().st_mtime_ns
        except OSError:
            stamp = None
        if stamp != self._defs_stamp or stamp is None:
            self._defs = self.store.load_definitions()
            self._defs_stamp = stamp
        return self._defs

    def _persistent(self, name: str, uuid: bytes) -> Optional[DomainDef]:
        d = self._definitions().get(name)
        return d if d is not None and d.uuid == uuid else None

    # ------------------------------------------------------------ running state
    def _xl_rows(self) -> Optional[dict[int, XlDomain]]:
        """``xl list`` by domain id, or None when xl cannot run here (state then defaults to running).

        Kept for :data:`ROWS_TTL` seconds so that polling N domains costs one xl run, and dropped
        as soon as this driver runs an xl command that changes something.
        """
        if not self.xl.path:
            return None
        now = time.monotonic()
        cached = self._rows_cache
        if cached is not None and cached[0] == self.xl.generation and now - cached[1] < ROWS_TTL:
            return cached[2]
        generation = self.xl.generation
        try:
            rows: Optional[dict[int, XlDomain]] = {row.domid: row for row in self.xl.list()}
        except DriverError:
            rows = None
        self._rows_cache = (generation, now, rows)
        return rows

    def _running(self, ref: DomainRef) -> Optional[XsDomain]:
        x = self.xs.find(name=ref.name)
        if x is not None and x.uuid == ref.uuid:
            return x
        if x is None or x.uuid != ref.uuid:
            return self.xs.find(uuid=ref.uuid)
        return None

    def _require_running(self, ref: DomainRef) -> XsDomain:
        x = self._running(ref)
        if x is None:
            if self._persistent(ref.name, ref.uuid) is None:
                raise _no_domain(f"no domain with matching uuid '{format_uuid(ref.uuid)}' ({ref.name})")
            raise _not_running(ref.name)
        return x

    def _live_def(self, x: XsDomain, row: Optional[XlDomain] = None) -> DomainDef:
        """The XML of running domain ``x``: what it was started from, plus runtime fields from XenStore."""
        d = self.store.load_status(x.name)
        if d is None or d.uuid != x.uuid:
            p = self._persistent(x.name, x.uuid)
            d = p.copy() if p is not None else synthesize(x, row)
        return apply_runtime(d, x)

    def _guests_on_network(self, name: str) -> list[str]:
        """Running guests whose live XML has a vif on network ``name`` (see XenNetworksMixin)."""
        out = []
        for x in self.xs.domains():
            if x.domid == 0:
                continue
            d = self.store.load_status(x.name)
            if d is not None and name in network_names(d):
                out.append(x.name)
        return out

    def _reap(self) -> None:
        """Forget the live XML of domains that are gone (shut down, destroyed, saved)."""
        try:
            names = {self.xs.client().read_str(f"/local/domain/{i}/name") for i in self.xs.list_domids()}
        except DriverError:
            return
        if not self.store.state_dir.is_dir():
            return
        for path in self.store.state_dir.glob("*.xml"):
            if path.stem not in names:
                try:
                    self.store.remove_status(path.stem)
                except DriverError:
                    pass

    @staticmethod
    def _ref(x: XsDomain) -> DomainRef:
        return ref_of(x)


    def _lookup_ref(self, ref: DomainRef) -> tuple[Optional[XsDomain], Optional[DomainDef]]:
        """(running, persistent) for ``ref``; NO_DOMAIN when it is neither any more."""
        x = self._running(ref)
        p = self._persistent(ref.name, ref.uuid)
        if x is None and p is None:
            raise _no_domain(f"no domain with matching uuid '{format_uuid(ref.uuid)}' ({ref.name})")
        return x, p


    # ------------------------------------------------------------ definitions
    def _parse(self, xml: str) -> DomainDef:
        d = parse_domain(xml, hypervisor="xen")
        xlcfg.to_cfg(d, AnyBridge())  # refuse what xl cannot run before anything is stored or started
        return d

    def _check_unique(self, d: DomainDef, *, allow_running_same: bool) -> Optional[XsDomain]:
        defined = [common.Existing(o.name, o.uuid, False) for o in self._definitions().values()]
        common.check_unique(d.name, d.uuid, defined, error_domain=C.VIR_FROM_XEN)
        x = self.xs.find(name=d.name)
        if x is not None and (x.uuid != d.uuid or not allow_running_same):
            raise DriverError(C.VIR_ERR_OPERATION_FAILED if x.uuid != d.uuid else C.VIR_ERR_OPERATION_INVALID,
                              f"domain '{d.name}' is already running (id {x.domid}, uuid {format_uuid(x.uuid)})",
                              C.VIR_FROM_XEN)
        y = self.xs.find(uuid=d.uuid)
        if y is not None and y.name != d.name:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"domain '{y.name}' is already running with uuid {d.uuid_str}", C.VIR_FROM_XEN)
        return x


    def _emit(self, ref: DomainRef, event: int, detail: int) -> None:
        self.events.emit(ref, event, detail)
