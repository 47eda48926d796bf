"""How the drivers store files: atomic writes, stored-size and file-name checks, leftover temp files.

Every definition a driver keeps on disk goes through :func:`store_document`: the
text is checked against the size the reader accepts (:data:`~.xml.safe.MAX_XML_SIZE`),
parsed back with the same reader, and only then written to a temporary file in the
same directory, fsync'd and renamed over the old file (then the directory is
fsync'd).  A failed or killed write therefore leaves the old definition intact.

Temporary files are named ``.guiapp-tmp.<pid>.<random>``; :func:`clean_temp_files`
removes those whose writer process is gone (and the older layouts' temp files once
they are a minute old), and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional, Union

from . import constants as C
from .errors import DriverError
from .xml.safe import MAX_XML_SIZE

#: Prefix of every temporary file this module writes.
TMP_PREFIX = ".guiapp-tmp."
#: Longest file name the kernel takes (NAME_MAX of Linux file systems), in bytes.
NAME_MAX = 255

_OURS = re.compile(r"\.guiapp-tmp\.(\d+)\.[A-Za-z0-9_]+\Z")
#: Temp files of earlier versions: tempfile.mkstemp(prefix=".NAME.xml.") (+ ".tmp"), and NAME.xml.tmpPID.
_LEGACY = re.compile(r"(\..+\.(xml|json|cfg)\.[a-z0-9_]{8}(\.tmp)?|.+\.xml\.tmp\d+)\Z")
_LEGACY_AGE = 60.0


def atomic_write(path: Union[str, Path], data: Union[str, bytes], mode: int = 0o600,
                 error_domain: Optional[int] = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix or nothing."""
    path = Path(path)
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}.", dir=path.parent)
    except OSError as exc:
        raise DriverError(C.VIR_ERR_WRITE_FAILED, f"cannot write {path}: {exc.strerror or exc}",
                          error_domain) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise DriverError(C.VIR_ERR_WRITE_FAILED, f"cannot write {path}: {exc.strerror or exc}",
                              error_domain) from None
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def store_document(path: Union[str, Path], text: str, read_back: Callable[[bytes], Any], what: str,
                   error_domain: Optional[int] = None) -> None:
    """Store an XML document only if ``read_back`` (the code that loads it) accepts the stored bytes.

    ``what`` names the document in errors (e.g. ``domain 'x'``).  A document over the
    reader's size limit is refused with VIR_ERR_XML_ERROR before anything is written.
    """
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_XML_SIZE:
        raise DriverError(C.VIR_ERR_XML_ERROR,
                          f"the stored definition of {what} would be {len(raw)} bytes, larger than the "
                          f"{MAX_XML_SIZE // (1024 * 1024)} MiB limit for stored XML; make it smaller "
                          f"(the previous definition is kept)", error_domain)
    try:
        read_back(raw)
    except DriverError as exc:
        raise DriverError(C.VIR_ERR_XML_ERROR,
                          f"the definition of {what} would not read back ({exc.detail}); nothing was "
                          f"written, the previous definition is kept", error_domain) from None
    atomic_write(path, raw, error_domain=error_domain)


def check_file_name(name: str, suffix: str, what: str, error_domain: Optional[int] = None) -> None:
    """Refuse a name that cannot be stored as ``NAME + suffix`` (VIR_ERR_XML_ERROR giving the limit)."""
    size = len(name.encode("utf-8", "surrogatepass"))
    limit = NAME_MAX - len(suffix.encode())
    if size > limit:
        raise DriverError(C.VIR_ERR_XML_ERROR,
                          f"{what} name is {size} bytes long; this driver stores it as the file "
                          f"'NAME{suffix}' and allows at most {limit} bytes (UTF-8): use a shorter name",
                          error_domain)


def clean_temp_files(directory: Union[str, Path]) -> list[str]:
    """Remove our temp files left in ``directory`` by writers that died; returns the names removed."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        m = _OURS.match(e.name)
        try:
            if not e.is_file(follow_symlinks=False):
                continue
            if m is not None:
                if _pid_alive(int(m.group(1))):
                    continue
            elif not (_LEGACY.match(e.name) and now - e.stat(follow_symlinks=False).st_mtime > _LEGACY_AGE):
                continue
            os.unlink(e.path)
            removed.append(e.name)
        except OSError:
            continue
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


__all__ = ["TMP_PREFIX", "NAME_MAX", "atomic_write", "store_document", "check_file_name", "clean_temp_files"]
