"""Listing, lookups, information, XML, console, autostart and bulk statistics of the Xen driver's domains."""

from __future__ import annotations

from typing import Any, Optional

from ... import console
from ... import constants as C
from ...errors import DriverError
from ...xml.domain import format_uuid
from .. import common
from ..base import DomainRef
from .runtime import XenRuntime, _no_domain

_STATE_FLAGS = (C.VIR_CONNECT_LIST_DOMAINS_RUNNING | C.VIR_CONNECT_LIST_DOMAINS_PAUSED |
                C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | C.VIR_CONNECT_LIST_DOMAINS_OTHER)
_OS_TYPE_NAME = {"xen": "linux", "linux": "linux", "hvm": "hvm", "xenpvh": "xenpvh"}


class XenInfo(XenRuntime):
    """What the Xen driver reports about domains (XenStore for running ones, the store for the others)."""

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

