"""The Xen driver (``xen:///``): XenStore (pyxs) for state, the xl toolstack for changes."""

from .driver import XenDriver

DRIVER = XenDriver

__all__ = ["DRIVER", "XenDriver"]
