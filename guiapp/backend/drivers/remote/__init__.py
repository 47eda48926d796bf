"""The remote driver: a libvirt daemon reached over libvirt's RPC protocol (unix socket, ssh, tcp)."""

from .driver import DRIVER, RemoteDriver
from .route import Target, target_for

__all__ = ["DRIVER", "RemoteDriver", "Target", "target_for"]
