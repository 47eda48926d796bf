"""Live thumbnails of running domains' screens, captured off the UI thread every few seconds.

The domain list gives :class:`ThumbnailService` one resolver per domain (a callable returning the
domain's :class:`~guiapp.vnc.address.ConsoleTarget`; it makes driver calls and runs on a worker
thread). Every ``interval_ms`` each domain's display is captured once over a short VNC connection
(:func:`guiapp.vnc.snapshot.capture`), scaled, and delivered on the UI thread by
``thumbnail_ready(key, QImage)``. Thumbnails are off when the list holds more domains than the
Preferences limit (:data:`SETTINGS_MAX_DOMAINS`), or when :data:`SETTINGS_ENABLED` is false.
Password-protected displays get no thumbnail.

:class:`DomainListThumbnails` feeds the main window's Screen column: it picks the targets (running
domains with VNC graphics on open connections) from the domain model, and puts each new image into
the model (one ``dataChanged`` for that one cell).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from ..jobs import THUMBNAIL_POOL
from .api import STATE_BLOCKED, STATE_PAUSED, STATE_RUNNING

if TYPE_CHECKING:  # the VNC modules load with the first capture, not with the main window
    from ..vnc.address import ConsoleTarget

SETTINGS_ENABLED = "thumbnails/enabled"
SETTINGS_MAX_DOMAINS = "thumbnails/max_domains"
SETTINGS_INTERVAL = "thumbnails/interval_ms"
DEFAULT_MAX_DOMAINS = 16
DEFAULT_INTERVAL_MS = 5000
DEFAULT_SIZE = QSize(128, 80)
LIST_SIZE = QSize(72, 40)  # the domain list's Screen column (720x400 text mode and 16:10 screens fill it)
SCREEN_STATES = frozenset({STATE_RUNNING, STATE_BLOCKED, STATE_PAUSED})  # domains with a screen to show
#: The job runner's pool the captures run on (its own: a slow display never holds up the domain list's polls).
POOL = THUMBNAIL_POOL

Key = tuple[str, bytes]  # (connection URI, domain UUID)


class NoVncGraphicsError(Exception):
    """The domain has no ``<graphics type='vnc'>`` at all (so it never gets a thumbnail)."""


def _setting_int(settings: Any, key: str, default: int, lo: int, hi: int) -> int:
    if settings is None:
        return default
    try:
        value = int(float(settings.value(key, default)))
    except (TypeError, ValueError):
        return default
    return value if lo <= value <= hi else default


def _setting_bool(settings: Any, key: str, default: bool) -> bool:
    if settings is None:
        return default
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def switched_on(settings: Any) -> bool:
    """The Preferences switch :data:`SETTINGS_ENABLED` (on by default)."""
    return _setting_bool(settings, SETTINGS_ENABLED, True)


def max_domains(settings: Any) -> int:
    """The Preferences limit :data:`SETTINGS_MAX_DOMAINS`: thumbnails are off above it (default 16)."""
    return _setting_int(settings, SETTINGS_MAX_DOMAINS, DEFAULT_MAX_DOMAINS, 0, 100_000)


def interval_ms(settings: Any) -> int:
    """The refresh interval :data:`SETTINGS_INTERVAL` (500 ms – 10 min, default 5 s)."""
    return _setting_int(settings, SETTINGS_INTERVAL, DEFAULT_INTERVAL_MS, 500, 600_000)


def domain_resolver(conn: Any, uuid: bytes) -> Callable[[], ConsoleTarget]:
    """A resolver for the domain ``uuid`` of ``conn`` (driver calls happen when it is called).

    Raises :class:`NoVncGraphicsError` for a domain without VNC graphics, other errors as they come.
    """
    def resolve() -> ConsoleTarget:
        from ..vnc.address import NoConsoleError, console_target, has_vnc_graphics

        dom = conn.lookupByUUID(uuid)
        try:
            return console_target(dom)
        except NoConsoleError as exc:
            if not has_vnc_graphics(dom.XMLDesc(0)):
                raise NoVncGraphicsError(str(exc)) from None
            raise

    return resolve


def grab_thumbnail(target: ConsoleTarget, size: QSize, timeout: float = 3.0) -> QImage:
    """Capture ``target`` once and scale it into ``size`` (aspect kept). Any thread."""
    from ..vnc.snapshot import capture

    if target.has_password:
        raise PermissionError("the display is password protected: no thumbnail")
    w, h, px = capture(target.address, timeout=timeout)
    img = QImage(px, w, h, w * 4, QImage.Format.Format_RGB32)
    return img.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


class _Relay(QObject):
    done = Signal(object, QImage)
    failed = Signal(object, str, bool)  # key, why, the domain has no VNC graphics


class ThumbnailService(QObject):
    """Refreshes one thumbnail per domain; results arrive as signals on the UI thread."""

    thumbnail_ready = Signal(object, QImage)  # key, scaled screen
    thumbnail_failed = Signal(object, str)  # key, why (not running, no VNC, password, ...)
    no_graphics = Signal(object)  # key: the domain has no VNC graphics (also reported by thumbnail_failed)

    def __init__(self, settings: Any = None, *, size: QSize = DEFAULT_SIZE, workers: int = 2,
                 parent: Optional[QObject] = None, runner: Any = None) -> None:
        """``runner`` (a :class:`guiapp.jobs.JobRunner`): captures run on its named pool :data:`POOL`; without
        one (tests of the service alone), on a private executor."""
        super().__init__(parent)
        self.settings = settings
        self.size = QSize(size)
        self.images: dict[Hashable, QImage] = {}
        self._targets: dict[Hashable, Callable[[], ConsoleTarget]] = {}
        self._total: Optional[int] = None  # domains in the list (None: count the targets)
        self._busy: dict[Hashable, Future] = {}
        self._closed = False
        self._runner = runner
        self._running: set[Hashable] = set()  # keys being captured on the runner's pool
        self._pool: Optional[ThreadPoolExecutor] = None
        if runner is not None:
            from ..jobs import Relay

            runner.named_pool(POOL, workers)
            self._light = Relay(self)
            self._light.result.connect(self._light_done)
            self._light.error.connect(self._light_failed)
        else:
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbnail")
        self._relay = _Relay(self)
        self._relay.done.connect(self._done)
        self._relay.failed.connect(self._failed)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh_now)
        self.timer.setInterval(self.interval_ms)

    # ----------------------------------------------------------------- config
    @property
    def max_domains(self) -> int:
        return max_domains(self.settings)

    @property
    def switched_on(self) -> bool:
        return switched_on(self.settings)

    @property
    def interval_ms(self) -> int:
        return interval_ms(self.settings)

    def off_reason(self, total: Optional[int] = None) -> str:
        """Why thumbnails are off ('' when on) for a list of ``total`` domains (default: the last one set)."""
        if not self.switched_on:
            return "thumbnails are switched off in Preferences"
        n = (self._total if self._total is not None else len(self._targets)) if total is None else total
        limit = self.max_domains
        if n > limit:
            return f"thumbnails are off: {n} domains listed, more than the limit of {limit} set in Preferences"
        return ""

    def enabled(self) -> bool:
        """On unless switched off in Preferences or the list holds more domains than the limit."""
        return not self.off_reason()

    def apply_settings(self) -> None:
        """Re-read the interval (and the switch and limit, read at each refresh) after Preferences changed."""
        self.timer.setInterval(self.interval_ms)
        if not self.enabled():
            self.images.clear()

    def set_targets(self, targets: Mapping[Hashable, Callable[[], ConsoleTarget]], *,
                    total: Optional[int] = None) -> None:
        """The running domains to show (key -> resolver); thumbnails of others are dropped.

        ``total`` is how many domains the list holds (the limit applies to it); without it the
        number of targets counts.
        """
        self._targets = dict(targets)
        self._total = total
        for key in list(self.images):
            if key not in self._targets:
                del self.images[key]

    def thumbnail(self, key: Hashable) -> Optional[QImage]:
        return self.images.get(key)

    # ---------------------------------------------------------------- running
    def start(self) -> None:
        self.timer.start()
        self.refresh_now()

    def stop(self, wait: bool = False) -> None:
        """Stop refreshing; ``wait`` blocks until running captures end (tests, shutdown)."""
        self.timer.stop()
        for fut in self._busy.values():
            fut.cancel()
        if wait and self._runner is not None:
            self._runner.named_pool(POOL).waitForDone(10_000)
        if wait:
            for fut in list(self._busy.values()):
                try:
                    fut.result(timeout=10)
                except BaseException:
                    pass

    def close(self) -> None:
        self._closed = True
        self.stop(wait=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def refresh_now(self, keys: Optional[Iterable[Hashable]] = None) -> None:
        """Queue a capture for every domain (or those of ``keys``) not already being captured, when enabled."""
        if self._closed or not self.enabled():
            return
        wanted = self._targets if keys is None else {k: self._targets[k] for k in keys if k in self._targets}
        for key, resolver in wanted.items():
            if self._runner is not None:
                if key in self._running:
                    continue
                self._running.add(key)
                self._runner.start_light(lambda r=resolver, s=QSize(self.size): grab_thumbnail(r(), s), self._light,
                                         key, pool=POOL)
                continue
            fut = self._busy.get(key)
            if fut is not None and not fut.done():
                continue
            assert self._pool is not None
            self._busy[key] = self._pool.submit(self._work, key, resolver, QSize(self.size))

    def _light_done(self, key: Hashable, img: QImage) -> None:
        self._running.discard(key)
        self._done(key, img)

    def _light_failed(self, key: Hashable, exc: BaseException) -> None:
        self._running.discard(key)
        self._failed(key, str(exc) or type(exc).__name__, isinstance(exc, NoVncGraphicsError))

    def _work(self, key: Hashable, resolver: Callable[[], ConsoleTarget], size: QSize) -> None:
        try:
            img = grab_thumbnail(resolver(), size)
        except BaseException as exc:
            self._relay.failed.emit(key, str(exc) or type(exc).__name__, isinstance(exc, NoVncGraphicsError))
        else:
            self._relay.done.emit(key, img)

    def _done(self, key: Hashable, img: QImage) -> None:
        if key in self._targets and self.enabled():
            self.images[key] = img
            self.thumbnail_ready.emit(key, img)

    def _failed(self, key: Hashable, reason: str, no_vnc: bool = False) -> None:
        self.images.pop(key, None)
        if no_vnc:
            self.no_graphics.emit(key)
        self.thumbnail_failed.emit(key, reason)


class DomainListThumbnails(QObject):
    """The domain list's Screen column: targets from the model and connections, images into the model.

    Call :meth:`update` after each poll tick (cheap: with more domains than the limit it only
    counts them). ``changed`` fires when thumbnails turn on or off or the set of failures changes.
    """

    changed = Signal()

    def __init__(self, model: Any, manager: Any, settings: Any = None, *, size: QSize = LIST_SIZE,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.model = model
        self.manager = manager
        self.service = ThumbnailService(settings, size=size, parent=self, runner=getattr(manager, "runner", None))
        self.service.thumbnail_ready.connect(self._ready)
        self.service.thumbnail_failed.connect(self._failed)
        self.service.no_graphics.connect(self._no_graphics)
        #: hook: ``(conn, uri, uuid) -> resolver``; called on the UI thread, the resolver on a worker
        self.resolver_for: Callable[[Any, str, bytes], Callable[[], ConsoleTarget]] = (
            lambda conn, _uri, uuid: domain_resolver(conn, uuid))
        self.has_vnc: dict[Key, bool] = {}  # what is known of each domain's graphics (False: never a target)
        self.failures: dict[Key, str] = {}
        self.off_reason = ""
        self.active = False
        self.closed = False
        self._targets: dict[Key, Callable[[], ConsoleTarget]] = {}
        self._resolvers: dict[Key, tuple[Any, Callable[[], ConsoleTarget]]] = {}

    def update(self) -> None:
        """Recompute the targets from the model (after a poll tick, a removal or a Preferences change)."""
        if self.closed:
            return
        total = self.model.domain_count()
        reason = self.service.off_reason(total)
        if reason:
            if self.active or reason != self.off_reason:
                self.off_reason, self.active = reason, False
                self.service.timer.stop()
                self._targets = {}
                self.service.set_targets({}, total=total)
                self.failures.clear()
                self.model.drop_thumbnails()
                self.changed.emit()
            return
        targets: dict[Key, Callable[[], ConsoleTarget]] = {}
        conns = self.manager.connections
        for node in self.model.connections:
            entry = conns.get(node.uri)
            conn = entry.conn if entry is not None else None
            if conn is None:
                continue
            uri = node.uri
            for row in node.rows:
                key = (uri, row.uuid)
                if row.state not in SCREEN_STATES:
                    if key in self.has_vnc:
                        del self.has_vnc[key]  # its definition may change before it starts again
                    continue
                if self.has_vnc.get(key) is False:
                    continue
                hit = self._resolvers.get(key)
                if hit is None or hit[0] is not conn:
                    hit = self._resolvers[key] = (conn, self.resolver_for(conn, uri, row.uuid))
                targets[key] = hit[1]
        new = [k for k in targets if k not in self._targets]
        gone = [k for k in self._targets if k not in targets]
        self._targets = targets
        for key in [k for k in self._resolvers if k not in targets]:
            del self._resolvers[key]
        self.service.set_targets(targets, total=total)
        if gone:
            self.model.drop_thumbnails(keep=targets)
            for key in gone:
                self.failures.pop(key, None)
        was_active = self.active
        self.off_reason, self.active = "", True
        if not self.service.timer.isActive():
            self.service.timer.start()
        if new:
            self.service.refresh_now(new)
        if not was_active or gone:
            self.changed.emit()

    def apply_settings(self) -> None:
        """Preferences changed: new interval, maybe on or off; capture at once when on."""
        self.service.apply_settings()
        self.off_reason = ""
        self.update()
        if self.active:
            self.service.refresh_now()
        self.changed.emit()

    def close(self) -> None:
        """Stop for good (window closing): waits for running captures."""
        self.closed = True
        self.service.close()

    def _ready(self, key: Key, img: QImage) -> None:
        if key in self._targets:
            self.model.set_thumbnail(key[0], key[1], img)
            if self.failures.pop(key, None) is not None:
                self.changed.emit()

    def _failed(self, key: Key, reason: str) -> None:
        if key not in self._targets:
            return
        self.model.set_thumbnail(key[0], key[1], None, note=reason)
        if self.failures.get(key) != reason:
            self.failures[key] = reason
            self.changed.emit()

    def _no_graphics(self, key: Key) -> None:
        self.has_vnc[key] = False
        if key in self._targets:
            self.update()
