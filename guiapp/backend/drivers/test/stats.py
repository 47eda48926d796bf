"""Statistics of the test driver: bulk stats, block and interface counters, CPU time (see :mod:`.profile`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Optional

from ... import constants as C
from ...errors import DriverError
from ..base import DomainRef
from .dom import _check_flags, _Dom, _not_running, _now, tree_devices
from .profile import _Profile, _wave
from .state import TestState

_FROM_TEST = C.VIR_FROM_TEST

_STATS_FILTERS = (
    C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE
    | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT
    | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED
    | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_OTHER
)
_STATS_FLAGS = (_STATS_FILTERS | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
                | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS)
SUPPORTED_STATS = (C.VIR_DOMAIN_STATS_STATE | C.VIR_DOMAIN_STATS_CPU_TOTAL | C.VIR_DOMAIN_STATS_BALLOON
                   | C.VIR_DOMAIN_STATS_VCPU | C.VIR_DOMAIN_STATS_INTERFACE | C.VIR_DOMAIN_STATS_BLOCK)


class TestStats(TestState):
    """Bulk and per-device statistics, made up from each domain's :class:`~.profile._Profile`."""

    def _cpu_time(self, dom: _Dom, now: int) -> int:
        if dom.id == -1:
            return 0
        return dom.cpu_base + _wave(self._profile(dom).cpu, (dom.running_ns(now) - dom.cpu_t0) / 1e9)

    def _profile(self, dom: _Dom) -> _Profile:
        prof = dom.profile
        if prof is None:
            nd = dom.pending
            if nd is None:
                prof = _Profile.of(dom.live)  # type: ignore[arg-type]
            else:  # from the facts and the checked tree: no definition made (and no cycle through dom)
                def counts() -> tuple[int, int]:
                    disks, nics = tree_devices(nd.tree)
                    return len(disks), len(nics)

                prof = _Profile(nd.facts.uuid, nd.facts.vcpus_current, counts)
            dom.profile = prof
        return prof

    def _template(self, dom: _Dom, stats: int) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
        """The keys of a domain's stats that do not change while it runs (names, paths, counts), and its
        per-vCPU key pairs ``(vcpu.N.state, vcpu.N.time)`` (built once per profile, not per poll)."""
        tpl: dict[str, Any] = {}
        vcpu_keys: tuple[tuple[str, str], ...] = ()
        if stats & C.VIR_DOMAIN_STATS_VCPU:
            _, _, vcpus, vcpus_cur = dom.sizes()
            tpl["vcpu.current"] = vcpus_cur
            tpl["vcpu.maximum"] = vcpus
            vcpu_keys = tuple((f"vcpu.{i}.state", f"vcpu.{i}.time") for i in range(vcpus_cur))
        if not stats & (C.VIR_DOMAIN_STATS_INTERFACE | C.VIR_DOMAIN_STATS_BLOCK):
            return tpl, vcpu_keys
        disks, nics = dom.devices()
        if stats & C.VIR_DOMAIN_STATS_INTERFACE:
            tpl["net.count"] = len(nics)
            for i, target_dev in enumerate(nics):
                p = f"net.{i}."
                tpl[p + "name"] = target_dev or f"vnet{i}"
                tpl[p + "rx.errs"] = tpl[p + "rx.drop"] = tpl[p + "tx.errs"] = tpl[p + "tx.drop"] = 0
        if stats & C.VIR_DOMAIN_STATS_BLOCK:
            tpl["block.count"] = len(disks)
            for i, (target, source) in enumerate(disks):
                p = f"block.{i}."
                tpl[p + "name"] = target
                if source is not None:
                    tpl[p + "path"] = source
        return tpl, vcpu_keys

    def _stats_for(self, dom: _Dom, stats: int, now: int) -> dict[str, Any]:
        if dom.id == -1:  # inactive: what the definition says, no counters
            out: dict[str, Any] = {"state.state": dom.state, "state.reason": dom.reason} \
                if stats & C.VIR_DOMAIN_STATS_STATE else {}
            mem, cur_mem, vcpus, vcpus_cur = dom.sizes()
            if stats & C.VIR_DOMAIN_STATS_BALLOON:
                out["balloon.current"] = cur_mem
                out["balloon.maximum"] = mem
            if stats & C.VIR_DOMAIN_STATS_VCPU:
                out["vcpu.current"] = vcpus_cur
                out["vcpu.maximum"] = vcpus
            return out
        prof = dom.profile or self._profile(dom)
        hit = prof.templates.get(stats)
        if hit is None:
            hit = prof.templates[stats] = self._template(dom, stats)
        tpl, vcpu_keys = hit
        if stats & C.VIR_DOMAIN_STATS_STATE:
            out = {"state.state": dom.state, "state.reason": dom.reason, **tpl}
        else:
            out = tpl.copy()
        t = dom.running_ns(now) / 1e9
        cpu = dom.cpu_base + _wave(prof.cpu, t - dom.cpu_t0 / 1e9)
        if stats & C.VIR_DOMAIN_STATS_CPU_TOTAL:
            user = cpu * 7 // 10
            out["cpu.time"] = cpu
            out["cpu.user"] = user
            out["cpu.system"] = cpu - user
        if stats & C.VIR_DOMAIN_STATS_BALLOON:
            mem, cur_mem, _, _ = dom.sizes()
            out["balloon.current"] = cur_mem
            out["balloon.maximum"] = mem
        if vcpu_keys:
            per = cpu // len(vcpu_keys)
            vstate = C.VIR_VCPU_RUNNING if dom.state == C.VIR_DOMAIN_RUNNING else C.VIR_VCPU_BLOCKED
            for ks, kt in vcpu_keys:
                out[ks] = vstate
                out[kt] = per
        if stats & (C.VIR_DOMAIN_STATS_BLOCK | C.VIR_DOMAIN_STATS_INTERFACE):
            block, net = prof.counters
            sin = math.sin
            for group, wanted in ((block, stats & C.VIR_DOMAIN_STATS_BLOCK),
                                  (net, stats & C.VIR_DOMAIN_STATS_INTERFACE)):
                if wanted:
                    for kb, kn, (rate, a, w1, b, w2), size in group:  # _wave, inlined: ~20 counters a domain
                        v = int(rate * (t - a * sin(w1 * t) / w1 - b * sin(w2 * t) / w2))
                        out[kb] = v
                        out[kn] = v // size
        return out

    def get_all_domain_stats(self, stats: int = 0, flags: int = 0,
                             refs: Optional[Iterable[DomainRef]] = None) -> list[tuple[DomainRef, dict]]:
        _check_flags(flags, _STATS_FLAGS, "virConnectGetAllDomainStats")
        if stats & ~SUPPORTED_STATS and flags & C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS:
            raise DriverError(C.VIR_ERR_ARGUMENT_UNSUPPORTED,
                              f"Stats types bits 0x{stats & ~SUPPORTED_STATS:x} are not supported by this daemon",
                              _FROM_TEST)
        stats = stats & SUPPORTED_STATS if stats else SUPPORTED_STATS  # unsupported groups give nothing
        with self._lock:
            now = _now()
            if refs is None:
                doms: Iterable[_Dom] = self._by_name.values()
            else:
                doms = [self._get(r) for r in refs]
            filt = flags & _STATS_FILTERS  # the same bits as the LIST_DOMAINS filters
            return [(dom.ref, self._stats_for(dom, stats, now)) for dom in doms
                    if not filt or self._matches(dom, filt)]

    def domain_block_stats(self, ref: DomainRef, path: str) -> tuple[int, int, int, int, int]:
        """virDomainBlockStats: (rd_req, rd_bytes, wr_req, wr_bytes, errs) of a disk by target or path."""
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            for i, disk in enumerate(dom.live.disks):  # type: ignore[union-attr]
                if path in (disk.target, disk.source):
                    s = self._stats_for(dom, C.VIR_DOMAIN_STATS_BLOCK, _now())
                    p = f"block.{i}."
                    return (s[p + "rd.reqs"], s[p + "rd.bytes"], s[p + "wr.reqs"], s[p + "wr.bytes"], 0)
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"invalid path: {path}", _FROM_TEST)

    def domain_interface_stats(self, ref: DomainRef, device: str) -> tuple[int, ...]:
        """virDomainInterfaceStats: (rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop)."""
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            for i, nic in enumerate(dom.live.interfaces):  # type: ignore[union-attr]
                if device in (nic.target_dev, nic.mac, f"vnet{i}"):
                    s = self._stats_for(dom, C.VIR_DOMAIN_STATS_INTERFACE, _now())
                    p = f"net.{i}."
                    return (s[p + "rx.bytes"], s[p + "rx.pkts"], 0, 0, s[p + "tx.bytes"], s[p + "tx.pkts"], 0, 0)
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"invalid path, '{device}' is not a known interface",
                              _FROM_TEST)

