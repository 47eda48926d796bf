"""virConnect: the front-end of the seed's libvirt.c for one connection.

Every public call goes through :meth:`virConnect._invoke`, which does, once for
all drivers: reset the thread's last error, check the connection is open,
refuse mutating calls on read-only connections (before looking at the
arguments), find the driver's entry point (or report ``VIR_ERR_NO_SUPPORT``),
and turn driver failures into dispatched :class:`libvirtError` s.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from . import constants as C
from . import errors
from .domain import virDomain
from .drivers.base import DomainRef
from .drivers.contract import OPERATIONS
from .errors import DriverError, ErrorSink, libvirtError
from .handle import check_flags as _check_flags
from .handle import check_str as _check_str
from .history_api import HistoryConnMethods
from .history_api import install as _install_history
from .network import virNetwork
from .storage import virStoragePool, virStorageVol, virStream

_reset = errors.reset_thread_error


def _uuid_bytes(value: Any) -> bytes:
    """Raw 16 bytes from a bytes/bytearray UUID (lookupByUUID takes raw bytes, as libvirt-python)."""
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return bytes(value)
    raise DriverError(C.VIR_ERR_INVALID_ARG, "uuid must be 16 raw bytes; use lookupByUUIDString for text UUIDs")


def uuid_from_string(text: Any) -> bytes:
    """Parse a UUID with or without dashes (as the seed's examples write them)."""
    if not isinstance(text, str):
        raise DriverError(C.VIR_ERR_INVALID_ARG,
                          "uuidstr must be a string such as 6695eb01-f6a4-8304-79aa-97f2502e193f")
    hexdigits = text.strip().replace("-", "")
    if len(hexdigits) != 32:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"malformed UUID '{text}': expected 32 hex digits, dashes optional")
    try:
        return bytes.fromhex(hexdigits)
    except ValueError:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"malformed UUID '{text}': expected 32 hex digits") from None


class virConnect(HistoryConnMethods):
    """A connection to one hypervisor driver on one node."""

    def __init__(self, driver: Any, uri: str, read_only: bool) -> None:
        self._driver = driver
        self._uri = uri
        self._ro = read_only
        self._closed = False
        self._errors = ErrorSink()
        self._close_lock = threading.Lock()
        self._event_ids: dict[int, int] = {}
        self._domain_class = virDomain

    # ----------------------------------------------------------------- plumbing
    def _fail(self, exc: DriverError, default_domain: Optional[int] = None) -> libvirtError:
        if exc.raw is not None:  # a remote daemon's error: code, domain and message unchanged
            return errors.dispatch(exc.raw, self._errors)
        domain = exc.domain if exc.domain is not None else (
            default_domain if default_domain is not None else self._driver.error_domain)
        err = errors.error_tuple(exc.code, domain, exc.detail, str2=exc.str2, str3=exc.str3,
                                 int1=exc.int1, int2=exc.int2)
        return errors.dispatch(err, self._errors)

    def _invoke(self, op: str, mutating: bool, *args: Any) -> Any:
        """Call driver operation ``op`` with the checks every driver shares."""
        _reset()
        api = OPERATIONS.get(op, op)
        if self._closed:
            raise self._fail(DriverError(C.VIR_ERR_INVALID_CONN, api, C.VIR_FROM_DOMAIN))
        if mutating and self._ro:
            raise self._fail(DriverError(C.VIR_ERR_OPERATION_DENIED, f"read only access prevents {api}",
                                         C.VIR_FROM_DOMAIN))
        fn = getattr(self._driver, op, None)
        if fn is None:
            raise self._fail(DriverError(C.VIR_ERR_NO_SUPPORT, f"{api} (driver '{self._driver.get_type()}')"))
        try:
            return fn(*args)
        except DriverError as exc:
            raise self._fail(exc) from None
        except libvirtError:
            raise
        except Exception as exc:  # a driver bug: still only libvirtError leaves the API
            raise self._fail(DriverError(C.VIR_ERR_INTERNAL_ERROR, f"{api}: {type(exc).__name__}: {exc}")) from exc

    def _checked(self, mutating: bool, api: str, check: Callable[[], Any]) -> Any:
        """Run argument checks after the closed/read-only checks, reporting their DriverError."""
        _reset()
        if self._closed:
            raise self._fail(DriverError(C.VIR_ERR_INVALID_CONN, api, C.VIR_FROM_DOMAIN))
        if mutating and self._ro:
            raise self._fail(DriverError(C.VIR_ERR_OPERATION_DENIED, f"read only access prevents {api}",
                                         C.VIR_FROM_DOMAIN))
        try:
            return check()
        except DriverError as exc:
            raise self._fail(exc, C.VIR_FROM_DOMAIN) from None
        except libvirtError:
            raise
        except Exception as exc:  # a bug in a check: still only libvirtError leaves the API
            raise self._fail(DriverError(C.VIR_ERR_INTERNAL_ERROR, f"{api}: {type(exc).__name__}: {exc}"),
                             C.VIR_FROM_DOMAIN) from exc

    def _dom(self, ref: DomainRef) -> virDomain:
        return self._domain_class(self, ref)

    # ---------------------------------------------------------- connection info
    def close(self) -> int:
        """Close the connection; later calls on it (and its domains) fail with VIR_ERR_INVALID_CONN."""
        with self._close_lock:
            if self._closed:
                return 0
            self._closed = True
        try:
            self._driver.close()
        except Exception:  # closing must not fail half-way
            pass
        return 0

    def __enter__(self) -> virConnect:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def getType(self) -> str:
        _reset()
        if self._closed:
            raise self._fail(DriverError(C.VIR_ERR_INVALID_CONN, "virConnectGetType", C.VIR_FROM_DOMAIN))
        return self._driver.get_type()

    def getURI(self) -> str:
        _reset()
        if self._closed:
            raise self._fail(DriverError(C.VIR_ERR_INVALID_CONN, "virConnectGetURI", C.VIR_FROM_DOMAIN))
        return self._driver.get_uri()

    def getVersion(self) -> int:
        return self._invoke("get_version", False)

    def getLibVersion(self) -> int:
        from . import getVersion
        return getVersion()

    def getHostname(self) -> str:
        return self._invoke("get_hostname", False)

    def getInfo(self) -> list:
        """Node info: [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]."""
        return self._invoke("node_get_info", False)

    def getCapabilities(self) -> str:
        return self._invoke("get_capabilities", False)

    def getMaxVcpus(self, type: Optional[str] = None) -> int:
        if type is not None and not isinstance(type, str):
            self._checked(False, "virConnectGetMaxVcpus", lambda: _check_str(type, "type"))
        return self._invoke("get_max_vcpus", False, type)

    def getSecurityModel(self) -> list:
        """[model, doi] of the host's security driver."""
        return self._invoke("node_get_security_model", False)

    def isReadOnly(self) -> int:
        return 1 if self._ro else 0

    def isAlive(self) -> int:
        if self._closed:
            return 0
        fn = getattr(self._driver, "is_alive", None)
        try:
            return 1 if fn is None or fn() else 0
        except Exception:
            return 0

    def isSecure(self) -> int:
        return 1

    def isEncrypted(self) -> int:
        return 0

    # ------------------------------------------------------------- error model
    def registerErrorHandler(self, f: Optional[Callable[[Any, tuple], Any]], ctx: Any = None) -> int:
        """This connection's error callback (the seed's virConnSetErrorFunc); None removes it."""
        self._errors.set_handler(f, ctx)
        return 1

    virConnSetErrorFunc = registerErrorHandler

    def virConnGetLastError(self) -> Optional[tuple]:
        """The last error reported on this connection, or None."""
        return self._errors.last

    def virConnResetLastError(self) -> None:
        self._errors.store(None)  # type: ignore[arg-type]

    # ------------------------------------------------------------ enumeration
    def numOfDomains(self) -> int:
        if hasattr(self._driver, "num_of_domains"):
            return self._invoke("num_of_domains", False)
        return len(self._invoke("list_domain_ids", False))

    def listDomainsID(self) -> list[int]:
        return self._invoke("list_domain_ids", False)

    def numOfDefinedDomains(self) -> int:
        if hasattr(self._driver, "num_of_defined_domains"):
            return self._invoke("num_of_defined_domains", False)
        return len(self._invoke("list_defined_domains", False))

    def listDefinedDomains(self) -> list[str]:
        return self._invoke("list_defined_domains", False)

    def listAllDomains(self, flags: int = 0) -> list[virDomain]:
        self._checked(False, "virConnectListAllDomains", lambda: _check_flags(flags))
        refs = self._invoke("list_all_domains", False, flags)
        cls = self._domain_class
        return [cls(self, ref) for ref in refs]

    # ----------------------------------------------------------------- lookups
    def lookupByName(self, name: str) -> virDomain:
        if not isinstance(name, str):
            self._checked(False, "virDomainLookupByName", lambda: _check_str(name, "name"))
        return self._domain_class(self, self._invoke("lookup_by_name", False, name))

    def lookupByID(self, id: int) -> virDomain:
        if isinstance(id, (str, bytes, float)) or not hasattr(id, "__index__"):
            # libvirt-python converts the argument before any call: a TypeError, not a libvirtError
            raise TypeError(f"'{type(id).__name__}' object cannot be interpreted as an integer")

        def check() -> None:
            if isinstance(id, bool) or not isinstance(id, int) or id < 0:
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"domain id must be a non-negative integer, not {id!r}")
        self._checked(False, "virDomainLookupByID", check)
        return self._domain_class(self, self._invoke("lookup_by_id", False, id))

    def lookupByUUID(self, uuid: bytes) -> virDomain:
        raw = self._checked(False, "virDomainLookupByUUID", lambda: _uuid_bytes(uuid))
        return self._domain_class(self, self._invoke("lookup_by_uuid", False, raw))

    def lookupByUUIDString(self, uuidstr: str) -> virDomain:
        raw = self._checked(False, "virDomainLookupByUUIDString", lambda: uuid_from_string(uuidstr))
        return self._domain_class(self, self._invoke("lookup_by_uuid", False, raw))

    # ---------------------------------------------------------------- creation
    def createXML(self, xmlDesc: str, flags: int = 0) -> virDomain:
        """Create and start a transient domain from XML."""
        def check() -> None:
            _check_str(xmlDesc, "xmlDesc")
            _check_flags(flags)
            if flags & C.VIR_DOMAIN_START_VALIDATE:
                from .xml import schema as xml_schema  # lxml and the schema load when a check asks for them
                xml_schema.validate(xmlDesc)
        self._checked(True, "virDomainCreateXML", check)
        return self._dom(self._invoke("domain_create_xml", True, xmlDesc, flags))

    def createLinux(self, xmlDesc: str, flags: int = 0) -> virDomain:
        """The seed's virDomainCreateLinux: same as createXML."""
        return self.createXML(xmlDesc, flags)

    def defineXML(self, xml: str) -> virDomain:
        return self.defineXMLFlags(xml, 0)

    def defineXMLFlags(self, xml: str, flags: int = 0) -> virDomain:
        def check() -> None:
            _check_str(xml, "xml")
            _check_flags(flags)
            if flags & C.VIR_DOMAIN_DEFINE_VALIDATE:  # libvirt's RelaxNG check, before the driver parses
                from .xml import schema as xml_schema
                xml_schema.validate(xml)
        self._checked(True, "virDomainDefineXML", check)
        return self._dom(self._invoke("domain_define_xml", True, xml, flags))

    def restore(self, frm: str) -> int:
        """Restore a domain saved with virDomain.save()."""
        return self.restoreFlags(frm, None, 0)

    def restoreFlags(self, frm: str, dxml: Optional[str] = None, flags: int = 0) -> int:
        def check() -> None:
            _check_str(frm, "frm")
            if not frm:
                raise DriverError(C.VIR_ERR_INVALID_ARG, "the path of the saved state file is empty")
            if dxml is not None:
                _check_str(dxml, "dxml")
            _check_flags(flags)
        self._checked(True, "virDomainRestore", check)
        self._invoke("domain_restore", True, frm, dxml, flags)
        return 0

    # ------------------------------------------------------- native configs
    def domainXMLToNative(self, nativeFormat: str, domainXml: str, flags: int = 0) -> str:
        """The hypervisor's own config for a domain XML ('qemu-argv' for QEMU, 'xen-xl' for Xen)."""
        def check() -> None:
            _check_str(nativeFormat, "nativeFormat")
            _check_str(domainXml, "domainXml")
            _check_flags(flags)
        # libvirt refuses both conversions on read-only connections: the native config carries secrets
        self._checked(True, "virConnectDomainXMLToNative", check)
        return self._invoke("domain_xml_to_native", True, nativeFormat, domainXml, flags)

    def domainXMLFromNative(self, nativeFormat: str, nativeConfig: str, flags: int = 0) -> str:
        """Domain XML for a hypervisor's own config ('xen-xl' for Xen)."""
        def check() -> None:
            _check_str(nativeFormat, "nativeFormat")
            _check_str(nativeConfig, "nativeConfig")
            _check_flags(flags)
        self._checked(True, "virConnectDomainXMLFromNative", check)
        return self._invoke("domain_xml_from_native", True, nativeFormat, nativeConfig, flags)

    # ------------------------------------------------------------------- stats
    def getAllDomainStats(self, stats: int = 0, flags: int = 0) -> list[tuple[virDomain, dict]]:
        """Bulk statistics of all domains in one call: [(virDomain, {key: value})]."""
        self._checked(False, "virConnectGetAllDomainStats", lambda: (_check_flags(stats), _check_flags(flags)))
        rows = self._invoke("get_all_domain_stats", False, stats, flags, None)
        cls = self._domain_class
        return [(cls(self, ref), values) for ref, values in rows]

    def domainListGetStats(self, doms: list[virDomain], stats: int = 0,
                           flags: int = 0) -> list[tuple[virDomain, dict]]:
        def check() -> list[DomainRef]:
            _check_flags(stats)
            _check_flags(flags)
            for d in doms:
                if not isinstance(d, virDomain) or d._conn is not self:
                    raise DriverError(C.VIR_ERR_INVALID_ARG, "every domain must belong to this connection")
            return [d._ref for d in doms]
        refs = self._checked(False, "virDomainListGetStats", check)
        rows = self._invoke("get_all_domain_stats", False, stats, flags, refs)
        cls = self._domain_class
        return [(cls(self, ref), values) for ref, values in rows]

    # ---------------------------------------------------------- virtual networks
    def numOfNetworks(self) -> int:
        return self._invoke("num_of_networks", False)

    def listNetworks(self) -> list[str]:
        """Names of the active networks."""
        return self._invoke("list_networks", False)

    def numOfDefinedNetworks(self) -> int:
        return self._invoke("num_of_defined_networks", False)

    def listDefinedNetworks(self) -> list[str]:
        """Names of the inactive (defined) networks."""
        return self._invoke("list_defined_networks", False)

    def listAllNetworks(self, flags: int = 0) -> list[virNetwork]:
        """Networks filtered by VIR_CONNECT_LIST_NETWORKS_* flags (0: all)."""
        self._checked(False, "virConnectListAllNetworks", lambda: _check_flags(flags))
        return [virNetwork(self, ref) for ref in self._invoke("list_all_networks", False, flags)]

    def networkLookupByName(self, name: str) -> virNetwork:
        if not isinstance(name, str):
            self._checked(False, "virNetworkLookupByName", lambda: _check_str(name, "name"))
        return virNetwork(self, self._invoke("network_lookup_by_name", False, name))

    def networkLookupByUUID(self, uuid: bytes) -> virNetwork:
        raw = self._checked(False, "virNetworkLookupByUUID", lambda: _uuid_bytes(uuid))
        return virNetwork(self, self._invoke("network_lookup_by_uuid", False, raw))

    def networkLookupByUUIDString(self, uuidstr: str) -> virNetwork:
        raw = self._checked(False, "virNetworkLookupByUUIDString", lambda: uuid_from_string(uuidstr))
        return virNetwork(self, self._invoke("network_lookup_by_uuid", False, raw))

    def networkCreateXML(self, xmlDesc: str, flags: int = 0) -> virNetwork:
        """Create and start a transient network from XML."""
        def check() -> None:
            _check_str(xmlDesc, "xmlDesc")
            _check_flags(flags)
        self._checked(True, "virNetworkCreateXML", check)
        return virNetwork(self, self._invoke("network_create_xml", True, xmlDesc, flags))

    def networkDefineXML(self, xml: str) -> virNetwork:
        """Define (but do not start) a persistent network from XML."""
        return self.networkDefineXMLFlags(xml, 0)

    def networkDefineXMLFlags(self, xml: str, flags: int = 0) -> virNetwork:
        def check() -> None:
            _check_str(xml, "xml")
            _check_flags(flags)
        self._checked(True, "virNetworkDefineXML", check)
        return virNetwork(self, self._invoke("network_define_xml", True, xml, flags))

    # ------------------------------------------------------- storage pools and volumes
    def listAllStoragePools(self, flags: int = 0) -> list[virStoragePool]:
        """Pools filtered by VIR_CONNECT_LIST_STORAGE_POOLS_* flags (0: all)."""
        self._checked(False, "virConnectListAllStoragePools", lambda: _check_flags(flags))
        return [virStoragePool(self, ref) for ref in self._invoke("list_all_storage_pools", False, flags)]

    def listStoragePools(self) -> list[str]:
        return [p.name() for p in self.listAllStoragePools(C.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)]

    def listDefinedStoragePools(self) -> list[str]:
        return [p.name() for p in self.listAllStoragePools(C.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE)]

    def storagePoolLookupByName(self, name: str) -> virStoragePool:
        self._checked(False, "virStoragePoolLookupByName", lambda: _check_str(name, "name"))
        return virStoragePool(self, self._invoke("storage_pool_lookup_by_name", False, name))

    def storagePoolLookupByUUID(self, uuid: bytes) -> virStoragePool:
        raw = self._checked(False, "virStoragePoolLookupByUUID", lambda: _uuid_bytes(uuid))
        return virStoragePool(self, self._invoke("storage_pool_lookup_by_uuid", False, raw))

    def storagePoolLookupByUUIDString(self, uuidstr: str) -> virStoragePool:
        raw = self._checked(False, "virStoragePoolLookupByUUIDString", lambda: uuid_from_string(uuidstr))
        return virStoragePool(self, self._invoke("storage_pool_lookup_by_uuid", False, raw))

    def storagePoolDefineXML(self, xml: str, flags: int = 0) -> virStoragePool:
        """Define (but do not start) a persistent pool from ``<pool>`` XML."""
        self._checked(True, "virStoragePoolDefineXML", lambda: (_check_str(xml, "xml"), _check_flags(flags)))
        return virStoragePool(self, self._invoke("storage_pool_define_xml", True, xml, flags))

    def storagePoolCreateXML(self, xmlDesc: str, flags: int = 0) -> virStoragePool:
        """Create and start a transient pool from ``<pool>`` XML."""
        self._checked(True, "virStoragePoolCreateXML", lambda: (_check_str(xmlDesc, "xmlDesc"),
                                                                _check_flags(flags)))
        return virStoragePool(self, self._invoke("storage_pool_create_xml", True, xmlDesc, flags))

    def storageVolLookupByPath(self, path: str) -> virStorageVol:
        self._checked(False, "virStorageVolLookupByPath", lambda: _check_str(path, "path"))
        return virStorageVol(self, self._invoke("storage_vol_lookup_by_path", False, path))

    def storageVolLookupByKey(self, key: str) -> virStorageVol:
        self._checked(False, "virStorageVolLookupByKey", lambda: _check_str(key, "key"))
        return virStorageVol(self, self._invoke("storage_vol_lookup_by_key", False, key))

    def findStoragePoolSources(self, type: str, srcSpec: Optional[str] = None,
                               flags: int = 0) -> str:
        """``<sources>`` XML of the pools of ``type`` found on the host (e.g. LVM volume groups for 'logical')."""
        def check() -> None:
            _check_str(type, "type")
            if srcSpec is not None:
                _check_str(srcSpec, "srcSpec")
            _check_flags(flags)
        self._checked(True, "virConnectFindStoragePoolSources", check)  # read-only refused, as in libvirt
        return self._invoke("find_storage_pool_sources", True, type, srcSpec, flags)

    def newStream(self, flags: int = 0) -> virStream:
        """A stream for virStorageVol.upload/download."""
        self._checked(False, "virStreamNew", lambda: _check_flags(flags))
        return virStream(self, flags)

    # ------------------------------------------------------------------ events
    def domainEventRegisterAny(self, dom: Optional[virDomain], eventID: int,
                               cb: Callable[..., Any], opaque: Any = None) -> int:
        """Lifecycle events: ``cb(conn, dom, event, detail, opaque)`` as libvirt-python calls it."""
        def check() -> None:
            if eventID != C.VIR_DOMAIN_EVENT_ID_LIFECYCLE:
                raise DriverError(C.VIR_ERR_ARGUMENT_UNSUPPORTED,
                                  f"only VIR_DOMAIN_EVENT_ID_LIFECYCLE events are supported, not {eventID!r}")
            if not callable(cb):
                raise DriverError(C.VIR_ERR_INVALID_ARG, "the event callback must be callable")
        self._checked(False, "virConnectDomainEventRegisterAny", check)
        want = dom._ref.uuid if dom is not None else None

        def relay(ref: DomainRef, event: int, detail: int) -> None:
            if want is None or ref.uuid == want:
                cb(self, self._dom(ref), event, detail, opaque)
        return self._invoke("domain_event_register", False, relay)

    def domainEventDeregisterAny(self, callbackID: int) -> int:
        self._invoke("domain_event_deregister", False, callbackID)
        return 0


# Config history (guiapp extension): the one hook recording every persistent change, by method name.
_install_history(virConnect, virDomain)
