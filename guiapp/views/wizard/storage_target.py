"""Where the wizard's new disk goes: which pool holds a path, the preselected pool, the default pool's XML (no Qt)."""

from __future__ import annotations

import os
from typing import Optional
from urllib.parse import urlsplit

from ..storage.rows import PoolRow, pool_xml

#: names of the pool the wizard preselects, in order (libvirt's "default", the test driver's "default-pool")
DEFAULT_POOL_NAMES = ("default", "default-pool")
#: where a remote libvirt keeps its default pool (virt-manager and virt-install use the same)
REMOTE_DEFAULT_TARGET = "/var/lib/libvirt/images"
#: pool types whose volumes are named ``<target path>/<volume name>``
PATH_POOLS = ("dir", "fs", "netfs", "logical")


def preselected(pools: list[PoolRow]) -> Optional[PoolRow]:
    """The pool a new disk goes to unless the user picks another: the default pool, else the first active one."""
    by_name = {p.name: p for p in pools if p.type in PATH_POOLS}
    for name in DEFAULT_POOL_NAMES:
        if name in by_name:
            return by_name[name]
    return next((p for p in pools if p.active and p.type in PATH_POOLS), None)


def pool_for_path(pools: list[PoolRow], path: str) -> Optional[PoolRow]:
    """The pool whose target directory holds ``path`` directly (its volumes are files/LVs there), or None."""
    parent = os.path.dirname(os.path.normpath(path)) if path else ""
    for p in pools:
        if p.type in PATH_POOLS and p.target and os.path.normpath(p.target) == parent:
            return p
    return None


def volume_path(pool: PoolRow, name: str) -> str:
    return os.path.join(pool.target, name)


def volume_name_problem(name: str) -> Optional[str]:
    """Why ``name`` cannot be a volume name (the backend checks again), or None."""
    if not name:
        return "Give the new volume a name"
    if "/" in name or name in (".", "..") or any(ord(c) < 32 for c in name):
        return f"Volume name '{name}' must be a plain file name: no '/', not '.' or '..'"
    if len(name.encode()) > 255:
        return "Volume names are at most 255 bytes"
    return None


def default_pool_target(uri: str, local_dir: str) -> str:
    """Where a newly defined default pool keeps its volumes: ``local_dir`` locally, libvirt's folder remotely."""
    try:
        remote = bool(urlsplit(uri).hostname)
    except ValueError:
        remote = True
    return REMOTE_DEFAULT_TARGET if remote else local_dir


def default_pool_xml(uri: str, local_dir: str) -> str:
    """The ``default`` dir pool the wizard offers to define when a connection has no pool at all."""
    return pool_xml("default", "dir", default_pool_target(uri, local_dir))


__all__ = ["preselected", "pool_for_path", "volume_path", "volume_name_problem", "default_pool_xml",
           "DEFAULT_POOL_NAMES"]
