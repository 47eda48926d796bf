"""A sans-IO RFB (VNC) client: feed it bytes, it returns events and keeps the framebuffer.

No sockets and no Qt here: :class:`RFBClient` parses what the server sent
(:meth:`RFBClient.receive`) and queues what to send back (:meth:`RFBClient.data_to_send`).
The framebuffer is a ``bytearray`` of 32-bit pixels in memory order B, G, R, X
with X forced to 0xFF (a valid ``QImage.Format_RGB32`` on little-endian hosts), ``stride = width * 4``;
a resize replaces the bytearray (never resized in place, so views over it stay valid).

Supported: protocol 3.3/3.7/3.8; security None and VNC authentication; encodings Raw,
CopyRect, Zlib, DesktopSize and ExtendedDesktopSize (pseudo); Bell and ServerCutText.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Optional, Union

ENC_RAW = 0
ENC_COPYRECT = 1
ENC_ZLIB = 6
ENC_DESKTOP_SIZE = -223
ENC_EXT_DESKTOP_SIZE = -308

SEC_NONE = 1
SEC_VNC_AUTH = 2

#: 32 bpp, depth 24, little-endian, true colour, red at bit 16, green at 8, blue at 0.
PIXEL_FORMAT = struct.pack("!BBBBHHHBBBxxx", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)

LOCAL_ENCODINGS = (ENC_RAW, ENC_COPYRECT, ENC_EXT_DESKTOP_SIZE, ENC_DESKTOP_SIZE)
REMOTE_ENCODINGS = (ENC_ZLIB, ENC_COPYRECT, ENC_RAW, ENC_EXT_DESKTOP_SIZE, ENC_DESKTOP_SIZE)

MAX_DIMENSION = 16384


class RFBError(Exception):
    """The server broke the protocol or refused us; the message says what happened."""


class AuthenticationError(RFBError):
    """The server rejected the VNC password (or the security handshake)."""


@dataclass(frozen=True)
class ServerInit:
    """The handshake finished: the desktop's size and name."""

    width: int
    height: int
    name: str


@dataclass(frozen=True)
class PasswordRequired:
    """The server wants VNC authentication and no password was given: call ``send_password``."""


@dataclass(frozen=True)
class Update:
    """One FramebufferUpdate was applied; ``rects`` are the changed (x, y, w, h)."""

    rects: tuple[tuple[int, int, int, int], ...]


@dataclass(frozen=True)
class Resize:
    """The desktop changed size; the framebuffer was replaced (black until the next update)."""

    width: int
    height: int


@dataclass(frozen=True)
class Bell:
    """The guest rang the bell."""


@dataclass(frozen=True)
class CutText:
    """The guest put text on its clipboard."""

    text: str


Event = Union[ServerInit, PasswordRequired, Update, Resize, Bell, CutText]


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    """The 16-byte answer to a VNC-authentication challenge (DES, key = first 8 bytes, bits reversed)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    try:  # cryptography >= 43 keeps (triple) DES among the "decrepit" ciphers
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:  # pragma: no cover - older cryptography
        from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

    raw = password.encode("latin-1", "replace")[:8].ljust(8, b"\0")
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in raw)
    enc = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # 3DES with one key repeated = single DES
    return enc.update(challenge[:16]) + enc.finalize()


_OPAQUE = b"\xff" * 4096


def _opaque(n: int) -> bytes:
    """``n`` bytes of 0xFF (alpha for n pixels)."""
    global _OPAQUE
    if len(_OPAQUE) < n:
        _OPAQUE = b"\xff" * n
    return _OPAQUE if len(_OPAQUE) == n else _OPAQUE[:n]


class RFBClient:
    """The client side of one RFB connection, as a state machine."""

    def __init__(self, password: Optional[str] = None, *, shared: bool = True,
                 encodings: tuple[int, ...] = LOCAL_ENCODINGS) -> None:
        self.password = password
        self.shared = shared
        self.encodings = encodings
        self.width = 0
        self.height = 0
        self.name = ""
        self.framebuffer = bytearray()
        self.ready = False
        self.version = (3, 8)
        self.updates = 0  # FramebufferUpdate messages applied
        self._in = bytearray()
        self._out = bytearray()
        self._need = 12
        self._state = self._on_version
        self._events: list[Event] = []
        self._challenge: Optional[bytes] = None
        self._rects_left = 0
        self._rects: list[tuple[int, int, int, int]] = []
        self._rect: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
        self._zlib = zlib.decompressobj()
        self._full_after_resize = False

    # ------------------------------------------------------------------ I/O
    def receive(self, data: bytes) -> list[Event]:
        """Consume bytes from the server; return the events they completed. Raises RFBError."""
        if data:
            self._in += data
        buf = self._in
        while len(buf) >= self._need:
            n = self._need
            chunk = bytes(buf[:n]) if n else b""
            del buf[:n]
            self._state(chunk)
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> bytes:
        """Bytes queued for the server (and forget them)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def _expect(self, n: int, state: object) -> None:
        self._need = n
        self._state = state  # type: ignore[assignment]

    # ------------------------------------------------------------- handshake
    def _on_version(self, data: bytes) -> None:
        if not data.startswith(b"RFB ") or data[7:8] != b"." or data[11:12] != b"\n":
            raise RFBError(f"not a VNC server (greeting {data!r}); check the address")
        try:
            major, minor = int(data[4:7]), int(data[8:11])
        except ValueError:
            raise RFBError(f"malformed RFB version {data!r}") from None
        if major != 3:
            raise RFBError(f"unsupported RFB version {major}.{minor}")
        minor = 8 if minor >= 8 else 7 if minor == 7 else 3
        self.version = (3, minor)
        self._out += b"RFB 003.%03d\n" % minor
        if minor == 3:
            self._expect(4, self._on_sec_type_33)
        else:
            self._expect(1, self._on_sec_count)

    def _on_sec_type_33(self, data: bytes) -> None:
        (kind,) = struct.unpack("!I", data)
        if kind == 0:
            self._expect(4, self._on_reason_len)
        else:
            self._security(kind)

    def _on_sec_count(self, data: bytes) -> None:
        if data[0] == 0:
            self._expect(4, self._on_reason_len)
        else:
            self._expect(data[0], self._on_sec_types)

    def _on_sec_types(self, data: bytes) -> None:
        types = list(data)
        if SEC_NONE in types:
            kind = SEC_NONE
        elif SEC_VNC_AUTH in types:
            kind = SEC_VNC_AUTH
        else:
            raise RFBError(f"the server offers no supported security type (offered {types}; supported: None, VNC)")
        self._out.append(kind)
        self._security(kind)

    def _security(self, kind: int) -> None:
        if kind == SEC_NONE:
            if self.version >= (3, 8):
                self._expect(4, self._on_sec_result)
            else:
                self._client_init()
        elif kind == SEC_VNC_AUTH:
            self._expect(16, self._on_challenge)
        else:
            raise RFBError(f"unsupported security type {kind}")

    def _on_challenge(self, data: bytes) -> None:
        self._challenge = data
        if self.password is None:
            self._need = 1 << 62  # wait for send_password()
            self._events.append(PasswordRequired())
        else:
            self._answer()

    def send_password(self, password: str) -> None:
        """Answer a pending VNC-authentication challenge."""
        self.password = password
        if self._challenge is not None and self._state == self._on_challenge:
            self._answer()

    def _answer(self) -> None:
        assert self._challenge is not None
        self._out += vnc_auth_response(self.password or "", self._challenge)
        self._challenge = None
        self._expect(4, self._on_sec_result)

    def _on_sec_result(self, data: bytes) -> None:
        (result,) = struct.unpack("!I", data)
        if result == 0:
            self._client_init()
        elif self.version >= (3, 8):
            self._expect(4, self._on_fail_reason_len)
        else:
            raise AuthenticationError("authentication failed (wrong VNC password?)")

    def _on_fail_reason_len(self, data: bytes) -> None:
        self._expect(struct.unpack("!I", data)[0], self._on_fail_reason)

    def _on_fail_reason(self, data: bytes) -> None:
        reason = data.decode("utf-8", "replace") or "authentication failed"
        raise AuthenticationError(f"{reason} (wrong VNC password?)")

    def _on_reason_len(self, data: bytes) -> None:
        self._expect(struct.unpack("!I", data)[0], self._on_reason)

    def _on_reason(self, data: bytes) -> None:
        raise RFBError(f"the server refused the connection: {data.decode('utf-8', 'replace')}")

    def _client_init(self) -> None:
        self._out.append(1 if self.shared else 0)
        self._expect(24, self._on_server_init)

    def _on_server_init(self, data: bytes) -> None:
        self.width, self.height = struct.unpack("!HH", data[:4])
        self._expect(struct.unpack("!I", data[20:24])[0], self._on_server_name)

    def _on_server_name(self, data: bytes) -> None:
        self.name = data.decode("utf-8", "replace")
        self._alloc(self.width, self.height)
        self._out += b"\x00\x00\x00\x00" + PIXEL_FORMAT
        self._out += struct.pack("!BxH", 2, len(self.encodings))
        self._out += b"".join(struct.pack("!i", e) for e in self.encodings)
        self.request_update(incremental=False)
        self.ready = True
        self._events.append(ServerInit(self.width, self.height, self.name))
        self._expect(1, self._on_message)

    def _alloc(self, width: int, height: int) -> None:
        if not (0 <= width <= MAX_DIMENSION and 0 <= height <= MAX_DIMENSION):
            raise RFBError(f"the server announced an impossible desktop size {width}x{height}")
        self.width, self.height = width, height
        self.framebuffer = bytearray(b"\0\0\0\xff") * (width * height)

    # -------------------------------------------------------------- messages
    def _on_message(self, data: bytes) -> None:
        kind = data[0]
        if kind == 0:
            self._expect(3, self._on_update_header)
        elif kind == 1:
            self._expect(5, self._on_colour_map)
        elif kind == 2:
            self._events.append(Bell())
        elif kind == 3:
            self._expect(7, self._on_cut_len)
        else:
            raise RFBError(f"unknown server message type {kind}")

    def _on_colour_map(self, data: bytes) -> None:
        self._expect(6 * struct.unpack("!H", data[3:5])[0], self._skip)

    def _skip(self, _data: bytes) -> None:
        self._expect(1, self._on_message)

    def _on_cut_len(self, data: bytes) -> None:
        self._expect(struct.unpack("!I", data[3:7])[0], self._on_cut_text)

    def _on_cut_text(self, data: bytes) -> None:
        self._events.append(CutText(data.decode("latin-1")))
        self._expect(1, self._on_message)

    def _on_update_header(self, data: bytes) -> None:
        self._rects_left = struct.unpack("!H", data[1:3])[0]
        self._rects = []
        self._next_rect()

    def _next_rect(self) -> None:
        if self._rects_left == 0:
            self._end_update()
        else:
            self._rects_left -= 1
            self._expect(12, self._on_rect_header)

    def _end_update(self) -> None:
        self.updates += 1
        full = self._full_after_resize
        self._full_after_resize = False
        self.request_update(incremental=not full)
        if self._rects:
            self._events.append(Update(tuple(self._rects)))
        self._expect(1, self._on_message)

    def _on_rect_header(self, data: bytes) -> None:
        x, y, w, h, enc = struct.unpack("!HHHHi", data)
        self._rect = (x, y, w, h, enc)
        if enc in (ENC_DESKTOP_SIZE, ENC_EXT_DESKTOP_SIZE):
            if enc == ENC_EXT_DESKTOP_SIZE:
                self._expect(4, self._on_ext_size)
                return
            self._resize(w, h)
            self._next_rect()
            return
        if x + w > self.width or y + h > self.height:
            raise RFBError(f"update rectangle {w}x{h}+{x}+{y} outside the {self.width}x{self.height} desktop")
        if enc == ENC_RAW:
            self._expect(w * h * 4, self._on_raw)
        elif enc == ENC_COPYRECT:
            self._expect(4, self._on_copyrect)
        elif enc == ENC_ZLIB:
            self._expect(4, self._on_zlib_len)
        else:
            raise RFBError(f"the server used encoding {enc}, which was not requested")

    def _on_ext_size(self, data: bytes) -> None:
        self._expect(16 * data[0], self._on_ext_screens)

    def _on_ext_screens(self, _data: bytes) -> None:
        x, y, w, h, _enc = self._rect
        if y == 0:  # x-position 0 means the server changed the size (not a reply to our request failing)
            self._resize(w, h)
        self._next_rect()

    def _resize(self, w: int, h: int) -> None:
        if (w, h) != (self.width, self.height):  # QEMU repeats the size after every full request: no loop
            self._alloc(w, h)
            self._events.append(Resize(w, h))
            self._full_after_resize = True

    def _on_raw(self, data: bytes) -> None:
        x, y, w, h, _ = self._rect
        self._blit(x, y, w, h, data)
        self._rects.append((x, y, w, h))
        self._next_rect()

    def _blit(self, x: int, y: int, w: int, h: int, data: bytes) -> None:
        fb = self.framebuffer
        stride = self.width * 4
        row = w * 4
        if x == 0 and w == self.width:
            start = y * stride
            end = start + row * h
            fb[start:end] = data
            fb[start + 3:end:4] = _opaque(w * h)  # servers send 0 in the padding byte
            return
        mv = memoryview(data)
        off = y * stride + x * 4
        ones = _opaque(w)
        for i in range(h):
            fb[off:off + row] = mv[i * row:(i + 1) * row]
            fb[off + 3:off + row:4] = ones
            off += stride

    def _on_copyrect(self, data: bytes) -> None:
        sx, sy = struct.unpack("!HH", data)
        x, y, w, h, _ = self._rect
        if sx + w > self.width or sy + h > self.height:
            raise RFBError(f"CopyRect source {w}x{h}+{sx}+{sy} outside the desktop")
        stride = self.width * 4
        fb = self.framebuffer
        rows = [bytes(fb[(sy + i) * stride + sx * 4:(sy + i) * stride + (sx + w) * 4]) for i in range(h)]
        self._blit(x, y, w, h, b"".join(rows))
        self._rects.append((x, y, w, h))
        self._next_rect()

    def _on_zlib_len(self, data: bytes) -> None:
        self._expect(struct.unpack("!I", data)[0], self._on_zlib)

    def _on_zlib(self, data: bytes) -> None:
        x, y, w, h, _ = self._rect
        raw = self._zlib.decompress(data)
        if len(raw) != w * h * 4:
            raise RFBError(f"zlib rectangle decoded to {len(raw)} bytes, expected {w * h * 4}")
        self._blit(x, y, w, h, raw)
        self._rects.append((x, y, w, h))
        self._next_rect()

    # ------------------------------------------------------- client messages
    def request_update(self, incremental: bool = True, region: Optional[tuple[int, int, int, int]] = None) -> None:
        x, y, w, h = region or (0, 0, self.width, self.height)
        self._out += struct.pack("!BBHHHH", 3, 1 if incremental else 0, x, y, w, h)

    def key_event(self, keysym: int, down: bool) -> None:
        """Press (down=True) or release an X11 keysym."""
        self._out += struct.pack("!BBxxI", 4, 1 if down else 0, keysym & 0xFFFFFFFF)

    def pointer_event(self, x: int, y: int, buttons: int) -> None:
        """Move the pointer to (x, y) in framebuffer pixels with ``buttons`` held (bit 0 = left)."""
        x = min(max(int(x), 0), max(self.width - 1, 0))
        y = min(max(int(y), 0), max(self.height - 1, 0))
        self._out += struct.pack("!BBHH", 5, buttons & 0xFF, x, y)

    def cut_text(self, text: str) -> None:
        data = text.encode("latin-1", "replace")
        self._out += struct.pack("!BxxxI", 6, len(data)) + data

    def copy_framebuffer(self) -> tuple[int, int, bytes]:
        """(width, height, a copy of the BGRX pixels)."""
        return self.width, self.height, bytes(self.framebuffer)
