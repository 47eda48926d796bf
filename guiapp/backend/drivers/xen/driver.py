"""The Xen front driver (``xen:///``): composes the XenStore and xl sub-drivers, as the seed's Xen driver did.

* state reads of running domains (list, name, UUID, OS type, memory, vCPUs,
  console) come from XenStore (:mod:`.xenstore`), Domain-0 included;
* run state (running/paused...) and CPU time come from ``xl list``; when xl
  cannot run (a read-only user, no hypervisor) domains XenStore lists are
  reported running;
* every change goes through ``xl`` (:mod:`.xl`) with an xl.cfg generated from
  the domain XML (:mod:`.xlcfg`);
* persistent definitions and the live XML of running domains are files
  (:mod:`.store`);
* ``@introduceDomain`` / ``@releaseDomain`` watches become lifecycle events.

URI: ``xen:///`` with optional query parameters ``xenstored`` (socket path),
``xl`` (binary), ``config_dir``, ``state_dir``, ``timeout`` (XenStore request
timeout, seconds) and ``xl_timeout`` (longest xl run, seconds).  Environment: ``XENSTORED_PATH``, ``GUIAPP_XL``,
``GUIAPP_XEN_CONFIG_DIR``, ``GUIAPP_XEN_STATE_DIR``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

from ... import console
from ... import constants as C
from ...errors import DriverError
from ...history import DirStore
from ...uri import URI
from ...xml.domain import DomainDef, format_uuid, parse_domain
from .. import common
from ..base import DomainRef
from . import capabilities as caps
from . import xlcfg
from .events import DomainEvents, EventCallback, ref_of
from .hardware import XenHardwareOps
from .livexml import apply_runtime, synthesize
from .networks import AnyBridge, XenNetworksMixin, network_names
from .store import Store, default_config_dir, default_state_dir
from .xenstore import XenStoreDriver, XsDomain
from .xl import CHANGE_TIMEOUT, QUERY_TIMEOUT, Xl, XlDomain, find_xl
from .xsclient import DEFAULT_TIMEOUT, gone, ping, read_only_socket, socket_candidates

log = logging.getLogger("guiapp.xen")

#: Seconds one ``xl list`` answers for (state and CPU time of every domain).
ROWS_TTL = 0.5

_QUERY_KEYS = ("xenstored", "xl", "config_dir", "state_dir", "timeout", "xl_timeout")
_STATE_FLAGS = (C.VIR_CONNECT_LIST_DOMAINS_RUNNING | C.VIR_CONNECT_LIST_DOMAINS_PAUSED |
                C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | C.VIR_CONNECT_LIST_DOMAINS_OTHER)
_OS_TYPE_NAME = {"xen": "linux", "linux": "linux", "hvm": "hvm", "xenpvh": "xenpvh"}


def _seconds(uri: URI, key: str, default: float) -> float:
    if key not in uri.query:
        return default
    try:
        value = float(uri.query[key])
        if not 0 < value <= 3600:
            raise ValueError
    except ValueError:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"'{uri.text}': {key} must be a number of seconds in (0, 3600]",
                          C.VIR_FROM_XEN) from None
    return value


def _no_domain(what: str) -> DriverError:
    return DriverError(C.VIR_ERR_NO_DOMAIN, what, C.VIR_FROM_XEN)


def _not_running(name: str) -> DriverError:
    return DriverError(C.VIR_ERR_OPERATION_INVALID, f"domain '{name}' is not running", C.VIR_FROM_XEN)


class XenDriver(XenHardwareOps, XenNetworksMixin):
    """One ``xen:///`` connection."""

    error_domain = C.VIR_FROM_XEN
    schemes = ("xen",)

    # ------------------------------------------------------------ open / probe
    @classmethod
    def probe(cls) -> Optional[str]:
        """``xen:///`` when a XenStore daemon answers quickly on one of the usual sockets (< 100 ms)."""
        for path in socket_candidates():
            if ping(path, 0.03):
                return "xen:///"
        return None

    @classmethod
    def open(cls, uri: URI, read_only: bool) -> XenDriver:
        if not uri.is_local:
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"'{uri.text}': remote Xen hosts are not supported; use xen:/// on the Xen host",
                              C.VIR_FROM_XEN)
        if uri.path not in ("", "/"):
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"'{uri.text}': unexpected path '{uri.path}'; the Xen driver serves xen:/// only",
                              C.VIR_FROM_XEN)
        unknown = sorted(set(uri.query) - set(_QUERY_KEYS))
        if unknown:
            raise DriverError(C.VIR_ERR_INVALID_ARG,
                              f"'{uri.text}': unknown parameter(s) {', '.join(unknown)} "
                              f"(known: {', '.join(_QUERY_KEYS)})", C.VIR_FROM_XEN)
        timeout = _seconds(uri, "timeout", DEFAULT_TIMEOUT)
        xl_timeout = _seconds(uri, "xl_timeout", CHANGE_TIMEOUT)
        explicit = uri.query.get("xenstored")
        candidates = socket_candidates(explicit)
        sock = None
        for path in ([explicit] if explicit else candidates):
            # a read-only user may only be able to reach the daemon's read-only socket
            if ping(read_only_socket(path) if read_only else path, min(timeout, 1.0)):
                sock = path
                break
        if sock is None:
            raise gone(explicit or " or ".join(candidates), "no XenStore daemon answers")
        config_dir = Path(uri.query["config_dir"]) if "config_dir" in uri.query else default_config_dir()
        state_dir = Path(uri.query["state_dir"]) if "state_dir" in uri.query else default_state_dir(config_dir)
        xl = Xl(find_xl(uri.query.get("xl")), query_timeout=min(QUERY_TIMEOUT, xl_timeout), change_timeout=xl_timeout)
        return cls(sock, read_only, xl, Store(config_dir, state_dir), timeout)

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

    def close(self) -> None:
        self.events.close()
        self.xs.close()

    def get_type(self) -> str:
        return "Xen"

    def history_store(self) -> DirStore:
        """Config history beside the definitions: ``<config dir>/history/`` (guiapp extension)."""
        return DirStore(self.store.config_dir / "history")

    def get_uri(self) -> str:
        return "xen:///"

    def is_alive(self) -> bool:
        return self.xs.is_alive()

    # ------------------------------------------------------------ host
    def _xl_info(self) -> dict[str, str]:
        if self._info is None:
            self._info = self.xl.info()
        return self._info

    def get_version(self) -> int:
        return caps.hypervisor_version(self._xl_info())

    def get_hostname(self) -> str:
        return self._xl_info().get("host") or socket.gethostname()

    def node_get_info(self) -> list:
        return caps.node_info(self._xl_info())

    def get_capabilities(self) -> str:
        return caps.capabilities(self._xl_info()).to_xml()

    def get_max_vcpus(self, type: Optional[str]) -> int:
        if type is not None and type.lower() not in ("xen", "libxl"):
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown domain type '{type}' for the Xen driver (use 'xen')",
                              C.VIR_FROM_XEN)
        return 128  # libxl's limit for HVM guests

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

    # ------------------------------------------------------------ enumeration
    def list_domain_ids(self) -> list[int]:
        return self.xs.list_domids()

    def num_of_domains(self) -> int:
        return len(self.xs.list_domids())

    def list_defined_domains(self) -> list[str]:
        running = {x.name for x in self.xs.domains()}
        return sorted(n for n in self._definitions() if n not in running)

    def num_of_defined_domains(self) -> int:
        return len(self.list_defined_domains())

    def list_all_domains(self, flags: int) -> list[DomainRef]:
        defs = self._definitions()
        state_flags = flags & _STATE_FLAGS
        rows = self._xl_rows() if state_flags else None
        entries: list[tuple[DomainRef, bool, bool, int]] = []
        running_names = set()
        for x in self.xs.domains():
            running_names.add(x.name)
            persistent = self._persistent(x.name, x.uuid) is not None
            row = rows.get(x.domid) if rows else None
            entries.append((self._ref(x), True, persistent, row.libvirt_state if row else C.VIR_DOMAIN_RUNNING))
        for name, d in sorted(defs.items()):
            if name not in running_names:
                entries.append((DomainRef(name, d.uuid, -1), False, True, C.VIR_DOMAIN_SHUTOFF))
        out = []
        for ref, active, persistent, state in entries:
            if flags & (C.VIR_CONNECT_LIST_DOMAINS_ACTIVE | C.VIR_CONNECT_LIST_DOMAINS_INACTIVE):
                if not flags & (C.VIR_CONNECT_LIST_DOMAINS_ACTIVE if active else C.VIR_CONNECT_LIST_DOMAINS_INACTIVE):
                    continue
            if flags & (C.VIR_CONNECT_LIST_DOMAINS_PERSISTENT | C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT):
                want = C.VIR_CONNECT_LIST_DOMAINS_PERSISTENT if persistent else C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT
                if not flags & want:
                    continue
            if state_flags:
                kind = {C.VIR_DOMAIN_RUNNING: C.VIR_CONNECT_LIST_DOMAINS_RUNNING,
                        C.VIR_DOMAIN_PAUSED: C.VIR_CONNECT_LIST_DOMAINS_PAUSED,
                        C.VIR_DOMAIN_SHUTOFF: C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF}.get(
                            state, C.VIR_CONNECT_LIST_DOMAINS_OTHER)
                if not state_flags & kind:
                    continue
            if flags & (C.VIR_CONNECT_LIST_DOMAINS_AUTOSTART | C.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART):
                auto = persistent and self.store.autostart(ref.name)
                want = C.VIR_CONNECT_LIST_DOMAINS_AUTOSTART if auto else C.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART
                if not flags & want:
                    continue
            out.append(ref)
        return out

    # ------------------------------------------------------------ lookups
    def lookup_by_name(self, name: str) -> DomainRef:
        x = self.xs.find(name=name)
        if x is not None:
            return self._ref(x)
        d = self._definitions().get(name)
        if d is not None:
            return DomainRef(d.name, d.uuid, -1)
        raise _no_domain(f"no domain with matching name '{name}'")

    def lookup_by_id(self, domid: int) -> DomainRef:
        x = self.xs.domain(domid)
        if x is None:
            raise _no_domain(f"no domain with matching id {domid}")
        return self._ref(x)

    def lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        x = self.xs.find(uuid=uuid)
        if x is not None:
            return self._ref(x)
        for d in self._definitions().values():
            if d.uuid == uuid:
                return DomainRef(d.name, d.uuid, -1)
        raise _no_domain(f"no domain with matching uuid '{format_uuid(uuid)}'")

    def _lookup_ref(self, ref: DomainRef) -> tuple[Optional[XsDomain], Optional[DomainDef]]:
        """(running, persistent) for ``ref``; NO_DOMAIN when it is neither any more."""
        x = self._running(ref)
        p = self._persistent(ref.name, ref.uuid)
        if x is None and p is None:
            raise _no_domain(f"no domain with matching uuid '{format_uuid(ref.uuid)}' ({ref.name})")
        return x, p

    def domain_open_console(self, ref: DomainRef, dev_name: Optional[str], flags: int) -> Any:
        """The guest's console pty from XenStore (``console/tty``), one session per device."""
        x = self._require_running(ref)
        if dev_name not in (None, "console0", "serial0"):
            raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"cannot find character device {dev_name} "
                                                        f"(this domain has: console0)", C.VIR_FROM_XEN)
        path = x.console_tty
        if not path:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"domain '{ref.name}' has no console pty in XenStore "
                                                          f"(console/tty): is xenconsoled running?", C.VIR_FROM_XEN)
        return console.SESSIONS.open(("pty", path), flags, lambda: console.PtyConsole(path))

    # ------------------------------------------------------------ domain info
    def domain_get_info(self, ref: DomainRef) -> list:
        x, p = self._lookup_ref(ref)
        if x is None:
            assert p is not None
            return [C.VIR_DOMAIN_SHUTOFF, p.memory_kib, p.current_memory_kib, p.vcpus_current, 0]
        rows = self._xl_rows()
        row = rows.get(x.domid) if rows else None
        live = self.store.load_status(x.name) if x.domid else None
        max_kib = x.max_kib or (live.memory_kib if live else 0) or (row.mem_mib * 1024 if row else 0)
        cur_kib = x.target_kib or (row.mem_mib * 1024 if row else max_kib)
        vcpus = x.vcpus_online or (row.vcpus if row else 0) or (live.vcpus_current if live else 1)
        state = row.libvirt_state if row else C.VIR_DOMAIN_RUNNING
        cpu_ns = int(row.cpu_time * 1e9) if row else 0
        return [state, max_kib, cur_kib, vcpus, cpu_ns]

    def domain_get_state(self, ref: DomainRef, flags: int) -> list:
        state = self.domain_get_info(ref)[0]
        reason = {C.VIR_DOMAIN_RUNNING: C.VIR_DOMAIN_RUNNING_BOOTED, C.VIR_DOMAIN_PAUSED: C.VIR_DOMAIN_PAUSED_USER,
                  C.VIR_DOMAIN_SHUTOFF: C.VIR_DOMAIN_SHUTOFF_UNKNOWN}.get(state, 0)
        return [state, reason]

    def domain_get_os_type(self, ref: DomainRef) -> str:
        x, p = self._lookup_ref(ref)
        if x is not None:
            return _OS_TYPE_NAME.get(x.os_type, x.os_type)
        assert p is not None
        return _OS_TYPE_NAME.get(p.os_type, p.os_type)

    def domain_get_xml_desc(self, ref: DomainRef, flags: int) -> str:
        common.check_flags(flags, common.XML_DESC_FLAGS, "virDomainGetXMLDesc", C.VIR_FROM_XEN)
        x, p = self._lookup_ref(ref)
        if x is None or (flags & C.VIR_DOMAIN_XML_INACTIVE and p is not None):
            assert p is not None
            return p.xml_for_flags(flags | C.VIR_DOMAIN_XML_INACTIVE)
        return self._live_def(x).xml_for_flags(flags)

    def domain_is_active(self, ref: DomainRef) -> bool:
        x, _ = self._lookup_ref(ref)
        return x is not None

    def domain_is_persistent(self, ref: DomainRef) -> bool:
        _, p = self._lookup_ref(ref)
        return p is not None

    def domain_get_max_memory(self, ref: DomainRef) -> int:
        x, p = self._lookup_ref(ref)
        if x is not None:
            return x.max_kib or self._live_def(x).memory_kib
        assert p is not None
        return p.memory_kib

    def domain_get_max_vcpus(self, ref: DomainRef) -> int:
        x, p = self._lookup_ref(ref)
        if x is not None:
            return self._live_def(x).vcpus
        assert p is not None
        return p.vcpus

    def domain_get_autostart(self, ref: DomainRef) -> bool:
        _, p = self._lookup_ref(ref)
        return p is not None and self.store.autostart(p.name)

    def domain_set_autostart(self, ref: DomainRef, on: bool) -> None:
        with self._lock:
            _, p = self._lookup_ref(ref)
            if p is None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                  f"cannot set autostart for transient domain '{ref.name}'", C.VIR_FROM_XEN)
            self.store.set_autostart(p.name, on)

    def get_all_domain_stats(self, stats: int, flags: int, refs: Optional[list[DomainRef]]) -> list:
        rows = self._xl_rows() or {}
        wanted = refs if refs is not None else self.list_all_domains(0)
        out = []
        for ref in wanted:
            try:
                x, p = self._lookup_ref(ref)
            except DriverError:
                continue
            if x is None:
                assert p is not None
                if flags & C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE:
                    continue
                values = {"state.state": C.VIR_DOMAIN_SHUTOFF, "state.reason": 0, "cpu.time": 0,
                          "balloon.current": p.current_memory_kib, "balloon.maximum": p.memory_kib,
                          "vcpu.current": p.vcpus_current, "vcpu.maximum": p.vcpus}
                out.append((DomainRef(p.name, p.uuid, -1), values))
                continue
            if flags & C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE:
                continue
            row = rows.get(x.domid)
            values = {"state.state": row.libvirt_state if row else C.VIR_DOMAIN_RUNNING, "state.reason": 0,
                      "cpu.time": int(row.cpu_time * 1e9) if row else 0,
                      "balloon.current": x.target_kib or (row.mem_mib * 1024 if row else 0),
                      "balloon.maximum": x.max_kib or (row.mem_mib * 1024 if row else 0),
                      "vcpu.current": x.vcpus_online or (row.vcpus if row else 0),
                      "vcpu.maximum": x.vcpus_max or (row.vcpus if row else 0)}
            out.append((self._ref(x), values))
        return out

    # ------------------------------------------------------------ native configs
    def domain_xml_to_native(self, fmt: str, xml: str, flags: int) -> str:
        """virConnectDomainXMLToNative for libvirt's format 'xen-xl': the xl.cfg xl would be given."""
        if fmt != "xen-xl":
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"unsupported native format '{fmt}'; use 'xen-xl'")
        d = self._parse(xml)
        return xlcfg.domain_to_xl(d, self._bridges(d, running=False))

    def domain_xml_from_native(self, fmt: str, config: str, flags: int) -> str:
        """virConnectDomainXMLFromNative for 'xen-xl': domain XML for an xl.cfg."""
        if fmt != "xen-xl":
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"unsupported native format '{fmt}'; use 'xen-xl'")
        return xlcfg.xl_to_domain_xml(config)

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

    # ------------------------------------------------------------ resources
    @staticmethod
    def _affect(flags: int, running: bool, persistent: bool) -> tuple[bool, bool]:
        return common.resolve_affect(flags, active=running, persistent=persistent, error_domain=C.VIR_FROM_XEN)

    def _config_def(self, ref: DomainRef, p: Optional[DomainDef]) -> DomainDef:
        if p is None:
            raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                              f"cannot change the persistent configuration of transient domain '{ref.name}'",
                              C.VIR_FROM_XEN)
        return p

    def domain_set_memory(self, ref: DomainRef, kib: int, flags: int) -> None:
        common.check_flags(flags, common.MEM_FLAGS, "virDomainSetMemoryFlags", C.VIR_FROM_XEN)
        if flags & C.VIR_DOMAIN_MEM_MAXIMUM:
            return self._set_max_memory(ref, kib, flags & ~C.VIR_DOMAIN_MEM_MAXIMUM)
        with self._lock:
            x, p = self._lookup_ref(ref)
            live, config = self._affect(flags, x is not None, p is not None)
            if live:
                if x is None:
                    raise _not_running(ref.name)
                d = self._live_def(x)
                if kib > d.memory_kib:
                    raise DriverError(C.VIR_ERR_INVALID_ARG,
                                      f"cannot set memory higher than max memory ({kib} > {d.memory_kib} KiB)",
                                      C.VIR_FROM_XEN)
                self.xl.mem_set(x.domid, kib)
                d.current_memory_kib = kib
                self.store.save_status(d)
            if config:
                c = self._config_def(ref, p)
                c.current_memory_kib = kib
                self.store.save_definition(c)
        return None

    def domain_set_max_memory(self, ref: DomainRef, kib: int) -> None:
        self._set_max_memory(ref, kib, 0)

    def _set_max_memory(self, ref: DomainRef, kib: int, flags: int) -> None:
        with self._lock:
            x, p = self._lookup_ref(ref)
            live, config = self._affect(flags, x is not None, p is not None)
            if live:
                if x is None:
                    raise _not_running(ref.name)
                d = self._live_def(x)
                self.xl.mem_max(x.domid, kib)
                d.memory_kib = kib
                self.store.save_status(d)
            if config:
                c = self._config_def(ref, p)
                c.memory_kib = kib
                self.store.save_definition(c)

    def domain_set_vcpus(self, ref: DomainRef, n: int, flags: int) -> None:
        common.check_flags(flags, common.VCPU_FLAGS, "virDomainSetVcpusFlags", C.VIR_FROM_XEN)
        with self._lock:
            x, p = self._lookup_ref(ref)
            if flags & C.VIR_DOMAIN_VCPU_MAXIMUM:
                if flags & C.VIR_DOMAIN_AFFECT_LIVE:
                    raise DriverError(C.VIR_ERR_INVALID_ARG,
                                      "the maximum vCPU count of a running domain cannot change",
                                      C.VIR_FROM_XEN)
                c = self._config_def(ref, p)
                c.vcpus = n
                self.store.save_definition(c)
                return
            live, config = self._affect(flags, x is not None, p is not None)
            if live:
                if x is None:
                    raise _not_running(ref.name)
                d = self._live_def(x)
                if n > d.vcpus:
                    raise DriverError(C.VIR_ERR_INVALID_ARG,
                                      f"requested vcpus is greater than max allowable vcpus for the domain: "
                                      f"{n} > {d.vcpus}", C.VIR_FROM_XEN)
                self.xl.vcpu_set(x.domid, n)
                d.vcpus_current = n
                self.store.save_status(d)
            if config:
                c = self._config_def(ref, p)
                c.vcpus_current = n
                self.store.save_definition(c)

    # ------------------------------------------------------------ events
    def domain_event_register(self, callback: EventCallback) -> int:
        return self.events.register(callback)

    def domain_event_deregister(self, cid: int) -> None:
        self.events.deregister(cid)

    def _emit(self, ref: DomainRef, event: int, detail: int) -> None:
        self.events.emit(ref, event, detail)


__all__ = ["XenDriver"]
