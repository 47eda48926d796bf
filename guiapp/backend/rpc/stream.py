"""libvirt's data streams over an RPC :class:`~guiapp.backend.rpc.client.Client` (virnetclientstream's wire rules).

One mechanism for every stream procedure, client side: volume uploads (``STORAGE_VOL_UPLOAD``), downloads
(``STORAGE_VOL_DOWNLOAD``) and text consoles (``DOMAIN_OPEN_CONSOLE``, both ways).

A stream shares the serial of the CALL that opened it.  Data travels in STREAM packets with status
CONTINUE; an empty STREAM packet ends the data (libvirtd sends it with status CONTINUE; any empty one is
taken as the end).  The client ends with an empty STREAM/OK (finish) or STREAM/ERROR (abort); the daemon
confirms either with an empty STREAM/OK, or refuses a finish with an error (STREAM/ERROR or REPLY/ERROR
carrying a ``remote_error``).  A daemon-side failure (disk full during an upload, a console read error)
arrives the same way at any time and is raised by the next ``read``/``write``/``finish``.  Holes (sparse
streams) are not used.

``read`` blocks until data arrives; ``finish``/``abort`` from another thread wake a blocked reader, which
then gets ``b""`` (how a console session ends locally).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Literal, Optional

from . import protocol, xdr
from .client import Client, ConnectionClosed, RemoteError, RPCError
from .protocol import Header, MessageType, Procedure, Status

#: data bytes per STREAM packet (libvirt's VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX)
CHUNK = 262144 - protocol.HEADER_LEN - protocol.LEN_LEN
FINISH_TIMEOUT = 300.0  # seconds for the daemon to confirm a finish (it may flush a big file)
ABORT_WAIT = 5.0  # seconds an abort waits for the daemon's confirmation (never raises)
RECV_TIMEOUT = 300.0  # a download whose daemon sends nothing for this long fails (a console waits forever)

Direction = Literal["upload", "download", "both"]
_WAKE = (Header(0, 0, 0, MessageType.STREAM, 0, Status.OK), b"")  # queued to wake a blocked reader


class RemoteStream:
    """One open stream: ``write`` (upload, console), ``read`` (download, console), ``finish``, ``abort``."""

    def __init__(self, client: Client, proc: Procedure, direction: Direction = "upload") -> None:
        self.client = client
        self.proc = proc
        self.direction = direction
        self.serial = client.next_serial()
        self._data: queue.SimpleQueue[tuple[Header, bytes]] = queue.SimpleQueue()
        self._buffer = b""
        self._eof = False
        self._closed = False  # finish/abort done (or under way): readers get b""
        self._ending = False  # our OK/ERROR is on the wire: the next terminal packet answers it
        self._answer: Optional[tuple[Header, bytes]] = None
        self._answered = threading.Event()
        self._error: Optional[BaseException] = None  # the daemon's failure, raised by the next operation
        self._lock = threading.Lock()
        client.streams[self.serial] = self._incoming

    @property
    def downloading(self) -> bool:
        return self.direction == "download"

    def open(self, args: Any, timeout: Optional[float] = None) -> None:
        """Make the call that opens the stream (its reply says the daemon accepted it)."""
        try:
            self.client.raw_call(protocol.REMOTE_PROGRAM, protocol.REMOTE_VERSION, self.proc.number,
                                 xdr.encode(self.proc.args, args), timeout, serial=self.serial)
        except BaseException:
            self._unregister()
            raise

    # ---- packets from the client's reader thread ----------------------------
    def _incoming(self, header: Header, payload: bytes) -> None:
        terminal = header.status == Status.ERROR or header.type == MessageType.REPLY or \
            (header.status == Status.OK and not payload)
        with self._lock:
            if terminal and self._ending:
                self._answer = (header, payload)
                self._answered.set()
                return
            if header.status == Status.ERROR or header.type == MessageType.REPLY:
                self._error = self._decode_error(payload)
                self._answered.set()  # nothing more comes for this stream
        self._data.put((header, payload))

    @staticmethod
    def _decode_error(payload: bytes) -> BaseException:
        try:
            return RemoteError(xdr.decode("remote_error", payload))
        except xdr.XDRError as exc:
            return RPCError(f"malformed stream error: {exc}")

    # ---- sending -------------------------------------------------------------
    def _packet(self, status: Status, data: bytes = b"") -> None:
        header = Header(protocol.REMOTE_PROGRAM, protocol.REMOTE_VERSION, self.proc.number, MessageType.STREAM,
                        self.serial, status)
        self.client.send_packet(protocol.pack(header, data))

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data: bytes) -> None:
        if self.direction == "download":
            raise RPCError("this stream is a download: it cannot send data")
        self._raise_pending()
        if self._closed:
            return
        view = memoryview(bytes(data))
        for start in range(0, len(view), CHUNK):
            self._packet(Status.CONTINUE, bytes(view[start:start + CHUNK]))

    # ---- receiving -------------------------------------------------------------
    def _next(self, timeout: Optional[float]) -> tuple[Header, bytes]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self._data.get(timeout=0.5)
            except queue.Empty:
                if self._closed:
                    return _WAKE
                if not self.client.is_alive():
                    raise ConnectionClosed(self.client.closed_reason or "connection closed") from None
                if deadline is not None and time.monotonic() > deadline:
                    raise RPCError(f"no stream data from the daemon within {timeout:g} s") from None

    def read(self, nbytes: int) -> bytes:
        """Up to ``nbytes`` bytes; ``b""`` at the end of the data or once the stream was closed here."""
        if self.direction == "upload":
            raise RPCError("this stream is an upload: it cannot receive data")
        while not self._buffer and not self._eof:
            if self._closed:
                return b""
            item = self._next(None if self.direction == "both" else RECV_TIMEOUT)
            if item is _WAKE:
                continue
            header, payload = item
            if header.status == Status.ERROR or header.type == MessageType.REPLY:
                self._raise_pending()
            if header.type != MessageType.STREAM:
                continue
            if not payload:
                self._eof = True
            else:
                self._buffer += payload
        out, self._buffer = self._buffer[:nbytes], self._buffer[nbytes:]
        return out

    # ---- ending ----------------------------------------------------------------
    def _end(self, status: Status) -> bool:
        """Send our OK/ERROR once (False: the stream was already ended here)."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self._ending = True
        self._data.put(_WAKE)  # a reader blocked in read() returns b""
        self._packet(status)
        return True

    def finish(self) -> None:
        """Tell the daemon we are done and wait for its confirmation (its error is raised).

        A download is first read to its end-of-data packet (what is left is dropped).
        """
        try:
            self._raise_pending()
            while self.direction == "download" and not self._eof and not self._closed:
                self._buffer = b""
                self.read(CHUNK)
            if not self._end(Status.OK):
                return
            deadline = time.monotonic() + FINISH_TIMEOUT
            while not self._answered.wait(0.5):
                if not self.client.is_alive():
                    raise ConnectionClosed(self.client.closed_reason or "connection closed")
                if time.monotonic() > deadline:
                    raise RPCError(f"the daemon did not confirm the end of the stream within {FINISH_TIMEOUT:g} s")
            self._raise_pending()
            if self._answer is not None:
                header, payload = self._answer
                if header.status == Status.ERROR or header.type == MessageType.REPLY:
                    raise self._decode_error(payload)
        finally:
            self._unregister()

    def abort(self) -> None:
        """Drop the stream (the daemon throws away what it had); waits briefly for its confirmation."""
        try:
            if self.client.is_alive() and self._error is None:
                self._end(Status.ERROR)
                self._answered.wait(ABORT_WAIT)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._closed = True
            self._data.put(_WAKE)
            self._unregister()

    def _unregister(self) -> None:
        self.client.streams.pop(self.serial, None)
