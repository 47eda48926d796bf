"""The save-file format: a small header (magic, JSON with the domain XML) then QEMU's migration stream."""

from __future__ import annotations

import json
import os
import struct
from typing import Any

from ... import constants as C
from ...errors import DriverError

MAGIC = b"GuiappQemuSave1\n"
ALIGN = 4096
_LEN = struct.Struct("<Q")


def write_header(fd: int, meta: dict[str, Any]) -> int:
    """Write the header at the start of ``fd``; returns the offset where QEMU's stream begins."""
    body = json.dumps(meta).encode()
    raw = MAGIC + _LEN.pack(len(body)) + body
    total = (len(raw) + ALIGN - 1) // ALIGN * ALIGN
    os.write(fd, raw + b"\0" * (total - len(raw)))
    return total


def read_header(path: str) -> tuple[dict[str, Any], int]:
    """(metadata, offset of QEMU's stream) of a save file; DriverError when it is not one."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC) + _LEN.size)
            if len(head) < len(MAGIC) + _LEN.size or not head.startswith(MAGIC):
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"'{path}' is not a guiapp QEMU save file (bad magic); save a domain with "
                                  f"virDomainSave first", C.VIR_FROM_QEMU)
            (n,) = _LEN.unpack(head[len(MAGIC):])
            if n > 64 * 1024 * 1024:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"'{path}': corrupt save file header", C.VIR_FROM_QEMU)
            body = f.read(n)
    except OSError as exc:
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"cannot read save file '{path}': {exc.strerror}",
                          C.VIR_FROM_QEMU) from None
    try:
        meta = json.loads(body)
    except ValueError:
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"'{path}': corrupt save file header", C.VIR_FROM_QEMU) \
            from None
    if not isinstance(meta, dict) or not isinstance(meta.get("xml"), str):
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"'{path}': save file header has no domain XML",
                          C.VIR_FROM_QEMU)
    total = (len(MAGIC) + _LEN.size + n + ALIGN - 1) // ALIGN * ALIGN
    return meta, total
