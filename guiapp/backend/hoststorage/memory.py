"""The test driver's pools: volumes kept in memory, sizes as libvirt's test driver reports them."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from .. import constants as C
from ..errors import DriverError
from ..xml.storage import VolumeDef, volume_path
from .refs import Pool
from .streams import MemorySink, MemorySource

#: libvirt's test driver: every pool has 100 GiB, all of it available.
TEST_POOL_CAPACITY = 100 * 1024 ** 3


class MemoryBackend:
    """See the module docstring; volumes outlive a stop and start of their pool (as in libvirt's test driver)."""

    def __init__(self) -> None:
        self.kept: dict[bytes, dict[str, VolumeDef]] = {}  # pool uuid -> volumes

    def _vols(self, pool: Pool) -> dict[str, VolumeDef]:
        return self.kept.setdefault(pool.defn.uuid, {})

    def build(self, pool: Pool, flags: int) -> None:
        return None

    def start(self, pool: Pool) -> None:
        return None

    def stop(self, pool: Pool) -> None:
        return None

    def delete(self, pool: Pool, flags: int) -> None:
        return None

    def sizes(self, pool: Pool) -> tuple[int, int, int]:
        used = sum(v.allocation or 0 for v in self._vols(pool).values())
        return TEST_POOL_CAPACITY, used, TEST_POOL_CAPACITY - used

    def scan(self, pool: Pool) -> dict[str, VolumeDef]:
        return dict(sorted(self._vols(pool).items()))

    def create_volume(self, pool: Pool, vol: VolumeDef, source: Optional[VolumeDef]) -> VolumeDef:
        if vol.name in self._vols(pool):
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, "storage vol already exists")
        path = volume_path(pool.defn, vol.name)
        cap = vol.capacity if vol.capacity is not None else (source.capacity if source else 0)
        alloc = vol.allocation if vol.allocation is not None else cap
        made = replace(vol, key=path, path=path, capacity=cap, allocation=alloc, format=vol.format or "raw")
        pool.data[vol.name] = bytearray(pool.data.get(source.name, b"")) if source else bytearray()
        self._vols(pool)[vol.name] = made
        return made

    def stat_volume(self, pool: Pool, vol: VolumeDef) -> VolumeDef:
        self._vols(pool)[vol.name] = vol
        return vol

    def delete_volume(self, pool: Pool, vol: VolumeDef) -> None:
        pool.data.pop(vol.name, None)
        self._vols(pool).pop(vol.name, None)

    def wipe_volume(self, pool: Pool, vol: VolumeDef) -> None:
        pool.data[vol.name] = bytearray()

    def resize_volume(self, pool: Pool, vol: VolumeDef, capacity: int, shrink: bool) -> None:
        data = pool.data.get(vol.name)
        if data is not None and len(data) > capacity:
            del data[capacity:]

    def upload(self, pool: Pool, vol: VolumeDef, offset: int, length: int) -> MemorySink:
        return MemorySink(pool.data.setdefault(vol.name, bytearray()), offset, length, vol.capacity or 0)

    def download(self, pool: Pool, vol: VolumeDef, offset: int, length: int) -> MemorySource:
        return MemorySource(bytes(pool.data.get(vol.name, b"")), vol.capacity or 0, offset, length)


__all__ = ["MemoryBackend", "TEST_POOL_CAPACITY"]
