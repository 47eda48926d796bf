"""The QEMU driver's monitor pool for statistics: kept-open QMP clients, one round of queries per poll.

Bulk stats (``getAllDomainStats``) never wait for QEMU: block counters and the balloon size are cached
per guest and refreshed in the background by :meth:`StatsPool.refresh`, once per stats request (a poller
asking every second causes one ``query-blockstats`` per guest per second, none when nobody asks).  All
guests are queried concurrently in the driver's asyncio loop (one thread hand-over per round).

Which QMP client answers:

* the process owning the guest (holding its event lease — guiappd, or the process that started it) uses
  its kept-open event monitor; the balloon size comes from ``BALLOON_CHANGE`` events;
* any other process keeps a client open on the guest's *stats* socket (``-mon`` number 2, the record's
  ``qmp_stats``) while it holds that socket's lease (``statslease`` in the guest's runtime folder, one
  process at a time: QEMU serves one client per monitor socket); it asks ``query-balloon`` once at connect
  and then follows ``BALLOON_CHANGE`` events;
* a guest started before the stats socket existed, or whose stats socket another process holds, is asked
  over one-shot connections to its command socket (the old way: two connections per refresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ...errors import DriverError
from .monitor import Monitor, MonitorLoop
from .state import STATS_LEASE, try_lease

if TYPE_CHECKING:
    from .driver import Dom

log = logging.getLogger("guiapp.qemu")

ROUND_TIMEOUT = 5.0  # seconds for one round of queries (a hung QEMU does not stall the others longer)

OneShot = Callable[["Dom", str], Any]  # the driver's _qmp(dom, cmd): a command on the guest's command socket


@dataclass
class _Held:
    mon: Monitor
    lease_fd: int
    path: str
    pid: int


class StatsPool:
    """Kept-open stats clients of the guests this process does not own; see the module docstring."""

    def __init__(self, mloop: MonitorLoop, lease_path: Callable[[bytes], Path]) -> None:
        self.mloop = mloop
        self.lease_path = lease_path
        self._held: dict[bytes, _Held] = {}
        self.rounds = 0  # refresh rounds done (tests, benchmarks)

    # ------------------------------------------------------------------ clients
    def _balloon_sink(self, dom: Dom) -> Callable[[str, dict[str, Any], float], None]:
        def sink(event: str, data: dict[str, Any], _when: float) -> None:  # loop thread
            if event == "BALLOON_CHANGE":
                dom.balloon_bytes = data.get("actual")
        return sink

    def _stats_client(self, dom: Dom) -> Optional[Monitor]:
        """Our kept-open client on ``dom``'s stats socket (connecting once), or None when we cannot hold one."""
        rec = dom.record or {}
        path, pid = rec.get("qmp_stats"), rec.get("pid")
        if not isinstance(path, str) or not path or not isinstance(pid, int):
            return None
        held = self._held.get(dom.uuid)
        if held is not None:
            if held.path == path and held.pid == pid and not held.mon.closed:
                return held.mon
            self._drop(dom.uuid)
        try:
            fd = try_lease(self.lease_path(dom.uuid))
        except OSError:
            return None
        if fd is None:
            return None  # another process keeps the stats socket
        mon = Monitor(self.mloop, path, self._balloon_sink(dom))
        try:
            mon.connect(timeout=2)
            info = mon.execute("query-balloon", timeout=ROUND_TIMEOUT)
            dom.balloon_bytes = info.get("actual") if isinstance(info, dict) else dom.balloon_bytes
        except DriverError as exc:
            log.debug("stats socket of %s: %s", dom.name, exc)
            mon.close()
            os.close(fd)
            return None
        self._held[dom.uuid] = _Held(mon, fd, path, pid)
        return mon

    def _drop(self, uuid: bytes) -> None:
        held = self._held.pop(uuid, None)
        if held is not None:
            held.mon.close()
            with contextlib.suppress(OSError):
                os.close(held.lease_fd)

    # ------------------------------------------------------------------ queries
    def refresh(self, doms: list[Dom], one_shot: OneShot) -> None:
        """One round: block counters (and the balloon where no events reach us) of every active guest."""
        self.rounds += 1
        kept: list[tuple[Dom, Monitor]] = []
        fallback: list[Dom] = []
        for dom in doms:
            if dom.monitor is not None and not dom.monitor.closed:
                self._drop(dom.uuid)  # we own it now: the event monitor answers
                kept.append((dom, dom.monitor))
                continue
            mon = self._stats_client(dom)
            if mon is not None:
                kept.append((dom, mon))
            else:
                fallback.append(dom)
        if kept:
            async def one(dom: Dom, mon: Monitor) -> None:
                try:
                    dom.blockstats = await asyncio.wait_for(mon.aexecute("query-blockstats"), ROUND_TIMEOUT) or []
                except (TimeoutError, DriverError):
                    pass

            async def round_() -> None:
                jobs: list[Awaitable[None]] = [one(d, m) for d, m in kept]
                await asyncio.gather(*jobs)
            with contextlib.suppress(DriverError):
                self.mloop.call(round_(), ROUND_TIMEOUT + 1)
        for dom in fallback:  # a guest we can keep no client for: one-shot connections, as before
            with contextlib.suppress(DriverError):
                dom.blockstats = one_shot(dom, "query-blockstats") or []
                dom.balloon_bytes = one_shot(dom, "query-balloon").get("actual")

    def forget_others(self, active: set[bytes]) -> None:
        """Close the clients of guests that are no longer running here."""
        for uuid in [u for u in self._held if u not in active]:
            self._drop(uuid)

    def close(self) -> None:
        for uuid in list(self._held):
            self._drop(uuid)


__all__ = ["STATS_LEASE", "StatsPool"]
