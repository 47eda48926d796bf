"""The QEMU/KVM driver: ``qemu:///session`` and ``qemu:///system`` on real, daemonized QEMU processes.

Shared state lives on disk (see :mod:`.state`) so several processes can manage
the same guests.  Each process keeps, per running guest, a pidfd (to notice the
QEMU process going away within milliseconds) and, when it holds the guest's
*lease*, the guest's event QMP socket.  Commands from processes without the
lease go through the guest's second QMP socket, one short connection at a time.
QMP events and process exits are handled on a worker thread, never on the asyncio
loop thread, so the loop stays free while the worker waits on file locks.

Lifecycle without a daemon: with ``on_poweroff=destroy`` a guest power-off ends QEMU
by itself, and the reason is read from QEMU's pid file (removed on a clean exit,
left by a killed QEMU).  The other actions (restart, preserve, rename-restart = restart)
are applied by the process holding the guest's lease, or by the next process that
connects (meanwhile the guest reports "in shutdown" / "crashed").  A restart runs the
guest in a fresh QEMU with the same id.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import re
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ... import console
from ... import constants as C
from ...errors import DriverError
from ...filestore import clean_temp_files, store_document
from ...hostnet.runner import Runner
from ...hoststorage import StorageOpsMixin
from ...uri import URI
from ...uuids import format_uuid
from ...xml.domain import DomainDef, parse_domain
from .. import common
from ..base import DomainRef
from . import savefile
from .capabilities import HostCaps, find_emulators, known_machines, kvm_usable, probe_host
from .command import Command, RunPaths, build_command
from .events import lifecycle_event
from .managedsave import ManagedSaveMixin, managed_save_path
from .monitor import Monitor, MonitorLoop, one_shot
from .networks import attach_tap, can_create_taps, check_target_dev, remove_stale_tap, session_helper, taps_in_use
from .process import pidfd_open, spawn, terminate, vcpu_cpu_time_ns, wait_exit
from .snapshots import QemuSnapshotOps
from .snapshots import job_event as snapshot_job_event
from .state import (
    CMDLOCK,
    CONSOLE_LOG,
    LEASE,
    PIDFILE,
    RECORD,
    Dirs,
    FileLock,
    atomic_write,
    migrate_legacy_layout,
    next_domain_id,
    process_alive,
    process_start_time,
    read_json,
    record_paths,
    remove_runtime_files,
    try_lease,
    write_json,
)
from .stats import domain_stats, read_net_dev
from .storage import host_storage

log = logging.getLogger("guiapp.qemu")

E = C.VIR_FROM_QEMU
RUNNING, PAUSED, SHUTOFF, CRASHED = C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_SHUTOFF, \
    C.VIR_DOMAIN_CRASHED
KEEP_FILES = (LEASE, CMDLOCK)
KEEP_RECORD = KEEP_FILES + (RECORD,)  # a record is replaced atomically, never removed first (readers race)
TICK = 0.5  # seconds between the worker's looks at the shared state


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
    record: Optional[dict[str, Any]] = None
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
        return r.get("pid") if r and r.get("state") != SHUTOFF else None

    @property
    def active(self) -> bool:
        r = self.record
        return bool(r and r.get("pid") and r.get("state") != SHUTOFF
                    and process_alive(r["pid"], r.get("start_time")))

    @property
    def defn(self) -> DomainDef:
        """The definition in effect: live while running, else the persistent one."""
        d = self.live if self.active and self.live is not None else self.config or self.live
        assert d is not None
        return d

    def ref(self) -> DomainRef:
        return DomainRef(self.name, self.uuid, self.record["id"] if self.active else -1)  # type: ignore[index]


class QemuDriver(ManagedSaveMixin, QemuSnapshotOps, StorageOpsMixin):
    """See the module docstring (storage pools: :mod:`.storage`, managed save: :mod:`.managedsave`,
    snapshots: :mod:`.snapshots`)."""

    error_domain = C.VIR_FROM_QEMU
    schemes = ("qemu", "kvm")

    # ------------------------------------------------------------------ open / close
    @classmethod
    def open(cls, uri: URI, read_only: bool) -> QemuDriver:
        if not uri.is_local:
            raise DriverError(C.VIR_ERR_NO_CONNECT, f"'{uri.text}': the QEMU driver manages the local host only; "
                                                    f"use qemu:///session or qemu:///system", E)
        path = uri.path.rstrip("/") or "/session"
        if path not in ("/session", "/system"):
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"'{uri.text}': unexpected QEMU URI path '{uri.path}', try qemu:///session "
                              f"or qemu:///system", E)
        if path == "/system" and os.geteuid() != 0:
            raise DriverError(C.VIR_ERR_OPERATION_DENIED,
                              f"'{uri.text}' needs root; use qemu:///session for your own guests", E)
        if not find_emulators():
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"'{uri.text}': no qemu-system-* emulator is installed (apt-get install "
                              f"qemu-system-x86)", E)
        if path == "/system" and cls is QemuDriver:
            from .system import QemuSystemDriver  # the same driver plus the host's virtual networks
            return QemuSystemDriver(uri, read_only, Dirs.for_uri_path(path))
        return cls(uri, read_only, Dirs.for_uri_path(path))

    @classmethod
    def probe(cls) -> Optional[str]:
        if not find_emulators():
            return None
        return "qemu:///system" if os.geteuid() == 0 else "qemu:///session"

    def __init__(self, uri: URI, read_only: bool, dirs: Dirs) -> None:
        self.uri = "qemu://" + (uri.path.rstrip("/") or "/session")
        self.read_only = read_only
        self.dirs = dirs
        dirs.create()
        self.lock = FileLock(dirs.runtime / "lock")
        self._mu = threading.RLock()
        self._doms: dict[str, Dom] = {}
        self._cfg_cache: dict[str, tuple[tuple[int, int, int], Optional[DomainDef]]] = {}
        self._rec_cache: dict[str, tuple[tuple[int, int, int], Optional[dict[str, Any]]]] = {}
        self.config_errors: dict[str, str] = {}
        self._callbacks: dict[int, Callable[[DomainRef, int, int], None]] = {}
        self._cb_ids = itertools.count(1)
        self._starting: set[str] = set()  # names this process is starting (lock held): _sync() leaves them
        self._caps: Optional[HostCaps] = None
        self._kvm: Optional[bool] = None
        self._closed = False
        self._ready = False
        if not hasattr(self, "_net_run"):
            self._net_run = Runner()  # host network commands (ip) for guest taps, in this network namespace
        self._stats_wanted = -1e9
        self._storage = host_storage(uri.path.rstrip("/") == "/system", dirs, self._volume_users)
        self.mloop = MonitorLoop()
        self._queue: queue.Queue[Optional[Callable[[], None]]] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="guiapp-qemu-worker", daemon=True)
        with self.lock():
            # guests started by a guiapp with the older flat layout are moved over and re-attached
            moved = migrate_legacy_layout(dirs)
            if moved:
                log.info("moved the runtime state of %s to per-domain directories", ", ".join(moved))
            self._clean_temp_files()
            self._sync(attach=True)
            for dom in list(self._doms.values()):
                self._reap_if_dead(dom)
        # Opening never starts anything: autostart is run by whoever starts the host (autostart_once()).
        for dom in self._doms.values():
            dom.seen = self._state(dom)
        self._ready = True
        self._worker.start()

    def close(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(Exception), self.lock():  # leave no half-noticed exit for the next opener
            self._sync(attach=False)
            for dom in list(self._doms.values()):
                self._reap_if_dead(dom)
        self._closed = True
        self._queue.put(None)
        if threading.current_thread() is not self._worker:
            self._worker.join(5)
        with self._mu:
            for dom in self._doms.values():
                self._detach(dom)
        self.mloop.stop()

    def get_type(self) -> str:
        return "QEMU"

    def get_uri(self) -> str:
        return self.uri

    def is_alive(self) -> bool:
        return not self._closed

    # ------------------------------------------------------------------ shared state
    def _sync(self, attach: bool = True) -> None:
        """Bring ``self._doms`` in line with the config and runtime directories (cheap when nothing changed)."""
        with self._mu:
            configs = self._scan_configs()
            records = self._scan_records()
            names = set(configs) | {n for n, r in records.items() if r.get("pid") or n in configs}
            for name in list(self._doms):
                if name not in names and name not in self._starting:
                    self._detach(self._doms.pop(name))
            for name in names - self._starting:  # a guest being started has no saved record yet
                cfg = configs.get(name)
                rec = records.get(name)
                uuid = cfg.uuid if cfg is not None else bytes.fromhex(rec["uuid"])  # type: ignore[index]
                dom = self._doms.get(name)
                if dom is None or dom.uuid != uuid:
                    if dom is not None:
                        self._detach(dom)
                    dom = self._doms[name] = Dom(name, uuid)
                    if self._ready:  # appeared after we opened (another process): its start is an event
                        dom.seen = (SHUTOFF, C.VIR_DOMAIN_SHUTOFF_UNKNOWN)
                dom.config = cfg
                dom.record = rec
                if rec is not None and rec.get("xml") and rec.get("xml") != dom.live_src:
                    try:
                        dom.live = parse_domain(rec["xml"], hypervisor="qemu")
                        dom.live_src = rec["xml"]
                    except DriverError:
                        dom.live = None
                elif rec is None or not rec.get("xml"):
                    dom.live, dom.live_src = None, None
                if rec is not None and rec.get("pid") and rec.get("state") != SHUTOFF:
                    self._watch(dom)
                    if attach and dom.monitor is None:
                        self._try_attach(dom)

    def _file_key(self, path: str) -> Optional[tuple[int, int, int]]:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _scan_configs(self) -> dict[str, DomainDef]:
        out: dict[str, DomainDef] = {}
        try:
            entries = [e for e in os.scandir(self.dirs.config) if e.name.endswith(".xml") and e.is_file()]
        except OSError:
            entries = []
        live_paths = set()
        for e in entries:
            live_paths.add(e.path)
            key = self._file_key(e.path)
            cached = self._cfg_cache.get(e.path)
            if cached is not None and cached[0] == key:
                defn = cached[1]
            else:
                defn = self._load_config(e.path)
                self._cfg_cache[e.path] = (key, defn)  # type: ignore[assignment]
            if defn is not None:
                if defn.name in out:
                    self._broken(e.path, f"domain name '{defn.name}' is defined twice")
                    continue
                out[defn.name] = defn
        for p in list(self._cfg_cache):
            if p not in live_paths:
                del self._cfg_cache[p]
                self.config_errors.pop(p, None)
        return out

    def _load_config(self, path: str) -> Optional[DomainDef]:
        try:
            with open(path, "rb") as f:
                data = f.read()
            defn = parse_domain(data, hypervisor="qemu")
        except OSError as exc:
            self._broken(path, f"cannot read it: {exc.strerror}")
            return None
        except DriverError as exc:
            self._broken(path, str(exc))
            return None
        stem = os.path.basename(path)[:-4]
        if defn.name != stem:
            self._broken(path, f"it defines domain '{defn.name}' but is named after '{stem}'; rename the file")
            return None
        if defn.type not in ("qemu", "kvm"):
            self._broken(path, f"domain type '{defn.type}' is not a QEMU type")
            return None
        self.config_errors.pop(path, None)
        return defn

    def _broken(self, path: str, why: str) -> None:
        if self.config_errors.get(path) != why:
            log.warning("skipping broken domain config %s: %s", path, why)
        self.config_errors[path] = why

    def _scan_records(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        try:
            entries = [str(p) for p in record_paths(self.dirs)]
        except OSError:
            entries = []
        seen = set()
        for path in entries:
            seen.add(path)
            key = self._file_key(path)
            cached = self._rec_cache.get(path)
            if cached is not None and cached[0] == key:
                rec = cached[1]
            else:
                rec = read_json(Path(path))
                if rec is not None and not (isinstance(rec.get("name"), str) and isinstance(rec.get("uuid"), str)
                                            and rec["uuid"] == os.path.basename(os.path.dirname(path))):
                    rec = None
                self._rec_cache[path] = (key, rec)  # type: ignore[assignment]
            if rec is not None:
                out[rec["name"]] = rec
        for p in list(self._rec_cache):
            if p not in seen:
                del self._rec_cache[p]
        return out

    def _save_record(self, dom: Dom) -> None:
        assert dom.record is not None
        path = self.dirs.run_file(dom.uuid, RECORD)
        write_json(path, dom.record)
        self._rec_cache[str(path)] = (self._file_key(str(path)), dom.record)  # type: ignore[assignment]

    def _set_live(self, dom: Dom, live: DomainDef) -> None:
        dom.live = live
        dom.live_src = live.to_xml(secure=False)
        if dom.record is not None:
            dom.record["xml"] = dom.live_src

    # ------------------------------------------------------------------ watching processes
    def _watch(self, dom: Dom) -> None:
        pid = dom.record["pid"]  # type: ignore[index]
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
        if rec is None or self._closed or self.read_only:  # a read-only connection only looks
            return False
        fd = try_lease(self.dirs.run_file(dom.uuid, LEASE))
        if fd is None:
            return False
        mon = Monitor(self.mloop, rec["qmp"], self._event_sink(dom.name))
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
        if rec.get("state") in (RUNNING, PAUSED, CRASHED):
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
            self._post(lambda: self._handle_event(name, event, data, when))
        return sink

    # ------------------------------------------------------------------ worker
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
        stats_wanted = time.monotonic() - self._stats_wanted < 10
        for dom in doms:
            self._note_state(dom)
            if not dom.active:
                continue
            if dom.monitor is not None:
                with contextlib.suppress(DriverError):
                    dom.blockstats = dom.monitor.execute("query-blockstats", timeout=5) or []
            elif stats_wanted:  # someone reads stats here but another process holds the guest: ask QEMU
                with contextlib.suppress(DriverError):
                    dom.blockstats = self._qmp(dom, "query-blockstats", timeout=5) or []
                    dom.balloon_bytes = self._qmp(dom, "query-balloon", timeout=5).get("actual")

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
            if status == "running" and rec["state"] != RUNNING:
                rec.update(state=RUNNING, reason=C.VIR_DOMAIN_RUNNING_UNPAUSED)
            elif status == "paused" and rec["state"] == RUNNING:
                rec.update(state=PAUSED, reason=C.VIR_DOMAIN_PAUSED_UNKNOWN)
            elif status == "shutdown" and not rec.get("shutting_down"):
                self._handle_event(name, "SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
                return
            elif status == "guest-panicked" and rec["state"] != CRASHED:
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
            state = rec["state"]
            if event in ("SHUTDOWN", "GUEST_PANICKED"):
                dom.attach_status = None
            if event in ("STOP", "RESUME") and when and when <= rec.get("changed_at", 0):
                return  # we already recorded the change this event reports (it was ours)
            if event == "STOP":
                if state == RUNNING and not rec.get("shutting_down"):
                    rec.update(state=PAUSED, reason=rec.pop("pause_reason", C.VIR_DOMAIN_PAUSED_UNKNOWN))
            elif event == "RESUME":
                if state == PAUSED and not rec.get("shutting_down"):
                    rec.update(state=RUNNING, reason=C.VIR_DOMAIN_RUNNING_UNPAUSED)
            elif event == "SHUTDOWN":
                if not data.get("guest"):
                    return  # quit, signal or system_reset from the host: the exit (or nothing) follows
                reboot = data.get("reason") == "guest-reset" or rec.pop("fake_reboot", False)
                action = defn.on_reboot if reboot else defn.on_poweroff
                rec["shutting_down"] = True
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
            rec["exit_reason"] = stop_reason
            self._save_record(dom)
            with contextlib.suppress(DriverError):
                self._qmp(dom, "quit", timeout=5)
        elif action in ("restart", "rename-restart", "coredump-restart"):
            self._restart(dom, crash)
        else:  # preserve: keep QEMU (stopped) for inspection
            if crash:
                rec.update(state=CRASHED, reason=C.VIR_DOMAIN_CRASHED_PANICKED)
            else:
                rec.update(state=PAUSED, reason=C.VIR_DOMAIN_PAUSED_SHUTTING_DOWN)

    def _restart(self, dom: Dom, crash: bool) -> None:
        """Start the guest again in a fresh QEMU, keeping its id (lock held).

        A new process rather than ``system_reset``: a guest reset after it powered off
        (or panicked) and sat stopped for a while does not reliably boot again under TCG.
        """
        rec = dom.record
        assert rec is not None
        dom_id, pid, start = rec["id"], rec["pid"], rec.get("start_time")
        defn = dom.config.copy() if dom.config is not None else parse_domain(
            dom.defn.to_xml(inactive=True, secure=False), hypervisor="qemu")
        rec["exit_reason"] = C.VIR_DOMAIN_SHUTOFF_SHUTDOWN  # what other processes see the old QEMU end with
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
            new.record["reason"] = C.VIR_DOMAIN_RUNNING_CRASHED if crash else C.VIR_DOMAIN_RUNNING_BOOTED
            self._save_record(new)

    def _handle_exit(self, name: str, pid: int) -> None:
        with self.lock():
            self._sync(attach=False)
            dom = self._doms.get(name)
            if dom is None or dom.record is None or dom.record.get("pid") != pid:
                return
            if dom.record.get("state") == SHUTOFF:
                return
            if process_alive(pid, dom.record.get("start_time")):
                return
            self._finalize(dom, self._exit_reason(dom))

    def _reap_if_dead(self, dom: Dom) -> None:
        """Drop a stale runtime entry whose QEMU is gone (lock held)."""
        rec = dom.record
        if rec and rec.get("pid") and rec.get("state") != SHUTOFF and not process_alive(rec["pid"],
                                                                                       rec.get("start_time")):
            self._finalize(dom, self._exit_reason(dom))

    def _finalize(self, dom: Dom, reason: int) -> None:
        """The guest's QEMU is gone: clean its runtime files and record the shut-off state (lock held)."""
        self._detach(dom)
        self._remove_taps(dom)
        if dom.config is not None:
            remove_runtime_files(self.dirs, dom.uuid, dom.record, keep=KEEP_RECORD)
            with self._mu:
                dom.record = {"name": dom.name, "uuid": dom.uuid.hex(), "state": SHUTOFF, "reason": reason}
                self._save_record(dom)
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

    # ------------------------------------------------------------------ events
    def _state(self, dom: Dom) -> tuple[int, int]:
        rec = dom.record
        if rec is None:
            return (SHUTOFF, C.VIR_DOMAIN_SHUTOFF_UNKNOWN)
        if rec.get("state") != SHUTOFF and rec.get("pid") and not dom.active:
            return (SHUTOFF, self._exit_reason(dom))
        if dom.attach_status == "shutdown" and rec.get("state") == RUNNING:
            return (C.VIR_DOMAIN_SHUTDOWN, C.VIR_DOMAIN_SHUTDOWN_USER)
        if dom.attach_status == "guest-panicked" and rec.get("state") == RUNNING:
            return (CRASHED, C.VIR_DOMAIN_CRASHED_PANICKED)
        return (rec.get("state", SHUTOFF), rec.get("reason", 0))

    def _exit_reason(self, dom: Dom) -> int:
        """Why QEMU went away: what the driver recorded, else QEMU's pid file tells (it removes it on a clean
        exit, e.g. after a guest power-off; a killed QEMU leaves it behind)."""
        rec = dom.record or {}
        if "exit_reason" in rec:
            return rec["exit_reason"]
        if not Path(rec.get("pidfile") or self.dirs.domain_dir(dom.uuid) / PIDFILE).exists():
            return C.VIR_DOMAIN_SHUTOFF_SHUTDOWN
        return C.VIR_DOMAIN_SHUTOFF_CRASHED

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
        ref = DomainRef(dom.name, dom.uuid, dom.record["id"] if dom.record and new[0] != SHUTOFF and
                        dom.record.get("id") else -1)
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

    # ------------------------------------------------------------------ QMP plumbing
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
        if rec is None or not rec.get("qmp_cmd"):
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not running")
        with FileLock(self.dirs.run_file(dom.uuid, CMDLOCK))():
            return self.mloop.call(one_shot(rec["qmp_cmd"], cmd, args, timeout=min(timeout, 10), fd=fd), timeout)

    # ------------------------------------------------------------------ lookups
    def _find(self, ref: DomainRef) -> Dom:
        self._sync()
        with self._mu:
            dom = self._doms.get(ref.name)
            if dom is None or dom.uuid != ref.uuid:
                dom = next((d for d in self._doms.values() if d.uuid == ref.uuid), None)
        if dom is None:
            raise _no_domain(f"no domain with matching uuid '{format_uuid(ref.uuid)}' ({ref.name})")
        return dom

    def _active(self, ref: DomainRef) -> Dom:
        dom = self._find(ref)
        if not dom.active:
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not running")
        return dom

    def lookup_by_name(self, name: str) -> DomainRef:
        self._sync()
        dom = self._doms.get(name)
        if dom is None:
            raise _no_domain(f"no domain with matching name '{name}'")
        return dom.ref()

    def lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        self._sync()
        dom = next((d for d in self._doms.values() if d.uuid == uuid), None)
        if dom is None:
            raise _no_domain(f"no domain with matching uuid '{format_uuid(uuid)}'")
        return dom.ref()

    def lookup_by_id(self, id: int) -> DomainRef:
        self._sync()
        dom = next((d for d in self._doms.values() if d.active and d.record and d.record.get("id") == id), None)
        if dom is None:
            raise _no_domain(f"no domain with matching id {id}")
        return dom.ref()

    def list_domain_ids(self) -> list[int]:
        self._sync()
        return sorted(d.record["id"] for d in self._doms.values() if d.active and d.record)

    def list_defined_domains(self) -> list[str]:
        self._sync()
        return sorted(d.name for d in self._doms.values() if d.config is not None and not d.active)

    def list_all_domains(self, flags: int) -> list[DomainRef]:
        self._sync()
        out = []
        for d in sorted(self._doms.values(), key=lambda d: d.name):
            active, persistent = d.active, d.config is not None
            state = self._state(d)[0]
            ai = C.VIR_CONNECT_LIST_DOMAINS_ACTIVE | C.VIR_CONNECT_LIST_DOMAINS_INACTIVE
            if flags & ai and not (flags & (C.VIR_CONNECT_LIST_DOMAINS_ACTIVE if active
                                            else C.VIR_CONNECT_LIST_DOMAINS_INACTIVE)):
                continue
            pt = C.VIR_CONNECT_LIST_DOMAINS_PERSISTENT | C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT
            if flags & pt and not (flags & (C.VIR_CONNECT_LIST_DOMAINS_PERSISTENT if persistent
                                            else C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT)):
                continue
            st = (C.VIR_CONNECT_LIST_DOMAINS_RUNNING | C.VIR_CONNECT_LIST_DOMAINS_PAUSED
                  | C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | C.VIR_CONNECT_LIST_DOMAINS_OTHER)
            if flags & st:
                bit = {RUNNING: C.VIR_CONNECT_LIST_DOMAINS_RUNNING, PAUSED: C.VIR_CONNECT_LIST_DOMAINS_PAUSED,
                       SHUTOFF: C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF}.get(state, C.VIR_CONNECT_LIST_DOMAINS_OTHER)
                if not flags & bit:
                    continue
            ms = C.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE | C.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE
            if flags & ms and not (flags & (C.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE
                                            if managed_save_path(self.dirs, d.uuid).is_file()
                                            else C.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE)):
                continue
            auto = self._autostart_path(d.name).exists()
            at = C.VIR_CONNECT_LIST_DOMAINS_AUTOSTART | C.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART
            if flags & at and not (flags & (C.VIR_CONNECT_LIST_DOMAINS_AUTOSTART if auto
                                            else C.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART)):
                continue
            out.append(d.ref())
        return out

    # ------------------------------------------------------------------ connection info
    def get_version(self) -> int:
        emus = find_emulators()
        if not emus:
            return 0
        try:
            out = subprocess.run([emus[0][0], "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return 0
        m = re.search(r"version (\d+)\.(\d+)\.(\d+)", out)
        return int(m.group(1)) * 1_000_000 + int(m.group(2)) * 1000 + int(m.group(3)) if m else 0

    def get_hostname(self) -> str:
        return socket.gethostname()

    def get_capabilities(self) -> str:
        if self._caps is None:
            self._caps = probe_host()
        return self._caps.to_xml()

    def get_max_vcpus(self, type: Optional[str]) -> int:
        if type not in (None, "qemu", "kvm"):
            raise _err(C.VIR_ERR_INVALID_ARG, f"unknown domain type '{type}': use 'qemu' or 'kvm'")
        return 255

    def node_get_info(self) -> list:
        mem_kib = 0
        with contextlib.suppress(OSError):
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    mem_kib = int(line.split()[1])
        cpus = os.cpu_count() or 1
        mhz = 0
        with contextlib.suppress(OSError, ValueError, IndexError):
            m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text(), re.M)
            mhz = int(float(m.group(1))) if m else 0
        return [os.uname().machine, mem_kib // 1024, cpus, mhz, 1, 1, cpus, 1]

    def kvm_available(self) -> bool:
        if self._kvm is None:
            self._kvm = kvm_usable()
        return self._kvm

    # ------------------------------------------------------------------ define / undefine
    def _parse(self, xml: str) -> DomainDef:
        defn = parse_domain(xml, hypervisor="qemu")
        if defn.type not in ("qemu", "kvm"):
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED,
                       f"domain type '{defn.type}' is not supported by the QEMU driver; use type='qemu' or 'kvm'")
        if defn.os_type != "hvm":
            raise DriverError(C.VIR_ERR_OS_TYPE, f"'{defn.os_type}': QEMU runs only <os><type>hvm</type> guests", E)
        return defn

    def _check_unique(self, defn: DomainDef, *, allow_same: bool) -> Optional[Dom]:
        """Name/UUID uniqueness; returns the existing domain with the same name and UUID, if any (lock held)."""
        same = self._doms.get(defn.name)
        other = next((d for d in self._doms.values() if d.uuid == defn.uuid), None)
        if common.check_unique(defn.name, defn.uuid, [_existing(same), _existing(other)], error_domain=E) is None:
            return None
        if not allow_same:
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"domain '{defn.name}' already exists")
        return same

    def domain_define_xml(self, xml: str, flags: int) -> DomainRef:
        defn = self._parse(xml)
        # refuse what can never run, before anything is written
        build_command(defn.copy(), _dummy_paths(), kvm_usable=True, check_files=False, machines=known_machines)
        with self.lock():
            self._sync()
            existing = self._check_unique(defn, allow_same=True)
            self._store_config(defn)
            self._sync()
            dom = self._doms.get(defn.name)
            if dom is None:  # cannot happen: the stored file was read back before it replaced the old one
                raise _err(C.VIR_ERR_INTERNAL_ERROR, f"domain '{defn.name}' was written but does not load back: "
                                                     f"{self.config_errors.get(str(self.dirs.config_file(defn.name)))}")
            if dom.record is None:
                dom.record = {"name": dom.name, "uuid": dom.uuid.hex(), "state": SHUTOFF,
                              "reason": C.VIR_DOMAIN_SHUTOFF_UNKNOWN}
                self._save_record(dom)
            dom.seen = self._state(dom)
        self._emit(dom, C.VIR_DOMAIN_EVENT_DEFINED, C.VIR_DOMAIN_EVENT_DEFINED_UPDATED
                   if existing is not None and existing.config is not None else C.VIR_DOMAIN_EVENT_DEFINED_ADDED)
        return dom.ref()

    def _store_config(self, defn: DomainDef) -> None:
        """Write ``defn``'s config file atomically, only if it reads back (size, name) (lock held)."""
        path = self.dirs.config_file(defn.name)  # refuses names too long for a file name, with the limit

        def read_back(raw: bytes) -> None:
            back = parse_domain(raw, hypervisor="qemu")
            if back.name != defn.name or back.uuid != defn.uuid:
                raise _err(C.VIR_ERR_XML_ERROR, f"it reads back as domain '{back.name}'")
        store_document(path, defn.to_xml(inactive=True, secure=False), read_back, f"domain '{defn.name}'", E)

    def domain_undefine(self, ref: DomainRef, flags: int) -> None:
        with self.lock():
            dom = self._find(ref)
            if dom.config is None:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"cannot undefine transient domain '{dom.name}'")
            nsnap = len(self._tree(dom))  # snapshot metadata: drivers/qemu/snapshots.py
            if nsnap and not flags & C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"cannot delete {'active' if dom.active else 'inactive'} "
                                                        f"domain with {nsnap} snapshots")
            image = self._managed_image(dom.uuid)
            if image is not None and not flags & C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE:
                raise _err(C.VIR_ERR_OPERATION_INVALID,
                           "Refusing to undefine while domain managed save image exists")
            if image is not None:
                image.unlink()
            self._drop_snapshot_metadata(dom)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.dirs.config_file(dom.name))
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._autostart_path(dom.name))
            dom.config = None
            if not dom.active:
                remove_runtime_files(self.dirs, dom.uuid, dom.record)
                self._rec_cache.pop(str(self.dirs.domain_dir(dom.uuid) / RECORD), None)
            self._sync()
        self._emit(dom, C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED)

    def _clean_temp_files(self) -> None:
        """Remove temp files of writers that died (a killed define) from our directories (lock held)."""
        dirs = [self.dirs.runtime, self.dirs.config, self.dirs.config / "autostart"]
        dirs += [p.parent for p in record_paths(self.dirs)]
        for d in dirs:
            for fn in clean_temp_files(d):
                log.info("removed %s left by an interrupted write", d / fn)

    def autostart_once(self) -> list[str]:
        """Start the autostart domains once per boot (the runtime directory is on tmpfs), as libvirtd does.

        Never called by opening a connection: the daemon (or a host's start-up) calls it.
        Returns the names started."""
        if self.read_only:
            raise _err(C.VIR_ERR_OPERATION_DENIED, "autostart needs a read-write connection")
        started: list[str] = []
        with self.lock():
            marker = self.dirs.runtime / "autostarted"
            if marker.exists():
                return started
            atomic_write(marker, f"{time.time()}\n")
            self._sync()
            self._storage.autostart_all()  # pools first: autostart guests may have disks in them
            for dom in list(self._doms.values()):
                if dom.config is not None and not dom.active and self._autostart_path(dom.name).exists():
                    try:
                        self._start(dom.config.copy())
                        started.append(dom.name)
                    except DriverError as exc:
                        log.warning("autostart of domain '%s' failed: %s", dom.name, exc)
        return started

    def _volume_users(self, path: str) -> list[tuple[str, bool]]:
        """(domain, running) of every domain with a disk on ``path`` (for storage's in-use checks)."""
        out = []
        with self._mu:
            for dom in self._doms.values():
                defs = [d for d in (dom.config, dom.live) if d is not None]
                if any(disk.source == path for d in defs for disk in d.disks):
                    out.append((dom.name, dom.active))
        return out

    def _autostart_path(self, name: str) -> Path:
        return self.dirs.config / "autostart" / name

    def domain_get_autostart(self, ref: DomainRef) -> bool:
        return self._autostart_path(self._find(ref).name).exists()

    def domain_set_autostart(self, ref: DomainRef, value: bool) -> None:
        dom = self._find(ref)
        if dom.config is None:
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"cannot set autostart for transient domain '{dom.name}'")
        path = self._autostart_path(dom.name)
        if value:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, dom.name + "\n")
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    # ------------------------------------------------------------------ start
    def command_line(self, xml_or_ref: Any) -> list[str]:
        """The exact QEMU argv this driver would run for a domain (XML text or DomainRef), without starting it."""
        if isinstance(xml_or_ref, DomainRef):
            dom = self._find(xml_or_ref)
            defn = (dom.config or dom.defn).copy()
            dom_id = dom.record["id"] if dom.active and dom.record else -1
        else:
            defn = self._parse(xml_or_ref)
            dom_id = -1
        return build_command(defn, self._paths(defn.uuid, dom_id), kvm_usable=self.kvm_available(),
                             resolve_bridge=self._bridge_for_preview, check_files=False,
                             bridge_helper=self._bridge_helper(), machines=known_machines).argv

    def domain_xml_to_native(self, fmt: str, xml: str, flags: int) -> str:
        """libvirt's virConnectDomainXMLToNative for format 'qemu-argv': the argv as one shell-quoted line."""
        if fmt != "qemu-argv":
            raise _err(C.VIR_ERR_INVALID_ARG, f"unsupported native format '{fmt}'; use 'qemu-argv'")
        return shlex.join(self.command_line(xml))

    def _paths(self, uuid: bytes, dom_id: int) -> RunPaths:
        """Where QEMU puts a guest's files: its runtime directory, sockets named after its id."""
        d, sock = self.dirs.domain_dir(uuid), self.dirs.socket
        return RunPaths(qmp=str(sock(dom_id, "qmp")), qmp_cmd=str(sock(dom_id, "cmd")), pidfile=str(d / PIDFILE),
                        console_log=str(d / CONSOLE_LOG), vnc_socket=str(sock(dom_id, "vnc")))

    def _bridge_helper(self) -> Optional[Callable[[str, str], str]]:
        """How QEMU attaches network/bridge interfaces when this process cannot create taps (None: taps)."""
        return None if can_create_taps() else session_helper

    def _bridge_for_preview(self, network: str) -> str:
        """The bridge a command-line preview shows for ``network`` (the network need not be running)."""
        return self._bridge_for_network(network)

    def _bridge_for_network(self, network: str) -> str:
        """Session: the host bridge behind a virtual network: <config>/networks/NAME.xml <bridge name>, else
        virbr0 (``qemu:///system`` asks its running networks instead, see :mod:`.system`)."""
        path = self.dirs.config.parent / "networks" / f"{network}.xml"
        if path.exists():
            from ...xml.safe import parse_xml
            try:
                root = parse_xml(path.read_bytes(), str(path))
                br = root.find("bridge")
                if br is not None and br.get("name"):
                    return br.get("name")
            except (OSError, DriverError):
                pass
        if network == "default":
            return "virbr0"
        raise _err(C.VIR_ERR_NO_NETWORK,
                   f"network '{network}' is not known: define it in {path} with <bridge name='...'/>")

    def _free_tap_names(self) -> Callable[[int], str]:
        """A namer giving each tap-backed NIC index a vnetN free in this network namespace (lock held)."""
        used = {n for _, n in socket.if_nameindex()}  # this network namespace's devices (not /sys's)
        for d in self._doms.values():
            if d.record:
                used.update(d.record.get("taps", []))
        names: dict[int, str] = {}
        counter = itertools.count()

        def pick(index: int) -> str:
            if index not in names:
                while True:
                    n = f"vnet{next(counter)}"
                    if n not in used:
                        used.add(n)
                        names[index] = n
                        break
            return names[index]
        return pick

    def _check_taps(self, defn: DomainDef, cmd: Command) -> set[str]:
        """Refuse ``<target dev>`` taps in use; returns the bridged taps that already exist (free persistent
        ones, which are kept when the guest stops) (lock held)."""
        owners = {t: d.name for d in self._doms.values() if d.active and d.name != defn.name
                  for t in (d.record or {}).get("taps") or []}
        existing = set()
        for t in cmd.taps:
            if t.bridge and defn.interfaces[t.index].target_dev:
                check_target_dev(self._net_run, t.ifname, owners.get(t.ifname))
                if _netdev_exists(t.ifname):
                    existing.add(t.ifname)
        return existing

    def _remove_taps(self, dom: Dom) -> None:
        """Delete the taps the guest's QEMU had on bridges, if any outlived it (lock held)."""
        rec = dom.record or {}
        own = rec.get("own_taps") or []
        if not own:
            return
        busy = taps_in_use(self.dirs, skip=dom.name)
        for t in own:
            if t not in busy:
                remove_stale_tap(self._net_run, t)

    def _start(self, defn: DomainDef, *, paused: bool = False,
               restore: Optional[tuple[str, int, bool]] = None, keep_id: Optional[int] = None) -> Dom:
        """Start QEMU for ``defn`` (lock held).  ``restore``: (save file, stream offset, was running);
        ``keep_id``: a restart, which keeps the domain id and the console log going."""
        with self._mu:
            self._starting.add(defn.name)
        try:
            return self._start_locked(defn, paused, restore, keep_id)
        finally:
            with self._mu:
                self._starting.discard(defn.name)

    def _start_locked(self, defn: DomainDef, paused: bool, restore: Optional[tuple[str, int, bool]],
                      keep_id: Optional[int]) -> Dom:
        name = defn.name
        kvm = self.kvm_available() if defn.type == "kvm" else False
        self.dirs.check_socket_dir()
        dom_id = keep_id if keep_id is not None else next_domain_id(self.dirs)
        paths = self._paths(defn.uuid, dom_id)
        self.dirs.run_file(defn.uuid, RECORD)  # makes the domain's runtime directory
        old_rec = self._doms[name].record if name in self._doms else None
        for br in [i.bridge for i in defn.interfaces if i.type == "bridge"]:
            if br and not _netdev_exists(br):
                raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"bridge '{br}' does not exist on this host; create it "
                                                         f"or use another <interface> type")
        dom_is_new = name not in self._doms
        incoming_fd = None
        if restore is not None:
            incoming_fd = os.open(restore[0], os.O_RDONLY | os.O_CLOEXEC)
            os.lseek(incoming_fd, restore[1], os.SEEK_SET)
        try:
            cmd = build_command(defn, paths, kvm_usable=kvm, resolve_bridge=self._bridge_for_network,
                                tap_name=self._free_tap_names(), incoming=incoming_fd,
                                bridge_helper=self._bridge_helper(), machines=known_machines)
            existing = self._check_taps(defn, cmd)
            cmd_own_taps = [t.ifname for t in cmd.taps if t.bridge and t.ifname not in existing]
            sockets = (paths.qmp, paths.qmp_cmd, paths.vnc_socket)
            remove_runtime_files(self.dirs, defn.uuid, old_rec,
                                 keep=KEEP_RECORD + ((CONSOLE_LOG,) if keep_id else ()), extra=sockets)
            try:
                pid = spawn(cmd.argv, Path(paths.pidfile), pass_fds=[incoming_fd] if incoming_fd is not None else [])
            except BaseException:
                remove_runtime_files(self.dirs, defn.uuid, None, keep=() if dom_is_new else KEEP_RECORD,
                                     extra=sockets)
                raise
        finally:
            if incoming_fd is not None:
                os.close(incoming_fd)
        start_time = process_start_time(pid)
        dom = self._doms.get(name)
        if dom is None:
            dom = self._doms[name] = Dom(name, defn.uuid, seen=(SHUTOFF, C.VIR_DOMAIN_SHUTOFF_UNKNOWN))
        self._detach(dom)
        try:
            self._bring_up(dom, defn, cmd, pid, start_time, paths, paused, restore, dom_id, cmd_own_taps)
        except BaseException:
            self._detach(dom)
            terminate(pid, start_time, grace=1.0)
            if dom.config is not None:
                remove_runtime_files(self.dirs, dom.uuid, None, keep=KEEP_RECORD, extra=sockets)
                dom.record = {"name": name, "uuid": dom.uuid.hex(), "state": SHUTOFF,
                              "reason": C.VIR_DOMAIN_SHUTOFF_FAILED}
                self._save_record(dom)
            else:
                remove_runtime_files(self.dirs, dom.uuid, None, extra=sockets)
                self._rec_cache.pop(str(self.dirs.domain_dir(dom.uuid) / RECORD), None)
                self._doms.pop(name, None)
            raise
        return dom

    def _bring_up(self, dom: Dom, defn: DomainDef, cmd: Command, pid: int, start_time: Optional[int],
                  paths: RunPaths, paused: bool, restore: Optional[tuple[str, int, bool]],
                  dom_id: int, own_taps: Optional[list[str]] = None) -> None:
        lease = try_lease(self.dirs.run_file(dom.uuid, LEASE))
        if lease is None:
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"another process holds the lease of domain '{dom.name}'")
        dom.lease_fd = lease
        mon = Monitor(self.mloop, paths.qmp, self._event_sink(dom.name))
        mon.connect(timeout=10)
        dom.monitor = mon
        live = defn.copy()
        live.id = dom_id
        if cmd.vnc_password:
            mon.execute("set_password", {"protocol": "vnc", "password": cmd.vnc_password})
        if restore is not None:
            deadline = time.monotonic() + 120
            while True:
                st = mon.execute("query-migrate")
                if st.get("status") == "completed":
                    break
                if st.get("status") in ("failed", "cancelled"):
                    raise _err(C.VIR_ERR_OPERATION_FAILED,
                               f"restoring '{dom.name}' failed: {st.get('error-desc', st.get('status'))}")
                status = mon.execute("query-status").get("status")
                if status not in ("inmigrate", "prelaunch") and st.get("status") in (None, "none"):
                    break
                if time.monotonic() > deadline:
                    raise _err(C.VIR_ERR_OPERATION_TIMEOUT, f"restoring '{dom.name}' took more than 120 s")
                time.sleep(0.01)
        chardevs = mon.execute("query-chardev")
        ptys = {c["label"]: c["filename"][4:] for c in chardevs if c.get("filename", "").startswith("pty:")}
        serials = list(live.serials) or list(live.consoles[:1])
        for i, ch in enumerate(serials):
            path = ptys.get(f"charserial{i}")
            if path:
                ch.path = path
                if ch in live.serials and live.consoles and i == 0:
                    live.consoles[0].path = path
        vnc_port = None
        if live.graphics:
            with contextlib.suppress(DriverError):
                servers = mon.execute("query-vnc-servers")
                for s in servers:
                    for srv in s.get("server", []):
                        if srv.get("family") in ("ipv4", "ipv6") and srv.get("service", "").isdigit():
                            vnc_port = int(srv["service"])
            g = live.graphics[0]
            if vnc_port is not None and g.socket is None:
                g.port = vnc_port
        for tap in cmd.taps:
            if tap.bridge:
                attach_tap(self._net_run, tap.ifname, tap.bridge, live.interfaces[tap.index].mac)
            live.interfaces[tap.index].target_dev = tap.ifname
        nets = [{"network": i.network, "mac": i.mac, "tap": i.target_dev} for i in live.interfaces
                if i.type == "network"]
        if defn.current_memory_kib < defn.memory_kib and cmd.balloon:
            mon.execute("balloon", {"value": defn.current_memory_kib * 1024})
        tids = [c["thread-id"] for c in mon.execute("query-cpus-fast")]
        running = not paused and (restore is None or restore[2])
        if running:
            mon.execute("cont")
        if restore is not None:
            state = (RUNNING, C.VIR_DOMAIN_RUNNING_RESTORED) if running else (PAUSED, C.VIR_DOMAIN_PAUSED_USER)
        else:
            state = (RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED) if running else (PAUSED, C.VIR_DOMAIN_PAUSED_USER)
        with self._mu:  # a concurrent _sync() must not put the old record back before this one is saved
            dom.record = {"name": dom.name, "uuid": dom.uuid.hex(), "id": dom_id, "pid": pid,
                          "start_time": start_time, "state": state[0], "reason": state[1], "qmp": paths.qmp,
                          "qmp_cmd": paths.qmp_cmd,
                          "vcpu_tids": tids, "taps": [t.ifname for t in cmd.taps], "argv": cmd.argv,
                          "vnc_port": vnc_port, "vnc_socket": paths.vnc_socket, "pidfile": paths.pidfile,
                          "no_shutdown": cmd.no_shutdown,
                          "started": time.time(), "changed_at": time.time(), "nets": nets,
                          "own_taps": own_taps or []}
            self._set_live(dom, live)
            dom.balloon_bytes = defn.current_memory_kib * 1024
            self._save_record(dom)
        self._watch(dom)

    def domain_create_xml(self, xml: str, flags: int) -> DomainRef:
        defn = self._parse(xml)
        with self.lock():
            self._sync()
            same = self._check_unique(defn, allow_same=True)
            if same is not None and same.active:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{defn.name}' is already active")
            dom = self._start(defn, paused=bool(flags & C.VIR_DOMAIN_START_PAUSED))
        self._note_state(dom)
        return dom.ref()

    def domain_create(self, ref: DomainRef, flags: int) -> DomainRef:
        with self.lock():
            dom = self._find(ref)
            if dom.active:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is already running")
            if dom.config is None:
                raise _no_domain(f"domain '{dom.name}' has no persistent definition")
            dom.seen = self._state(dom)
            image = self._managed_image(dom.uuid)
            if image is not None and flags & C.VIR_DOMAIN_START_FORCE_BOOT:
                image.unlink()
                image = None
            if image is None:
                self._start(dom.config.copy(), paused=bool(flags & C.VIR_DOMAIN_START_PAUSED))
            else:  # a managed save image: restore it (as it was, paused if asked), then it is used up
                meta, offset = savefile.read_header(str(image))
                running = bool(meta.get("running", True)) and not flags & C.VIR_DOMAIN_START_PAUSED
                self._start(self._parse(meta["xml"]), restore=(str(image), offset, running))
                image.unlink()
        self._note_state(dom)
        return dom.ref()

    # ------------------------------------------------------------------ stop
    def domain_shutdown(self, ref: DomainRef, flags: int) -> None:
        dom = self._active(ref)
        if "acpi" not in dom.defn.features:
            raise _err(C.VIR_ERR_OPERATION_INVALID,
                       f"domain '{dom.name}' has no ACPI (<features><acpi/></features>), so it cannot be asked "
                       f"to shut down; use destroy")
        if dom.record and dom.record.get("state") == PAUSED:
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is paused; resume it before shutting down")
        self._qmp(dom, "system_powerdown")

    def domain_reboot(self, ref: DomainRef, flags: int) -> None:
        with self.lock():
            dom = self._active(ref)
            rec = dom.record
            assert rec is not None
            if rec.get("state") != RUNNING:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not running")
            if "acpi" in dom.defn.features:
                rec["fake_reboot"] = True
                self._save_record(dom)
                if not rec.get("no_shutdown", True):
                    self._qmp(dom, "set-action", {"shutdown": "pause"})  # stay around to apply on_reboot
                self._qmp(dom, "system_powerdown")
            else:
                self._qmp(dom, "send-key", {"keys": [{"type": "qcode", "data": k}
                                                     for k in ("ctrl", "alt", "delete")]})

    def domain_destroy(self, ref: DomainRef, flags: int) -> None:
        with self.lock():
            dom = self._active(ref)
            self._kill(dom, C.VIR_DOMAIN_SHUTOFF_DESTROYED)
        self._note_state(dom)

    def _kill(self, dom: Dom, reason: int) -> None:
        """Stop QEMU (quit, then signals) and record the shut-off reason (lock held)."""
        rec = dom.record
        assert rec is not None
        rec["exit_reason"] = reason
        self._save_record(dom)
        pid, start = rec["pid"], rec.get("start_time")
        with contextlib.suppress(DriverError):
            self._qmp(dom, "quit", timeout=3)
        if not wait_exit(pid, start, 2.0):
            terminate(pid, start)
        self._finalize(dom, reason)

    # ------------------------------------------------------------------ pause
    def domain_suspend(self, ref: DomainRef) -> None:
        with self.lock():
            dom = self._active(ref)
            rec = dom.record
            assert rec is not None
            if rec["state"] != RUNNING:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not running")
            rec["pause_reason"] = C.VIR_DOMAIN_PAUSED_USER
            self._qmp(dom, "stop")
            rec.pop("pause_reason", None)
            rec.update(state=PAUSED, reason=C.VIR_DOMAIN_PAUSED_USER, changed_at=time.time())
            self._save_record(dom)
        self._note_state(dom)

    def domain_resume(self, ref: DomainRef) -> None:
        with self.lock():
            dom = self._active(ref)
            rec = dom.record
            assert rec is not None
            if rec["state"] != PAUSED or rec.get("shutting_down"):
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not paused")
            self._qmp(dom, "cont")
            rec.update(state=RUNNING, reason=C.VIR_DOMAIN_RUNNING_UNPAUSED, changed_at=time.time())
            self._save_record(dom)
        self._note_state(dom)

    # ------------------------------------------------------------------ save / restore
    def domain_save(self, ref: DomainRef, path: str, dxml: Optional[str], flags: int) -> None:
        with self.lock():
            dom = self._active(ref)
            rec = dom.record
            assert rec is not None
            was_running = rec["state"] == RUNNING
            xml = dxml if dxml is not None else dom.defn.to_xml(inactive=True, secure=False)
            if dxml is not None:
                self._parse(dxml)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise _err(C.VIR_ERR_OPERATION_FAILED, f"cannot create save file '{path}': {exc.strerror}") from None
            ok = False
            try:
                savefile.write_header(fd, {"xml": xml, "running": was_running, "name": dom.name})
                if was_running:
                    rec["pause_reason"] = C.VIR_DOMAIN_PAUSED_SAVE
                    self._qmp(dom, "stop")
                    rec.update(state=PAUSED, reason=C.VIR_DOMAIN_PAUSED_SAVE, changed_at=time.time())
                self._qmp(dom, "migrate", {"uri": "fd:guiapp-save"}, fd=(fd, "guiapp-save"))
                deadline = time.monotonic() + 600
                while True:
                    st = self._qmp(dom, "query-migrate")
                    status = st.get("status")
                    if status == "completed":
                        break
                    if status in ("failed", "cancelled") or time.monotonic() > deadline:
                        raise _err(C.VIR_ERR_OPERATION_FAILED,
                                   f"saving '{dom.name}' failed: {st.get('error-desc', status)}")
                    time.sleep(0.01)
                os.fsync(fd)
                ok = True
            finally:
                os.close(fd)
                if not ok:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                    if was_running:
                        with contextlib.suppress(DriverError):
                            self._qmp(dom, "cont")
                        rec.update(state=RUNNING, reason=C.VIR_DOMAIN_RUNNING_SAVE_CANCELED, changed_at=time.time())
                        self._save_record(dom)
            self._kill(dom, C.VIR_DOMAIN_SHUTOFF_SAVED)
        self._note_state(dom)

    def domain_restore(self, path: str, dxml: Optional[str], flags: int) -> DomainRef:
        meta, offset = savefile.read_header(path)
        defn = self._parse(dxml if dxml is not None else meta["xml"])
        running = bool(meta.get("running", True))
        if flags & C.VIR_DOMAIN_SAVE_PAUSED:
            running = False
        elif flags & C.VIR_DOMAIN_SAVE_RUNNING:
            running = True
        with self.lock():
            self._sync()
            same = self._check_unique(defn, allow_same=True)
            if same is not None and same.active:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{defn.name}' is already active")
            if same is not None:
                same.seen = self._state(same)
            dom = self._start(defn, restore=(path, offset, running))
        self._note_state(dom)
        return dom.ref()

    # ------------------------------------------------------------------ resources
    def _affect(self, dom: Dom, flags: int, live_bit: int, config_bit: int) -> tuple[bool, bool]:
        return common.resolve_affect(flags, active=dom.active, persistent=dom.config is not None,
                                     live_bit=live_bit, config_bit=config_bit, error_domain=E)

    def _write_config(self, dom: Dom, defn: DomainDef) -> None:
        self._store_config(defn)
        dom.config = defn

    def domain_set_memory(self, ref: DomainRef, kib: int, flags: int) -> None:
        common.check_flags(flags, common.MEM_FLAGS, "virDomainSetMemoryFlags", E)
        with self.lock():
            dom = self._find(ref)
            if flags & C.VIR_DOMAIN_MEM_MAXIMUM:
                self.domain_set_max_memory(ref, kib)
                return
            live, config = self._affect(dom, flags, C.VIR_DOMAIN_MEM_LIVE, C.VIR_DOMAIN_MEM_CONFIG)
            target = dom.defn if live else dom.config
            assert target is not None
            if kib > target.memory_kib:
                raise _err(C.VIR_ERR_INVALID_ARG,
                           f"cannot set memory higher than max memory ({kib} > {target.memory_kib} KiB)")
            if live:
                assert dom.live is not None
                self._qmp(dom, "balloon", {"value": kib * 1024})
                live_def = dom.live.copy()
                live_def.current_memory_kib = kib
                self._set_live(dom, live_def)
                self._save_record(dom)
            if config:
                cfg = dom.config.copy()  # type: ignore[union-attr]
                cfg.current_memory_kib = kib
                self._write_config(dom, cfg)

    def domain_set_max_memory(self, ref: DomainRef, kib: int) -> None:
        with self.lock():
            dom = self._find(ref)
            if dom.active:
                raise _err(C.VIR_ERR_OPERATION_INVALID,
                           f"cannot resize the maximum memory of running domain '{dom.name}'; shut it down first")
            cfg = dom.config.copy()  # type: ignore[union-attr]
            cfg.memory_kib = kib
            self._write_config(dom, cfg)

    def domain_get_max_memory(self, ref: DomainRef) -> int:
        return self._find(ref).defn.memory_kib

    def domain_set_vcpus(self, ref: DomainRef, n: int, flags: int) -> None:
        common.check_flags(flags, common.VCPU_FLAGS, "virDomainSetVcpusFlags", E)
        with self.lock():
            dom = self._find(ref)
            if flags & C.VIR_DOMAIN_VCPU_MAXIMUM:
                if not flags & C.VIR_DOMAIN_VCPU_CONFIG or flags & C.VIR_DOMAIN_VCPU_LIVE:
                    raise _err(C.VIR_ERR_INVALID_ARG, "VIR_DOMAIN_VCPU_MAXIMUM needs VIR_DOMAIN_VCPU_CONFIG only")
                if dom.config is None:
                    raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is transient")
                cfg = dom.config.copy()
                cfg.vcpus = n
                self._write_config(dom, cfg)
                return
            live, config = self._affect(dom, flags, C.VIR_DOMAIN_VCPU_LIVE, C.VIR_DOMAIN_VCPU_CONFIG)
            target = dom.defn if live else dom.config
            assert target is not None
            if n > target.vcpus:
                raise _err(C.VIR_ERR_INVALID_ARG, f"requested vcpus is greater than max allowable vcpus for the "
                                                  f"domain: {n} > {target.vcpus}")
            if live:
                self._hotplug_vcpus(dom, n)
            if config:
                cfg = dom.config.copy()  # type: ignore[union-attr]
                cfg.vcpus_current = n
                self._write_config(dom, cfg)

    def _hotplug_vcpus(self, dom: Dom, n: int) -> None:
        slots = self._qmp(dom, "query-hotpluggable-cpus")
        plugged = [s for s in slots if s.get("qom-path")]
        free = sorted((s for s in slots if not s.get("qom-path")), key=lambda s: s["props"].get("socket-id", 0))
        ours = sorted((s for s in plugged if "/vcpu-hp-" in s.get("qom-path", "") or "vcpu-hp-" in
                       s.get("qom-path", "")), key=lambda s: -s["props"].get("socket-id", 0))
        cur = len(plugged)
        try:
            while cur < n and free:
                s = free.pop(0)
                args = {"driver": s["type"], "id": f"vcpu-hp-{s['props'].get('socket-id', cur)}", **s["props"]}
                self._qmp(dom, "device_add", args)
                cur += 1
            while cur > n:
                hp = [s for s in ours if s.get("qom-path")]
                if not hp:
                    raise _err(C.VIR_ERR_OPERATION_INVALID,
                               f"cannot unplug vCPUs of '{dom.name}' below {cur}: only hot-plugged vCPUs can go")
                s = hp.pop(0)
                ours.remove(s)
                self._qmp(dom, "device_del", {"id": s["qom-path"].rsplit("/", 1)[-1]})
                cur -= 1
        finally:
            tids = [c["thread-id"] for c in self._qmp(dom, "query-cpus-fast")]
            assert dom.record is not None and dom.live is not None
            dom.record["vcpu_tids"] = tids
            live_def = dom.live.copy()
            live_def.vcpus_current = max(1, min(len(tids), live_def.vcpus))
            self._set_live(dom, live_def)
            self._save_record(dom)
        if cur != n:
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"could only set {cur} vCPUs on '{dom.name}' (asked {n})")

    def domain_get_max_vcpus(self, ref: DomainRef) -> int:
        return self._find(ref).defn.vcpus

    # ------------------------------------------------------------------ info
    def domain_get_info(self, ref: DomainRef) -> list:
        dom = self._find(ref)
        state = self._state(dom)
        d = dom.defn
        if dom.active:
            rec = dom.record
            assert rec is not None
            cpu = vcpu_cpu_time_ns(rec["pid"], rec.get("vcpu_tids") or [])
            mem = dom.balloon_bytes // 1024 if dom.balloon_bytes else d.current_memory_kib
            return [state[0], d.memory_kib, mem, len(rec.get("vcpu_tids") or []) or d.vcpus_current, cpu]
        return [state[0], d.memory_kib, d.current_memory_kib, d.vcpus_current, 0]

    def domain_get_state(self, ref: DomainRef, flags: int) -> list:
        return list(self._state(self._find(ref)))

    def domain_get_os_type(self, ref: DomainRef) -> str:
        return self._find(ref).defn.os_type

    def domain_get_xml_desc(self, ref: DomainRef, flags: int) -> str:
        common.check_flags(flags, common.XML_DESC_FLAGS, "virDomainGetXMLDesc", E)
        dom = self._find(ref)
        if flags & C.VIR_DOMAIN_XML_INACTIVE and dom.config is not None:
            return dom.config.xml_for_flags(flags)
        return dom.defn.xml_for_flags(flags)

    def domain_is_active(self, ref: DomainRef) -> bool:
        return self._find(ref).active

    def domain_is_persistent(self, ref: DomainRef) -> bool:
        return self._find(ref).config is not None

    def domain_console_path(self, ref: DomainRef) -> Optional[str]:
        """The pty of the guest's first serial console while it runs (for terminal windows)."""
        dom = self._find(ref)
        if not dom.active:
            return None
        d = dom.defn
        for ch in list(d.serials) + list(d.consoles):
            if ch.type == "pty" and ch.path:
                return ch.path
        return None

    def domain_open_console(self, ref: DomainRef, dev_name: Optional[str], flags: int) -> Any:
        """The guest's pty chardev (serial/console), one session per device (console.SESSIONS + flock)."""
        dom = self._active(ref)
        alias, chr_ = console.pick_chardev(dom.defn, dev_name, C.VIR_FROM_QEMU)
        path = chr_.path
        if not path:
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"character device {alias} has no pty yet: the guest is starting, "
                                                   f"try again in a moment")
        return console.SESSIONS.open(("pty", path), flags, lambda: console.PtyConsole(path))

    def domain_vnc_socket(self, ref: DomainRef) -> Optional[str]:
        """The unix socket of the guest's VNC display, for local consoles."""
        dom = self._find(ref)
        if not dom.active or not dom.defn.graphics:
            return None
        return dom.defn.graphics[0].socket or (dom.record or {}).get("vnc_socket")

    # ------------------------------------------------------------------ stats
    def get_all_domain_stats(self, stats: int, flags: int, refs: Optional[list[DomainRef]]) -> list:
        """Bulk stats from what this process already knows (never waits for QEMU); block and balloon
        counters are refreshed in the background every 0.5 s."""
        self._stats_wanted = time.monotonic()
        with self._mu:
            doms = list(self._doms.values())
        if refs is not None:
            wanted = {r.uuid for r in refs}
            doms = [d for d in doms if d.uuid in wanted]
            if len(doms) != len(wanted):
                self._sync()
                with self._mu:
                    doms = [d for d in self._doms.values() if d.uuid in wanted]
        out = []
        net_dev = read_net_dev() if (stats == 0 or stats & C.VIR_DOMAIN_STATS_INTERFACE) and any(
            (d.record or {}).get("taps") for d in doms) else {}
        for d in sorted(doms, key=lambda d: d.name):
            rec = d.record or {}
            active = bool(rec.get("pid")) and rec.get("state") != SHUTOFF
            state = (rec.get("state", SHUTOFF), rec.get("reason", 0))
            if flags & C.VIR_CONNECT_LIST_DOMAINS_ACTIVE and not active:
                continue
            if flags & C.VIR_CONNECT_LIST_DOMAINS_INACTIVE and active:
                continue
            defn = d.live if active and d.live is not None else d.config or d.live
            if defn is None:
                continue
            values = domain_stats(stats, state, pid=rec.get("pid") if active else None,
                                  vcpu_tids=rec.get("vcpu_tids") or [], max_kib=defn.memory_kib,
                                  cur_kib=defn.current_memory_kib, balloon_bytes=d.balloon_bytes,
                                  vcpus=defn.vcpus, vcpus_current=defn.vcpus_current, taps=rec.get("taps") or [],
                                  blockstats=d.blockstats, net_dev=net_dev)
            out.append((DomainRef(d.name, d.uuid, rec.get("id", -1) if active else -1), values))
        return out


def _netdev_exists(name: str) -> bool:
    """Whether a network device exists in this process's network namespace."""
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True


def _dummy_paths() -> RunPaths:
    return RunPaths("/nonexistent/qmp", "/nonexistent/qmp2", "/nonexistent/pid", "/nonexistent/log",
                    "/nonexistent/vnc")


__all__ = ["QemuDriver"]
