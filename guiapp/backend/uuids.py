"""UUID text: libvirt's dashed lowercase form (kept free of lxml so the front-end imports it cheaply)."""

from __future__ import annotations


def format_uuid(raw: bytes) -> str:
    """16 raw bytes as ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``."""
    h = raw.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def new_uuid() -> bytes:
    """A random (version 4) UUID as 16 raw bytes, without importing :mod:`uuid`."""
    import os

    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return bytes(raw)
