"""Turning one bulk stats call into rows for the domain list, on the poller's thread.

:class:`StatsSampler` keeps, per connection, the previous counters of every domain and a
short history per metric. Each :meth:`StatsSampler.sample` makes one
``getAllDomainStats()`` call (falling back to ``listAllDomains`` + ``info()`` for
drivers without it) and returns a :class:`PollResult` holding only the rows whose
displayed values changed, so the UI thread does no per-row work on quiet ticks.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NamedTuple, Optional

from ..backend.uuids import format_uuid
from .api import ACTIVE_STATES, STATE_NOSTATE, error_code, libvirt

FETCH_CHUNK = 250  # a paced full tick asks for this many domains' stats per call, pacing in between
HISTORY = 180  # samples kept per metric (3 minutes at the default interval)
SPARK_POINTS = 20  # samples drawn by the list's sparklines


@dataclass(slots=True)
class DomainRow:
    """What the list shows for one domain; replaced (never mutated) when it changes."""

    uuid: bytes
    uuid_str: str
    name: str
    id: int
    state: int
    cpu: Optional[float]  # percent of the guest's vCPUs, None when unknown
    mem_kib: int
    maxmem_kib: int
    vcpus: int
    disk_bps: Optional[float]  # read + write bytes/s
    net_bps: Optional[float]  # rx + tx bytes/s
    hist: Optional[History] = None  # the sampler's history (sparklines read its tail when painted)

    def tail(self, metric: str) -> list:
        """The last SPARK_POINTS raw samples of ``metric`` (list(deque) is atomic: safe while polling)."""
        if self.hist is None:
            return []
        return list(getattr(self.hist, metric))[-SPARK_POINTS:]

    def spark(self, metric: str) -> tuple:
        """0..1 values of the last SPARK_POINTS samples of ``metric`` ('cpu', 'disk' or 'net')."""
        if self.hist is None:
            return ()
        return spark(getattr(self.hist, metric), 100.0 if metric == "cpu" else None)


@dataclass(slots=True)
class PollResult:
    """One tick: rows that changed (or appeared), UUIDs that disappeared, and timing."""

    uri: str
    changed: list[DomainRow] = field(default_factory=list)
    removed: list[bytes] = field(default_factory=list)
    total: int = 0
    elapsed: float = 0.0
    full: bool = False  # first tick: every row
    partial: bool = False  # only some domains were sampled (no removals are known from this tick)


@dataclass(slots=True)
class History:
    """Recent samples of one domain's metrics, for the details window's graphs."""

    cpu: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    mem: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    disk: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    net: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    count: int = 0  # samples appended so far (painters use it to extend a sparkline by one point)


class _RowKey(NamedTuple):
    """What a domain row displays, rounded as shown: a row is sent again only when this changes."""

    name: str
    id: int
    state: int
    cpu: Optional[float]
    mem_kib: int
    maxmem_kib: int
    vcpus: int
    disk_bps: Optional[int]
    net_bps: Optional[int]


class _Sample(NamedTuple):
    """One tick's rates (0.0 for unknown) as the sparklines draw them."""

    cpu: float
    disk_bps: float
    net_bps: float


class _Counts(NamedTuple):
    """How many disks and NICs the stats listed (``block.count``, ``net.count``)."""

    block: Optional[int]
    net: Optional[int]


class _Track:
    __slots__ = ("cpu_time", "disk_bytes", "net_bytes", "at", "hist", "last_key", "last_sample", "same", "spark_flat",
                 "uuid_str", "counts", "disk_keys", "net_keys")

    def __init__(self) -> None:
        self.cpu_time: Optional[int] = None
        self.disk_bytes: Optional[int] = None
        self.net_bytes: Optional[int] = None
        self.at = 0.0
        self.hist = History()
        self.last_key: Optional[_RowKey] = None
        self.last_sample: Optional[_Sample] = None
        self.same = 0  # consecutive ticks with the same (cpu, disk, net) sample
        self.spark_flat = True
        self.uuid_str = ""
        self.counts: Optional[_Counts] = None  # what the key lists were built for
        self.disk_keys: tuple[str, ...] = ()
        self.net_keys: tuple[str, ...] = ()


def _counter_keys(prefix: str, n: Optional[int], fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}.{i}.{f}" for i in range(n or 0) for f in fields)


def _sum(stats: dict, keys: tuple[str, ...], present: bool) -> Optional[int]:
    if not present:
        return None
    total = 0
    get = stats.get
    for k in keys:
        v = get(k)
        if v is not None:
            total += v
    return total


def _rate(prev: Optional[int], now: Optional[int], dt: float) -> Optional[float]:
    if now is None:
        return None
    if prev is None or dt <= 0 or now < prev:
        return 0.0
    return (now - prev) / dt


def spark(values: deque, scale: Optional[float]) -> tuple:
    """The last SPARK_POINTS values scaled to 0..1 (by ``scale``, or by their maximum)."""
    tail = list(values)[-SPARK_POINTS:]  # list(deque) is atomic under the GIL: safe while the poller appends
    if not tail:
        return ()
    top = scale if scale is not None else max(tail)
    if not top:
        return (0.0,) * len(tail)
    k = 1.0 / top
    return tuple(v * k if v < top else 1.0 for v in tail)


class StatsSampler:
    """Per-connection sampler; call :meth:`sample` from one pool thread at a time."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._tracks: dict[bytes, _Track] = {}
        self._bulk = True
        self._first = True
        self._doms: dict[bytes, Any] = {}  # uuid -> domain handle, from the last full tick (partial ticks reuse them)

    def history(self, uuid: bytes) -> Optional[History]:
        """The metric history of one domain (read from the UI thread; deques are append-only)."""
        t = self._tracks.get(uuid)
        return None if t is None else t.hist

    def _fetch(self, conn: Any, doms: Optional[list[Any]] = None,
               pace: Optional[Callable[[], None]] = None) -> list[tuple[Any, dict]]:
        if self._bulk:
            try:
                if pace is not None:
                    return self._fetch_paced(conn, doms, pace)
                return conn.getAllDomainStats() if doms is None else conn.domainListGetStats(doms)
            except libvirt.libvirtError as exc:
                if error_code(exc) != getattr(libvirt, "VIR_ERR_NO_SUPPORT", 3):
                    raise
                self._bulk = False
        rows = []
        for k, dom in enumerate(conn.listAllDomains(0) if doms is None else doms):
            state, maxmem, mem, vcpus, cputime = dom.info()
            rows.append((dom, {"state.state": state, "balloon.current": mem, "balloon.maximum": maxmem,
                               "vcpu.current": vcpus, "cpu.time": cputime if state in ACTIVE_STATES else None}))
            if pace is not None and k % 64 == 63:
                pace()
        return rows

    @staticmethod
    def _fetch_paced(conn: Any, doms: Optional[list[Any]], pace: Callable[[], None]) -> list[tuple[Any, dict]]:
        """The stats of ``doms`` (None: every domain) in calls of FETCH_CHUNK domains, pacing between them."""
        everyone = doms is None
        if doms is None:
            doms = conn.listAllDomains(0)
        if len(doms) <= FETCH_CHUNK:
            return conn.domainListGetStats(doms) if doms else []
        rows: list[tuple[Any, dict]] = []
        for k in range(0, len(doms), FETCH_CHUNK):
            pace()
            try:
                rows += conn.domainListGetStats(doms[k:k + FETCH_CHUNK])
            except libvirt.libvirtError as exc:
                if not everyone or error_code(exc) != getattr(libvirt, "VIR_ERR_NO_DOMAIN", 42):
                    raise
                return conn.getAllDomainStats()  # one went away meanwhile: all in one call after all
        return rows

    def sample(self, conn: Any, now: Optional[float] = None, only: Optional[Iterable[bytes]] = None,
               pace: Optional[Callable[[], None]] = None) -> PollResult:
        """One tick: one bulk stats call, then the rows whose values changed.

        With ``only`` (UUIDs), a partial tick: just those domains known from the last full tick
        (``domainListGetStats``), no removals. Falls back to a full tick when there is none yet,
        or when a domain is gone meanwhile. With ``pace`` (the job runner's :class:`~guiapp.jobs.Pacer`), a
        big tick asks in chunks and turns the answer into rows in steps, calling it in between.
        """
        t0 = time.perf_counter()
        partial = only is not None and not self._first
        rows: list[tuple[Any, dict]] = []
        if partial:
            known = self._doms
            doms = [known[u] for u in only if u in known]  # type: ignore[union-attr]
            try:
                rows = self._fetch(conn, doms, pace) if doms else []
            except libvirt.libvirtError as exc:
                if error_code(exc) != getattr(libvirt, "VIR_ERR_NO_DOMAIN", 42):
                    raise
                partial = False  # one went away: the full tick below finds out which
        if not partial:
            rows = self._fetch(conn, pace=pace)
            self._doms = {}
        doms_seen = None if partial else self._doms
        now = time.monotonic() if now is None else now
        result = PollResult(self.uri, full=self._first, partial=partial)
        seen = self._take(rows, now, result, doms_seen, pace)
        tracks = self._tracks
        if not partial and len(seen) != len(tracks):
            for uuid in [u for u in tracks if u not in seen]:
                del tracks[uuid]
                result.removed.append(uuid)
        result.total = len(self._doms)
        result.elapsed = time.perf_counter() - t0
        self._first = False
        return result

    def _take(self, rows: list[tuple[Any, dict]], now: float, result: PollResult,
              doms_seen: Optional[dict[bytes, Any]], pace: Optional[Callable[[], None]] = None) -> set[bytes]:
        """Turn one bulk stats answer into ``result.changed`` rows; returns the UUIDs it listed."""
        tracks = self._tracks
        seen = set()
        seen_add = seen.add
        changed = result.changed
        for k, (dom, st) in enumerate(rows):
            if pace is not None and k & 127 == 127:
                pace()
            uuid = dom.UUID()
            seen_add(uuid)
            if doms_seen is not None:
                doms_seen[uuid] = dom
            track = tracks.get(uuid)
            if track is None:
                track = tracks[uuid] = _Track()
                track.uuid_str = format_uuid(uuid)
            get = st.get
            state = get("state.state", STATE_NOSTATE)
            active = state in ACTIVE_STATES
            last_key = track.last_key
            if not active and last_key is not None and last_key.state == state and track.spark_flat:
                continue  # a quiet inactive domain: nothing to compute, nothing to show
            dt = now - track.at if track.at else 0.0
            cpu_time = get("cpu.time")
            vcpus = get("vcpu.current") or get("vcpu.maximum") or 1
            cpu: Optional[float]
            if cpu_time is None or not active:
                cpu = 0.0 if not active else None
            elif track.cpu_time is None or dt <= 0 or cpu_time < track.cpu_time:
                cpu = 0.0
            else:
                cpu = min(100.0, (cpu_time - track.cpu_time) / (dt * 1e9 * vcpus) * 100.0)
            counts = _Counts(get("block.count"), get("net.count"))
            nblock, nnet = counts
            if track.counts != counts:
                track.counts = counts
                track.disk_keys = _counter_keys("block", nblock, ("rd.bytes", "wr.bytes"))
                track.net_keys = _counter_keys("net", nnet, ("rx.bytes", "tx.bytes"))
            disk = _sum(st, track.disk_keys, nblock is not None)
            net = _sum(st, track.net_keys, nnet is not None)
            if active:
                disk_bps = _rate(track.disk_bytes, disk, dt)
                net_bps = _rate(track.net_bytes, net, dt)
            else:
                disk_bps = 0.0 if disk is not None else None
                net_bps = 0.0 if net is not None else None
            track.cpu_time, track.disk_bytes, track.net_bytes, track.at = cpu_time, disk, net, now
            mem = get("balloon.current") or get("balloon.maximum") or 0
            h = track.hist
            cpu0, disk0, net0 = cpu or 0.0, disk_bps or 0.0, net_bps or 0.0
            h.cpu.append(cpu0)
            h.mem.append(mem if active else 0)
            h.disk.append(disk0)
            h.net.append(net0)
            h.count += 1
            sample = _Sample(cpu0, disk0, net0)
            track.same = track.same + 1 if sample == track.last_sample else 0
            track.last_sample = sample
            # a sparkline keeps moving until its last SPARK_POINTS samples are all equal
            flat = track.same >= min(h.count, SPARK_POINTS) - 1
            row_key = _RowKey(dom.name(), dom.ID() if active else -1, state, None if cpu is None else round(cpu, 1),
                              mem, get("balloon.maximum") or mem, vcpus,
                              None if disk_bps is None else round(disk_bps),
                              None if net_bps is None else round(net_bps))
            if flat and row_key == last_key and track.spark_flat:
                continue
            track.last_key = row_key
            track.spark_flat = flat
            changed.append(DomainRow(
                uuid=uuid, uuid_str=track.uuid_str, name=row_key.name, id=row_key.id, state=state, cpu=cpu,
                mem_kib=mem, maxmem_kib=row_key.maxmem_kib, vcpus=vcpus, disk_bps=disk_bps, net_bps=net_bps, hist=h))
        return seen

    def preview(self, conn: Any, count: int, above: int = 0) -> Optional[PollResult]:
        """The first tick of a big list (more than ``above`` and ``count`` domains), quick: the first ``count``
        domains by name only (None: not a big list).

        The list shows its first screen of rows from it while the full tick that follows samples the rest
        (the result is ``partial``, not ``full``; the next :meth:`sample` is the first full tick).
        """
        t0 = time.perf_counter()
        doms = conn.listAllDomains(0)
        if len(doms) <= max(count, above):
            return None
        doms.sort(key=lambda d: d.name().casefold())
        result = PollResult(self.uri, partial=True)
        self._take(self._fetch(conn, doms[:count]), time.monotonic(), result, None)
        result.total = len(doms)
        result.elapsed = time.perf_counter() - t0
        return result

    def invalidate(self, uuid: bytes) -> None:
        """Send this domain's row on the next tick even if unchanged (after an event touched the model)."""
        t = self._tracks.get(uuid)
        if t is not None:
            t.last_key = None

    def forget(self) -> None:
        """Drop all tracked state (after a reconnect the next tick is a full one)."""
        self._tracks.clear()
        self._doms = {}
        self._first = True

