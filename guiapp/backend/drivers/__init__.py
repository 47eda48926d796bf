"""Hypervisor drivers, one package each, found by URI scheme.

Default URI order (``open(None)``): ``$LIBVIRT_DEFAULT_URI``; else the first
driver in :data:`PROBE_ORDER` whose ``probe()`` finds something to manage on this
host (Xen when a XenStore answers, then QEMU when a ``qemu-system-*`` is
installed); else ``test:///default``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .base import Driver

from ..uri import URI

# scheme -> module holding the driver class named DRIVER
_MODULES: dict[str, str] = {
    "test": "guiapp.backend.drivers.test",
    "qemu": "guiapp.backend.drivers.qemu",
    "kvm": "guiapp.backend.drivers.qemu",
    "xen": "guiapp.backend.drivers.xen",
}

PROBE_ORDER = ("xen", "qemu")

FALLBACK_URI = "test:///default"


def driver_for_scheme(scheme: str) -> Optional[type[Driver]]:
    """The driver class serving ``scheme``, or None when there is none (or it is not installed).

    Registration checks the class against the typed contract (:func:`.contract_check.check_driver`)."""
    modname = _MODULES.get(scheme)
    if modname is None:
        return None
    try:
        module = importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name and modname.startswith(exc.name):
            return None  # that driver is not part of this build
        raise
    cls = getattr(module, "DRIVER", None)
    if cls is not None:
        from .contract_check import check_driver

        check_driver(cls)  # a driver that breaks the contract fails here, not at a user's call
    return cls


def driver_for_uri(uri: URI, read_only: bool) -> Optional[type[Driver]]:
    """The driver class for a parsed URI: the remote driver when a daemon serves it, else by scheme.

    Transports (``qemu+ssh://``, ``test+unix://``, ``+tcp``) always go to a daemon; local ``qemu:///system``
    and ``qemu:///session`` go to a running libvirt daemon when its socket exists (``$GUIAPP_URI_ROUTE`` or
    ``?route=`` = remote | local | auto forces a side).  Decided without side effects.
    """
    from .remote.route import target_for

    if target_for(uri, read_only) is not None:
        from .remote import RemoteDriver
        return RemoteDriver
    return driver_for_scheme(uri.scheme)


def known_schemes() -> list[str]:
    return [s for s in _MODULES if driver_for_scheme(s) is not None]


def probe_default_uri() -> str:
    """The URI ``open(None)`` uses when $LIBVIRT_DEFAULT_URI is not set."""
    for scheme in PROBE_ORDER:
        cls = driver_for_scheme(scheme)
        if cls is None:
            continue
        try:
            uri = cls.probe()
        except Exception:  # a probe must never make open(None) fail
            uri = None
        if uri:
            return uri
    return FALLBACK_URI
