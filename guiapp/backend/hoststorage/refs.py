"""What storage lookups return to the front-end, and the pool record the storage tables keep."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from ..xml.storage import PoolDef, VolumeDef


class StoragePoolRef(NamedTuple):
    """Enough for the front-end to build a virStoragePool."""

    name: str
    uuid: bytes  # 16 raw bytes


class StorageVolRef(NamedTuple):
    """Enough for the front-end to build a virStorageVol (``uuid`` is the key, for Handle's identity)."""

    pool: str
    name: str
    uuid: str  # the volume's key (its path for dir pools, the LV uuid for logical pools)


@dataclass
class Pool:
    """One pool of a table: its definition (sizes included), state and last scanned volumes."""

    defn: PoolDef
    persistent: bool = True
    active: bool = False
    autostart: bool = False
    vols: Optional[dict[str, VolumeDef]] = None  # None: not scanned since it became active
    pending: Optional[PoolDef] = None  # a new definition waiting for the pool to stop
    stamp: object = None  # the backend's change stamp at the last scan
    data: dict[str, bytearray] = field(default_factory=dict)  # memory pools: volume contents

    @property
    def ref(self) -> StoragePoolRef:
        return StoragePoolRef(self.defn.name, self.defn.uuid)

    def vol_ref(self, vol: VolumeDef) -> StorageVolRef:
        return StorageVolRef(self.defn.name, vol.name, vol.key or vol.path or vol.name)


__all__ = ["StoragePoolRef", "StorageVolRef", "Pool"]
