"""REMOTE procedures served by guiappd, each answered through guiapp's public API.

A handler takes the client's :class:`Session` and the decoded call arguments and
returns the reply value (``None`` for void).  Handlers call only ``virConnect`` /
``virDomain`` / ``virNetwork`` methods, so the front-end's checks (read-only,
arguments, error codes) apply exactly once; a ``libvirtError`` becomes the error
reply unchanged.  Procedures without a handler are answered with VIR_ERR_NO_SUPPORT.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Protocol

from ..backend import constants as C
from ..backend.connection import virConnect
from ..backend.domain import virDomain
from ..backend.errors import DriverError
from ..backend.network import virNetwork
from .stats import StatsCache, encode_stats

#: virDrvFeature numbers (libvirt's src/libvirt_internal.h) this daemon answers "supported" to
FEATURE_PROGRAM_KEEPALIVE = 10
FEATURE_REMOTE_EVENT_CALLBACK = 14
SUPPORTED_FEATURES = frozenset({FEATURE_PROGRAM_KEEPALIVE, FEATURE_REMOTE_EVENT_CALLBACK})
REMOTE_AUTH_NONE = 0
#: procedures a client may call before CONNECT_OPEN (as libvirtd)
NO_CONNECTION_NEEDED = frozenset({"CONNECT_OPEN", "CONNECT_CLOSE", "AUTH_LIST", "CONNECT_SUPPORTS_FEATURE",
                                  "CONNECT_GET_LIB_VERSION"})


class Session(Protocol):
    """What a handler needs from the client connection (see :class:`guiapp.daemon.server.Client`)."""

    conn: Optional[virConnect]
    conn_key: str  # the shared connection's URI
    read_only: bool
    stats_cache: StatsCache

    def open_connection(self, name: str, flags: int) -> None: ...
    def close_connection(self) -> None: ...
    def register_lifecycle(self, dom: Optional[virDomain], legacy: bool) -> int: ...
    def deregister_lifecycle(self, callback_id: int) -> None: ...


Handler = Callable[[Session, Any], Any]
HANDLERS: dict[str, Handler] = {}


def _h(*names: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for n in names:
            HANDLERS[n] = fn
        return fn
    return deco


def _conn(s: Session) -> virConnect:
    assert s.conn is not None  # the server refuses calls before CONNECT_OPEN
    return s.conn


def dom_wire(d: virDomain) -> dict[str, Any]:
    """A ``remote_nonnull_domain`` for a virDomain."""
    return {"name": d.name(), "uuid": d.UUID(), "id": d.ID()}


def net_wire(n: virNetwork) -> dict[str, Any]:
    return {"name": n.name(), "uuid": n.UUID()}


def _dom(s: Session, wire: dict[str, Any]) -> virDomain:
    return _conn(s).lookupByUUID(wire["uuid"])


def _net(s: Session, wire: dict[str, Any]) -> virNetwork:
    return _conn(s).networkLookupByUUID(wire["uuid"])


class Encoded(NamedTuple):
    """A reply whose XDR payload a handler has already written (sent as is)."""

    data: bytes


# ---------------------------------------------------------------- connection
@_h("CONNECT_OPEN")
def _open(s: Session, a: Any) -> None:
    s.open_connection(a["name"] or "", a["flags"])


@_h("CONNECT_CLOSE")
def _close(s: Session, a: Any) -> None:
    s.close_connection()


@_h("AUTH_LIST")
def _auth_list(s: Session, a: Any) -> Any:
    return {"types": [REMOTE_AUTH_NONE]}


@_h("CONNECT_SUPPORTS_FEATURE")
def _feature(s: Session, a: Any) -> Any:
    return {"supported": 1 if a["feature"] in SUPPORTED_FEATURES else 0}


@_h("CONNECT_GET_LIB_VERSION")
def _lib_version(s: Session, a: Any) -> Any:
    from ..backend import getVersion

    return {"lib_ver": getVersion()}


@_h("CONNECT_GET_TYPE")
def _type(s: Session, a: Any) -> Any:
    return {"type": _conn(s).getType()}


@_h("CONNECT_GET_VERSION")
def _version(s: Session, a: Any) -> Any:
    return {"hv_ver": _conn(s).getVersion()}


@_h("CONNECT_GET_HOSTNAME")
def _hostname(s: Session, a: Any) -> Any:
    return {"hostname": _conn(s).getHostname()}


@_h("CONNECT_GET_URI")
def _uri(s: Session, a: Any) -> Any:
    return {"uri": _conn(s).getURI()}


@_h("CONNECT_IS_SECURE")
def _secure(s: Session, a: Any) -> Any:
    return {"secure": 1}  # a local unix socket


@_h("CONNECT_GET_CAPABILITIES")
def _caps(s: Session, a: Any) -> Any:
    return {"capabilities": _conn(s).getCapabilities()}


@_h("CONNECT_GET_MAX_VCPUS")
def _max_vcpus(s: Session, a: Any) -> Any:
    return {"max_vcpus": _conn(s).getMaxVcpus(a["type"])}


@_h("NODE_GET_INFO")
def _node_info(s: Session, a: Any) -> Any:
    model, mem_mib, cpus, mhz, nodes, sockets, cores, threads = _conn(s).getInfo()
    raw = model.encode()[:31]
    chars = [b - 256 if b > 127 else b for b in raw] + [0] * (32 - len(raw))  # char[32] as XDR ints
    return {"model": chars, "memory": mem_mib * 1024, "cpus": cpus, "mhz": mhz, "nodes": nodes,
            "sockets": sockets, "cores": cores, "threads": threads}


# ------------------------------------------------------------------- domains
@_h("CONNECT_LIST_DOMAINS")
def _list_ids(s: Session, a: Any) -> Any:
    return {"ids": _conn(s).listDomainsID()[:max(0, a["maxids"])]}


@_h("CONNECT_NUM_OF_DOMAINS")
def _num_doms(s: Session, a: Any) -> Any:
    return {"num": _conn(s).numOfDomains()}


@_h("CONNECT_LIST_DEFINED_DOMAINS")
def _list_defined(s: Session, a: Any) -> Any:
    return {"names": _conn(s).listDefinedDomains()[:max(0, a["maxnames"])]}


@_h("CONNECT_NUM_OF_DEFINED_DOMAINS")
def _num_defined(s: Session, a: Any) -> Any:
    return {"num": _conn(s).numOfDefinedDomains()}


@_h("CONNECT_LIST_ALL_DOMAINS")
def _list_all(s: Session, a: Any) -> Any:
    doms = _conn(s).listAllDomains(a["flags"])
    return {"domains": [dom_wire(d) for d in doms] if a["need_results"] else [], "ret": len(doms)}


@_h("DOMAIN_LOOKUP_BY_NAME")
def _by_name(s: Session, a: Any) -> Any:
    return {"dom": dom_wire(_conn(s).lookupByName(a["name"]))}


@_h("DOMAIN_LOOKUP_BY_ID")
def _by_id(s: Session, a: Any) -> Any:
    return {"dom": dom_wire(_conn(s).lookupByID(a["id"]))}


@_h("DOMAIN_LOOKUP_BY_UUID")
def _by_uuid(s: Session, a: Any) -> Any:
    return {"dom": dom_wire(_conn(s).lookupByUUID(a["uuid"]))}


@_h("DOMAIN_CREATE_XML")
def _create_xml(s: Session, a: Any) -> Any:
    return {"dom": dom_wire(_conn(s).createXML(a["xml_desc"], a["flags"]))}


@_h("DOMAIN_DEFINE_XML")
def _define(s: Session, a: Any) -> Any:
    return {"dom": dom_wire(_conn(s).defineXML(a["xml"]))}


@_h("DOMAIN_DEFINE_XML_FLAGS")
def _define_flags(s: Session, a: Any) -> Any:
    return {"dom": dom_wire(_conn(s).defineXMLFlags(a["xml"], a["flags"]))}


@_h("DOMAIN_UNDEFINE")
def _undefine(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).undefine()


@_h("DOMAIN_UNDEFINE_FLAGS")
def _undefine_flags(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).undefineFlags(a["flags"])


@_h("DOMAIN_CREATE")
def _create(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).create()


@_h("DOMAIN_CREATE_WITH_FLAGS")
def _create_flags(s: Session, a: Any) -> Any:
    d = _dom(s, a["dom"])
    d.createWithFlags(a["flags"])
    return {"dom": dom_wire(_conn(s).lookupByUUID(d.UUID()))}  # with its new id


def _simple(name: str, method: str, with_flags: bool = False) -> None:
    def fn(s: Session, a: Any) -> None:
        d = _dom(s, a["dom"])
        getattr(d, method)(a["flags"]) if with_flags else getattr(d, method)()
    HANDLERS[name] = fn


for _name, _method, _flags in (("DOMAIN_SHUTDOWN", "shutdown", False), ("DOMAIN_SHUTDOWN_FLAGS", "shutdownFlags", True),
                               ("DOMAIN_DESTROY", "destroy", False), ("DOMAIN_DESTROY_FLAGS", "destroyFlags", True),
                               ("DOMAIN_SUSPEND", "suspend", False), ("DOMAIN_RESUME", "resume", False),
                               ("DOMAIN_REBOOT", "reboot", True), ("DOMAIN_RESET", "reset", True)):
    _simple(_name, _method, _flags)


@_h("DOMAIN_GET_INFO")
def _info(s: Session, a: Any) -> Any:
    state, max_mem, mem, nvcpu, cpu_time = _dom(s, a["dom"]).info()
    return {"state": state, "maxMem": max_mem, "memory": mem, "nrVirtCpu": nvcpu, "cpuTime": cpu_time}


@_h("DOMAIN_GET_STATE")
def _state(s: Session, a: Any) -> Any:
    state, reason = _dom(s, a["dom"]).state(a["flags"])
    return {"state": state, "reason": reason}


@_h("DOMAIN_GET_OS_TYPE")
def _os_type(s: Session, a: Any) -> Any:
    return {"type": _dom(s, a["dom"]).OSType()}


@_h("DOMAIN_GET_XML_DESC")
def _xml(s: Session, a: Any) -> Any:
    return {"xml": _dom(s, a["dom"]).XMLDesc(a["flags"])}


@_h("DOMAIN_GET_MAX_MEMORY")
def _max_mem(s: Session, a: Any) -> Any:
    return {"memory": _dom(s, a["dom"]).maxMemory()}


@_h("DOMAIN_GET_MAX_VCPUS")
def _dom_max_vcpus(s: Session, a: Any) -> Any:
    return {"num": _dom(s, a["dom"]).maxVcpus()}


@_h("DOMAIN_IS_ACTIVE")
def _is_active(s: Session, a: Any) -> Any:
    return {"active": _dom(s, a["dom"]).isActive()}


@_h("DOMAIN_IS_PERSISTENT")
def _is_persistent(s: Session, a: Any) -> Any:
    return {"persistent": _dom(s, a["dom"]).isPersistent()}


@_h("DOMAIN_IS_UPDATED")
def _is_updated(s: Session, a: Any) -> Any:
    _dom(s, a["dom"])
    return {"updated": 0}  # guiapp applies live changes to the live definition only


@_h("DOMAIN_HAS_MANAGED_SAVE_IMAGE")
def _managed_save(s: Session, a: Any) -> Any:
    _dom(s, a["dom"])
    return {"result": 0}  # guiapp has no managed save


@_h("DOMAIN_GET_AUTOSTART")
def _get_autostart(s: Session, a: Any) -> Any:
    return {"autostart": _dom(s, a["dom"]).autostart()}


@_h("DOMAIN_SET_AUTOSTART")
def _set_autostart(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).setAutostart(a["autostart"])


@_h("DOMAIN_SET_MEMORY_FLAGS")
def _set_memory(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).setMemoryFlags(a["memory"], a["flags"])


@_h("DOMAIN_SET_VCPUS_FLAGS")
def _set_vcpus(s: Session, a: Any) -> None:
    _dom(s, a["dom"]).setVcpusFlags(a["nvcpus"], a["flags"])


@_h("CONNECT_GET_ALL_DOMAIN_STATS")
def _all_stats(s: Session, a: Any) -> Any:
    conn = _conn(s)
    wanted = tuple(w["uuid"] for w in a["doms"])

    def collect() -> bytes:
        if wanted:
            rows = conn.domainListGetStats([conn.lookupByUUID(u) for u in wanted], a["stats"], a["flags"])
        else:
            rows = conn.getAllDomainStats(a["stats"], a["flags"])
        return encode_stats([(d.name(), d.UUID(), d.ID(), values) for d, values in rows])
    return Encoded(s.stats_cache.get((s.conn_key, a["stats"], a["flags"], wanted), collect))


@_h("CONNECT_DOMAIN_XML_TO_NATIVE")
def _to_native(s: Session, a: Any) -> Any:
    return {"nativeConfig": _conn(s).domainXMLToNative(a["nativeFormat"], a["domainXml"], a["flags"])}


# -------------------------------------------------------------------- events
@_h("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY")
def _cb_register(s: Session, a: Any) -> Any:
    if a["eventID"] != C.VIR_DOMAIN_EVENT_ID_LIFECYCLE:
        raise DriverError(C.VIR_ERR_ARGUMENT_UNSUPPORTED,
                          f"guiappd sends only lifecycle domain events, not event id {a['eventID']}", C.VIR_FROM_REMOTE)
    dom = _dom(s, a["dom"]) if a["dom"] is not None else None
    return {"callbackID": s.register_lifecycle(dom, legacy=False)}


@_h("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY")
def _cb_deregister(s: Session, a: Any) -> None:
    s.deregister_lifecycle(a["callbackID"])


@_h("CONNECT_DOMAIN_EVENT_REGISTER_ANY")
def _legacy_register(s: Session, a: Any) -> None:
    if a["eventID"] != C.VIR_DOMAIN_EVENT_ID_LIFECYCLE:
        raise DriverError(C.VIR_ERR_ARGUMENT_UNSUPPORTED,
                          f"guiappd sends only lifecycle domain events, not event id {a['eventID']}", C.VIR_FROM_REMOTE)
    s.register_lifecycle(None, legacy=True)


@_h("CONNECT_DOMAIN_EVENT_DEREGISTER_ANY")
def _legacy_deregister(s: Session, a: Any) -> None:
    s.deregister_lifecycle(-1)


# ------------------------------------------------------------------ networks
@_h("CONNECT_LIST_NETWORKS")
def _list_nets(s: Session, a: Any) -> Any:
    return {"names": _conn(s).listNetworks()[:max(0, a["maxnames"])]}


@_h("CONNECT_NUM_OF_NETWORKS")
def _num_nets(s: Session, a: Any) -> Any:
    return {"num": _conn(s).numOfNetworks()}


@_h("CONNECT_LIST_DEFINED_NETWORKS")
def _list_defined_nets(s: Session, a: Any) -> Any:
    return {"names": _conn(s).listDefinedNetworks()[:max(0, a["maxnames"])]}


@_h("CONNECT_NUM_OF_DEFINED_NETWORKS")
def _num_defined_nets(s: Session, a: Any) -> Any:
    return {"num": _conn(s).numOfDefinedNetworks()}


@_h("CONNECT_LIST_ALL_NETWORKS")
def _list_all_nets(s: Session, a: Any) -> Any:
    nets = _conn(s).listAllNetworks(a["flags"])
    return {"nets": [net_wire(n) for n in nets] if a["need_results"] else [], "ret": len(nets)}


@_h("NETWORK_LOOKUP_BY_NAME")
def _net_by_name(s: Session, a: Any) -> Any:
    return {"net": net_wire(_conn(s).networkLookupByName(a["name"]))}


@_h("NETWORK_LOOKUP_BY_UUID")
def _net_by_uuid(s: Session, a: Any) -> Any:
    return {"net": net_wire(_conn(s).networkLookupByUUID(a["uuid"]))}


@_h("NETWORK_DEFINE_XML")
def _net_define(s: Session, a: Any) -> Any:
    return {"net": net_wire(_conn(s).networkDefineXML(a["xml"]))}


@_h("NETWORK_CREATE_XML")
def _net_create_xml(s: Session, a: Any) -> Any:
    return {"net": net_wire(_conn(s).networkCreateXML(a["xml"]))}


for _name, _method in (("NETWORK_CREATE", "create"), ("NETWORK_DESTROY", "destroy"),
                       ("NETWORK_UNDEFINE", "undefine")):
    def _net_action(s: Session, a: Any, _m: str = _method) -> None:
        getattr(_net(s, a["net"]), _m)()
    HANDLERS[_name] = _net_action


@_h("NETWORK_GET_XML_DESC")
def _net_xml(s: Session, a: Any) -> Any:
    return {"xml": _net(s, a["net"]).XMLDesc(a["flags"])}


@_h("NETWORK_GET_BRIDGE_NAME")
def _net_bridge(s: Session, a: Any) -> Any:
    return {"name": _net(s, a["net"]).bridgeName()}


@_h("NETWORK_GET_AUTOSTART")
def _net_get_autostart(s: Session, a: Any) -> Any:
    return {"autostart": _net(s, a["net"]).autostart()}


@_h("NETWORK_SET_AUTOSTART")
def _net_set_autostart(s: Session, a: Any) -> None:
    _net(s, a["net"]).setAutostart(a["autostart"])


@_h("NETWORK_IS_ACTIVE")
def _net_active(s: Session, a: Any) -> Any:
    return {"active": _net(s, a["net"]).isActive()}


@_h("NETWORK_IS_PERSISTENT")
def _net_persistent(s: Session, a: Any) -> Any:
    return {"persistent": _net(s, a["net"]).isPersistent()}


from . import dispatch_storage  # noqa: E402,F401 - registers the storage procedures

__all__ = ["HANDLERS", "Encoded", "Session", "dom_wire", "net_wire", "NO_CONNECTION_NEEDED"]

from . import dispatch_hardware  # noqa: E402,F401 - registers the hardware-editing procedures
