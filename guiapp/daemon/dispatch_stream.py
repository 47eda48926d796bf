"""guiappd's stream procedures: DOMAIN_OPEN_CONSOLE, STORAGE_VOL_UPLOAD and STORAGE_VOL_DOWNLOAD.

Each handler opens a stream through guiapp's public API (``conn.newStream()`` then ``dom.openConsole`` /
``vol.upload`` / ``vol.download``) and returns an :class:`OpenedStream`; the server registers a
:class:`ServerStream` under the call's serial *before* sending the reply, then starts it.  Packet rules
are libvirtd's (``src/remote/remote_daemon_stream.c``, ``src/rpc/virnetserverprogram.c``):

* client → daemon: STREAM/CONTINUE carries data (written in order by the stream's writer thread),
  STREAM/OK finishes (confirmed by an empty STREAM/OK, or refused with a STREAM/ERROR ``remote_error``),
  STREAM/ERROR aborts (confirmed by an empty STREAM/OK); anything else for the stream (a STREAM_HOLE, data
  on a download) fails the stream with a STREAM/ERROR and drops it.  Packets for a stream that is gone are
  ignored (they may be in flight when it ends).
* daemon → client: data in STREAM/CONTINUE packets of at most 256 KiB; an empty STREAM/CONTINUE at the end
  of the data (end of a volume, a console whose guest went away or whose session another client took with
  ``VIR_DOMAIN_CONSOLE_FORCE``); a failure as STREAM/ERROR.
* flow control: each stream queues at most :data:`RX_MAX` incoming packets; when its writer falls behind,
  the client's reader blocks (the socket pushes back on the client, as libvirtd's request limit does).
  Outgoing data is paced by the socket: one packet at a time per stream.
* a client that goes away (or is closed for a protocol error, e.g. a stream cut mid-packet) aborts its
  streams only: the volume write is dropped as an abort drops it, the console session is released.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable, Literal, NamedTuple, Optional, Protocol

from ..backend import constants as C
from ..backend.errors import DriverError, libvirtError
from ..backend.rpc import protocol
from ..backend.rpc.protocol import Header, MessageType, Status
from ..backend.storage import virStream
from .dispatch import HANDLERS, Session, _conn, _dom
from .dispatch_storage import _vol

log = logging.getLogger("guiappd")

RX_MAX = 16  # incoming packets queued per stream before the client's reader waits
CHUNK = 262144 - protocol.HEADER_LEN - protocol.LEN_LEN  # data bytes per STREAM packet
MAX_STREAMS = 16  # open streams per client

Direction = Literal["upload", "download", "both"]


class OpenedStream(NamedTuple):
    """What a stream handler returns: the public API stream and which ways data flows."""

    stream: virStream
    direction: Direction


class StreamOwner(Protocol):
    """What a stream needs from its client connection (:class:`guiapp.daemon.server.Client`)."""

    def send(self, data: bytes) -> None: ...
    def drop_stream(self, serial: int) -> None: ...


def _record(exc: BaseException) -> dict[str, Any]:
    from .server import error_record

    return error_record(exc)


class ServerStream:
    """One client's open stream (see the module docstring)."""

    def __init__(self, owner: StreamOwner, h: Header, opened: OpenedStream) -> None:
        self.owner = owner
        self.proc, self.serial = h.proc, h.serial
        self.st = opened.stream
        self.direction = opened.direction
        self._rx: queue.Queue[Optional[tuple[Header, bytes]]] = queue.Queue(maxsize=RX_MAX)
        self._closed = threading.Event()
        self._send_lock = threading.Lock()

    # ---------------------------------------------------------------- wire
    def _send(self, status: Status, payload: bytes = b"", check: bool = True) -> None:
        with self._send_lock:
            if check and self._closed.is_set():
                return
            self.owner.send(protocol.pack(Header(protocol.REMOTE_PROGRAM, protocol.REMOTE_VERSION, self.proc,
                                                 MessageType.STREAM, self.serial, status), payload))

    def _send_error(self, exc: BaseException) -> None:
        from ..backend.rpc import xdr

        self._send(Status.ERROR, xdr.encode("remote_error", _record(exc)), check=False)

    # ---------------------------------------------------------------- life
    def start(self) -> None:
        """Run the stream (after the opening call's reply went out)."""
        threading.Thread(target=self._writer, name="guiappd-stream-in", daemon=True).start()
        if self.direction != "upload":
            threading.Thread(target=self._reader, name="guiappd-stream-out", daemon=True).start()

    def incoming(self, h: Header, payload: bytes) -> None:
        """A packet for this stream (client's reader thread): queued, waiting while the queue is full."""
        while not self._closed.is_set():
            try:
                self._rx.put((h, payload), timeout=0.5)
                return
            except queue.Full:
                continue

    def _close(self) -> bool:
        """Mark the stream closed and forget it (True the first time)."""
        with self._send_lock:
            if self._closed.is_set():
                return False
            self._closed.set()
        self.owner.drop_stream(self.serial)
        return True

    def _fail(self, exc: BaseException) -> None:
        if self._close():
            self._quiet_abort()
            self._send_error(exc)

    def _quiet_abort(self) -> None:
        try:
            self.st.abort()
        except (libvirtError, DriverError, OSError) as exc:
            log.debug("aborting stream %d: %s", self.serial, exc)

    def client_gone(self) -> None:
        """The client went away: abort (nothing more is sent)."""
        if self._close():
            self._quiet_abort()
        try:
            self._rx.put_nowait(None)
        except queue.Full:
            pass

    # ---------------------------------------------------------------- client → daemon
    def _writer(self) -> None:
        while not self._closed.is_set():
            try:
                item = self._rx.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None:
                return
            h, payload = item
            if h.type != MessageType.STREAM:
                self._fail(DriverError(C.VIR_ERR_RPC, "unexpected stream hole (sparse streams are not supported)",
                                       C.VIR_FROM_STREAMS))
                return
            if h.status == Status.CONTINUE:
                if self.direction == "download":
                    self._fail(DriverError(C.VIR_ERR_RPC, "data sent on a download stream", C.VIR_FROM_STREAMS))
                    return
                try:
                    self.st.send(payload)
                except (libvirtError, DriverError) as exc:  # disk full, console gone …
                    self._fail(exc)
                    return
            elif h.status == Status.OK:
                self._finish()
                return
            else:
                self._abort()
                return

    def _finish(self) -> None:
        with self._send_lock:
            self._closed.set()  # the reader sends nothing more (a console's reader wakes with b"")
        try:
            self.st.finish()
        except (libvirtError, DriverError) as exc:
            self.owner.drop_stream(self.serial)
            self._send_error(exc)
            return
        self.owner.drop_stream(self.serial)
        self._send(Status.OK, check=False)  # the empty confirmation

    def _abort(self) -> None:
        with self._send_lock:
            self._closed.set()
        self._quiet_abort()
        self.owner.drop_stream(self.serial)
        self._send(Status.OK, check=False)

    # ---------------------------------------------------------------- daemon → client
    def _reader(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.st.recv(CHUNK)
            except (libvirtError, DriverError) as exc:
                if not self._closed.is_set():
                    self._fail(exc)
                return
            # an empty packet ends the data; the stream stays until the client's finish/abort
            self._send(Status.CONTINUE, data)
            if not data:
                return


# -------------------------------------------------------------------- handlers
def _h(name: str) -> Callable[[Callable[[Session, Any], OpenedStream]], Callable[[Session, Any], OpenedStream]]:
    def deco(fn: Callable[[Session, Any], OpenedStream]) -> Callable[[Session, Any], OpenedStream]:
        HANDLERS[name] = fn
        return fn
    return deco


@_h("DOMAIN_OPEN_CONSOLE")
def _open_console(s: Session, a: Any) -> OpenedStream:
    st = _conn(s).newStream(0)
    _dom(s, a["dom"]).openConsole(a["dev_name"], st, a["flags"])
    return OpenedStream(st, "both")


@_h("STORAGE_VOL_UPLOAD")
def _upload(s: Session, a: Any) -> OpenedStream:
    st = _conn(s).newStream(0)
    _vol(s, a["vol"]).upload(st, a["offset"], a["length"], a["flags"])
    return OpenedStream(st, "upload")


@_h("STORAGE_VOL_DOWNLOAD")
def _download(s: Session, a: Any) -> OpenedStream:
    st = _conn(s).newStream(0)
    _vol(s, a["vol"]).download(st, a["offset"], a["length"], a["flags"])
    return OpenedStream(st, "download")


__all__ = ["MAX_STREAMS", "OpenedStream", "ServerStream"]
