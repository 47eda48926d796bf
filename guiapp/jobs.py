"""The job runner: every driver call runs on a QThreadPool; results and errors come back as signals.

A :class:`Job` is a QObject living on the UI thread; its ``run`` callable executes on a
pool thread and may report progress through the :class:`JobContext` it receives.
``finished(result)`` or ``failed(exc)`` is delivered on the UI thread (queued).

:func:`install_ui_thread_guard` is the debug check required by the design: it wraps the
backend's driver entry points and records (and logs) any call made on the UI thread.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, Optional

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


#: :class:`Pacer`: the longest a pool loop waits for the UI thread to finish a stretch of work
PACE_WAIT = 0.1


class UiWork:
    """Marks stretches of UI-thread work (``with UI_WORK:``) that pool threads' loops make way for.

    Pool threads running Python compete with the UI thread for the GIL: the UI thread waits for it after every
    Qt call that released it, so painting the domain list (25 ms of CPU) took 80-100 ms while a bulk job and a
    poll of 2000 domains ran. Loops on the pool call a :class:`Pacer` between items; it waits while a marked
    stretch runs. (The event dispatcher's awake/aboutToBlock signals cannot tell: with glib both come before
    the events are dispatched.) Nests; UI thread only.
    """

    __slots__ = ("_idle", "_depth")

    def __init__(self) -> None:
        self._idle = threading.Event()
        self._idle.set()
        self._depth = 0

    def __enter__(self) -> UiWork:
        self._depth += 1
        self._idle.clear()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._depth -= 1
        if not self._depth:
            self._idle.set()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no marked stretch runs (True) or ``timeout`` seconds passed (False)."""
        return self._idle.is_set() or self._idle.wait(timeout)


UI_WORK = UiWork()


class Pacer:
    """Called between the items of a long loop on a pool thread: waits (at most PACE_WAIT s) while the UI thread
    runs a stretch of work marked with :data:`UI_WORK`; otherwise returns at once."""

    __slots__ = ("_ui",)

    def __init__(self, ui: UiWork = UI_WORK) -> None:
        self._ui = ui

    def __call__(self) -> None:
        self._ui.wait_idle(PACE_WAIT)


class JobContext:
    """Handed to a job's function on the pool thread: progress reporting and pacing."""

    __slots__ = ("_job", "pace")

    def __init__(self, job: Job) -> None:
        self._job = job
        #: call between the items of a long loop (:class:`Pacer`)
        self.pace = Pacer()

    def progress(self, percent: int, text: str = "") -> None:
        """Report progress (0-100, or -1 for 'busy'); delivered to the UI thread."""
        self._job.progressed.emit(int(percent), text)


class Job(QObject):
    """One unit of work for the pool; signals are delivered on the UI thread."""

    started = Signal()
    progressed = Signal(int, str)
    finished = Signal(object)
    failed = Signal(object)
    done = Signal()  # after finished or failed

    _ids = itertools.count(1)

    def __init__(self, title: str, fn: Callable[..., Any], *, uri: str = "", operation: str = "",
                 long: bool = False, takes_context: bool = False) -> None:
        super().__init__()
        self.id = next(self._ids)
        self.title = title
        self.fn = fn
        self.uri = uri
        self.operation = operation or title
        self.long = long
        self.takes_context = takes_context
        self.state = JobState.QUEUED
        self.percent = -1
        self.progress_text = ""
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.created = time.monotonic()
        self.ended: Optional[float] = None
        self.started.connect(self._on_started)
        self.progressed.connect(self._on_progress)
        self.finished.connect(self._on_finished)
        self.failed.connect(self._on_failed)

    # slots on the UI thread keep the bookkeeping single-threaded
    def _on_started(self) -> None:
        self.state = JobState.RUNNING

    def _on_progress(self, percent: int, text: str) -> None:
        self.percent = percent
        self.progress_text = text

    def _on_finished(self, result: Any) -> None:
        self.state = JobState.DONE
        self.percent = 100
        self.result = result
        self.ended = time.monotonic()
        self.done.emit()

    def _on_failed(self, exc: BaseException) -> None:
        self.state = JobState.FAILED
        self.error = exc
        self.ended = time.monotonic()
        self.done.emit()


class _Runnable(QRunnable):
    """Runs one Job; nothing escapes run() (pytest-qt fails tests on exceptions there)."""

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.setAutoDelete(True)

    def run(self) -> None:
        job = self.job
        try:
            if job.long:
                job.started.emit()  # only the jobs panel shows it; polls skip the round trip
            if job.takes_context:
                result = job.fn(JobContext(job))
            else:
                result = job.fn()
        except BaseException as exc:
            try:
                exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            except AttributeError:
                pass
            job.failed.emit(exc)
        else:
            job.finished.emit(result)
        finally:
            self.job = None  # type: ignore[assignment]


class Relay(QObject):
    """Result/error signals shared by many light tasks (polls): no Job object per call."""

    result = Signal(object, object)  # tag, value
    error = Signal(object, object)  # tag, exception


class _LightRunnable(QRunnable):
    __slots__ = ("fn", "relay", "tag")

    def __init__(self, fn: Callable[[], Any], relay: Relay, tag: Any) -> None:
        super().__init__()
        self.fn, self.relay, self.tag = fn, relay, tag
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            value = self.fn()
        except BaseException as exc:
            self.relay.error.emit(self.tag, exc)
        else:
            self.relay.result.emit(self.tag, value)
        finally:
            self.fn = self.relay = None  # type: ignore[assignment]


def _while_alive(owner: QObject, fn: Optional[Callable[..., Any]]) -> Optional[Callable[..., Any]]:
    """``fn`` guarded so that it does nothing once ``owner``'s C++ object is deleted."""
    if fn is None:
        return None

    def call(*args: Any) -> Any:
        if shiboken6.isValid(owner):
            return fn(*args)
        return None
    return call


#: Named pools (:meth:`JobRunner.named_pool`): work that must not wait behind the general pool's jobs.
THUMBNAIL_POOL = "thumbnails"  # VNC captures of the domain list's Screen column
CONSOLE_POOL = "console"  # console windows: display address look-ups, serial sessions


class JobRunner(QObject):
    """Submits jobs to a QThreadPool and keeps the list of long jobs for the jobs panel."""

    job_added = Signal(object)  # a long job was queued (jobs panel)
    job_changed = Signal(object)  # a long job started, progressed or ended
    job_submitted = Signal(object)  # every job, long or not (debugging, tests)

    def __init__(self, max_threads: int = 8, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setObjectName("guiapp-jobs")
        self.pool.setMaxThreadCount(max_threads)
        self.pool.setExpiryTimeout(30_000)
        #: pools of their own for one kind of work (name -> pool), made by :meth:`named_pool`
        self.pools: dict[str, QThreadPool] = {}
        self._active: dict[int, Job] = {}
        self.history: list[Job] = []  # long jobs, shown in the jobs panel
        self.history_limit = 200

    def submit(self, title: str, fn: Callable[..., Any], *,
               on_result: Optional[Callable[[Any], Any]] = None,
               on_error: Optional[Callable[[BaseException], Any]] = None,
               uri: str = "", operation: str = "", long: bool = False, takes_context: bool = False,
               owner: Optional[QObject] = None, pool: Optional[str] = None) -> Job:
        """Queue ``fn`` on the pool (``pool``: on that :meth:`named_pool`); callbacks run on the UI thread.

        With ``owner`` (a window or dialog), the callbacks are dropped once the owner is deleted, so a window
        closed while its job runs is never touched again.
        """
        job = Job(title, fn, uri=uri, operation=operation, long=long, takes_context=takes_context)
        if owner is not None:
            on_result = _while_alive(owner, on_result)
            on_error = _while_alive(owner, on_error)
        if on_result is not None:
            job.finished.connect(on_result)
        if on_error is not None:
            job.failed.connect(on_error)
        self._active[job.id] = job
        job.done.connect(lambda j=job: self._retire(j))
        if long:
            job.started.connect(lambda j=job: self.job_changed.emit(j))
            job.progressed.connect(lambda *_a, j=job: self.job_changed.emit(j))
            self.history.append(job)
            if len(self.history) > self.history_limit:
                del self.history[: len(self.history) - self.history_limit]
            self.job_added.emit(job)
        self.job_submitted.emit(job)
        self._pool(pool).start(_Runnable(job))
        return job

    def start_light(self, fn: Callable[[], Any], relay: Relay, tag: Any, *, pool: Optional[str] = None) -> None:
        """Run a frequent small task (a poll tick, a thumbnail) on the pool (or ``pool``), reporting through
        ``relay``."""
        self._pool(pool).start(_LightRunnable(fn, relay, tag))

    def named_pool(self, name: str, max_threads: int = 2) -> QThreadPool:
        """The pool ``name`` (made on first use with ``max_threads``): work that must neither wait behind the
        general pool's jobs nor hold them up (thumbnails, console look-ups)."""
        pool = self.pools.get(name)
        if pool is None:
            pool = self.pools[name] = QThreadPool(self)
            pool.setObjectName(f"guiapp-{name}")
            pool.setMaxThreadCount(max_threads)
            pool.setExpiryTimeout(30_000)
        return pool

    def _pool(self, name: Optional[str]) -> QThreadPool:
        return self.pool if name is None else self.named_pool(name)

    def _retire(self, job: Job) -> None:
        self._active.pop(job.id, None)
        if job.long:
            self.job_changed.emit(job)

    @property
    def active_count(self) -> int:
        return len(self._active)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every pool is idle (tests, shutdown); queued signals still need the event loop."""
        done = self.pool.waitForDone(msecs)
        for pool in list(self.pools.values()):
            done = pool.waitForDone(msecs) and done
        return done


# ----------------------------------------------------------------------------- UI-thread guard
class UIThreadViolation:
    """One driver call made on the UI thread."""

    __slots__ = ("api", "stack")

    def __init__(self, api: str, stack: str) -> None:
        self.api = api
        self.stack = stack

    def __repr__(self) -> str:
        return f"<driver call {self.api} on the UI thread>"


_guard_lock = threading.Lock()
_guard: dict[str, Any] = {"installed": False, "thread": None, "violations": [], "raise": False, "wrapped": []}


def ui_thread_violations() -> list[UIThreadViolation]:
    """Driver calls seen on the UI thread since the guard was installed (or last cleared)."""
    return list(_guard["violations"])


def clear_ui_thread_violations() -> None:
    _guard["violations"].clear()


#: Public methods that never reach a driver (the handle's own fields, error-handler plumbing).
_LOCAL_METHODS = frozenset({"name", "UUID", "UUIDString", "ID", "connect", "isReadOnly", "registerErrorHandler",
                            "virConnGetLastError", "virConnResetLastError"})


def _guarded_api() -> list[tuple[Any, str]]:
    """(owner, name) of every public backend call that may reach a driver: module functions and methods."""
    import guiapp.backend as backend
    from guiapp.backend.connection import virConnect
    from guiapp.backend.domain import virDomain
    from guiapp.backend.network import virNetwork

    out: list[tuple[Any, str]] = [(backend, n) for n in ("open", "openReadOnly", "openAuth")]
    for cls in (virConnect, virDomain, virNetwork):
        names = {n for k in cls.__mro__ if k is not object for n in vars(k)}
        out += [(cls, n) for n in sorted(names)
                if not n.startswith("_") and n not in _LOCAL_METHODS and callable(getattr(cls, n))]
    return out


def install_ui_thread_guard(*, raise_error: bool = False) -> None:
    """Report every backend call made on the calling (UI) thread: logged, recorded, optionally raised.

    Wraps the whole public API (``open*`` and every method of virConnect, virDomain and virNetwork
    but the few that only read the handle's own fields).
    """
    with _guard_lock:
        _guard["thread"] = threading.get_ident()
        _guard["raise"] = raise_error
        if _guard["installed"]:
            return
        _guard["installed"] = True

        def wrap(owner: Any, name: str) -> None:
            original = getattr(owner, name)
            api = f"{getattr(owner, '__name__', owner)}.{name}".removeprefix("guiapp.backend.")

            def guarded(*args: Any, **kwargs: Any) -> Any:
                if threading.get_ident() == _guard["thread"]:
                    stack = "".join(traceback.format_stack(limit=12)[:-1])
                    _guard["violations"].append(UIThreadViolation(api, stack))
                    log.warning("driver call %s on the UI thread\n%s", api, stack)
                    if _guard["raise"]:
                        raise AssertionError(f"driver call {api} on the UI thread")
                return original(*args, **kwargs)

            guarded.__wrapped__ = original  # type: ignore[attr-defined]
            guarded.__name__ = name
            setattr(owner, name, guarded)
            _guard["wrapped"].append((owner, name, original))

        _guard["wrapped"] = []
        for owner, name in _guarded_api():
            wrap(owner, name)


def uninstall_ui_thread_guard() -> None:
    with _guard_lock:
        if not _guard["installed"]:
            return
        for owner, name, original in reversed(_guard["wrapped"]):
            setattr(owner, name, original)
        _guard["wrapped"] = []
        _guard["installed"] = False
