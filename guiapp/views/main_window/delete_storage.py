"""The disks a domain deletion may remove: found and deleted through the storage API (runs on the job pool).

Each disk of a domain being deleted is looked up as a volume (``storageVolLookupByPath``); one that a pool
holds is deleted as that volume (``virStorageVolDelete``, so remote connections and logical volumes work),
one no pool contains falls back to removing the file, and only on a local connection.  Disks another
domain (not being deleted) also uses are reported so the dialog leaves them unticked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from ...backend import constants as C
from ...backend.errors import libvirtError
from .actions import disk_files

#: errors of storageVolLookupByPath meaning "no pool holds this path" (or no storage API at all)
_NOT_A_VOLUME = (C.VIR_ERR_NO_STORAGE_VOL, C.VIR_ERR_NO_SUPPORT, C.VIR_ERR_INVALID_ARG)


@dataclass
class DiskChoice:
    """One disk of a domain being deleted."""

    domain: str
    path: str
    volume: Optional[tuple[str, str]] = None  # (pool, volume) when a pool holds the path
    others: list[str] = field(default_factory=list)  # other domains whose disks use the same path

    def label(self) -> str:
        where = f"volume {self.volume[1]} in pool {self.volume[0]}" if self.volume else "file, in no pool"
        text = f"{self.path}   ({self.domain}; {where})"
        if self.others:
            text += "   — also used by " + ", ".join(f"'{n}'" for n in self.others)
        return text


def _volume_of(conn: Any, path: str) -> Optional[tuple[str, str]]:
    lookup = getattr(conn, "storageVolLookupByPath", None)
    if lookup is None:
        return None
    try:
        vol = lookup(path)
        return (vol.storagePoolLookupByVolume().name(), vol.name())
    except libvirtError as exc:
        if exc.get_error_code() in _NOT_A_VOLUME:
            return None
        raise


def plan_disks(conn: Any, doomed: Iterable[tuple[bytes, str]]) -> dict[str, list[DiskChoice]]:
    """domain name -> its disks, for the domains ``doomed`` ((uuid, name) pairs) of one connection."""
    doomed = list(doomed)
    from ..storage.rows import disk_users  # the storage window's package: loaded when a deletion needs it

    names = {n for _u, n in doomed}
    users = disk_users(conn)
    out: dict[str, list[DiskChoice]] = {}
    for uuid, name in doomed:
        try:
            paths = disk_files(conn.lookupByUUID(uuid).XMLDesc(0))
        except libvirtError:
            out[name] = []  # gone meanwhile: nothing to offer
            continue
        out[name] = [DiskChoice(name, p, _volume_of(conn, p),
                                sorted({u for u, _running in users.get(p, []) if u not in names}))
                     for p in dict.fromkeys(paths)]
    return out


def delete_disks(conn: Any, chosen: Iterable[DiskChoice], local: bool) -> list[str]:
    """Delete the chosen disks (volumes through the storage API); returns one line per failure."""
    errors: list[str] = []
    for d in chosen:
        try:
            if d.volume is not None:
                conn.storagePoolLookupByName(d.volume[0]).storageVolLookupByName(d.volume[1]).delete(0)
            elif local:
                os.remove(d.path)
            else:
                errors.append(f"{d.path}: no storage pool holds it, and files are removed only on local "
                              f"connections")
        except FileNotFoundError:
            continue
        except libvirtError as exc:
            if exc.get_error_code() != C.VIR_ERR_NO_STORAGE_VOL:  # already gone: fine
                errors.append(f"{d.path}: {exc.get_error_message()}")
        except OSError as exc:
            errors.append(f"{d.path}: {exc.strerror or exc}")
    return errors
