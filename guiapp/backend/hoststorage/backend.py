"""The interface a pool type implements (``dir``, ``logical``, the test driver's memory pools)."""

from __future__ import annotations

from typing import Optional, Protocol

from ..xml.storage import VolumeDef
from .refs import Pool


class Sink(Protocol):
    """Where an upload's bytes go."""

    def write(self, data: bytes) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


class Source(Protocol):
    """Where a download's bytes come from (``read`` returns b'' at the end)."""

    def read(self, n: int) -> bytes: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


class Backend(Protocol):
    """Host side of one pool type; every method raises DriverError (VIR_FROM_STORAGE) on failure."""

    def build(self, pool: Pool, flags: int) -> None: ...

    def start(self, pool: Pool) -> None: ...

    def stop(self, pool: Pool) -> None: ...

    def delete(self, pool: Pool, flags: int) -> None: ...

    def sizes(self, pool: Pool) -> tuple[int, int, int]:
        """(capacity, allocation, available) in bytes."""

    def scan(self, pool: Pool) -> dict[str, VolumeDef]: ...

    def create_volume(self, pool: Pool, vol: VolumeDef, source: Optional[VolumeDef]) -> VolumeDef: ...

    def stat_volume(self, pool: Pool, vol: VolumeDef) -> VolumeDef:
        """The volume as it is now (after a resize, wipe or upload)."""

    def delete_volume(self, pool: Pool, vol: VolumeDef) -> None: ...

    def wipe_volume(self, pool: Pool, vol: VolumeDef) -> None: ...

    def resize_volume(self, pool: Pool, vol: VolumeDef, capacity: int, shrink: bool) -> None: ...

    def upload(self, pool: Pool, vol: VolumeDef, offset: int, length: int) -> Sink: ...

    def download(self, pool: Pool, vol: VolumeDef, offset: int, length: int) -> Source: ...


__all__ = ["Backend", "Sink", "Source"]
