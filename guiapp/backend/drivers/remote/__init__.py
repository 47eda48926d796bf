"""The remote driver: a libvirt daemon reached over libvirt's RPC protocol (unix socket, ssh, tcp).

The driver (and the RPC code under it) is imported on first use of ``RemoteDriver``/``DRIVER``: deciding
the route of a local URI (:mod:`.route`) must not load the wire protocol (command-line start-up time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .route import Target, target_for

if TYPE_CHECKING:
    from .driver import DRIVER, RemoteDriver


def __getattr__(name: str) -> Any:
    if name in ("DRIVER", "RemoteDriver"):
        from . import driver
        return getattr(driver, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DRIVER", "RemoteDriver", "Target", "target_for"]
