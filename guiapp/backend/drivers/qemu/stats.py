"""Bulk domain statistics in libvirt's key layout, from cached QMP data and /proc (never blocking on QEMU)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from ... import constants as C
from .process import vcpu_cpu_time_ns

ALL_GROUPS = (C.VIR_DOMAIN_STATS_STATE | C.VIR_DOMAIN_STATS_CPU_TOTAL | C.VIR_DOMAIN_STATS_BALLOON
              | C.VIR_DOMAIN_STATS_VCPU | C.VIR_DOMAIN_STATS_INTERFACE | C.VIR_DOMAIN_STATS_BLOCK)


def read_net_dev() -> dict[str, list[int]]:
    """Counters of every device in this process's network namespace (/proc/self/net/dev)."""
    out: dict[str, list[int]] = {}
    try:
        with open("/proc/self/net/dev") as f:
            lines = f.readlines()[2:]
    except OSError:
        return out
    for line in lines:
        name, _, rest = line.partition(":")
        out[name.strip()] = [int(x) for x in rest.split()]
    return out


def net_counters(values: list[int]) -> dict[str, int]:
    """libvirt's net.N.* keys for a tap, seen from the guest (the tap's transmit is the guest's receive)."""
    if len(values) < 12:
        return {}
    rx_b, rx_p, rx_e, rx_d = values[0:4]
    tx_b, tx_p, tx_e, tx_d = values[8:12]
    return {"rx.bytes": tx_b, "rx.pkts": tx_p, "rx.errs": tx_e, "rx.drop": tx_d,
            "tx.bytes": rx_b, "tx.pkts": rx_p, "tx.errs": rx_e, "tx.drop": rx_d}


def domain_stats(groups: int, state: tuple[int, int], *, pid: Optional[int], vcpu_tids: Sequence[int],
                 max_kib: int, cur_kib: int, balloon_bytes: Optional[int], vcpus: int, vcpus_current: int,
                 taps: Sequence[str], blockstats: Sequence[dict[str, Any]],
                 net_dev: Optional[dict[str, list[int]]] = None) -> dict[str, Any]:
    """One domain's record for virConnectGetAllDomainStats."""
    g = groups or ALL_GROUPS
    out: dict[str, Any] = {}
    active = pid is not None
    if g & C.VIR_DOMAIN_STATS_STATE:
        out["state.state"], out["state.reason"] = state
    per_vcpu: list[int] = []
    if pid is not None and g & (C.VIR_DOMAIN_STATS_CPU_TOTAL | C.VIR_DOMAIN_STATS_VCPU):
        per_vcpu = [vcpu_cpu_time_ns(pid, [t]) for t in vcpu_tids] if vcpu_tids else []
    if g & C.VIR_DOMAIN_STATS_CPU_TOTAL and active:
        assert pid is not None  # active
        out["cpu.time"] = sum(per_vcpu) if per_vcpu else vcpu_cpu_time_ns(pid, [])
    if g & C.VIR_DOMAIN_STATS_BALLOON:
        out["balloon.maximum"] = max_kib
        out["balloon.current"] = balloon_bytes // 1024 if active and balloon_bytes else cur_kib
    if g & C.VIR_DOMAIN_STATS_VCPU:
        out["vcpu.current"] = vcpus_current
        out["vcpu.maximum"] = vcpus
        for i, t in enumerate(per_vcpu):
            out[f"vcpu.{i}.state"] = 1
            out[f"vcpu.{i}.time"] = t
    if g & C.VIR_DOMAIN_STATS_INTERFACE and active:
        out["net.count"] = len(taps)
        if taps and net_dev is None:
            net_dev = read_net_dev()
        for i, tap in enumerate(taps):
            out[f"net.{i}.name"] = tap
            for k, v in net_counters((net_dev or {}).get(tap, [])).items():
                out[f"net.{i}.{k}"] = v
    if g & C.VIR_DOMAIN_STATS_BLOCK and active:
        out["block.count"] = len(blockstats)
        for i, b in enumerate(blockstats):
            st = b.get("stats", {})
            out[f"block.{i}.name"] = b.get("device") or b.get("qdev") or ""
            out[f"block.{i}.rd.reqs"] = st.get("rd_operations", 0)
            out[f"block.{i}.rd.bytes"] = st.get("rd_bytes", 0)
            out[f"block.{i}.rd.times"] = st.get("rd_total_time_ns", 0)
            out[f"block.{i}.wr.reqs"] = st.get("wr_operations", 0)
            out[f"block.{i}.wr.bytes"] = st.get("wr_bytes", 0)
            out[f"block.{i}.wr.times"] = st.get("wr_total_time_ns", 0)
            out[f"block.{i}.fl.reqs"] = st.get("flush_operations", 0)
    return out
