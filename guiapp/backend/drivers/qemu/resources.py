"""Memory and vCPUs of QEMU domains, live (balloon, vCPU hot-plug) and in the persistent config.
"""

from __future__ import annotations

from ... import constants as C
from .. import common
from ..base import DomainRef
from .dom import Dom, E, _err
from .lifecycle import QemuLifecycle


class QemuResources(QemuLifecycle):
    """Memory and vCPU operations of :class:`~.driver.QemuDriver`."""

    def _affect(self, dom: Dom, flags: int, live_bit: int, config_bit: int) -> tuple[bool, bool]:
        return common.resolve_affect(flags, active=dom.active, persistent=dom.config is not None,
                                     live_bit=live_bit, config_bit=config_bit, error_domain=E)

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
            dom.record.vcpu_tids = tids
            live_def = dom.live.copy()
            live_def.vcpus_current = max(1, min(len(tids), live_def.vcpus))
            self._set_live(dom, live_def)
            self._save_record(dom)
        if cur != n:
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"could only set {cur} vCPUs on '{dom.name}' (asked {n})")

    def domain_get_max_vcpus(self, ref: DomainRef) -> int:
        return self._find(ref).defn.vcpus
