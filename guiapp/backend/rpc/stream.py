"""libvirt's data streams over an RPC :class:`~guiapp.backend.rpc.client.Client` (virnetclientstream's wire rules).

A stream shares the serial of the CALL that opened it (e.g. STORAGE_VOL_UPLOAD).  Data travels in
STREAM packets with status CONTINUE; an empty STREAM packet ends the data (libvirtd may send it with
status CONTINUE, libvirt's client treats any empty one as the end); the client ends with an empty OK, and a
finish from the client is confirmed by the daemon with an empty STREAM/OK (or refused with an error
REPLY).  An abort is an empty STREAM packet with status ERROR.  Holes (sparse streams) are not used.
"""

from __future__ import annotations

import queue
import time
from typing import Any, Optional

from . import protocol, xdr
from .client import Client, ConnectionClosed, RemoteError, RPCError
from .protocol import Header, MessageType, Procedure, Status

#: data bytes per STREAM packet (libvirt's VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX)
CHUNK = 262144 - protocol.HEADER_LEN - protocol.LEN_LEN
FINISH_TIMEOUT = 300.0  # seconds for the daemon to confirm a finish (it may flush a big file)
RECV_TIMEOUT = 300.0


class RemoteStream:
    """One open stream: ``write``/``finish``/``abort`` for uploads, ``read``/``finish``/``abort`` for downloads."""

    def __init__(self, client: Client, proc: Procedure, downloading: bool = False) -> None:
        self.client = client
        self.downloading = downloading
        self.proc = proc
        self.serial = client.next_serial()
        self._packets: queue.SimpleQueue[tuple[Header, bytes]] = queue.SimpleQueue()
        self._buffer = b""
        self._eof = False
        self._closed = False
        client.streams[self.serial] = lambda h, p: self._packets.put((h, p))

    def open(self, args: Any, timeout: Optional[float] = None) -> None:
        """Make the call that opens the stream (its reply says the daemon accepted it)."""
        try:
            self.client.raw_call(protocol.REMOTE_PROGRAM, protocol.REMOTE_VERSION, self.proc.number,
                                 xdr.encode(self.proc.args, args), timeout, serial=self.serial)
        except BaseException:
            self._close()
            raise

    # ---- sending -----------------------------------------------------------
    def _packet(self, status: Status, data: bytes = b"") -> None:
        header = Header(protocol.REMOTE_PROGRAM, protocol.REMOTE_VERSION, self.proc.number, MessageType.STREAM,
                        self.serial, status)
        self.client.send_packet(protocol.pack(header, data))

    def write(self, data: bytes) -> None:
        self._check_error()
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            self._packet(Status.CONTINUE, bytes(view[start:start + CHUNK]))

    # ---- receiving -----------------------------------------------------------
    def _next(self, timeout: float) -> tuple[Header, bytes]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._packets.get(timeout=0.5)
            except queue.Empty:
                if not self.client.is_alive():
                    raise ConnectionClosed(self.client.closed_reason or "connection closed") from None
                if time.monotonic() > deadline:
                    raise RPCError(f"no stream data from the daemon within {timeout:g} s") from None

    @staticmethod
    def _raise_if_error(header: Header, payload: bytes) -> None:
        if header.status == Status.ERROR:
            try:
                err = xdr.decode("remote_error", payload)
            except xdr.XDRError as exc:
                raise RPCError(f"malformed stream error: {exc}") from None
            raise RemoteError(err)

    def _check_error(self) -> None:
        """An upload's daemon reports a failure (disk full …) with an error REPLY at any time."""
        try:
            header, payload = self._packets.get_nowait()
        except queue.Empty:
            return
        self._raise_if_error(header, payload)

    def read(self, nbytes: int) -> bytes:
        """Up to ``nbytes`` bytes; b'' at the end of the stream."""
        while not self._buffer and not self._eof:
            header, payload = self._next(RECV_TIMEOUT)
            self._raise_if_error(header, payload)
            if header.type != MessageType.STREAM:
                continue
            if not payload:  # an empty packet ends the data (libvirtd sends CONTINUE or OK)
                self._eof = True
            else:
                self._buffer += payload
        out, self._buffer = self._buffer[:nbytes], self._buffer[nbytes:]
        return out

    # ---- ending ------------------------------------------------------------
    def finish(self) -> None:
        """Tell the daemon we are done and wait for its confirmation (or its error).

        A download is first read to its end-of-data packet (what is left is dropped).
        """
        try:
            while self.downloading and not self._eof:
                self._buffer = b""
                self.read(CHUNK)
            self._packet(Status.OK)
            while True:
                header, payload = self._next(FINISH_TIMEOUT)
                self._raise_if_error(header, payload)
                if header.type == MessageType.STREAM and header.status == Status.OK:
                    return
        finally:
            self._close()

    def abort(self) -> None:
        try:
            if self.client.is_alive():
                self._packet(Status.ERROR)
        except ConnectionClosed:
            pass
        finally:
            self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self.client.streams.pop(self.serial, None)
