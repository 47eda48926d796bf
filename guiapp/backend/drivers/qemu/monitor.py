"""QMP with ``qemu.qmp``: one asyncio loop thread per connection serving every guest's client.

``qemu.qmp`` is asyncio-only; the driver is synchronous.  :class:`MonitorLoop` runs
one event loop in a daemon thread and the driver calls into it with
:meth:`MonitorLoop.call`.  :class:`Monitor` keeps one client per guest connected
and hands its events to a callback (run in the loop thread).  :func:`one_shot`
opens a short-lived client on a guest's second QMP socket, for processes that do
not hold the guest's event lease.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

from qemu.qmp import ConnectError, ExecuteError, QMPClient, QMPError

from ... import constants as C
from ...errors import DriverError

log = logging.getLogger("guiapp.qemu")
logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)  # it logs every EOF of a killed qemu as an error

T = TypeVar("T")

EventCallback = Callable[[str, dict[str, Any], float], None]  # (event, data, QEMU's timestamp)


class MonitorError(DriverError):
    """A QMP command failed or the monitor is gone."""

    def __init__(self, detail: str, code: int = C.VIR_ERR_OPERATION_FAILED) -> None:
        super().__init__(code, detail)


class MonitorLoop:
    """One asyncio event loop in a daemon thread."""

    def __init__(self, name: str = "guiapp-qmp") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def in_loop(self) -> bool:
        return threading.current_thread() is self._thread

    def call(self, coro: Awaitable[T], timeout: float = 30.0) -> T:
        """Run ``coro`` in the loop and wait for its result (not from the loop thread itself)."""
        if self.in_loop():
            raise RuntimeError("MonitorLoop.call from the loop thread would deadlock")
        fut: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise MonitorError(f"the QEMU monitor did not answer within {timeout:g} s",
                               C.VIR_ERR_OPERATION_TIMEOUT) from None

    def soon(self, fn: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()


async def _connect(path: str, deadline: float, name: str) -> QMPClient:
    """Connect a client to ``path``, retrying until QEMU has made the socket or ``deadline`` passes."""
    while True:
        client = QMPClient(name)
        try:
            await client.connect(path)
            return client
        except ConnectError as exc:
            if time.monotonic() >= deadline:
                raise MonitorError(f"cannot connect to the QEMU monitor {path}: {exc}") from None
            await asyncio.sleep(0.01)


def _execute_error(cmd: str, exc: Exception) -> MonitorError:
    if isinstance(exc, ExecuteError):
        return MonitorError(f"QEMU refused '{cmd}': {exc.error.error.desc}")
    return MonitorError(f"QEMU monitor failed on '{cmd}': {type(exc).__name__}: {exc}")


class Monitor:
    """A kept-open QMP client for one guest, delivering events until QEMU goes away."""

    def __init__(self, mloop: MonitorLoop, path: str, on_event: EventCallback,
                 on_close: Optional[Callable[[], None]] = None) -> None:
        self.mloop = mloop
        self.path = path
        self.on_event = on_event
        self.on_close = on_close
        self.client: Optional[QMPClient] = None
        self._reader: Optional[asyncio.Task[None]] = None
        self.closed = False

    def connect(self, timeout: float = 10.0) -> None:
        self.mloop.call(self.aconnect(timeout), timeout + 1)

    async def aconnect(self, timeout: float = 10.0) -> None:
        self.client = await _connect(self.path, time.monotonic() + timeout, f"guiapp:{os.path.basename(self.path)}")
        self._reader = asyncio.get_running_loop().create_task(self._read_events())

    async def _read_events(self) -> None:
        client = self.client
        assert client is not None
        try:
            async for event in client.events:
                ts: dict[str, Any] = event.get("timestamp") or {}  # type: ignore[assignment]
                when = ts.get("seconds", 0) + ts.get("microseconds", 0) / 1e6
                data: dict[str, Any] = event.get("data") or {}  # type: ignore[assignment]
                try:
                    self.on_event(str(event["event"]), data, when)
                except Exception:  # a handler bug must not stop the event stream
                    log.exception("QMP event handler failed on %s", event.get("event"))
        except asyncio.CancelledError:
            raise
        except Exception:
            pass

    async def aexecute(self, cmd: str, args: Optional[dict[str, Any]] = None) -> Any:
        if self.client is None or self.closed:
            raise MonitorError(f"no QEMU monitor connection for '{cmd}' (the guest is gone)")
        try:
            return await self.client.execute(cmd, args)
        except (ExecuteError, QMPError, EOFError, OSError) as exc:
            raise _execute_error(cmd, exc) from None

    def execute(self, cmd: str, args: Optional[dict[str, Any]] = None, timeout: float = 30.0) -> Any:
        return self.mloop.call(self.aexecute(cmd, args), timeout)

    async def asend_fd(self, fd: int, name: str) -> None:
        if self.client is None:
            raise MonitorError("no QEMU monitor connection to pass a file descriptor")
        self.client.send_fd_scm(fd)
        await self.aexecute("getfd", {"fdname": name})

    async def aclose(self) -> None:
        self.closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self.client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.disconnect(), 2)

    def close(self) -> None:
        if self.mloop.in_loop():
            self.mloop.loop.create_task(self.aclose())
        elif not self.mloop.loop.is_closed():
            with contextlib.suppress(Exception):
                self.mloop.call(self.aclose(), 5)


async def one_shot(path: str, cmd: str, args: Optional[dict[str, Any]] = None, *, timeout: float = 10.0,
                   fd: Optional[tuple[int, str]] = None) -> Any:
    """Connect to ``path``, optionally pass ``fd`` (fd, name), run ``cmd``, disconnect."""
    client = await _connect(path, time.monotonic() + timeout, "guiapp-oneshot")
    try:
        if fd is not None:
            client.send_fd_scm(fd[0])
            await client.execute("getfd", {"fdname": fd[1]})
        try:
            return await client.execute(cmd, args)
        except (ExecuteError, QMPError, EOFError, OSError) as exc:
            raise _execute_error(cmd, exc) from None
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 2)
