"""Storage pools on a host or in memory: ``dir`` (qemu-img), ``logical`` (LVM), and the test driver's pools.

The names below load their module on first use (PEP 562), so a driver that needs only the table and the
in-memory backend (the test driver) does not import the host backends (command-line start-up time).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dirpool import DirBackend
    from .lvm import LogicalBackend
    from .memory import MemoryBackend
    from .ops import StorageOpsMixin
    from .refs import StoragePoolRef, StorageVolRef
    from .store import PoolStore
    from .table import StorageTable

_HOMES = {"DirBackend": "dirpool", "LogicalBackend": "lvm", "MemoryBackend": "memory", "StorageOpsMixin": "ops",
          "StoragePoolRef": "refs", "StorageVolRef": "refs", "PoolStore": "store", "StorageTable": "table"}

__all__ = ["DirBackend", "LogicalBackend", "MemoryBackend", "StorageOpsMixin", "StoragePoolRef", "StorageVolRef",
           "PoolStore", "StorageTable"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
