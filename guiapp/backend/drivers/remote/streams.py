"""libvirt's RPC streams on the client side, for ``virDomainOpenConsole`` over the remote driver.

A stream lives on the serial of the CALL that opened it (DOMAIN_OPEN_CONSOLE): after the REPLY, both sides
send STREAM packets with that procedure and serial — status CONTINUE carrying data, OK with no data at the
end (the peer answers OK), ERROR to abort (from the daemon: a ``remote_error`` payload).  A
:class:`RemoteStream` is a console end (read/write/finish/abort) as :mod:`guiapp.backend.console` defines.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Optional

from ... import constants as C
from ...errors import DriverError
from ...rpc import protocol, xdr
from ...rpc.client import Client, ConnectionClosed
from ...rpc.protocol import Header, MessageType, Status

CHUNK = 256 * 1024  # libvirt's VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX-sized data packets


class RemoteStream:
    """One open stream of a client connection."""

    def __init__(self, client: Client, proc: int, serial: int) -> None:
        self.client, self.proc, self.serial = client, proc, serial
        self._q: queue.Queue[Optional[bytes]] = queue.Queue()
        self._rest = b""
        self._closed = threading.Event()
        self.error: Optional[str] = None

    # packets from the reader thread
    def _incoming(self, header: Header, payload: bytes) -> None:
        if header.status == Status.CONTINUE:
            if payload:
                self._q.put(payload)
            return
        if header.status == Status.ERROR:
            try:
                self.error = xdr.decode("remote_error", payload).get("message") or "stream error"
            except xdr.XDRError:
                self.error = "stream aborted by the daemon"
        self._q.put(None)  # OK (end of data) or ERROR

    def _packet(self, status: Status, data: bytes = b"") -> bytes:
        return protocol.pack(Header(protocol.REMOTE_PROGRAM, protocol.REMOTE_VERSION, self.proc,
                                    MessageType.STREAM, self.serial, status), data)

    def read(self, nbytes: int) -> bytes:
        while not self._rest:
            if self._closed.is_set():
                return b""
            item = self._q.get()
            if item is None:
                self._close_local()
                if self.error:
                    raise DriverError(C.VIR_ERR_RPC, self.error, C.VIR_FROM_STREAMS)
                return b""
            self._rest = item
        data, self._rest = self._rest[:nbytes], self._rest[nbytes:]
        return data

    def write(self, data: bytes) -> None:
        data = bytes(data)
        try:
            for i in range(0, len(data), CHUNK):
                self.client.send_packet(self._packet(Status.CONTINUE, data[i:i + CHUNK]))
        except ConnectionClosed as exc:
            raise DriverError(C.VIR_ERR_SYSTEM_ERROR, f"stream write failed: {exc}", C.VIR_FROM_RPC) from None

    def _end(self, status: Status) -> None:
        if self._closed.is_set():
            return
        try:
            self.client.send_packet(self._packet(status))
        except ConnectionClosed:
            pass
        self._close_local()

    def _close_local(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._q.put(None)
            _unregister(self.client, self.serial)

    def finish(self) -> None:
        self._end(Status.OK)

    def abort(self) -> None:
        self._end(Status.ERROR)


def _unregister(client: Client, serial: int) -> None:
    client.streams.pop(serial, None)


def open_stream(client: Client, proc_name: str, args: Any, timeout: Optional[float] = None) -> RemoteStream:
    """Call a stream procedure (e.g. DOMAIN_OPEN_CONSOLE) and return its stream (RemoteError on failure)."""
    proc = protocol.procedure(proc_name)
    serial = client.next_serial()
    st = RemoteStream(client, proc.number, serial)
    # the client's reader thread hands this serial's STREAM packets over (Client.streams, as rpc/stream.py does)
    client.streams[serial] = st._incoming  # STREAM packets, and a REPLY ending the stream (error or confirmation)
    try:
        client.raw_call(protocol.REMOTE_PROGRAM, protocol.REMOTE_VERSION, proc.number, xdr.encode(proc.args, args),
                        timeout, serial=serial)
    except BaseException:
        _unregister(client, serial)
        raise
    return st
