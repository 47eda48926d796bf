"""Text consoles behind ``virDomain.openConsole``: the stream ends and the one-session-per-device rule.

A console *end* is what a driver's ``domain_open_console`` returns and :class:`guiapp.backend.storage.virStream`
drives in both directions: ``read(n)`` blocks until the guest wrote something (``b""`` once the console is
gone or the session was taken over), ``write(data)``, ``finish()``/``abort()`` close it and wake a blocked
reader.  :class:`PtyConsole` serves a guest's pty (QEMU ``-chardev pty``, Xen's ``console/tty``);
:class:`EchoConsole` is the test driver's console, which sends back what it receives.

Exclusive access (libvirt's ``virChrdevOpen``): :data:`SESSIONS` keeps one open end per device in this
process; ``VIR_DOMAIN_CONSOLE_FORCE`` aborts the holder and takes over.  Across processes a pty is guarded
by an ``flock`` on the pty itself: a second process gets the same "Active console session" error, and with
FORCE asks the holding process to let go (:mod:`guiapp.backend.console_takeover`), whose session then ends
as an in-process FORCE would.
"""

from __future__ import annotations

import errno
import fcntl
import os
import queue
import select
import socket
import termios
import threading
import time
import tty
from contextvars import ContextVar
from typing import TYPE_CHECKING, Callable, Hashable, Optional, Protocol

from . import console_takeover
from . import constants as C
from .errors import DriverError

if TYPE_CHECKING:
    from .xml.domain import CharDev, DomainDef

#: libvirt's message when a console already has a session (VIR_ERR_OPERATION_FAILED).
BUSY = "Active console session exists for this domain"
#: set by :meth:`Sessions.open` while it makes a new end: whether the caller passed VIR_DOMAIN_CONSOLE_FORCE
_FORCING: ContextVar[bool] = ContextVar("guiapp_console_force", default=False)


class ConsoleEnd(Protocol):
    """What a stream needs from a console."""

    def read(self, nbytes: int) -> bytes: ...
    def write(self, data: bytes) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


class _Closable:
    """The closed flag and the self-pipe that wakes a reader blocked in ``select``."""

    def __init__(self) -> None:
        self._closed = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self.on_close: Optional[Callable[[], None]] = None

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def _close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        if self.on_close is not None:
            self.on_close()

    def _release_pipe(self) -> None:
        """Close the self-pipe once: a second close could hit a number another thread has reused meanwhile."""
        fds, self._wake_r, self._wake_w = (self._wake_r, self._wake_w), -1, -1
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def finish(self) -> None:
        self._close()

    def abort(self) -> None:
        self._close()

    def __del__(self) -> None:
        try:
            self._release_pipe()
        except (AttributeError, TypeError):  # at interpreter exit, module globals (os) may already be None
            pass


class PtyConsole(_Closable):
    """The guest side of a pty the hypervisor created, opened raw (no echo, no line editing)."""

    def __init__(self, path: str, force: Optional[bool] = None) -> None:
        super().__init__()
        self._takeover: Optional[socket.socket] = None
        force = _FORCING.get() if force is None else force
        if not isinstance(path, str) or not path.startswith("/dev/pts/") or not path[9:].isdigit():
            self._release_pipe()
            raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"the console path {path!r} is not a pty (/dev/pts/N)")
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            self._release_pipe()
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"cannot open console {path}: {exc.strerror}") from None
        if not self._lock(force, path):
            os.close(self._fd)
            self._release_pipe()
            hint = "and did not let go" if force else "; close that console first, or use --force"
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"{BUSY} (another process has {path} open {hint})")
        self._takeover = console_takeover.listen(path)  # lets a FORCE from another process ask us to let go
        try:
            tty.setraw(self._fd, termios.TCSANOW)
        except termios.error:
            pass  # not a tty after all (a test double): bytes pass through unchanged anyway
        self.path = path
        self._fd_lock = threading.Lock()

    def _lock(self, force: bool, path: str) -> bool:
        """Take the pty's flock; with ``force``, ask the holding process to let go first."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            if not force:
                return False
        # another process's holder answers when it has let go; a holder in this process was just aborted, but
        # its reader may still be inside select() on the fd, which keeps the lock until that call returns
        asked = console_takeover.ask_release(path)
        deadline = time.monotonic() + (console_takeover.TAKEOVER_TIMEOUT if asked else 1.0)
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.02)

    def _asked_to_let_go(self) -> None:
        """Another process forces this console: end our session, then tell it the pty is free."""
        if self._takeover is None:
            return
        conn = console_takeover.take_request(self._takeover)
        if conn is not None:
            self._close()
            console_takeover.grant(conn)

    def read(self, nbytes: int) -> bytes:
        while not self.closed:
            watch = [self._fd, self._wake_r] + ([self._takeover] if self._takeover is not None else [])
            try:
                ready = select.select(watch, [], [], 1.0)[0]
            except (ValueError, OSError):  # closed by another thread meanwhile
                if self.closed:
                    break
                raise
            if self.closed:
                break
            if self._takeover is not None and self._takeover in ready:
                self._asked_to_let_go()
                continue
            if self._fd in ready:
                try:
                    data = os.read(self._fd, nbytes)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    if exc.errno == errno.EIO:  # the hypervisor closed the master: the guest is gone
                        self._close()
                        break
                    raise DriverError(C.VIR_ERR_SYSTEM_ERROR, f"console read failed: {exc.strerror}") from None
                if data:
                    return data
                self._close()  # hung up: the hypervisor closed its end (guest gone)
                break
        return b""

    def write(self, data: bytes) -> None:
        view = memoryview(bytes(data))
        while view and not self.closed:
            try:
                n = os.write(self._fd, view)
            except BlockingIOError:
                select.select([], [self._fd], [], 1.0)
                continue
            except OSError as exc:
                raise DriverError(C.VIR_ERR_SYSTEM_ERROR, f"console write failed: {exc.strerror}") from None
            view = view[n:]

    def _close(self) -> None:
        first = not self.closed
        super()._close()
        if first:
            with self._fd_lock:
                try:
                    # unlock first: a reader thread still inside select() holds a reference to the open file,
                    # and close() alone would keep the flock until that thread runs again (a FORCE takeover
                    # right after would see the console busy)
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                except OSError:
                    pass
                try:
                    os.close(self._fd)
                except OSError:
                    pass
            takeover, self._takeover = self._takeover, None
            if takeover is not None:
                takeover.close()


class EchoConsole(_Closable):
    """The test driver's console: every byte written comes back to the reader."""

    def __init__(self) -> None:
        super().__init__()
        self._q: queue.Queue[bytes] = queue.Queue()

    def read(self, nbytes: int) -> bytes:
        while not self.closed:
            try:
                data = self._q.get(timeout=0.5)
            except queue.Empty:
                continue
            if len(data) > nbytes:
                self._q.queue.appendleft(data[nbytes:])  # keep the rest for the next read, in order
                data = data[:nbytes]
            return data
        return b""

    def write(self, data: bytes) -> None:
        if not self.closed and data:
            self._q.put(bytes(data))


def chardevs(defn: DomainDef) -> list[tuple[str, CharDev]]:
    """The domain's text devices with libvirt's aliases, consoles first."""
    found = [(f"console{i}", c) for i, c in enumerate(defn.consoles)]
    return found + [(f"serial{i}", c) for i, c in enumerate(defn.serials)]


def pick_chardev(defn: DomainDef, dev_name: Optional[str], error_domain: int) -> tuple[str, CharDev]:
    """The device ``dev_name`` names (libvirt's aliases ``consoleN``/``serialN``; None: the first console,
    else the first serial) and its alias; libvirt's errors when there is none or it is not a pty."""
    candidates = chardevs(defn)
    if dev_name is None:
        found = candidates[0] if candidates else None
    else:
        found = next((c for c in candidates if c[0] == dev_name), None)
    if found is None:
        have = ", ".join(a for a, _ in candidates) or "none"
        raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"cannot find character device {dev_name or '<null>'} "
                                                    f"(this domain has: {have})", error_domain)
    alias, chr_ = found
    if chr_.type != "pty":
        raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"character device {alias} is not using a PTY", error_domain)
    return found


class Sessions:
    """One open console end per device key in this process (libvirt's per-domain chardev table)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Hashable, _Closable] = {}

    def open(self, key: Hashable, flags: int, make: Callable[[], _Closable]) -> _Closable:
        """Open a new end with ``make()``; refuse when one is open unless FORCE, which aborts the holder."""
        if flags & ~(C.VIR_DOMAIN_CONSOLE_FORCE | C.VIR_DOMAIN_CONSOLE_SAFE):
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"unsupported flags (0x{flags & ~3:x}) in virDomainOpenConsole")
        with self._lock:
            held = self._open.get(key)
            if held is not None and not held.closed:
                if not flags & C.VIR_DOMAIN_CONSOLE_FORCE:
                    raise DriverError(C.VIR_ERR_OPERATION_FAILED, BUSY)
                held.on_close = None
                held.abort()
            token = _FORCING.set(bool(flags & C.VIR_DOMAIN_CONSOLE_FORCE))
            try:
                end = make()
            finally:
                _FORCING.reset(token)
            self._open[key] = end

            def forget() -> None:
                with self._lock:
                    if self._open.get(key) is end:
                        del self._open[key]
            end.on_close = forget
            return end


#: The process-wide session table every driver uses.
SESSIONS = Sessions()
