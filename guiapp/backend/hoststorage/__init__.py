"""Storage pools on a host or in memory: ``dir`` (qemu-img), ``logical`` (LVM), and the test driver's pools."""

from .dirpool import DirBackend
from .lvm import LogicalBackend
from .memory import MemoryBackend
from .ops import StorageOpsMixin
from .refs import StoragePoolRef, StorageVolRef
from .store import PoolStore
from .table import StorageTable

__all__ = ["DirBackend", "LogicalBackend", "MemoryBackend", "StorageOpsMixin", "StoragePoolRef", "StorageVolRef",
           "PoolStore", "StorageTable"]
