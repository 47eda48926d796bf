"""The Xen front driver (``xen:///``): composes the XenStore and xl sub-drivers, as the seed's Xen driver did.

* state reads of running domains (list, name, UUID, OS type, memory, vCPUs,
  console) come from XenStore (:mod:`.xenstore`), Domain-0 included;
* run state (running/paused...) and CPU time come from ``xl list``; when xl
  cannot run (a read-only user, no hypervisor) domains XenStore lists are
  reported running;
* every change goes through ``xl`` (:mod:`.xl`) with an xl.cfg generated from
  the domain XML (:mod:`.xlcfg`);
* persistent definitions and the live XML of running domains are files
  (:mod:`.store`);
* ``@introduceDomain`` / ``@releaseDomain`` watches become lifecycle events.

The driver is a composition: :mod:`.runtime` (state, definitions, running domains, live XML),
:mod:`.info` (listing, lookups, information, bulk stats), :mod:`.lifecycle` (define, undefine, start,
stop, save, restore), :mod:`.resources` (memory, vCPUs), :mod:`.hardware` (devices, metadata, rename) and
the host's networks (:mod:`.networks`); this module opens it, answers host facts and native configs.

URI: ``xen:///`` with optional query parameters ``xenstored`` (socket path),
``xl`` (binary), ``config_dir``, ``state_dir``, ``timeout`` (XenStore request
timeout, seconds) and ``xl_timeout`` (longest xl run, seconds).  Environment: ``XENSTORED_PATH``, ``GUIAPP_XL``,
``GUIAPP_XEN_CONFIG_DIR``, ``GUIAPP_XEN_STATE_DIR``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ...history import DirStore
from ...uri import URI
from . import capabilities as caps
from . import xlcfg
from .events import EventCallback
from .hardware import XenHardwareOps
from .info import XenInfo
from .lifecycle import XenLifecycle
from .resources import XenResources
from .store import Store, default_config_dir, default_state_dir
from .xl import CHANGE_TIMEOUT, QUERY_TIMEOUT, Xl, find_xl
from .xsclient import DEFAULT_TIMEOUT, gone, ping, read_only_socket, socket_candidates

_QUERY_KEYS = ("xenstored", "xl", "config_dir", "state_dir", "timeout", "xl_timeout")


def _seconds(uri: URI, key: str, default: float) -> float:
    if key not in uri.query:
        return default
    try:
        value = float(uri.query[key])
        if not 0 < value <= 3600:
            raise ValueError
    except ValueError:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"'{uri.text}': {key} must be a number of seconds in (0, 3600]",
                          C.VIR_FROM_XEN) from None
    return value


class XenDriver(XenInfo, XenLifecycle, XenResources, XenHardwareOps):
    """One ``xen:///`` connection."""

    error_domain = C.VIR_FROM_XEN
    schemes = ("xen",)

    # ------------------------------------------------------------ open / probe
    @classmethod
    def probe(cls) -> Optional[str]:
        """``xen:///`` when a XenStore daemon answers quickly on one of the usual sockets (< 100 ms)."""
        for path in socket_candidates():
            if ping(path, 0.03):
                return "xen:///"
        return None

    @classmethod
    def open(cls, uri: URI, read_only: bool) -> XenDriver:
        if not uri.is_local:
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"'{uri.text}': remote Xen hosts are not supported; use xen:/// on the Xen host",
                              C.VIR_FROM_XEN)
        if uri.path not in ("", "/"):
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"'{uri.text}': unexpected path '{uri.path}'; the Xen driver serves xen:/// only",
                              C.VIR_FROM_XEN)
        unknown = sorted(set(uri.query) - set(_QUERY_KEYS))
        if unknown:
            raise DriverError(C.VIR_ERR_INVALID_ARG,
                              f"'{uri.text}': unknown parameter(s) {', '.join(unknown)} "
                              f"(known: {', '.join(_QUERY_KEYS)})", C.VIR_FROM_XEN)
        timeout = _seconds(uri, "timeout", DEFAULT_TIMEOUT)
        xl_timeout = _seconds(uri, "xl_timeout", CHANGE_TIMEOUT)
        explicit = uri.query.get("xenstored")
        candidates = socket_candidates(explicit)
        sock = None
        for path in ([explicit] if explicit else candidates):
            # a read-only user may only be able to reach the daemon's read-only socket
            if ping(read_only_socket(path) if read_only else path, min(timeout, 1.0)):
                sock = path
                break
        if sock is None:
            raise gone(explicit or " or ".join(candidates), "no XenStore daemon answers")
        config_dir = Path(uri.query["config_dir"]) if "config_dir" in uri.query else default_config_dir()
        state_dir = Path(uri.query["state_dir"]) if "state_dir" in uri.query else default_state_dir(config_dir)
        xl = Xl(find_xl(uri.query.get("xl")), query_timeout=min(QUERY_TIMEOUT, xl_timeout), change_timeout=xl_timeout)
        return cls(sock, read_only, xl, Store(config_dir, state_dir), timeout)


    def close(self) -> None:
        self.events.close()
        self.xs.close()

    def get_type(self) -> str:
        return "Xen"

    def history_store(self) -> DirStore:
        """Config history beside the definitions: ``<config dir>/history/`` (guiapp extension)."""
        return DirStore(self.store.config_dir / "history")

    def get_uri(self) -> str:
        return "xen:///"

    def is_alive(self) -> bool:
        return self.xs.is_alive()

    # ------------------------------------------------------------ host
    def _xl_info(self) -> dict[str, str]:
        if self._info is None:
            self._info = self.xl.info()
        return self._info

    def get_version(self) -> int:
        return caps.hypervisor_version(self._xl_info())

    def get_hostname(self) -> str:
        return self._xl_info().get("host") or socket.gethostname()

    def node_get_info(self) -> list:
        return caps.node_info(self._xl_info())

    def get_capabilities(self) -> str:
        return caps.capabilities(self._xl_info()).to_xml()

    def get_max_vcpus(self, type: Optional[str]) -> int:
        if type is not None and type.lower() not in ("xen", "libxl"):
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown domain type '{type}' for the Xen driver (use 'xen')",
                              C.VIR_FROM_XEN)
        return 128  # libxl's limit for HVM guests


    # ------------------------------------------------------------ native configs
    def domain_xml_to_native(self, fmt: str, xml: str, flags: int) -> str:
        """virConnectDomainXMLToNative for libvirt's format 'xen-xl': the xl.cfg xl would be given."""
        if fmt != "xen-xl":
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"unsupported native format '{fmt}'; use 'xen-xl'")
        d = self._parse(xml)
        return xlcfg.domain_to_xl(d, self._bridges(d, running=False))

    def domain_xml_from_native(self, fmt: str, config: str, flags: int) -> str:
        """virConnectDomainXMLFromNative for 'xen-xl': domain XML for an xl.cfg."""
        if fmt != "xen-xl":
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"unsupported native format '{fmt}'; use 'xen-xl'")
        return xlcfg.xl_to_domain_xml(config)


    # ------------------------------------------------------------ events
    def domain_event_register(self, callback: EventCallback) -> int:
        return self.events.register(callback)

    def domain_event_deregister(self, cid: int) -> None:
        self.events.deregister(cid)


__all__ = ["XenDriver"]

