"""Connections: opened off the UI thread, polled one poller each, remembered in QSettings.

Each connection has its own QTimer on the UI thread and at most one poll job in the pool
at a time, so a slow host skips its own ticks and never delays another. Lifecycle events
(``domainEventRegisterAny``), where the driver gives them, update a row's state at once and
trigger an early poll.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable, Optional

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from ..jobs import UI_WORK, JobRunner, Pacer, Relay
from .api import (
    STATE_CRASHED,
    STATE_PAUSED,
    STATE_PMSUSPENDED,
    STATE_RUNNING,
    STATE_SHUTDOWN,
    STATE_SHUTOFF,
    error_code,
    is_connection_lost,
    libvirt,
)
from .domains import ConnectionNode, DomainTreeModel
from .stats import PollResult, StatsSampler

log = logging.getLogger(__name__)

DEFAULT_URI = "test:///default"
DEFAULT_INTERVAL_MS = 1000
SETTINGS_URIS = "connections/uris"
SETTINGS_INTERVAL = "preferences/poll_interval_ms"

# above this many domains a tick samples only the watched ones (visible rows, open graphs), and every domain
# once every ceil(N / SWEEP_DOMAINS_PER_TICK) ticks: a poll then costs about the same at 5000 domains as at 500
# (rows off screen get their statistics that much later; lifecycle events still change their state at once, and
# sorting by a statistics column asks for a full tick first). 50 a tick: at 2000 domains a full tick every 40 s
# instead of 20 s (100 a tick cost a quarter of the list's idle CPU: 2.3 of 11 ms a second on the test driver).
FULL_TICK_DOMAINS = 250
SWEEP_DOMAINS_PER_TICK = 50
PREVIEW_ROWS = 100  # a big list's first tick samples the first this many domains by name (its first screen)
ASKED_SECONDS = 5.0  # a domain whose history a graph read stays sampled on every tick this long

EVENT_BATCH_MS = 30  # events arriving within this window update the list together

# lifecycle event number -> the state a row takes at once (None: only re-poll)
_EVENT_STATE: dict[int, Optional[int]] = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: None,
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: None,
    libvirt.VIR_DOMAIN_EVENT_STARTED: STATE_RUNNING,
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: STATE_PAUSED,
    libvirt.VIR_DOMAIN_EVENT_RESUMED: STATE_RUNNING,
    libvirt.VIR_DOMAIN_EVENT_STOPPED: STATE_SHUTOFF,
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: STATE_SHUTDOWN,
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: STATE_PMSUSPENDED,
    libvirt.VIR_DOMAIN_EVENT_CRASHED: STATE_CRASHED,
}


def settings_list(value: Any) -> list[str]:
    """QSettings returns a str for one-element lists (INI) and None when missing."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class _EventRelay(QObject):
    """Lives on the UI thread; driver callbacks run on whatever thread and queue their events here.

    Events are buffered under a lock and one queued signal is sent per burst (when the buffer was
    empty), so 2000 events from a bulk action cost the UI thread one slot call, not 2000.
    """

    burst = Signal()

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._buffer: list[tuple[str, bytes, int, int, int]] = []

    def push(self, uri: str, uuid: bytes, event: int, detail: int, dom_id: int) -> None:
        """Called on any thread."""
        with self._lock:
            first = not self._buffer
            self._buffer.append((uri, uuid, event, detail, dom_id))
        if first:
            self.burst.emit()

    def take(self) -> list[tuple[str, bytes, int, int, int]]:
        with self._lock:
            items, self._buffer = self._buffer, []
        return items


class Connection:
    """One connection's state on the UI thread."""

    def __init__(self, uri: str, read_only: bool) -> None:
        self.uri = uri
        self.read_only = read_only
        self.conn: Any = None
        self.sampler = StatsSampler(uri)
        self.timer: Optional[QTimer] = None
        self.busy = False
        self.repoll = False
        self.event_id: Optional[int] = None
        self.generation = 0  # bumped at every (re)open; stale job results are dropped
        self.last_poll: Optional[PollResult] = None
        self.poll_failures = 0
        self.ticks_since_full = 0
        self.force_full = True  # the next tick samples every domain
        self.touched: set[bytes] = set()  # domains events changed: the next partial tick samples them too

    @property
    def is_open(self) -> bool:
        return self.conn is not None


class ConnectionManager(QObject):
    """Opens, polls, retries and forgets connections; feeds :class:`DomainTreeModel`."""

    opening = Signal(str)  # uri, on the UI thread just before its open is submitted (e.g. to prepare ssh prompts)
    connected = Signal(str)
    open_failed = Signal(str, object)  # uri, exception
    poll_failed = Signal(str, object)  # uri, exception (goes to the status area, not a dialog)
    polled = Signal(str, object)  # uri, PollResult
    removed = Signal(str)

    def __init__(self, runner: JobRunner, model: DomainTreeModel, settings: Optional[QSettings] = None,
                 interval_ms: int = DEFAULT_INTERVAL_MS, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.model = model
        self.settings = settings
        self.interval_ms = interval_ms
        self.connections: dict[str, Connection] = {}
        self._relay = _EventRelay(self)
        self._relay.burst.connect(self._on_burst)
        self._pending_events: dict[str, dict[bytes, tuple[int, Optional[int]]]] = {}
        self._event_flush = QTimer(self)  # lifecycle events are applied in batches (one dataChanged each)
        self._event_flush.setSingleShot(True)
        self._event_flush.setInterval(EVENT_BATCH_MS)
        self._event_flush.timeout.connect(self.flush_events)
        # which domains each partial tick samples: uri -> UUIDs (the window's visible rows); None: every tick full
        self.watched: Optional[Callable[[str], Iterable[bytes]]] = None
        self.full_tick_domains = FULL_TICK_DOMAINS
        self._asked: dict[tuple[str, bytes], float] = {}  # history() readers (graphs): sampled every tick a while
        self._poll_relay = Relay(self)  # one QObject for every poll tick's result (no Job per tick)
        self._poll_relay.result.connect(self._poll_result)
        self._poll_relay.error.connect(self._poll_failure)

    # --------------------------------------------------------------- settings
    def saved_uris(self) -> list[str]:
        if self.settings is None:
            return []
        return settings_list(self.settings.value(SETTINGS_URIS))

    def _save(self) -> None:
        if self.settings is not None:
            self.settings.setValue(SETTINGS_URIS, list(self.connections))
            self.settings.sync()

    # ----------------------------------------------------------------- public
    def add(self, uri: str, *, read_only: bool = False, remember: bool = True) -> Connection:
        """Add a connection row and open it on the pool (no-op if present; retries if failed)."""
        uri = uri.strip()
        entry = self.connections.get(uri)
        if entry is not None:
            if not entry.is_open:
                self.retry(uri)
            return entry
        entry = self.connections[uri] = Connection(uri, read_only)
        node = self.model.add_connection(uri)
        node.read_only = read_only
        if remember:
            self._save()
        self._open(entry)
        return entry

    def remove(self, uri: str) -> None:
        entry = self.connections.pop(uri, None)
        if entry is None:
            return
        self._stop(entry)
        self.model.remove_connection(uri)
        self._save()
        self._close_async(entry)
        self.removed.emit(uri)

    def retry(self, uri: str) -> None:
        entry = self.connections.get(uri)
        if entry is None or entry.is_open:
            return
        self._open(entry)

    def open_uris(self, *, writable: bool = False) -> list[str]:
        """URIs of the open connections (only the read-write ones with ``writable``)."""
        return [uri for uri, e in self.connections.items() if e.is_open and not (writable and e.read_only)]

    def is_read_only(self, uri: str) -> bool:
        """True for a read-only connection, and for a URI the manager does not hold (nothing may change)."""
        entry = self.connections.get(uri)
        return entry is None or entry.read_only

    def conn(self, uri: str) -> Any:
        entry = self.connections.get(uri)
        return None if entry is None else entry.conn

    def set_interval(self, ms: int) -> None:
        self.interval_ms = max(100, int(ms))
        for entry in self.connections.values():
            if entry.timer is not None:
                entry.timer.setInterval(self.interval_ms)

    def poll_now(self, uri: str, domains: Optional[Iterable[bytes]] = None) -> None:
        """Poll as soon as possible (coalesced with a poll already running): every domain, or with ``domains``
        (known ones whose state events changed) a partial tick that samples them besides the usual ones."""
        entry = self.connections.get(uri)
        if entry is None or not entry.is_open:
            return
        if domains is None:
            entry.force_full = True
        else:
            entry.touched.update(domains)
        if entry.busy:
            entry.repoll = True
        else:
            self._poll(entry)

    def history(self, uri: str, uuid: bytes) -> Any:
        """A domain's metric history; whoever reads it (a graph) gets that domain sampled on every tick."""
        entry = self.connections.get(uri)
        if entry is None:
            return None
        self._asked[(uri, uuid)] = time.monotonic()
        return entry.sampler.history(uuid)

    def full_every(self, entry: Connection) -> int:
        """Every how many ticks all domains are sampled: 1 up to ``full_tick_domains``, then in proportion
        (``SWEEP_DOMAINS_PER_TICK`` domains a tick on average, fewer if ``full_tick_domains`` is lower)."""
        total = entry.last_poll.total if entry.last_poll is not None else 0
        if self.watched is None or total <= self.full_tick_domains:
            return 1
        return -(-total // min(self.full_tick_domains, SWEEP_DOMAINS_PER_TICK))

    def sweep_all(self) -> None:
        """Sample every domain of every connection on its next tick (before sorting by a statistic)."""
        for uri in self.connections:
            self.poll_now(uri)

    def _partial_set(self, entry: Connection) -> Optional[set[bytes]]:
        """The UUIDs a partial tick samples, or None when this tick is a full one."""
        if entry.force_full or self.watched is None or entry.ticks_since_full + 1 >= self.full_every(entry):
            return None
        wanted = set(self.watched(entry.uri))
        wanted |= entry.touched
        horizon = time.monotonic() - ASKED_SECONDS
        for key, at in list(self._asked.items()):
            if at < horizon:
                del self._asked[key]
            elif key[0] == entry.uri:
                wanted.add(key[1])
        return wanted

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Stop polling and close every connection on the pool, waiting a little for them."""
        for entry in self.connections.values():
            self._stop(entry)
            self._close_async(entry)
        self.runner.wait(wait_ms)

    # --------------------------------------------------------------- opening
    def _open(self, entry: Connection) -> None:
        entry.generation += 1
        gen = entry.generation
        uri, read_only, relay = entry.uri, entry.read_only, self._relay
        self.model.set_connection_status(uri, ConnectionNode.CONNECTING)
        self.opening.emit(uri)

        def work() -> tuple[Any, Optional[int]]:
            conn = libvirt.openReadOnly(uri) if read_only else libvirt.open(uri)
            event_id = None
            try:
                def on_event(_conn: Any, dom: Any, event: int, detail: int, _opaque: Any) -> None:
                    relay.push(uri, dom.UUID(), event, detail, dom.ID())
                event_id = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_event, None)
            except libvirt.libvirtError:
                event_id = None  # no events from this driver: polling alone
            return conn, event_id

        self.runner.submit(f"Connect to {uri}", work, uri=uri, operation="virConnectOpen",
                           on_result=lambda res: self._opened(uri, gen, res),
                           on_error=lambda exc: self._open_error(uri, gen, exc))

    def _opened(self, uri: str, gen: int, res: tuple[Any, Optional[int]]) -> None:
        entry = self.connections.get(uri)
        conn, event_id = res
        if entry is None or entry.generation != gen:
            self.runner.submit(f"Close {uri}", conn.close, uri=uri)
            return
        entry.conn, entry.event_id = conn, event_id
        entry.sampler.forget()
        entry.poll_failures = 0
        self.model.set_connection_status(uri, ConnectionNode.CONNECTED)
        if entry.timer is None:
            entry.timer = QTimer(self)
            entry.timer.timeout.connect(lambda e=entry: self._tick(e))
        entry.timer.start(self.interval_ms)
        self.connected.emit(uri)
        self._poll(entry)

    def _open_error(self, uri: str, gen: int, exc: BaseException) -> None:
        entry = self.connections.get(uri)
        if entry is None or entry.generation != gen:
            return
        self.model.set_connection_status(uri, ConnectionNode.FAILED, str(exc))
        self.open_failed.emit(uri, exc)

    def _stop(self, entry: Connection) -> None:
        entry.generation += 1
        if entry.timer is not None:
            entry.timer.stop()

    def _close_async(self, entry: Connection) -> None:
        conn, event_id = entry.conn, entry.event_id
        entry.conn = None
        if conn is None:
            return

        def work() -> None:
            if event_id is not None:
                try:
                    conn.domainEventDeregisterAny(event_id)
                except Exception:
                    pass
            conn.close()
        self.runner.submit(f"Close {entry.uri}", work, uri=entry.uri, operation="virConnectClose")

    # ---------------------------------------------------------------- polling
    def _tick(self, entry: Connection) -> None:
        if entry.busy:
            return  # this host is slow: skip its tick, others are not affected
        self._poll(entry)

    def _poll(self, entry: Connection) -> None:
        conn, sampler, gen = entry.conn, entry.sampler, entry.generation
        if conn is None:
            return
        entry.busy = True
        only = self._partial_set(entry)
        entry.touched = set()
        if only is None:
            entry.ticks_since_full, entry.force_full = 0, False
        else:
            entry.ticks_since_full += 1
        # the first tick of a big list shows its first screen of rows at once; the full tick follows it
        preview = PREVIEW_ROWS if entry.last_poll is None and self.watched is not None else 0

        def work() -> PollResult:
            try:
                if preview:
                    first = sampler.preview(conn, preview, above=self.full_tick_domains)
                    if first is not None:
                        return first
                return sampler.sample(conn, only=only, pace=Pacer())
            except Exception as exc:
                try:
                    alive = bool(conn.isAlive())
                except Exception:
                    alive = False
                exc.guiapp_alive = alive  # type: ignore[attr-defined]
                raise

        self.runner.start_light(work, self._poll_relay, (entry, gen))

    def _poll_result(self, tag: tuple[Connection, int], result: PollResult) -> None:
        with UI_WORK:
            self._polled(*tag, result)

    def _poll_failure(self, tag: tuple[Connection, int], exc: BaseException) -> None:
        self._poll_error(*tag, exc)

    def _polled(self, entry: Connection, gen: int, result: PollResult) -> None:
        entry.busy = False
        if entry.generation != gen or self.connections.get(entry.uri) is not entry:
            return
        if entry.poll_failures:
            entry.poll_failures = 0
            self.model.set_connection_status(entry.uri, ConnectionNode.CONNECTED)
        self.model.apply(result)
        if entry.last_poll is None and result.partial and not result.full:  # the preview: the full tick now
            entry.repoll = entry.force_full = True
        if not result.partial or entry.last_poll is None:
            entry.last_poll = result
        self.polled.emit(entry.uri, result)
        if entry.repoll:
            entry.repoll = False
            self._poll(entry)

    def _poll_error(self, entry: Connection, gen: int, exc: BaseException) -> None:
        entry.busy = False
        if entry.generation != gen or self.connections.get(entry.uri) is not entry:
            return
        entry.poll_failures += 1
        alive = getattr(exc, "guiapp_alive", True)
        if not alive or is_connection_lost(exc):
            self._stop(entry)
            self._close_async(entry)
            entry.sampler.forget()
            self.model.clear_domains(entry.uri)
            self.model.set_connection_status(entry.uri, ConnectionNode.DISCONNECTED, str(exc))
        else:
            self.model.set_connection_status(entry.uri, ConnectionNode.ERROR, str(exc))
        log.info("poll of %s failed (code %s): %s", entry.uri, error_code(exc), exc)
        self.poll_failed.emit(entry.uri, exc)

    # ----------------------------------------------------------------- events
    def _on_burst(self) -> None:
        with UI_WORK:
            for item in self._relay.take():
                self._on_event(*item)

    def _on_event(self, uri: str, uuid: bytes, event: int, detail: int, dom_id: int) -> None:
        """Queue the event's state for the next batch; the batch also triggers one early poll."""
        state = _EVENT_STATE.get(event)
        batch = self._pending_events.setdefault(uri, {})
        if state is not None:
            batch[uuid] = (state, dom_id)
        else:
            batch.setdefault(uuid, (-1, None))
        if not self._event_flush.isActive():
            self._event_flush.start()

    def flush_events(self) -> None:
        """Apply the queued lifecycle events: one model update and one early poll per connection.

        The poll samples just the domains these events changed when they are all state changes of listed
        domains (a bulk action on thousands sends a batch every EVENT_BATCH_MS); a defined, undefined or new
        domain needs a full one.
        """
        pending, self._pending_events = self._pending_events, {}
        with UI_WORK:
            self._apply_events(pending)

    def _apply_events(self, pending: dict[str, dict[bytes, tuple[int, Optional[int]]]]) -> None:
        for uri, batch in pending.items():
            states = {u: v for u, v in batch.items() if v[0] >= 0}
            listed = self.model.set_domain_states(uri, states)
            entry = self.connections.get(uri)
            if entry is not None:
                for uuid in batch:
                    entry.sampler.invalidate(uuid)  # the next tick is authoritative, even if this event was stale
            self.poll_now(uri, batch if listed == len(batch) else None)
