"""A XenStore client over pyxs's wire layer, with the guards pyxs 0.4.1 lacks.

pyxs provides the packet format (:class:`pyxs._internal.Packet`, :data:`Op`),
path checks and the router thread that demultiplexes replies and watch events.
This module adds what it is missing for a long-running manager:

* every request has a timeout, and a daemon that goes away wakes the waiting
  callers at once (pyxs's ``RVar.get()`` waits forever, and its router thread
  dies with an uncaught exception on EOF or on a late reply);
* values are sent as raw bytes, so empty and non-ASCII values work (pyxs's
  ``Client.write`` refuses both client-side);
* a transaction gets its own connection (pyxs keeps the transaction id on the
  client, so two concurrent transactions on one client would mix);
* watches deliver into a queue per subscriber with a unique token and are read
  with ``queue.get(timeout=...)`` (pyxs's ``Monitor.wait()`` can spin at 100 %
  CPU when two monitors share a token).

Errors are :class:`XenStoreError` (a DriverError in ``VIR_FROM_XENSTORE``).  Sockets, ping and the
guarded router are in :mod:`.xsconn` (re-exported here).
"""

from __future__ import annotations

import errno
import os
import queue
import uuid as _uuid
from collections.abc import Callable, Iterator
from typing import Optional

from pyxs._internal import Op, Packet
from pyxs.exceptions import InvalidPath, InvalidPayload
from pyxs.helpers import check_watch_path

from ... import constants as C
from ...errors import DriverError
from .xsconn import (
    _DEAD,
    DEFAULT_TIMEOUT,
    NUL,
    SOCKET_PATHS,
    Value,
    XenStoreError,
    _b,
    _Connection,
    _GuardedRouter,
    _path,
    _rq_ids,
    _Subscriber,
    gone,
    ping,
    read_only_socket,
    socket_candidates,
)


class XenStoreClient:
    """One connection to a XenStore daemon; thread-safe for plain requests."""

    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._router = _GuardedRouter(_Connection(path, timeout))
        try:
            self._router.start()
        except Exception as exc:
            self._router.r_terminator.close()
            self._router.w_terminator.close()
            raise gone(path, f"cannot connect to the XenStore socket ({exc})") from None

    # -- plumbing -----------------------------------------------------------
    @property
    def alive(self) -> bool:
        return not self._router.dead and self._router.is_connected

    def close(self) -> None:
        router = self._router
        if router.thread.is_alive():
            try:
                router.terminate()
            except Exception:
                pass

    def __enter__(self) -> XenStoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, op: int, payload: bytes, tx_id: int = 0, what: str = "") -> bytes:
        """Send one request and wait (bounded) for its reply payload, NUL-stripped."""
        return self._wait(self._send(op, payload, tx_id, what), op, what)

    def _send(self, op: int, payload: bytes, tx_id: int, what: str) -> tuple[object, int]:
        router = self._router
        if router.dead:
            raise gone(self.path, "the connection to XenStore was lost")
        try:
            packet = Packet(op, payload, next(_rq_ids) & 0xFFFFFFFF, tx_id)
        except InvalidPayload:
            raise XenStoreError(C.VIR_ERR_INVALID_ARG,
                                f"XenStore request for {what or 'a path'} is {len(payload)} bytes; "
                                f"the protocol allows 4096 at most") from None
        try:
            return router.send(packet), packet.rq_id
        except Exception as exc:
            router.rvars.pop(packet.rq_id, None)
            raise gone(self.path, f"cannot send to XenStore ({exc})") from None

    def _wait(self, sent: tuple[object, int], op: int, what: str) -> bytes:
        rvar, rq_id = sent
        with rvar.condition:  # type: ignore[attr-defined]
            ok = rvar.condition.wait_for(lambda: rvar.target is not None, timeout=self.timeout)  # type: ignore
        if not ok:
            self._router.rvars.pop(rq_id, None)
            self.close()  # a late reply would confuse the router: start afresh next time
            raise XenStoreError(C.VIR_ERR_OPERATION_TIMEOUT,
                                f"XenStore did not answer {_OPNAMES.get(op, op)} {what} within {self.timeout:g} s "
                                f"({self.path}); the daemon may be hung")
        reply = rvar.target  # type: ignore[attr-defined]
        if reply is _DEAD:
            raise gone(self.path, "the XenStore daemon closed the connection")
        if reply.op == Op.ERROR:
            name = reply.payload.rstrip(NUL).decode("ascii", "replace")
            code = getattr(errno, name, 0)
            text = os.strerror(code) if code else name
            raise XenStoreError(C.VIR_ERR_OPERATION_FAILED,
                                f"XenStore {_OPNAMES.get(op, op)} {what}: {name} ({text})", name)
        if reply.op != op:
            raise XenStoreError(C.VIR_ERR_INTERNAL_ERROR,
                                f"XenStore answered {_OPNAMES.get(reply.op, reply.op)} to {_OPNAMES.get(op, op)}")
        return reply.payload.rstrip(NUL) if op != Op.READ else reply.payload

    def read_many(self, paths: list[str]) -> list[Optional[bytes]]:
        """Read several paths in one round trip (requests pipelined); None for those that do not exist."""
        raws = [_path(p) for p in paths]
        sent = [self._send(Op.READ, raw + NUL, 0, raw.decode()) for raw in raws]
        out: list[Optional[bytes]] = []
        for s, raw in zip(sent, raws, strict=True):
            try:
                out.append(self._wait(s, Op.READ, raw.decode()))
            except XenStoreError as exc:
                if exc.errname != "ENOENT":
                    raise
                out.append(None)
        return out

    # -- operations ---------------------------------------------------------
    def read(self, path: Value, default: Optional[bytes] = None, tx_id: int = 0) -> Optional[bytes]:
        """The value at ``path`` (raw bytes, may be empty); ``default`` when it does not exist."""
        raw = _path(path)
        try:
            return self.request(Op.READ, raw + NUL, tx_id, raw.decode())
        except XenStoreError as exc:
            if exc.errname == "ENOENT":
                return default
            raise

    def read_str(self, path: Value, default: Optional[str] = None, tx_id: int = 0) -> Optional[str]:
        value = self.read(path, None, tx_id)
        return default if value is None else value.decode("utf-8", "replace")

    def write(self, path: Value, value: Value, tx_id: int = 0) -> None:
        """Write ``value`` (any bytes: empty and non-ASCII included)."""
        raw = _path(path)
        self.request(Op.WRITE, raw + NUL + _b(value), tx_id, raw.decode())

    def mkdir(self, path: Value, tx_id: int = 0) -> None:
        raw = _path(path)
        self.request(Op.MKDIR, raw + NUL, tx_id, raw.decode())

    def rm(self, path: Value, tx_id: int = 0) -> None:
        """Remove ``path`` and its children; a missing path is not an error."""
        raw = _path(path)
        try:
            self.request(Op.RM, raw + NUL, tx_id, raw.decode())
        except XenStoreError as exc:
            if exc.errname != "ENOENT":
                raise

    def directory(self, path: Value, tx_id: int = 0) -> Optional[list[str]]:
        """Children of ``path`` (daemon order), or None when it does not exist."""
        raw = _path(path)
        try:
            payload = self.request(Op.DIRECTORY, raw + NUL, tx_id, raw.decode())
        except XenStoreError as exc:
            if exc.errname == "ENOENT":
                return None
            raise
        return [p.decode("utf-8", "replace") for p in payload.split(NUL)] if payload else []

    def get_perms(self, path: Value, tx_id: int = 0) -> list[str]:
        raw = _path(path)
        return [p.decode() for p in self.request(Op.GET_PERMS, raw + NUL, tx_id, raw.decode()).split(NUL)]

    def set_perms(self, path: Value, perms: list[str], tx_id: int = 0) -> None:
        raw = _path(path)
        self.request(Op.SET_PERMS, raw + NUL + b"".join(p.encode() + NUL for p in perms), tx_id, raw.decode())

    def introduce(self, domid: int, mfn: int, port: int) -> None:
        self.request(Op.INTRODUCE, b"%d\x00%d\x00%d\x00" % (domid, mfn, port), 0, f"domain {domid}")

    def release(self, domid: int) -> None:
        self.request(Op.RELEASE, b"%d\x00" % domid, 0, f"domain {domid}")

    def is_introduced(self, domid: int) -> bool:
        return self.request(Op.IS_DOMAIN_INTRODUCED, b"%d\x00" % domid, 0, f"domain {domid}") == b"T"

    def get_domain_path(self, domid: int) -> str:
        return self.request(Op.GET_DOMAIN_PATH, b"%d\x00" % domid, 0, f"domain {domid}").decode()

    # -- watches ------------------------------------------------------------
    def watch(self, path: Value) -> Watch:
        """Watch ``path`` (or ``@introduceDomain``/``@releaseDomain``); read events from the Watch."""
        raw = _b(path)
        try:
            check_watch_path(raw)
        except InvalidPath:
            raise XenStoreError(C.VIR_ERR_INVALID_ARG, f"invalid XenStore watch path {raw!r}") from None
        token = _uuid.uuid4().hex.encode()  # unique: pyxs's monitors spin when tokens are shared
        sub = _Subscriber()
        self._router.subscribe(token, sub)
        try:
            self.request(Op.WATCH, raw + NUL + token + NUL, 0, raw.decode())
        except Exception:
            self._router.unsubscribe(token, sub)
            raise
        return Watch(self, raw, token, sub)

    # -- transactions -------------------------------------------------------
    def transaction(self) -> Transaction:
        """A transaction on a connection of its own (see the module docstring)."""
        return Transaction(XenStoreClient(self.path, self.timeout))


class Watch:
    """A registered watch; iterate :meth:`events` or call :meth:`get`."""

    def __init__(self, client: XenStoreClient, path: bytes, token: bytes, sub: _Subscriber) -> None:
        self.client = client
        self.path = path
        self.token = token
        self._sub = sub

    def get(self, timeout: float) -> Optional[str]:
        """The next event's path, or None after ``timeout`` seconds; raises when the daemon went away."""
        try:
            event = self._sub.events.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is None:
            raise gone(self.client.path, "the XenStore daemon closed the connection")
        return event[0].decode("utf-8", "replace")

    def drain(self) -> int:
        """Drop queued events; returns how many there were."""
        n = 0
        while True:
            try:
                self._sub.events.get_nowait()
            except queue.Empty:
                return n
            n += 1

    def cancel(self) -> None:
        try:
            if self.client.alive:
                self.client.request(Op.UNWATCH, self.path + NUL + self.token + NUL, 0, self.path.decode())
        except DriverError:
            pass
        try:
            self.client._router.unsubscribe(self.token, self._sub)
        except ValueError:
            pass


class Transaction:
    """``with client.transaction() as tx: tx.write(...)`` commits on success, aborts on error.

    :meth:`commit` returns False when the daemon reports a conflict (EAGAIN); use
    :func:`run_transaction` to retry automatically.
    """

    def __init__(self, client: XenStoreClient) -> None:
        self.client = client
        self.tx_id = 0
        self.done = False

    def __enter__(self) -> Transaction:
        self.tx_id = int(self.client.request(Op.TRANSACTION_START, NUL, 0, "transaction"))
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is not None and not self.done:
                self.abort()
        finally:
            self.client.close()

    def read(self, path: Value, default: Optional[bytes] = None) -> Optional[bytes]:
        return self.client.read(path, default, self.tx_id)

    def read_str(self, path: Value, default: Optional[str] = None) -> Optional[str]:
        return self.client.read_str(path, default, self.tx_id)

    def write(self, path: Value, value: Value) -> None:
        self.client.write(path, value, self.tx_id)

    def mkdir(self, path: Value) -> None:
        self.client.mkdir(path, self.tx_id)

    def rm(self, path: Value) -> None:
        self.client.rm(path, self.tx_id)

    def directory(self, path: Value) -> Optional[list[str]]:
        return self.client.directory(path, self.tx_id)

    def set_perms(self, path: Value, perms: list[str]) -> None:
        self.client.set_perms(path, perms, self.tx_id)

    def commit(self) -> bool:
        self.done = True
        try:
            self.client.request(Op.TRANSACTION_END, b"T" + NUL, self.tx_id, "transaction commit")
        except XenStoreError as exc:
            if exc.errname == "EAGAIN":
                return False
            raise
        return True

    def abort(self) -> None:
        self.done = True
        try:
            self.client.request(Op.TRANSACTION_END, b"F" + NUL, self.tx_id, "transaction abort")
        except DriverError:
            pass


def run_transaction(client: XenStoreClient, body: Callable[[Transaction], object], attempts: int = 8) -> object:
    """Run ``body(tx)`` in a transaction, retrying on conflicts; returns body's result."""
    for _ in range(attempts):
        with client.transaction() as tx:
            result = body(tx)
            if tx.commit():
                return result
    raise XenStoreError(C.VIR_ERR_OPERATION_FAILED,
                        f"XenStore transaction still conflicting after {attempts} attempts; try again")


def walk(client: XenStoreClient, top: str = "/") -> Iterator[tuple[str, bytes]]:
    """Yield (path, value) for ``top`` and everything under it (daemon order)."""
    value = client.read(top, b"") if top != "/" else b""
    yield top, value or b""
    for child in client.directory(top) or []:
        yield from walk(client, (top.rstrip("/") + "/" + child))


_OPNAMES = {getattr(Op, name): name for name in Op._fields}

__all__ = [
    "DEFAULT_TIMEOUT", "SOCKET_PATHS", "XenStoreError", "XenStoreClient", "Watch", "Transaction",
    "run_transaction", "walk", "ping", "socket_candidates", "read_only_socket", "gone",
]

