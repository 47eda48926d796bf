"""UUID text: libvirt's dashed lowercase form (kept free of lxml so the front-end imports it cheaply)."""

from __future__ import annotations


def format_uuid(raw: bytes) -> str:
    """16 raw bytes as ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``."""
    h = raw.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
