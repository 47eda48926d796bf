"""Watching running guests: pidfds noticing a QEMU exit, the lease and event QMP socket of the guests this
process holds, the worker thread applying QMP events and periodic looks at the shared state, lifecycle
actions (on_poweroff / on_reboot / on_crash), lifecycle events to callbacks, and QMP commands.

QMP events and process exits are handled on the worker thread, never on the asyncio loop thread, so the
loop stays free while the worker waits on file locks.
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Optional

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef, parse_domain
from ..base import DomainRef
from .dom import CRASHED, KEEP_RECORD, PAUSED, RUNNING, SHUTOFF, Dom, E, _err, log
from .events import lifecycle_event
from .monitor import Monitor, one_shot
from .process import pidfd_open, terminate, wait_exit
from .record import stopped_record
from .snapshots import job_event as snapshot_job_event
from .state import CMDLOCK, LEASE, RECORD, FileLock, process_alive, remove_runtime_files, try_lease
from .taps import QemuTaps

TICK = 0.5  # seconds between the worker's looks at the shared state

class QemuSupervisor(QemuTaps):
    """Process watching, the worker and events of :class:`~.driver.QemuDriver`."""

    _queue: queue.Queue[Optional[Callable[[], None]]]  # the worker's tasks (None: stop)
    _cb_ids: Iterator[int]

    if TYPE_CHECKING:  # in .lifecycle
        def _start(self, defn: DomainDef, *, paused: bool = False, restore: Optional[tuple[str, int, bool]] = None,
                   keep_id: Optional[int] = None) -> Dom: ...

        def _device_deleted(self, name: str, data: dict[str, Any]) -> None: ...  # in .hotplug

    def _watch(self, dom: Dom) -> None:
        assert dom.record is not None and dom.record.pid is not None
        pid = dom.record.pid
        if dom.watched_pid == pid:
            return
        self._unwatch(dom)
        fd = pidfd_open(pid)
        dom.watched_pid = pid
        if fd is None:
            self._post(lambda: self._handle_exit(dom.name, pid))
            return
        dom.pidfd = fd
        name = dom.name

        def register() -> None:
            with contextlib.suppress(Exception):
                self.mloop.loop.add_reader(fd, self._on_pidfd, name, pid, fd)
        self.mloop.soon(register)

    def _on_pidfd(self, name: str, pid: int, fd: int) -> None:  # loop thread
        with contextlib.suppress(Exception):
            self.mloop.loop.remove_reader(fd)
        self._post(lambda: self._handle_exit(name, pid))

    def _unwatch(self, dom: Dom) -> None:
        fd = dom.pidfd
        dom.pidfd = None
        dom.watched_pid = None
        if fd is not None:
            def drop() -> None:
                with contextlib.suppress(Exception):
                    self.mloop.loop.remove_reader(fd)
                os.close(fd)
            if self.mloop.loop.is_closed():
                os.close(fd)
            else:
                self.mloop.soon(drop)

    def _try_attach(self, dom: Dom) -> bool:
        """Take the guest's lease and connect to its event socket (re-attach after a restart of the manager)."""
        rec = dom.record
        if rec is None or not rec.qmp or self._closed or self.read_only:  # a read-only connection only looks
            return False
        fd = try_lease(self.dirs.run_file(dom.uuid, LEASE))
        if fd is None:
            return False
        mon = Monitor(self.mloop, rec.qmp, self._event_sink(dom.name))
        try:
            mon.connect(timeout=2)
        except DriverError:
            os.close(fd)
            return False
        dom.monitor, dom.lease_fd = mon, fd
        with contextlib.suppress(DriverError):
            info = mon.execute("query-balloon", timeout=5)
            dom.balloon_bytes = info.get("actual")
        with contextlib.suppress(DriverError):
            status = mon.execute("query-status", timeout=5).get("status")
            # the guest powered off or panicked while nobody listened: report it until the worker acts
            dom.attach_status = status if status in ("shutdown", "guest-panicked") else None
        if rec.state in (RUNNING, PAUSED, CRASHED):
            self._post(lambda: self._reconcile(dom.name))
        return True

    def _detach(self, dom: Dom) -> None:
        mon, dom.monitor = dom.monitor, None
        if mon is not None:
            mon.close()
        if dom.lease_fd is not None:
            os.close(dom.lease_fd)
            dom.lease_fd = None
        self._unwatch(dom)

    def _event_sink(self, name: str) -> Callable[[str, dict[str, Any], float], None]:
        def sink(event: str, data: dict[str, Any], when: float) -> None:  # loop thread: hand over to the worker
            if event == "BALLOON_CHANGE":
                dom = self._doms.get(name)
                if dom is not None:
                    dom.balloon_bytes = data.get("actual")
                return
            if snapshot_job_event(event, data):  # a snapshot job's end: wake its waiter now
                return
            if event == "DEVICE_DELETED":  # an unplug finished (drivers/qemu/hotplug.py waits for it)
                self._device_deleted(name, data)
                return
            self._post(lambda: self._handle_event(name, event, data, when))
        return sink

    def _post(self, fn: Callable[[], None]) -> None:
        self._queue.put(fn)

    def _work(self) -> None:
        last_tick = time.monotonic()
        while True:
            try:
                fn = self._queue.get(timeout=TICK)
            except queue.Empty:
                fn = self._tick
            if fn is None:
                return
            try:
                fn()
            except Exception:
                log.exception("QEMU driver worker task failed")
            if time.monotonic() - last_tick >= TICK and fn is not self._tick:
                last_tick = time.monotonic()
                with contextlib.suppress(Exception):
                    self._tick()

    def _tick(self) -> None:
        """Periodic look at the shared state: other processes' changes, freed leases, block stats."""
        if self._closed:
            return
        self._sync(attach=True)
        with self._mu:
            doms = list(self._doms.values())
        active = []
        for dom in doms:
            state = self._state(dom)  # one liveness check per guest and tick
            self._note_state(dom, state)
            if state[0] != SHUTOFF and dom.record is not None and dom.record.pid:
                active.append(dom)
        self._stats_pool.forget_others({d.uuid for d in active})
        if self._stats_wanted > self._stats_refreshed:  # someone read stats since the last round: refresh once
            self._stats_refreshed = time.monotonic()
            self._stats_pool.refresh(active, lambda d, cmd: self._qmp(d, cmd, timeout=5))

    def _reconcile(self, name: str) -> None:
        """After attaching: bring the record in line with what QEMU says (events may have been missed)."""
        with self.lock():
            self._sync(attach=False)
            dom = self._doms.get(name)
            if dom is None or not dom.active or dom.monitor is None:
                return
            try:
                status = dom.monitor.execute("query-status", timeout=5).get("status")
            except DriverError:
                return
            rec = dom.record
            assert rec is not None
            dom.attach_status = None
            if status == "running" and rec.state != RUNNING:
                rec.set_state(RUNNING, C.VIR_DOMAIN_RUNNING_UNPAUSED)
            elif status == "paused" and rec.state == RUNNING:
                rec.set_state(PAUSED, C.VIR_DOMAIN_PAUSED_UNKNOWN)
            elif status == "shutdown" and not rec.shutting_down:
                self._handle_event(name, "SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
                return
            elif status == "guest-panicked" and rec.state != CRASHED:
                self._handle_event(name, "GUEST_PANICKED", {})
                return
            self._save_record(dom)
        self._note_state(dom)

    def _handle_event(self, name: str, event: str, data: dict[str, Any], when: float = 0.0) -> None:
        with self.lock():
            self._sync(attach=False)
            dom = self._doms.get(name)
            if dom is None or not dom.active:
                return
            rec = dom.record
            assert rec is not None
            defn = dom.defn
            state = rec.state
            if event in ("SHUTDOWN", "GUEST_PANICKED"):
                dom.attach_status = None
            if event in ("STOP", "RESUME") and when and when <= rec.changed_at:
                return  # we already recorded the change this event reports (it was ours)
            if event == "STOP":
                if state == RUNNING and not rec.shutting_down:
                    rec.set_state(PAUSED, rec.take_pause_reason(C.VIR_DOMAIN_PAUSED_UNKNOWN))
            elif event == "RESUME":
                if state == PAUSED and not rec.shutting_down:
                    rec.set_state(RUNNING, C.VIR_DOMAIN_RUNNING_UNPAUSED)
            elif event == "SHUTDOWN":
                if not data.get("guest"):
                    return  # quit, signal or system_reset from the host: the exit (or nothing) follows
                reboot = data.get("reason") == "guest-reset"
                if not reboot:
                    reboot, rec.fake_reboot = rec.fake_reboot, False
                action = defn.on_reboot if reboot else defn.on_poweroff
                rec.shutting_down = True
                self._lifecycle_action(dom, action, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN)
            elif event == "GUEST_PANICKED":
                if state == CRASHED:
                    return
                self._lifecycle_action(dom, defn.on_crash, C.VIR_DOMAIN_SHUTOFF_CRASHED)
            else:
                return
            if dom.active:
                self._save_record(dom)
        self._note_state(dom)

    def _lifecycle_action(self, dom: Dom, action: str, stop_reason: int) -> None:
        """Apply on_poweroff / on_reboot / on_crash (lock held)."""
        rec = dom.record
        assert rec is not None
        crash = stop_reason == C.VIR_DOMAIN_SHUTOFF_CRASHED
        if action in ("destroy", "coredump-destroy"):
            rec.exit_reason = stop_reason
            self._save_record(dom)
            with contextlib.suppress(DriverError):
                self._qmp(dom, "quit", timeout=5)
        elif action in ("restart", "rename-restart", "coredump-restart"):
            self._restart(dom, crash)
        else:  # preserve: keep QEMU (stopped) for inspection
            if crash:
                rec.set_state(CRASHED, C.VIR_DOMAIN_CRASHED_PANICKED)
            else:
                rec.set_state(PAUSED, C.VIR_DOMAIN_PAUSED_SHUTTING_DOWN)

    def _restart(self, dom: Dom, crash: bool) -> None:
        """Start the guest again in a fresh QEMU, keeping its id (lock held).

        A new process rather than ``system_reset``: a guest reset after it powered off
        (or panicked) and sat stopped for a while does not reliably boot again under TCG.
        """
        rec = dom.record
        assert rec is not None
        dom_id, pid, start = rec.id, rec.pid, rec.start_time
        assert pid is not None
        defn = dom.config.copy() if dom.config is not None else parse_domain(
            dom.defn.to_xml(inactive=True, secure=False), hypervisor="qemu")
        rec.exit_reason = C.VIR_DOMAIN_SHUTOFF_SHUTDOWN  # what other processes see the old QEMU end with
        self._save_record(dom)
        with contextlib.suppress(DriverError):
            self._qmp(dom, "quit", timeout=3)
        self._detach(dom)
        if not wait_exit(pid, start, 2.0):
            terminate(pid, start)
        try:
            self._start(defn, keep_id=dom_id)
        except DriverError as exc:
            log.warning("restarting domain '%s' failed: %s", dom.name, exc)
            return
        new = self._doms.get(dom.name)
        if new is not None and new.record is not None:
            new.record.reason = C.VIR_DOMAIN_RUNNING_CRASHED if crash else C.VIR_DOMAIN_RUNNING_BOOTED
            self._save_record(new)

    def _handle_exit(self, name: str, pid: int) -> None:
        with self.lock():
            self._sync(attach=False)
            dom = self._doms.get(name)
            if dom is None or dom.record is None or dom.record.pid != pid:
                return
            if dom.record.state == SHUTOFF:
                return
            if process_alive(pid, dom.record.start_time):
                return
            self._finalize(dom, self._exit_reason(dom))

    def _reap_if_dead(self, dom: Dom) -> None:
        """Drop a stale runtime entry whose QEMU is gone (lock held)."""
        rec = dom.record
        if rec and rec.pid and rec.state != SHUTOFF and not process_alive(rec.pid,
                                                                                       rec.start_time):
            self._finalize(dom, self._exit_reason(dom))

    def _finalize(self, dom: Dom, reason: int) -> None:
        """The guest's QEMU is gone: clean its runtime files and record the shut-off state (lock held)."""
        self._detach(dom)
        self._remove_taps(dom)
        if dom.config is not None:
            old = dom.record
            with self._mu:  # the shut-off state first: a reader in between must not judge by a removed pid file
                dom.record = stopped_record(dom.name, dom.uuid, reason)
                self._save_record(dom)
            remove_runtime_files(self.dirs, dom.uuid, old, keep=KEEP_RECORD)
            dom.live = dom.live_src = None
            self._note_state(dom)
        else:
            remove_runtime_files(self.dirs, dom.uuid, dom.record)
            self._rec_cache.pop(str(self.dirs.domain_dir(dom.uuid) / RECORD), None)
            dom.record = None
            with self._mu:
                if self._doms.get(dom.name) is dom:
                    del self._doms[dom.name]
            self._note_state(dom, (SHUTOFF, reason))

    def _note_state(self, dom: Dom, state: Optional[tuple[int, int]] = None) -> None:
        """Emit the lifecycle event for a state change of ``dom`` (once per change, in this process)."""
        new = state or self._state(dom)
        old = dom.seen
        dom.seen = new
        if old is None or old == new or not self._callbacks:
            return
        ev = lifecycle_event(old, new)
        if ev is None:
            return
        rid = dom.record.id if dom.record is not None and new[0] != SHUTOFF else None
        ref = DomainRef(dom.name, dom.uuid, rid if rid else -1)
        for cb in list(self._callbacks.values()):
            try:
                cb(ref, ev[0], ev[1])
            except Exception:
                log.exception("domain event callback failed")

    def _emit(self, dom: Dom, event: int, detail: int) -> None:
        ref = dom.ref() if dom.record else DomainRef(dom.name, dom.uuid, -1)
        for cb in list(self._callbacks.values()):
            try:
                cb(ref, event, detail)
            except Exception:
                log.exception("domain event callback failed")

    def domain_event_register(self, callback: Callable[[DomainRef, int, int], None]) -> int:
        cid = next(self._cb_ids)
        self._callbacks[cid] = callback
        return cid

    def domain_event_deregister(self, cid: int) -> None:
        if self._callbacks.pop(cid, None) is None:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"no domain event callback with id {cid}", E)

    def _qmp(self, dom: Dom, cmd: str, args: Optional[dict[str, Any]] = None, *, timeout: float = 30.0,
             fd: Optional[tuple[int, str]] = None) -> Any:
        """Run a QMP command: on our kept-open client, else on the guest's command socket."""
        if dom.monitor is not None and not dom.monitor.closed:
            mon = dom.monitor

            async def run() -> Any:
                if fd is not None:
                    await mon.asend_fd(fd[0], fd[1])
                return await mon.aexecute(cmd, args)
            return self.mloop.call(run(), timeout)
        rec = dom.record
        if rec is None or not rec.qmp_cmd:
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not running")
        with FileLock(self.dirs.run_file(dom.uuid, CMDLOCK))():
            return self.mloop.call(one_shot(rec.qmp_cmd, cmd, args, timeout=min(timeout, 10), fd=fd), timeout)
