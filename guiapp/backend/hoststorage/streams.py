"""Uploads into and downloads from volume files, with nothing half-written left behind on failure.

A whole-volume upload (offset 0, length 0) is written to a hidden temporary file
beside the volume and renamed over it on ``finish()``; a failure (disk full, a
cancel) removes the temporary file and the volume keeps its old content.  A
ranged upload writes in place, as libvirt does.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from typing import Optional

from .. import constants as C
from .tools import err


def _io_error(exc: OSError, what: str) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return err(C.VIR_ERR_OPERATION_FAILED,
                   f"{what}: no space left on the device; the volume was left unchanged, free some space and "
                   f"retry")
    return err(C.VIR_ERR_OPERATION_FAILED, f"{what}: {exc.strerror or exc}")


class FileSink:
    """An upload into the file at ``path``."""

    def __init__(self, path: str, offset: int, length: int, mode: int = 0o600) -> None:
        self.path = path
        self.left: Optional[int] = length or None
        self.tmp: Optional[str] = None
        try:
            if offset == 0 and length == 0:
                fd, self.tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.upload-",
                                                dir=os.path.dirname(path))
                os.fchmod(fd, mode)
            else:
                fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
                os.lseek(fd, offset, os.SEEK_SET)
        except OSError as exc:
            raise _io_error(exc, f"cannot open volume '{path}' for upload") from None
        self.fd: Optional[int] = fd

    def write(self, data: bytes) -> None:
        if self.fd is None:
            raise err(C.VIR_ERR_INVALID_STREAM, "the upload stream is already finished or aborted")
        if self.left is not None:
            if len(data) > self.left:
                self.abort()
                raise err(C.VIR_ERR_INVALID_ARG, f"upload sends more than the {self.left} bytes asked for")
            self.left -= len(data)
        view = memoryview(data)
        try:
            while view:
                n = os.write(self.fd, view)
                view = view[n:]
        except OSError as exc:
            self.abort()
            raise _io_error(exc, f"upload to '{self.path}' failed") from None

    def finish(self) -> None:
        if self.fd is None:
            return
        try:
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = None
            if self.tmp is not None:
                os.replace(self.tmp, self.path)
                self.tmp = None
        except OSError as exc:
            self.abort()
            raise _io_error(exc, f"upload to '{self.path}' failed") from None

    def abort(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        if self.tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
            self.tmp = None


class FileSource:
    """A download of ``length`` bytes (0: to the end) from ``offset`` of the file at ``path``."""

    def __init__(self, path: str, offset: int, length: int) -> None:
        self.path = path
        try:
            self.fd: Optional[int] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            os.lseek(self.fd, offset, os.SEEK_SET)
        except OSError as exc:
            raise _io_error(exc, f"cannot open volume '{path}' for download") from None
        self.left: Optional[int] = length or None

    def read(self, n: int) -> bytes:
        if self.fd is None:
            raise err(C.VIR_ERR_INVALID_STREAM, "the download stream is already finished or aborted")
        if self.left is not None:
            n = min(n, self.left)
        try:
            data = os.read(self.fd, n) if n else b""
        except OSError as exc:
            self.abort()
            raise _io_error(exc, f"download from '{self.path}' failed") from None
        if self.left is not None:
            self.left -= len(data)
        return data

    def finish(self) -> None:
        self.abort()

    def abort(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


class MemorySink:
    """An upload into an in-memory volume (test driver)."""

    def __init__(self, target: bytearray, offset: int, length: int, limit: int) -> None:
        self.target, self.offset, self.limit = target, offset, limit
        self.buf = bytearray()
        self.length = length
        self.done = False

    def write(self, data: bytes) -> None:
        if self.done:
            raise err(C.VIR_ERR_INVALID_STREAM, "the upload stream is already finished or aborted")
        if self.offset + len(self.buf) + len(data) > self.limit:
            self.abort()
            raise err(C.VIR_ERR_INVALID_ARG, f"upload goes past the end of the volume ({self.limit} bytes)")
        if self.length and len(self.buf) + len(data) > self.length:  # as FileSink
            left = self.length - len(self.buf)
            self.abort()
            raise err(C.VIR_ERR_INVALID_ARG, f"upload sends more than the {left} bytes asked for")
        self.buf += data

    def finish(self) -> None:
        if not self.done:
            if self.offset == 0 and self.length == 0:
                self.target[:] = self.buf
            else:
                end = self.offset + len(self.buf)
                if len(self.target) < end:
                    self.target.extend(bytes(end - len(self.target)))
                self.target[self.offset:end] = self.buf
            self.done = True

    def abort(self) -> None:
        self.done = True
        self.buf = bytearray()


class MemorySource:
    """A download from an in-memory volume (test driver): its bytes, zero-filled up to ``size``."""

    def __init__(self, data: bytes, size: int, offset: int, length: int) -> None:
        self.data, self.pos = data, offset
        self.end = min(size, offset + length) if length else size

    def read(self, n: int) -> bytes:
        n = max(0, min(n, self.end - self.pos))
        chunk = self.data[self.pos:self.pos + n]
        chunk += bytes(n - len(chunk))
        self.pos += n
        return bytes(chunk)

    def finish(self) -> None:
        self.pos = self.end

    def abort(self) -> None:
        self.pos = self.end


__all__ = ["FileSink", "FileSource", "MemorySink", "MemorySource"]
