"""Memory and vCPU changes of the Xen driver, live through ``xl`` and/or in the persistent definition."""

from __future__ import annotations

from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef
from .. import common
from ..base import DomainRef
from .runtime import XenRuntime, _not_running


class XenResources(XenRuntime):
    """virDomainSetMemoryFlags, virDomainSetMaxMemory, virDomainSetVcpusFlags (AFFECT_* resolved by common)."""

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

