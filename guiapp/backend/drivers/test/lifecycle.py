"""Define, create, undefine and the lifecycle of the test driver's domains (start, pause, shutdown, destroy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import constants as C
from ...errors import DriverError
from ..base import DomainRef
from .dom import Event, _check_flags, _Dom, _not_running, _now
from .state import TestState

if TYPE_CHECKING:
    from ...xml.domain import DomainDef

_FROM_TEST = C.VIR_FROM_TEST

_START_FLAGS = (C.VIR_DOMAIN_START_PAUSED | C.VIR_DOMAIN_START_AUTODESTROY | C.VIR_DOMAIN_START_BYPASS_CACHE
                | C.VIR_DOMAIN_START_FORCE_BOOT | C.VIR_DOMAIN_START_VALIDATE)


class TestLifecycle(TestState):
    """libvirt's test driver's define/create/undefine and state changes, with its events."""

    if TYPE_CHECKING:  # provided by TestSnapshotOps (mixed into TestDriver)
        def _drop_snapshots(self, uuid: bytes) -> None: ...

    def domain_define_xml(self, xml: str, flags: int = 0) -> DomainRef:
        _check_flags(flags, C.VIR_DOMAIN_DEFINE_VALIDATE, "virDomainDefineXMLFlags")
        d = self._parse(xml, define=True)
        events: list[Event] = []
        with self._lock:
            dom = self._check_new(d, check_live=False)
            if dom is None:
                dom = _Dom(d, None)
                dom.reason = C.VIR_DOMAIN_SHUTOFF_UNKNOWN
                self._add(dom)
                detail = C.VIR_DOMAIN_EVENT_DEFINED_ADDED
            else:
                detail = (C.VIR_DOMAIN_EVENT_DEFINED_UPDATED if dom.config is not None
                          else C.VIR_DOMAIN_EVENT_DEFINED_ADDED)
                dom.config = d  # a running domain keeps its live definition until it stops
                if not dom.active:
                    self._set_ref(dom)
            ref = dom.ref
            events.append((ref, C.VIR_DOMAIN_EVENT_DEFINED, detail))
        self._emit(events)
        return ref

    def domain_create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        _check_flags(flags, _START_FLAGS, "virDomainCreateXML")
        d = self._parse(xml)
        events: list[Event] = []
        with self._lock:
            dom = self._to_run(d)
            self._start(dom, flags, events)
            ref = dom.ref
        self._emit(events)
        return ref

    def _to_run(self, d: DomainDef) -> _Dom:
        """The domain that is to run definition ``d``: a defined, inactive one of that name/UUID, else a new one
        (call with the lock held; a clash with a running or different domain is refused by ``_check_new``)."""
        dom = self._check_new(d, check_live=True)
        if dom is None:
            dom = _Dom(None, d)
            self._add(dom)
        else:
            dom.live = d
        return dom

    def _start(self, dom: _Dom, flags: int, events: list[Event], *,
               reason: int = C.VIR_DOMAIN_RUNNING_BOOTED, detail: int = C.VIR_DOMAIN_EVENT_STARTED_BOOTED,
               paused_detail: int = C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED) -> None:
        if dom.live is None:
            dom.live = dom.config.copy()  # type: ignore[union-attr]
        dom.has_managed_save = False  # libvirt's test driver: a start consumes the managed save image
        self._set_running(dom, C.VIR_DOMAIN_RUNNING, reason)
        events.append((dom.ref, C.VIR_DOMAIN_EVENT_STARTED, detail))
        if flags & C.VIR_DOMAIN_START_PAUSED:
            self._pause(dom, C.VIR_DOMAIN_PAUSED_USER)
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_SUSPENDED, paused_detail))

    def domain_create(self, ref: DomainRef, flags: int = 0) -> DomainRef:
        _check_flags(flags, _START_FLAGS, "virDomainCreateWithFlags")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if dom.active:
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"Domain '{dom.name}' is already running", _FROM_TEST)
            self._start(dom, flags, events)
            ref = dom.ref
        self._emit(events)
        return ref

    def domain_undefine(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                     | C.VIR_DOMAIN_UNDEFINE_NVRAM | C.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
                     | C.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | C.VIR_DOMAIN_UNDEFINE_TPM
                     | C.VIR_DOMAIN_UNDEFINE_KEEP_TPM, "virDomainUndefineFlags")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if dom.config is None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, "cannot undefine transient domain", _FROM_TEST)
            if dom.has_managed_save and not flags & C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                  "Refusing to undefine while domain managed save image exists", _FROM_TEST)
            nsnap = len(self._snapshots.get(dom.uuid, ()))
            if nsnap and not flags & C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"cannot delete {'active' if dom.active else 'inactive'}"
                                  f" domain with {nsnap} snapshots", _FROM_TEST)
            self._drop_snapshots(dom.uuid)
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED))
            dom.config = None
            dom.autostart = False
            dom.has_managed_save = False
            if not dom.active:
                self._forget(dom)
        self._emit(events)

    # -- lifecycle -------------------------------------------------------------------------

    def _pause(self, dom: _Dom, reason: int) -> None:
        if dom.since is not None:
            dom.run_ns += _now() - dom.since
            dom.since = None
        dom.state, dom.reason = C.VIR_DOMAIN_PAUSED, reason

    def _unpause(self, dom: _Dom, reason: int) -> None:
        if dom.since is None:
            dom.since = _now()
        dom.state, dom.reason = C.VIR_DOMAIN_RUNNING, reason

    def domain_suspend(self, ref: DomainRef) -> None:
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if dom.state != C.VIR_DOMAIN_RUNNING or not dom.active:
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"domain '{dom.name}' not running", _FROM_TEST)
            self._pause(dom, C.VIR_DOMAIN_PAUSED_USER)
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED))
        self._emit(events)

    def domain_resume(self, ref: DomainRef) -> None:
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if dom.state != C.VIR_DOMAIN_PAUSED or not dom.active:
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"domain '{dom.name}' not paused", _FROM_TEST)
            self._unpause(dom, C.VIR_DOMAIN_RUNNING_UNPAUSED)
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_RESUMED, C.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED))
        self._emit(events)

    def _lifecycle(self, dom: _Dom, action: str, events: list[Event]) -> None:
        """Carry out an on_poweroff/on_reboot action of a domain the guest stopped."""
        if action in ("restart", "rename-restart", "coredump-restart"):
            self._unpause(dom, C.VIR_DOMAIN_RUNNING_BOOTED)  # the guest boots again, same id
        else:  # destroy, preserve, coredump-destroy: libvirt's test driver shuts it off
            self._stop(dom, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN, C.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, events)

    def domain_shutdown(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, 31, "virDomainShutdownFlags")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active or dom.state not in (C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_PAUSED):
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"domain '{dom.name}' not running", _FROM_TEST)
            self._lifecycle(dom, dom.live.on_poweroff, events)  # type: ignore[union-attr]
        self._emit(events)

    def domain_reboot(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, 31, "virDomainReboot")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            self._lifecycle(dom, dom.live.on_reboot, events)  # type: ignore[union-attr]
        self._emit(events)

    def domain_reset(self, ref: DomainRef, flags: int = 0) -> None:
        """testDomainReset: an active domain (paused too) is reset in place; nothing else changes."""
        _check_flags(flags, 0, "virDomainReset")
        with self._lock:
            if not self._get(ref).active:
                raise _not_running()

    def domain_destroy(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, C.VIR_DOMAIN_DESTROY_GRACEFUL | C.VIR_DOMAIN_DESTROY_REMOVE_LOGS, "virDomainDestroyFlags")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            self._stop(dom, C.VIR_DOMAIN_SHUTOFF_DESTROYED, C.VIR_DOMAIN_EVENT_STOPPED_DESTROYED, events)
        self._emit(events)

