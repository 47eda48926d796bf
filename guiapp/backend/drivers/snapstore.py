"""Snapshot metadata kept beside a domain's config: one ``<name>.xml`` per snapshot plus ``current``.

Every file is written atomically (:func:`guiapp.backend.filestore.store_document` reads the text back
with the same parser first), so a killed writer leaves the old metadata; a file that does not load is
logged and skipped, never deleted.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Optional

from ..errors import DriverError
from ..filestore import atomic_write, check_file_name, clean_temp_files, store_document
from ..xml.snapshot import SnapshotDef, check_name, parse_snapshot
from .snaptree import SnapshotTree

log = logging.getLogger(__name__)
CURRENT = "current"


class SnapshotStore:
    """The snapshot directory of one domain (``<config dir>/snapshot/<uuid hex>/``)."""

    def __init__(self, directory: Path, hypervisor: str, error_domain: Optional[int]) -> None:
        self.dir = directory
        self.hypervisor = hypervisor
        self.error_domain = error_domain

    def _path(self, name: str) -> Path:
        check_name(name)
        check_file_name(name, ".xml", "snapshot", self.error_domain)
        return self.dir / f"{name}.xml"

    def load(self) -> SnapshotTree:
        tree = SnapshotTree()
        try:
            entries = sorted((e for e in os.scandir(self.dir) if e.name.endswith(".xml") and e.is_file()),
                             key=lambda e: e.stat().st_mtime_ns)
        except OSError:
            return tree
        for e in entries:
            try:
                with open(e.path, "rb") as fh:
                    s = parse_snapshot(fh.read(), redefine=True, hypervisor=self.hypervisor)
            except (OSError, DriverError) as exc:
                log.warning("skipping unreadable snapshot metadata %s: %s", e.path, exc)
                continue
            if f"{s.name}.xml" != e.name:
                log.warning("skipping snapshot metadata %s: it names snapshot '%s'", e.path, s.name)
                continue
            tree.snaps[s.name] = s
        tree.snaps = dict(sorted(tree.snaps.items(), key=lambda kv: kv[1].creation_time))
        with contextlib.suppress(OSError, UnicodeDecodeError):
            cur = (self.dir / CURRENT).read_text().strip()
            if cur in tree.snaps:
                tree.current = cur
        return tree

    def save(self, s: SnapshotDef) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        clean_temp_files(self.dir)
        text = s.to_xml(secure=True)

        def read_back(raw: bytes) -> None:
            back = parse_snapshot(raw, redefine=True, hypervisor=self.hypervisor)
            if back.name != s.name:
                raise DriverError(1, f"it reads back as snapshot '{back.name}'")
        store_document(self._path(s.name), text, read_back, f"snapshot '{s.name}'", self.error_domain)

    def set_current(self, name: Optional[str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.dir / CURRENT, (name or "") + "\n", error_domain=self.error_domain)

    def save_tree(self, tree: SnapshotTree, changed: list[SnapshotDef]) -> None:
        """Write ``changed`` snapshots and the current pointer."""
        for s in changed:
            self.save(s)
        self.set_current(tree.current)

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(name))

    def remove_all(self) -> None:
        """Drop the whole directory (undefine with SNAPSHOTS_METADATA)."""
        with contextlib.suppress(OSError):
            for e in os.scandir(self.dir):
                with contextlib.suppress(OSError):
                    os.unlink(e.path)
            os.rmdir(self.dir)


__all__ = ["SnapshotStore"]
