"""libvirt's RPC packets: framing, the header, message types, errors, keepalive.

A packet on the wire is ``length (4 bytes, counting itself) + header (24 bytes)
+ payload``; the header is six XDR words: program, version, procedure, type,
serial, status (``src/rpc/virnetprotocol.x``).  Used by both ends: the client
connection (:mod:`.client`) and a daemon serving the REMOTE program.
"""

from __future__ import annotations

import enum
import struct
from typing import Any, Iterator, NamedTuple, Optional

from . import xdr
from .remote_gen import CONSTANTS, PROCEDURES

REMOTE_PROGRAM: int = CONSTANTS["REMOTE_PROGRAM"]
REMOTE_VERSION: int = CONSTANTS["REMOTE_PROTOCOL_VERSION"]
KEEPALIVE_PROGRAM: int = CONSTANTS["KEEPALIVE_PROGRAM"]
KEEPALIVE_VERSION: int = CONSTANTS["KEEPALIVE_PROTOCOL_VERSION"]
KEEPALIVE_PING: int = CONSTANTS["KEEPALIVE_PROC_PING"]
KEEPALIVE_PONG: int = CONSTANTS["KEEPALIVE_PROC_PONG"]

MESSAGE_MAX: int = CONSTANTS["VIR_NET_MESSAGE_MAX"]  # 32 MiB, length word included
HEADER_LEN: int = CONSTANTS["VIR_NET_MESSAGE_HEADER_MAX"]  # 24
LEN_LEN: int = CONSTANTS["VIR_NET_MESSAGE_LEN_MAX"]  # 4
PAYLOAD_MAX: int = CONSTANTS["VIR_NET_MESSAGE_PAYLOAD_MAX"]
STRING_MAX: int = CONSTANTS["VIR_NET_MESSAGE_STRING_MAX"]
NUM_FDS_MAX: int = CONSTANTS["VIR_NET_MESSAGE_NUM_FDS_MAX"]


class MessageType(enum.IntEnum):
    CALL = 0
    REPLY = 1
    MESSAGE = 2
    STREAM = 3
    CALL_WITH_FDS = 4
    REPLY_WITH_FDS = 5
    STREAM_HOLE = 6


class Status(enum.IntEnum):
    OK = 0
    ERROR = 1
    CONTINUE = 2


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid libvirt RPC packet (or we were asked to send one)."""


class Header(NamedTuple):
    prog: int
    vers: int
    proc: int
    type: int
    serial: int
    status: int


class Procedure(NamedTuple):
    """One REMOTE procedure from the generated table."""

    number: int
    name: str  # REMOTE_PROC_...
    args: Optional[str]  # XDR type of the call arguments (or of the event message), None for void
    ret: Optional[str]  # XDR type of the reply, None for void
    acl: tuple[str, ...]  # @acl rules of remote_protocol.x
    priority: str  # 'high' procedures may run while others wait in the daemon
    stream: bool
    read_only: bool  # callable on a read-only connection (derived from @acl)
    read_only_forbidden_flags: tuple[str, ...]  # flags that need a write permission


BY_NUMBER: dict[int, Procedure] = {p[0]: Procedure(*p) for p in PROCEDURES}
BY_NAME: dict[str, Procedure] = {p.name[len("REMOTE_PROC_"):]: p for p in BY_NUMBER.values()}

_HDR = struct.Struct(">IIIiIIi")  # length + header (proc and status are signed ints in the .x)
_LEN = struct.Struct(">I")


def procedure(name_or_number: str | int) -> Procedure:
    """The REMOTE procedure named ``CONNECT_OPEN`` (or ``REMOTE_PROC_CONNECT_OPEN``) or numbered so."""
    if isinstance(name_or_number, int):
        try:
            return BY_NUMBER[name_or_number]
        except KeyError:
            raise ProtocolError(f"unknown remote procedure {name_or_number}") from None
    key = name_or_number.upper()
    key = key[len("REMOTE_PROC_"):] if key.startswith("REMOTE_PROC_") else key
    try:
        return BY_NAME[key]
    except KeyError:
        raise ProtocolError(f"unknown remote procedure {name_or_number!r}") from None


def pack(header: Header, payload: bytes) -> bytes:
    """One framed packet: length, header, payload (refused above libvirt's 32 MiB limit)."""
    total = LEN_LEN + HEADER_LEN + len(payload)
    if total > MESSAGE_MAX:
        raise ProtocolError(f"packet of {total} bytes exceeds libvirt's limit of {MESSAGE_MAX} bytes")
    return _HDR.pack(total, header.prog, header.vers, header.proc, header.type, header.serial,
                     header.status) + payload


def check_length(total: int) -> None:
    """Validate a packet's length word (it counts itself and the header)."""
    if total < LEN_LEN + HEADER_LEN:
        raise ProtocolError(f"packet length {total} is shorter than a header")
    if total > MESSAGE_MAX:
        raise ProtocolError(f"packet length {total} exceeds libvirt's limit of {MESSAGE_MAX} bytes")


def unpack_header(data: bytes | bytearray, offset: int = 0) -> Header:
    """The header of a packet whose length word starts at ``offset``."""
    _total, *fields = _HDR.unpack_from(data, offset)
    return Header(*fields)


class FrameReader:
    """Incremental splitter of a byte stream into ``(Header, payload)`` packets."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[Header, bytes]]:
        """Add received bytes; yield every complete packet (ProtocolError on a bad length)."""
        buf = self._buf
        buf += data
        pos = 0
        n = len(buf)
        try:
            while n - pos >= LEN_LEN:
                (total,) = _LEN.unpack_from(buf, pos)
                check_length(total)
                if n - pos < total:
                    break
                header = unpack_header(buf, pos)
                payload = bytes(buf[pos + LEN_LEN + HEADER_LEN:pos + total])
                pos += total
                yield header, payload
        finally:
            if pos:
                del buf[:pos]

    @property
    def pending(self) -> int:
        """Bytes of an incomplete packet held back."""
        return len(self._buf)


# ---- building packets -----------------------------------------------------
def call(proc: Procedure, serial: int, args: Any = None) -> bytes:
    """A CALL packet of the REMOTE program."""
    return pack(Header(REMOTE_PROGRAM, REMOTE_VERSION, proc.number, MessageType.CALL, serial, Status.OK),
                xdr.encode(proc.args, args))


def reply(proc: Procedure, serial: int, ret: Any = None) -> bytes:
    """A successful REPLY packet."""
    return pack(Header(REMOTE_PROGRAM, REMOTE_VERSION, proc.number, MessageType.REPLY, serial, Status.OK),
                xdr.encode(proc.ret, ret))


def error_reply(header: Header, error: dict[str, Any]) -> bytes:
    """A REPLY with status ERROR answering the call ``header`` (any program)."""
    return pack(Header(header.prog, header.vers, header.proc, MessageType.REPLY, header.serial, Status.ERROR),
                xdr.encode("remote_error", error))


def event(proc: Procedure, msg: Any) -> bytes:
    """An asynchronous MESSAGE packet (a domain event) of the REMOTE program, serial 0."""
    return pack(Header(REMOTE_PROGRAM, REMOTE_VERSION, proc.number, MessageType.MESSAGE, 0, Status.OK),
                xdr.encode(proc.args, msg))


def keepalive(proc: int) -> bytes:
    """A keepalive PING or PONG (an empty MESSAGE of the keepalive program)."""
    return pack(Header(KEEPALIVE_PROGRAM, KEEPALIVE_VERSION, proc, MessageType.MESSAGE, 0, Status.OK), b"")


def make_error(code: int, domain: int, message: str, level: int = 2, str1: Optional[str] = None,
               str2: Optional[str] = None, str3: Optional[str] = None, int1: int = 0, int2: int = 0) -> dict[str, Any]:
    """A ``remote_error`` value (the wire form of virError; level 2 = VIR_ERR_ERROR)."""
    return {"code": code, "domain": domain, "message": message, "level": level, "dom": None,
            "str1": str1, "str2": str2, "str3": str3, "int1": int1, "int2": int2, "net": None}


def decode_call(header: Header, payload: bytes) -> tuple[Procedure, Any]:
    """Server side: the procedure and decoded arguments of a CALL (ProtocolError when invalid)."""
    if header.prog != REMOTE_PROGRAM or header.vers != REMOTE_VERSION:
        raise ProtocolError(f"unknown program {header.prog:#x} version {header.vers}")
    if header.type not in (MessageType.CALL, MessageType.CALL_WITH_FDS):
        raise ProtocolError(f"message type {header.type} is not a call")
    proc = procedure(header.proc)
    try:
        return proc, xdr.decode(proc.args, payload)
    except xdr.XDRError as exc:
        raise ProtocolError(f"{proc.name}: {exc}") from None
