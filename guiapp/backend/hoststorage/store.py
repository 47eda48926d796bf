"""Where a host's pool definitions live: ``<config>/storage/NAME.xml`` (written atomically),
``<config>/storage/autostart/NAME`` markers and ``<runtime>/storage/NAME.active`` run markers."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Optional

from ..errors import DriverError
from ..xml.storage import PoolDef, parse_pool

log = logging.getLogger("guiapp.storage")


def atomic_write(path: Path, data: str, mode: int = 0o600) -> None:
    """The one atomic writer of the QEMU driver (imported lazily: hoststorage must not need that driver)."""
    from ..drivers.qemu.state import atomic_write as write
    write(path, data, mode)


class PoolStore:
    """See the module docstring; every method re-reads the disk, so several processes agree."""

    def __init__(self, config_dir: Path, runtime_dir: Path) -> None:
        self.config = Path(config_dir) / "storage"
        self.runtime = Path(runtime_dir) / "storage"
        self.errors: dict[str, str] = {}

    def _dirs(self) -> None:
        for d in (self.config, self.config / "autostart", self.runtime):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)

    def load(self) -> dict[str, PoolDef]:
        out: dict[str, PoolDef] = {}
        if not self.config.is_dir():
            return out
        for path in sorted(self.config.glob("*.xml")):
            try:
                defn = parse_pool(path.read_text(), new_uuid=False)
            except (OSError, DriverError) as exc:
                self.errors[path.name] = str(exc)
                log.warning("skipping unreadable pool definition %s: %s", path, exc)
                continue
            if defn.name + ".xml" != path.name:
                log.warning("skipping %s: it defines pool '%s'", path, defn.name)
                continue
            out[defn.name] = defn
        return out

    def save(self, defn: PoolDef) -> None:
        self._dirs()
        atomic_write(self.config / f"{defn.name}.xml", defn.with_sizes(0, 0, 0).format())

    def remove(self, name: str) -> None:
        for p in (self.config / f"{name}.xml", self.config / "autostart" / name):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def autostart(self, name: str) -> bool:
        return (self.config / "autostart" / name).exists()

    def set_autostart(self, name: str, value: bool) -> None:
        marker = self.config / "autostart" / name
        if value:
            self._dirs()
            atomic_write(marker, "")
        else:
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()

    def active(self, name: str) -> bool:
        return (self.runtime / f"{name}.active").exists()

    def set_active(self, name: str, value: bool, xml: Optional[str] = None) -> None:
        marker = self.runtime / f"{name}.active"
        if value:
            self._dirs()
            atomic_write(marker, xml or "")
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(marker)

    def transient(self) -> dict[str, PoolDef]:
        """Active pools without a definition file (made by storagePoolCreateXML)."""
        out: dict[str, PoolDef] = {}
        if not self.runtime.is_dir():
            return out
        for path in self.runtime.glob("*.active"):
            name = path.name[:-len(".active")]
            if (self.config / f"{name}.xml").exists():
                continue
            with contextlib.suppress(OSError, DriverError):
                text = path.read_text()
                if text:
                    out[name] = parse_pool(text, new_uuid=False)
        return out


__all__ = ["PoolStore"]
