"""Define, undefine and the lifecycle of the Xen driver's domains (start, shutdown, reboot, destroy, pause,
save, restore), each through ``xl``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef
from ..base import DomainRef
from . import xlcfg
from .runtime import XenRuntime
from .store import Store


class XenLifecycle(XenRuntime):
    """Definitions and state changes through ``xl`` (with the events they are expected to raise)."""

    def domain_define_xml(self, xml: str, flags: int) -> DomainRef:
        d = self._parse(xml)
        with self._lock:
            existed = d.name in self._definitions()
            x = self._check_unique(d, allow_running_same=True)
            self.store.save_definition(d)
            self._defs_stamp = None
        self._emit(DomainRef(d.name, d.uuid, x.domid if x else -1), C.VIR_DOMAIN_EVENT_DEFINED,
                   C.VIR_DOMAIN_EVENT_DEFINED_UPDATED if existed else C.VIR_DOMAIN_EVENT_DEFINED_ADDED)
        return DomainRef(d.name, d.uuid, x.domid if x else -1)

    def domain_undefine(self, ref: DomainRef, flags: int) -> None:
        with self._lock:
            x, p = self._lookup_ref(ref)
            if p is None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"cannot undefine transient domain '{ref.name}'",
                                  C.VIR_FROM_XEN)
            if x is not None:  # keeps running, as a transient domain: keep its live XML
                self.store.save_status(self._live_def(x))
            self.store.remove_definition(p.name)
            self._defs_stamp = None
        self._emit(ref, C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED)

    # ------------------------------------------------------------ lifecycle
    def _start(self, d: DomainDef, *, paused: bool, detail: int) -> DomainRef:
        cfg_path = self.store.write_cfg(d.name, xlcfg.domain_to_xl(d, self._bridges(d, running=True)))
        self.events.expect(C.VIR_DOMAIN_EVENT_STARTED, d.uuid, detail)
        try:
            self.xl.create(str(cfg_path), paused=paused)
        except DriverError:
            self.events.unexpect(C.VIR_DOMAIN_EVENT_STARTED, d.uuid)
            raise
        x = self.xs.find(name=d.name)
        if x is None:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"xl create returned but domain '{d.name}' did not appear in XenStore", C.VIR_FROM_XEN)
        live = d.copy()
        live.id = x.domid
        self.store.save_status(live)
        return self._ref(x)

    def domain_create(self, ref: DomainRef, flags: int) -> DomainRef:
        with self._lock:
            x, p = self._lookup_ref(ref)
            if x is not None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"domain '{ref.name}' is already running",
                                  C.VIR_FROM_XEN)
            assert p is not None
            return self._start(p.copy(), paused=bool(flags & C.VIR_DOMAIN_START_PAUSED),
                               detail=C.VIR_DOMAIN_EVENT_STARTED_BOOTED)

    def domain_create_xml(self, xml: str, flags: int) -> DomainRef:
        d = self._parse(xml)
        with self._lock:
            self._check_unique(d, allow_running_same=False)
            return self._start(d, paused=bool(flags & C.VIR_DOMAIN_START_PAUSED),
                               detail=C.VIR_DOMAIN_EVENT_STARTED_BOOTED)

    def _stop(self, ref: DomainRef, detail: int, action: Callable[[int], None]) -> None:
        with self._lock:
            x = self._require_running(ref)
            self.events.expect(C.VIR_DOMAIN_EVENT_STOPPED, x.uuid, detail)
            try:
                action(x.domid)
            except DriverError:
                self.events.unexpect(C.VIR_DOMAIN_EVENT_STOPPED, x.uuid)
                raise
            self._reap()

    def domain_shutdown(self, ref: DomainRef, flags: int) -> None:
        self._stop(ref, C.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, self.xl.shutdown)

    def domain_destroy(self, ref: DomainRef, flags: int) -> None:
        self._stop(ref, C.VIR_DOMAIN_EVENT_STOPPED_DESTROYED, self.xl.destroy)

    def domain_reboot(self, ref: DomainRef, flags: int) -> None:
        with self._lock:
            x = self._require_running(ref)
            self.xl.reboot(x.domid)

    def domain_suspend(self, ref: DomainRef) -> None:
        with self._lock:
            x = self._require_running(ref)
            self.xl.pause(x.domid)
        self._emit(self._ref(x), C.VIR_DOMAIN_EVENT_SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)

    def domain_resume(self, ref: DomainRef) -> None:
        with self._lock:
            x = self._require_running(ref)
            self.xl.unpause(x.domid)
        self._emit(self._ref(x), C.VIR_DOMAIN_EVENT_RESUMED, C.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)

    def domain_save(self, ref: DomainRef, path: str, dxml: Optional[str], flags: int) -> None:
        with self._lock:
            x = self._require_running(ref)
            live = self._live_def(x)
            if dxml is not None:
                alt = self._parse(dxml)
                if alt.name != live.name or alt.uuid != live.uuid:
                    raise DriverError(C.VIR_ERR_INVALID_ARG,
                                      "the XML given to save must keep the domain's name and uuid", C.VIR_FROM_XEN)
                live = alt
            live.id = None
            Store.save_sidecar(path, live)
            self._stop(ref, C.VIR_DOMAIN_EVENT_STOPPED_SAVED, lambda domid: self.xl.save(domid, path))

    def domain_restore(self, path: str, dxml: Optional[str], flags: int) -> DomainRef:
        xml = dxml if dxml is not None else Store.load_sidecar(path)
        if xml is None:
            raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                              f"{path}: no domain XML saved with this image ({path}.xml is missing); "
                              f"pass the domain XML to restoreFlags()", C.VIR_FROM_XEN)
        d = self._parse(xml)
        with self._lock:
            self._check_unique(d, allow_running_same=False)
            self.events.expect(C.VIR_DOMAIN_EVENT_STARTED, d.uuid, C.VIR_DOMAIN_EVENT_STARTED_RESTORED)
            try:
                self.xl.restore(path, paused=bool(flags & C.VIR_DOMAIN_SAVE_PAUSED))
            except DriverError:
                self.events.unexpect(C.VIR_DOMAIN_EVENT_STARTED, d.uuid)
                raise
            x = self.xs.find(name=d.name)
            if x is None:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"xl restore returned but domain '{d.name}' did not appear in XenStore",
                                  C.VIR_FROM_XEN)
            d.id = x.domid
            self.store.save_status(d)
            return self._ref(x)

