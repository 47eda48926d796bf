"""Blocking one-shot capture of a VNC display (plain sockets, any thread): thumbnails, tools."""

from __future__ import annotations

import socket
import time
from typing import Optional

from .address import VncAddress
from .rfb import REMOTE_ENCODINGS, PasswordRequired, RFBClient, RFBError, Update


def open_socket(address: VncAddress, timeout: float) -> socket.socket:
    """A connected stream socket to ``address``."""
    if address.is_unix:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address.path)
        return sock
    return socket.create_connection((address.host, address.port), timeout=timeout)


def capture(address: VncAddress, password: Optional[str] = None, timeout: float = 5.0) -> tuple[int, int, bytes]:
    """Connect, read one full frame, disconnect: (width, height, BGRX pixels). Raises OSError/RFBError."""
    encodings = REMOTE_ENCODINGS if not address.is_unix else RFBClient().encodings
    proto = RFBClient(password, encodings=encodings)
    deadline = time.monotonic() + timeout
    with open_socket(address, timeout) as sock:
        while True:
            out = proto.data_to_send()
            if out:
                sock.sendall(out)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete frame from {address} within {timeout:g} s")
            sock.settimeout(left)
            data = sock.recv(1 << 20)
            if not data:
                raise RFBError(f"{address} closed the connection")
            for ev in proto.receive(data):
                if isinstance(ev, PasswordRequired):
                    raise RFBError(f"{address} needs a VNC password")
                if isinstance(ev, Update) and proto.updates >= 1 and _covers(ev, proto.width, proto.height):
                    return proto.copy_framebuffer()


def _covers(ev: Update, width: int, height: int) -> bool:
    area = sum(w * h for _x, _y, w, h in ev.rects)
    return area >= width * height
