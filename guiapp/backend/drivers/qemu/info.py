"""Read-only queries of the QEMU driver: host and connection facts, a domain's info, state and XML, its
console and VNC socket, and bulk statistics (never waiting for QEMU).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

from lxml import etree

from ... import console
from ... import constants as C
from ...xml.domain import DomainDef
from .. import common
from ..base import DomainRef
from .capabilities import HostCaps, find_emulators, probe_host
from .dom import E, _err
from .process import vcpu_cpu_time_ns
from .record import RuntimeRecord
from .runtime import QemuRuntime
from .stats import domain_stats, read_net_dev


class QemuInfo(QemuRuntime):
    """Queries of :class:`~.driver.QemuDriver`."""

    _caps: Optional[HostCaps]  # the host's capabilities, once probed

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

    def domain_get_info(self, ref: DomainRef) -> list:
        dom = self._find(ref)
        state = self._state(dom)
        d = dom.defn
        if dom.active:
            rec = dom.record
            assert rec is not None and rec.pid is not None
            cpu = vcpu_cpu_time_ns(rec.pid, rec.vcpu_tids)
            mem = dom.balloon_bytes // 1024 if dom.balloon_bytes else d.current_memory_kib
            return [state[0], d.memory_kib, mem, len(rec.vcpu_tids or []) or d.vcpus_current, cpu]
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
        if not flags & C.VIR_DOMAIN_XML_INACTIVE and dom.active and dom.record and dom.record.vnc_socket:
            return _show_vnc_socket(dom.defn, dom.record.vnc_socket).xml_for_flags(flags)
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
            d.record and d.record.taps for d in doms) else {}
        for d in sorted(doms, key=lambda d: d.name):
            rec = d.record or RuntimeRecord(d.name, d.uuid.hex())  # none yet: shut off
            active = rec.running
            state = (rec.state, rec.reason)
            if flags & C.VIR_CONNECT_LIST_DOMAINS_ACTIVE and not active:
                continue
            if flags & C.VIR_CONNECT_LIST_DOMAINS_INACTIVE and active:
                continue
            defn = d.live if active and d.live is not None else d.config or d.live
            if defn is None:
                continue
            values = domain_stats(stats, state, pid=rec.pid if active else None,
                                  vcpu_tids=rec.vcpu_tids or [], max_kib=defn.memory_kib,
                                  cur_kib=defn.current_memory_kib, balloon_bytes=d.balloon_bytes,
                                  vcpus=defn.vcpus, vcpus_current=defn.vcpus_current, taps=rec.taps or [],
                                  blockstats=d.blockstats, net_dev=net_dev)
            out.append((DomainRef(d.name, d.uuid, rec.id if active and rec.id is not None else -1), values))
        return out


def _show_vnc_socket(defn: DomainDef, path: str) -> DomainDef:
    """The live definition showing the unix socket QEMU serves the VNC display on (every local guest has one,
    see command.py), the way libvirt shows a socket display: ``socket=`` plus ``<listen type='socket'>``.

    Only in the live XML a client reads (consoles find the display through the public API); the stored live
    definition, save files and snapshots keep the definition without it, as libvirt omits generated sockets.
    """
    g = next((g for g in defn.graphics if g.type == "vnc"), None)
    if g is None or g.socket is not None:
        return defn
    out = defn.copy()
    el = next(g for g in out.graphics if g.type == "vnc").element
    el.set("socket", path)
    etree.SubElement(el, "listen", type="socket", socket=path)
    return out

