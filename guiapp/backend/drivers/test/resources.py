"""Memory and vCPU changes of the test driver (virDomainSetMemoryFlags, virDomainSetVcpusFlags, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ... import constants as C
from ...errors import DriverError
from .. import common
from ..base import DomainRef
from .dom import _check_flags, _Dom, _not_running, _now
from .profile import _Profile
from .stats import TestStats

if TYPE_CHECKING:
    from ...xml.domain import DomainDef

_FROM_TEST = C.VIR_FROM_TEST
_FROM_DOMAIN = C.VIR_FROM_DOMAIN


class TestResources(TestStats):
    """Memory and vCPUs, live and persistent (AFFECT_* flags resolved by :mod:`..common`)."""

    def _targets(self, dom: _Dom, flags: int) -> tuple[Optional[DomainDef], Optional[DomainDef]]:
        """libvirt's virDomainObjGetDefs: (live, config) to change for AFFECT_* ``flags``."""
        live, config = common.resolve_affect(flags, active=dom.active,
                                             persistent=dom.config is not None)
        return (dom.live if live else None, dom.config if config else None)

    def domain_set_memory(self, ref: DomainRef, memory: int, flags: int = 0) -> None:
        """virDomainSetMemoryFlags; plain virDomainSetMemory is ``flags=VIR_DOMAIN_AFFECT_LIVE``."""
        _check_flags(flags, common.MEM_FLAGS, "virDomainSetMemoryFlags")
        if memory <= 0:
            raise DriverError(C.VIR_ERR_INVALID_ARG, "memory in virDomainSetMemory must not be zero", _FROM_DOMAIN)
        with self._lock:
            dom = self._get(ref)
            live, config = self._targets(dom, flags)
            if flags & C.VIR_DOMAIN_MEM_MAXIMUM:
                if live is not None:
                    raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                      "cannot resize the maximum memory on an active domain", _FROM_TEST)
                config.memory_kib = memory  # type: ignore[union-attr]
                return
            for d in (live, config):
                if d is not None and memory > d.memory_kib:
                    raise DriverError(C.VIR_ERR_INVALID_ARG, "cannot set memory higher than max memory", _FROM_TEST)
            for d in (live, config):
                if d is not None:
                    d.current_memory_kib = memory

    def domain_set_max_memory(self, ref: DomainRef, memory: int) -> None:
        self.domain_set_memory(ref, memory, C.VIR_DOMAIN_MEM_MAXIMUM)

    def domain_get_max_memory(self, ref: DomainRef) -> int:
        with self._lock:
            return self._get(ref).sizes()[0]

    def domain_set_vcpus(self, ref: DomainRef, nvcpus: int, flags: int = 0) -> None:
        """virDomainSetVcpusFlags; plain virDomainSetVcpus is ``flags=VIR_DOMAIN_AFFECT_LIVE``."""
        _check_flags(flags, common.VCPU_FLAGS | C.VIR_DOMAIN_VCPU_GUEST | C.VIR_DOMAIN_VCPU_HOTPLUGGABLE,
                     "virDomainSetVcpusFlags")
        if nvcpus <= 0:
            raise DriverError(C.VIR_ERR_INVALID_ARG, "nvcpus in virDomainSetVcpus must not be zero", _FROM_DOMAIN)
        with self._lock:
            dom = self._get(ref)
            live, config = self._targets(dom, flags)
            if flags & C.VIR_DOMAIN_VCPU_MAXIMUM:
                if live is not None:
                    raise DriverError(C.VIR_ERR_INVALID_ARG, "cannot set max vcpu count on a live domain",
                                      _FROM_TEST)
                if nvcpus > 32:
                    raise DriverError(C.VIR_ERR_INVALID_ARG,
                                      f"requested cpu amount exceeds maximum supported amount ({nvcpus} > 32)",
                                      _FROM_TEST)
                config.vcpus = nvcpus  # type: ignore[union-attr]
                return
            for d in (live, config):
                if d is not None and nvcpus > d.vcpus:
                    raise DriverError(C.VIR_ERR_INVALID_ARG,
                                      f"requested cpu amount exceeds maximum ({nvcpus} > {d.vcpus})", _FROM_TEST)
            if live is not None and live.vcpus_current != nvcpus:
                # keep cpu time continuous: bank what was used, then run at the new rate
                now = _now()
                dom.cpu_base = self._cpu_time(dom, now)
                dom.cpu_t0 = dom.running_ns(now)
                live.vcpus_current = nvcpus
                old = dom.profile
                dom.profile = _Profile.of(live)
                if old is not None:
                    dom.profile._counters = old._counters  # the devices did not change
            if config is not None:
                config.vcpus_current = nvcpus

    def domain_get_max_vcpus(self, ref: DomainRef) -> int:
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            return dom.live.vcpus  # type: ignore[union-attr]

