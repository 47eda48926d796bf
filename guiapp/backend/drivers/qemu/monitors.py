"""The QEMU driver's monitor pool for statistics: kept-open QMP clients, one round of queries per poll.

Bulk stats (``getAllDomainStats``) never wait for QEMU: block counters and the balloon size are cached
per guest and refreshed in the background by :meth:`StatsPool.refresh`, once per stats request (a poller
asking every second causes one ``query-blockstats`` per guest per second, none when nobody asks).  All
guests are queried concurrently in the driver's asyncio loop (one thread hand-over per round).

Which QMP client answers:

* the process holding the guest's *stats* socket (``-mon`` number 2, the record's ``qmp_stats``; its lease
  ``statslease`` in the guest's runtime folder is taken by the first process that polls — guiappd when it
  runs, since every client polls through it) keeps a plain blocking client open on it (:class:`RawQMP`:
  one JSON line out, lines in, no asyncio; ~10× cheaper than a ``qemu.qmp`` call), sends the queries of
  all guests first and then reads the answers; it asks ``query-balloon`` once at connect and then follows
  the ``BALLOON_CHANGE`` events that arrive on that socket;
* otherwise the process owning the guest (its event lease) uses its kept-open event monitor (the balloon
  from its events);
* otherwise (a guest started before the stats socket existed, or a third process) one-shot connections to
  the guest's command socket, the old way (two connections per refresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ...errors import DriverError
from .monitor import MonitorError, MonitorLoop
from .state import STATS_LEASE, try_lease

if TYPE_CHECKING:
    from .driver import Dom

log = logging.getLogger("guiapp.qemu")

ROUND_TIMEOUT = 5.0  # seconds for one round of queries (a hung QEMU does not stall the others longer)
IDLE_CLOSE = 30.0  # seconds without a round after which the stats sockets are let go (events would pile up)

OneShot = Callable[["Dom", str], Any]  # the driver's _qmp(dom, cmd): a command on the guest's command socket


class RawQMP:
    """A blocking QMP client for queries on a socket nobody else uses (events seen in passing go to ``on_event``)."""

    def __init__(self, path: str, on_event: Callable[[str, dict[str, Any]], None], timeout: float = 2.0) -> None:
        self.on_event = on_event
        self.timeout = timeout
        self._ids = 0
        self._buf = b""
        self.closed = False
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
            self._line(time.monotonic() + timeout)  # the greeting
            self.send("qmp_capabilities")
            self.receive(time.monotonic() + timeout)
        except BaseException:
            self.close()
            raise

    def _line(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("QEMU did not answer on its stats socket")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("QEMU closed its stats socket")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        msg = json.loads(line)
        if not isinstance(msg, dict):
            raise ValueError("QMP sent something that is not an object")
        return msg

    def send(self, cmd: str) -> int:
        """Send ``cmd`` (no arguments); its id."""
        self._ids += 1
        self.sock.sendall(json.dumps({"execute": cmd, "id": self._ids}).encode() + b"\n")
        return self._ids

    def receive(self, deadline: float) -> Any:
        """The next answer (events before it go to ``on_event``); raises on an error answer."""
        while True:
            msg = self._line(deadline)
            if "event" in msg:
                self.on_event(str(msg["event"]), msg.get("data") or {})
                continue
            if "error" in msg:
                raise MonitorError(f"QEMU refused a stats query: {msg['error'].get('desc', msg['error'])}")
            return msg.get("return")

    def close(self) -> None:
        self.closed = True
        self.sock.close()


@dataclass
class _Held:
    mon: RawQMP
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
        self._last_round = time.monotonic()

    # ------------------------------------------------------------------ clients
    @staticmethod
    def _balloon_sink(dom: Dom) -> Callable[[str, dict[str, Any]], None]:
        def sink(event: str, data: dict[str, Any]) -> None:
            if event == "BALLOON_CHANGE":
                dom.balloon_bytes = data.get("actual")
        return sink

    def _stats_client(self, dom: Dom) -> Optional[RawQMP]:
        """Our kept-open client on ``dom``'s stats socket (connecting once), or None when we cannot hold one."""
        rec = dom.record
        path, pid = (rec.qmp_stats, rec.pid) if rec is not None else (None, None)
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
        try:
            mon = RawQMP(path, self._balloon_sink(dom))
        except (OSError, ValueError, EOFError, DriverError) as exc:
            log.debug("stats socket of %s: %s", dom.name, exc)
            os.close(fd)
            return None
        try:
            mon.send("query-balloon")
            info = mon.receive(time.monotonic() + ROUND_TIMEOUT)
            dom.balloon_bytes = info.get("actual") if isinstance(info, dict) else dom.balloon_bytes
        except (OSError, ValueError, EOFError, DriverError):
            pass  # no balloon device: keep the configured size
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
        self._last_round = time.monotonic()
        raw: list[tuple[Dom, RawQMP]] = []
        owned: list[Dom] = []
        fallback: list[Dom] = []
        for dom in doms:
            client = self._stats_client(dom)
            if client is not None:
                raw.append((dom, client))
            elif dom.monitor is not None and not dom.monitor.closed:
                owned.append(dom)
            else:
                fallback.append(dom)
        self._raw_round(raw)
        if owned:
            self._monitor_round(owned)
        for dom in fallback:  # a guest we can keep no client for: one-shot connections, as before
            with contextlib.suppress(DriverError):
                dom.blockstats = one_shot(dom, "query-blockstats") or []
                dom.balloon_bytes = one_shot(dom, "query-balloon").get("actual")

    def _raw_round(self, raw: list[tuple[Dom, RawQMP]]) -> None:
        """All queries out first, then the answers in (QEMUs answer in parallel)."""
        sent = []
        for dom, client in raw:
            try:
                client.send("query-blockstats")
                sent.append((dom, client))
            except OSError:
                self._drop(dom.uuid)
        deadline = time.monotonic() + ROUND_TIMEOUT
        for dom, client in sent:
            try:
                dom.blockstats = client.receive(deadline) or []
            except (OSError, ValueError, EOFError, TimeoutError, DriverError) as exc:
                log.debug("stats of %s: %s", dom.name, exc)
                self._drop(dom.uuid)  # reconnect at the next round (a late answer must not be taken for another)

    def _monitor_round(self, owned: list[Dom]) -> None:
        async def one(dom: Dom) -> None:
            assert dom.monitor is not None
            try:
                dom.blockstats = await asyncio.wait_for(dom.monitor.aexecute("query-blockstats"), ROUND_TIMEOUT) or []
            except (TimeoutError, DriverError):
                pass

        async def round_() -> None:
            jobs: list[Awaitable[None]] = [one(d) for d in owned]
            await asyncio.gather(*jobs)
        with contextlib.suppress(DriverError):
            self.mloop.call(round_(), ROUND_TIMEOUT + 1)

    def forget_others(self, active: set[bytes]) -> None:
        """Close the clients of guests that are no longer running here, and all of them once nobody polled for
        :data:`IDLE_CLOSE` seconds (unread events would pile up in the sockets; another process may want them)."""
        idle = time.monotonic() - self._last_round > IDLE_CLOSE
        for uuid in [u for u in self._held if idle or u not in active]:
            self._drop(uuid)

    def close(self) -> None:
        for uuid in list(self._held):
            self._drop(uuid)


__all__ = ["STATS_LEASE", "StatsPool"]
