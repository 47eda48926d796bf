"""Live thumbnails of running domains' screens, captured off the UI thread every few seconds.

The domain list gives :class:`ThumbnailService` one resolver per domain (a callable returning the
domain's :class:`~guiapp.vnc.address.ConsoleTarget`; it makes driver calls and runs on a worker
thread). Every ``interval_ms`` each domain's display is captured once over a short VNC connection
(:func:`guiapp.vnc.snapshot.capture`), scaled, and delivered on the UI thread by
``thumbnail_ready(key, QImage)``. Thumbnails are off when the list holds more domains than the
Preferences limit (:data:`SETTINGS_MAX_DOMAINS`), or when :data:`SETTINGS_ENABLED` is false.
Password-protected displays get no thumbnail.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Optional

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from ..vnc.address import ConsoleTarget, console_target
from ..vnc.snapshot import capture

SETTINGS_ENABLED = "thumbnails/enabled"
SETTINGS_MAX_DOMAINS = "thumbnails/max_domains"
SETTINGS_INTERVAL = "thumbnails/interval_ms"
DEFAULT_MAX_DOMAINS = 16
DEFAULT_INTERVAL_MS = 5000
DEFAULT_SIZE = QSize(128, 80)


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


def domain_resolver(conn: Any, uuid: bytes) -> Callable[[], ConsoleTarget]:
    """A resolver for the domain ``uuid`` of ``conn`` (driver calls happen when it is called)."""
    return lambda: console_target(conn.lookupByUUID(uuid))


def grab_thumbnail(target: ConsoleTarget, size: QSize, timeout: float = 3.0) -> QImage:
    """Capture ``target`` once and scale it into ``size`` (aspect kept). Any thread."""
    if target.has_password:
        raise PermissionError("the display is password protected: no thumbnail")
    w, h, px = capture(target.address, timeout=timeout)
    img = QImage(px, w, h, w * 4, QImage.Format.Format_RGB32)
    return img.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


class _Relay(QObject):
    done = Signal(object, QImage)
    failed = Signal(object, str)


class ThumbnailService(QObject):
    """Refreshes one thumbnail per domain; results arrive as signals on the UI thread."""

    thumbnail_ready = Signal(object, QImage)  # key, scaled screen
    thumbnail_failed = Signal(object, str)  # key, why (not running, no VNC, password, ...)

    def __init__(self, settings: Any = None, *, size: QSize = DEFAULT_SIZE, workers: int = 2,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.size = QSize(size)
        self.images: dict[Hashable, QImage] = {}
        self._targets: dict[Hashable, Callable[[], ConsoleTarget]] = {}
        self._busy: dict[Hashable, Future] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbnail")
        self._relay = _Relay(self)
        self._relay.done.connect(self._done)
        self._relay.failed.connect(self._failed)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh_now)
        self.timer.setInterval(_setting_int(settings, SETTINGS_INTERVAL, DEFAULT_INTERVAL_MS, 500, 600_000))

    # ----------------------------------------------------------------- config
    @property
    def max_domains(self) -> int:
        return _setting_int(self.settings, SETTINGS_MAX_DOMAINS, DEFAULT_MAX_DOMAINS, 0, 100_000)

    def enabled(self) -> bool:
        """On unless switched off in Preferences or the list holds more domains than the limit."""
        return _setting_bool(self.settings, SETTINGS_ENABLED, True) and len(self._targets) <= self.max_domains

    def set_targets(self, targets: Mapping[Hashable, Callable[[], ConsoleTarget]]) -> None:
        """The running domains to show (key -> resolver); thumbnails of others are dropped."""
        self._targets = dict(targets)
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
        if wait:
            for fut in list(self._busy.values()):
                try:
                    fut.result(timeout=10)
                except BaseException:  # noqa: BLE001, S110 - already reported through the relay
                    pass

    def close(self) -> None:
        self.stop(wait=True)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def refresh_now(self) -> None:
        """Queue a capture for every domain not already being captured (when enabled)."""
        if not self.enabled():
            return
        for key, resolver in self._targets.items():
            fut = self._busy.get(key)
            if fut is not None and not fut.done():
                continue
            self._busy[key] = self._pool.submit(self._work, key, resolver, QSize(self.size))

    def _work(self, key: Hashable, resolver: Callable[[], ConsoleTarget], size: QSize) -> None:
        try:
            img = grab_thumbnail(resolver(), size)
        except BaseException as exc:  # noqa: BLE001 - delivered as a signal
            self._relay.failed.emit(key, str(exc) or type(exc).__name__)
        else:
            self._relay.done.emit(key, img)

    def _done(self, key: Hashable, img: QImage) -> None:
        if key in self._targets:
            self.images[key] = img
            self.thumbnail_ready.emit(key, img)

    def _failed(self, key: Hashable, reason: str) -> None:
        self.images.pop(key, None)
        self.thumbnail_failed.emit(key, reason)
