"""guiapp's driver layer, with libvirt-python's names.

``import guiapp.backend as libvirt`` and a libvirt-python script runs unchanged::

    conn = libvirt.openReadOnly(None)
    dom0 = conn.lookupByName("Domain-0")
    print("Domain 0: id %d running %s" % (dom0.ID(), dom0.OSType()))
"""

from __future__ import annotations

import os
from typing import Optional

from .connection import virConnect
from .constants import *  # noqa: F403 - the VIR_* constants are part of the API
from .constants import VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_NO_CONNECT, VIR_FROM_NONE
from .domain import virDomain
from .drivers import driver_for_uri, known_schemes, probe_default_uri
from .drivers.contract_check import ContractError, check_driver
from .errors import (
    DriverError,
    libvirtError,
    registerErrorHandler,
    virGetLastError,
    virGetLastErrorCode,
    virGetLastErrorDomain,
    virGetLastErrorMessage,
    virResetLastError,
)
from .errors import dispatch as _dispatch
from .errors import report as _report
from .errors import reset_thread_error as _reset
from .history_api import GUIAPP_CONFIG_VERSIONS_XML
from .network import virNetwork
from .snapshot import virDomainSnapshot
from .storage import virStoragePool, virStorageVol, virStream
from .uri import parse_uri, shown

__all__ = [
    "open", "openReadOnly", "openAuth", "registerErrorHandler", "virGetLastError", "virGetLastErrorCode",
    "virGetLastErrorDomain", "virGetLastErrorMessage", "virResetLastError",
    "libvirtError", "virConnect", "virDomain", "virNetwork", "virStoragePool", "virStorageVol", "virStream",
    "virDomainSnapshot", "GUIAPP_CONFIG_VERSIONS_XML",
    "getVersion", "default_uri",
]

#: guiapp's own version as libvirt encodes versions (major * 1_000_000 + minor * 1000 + release).
VERSION = 1_000


def getVersion(name: Optional[str] = None) -> int:
    return VERSION


def default_uri() -> str:
    """The URI ``open(None)`` connects to: $LIBVIRT_DEFAULT_URI, else a probed driver, else test:///default."""
    env = os.environ.get("LIBVIRT_DEFAULT_URI", "").strip()
    return env or probe_default_uri()


def _open(name: Optional[str], read_only: bool) -> virConnect:
    _reset()
    if name is not None and not isinstance(name, str):
        raise _report(VIR_ERR_INVALID_ARG, f"the connection URI must be a string or None, not {type(name).__name__}")
    text = default_uri() if name is None or name == "" else name
    try:
        uri = parse_uri(text)
        cls = driver_for_uri(uri, read_only)
        if cls is None:
            raise DriverError(VIR_ERR_NO_CONNECT,
                              f"'{text}': no driver for '{uri.scheme}' (available: {', '.join(known_schemes())})")
        check_driver(cls)
        driver = cls.open(uri, read_only)
        check_driver(type(driver))  # open() may pick a subclass (qemu:///system); each class is checked once
    except DriverError as exc:
        if exc.raw is not None:
            raise _dispatch(exc.raw) from None
        raise _report(exc.code, exc.detail, exc.domain if exc.domain is not None else VIR_FROM_NONE) from None
    except ContractError as exc:  # a broken driver is a bug, still reported as a libvirtError
        raise _report(VIR_ERR_INTERNAL_ERROR, str(exc), VIR_FROM_NONE) from exc
    except libvirtError:
        raise
    except Exception as exc:  # a driver bug: still only libvirtError leaves the API
        raise _report(VIR_ERR_INTERNAL_ERROR, f"opening '{shown(text)}': {type(exc).__name__}: {exc}",
                      VIR_FROM_NONE) from exc
    return virConnect(driver, text, read_only)


def open(name: Optional[str] = None) -> virConnect:
    """Open a read-write connection to ``name`` (None: the default URI)."""
    return _open(name, False)


def openReadOnly(name: Optional[str] = None) -> virConnect:
    """Open a read-only connection: every mutating call fails with VIR_ERR_OPERATION_DENIED."""
    return _open(name, True)


def openAuth(uri: Optional[str], auth: object = None, flags: int = 0) -> virConnect:
    """libvirt-python's openAuth; local drivers need no credentials (VIR_CONNECT_RO honoured)."""
    from .constants import VIR_CONNECT_RO
    if isinstance(flags, bool) or not isinstance(flags, int):
        _reset()
        raise _report(VIR_ERR_INVALID_ARG, f"openAuth flags must be an integer, not {type(flags).__name__}")
    return _open(uri, bool(flags & VIR_CONNECT_RO))
