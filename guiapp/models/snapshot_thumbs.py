"""Screen thumbnails taken with a snapshot, kept in the user's cache (libvirt's snapshot XML has no room for one).

One PNG per (connection URI, domain UUID, snapshot name); the file name is a hash of the URI and of the
snapshot name, so neither reaches a path as typed.  Capture and file access run on the job runner's pool.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
from PySide6.QtGui import QImage

from ..backend.errors import DriverError
from ..backend.filestore import atomic_write
from .thumbnails import grab_thumbnail

log = logging.getLogger(__name__)
SIZE = QSize(320, 200)


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/guiapp/snapshot-thumbnails`` (``~/.cache`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "guiapp" / "snapshot-thumbnails"


def thumb_path(uri: str, uuid: bytes, name: str) -> Path:
    """Where the thumbnail of snapshot ``name`` lives (hashed names: nothing typed becomes a path)."""
    conn = hashlib.sha256(uri.encode()).hexdigest()[:16]
    snap = hashlib.sha256(name.encode()).hexdigest()[:32]
    return cache_dir() / conn / uuid.hex() / f"{snap}.png"


def capture_png(dom: Any) -> Optional[bytes]:
    """The domain's screen now as a scaled PNG, or None (no VNC display, not running, password). Any thread."""
    from ..vnc.address import NoConsoleError, console_target
    from ..vnc.rfb import RFBError
    try:
        img = grab_thumbnail(console_target(dom), SIZE)
    except (NoConsoleError, PermissionError, OSError, RFBError) as exc:
        log.debug("no snapshot thumbnail: %s", exc)
        return None
    except Exception as exc:  # libvirtError from the lookup (e.g. the domain is off): no screen to show
        if type(exc).__name__ != "libvirtError":
            raise
        return None
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, "PNG"):  # type: ignore[call-overload]  # the stubs say bytes; 6.11 at run time takes str only
        return None
    return bytes(data.data())


def save(path: Path, png: bytes) -> bool:
    """Store the thumbnail atomically; False (logged) when the cache is not writable: the snapshot stands."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, png, 0o600)
    except (OSError, DriverError) as exc:
        log.warning("snapshot thumbnail not kept: %s", exc)
        return False
    return True


def load(path: Path) -> Optional[QImage]:
    """The stored thumbnail, or None when there is none (or it is unreadable)."""
    if not path.is_file():
        return None
    img = QImage(str(path))
    return None if img.isNull() else img


def forget(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


__all__ = ["capture_png", "cache_dir", "forget", "load", "save", "thumb_path"]
