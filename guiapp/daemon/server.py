"""guiappd's RPC server: unix sockets, one reader thread per client, calls run on a worker pool.

Packets are read with libvirt's framing (:mod:`guiapp.backend.rpc.protocol`).  A
client whose bytes are not libvirt RPC (a length outside ``[28, max_message]``, an
unknown program, a message type other than CALL, a stream cut mid-packet) is
closed; every other client keeps being served.  A call to an unknown or
unimplemented procedure, or with arguments that do not decode, gets an error
reply (VIR_ERR_NO_SUPPORT / VIR_ERR_RPC) and the connection stays.  Read-only
sockets accept only the procedures the protocol marks read-only (derived from
the ``@acl`` annotations in the generated tables) and refuse their write flags
(``VIR_DOMAIN_XML_SECURE`` …).  Each client has at most ``max_pending`` calls in
progress: its reader stops reading until one finishes.  A read-only call arriving
while none of the client's calls is on the pool is answered from the reader thread
itself (one thread hand-over less per round trip for the usual one-call-at-a-time
client); everything else runs on the pool, so a slow change never blocks reads of
other clients.  Keepalive replies never wait behind such a call: a watchdog hands
the reading over to a fresh reader thread when an inline call runs longer than
``inline_limit`` seconds (a QMP query that hangs), and the old thread ends once its
call is answered.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import struct
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from ..backend import constants as C
from ..backend.connection import virConnect
from ..backend.domain import virDomain
from ..backend.errors import DriverError, format_message, libvirtError
from ..backend.rpc import protocol, xdr
from ..backend.rpc.protocol import Header, MessageType, Procedure, ProtocolError
from . import dispatch_snapshot  # noqa: F401 - registers the snapshot procedures
from .conns import Connections
from .dispatch import HANDLERS, NO_CONNECTION_NEEDED, Encoded, dom_wire
from .dispatch_stream import MAX_STREAMS, OpenedStream, ServerStream
from .stats import StatsCache

log = logging.getLogger("guiappd")

_LEN = struct.Struct(">I")
MIN_PACKET = protocol.LEN_LEN + protocol.HEADER_LEN
SEND_TIMEOUT = 10.0  # a client that does not read its replies/events for this long is dropped
EVENT_LIFECYCLE = protocol.procedure("DOMAIN_EVENT_LIFECYCLE")
EVENT_CALLBACK_LIFECYCLE = protocol.procedure("DOMAIN_EVENT_CALLBACK_LIFECYCLE")


def _flag_mask(names: tuple[str, ...]) -> int:
    mask = 0
    for n in names:
        mask |= int(getattr(C, n, 0))
    return mask


#: per procedure, the flags a read-only client may not pass (from the protocol's @acl annotations)
RO_FORBIDDEN_FLAGS = {p.number: _flag_mask(p.read_only_forbidden_flags)
                      for p in protocol.BY_NUMBER.values() if p.read_only_forbidden_flags}


class ClientGone(Exception):  # noqa: N818
    """The peer closed the connection (cleanly, between packets)."""


def error_record(exc: BaseException) -> dict[str, Any]:
    """The wire ``remote_error`` for an exception raised by a handler."""
    if isinstance(exc, libvirtError) and exc.err is not None:
        code, domain, message, level, str1, str2, str3, int1, int2 = exc.err
        return protocol.make_error(code, domain, message, level, str1, str2, str3, int1, int2)
    if isinstance(exc, DriverError):
        if exc.raw is not None:
            return error_record(libvirtError(exc.raw[2], exc.raw))
        domain = exc.domain if exc.domain is not None else C.VIR_FROM_REMOTE
        return protocol.make_error(exc.code, domain, format_message(exc.code, exc.detail))
    return protocol.make_error(C.VIR_ERR_INTERNAL_ERROR, C.VIR_FROM_REMOTE,
                               format_message(C.VIR_ERR_INTERNAL_ERROR, f"guiappd: {type(exc).__name__}"))


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


class Client:
    """One client connection (implements :class:`guiapp.daemon.dispatch.Session`)."""

    def __init__(self, server: Server, sock: socket.socket, read_only: bool) -> None:
        self.server = server
        self.sock = sock
        self.read_only = read_only
        self.conn: Optional[virConnect] = None
        self.conn_key = ""
        self.stats_cache = server.stats_cache
        _pid, uid, gid = peer_credentials(sock)
        self.peer = (uid, gid)
        self._send_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(server.max_pending)
        self._closed = False
        self._events: dict[int, int] = {}  # our callbackID -> the front-end's callback id
        self._ev_lock = threading.Lock()
        self._cb_ids = itertools.count(1)
        self._in_pool = 0  # calls of this client running on the worker pool
        self.inline_since: Optional[float] = None  # monotonic start of the call the reader runs itself
        self._handed_over = False  # the watchdog gave the reading to a new thread during that call
        self.streams: dict[int, ServerStream] = {}  # open data streams by serial (dispatch_stream)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                        struct.pack("ll", int(SEND_TIMEOUT), int((SEND_TIMEOUT % 1) * 1e6)))

    # --------------------------------------------------------------- I/O
    def _recv_exact(self, n: int, first: bool = False) -> bytearray:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = self.sock.recv_into(view[got:], n - got)
            if k == 0:
                if first and got == 0:
                    raise ClientGone()
                raise ProtocolError(f"stream cut after {got} of {n} bytes")
            got += k
        return buf

    def send(self, data: bytes) -> None:
        with self._send_lock:
            if self._closed:
                return
            try:
                self.sock.sendall(data)
            except OSError as exc:
                log.info("client %s: send failed (%s); dropping it", self.peer, exc)
                self._shutdown_socket()

    def _shutdown_socket(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def serve(self) -> None:
        """The reader loop (runs on the client's reader thread; ends early when the reading was handed over)."""
        reason = "closed"
        try:
            while True:
                head = self._recv_exact(protocol.LEN_LEN, first=True)
                (total,) = _LEN.unpack_from(head)
                if total < MIN_PACKET or total > self.server.max_message:
                    raise ProtocolError(f"packet length {total} outside [{MIN_PACKET}, {self.server.max_message}]")
                head += self._recv_exact(protocol.HEADER_LEN)
                payload = bytes(self._recv_exact(total - MIN_PACKET)) if total > MIN_PACKET else b""
                if not self._packet(protocol.unpack_header(head), payload):
                    reason = ""  # a new reader thread took over while this one ran a slow call
                    break
        except ClientGone:
            pass
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            self.server.count("closed_protocol_error")
            log.info("client %s: %s; closing it", self.peer, exc)
        except OSError as exc:
            reason = f"socket error: {exc}"
        finally:
            if reason:
                self.close(reason)

    def _packet(self, h: Header, payload: bytes) -> bool:
        """Handle one packet; False when this thread must stop reading (the watchdog started another reader)."""
        if h.prog == protocol.KEEPALIVE_PROGRAM:
            if h.proc == protocol.KEEPALIVE_PING and h.type == MessageType.MESSAGE:
                self.send(protocol.keepalive(protocol.KEEPALIVE_PONG))
            return True
        if h.prog != protocol.REMOTE_PROGRAM or h.vers != protocol.REMOTE_VERSION:
            raise ProtocolError(f"unknown program {h.prog:#x} version {h.vers}")
        if h.type in (MessageType.STREAM, MessageType.STREAM_HOLE):
            self._stream_packet(h, payload)
            return True
        if h.type != MessageType.CALL:
            raise ProtocolError(f"message type {h.type} from a client (only calls are served)")
        self.server.count("calls")
        proc = protocol.BY_NUMBER.get(h.proc)
        if proc is None:
            self._error(h, C.VIR_ERR_NO_SUPPORT, C.VIR_FROM_RPC, f"unknown procedure: {h.proc}")
            return True
        try:
            args = xdr.decode(proc.args, payload)
        except xdr.XDRError as exc:
            self._error(h, C.VIR_ERR_RPC, C.VIR_FROM_RPC, f"cannot decode the arguments of {proc.name}: {exc}")
            return True
        refusal = self._refuse(proc, args)
        if refusal is not None:
            self._error(h, *refusal)
            return True
        with self._ev_lock:  # only this thread raises _in_pool from 0, so the answer holds until it does
            inline = proc.read_only and self._in_pool == 0
            if inline:
                self.inline_since = time.monotonic()
        if inline:  # a read with nothing else in progress: answer from this thread (no hand-over, no slot)
            try:
                self._run(h, proc, args)
            finally:
                with self._ev_lock:
                    self.inline_since = None
                    handed, self._handed_over = self._handed_over, False
                    if handed:
                        self._in_pool -= 1
            return not handed
        self._slots.acquire()  # at most max_pending calls of this client on the pool: stop reading meanwhile
        with self._ev_lock:
            self._in_pool += 1
        try:
            self.server.pool.submit(self._run, h, proc, args, True)
        except RuntimeError:  # the pool is shut down: the daemon is stopping
            self._slots.release()
            raise ClientGone() from None
        return True

    def hand_over_if_slow(self, now: float, limit: float) -> bool:
        """Start a new reader thread when the current one has run a call for more than ``limit`` seconds."""
        with self._ev_lock:
            since = self.inline_since
            if since is None or now - since < limit or self._closed:
                return False
            self.inline_since = None  # the slow call is now an ordinary one in progress
            self._in_pool += 1  # later reads go to the pool until it ends (counted back by its thread)
            self._handed_over = True
        threading.Thread(target=self.serve, name="guiappd-client", daemon=True).start()
        return True

    def _refuse(self, proc: Procedure, args: Any) -> Optional[tuple[int, int, str]]:
        short = proc.name[len("REMOTE_PROC_"):]
        if self.conn is None and short not in NO_CONNECTION_NEEDED:
            return C.VIR_ERR_INTERNAL_ERROR, C.VIR_FROM_RPC, "connection not open"
        if short not in HANDLERS:
            return (C.VIR_ERR_NO_SUPPORT, C.VIR_FROM_REMOTE,
                    f"this function is not supported by the connection driver: {proc.name} (guiappd)")
        ro = self.read_only or (self.conn is not None and self.conn.isReadOnly())
        if ro:
            if not proc.read_only:
                return C.VIR_ERR_OPERATION_DENIED, C.VIR_FROM_REMOTE, f"read only access prevents {proc.name}"
            mask = RO_FORBIDDEN_FLAGS.get(proc.number, 0)
            if mask and isinstance(args, dict) and int(args.get("flags") or 0) & mask:
                return (C.VIR_ERR_OPERATION_DENIED, C.VIR_FROM_REMOTE,
                        f"read only access prevents {proc.name} with flags {args['flags']:#x}")
        return None

    def _error(self, h: Header, code: int, domain: int, detail: str) -> None:
        self.server.count("error_replies")
        self.send(protocol.error_reply(h, protocol.make_error(code, domain, format_message(code, detail))))

    def _stream_packet(self, h: Header, payload: bytes) -> None:
        """Data, finish or abort of an open stream; packets of a stream that is gone are dropped (libvirtd)."""
        with self._ev_lock:
            stream = self.streams.get(h.serial)
        if stream is None or stream.proc != h.proc:
            self.server.count("stream_packets_dropped")
            return
        stream.incoming(h, payload)

    def _open_stream(self, h: Header, opened: OpenedStream) -> ServerStream:
        stream = ServerStream(self, h, opened)
        with self._ev_lock:
            if len(self.streams) < MAX_STREAMS and h.serial not in self.streams:
                self.streams[h.serial] = stream
                self.server.count("streams")
                return stream
        opened.stream.abort()
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"too many open streams on this connection (at most "
                                                      f"{MAX_STREAMS}): finish one first", C.VIR_FROM_STREAMS)

    def drop_stream(self, serial: int) -> None:
        with self._ev_lock:
            self.streams.pop(serial, None)

    def _run(self, h: Header, proc: Procedure, args: Any, pooled: bool = False) -> None:
        stream: Optional[ServerStream] = None
        try:
            ret = HANDLERS[proc.name[len("REMOTE_PROC_"):]](self, args)
            if isinstance(ret, OpenedStream):  # registered before the reply: data may follow it at once
                stream, ret = self._open_stream(h, ret), None
            if not proc.read_only:
                self.stats_cache.clear()  # a change: the next bulk-stats poll collects afresh
            try:
                if isinstance(ret, Encoded):
                    data = protocol.pack(Header(h.prog, h.vers, h.proc, MessageType.REPLY, h.serial,
                                                protocol.Status.OK), ret.data)
                else:
                    data = protocol.reply(proc, h.serial, ret)
            except (xdr.XDRError, ProtocolError) as exc:
                raise DriverError(C.VIR_ERR_RPC, f"cannot send the reply of {proc.name}: {exc}", C.VIR_FROM_RPC) \
                    from None
        except (libvirtError, DriverError) as exc:
            self.server.count("error_replies")
            data = protocol.error_reply(h, error_record(exc))
        except Exception as exc:  # a daemon bug: answer, log, keep serving
            log.exception("%s failed", proc.name)
            self.server.count("error_replies")
            data = protocol.error_reply(h, error_record(exc))
        finally:
            if pooled:
                with self._ev_lock:
                    self._in_pool -= 1
                self._slots.release()
        self.send(data)
        if stream is not None:
            stream.start()

    # ------------------------------------------------------------ session
    def open_connection(self, name: str, flags: int) -> None:
        if self.conn is not None:
            raise DriverError(C.VIR_ERR_INTERNAL_ERROR, "connection already open", C.VIR_FROM_RPC)
        ro = self.read_only or bool(flags & C.VIR_CONNECT_RO)
        self.conn_key, self.conn = self.server.conns.attach(name, ro, self.peer)

    def close_connection(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        with self._ev_lock:
            ids, self._events = list(self._events.values()), {}
        for cid in ids:
            try:
                conn.domainEventDeregisterAny(cid)
            except libvirtError:
                pass
        self.server.conns.detach(self.conn_key)

    def register_lifecycle(self, dom: Optional[virDomain], legacy: bool) -> int:
        assert self.conn is not None
        with self._ev_lock:
            if legacy and -1 in self._events:
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, "domain event 0 already registered", C.VIR_FROM_RPC)
            our_id = -1 if legacy else next(self._cb_ids)

        def deliver(_conn: Any, d: virDomain, event: int, detail: int, _opaque: Any) -> None:
            msg = {"dom": dom_wire(d), "event": event, "detail": detail}
            if legacy:
                self.send(protocol.event(EVENT_LIFECYCLE, msg))
            else:
                self.send(protocol.event(EVENT_CALLBACK_LIFECYCLE, {"callbackID": our_id, "msg": msg}))
        cid = self.conn.domainEventRegisterAny(dom, C.VIR_DOMAIN_EVENT_ID_LIFECYCLE, deliver, None)
        with self._ev_lock:
            self._events[our_id] = cid
        return our_id

    def deregister_lifecycle(self, callback_id: int) -> None:
        with self._ev_lock:
            cid = self._events.pop(callback_id, None)
        if cid is None:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"no domain event callback {callback_id} registered",
                              C.VIR_FROM_RPC)
        assert self.conn is not None
        self.conn.domainEventDeregisterAny(cid)

    def close(self, reason: str = "closed") -> None:
        with self._send_lock:
            if self._closed:
                return
            self._closed = True
        with self._ev_lock:
            streams, self.streams = list(self.streams.values()), {}
        for st in streams:  # a client gone (or cut mid-packet) aborts its own streams only
            st.client_gone()
        try:
            self.close_connection()
        except Exception:  # never let a client's cleanup stop the daemon
            log.exception("cleanup of client %s", self.peer)
        self._shutdown_socket()
        self.sock.close()
        self.server.forget(self)
        log.debug("client %s gone: %s", self.peer, reason)


class Listener:
    """One listening unix socket (read-write or read-only)."""

    owned = True  # we made the socket file (removed at stop); False for a socket systemd passed us

    def __init__(self, path: str, read_only: bool, mode: int, sock: Optional[socket.socket] = None) -> None:
        self.path = path
        self.read_only = read_only
        if sock is not None:  # socket activation: systemd made and keeps it
            self.sock, self.owned = sock, False
            return
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the file appears 0600, widened below for a read-only socket
        try:
            self.sock.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, mode)
        self.sock.listen(64)


class Server:
    """Accepts clients on the listeners and serves them; see the module docstring."""

    def __init__(self, conns: Connections, *, workers: int = 8, max_clients: int = 256, max_pending: int = 16,
                 max_message: int = protocol.MESSAGE_MAX, stats_ttl: float = 1.0, inline_limit: float = 1.0) -> None:
        self.conns = conns
        self.inline_limit = inline_limit
        self.stats_cache = StatsCache(stats_ttl)
        self.max_clients = max_clients
        self.max_pending = max_pending
        self.max_message = min(max_message, protocol.MESSAGE_MAX)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="guiappd-call")
        self.listeners: list[Listener] = []
        self.clients: set[Client] = set()
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog: Optional[threading.Thread] = None

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.stats[what] += n

    def listen(self, path: str, read_only: bool, mode: int, sock: Optional[socket.socket] = None) -> None:
        """Serve the unix socket ``path`` (made here with ``mode``, or ``sock`` already listening there)."""
        lst = Listener(path, read_only, mode, sock)
        self.listeners.append(lst)
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch_inline_calls, name="guiappd-watchdog", daemon=True)
            self._watchdog.start()
        threading.Thread(target=self._accept_loop, args=(lst,), name=f"guiappd-accept-{os.path.basename(path)}",
                         daemon=True).start()

    def _accept_loop(self, lst: Listener) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = lst.sock.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            with self._lock:
                full = len(self.clients) >= self.max_clients
            if full:
                log.warning("refusing a client: %d clients connected (--max-clients)", self.max_clients)
                self.count("refused_max_clients")
                sock.close()
                continue
            try:
                client = Client(self, sock, lst.read_only)
            except OSError:
                sock.close()
                continue
            with self._lock:
                self.clients.add(client)
                self.stats["clients"] += 1
            threading.Thread(target=client.serve, name="guiappd-client", daemon=True).start()

    def _watch_inline_calls(self) -> None:
        """Give a client a new reader thread when its reader is stuck in a slow call (keepalives keep flowing)."""
        tick = max(0.05, self.inline_limit / 4)
        while not self._stopping.wait(tick):
            with self._lock:
                busy = [c for c in self.clients if c.inline_since is not None]
            now = time.monotonic()
            for c in busy:
                if c.hand_over_if_slow(now, self.inline_limit):
                    self.count("reader_hand_overs")

    def forget(self, client: Client) -> None:
        with self._lock:
            self.clients.discard(client)

    def stop(self) -> None:
        """Stop listening, drop every client, remove the socket files (guests and drivers stay)."""
        self._stopping.set()
        for lst in self.listeners:
            try:
                lst.sock.close()
            finally:
                if lst.owned:
                    try:
                        os.unlink(lst.path)
                    except OSError:
                        pass
        with self._lock:
            clients = list(self.clients)
        for c in clients:
            c.close("daemon stopping")
        self.pool.shutdown(wait=True, cancel_futures=True)
