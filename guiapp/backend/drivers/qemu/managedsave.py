"""Managed save on QEMU (virDomainManagedSave & co.): ``domain_save`` to a file the driver owns.

The image lives in the connection's persistent config directory as ``save/<uuid hex>.save`` (the
UUID, never the domain name, reaches the path); the next ``create`` restores it and removes it,
``VIR_DOMAIN_START_FORCE_BOOT`` discards it, undefine refuses while it exists unless
``VIR_DOMAIN_UNDEFINE_MANAGED_SAVE`` — as libvirt's QEMU driver does.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ... import constants as C
from ...errors import DriverError
from .. import common
from ..base import DomainRef

if TYPE_CHECKING:
    from .state import Dirs

E = C.VIR_FROM_QEMU
SAVE_FLAGS = C.VIR_DOMAIN_SAVE_BYPASS_CACHE | C.VIR_DOMAIN_SAVE_RUNNING | C.VIR_DOMAIN_SAVE_PAUSED


def managed_save_path(dirs: Dirs, uuid: bytes) -> Path:
    """Where the managed save image of the domain with ``uuid`` is kept (UUID hex: no name in the path)."""
    return dirs.config / "save" / f"{uuid.hex()}.save"


class ManagedSaveMixin:
    """The three managed-save operations; the driver provides ``dirs``, ``lock``, ``_find``, ``domain_save``."""

    dirs: Dirs
    lock: Any  # the connection's FileLock (reentrant)

    if TYPE_CHECKING:
        def _find(self, ref: DomainRef) -> Any: ...
        def domain_save(self, ref: DomainRef, path: str, dxml: Optional[str], flags: int) -> None: ...

    def _managed_image(self, uuid: bytes) -> Optional[Path]:
        """The image's path when one exists."""
        path = managed_save_path(self.dirs, uuid)
        return path if path.is_file() else None

    def domain_managed_save(self, ref: DomainRef, flags: int) -> None:
        common.check_flags(flags, SAVE_FLAGS, "virDomainManagedSave", E)
        with self.lock():
            dom = self._find(ref)
            if not dom.active:
                raise common.not_running(dom.name, E)
            if dom.config is None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                  f"cannot do managed save for transient domain '{dom.name}'", E)
            path = managed_save_path(self.dirs, dom.uuid)
            try:
                path.parent.mkdir(mode=0o700, exist_ok=True)
            except OSError as exc:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"cannot create the managed save directory {path.parent}: {exc.strerror}",
                                  E) from None
            self.domain_save(ref, str(path), None, flags & ~C.VIR_DOMAIN_SAVE_BYPASS_CACHE)

    def domain_has_managed_save_image(self, ref: DomainRef, flags: int) -> bool:
        common.check_flags(flags, 0, "virDomainHasManagedSaveImage", E)
        return self._managed_image(self._find(ref).uuid) is not None

    def domain_managed_save_remove(self, ref: DomainRef, flags: int) -> None:
        common.check_flags(flags, 0, "virDomainManagedSaveRemove", E)
        with self.lock():
            dom = self._find(ref)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(managed_save_path(self.dirs, dom.uuid))
