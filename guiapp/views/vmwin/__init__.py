"""The VM window: console, details and snapshots of one domain, with a power toolbar."""

from .window import VmWindow, open_vm_window

__all__ = ["VmWindow", "open_vm_window"]
