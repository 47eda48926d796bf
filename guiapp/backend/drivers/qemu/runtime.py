"""The QEMU driver's shared state: the config and runtime directories read into ``Dom`` objects
(cheaply, by file stamps), records and configs written back, lookups and listings.

Several processes manage the same guests: everything here runs under the connection's file lock
(``self.lock()``) when it changes something; ``self._mu`` guards ``self._doms`` between threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ... import constants as C
from ...errors import DriverError
from ...filestore import store_document
from ...hostnet.runner import Runner
from ...uuids import format_uuid
from ...xml.domain import DomainDef, parse_domain
from .. import common
from ..base import DomainRef
from .dom import CRASHED, PAUSED, RUNNING, SHUTOFF, Dom, E, _err, _existing, _no_domain, log
from .managedsave import managed_save_path
from .monitor import MonitorLoop
from .monitors import StatsPool
from .record import RecordError, RecordVersionError, RuntimeRecord, load_record, save_record
from .state import PIDFILE, RECORD, Dirs, FileLock, record_files


class QemuRuntime:
    """The base of :class:`~.driver.QemuDriver`: state, sync, lookups (see the module docstring).

    The attributes are set by ``QemuDriver.__init__``."""

    uri: str
    read_only: bool
    dirs: Dirs
    lock: FileLock  # the connection's cross-process lock (re-entrant): ``with self.lock(): ...``
    _mu: threading.RLock  # guards _doms between this process's threads
    _doms: dict[str, Dom]
    _cfg_cache: dict[str, tuple[Optional[tuple[int, int, int]], Optional[DomainDef]]]
    _rec_cache: dict[str, tuple[Optional[tuple[int, int, int]], RuntimeRecord | DriverError | None]]
    config_errors: dict[str, str]  # config file -> why it was skipped
    _callbacks: dict[int, Callable[[DomainRef, int, int], None]]
    _starting: set[str]  # names this process is starting (lock held): _sync() leaves them
    _closed: bool
    _ready: bool
    _net_run: Runner  # host network commands (ip) for guest taps, in this network namespace
    mloop: MonitorLoop
    _stats_wanted: float  # when stats were last asked for (time.monotonic())
    _stats_refreshed: float  # when the stats pool last refreshed
    _stats_pool: StatsPool

    if TYPE_CHECKING:  # process watching, in .supervise
        def _watch(self, dom: Dom) -> None: ...
        def _try_attach(self, dom: Dom) -> bool: ...
        def _detach(self, dom: Dom) -> None: ...

    def _sync(self, attach: bool = True) -> None:
        """Bring ``self._doms`` in line with the config and runtime directories (cheap when nothing changed)."""
        with self._mu:
            configs = self._scan_configs()
            records, refused = self._scan_records()
            names = set(configs) | {n for n, r in records.items() if r.pid or n in configs}
            for name in list(self._doms):
                if name not in names and name not in self._starting:
                    self._detach(self._doms.pop(name))
            for name in names - self._starting:  # a guest being started has no saved record yet
                cfg = configs.get(name)
                rec = records.get(name)
                uuid = cfg.uuid if cfg is not None else rec.uuid_bytes  # type: ignore[union-attr]
                dom = self._doms.get(name)
                if dom is None or dom.uuid != uuid:
                    if dom is not None:
                        self._detach(dom)
                    dom = self._doms[name] = Dom(name, uuid)
                    if self._ready:  # appeared after we opened (another process): its start is an event
                        dom.seen = (SHUTOFF, C.VIR_DOMAIN_SHUTOFF_UNKNOWN)
                dom.config = cfg
                dom.record = rec
                dom.record_error = refused.get(uuid.hex()) if rec is None else None
                if rec is not None and rec.xml and rec.xml != dom.live_src:
                    try:
                        dom.live = parse_domain(rec.xml, hypervisor="qemu")
                        dom.live_src = rec.xml
                    except DriverError:
                        dom.live = None
                elif rec is None or not rec.xml:
                    dom.live, dom.live_src = None, None
                if rec is not None and rec.pid and rec.state != SHUTOFF:
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
                self._cfg_cache[e.path] = (key, defn)
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

    def _scan_records(self) -> tuple[dict[str, RuntimeRecord], dict[str, DriverError]]:
        """The usable records by domain name, and the refused ones (a newer guiapp's) by UUID hex.

        A broken record (not JSON, wrong types, in another domain's directory) is treated as absent."""
        out: dict[str, RuntimeRecord] = {}
        refused: dict[str, DriverError] = {}
        try:
            entries = record_files(self.dirs)
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
                rec = self._load_record(Path(path))
                self._rec_cache[path] = (key, rec)
            if isinstance(rec, RecordVersionError):
                refused[os.path.basename(os.path.dirname(path))] = rec
            elif isinstance(rec, RuntimeRecord):
                out[rec.name] = rec
        for p in list(self._rec_cache):
            if p not in seen:
                del self._rec_cache[p]
        return out, refused

    def _load_record(self, path: Path) -> RuntimeRecord | DriverError | None:
        """The record at ``path``, or why it cannot be used (logged once per change of the file)."""
        try:
            rec = load_record(path)
        except (RecordError, RecordVersionError) as exc:
            log.warning("%s", exc.detail)
            return exc
        if rec is not None and rec.uuid != path.parent.name:
            wrong = RecordError(path, f"it names UUID {rec.uuid}, not its directory's {path.parent.name}")
            log.warning("%s", wrong.detail)
            return wrong
        return rec

    def _save_record(self, dom: Dom) -> None:
        """Write ``dom.record`` (under ``_mu``: a concurrent ``_sync()`` must not swap it meanwhile)."""
        with self._mu:
            rec = dom.record
            assert rec is not None
            path = self.dirs.run_file(dom.uuid, RECORD)
            save_record(path, rec)
            self._rec_cache[str(path)] = (self._file_key(str(path)), rec)

    def _set_live(self, dom: Dom, live: DomainDef) -> None:
        dom.live = live
        dom.live_src = live.to_xml(secure=False)
        if dom.record is not None:
            dom.record.xml = dom.live_src

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

    def _store_config(self, defn: DomainDef) -> None:
        """Write ``defn``'s config file atomically, only if it reads back (size, name) (lock held)."""
        path = self.dirs.config_file(defn.name)  # refuses names too long for a file name, with the limit

        def read_back(raw: bytes) -> None:
            back = parse_domain(raw, hypervisor="qemu")
            if back.name != defn.name or back.uuid != defn.uuid:
                raise _err(C.VIR_ERR_XML_ERROR, f"it reads back as domain '{back.name}'")
        store_document(path, defn.to_xml(inactive=True, secure=False), read_back, f"domain '{defn.name}'", E)

    def _write_config(self, dom: Dom, defn: DomainDef) -> None:
        self._store_config(defn)
        dom.config = defn

    def _find(self, ref: DomainRef) -> Dom:
        self._sync()
        with self._mu:
            dom = self._doms.get(ref.name)
            if dom is None or dom.uuid != ref.uuid:
                dom = next((d for d in self._doms.values() if d.uuid == ref.uuid), None)
        if dom is None:
            raise _no_domain(f"no domain with matching uuid '{format_uuid(ref.uuid)}' ({ref.name})")
        if dom.record_error is not None:
            raise dom.record_error
        return dom

    def _check_record_usable(self, uuid: bytes) -> None:
        """Refuse to touch a domain whose runtime record a newer guiapp wrote (its QEMU may be running)."""
        cached = self._rec_cache.get(str(self.dirs.domain_dir(uuid) / RECORD))
        if cached is not None and isinstance(cached[1], RecordVersionError):
            raise cached[1]

    def _active(self, ref: DomainRef) -> Dom:
        dom = self._find(ref)
        if not dom.active:
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not running")
        return dom

    def _state(self, dom: Dom) -> tuple[int, int]:
        rec = dom.record
        if rec is None:
            return (SHUTOFF, C.VIR_DOMAIN_SHUTOFF_UNKNOWN)
        if rec.state != SHUTOFF and rec.pid and not dom.active:
            return (SHUTOFF, self._exit_reason(dom))
        if dom.attach_status == "shutdown" and rec.state == RUNNING:
            return (C.VIR_DOMAIN_SHUTDOWN, C.VIR_DOMAIN_SHUTDOWN_USER)
        if dom.attach_status == "guest-panicked" and rec.state == RUNNING:
            return (CRASHED, C.VIR_DOMAIN_CRASHED_PANICKED)
        return (rec.state, rec.reason)

    def _exit_reason(self, dom: Dom) -> int:
        """Why QEMU went away: what the driver recorded, else QEMU's pid file tells (it removes it on a clean
        exit, e.g. after a guest power-off; a killed QEMU leaves it behind)."""
        rec = dom.record
        if rec is not None and rec.exit_reason is not None:
            return rec.exit_reason
        if not Path(rec and rec.pidfile or self.dirs.domain_dir(dom.uuid) / PIDFILE).exists():
            return C.VIR_DOMAIN_SHUTOFF_SHUTDOWN
        return C.VIR_DOMAIN_SHUTOFF_CRASHED

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
        dom = next((d for d in self._doms.values() if d.active and d.record and d.record.id == id), None)
        if dom is None:
            raise _no_domain(f"no domain with matching id {id}")
        return dom.ref()

    def list_domain_ids(self) -> list[int]:
        self._sync()
        return sorted(d.record.id for d in self._doms.values() if d.active and d.record and d.record.id is not None)

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

    def _autostart_path(self, name: str) -> Path:
        return self.dirs.config / "autostart" / name
