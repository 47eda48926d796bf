"""Storage pools of ``qemu:///session`` and ``qemu:///system``.

Definitions are kept beside the domain and network definitions, in
``<config dir>/storage`` (written atomically); run markers in ``<runtime dir>/storage``.
The ``default`` dir pool lives in ``$XDG_DATA_HOME/guiapp/images``
(``~/.local/share/guiapp/images``) for session and ``/var/lib/guiapp/images`` for
system (under ``$GUIAPP_SYSTEM_ROOT``).  It is listed from the start but nothing
is written until it is first started, changed or given a volume: opening a
connection or listing pools never touches the host.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...hoststorage import DirBackend, LogicalBackend, PoolStore, StorageTable
from ...hoststorage.backend import Backend
from ...hoststorage.table import Users
from ...xml.storage import PoolDef
from .state import Dirs, system_root

#: The default pool's UUID is fixed per connection kind, so every process agrees on it before it is written.
_DEFAULT_UUID = {True: bytes.fromhex("5a7e1d0c6f2b4c3e9d8a0b1c2d3e4f50"),
                 False: bytes.fromhex("5a7e1d0c6f2b4c3e9d8a0b1c2d3e4f51")}


def images_dir(system: bool) -> Path:
    if system:
        return system_root() / "var/lib/guiapp/images"
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "guiapp" / "images"


def default_pool(system: bool) -> PoolDef:
    return PoolDef("dir", "default", _DEFAULT_UUID[system], str(images_dir(system)))


def host_storage(system: bool, dirs: Dirs, users: Users) -> StorageTable:
    """The storage table of one QEMU connection."""
    backends: dict[str, Backend] = {"dir": DirBackend(), "logical": LogicalBackend()}
    return StorageTable(backends, PoolStore(dirs.config, dirs.runtime), users, default_pool(system))


__all__ = ["host_storage", "images_dir", "default_pool"]
