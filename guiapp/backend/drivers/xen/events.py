"""Lifecycle events of a Xen connection: callbacks, the XenStore watcher, and why domains come and go.

STARTED/STOPPED come from ``@introduceDomain``/``@releaseDomain`` (so domains started
or stopped by other tools are reported too); the driver tells beforehand why a
domain is about to appear or disappear (booted, restored, saved, destroyed...), so
the detail is right.  DEFINED/UNDEFINED/SUSPENDED/RESUMED are emitted by the driver
directly, as XenStore does not see them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ..base import DomainRef
from .xenstore import DomainWatcher, XenStoreDriver, XsDomain

EventCallback = Callable[[DomainRef, int, int], None]


def ref_of(x: XsDomain) -> DomainRef:
    return DomainRef(x.name, x.uuid, x.domid)


class DomainEvents:
    """Callbacks ``cb(ref, event, detail)``; the watcher thread runs only while someone listens."""

    def __init__(self, xs: XenStoreDriver, after_change: Optional[Callable[[], None]] = None) -> None:
        self.xs = xs
        self.after_change = after_change
        self._callbacks: dict[int, EventCallback] = {}
        self._ids = itertools.count(1)
        self._watcher: Optional[DomainWatcher] = None
        self._known: dict[int, DomainRef] = {}
        self._expected: dict[tuple[int, bytes], int] = {}
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._watcher is not None

    def register(self, callback: EventCallback) -> int:
        cid = next(self._ids)
        with self._lock:
            self._callbacks[cid] = callback
            start = self._watcher is None
            if start:
                self._known = {x.domid: ref_of(x) for x in self.xs.domains()}
        if start:
            self._watcher = self.xs.watch_domains(self.domains_changed)
            self.domains_changed()  # anything that changed while the watches were being set up
        return cid

    def deregister(self, cid: int) -> None:
        with self._lock:
            if self._callbacks.pop(cid, None) is None:
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"no event callback with id {cid}", C.VIR_FROM_XEN)
            watcher = self._watcher if not self._callbacks else None
            if watcher is not None:
                self._watcher = None
                self._expected.clear()
        if watcher is not None:
            watcher.stop()

    def close(self) -> None:
        with self._lock:
            watcher, self._watcher = self._watcher, None
            self._callbacks.clear()
        if watcher is not None:
            watcher.stop()

    def expect(self, event: int, uuid: bytes, detail: int) -> None:
        """The next STARTED/STOPPED ``event`` of domain ``uuid`` has this detail (kept only while watching)."""
        if self._watcher is not None:
            self._expected[(event, uuid)] = detail

    def unexpect(self, event: int, uuid: bytes) -> None:
        self._expected.pop((event, uuid), None)

    def domains_changed(self) -> None:
        """Watcher thread: turn introduce/release into STARTED/STOPPED events."""
        try:
            now = {x.domid: ref_of(x) for x in self.xs.domains()}
        except DriverError:
            return
        with self._lock:
            before, self._known = self._known, now
        for domid in sorted(set(now) - set(before)):
            ref = now[domid]
            self.emit(ref, C.VIR_DOMAIN_EVENT_STARTED, self._expected.pop(
                (C.VIR_DOMAIN_EVENT_STARTED, ref.uuid), C.VIR_DOMAIN_EVENT_STARTED_BOOTED))
        for domid in sorted(set(before) - set(now)):
            ref = before[domid]
            self.emit(ref._replace(id=-1), C.VIR_DOMAIN_EVENT_STOPPED, self._expected.pop(
                (C.VIR_DOMAIN_EVENT_STOPPED, ref.uuid), C.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN))
        if self.after_change is not None and now.keys() != before.keys():
            try:
                self.after_change()
            except Exception:  # housekeeping must not stop the watcher
                pass

    def emit(self, ref: DomainRef, event: int, detail: int) -> None:
        for cb in list(self._callbacks.values()):
            try:
                cb(ref, event, detail)
            except Exception:  # one broken listener must not starve the others
                pass


__all__ = ["DomainEvents", "EventCallback", "ref_of"]
