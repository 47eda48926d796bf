"""The ``remote`` driver: guiapp's Driver protocol over libvirt's RPC protocol to a libvirt daemon.

Each operation is one REMOTE procedure call; the daemon's errors are reported
with its code, domain and message unchanged.  Lifecycle events use the
callback-based registration (``CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY``):
one registration on the daemon feeds every local callback.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, ClassVar, Iterable, Optional

from ... import constants as C
from ...errors import DriverError
from ...rpc.client import CallTimeout, Client, ConnectionClosed, RemoteError, RPCError
from ...rpc.protocol import Procedure, procedure
from ...rpc.transport import CommandTransport, SocketTransport, Transport, TransportError
from ...rpc.values import decode_domain_stats
from ...rpc.xdr import XDRError
from ...uri import URI
from ..base import DomainRef, NetworkRef
from . import route
from .hardware import RemoteHardwareOps
from .route import Target
from .snapshots import RemoteSnapshotOps
from .storage import RemoteStorageMixin
from .streams import open_stream

REMOTE_AUTH_NONE, REMOTE_AUTH_SASL, REMOTE_AUTH_POLKIT = 0, 1, 2
FEATURE_PROGRAM_KEEPALIVE = 10
LIST_MAX = 16384
STATS_PROC = procedure("CONNECT_GET_ALL_DOMAIN_STATS")
SSH_LOGIN_TIMEOUT = 300.0  # seconds for ssh to log in (the user may be typing a password)
LIFECYCLE_CALLBACK_EVENT = "REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE"
_AUTH_NAMES = {REMOTE_AUTH_SASL: "SASL", REMOTE_AUTH_POLKIT: "polkit"}


def _dom(ref: DomainRef) -> dict[str, Any]:
    return {"name": ref.name, "uuid": ref.uuid, "id": ref.id}


def _ref(d: dict[str, Any]) -> DomainRef:
    return DomainRef(d["name"], d["uuid"], d["id"])


def _net(ref: NetworkRef) -> dict[str, Any]:
    return {"name": ref.name, "uuid": ref.uuid}


def _netref(d: dict[str, Any]) -> NetworkRef:
    return NetworkRef(d["name"], d["uuid"])


def _cstring(chars: Iterable[int]) -> str:
    """A C char array sent as XDR ints (NUL-terminated) as a str."""
    return bytes(c & 0xFF for c in chars).split(b"\0", 1)[0].decode("utf-8", "replace")


def open_transport(t: Target) -> Transport:
    if t.transport == "unix":
        return SocketTransport.unix(t.socket)
    if t.transport == "tcp":
        assert t.port is not None
        return SocketTransport.tcp(t.host, t.port)
    return CommandTransport(route.ssh_argv(t))


class RemoteDriver(RemoteSnapshotOps, RemoteHardwareOps, RemoteStorageMixin):
    """A connection to a libvirt daemon (local socket, ssh or tcp)."""

    error_domain: ClassVar[int] = C.VIR_FROM_REMOTE
    schemes: ClassVar[tuple[str, ...]] = ()  # chosen by transport / the local-daemon rule, not by scheme

    def __init__(self, uri: URI, target: Target, client: Client) -> None:
        self._uri = uri
        self.target = target
        self._client = client
        self._type = ""
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[DomainRef, int, int], Any]] = {}
        self._next_cb = 1
        self._remote_cb: Optional[int] = None

    # ------------------------------------------------------------ connection
    @classmethod
    def probe(cls) -> Optional[str]:
        """Never the default by itself: the local-daemon rule routes qemu:/// URIs here (route.target_for)."""
        return None

    @classmethod
    def open(cls, uri: URI, read_only: bool) -> RemoteDriver:
        target = route.target_for(uri, read_only)
        if target is None:
            raise DriverError(C.VIR_ERR_NO_CONNECT, f"'{uri.text}' is served by guiapp itself, not a daemon")
        return cls.open_target(uri, target)

    @classmethod
    def open_target(cls, uri: URI, target: Target) -> RemoteDriver:
        try:
            transport = open_transport(target)
        except TransportError as exc:
            raise DriverError(C.VIR_ERR_SYSTEM_ERROR, exc.strerror or str(exc), C.VIR_FROM_RPC) from None
        self = cls(uri, target, Client(transport))
        self._client.on_event = self._on_event
        try:
            self._authenticate()
            if self._call("CONNECT_SUPPORTS_FEATURE", {"feature": FEATURE_PROGRAM_KEEPALIVE, "flags": 0})["supported"]:
                self._client.keepalive_enabled = True
            self._call("CONNECT_OPEN", {"name": target.name, "flags": C.VIR_CONNECT_RO if target.read_only else 0})
            self._type = self._call("CONNECT_GET_TYPE")["type"]
        except BaseException:
            self._client.close()
            raise
        return self

    def _authenticate(self) -> None:
        # the first call waits for ssh too: a password or passphrase dialog may be open (askpass)
        types = self._call("AUTH_LIST", timeout=SSH_LOGIN_TIMEOUT if self.target.transport == "ssh" else None)["types"]
        if not types or REMOTE_AUTH_NONE in types:
            return
        if REMOTE_AUTH_POLKIT in types:
            self._call("AUTH_POLKIT")
            return
        asked = ", ".join(_AUTH_NAMES.get(t, str(t)) for t in types)
        raise DriverError(C.VIR_ERR_AUTH_FAILED,
                          f"the daemon at {self._client.transport.describe()} requires {asked} authentication, "
                          f"which guiapp does not support: allow auth 'none' (or polkit for local root) on that "
                          f"socket, or connect over ssh", C.VIR_FROM_REMOTE)

    def _call(self, proc: str | Procedure, args: Any = None, timeout: Optional[float] = None,
              raw: bool = False) -> Any:
        """One call; ``raw``: return the reply's undecoded payload."""
        if not self._client.is_alive():  # libvirt: "client socket is closed"
            raise DriverError(C.VIR_ERR_INVALID_CONN, f"client socket is closed: {self._client.closed_reason}",
                              C.VIR_FROM_RPC)
        try:
            if raw:
                return self._client.call_raw(proc, args, timeout)
            return self._client.call(proc, args, timeout)
        except RemoteError as exc:
            e = exc.error
            raise DriverError.from_record((e["code"], e["domain"], e["message"], e["level"], e["str1"], e["str2"],
                                           e["str3"], e["int1"], e["int2"])) from None
        except ConnectionClosed as exc:  # lost while this call was in flight
            raise DriverError(C.VIR_ERR_SYSTEM_ERROR, f"the connection to the daemon was lost: {exc}",
                              C.VIR_FROM_RPC) from None
        except CallTimeout as exc:
            raise DriverError(C.VIR_ERR_OPERATION_TIMEOUT, str(exc), C.VIR_FROM_RPC) from None
        except RPCError as exc:
            raise DriverError(C.VIR_ERR_RPC, str(exc), C.VIR_FROM_RPC) from None

    def close(self) -> None:
        if self._client.is_alive():
            try:
                self._client.call("CONNECT_CLOSE", timeout=5)
            except RPCError:
                pass
        self._client.close()

    def get_type(self) -> str:
        return self._type

    def get_uri(self) -> str:
        return self._uri.text

    def is_alive(self) -> bool:
        return self._client.is_alive()

    def get_version(self) -> int:
        return int(self._call("CONNECT_GET_VERSION")["hv_ver"])

    def get_hostname(self) -> str:
        return self._call("CONNECT_GET_HOSTNAME")["hostname"]

    def node_get_info(self) -> list:
        r = self._call("NODE_GET_INFO")
        return [_cstring(r["model"]), r["memory"] // 1024, r["cpus"], r["mhz"], r["nodes"], r["sockets"],
                r["cores"], r["threads"]]

    def get_capabilities(self) -> str:
        return self._call("CONNECT_GET_CAPABILITIES")["capabilities"]

    def get_max_vcpus(self, type: Optional[str] = None) -> int:
        return self._call("CONNECT_GET_MAX_VCPUS", {"type": type})["max_vcpus"]

    # ------------------------------------------------------------- listing
    def list_domain_ids(self) -> list[int]:
        return list(self._call("CONNECT_LIST_DOMAINS", {"maxids": LIST_MAX})["ids"])

    def num_of_domains(self) -> int:
        return self._call("CONNECT_NUM_OF_DOMAINS")["num"]

    def list_defined_domains(self) -> list[str]:
        return self._call("CONNECT_LIST_DEFINED_DOMAINS", {"maxnames": LIST_MAX})["names"]

    def num_of_defined_domains(self) -> int:
        return self._call("CONNECT_NUM_OF_DEFINED_DOMAINS")["num"]

    def list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        r = self._call("CONNECT_LIST_ALL_DOMAINS", {"need_results": 1, "flags": flags})
        return [DomainRef(d["name"], d["uuid"], d["id"]) for d in r["domains"]]

    def lookup_by_name(self, name: str) -> DomainRef:
        return _ref(self._call("DOMAIN_LOOKUP_BY_NAME", {"name": name})["dom"])

    def lookup_by_id(self, id: int) -> DomainRef:
        return _ref(self._call("DOMAIN_LOOKUP_BY_ID", {"id": id})["dom"])

    def lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        return _ref(self._call("DOMAIN_LOOKUP_BY_UUID", {"uuid": uuid})["dom"])

    def domain_create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        return _ref(self._call("DOMAIN_CREATE_XML", {"xml_desc": xml, "flags": flags})["dom"])

    def domain_define_xml(self, xml: str, flags: int = 0) -> DomainRef:
        return _ref(self._call("DOMAIN_DEFINE_XML_FLAGS", {"xml": xml, "flags": flags})["dom"])

    def domain_restore(self, path: str, dxml: Optional[str] = None, flags: int = 0) -> None:
        if dxml is None and not flags:
            self._call("DOMAIN_RESTORE", {"from": path})
        else:
            self._call("DOMAIN_RESTORE_FLAGS", {"from": path, "dxml": dxml, "flags": flags})

    def domain_xml_to_native(self, fmt: str, xml: str, flags: int = 0) -> str:
        r = self._call("CONNECT_DOMAIN_XML_TO_NATIVE", {"nativeFormat": fmt, "domainXml": xml, "flags": flags})
        return r["nativeConfig"]

    def domain_xml_from_native(self, fmt: str, config: str, flags: int = 0) -> str:
        r = self._call("CONNECT_DOMAIN_XML_FROM_NATIVE", {"nativeFormat": fmt, "nativeConfig": config,
                                                           "flags": flags})
        return r["domainXml"]

    def get_all_domain_stats(self, stats: int = 0, flags: int = 0,
                             refs: Optional[Iterable[DomainRef]] = None) -> list[tuple[DomainRef, dict]]:
        doms = [_dom(r) for r in refs] if refs is not None else []
        if refs is not None and not doms:
            return []
        payload = self._call(STATS_PROC, {"doms": doms, "stats": stats, "flags": flags}, raw=True)
        try:
            rows = decode_domain_stats(payload)
        except XDRError as exc:
            reason = f"malformed reply to {STATS_PROC.name}: {exc}"
            self._client.close()
            raise DriverError(C.VIR_ERR_RPC, reason, C.VIR_FROM_RPC) from None
        return [(DomainRef(*dom), values) for dom, values in rows]

    # -------------------------------------------------------------- a domain
    def domain_get_info(self, ref: DomainRef) -> list:
        r = self._call("DOMAIN_GET_INFO", {"dom": _dom(ref)})
        return [r["state"], r["maxMem"], r["memory"], r["nrVirtCpu"], r["cpuTime"]]

    def domain_get_state(self, ref: DomainRef, flags: int = 0) -> list:
        r = self._call("DOMAIN_GET_STATE", {"dom": _dom(ref), "flags": flags})
        return [r["state"], r["reason"]]

    def domain_get_os_type(self, ref: DomainRef) -> str:
        return self._call("DOMAIN_GET_OS_TYPE", {"dom": _dom(ref)})["type"]

    def domain_get_xml_desc(self, ref: DomainRef, flags: int = 0) -> str:
        return self._call("DOMAIN_GET_XML_DESC", {"dom": _dom(ref), "flags": flags})["xml"]

    def domain_create(self, ref: DomainRef, flags: int = 0) -> DomainRef:
        return _ref(self._call("DOMAIN_CREATE_WITH_FLAGS", {"dom": _dom(ref), "flags": flags})["dom"])

    def domain_shutdown(self, ref: DomainRef, flags: int = 0) -> None:
        if flags:
            self._call("DOMAIN_SHUTDOWN_FLAGS", {"dom": _dom(ref), "flags": flags})
        else:
            self._call("DOMAIN_SHUTDOWN", {"dom": _dom(ref)})

    def domain_destroy(self, ref: DomainRef, flags: int = 0) -> None:
        if flags:
            self._call("DOMAIN_DESTROY_FLAGS", {"dom": _dom(ref), "flags": flags})
        else:
            self._call("DOMAIN_DESTROY", {"dom": _dom(ref)})

    def domain_open_console(self, ref: DomainRef, dev_name: Optional[str], flags: int) -> Any:
        """libvirt's stream procedure DOMAIN_OPEN_CONSOLE (the stream: rpc/stream.py, both ways)."""
        return open_stream(self._client, "DOMAIN_OPEN_CONSOLE", {"dom": _dom(ref), "dev_name": dev_name,
                                                                  "flags": flags}, "both")

    def domain_suspend(self, ref: DomainRef) -> None:
        self._call("DOMAIN_SUSPEND", {"dom": _dom(ref)})

    def domain_resume(self, ref: DomainRef) -> None:
        self._call("DOMAIN_RESUME", {"dom": _dom(ref)})

    def domain_reboot(self, ref: DomainRef, flags: int = 0) -> None:
        self._call("DOMAIN_REBOOT", {"dom": _dom(ref), "flags": flags})

    def domain_reset(self, ref: DomainRef, flags: int = 0) -> None:
        self._call("DOMAIN_RESET", {"dom": _dom(ref), "flags": flags})

    def domain_save(self, ref: DomainRef, path: str, dxml: Optional[str] = None, flags: int = 0) -> None:
        if dxml is None and not flags:
            self._call("DOMAIN_SAVE", {"dom": _dom(ref), "to": path})
        else:
            self._call("DOMAIN_SAVE_FLAGS", {"dom": _dom(ref), "to": path, "dxml": dxml, "flags": flags})

    def domain_undefine(self, ref: DomainRef, flags: int = 0) -> None:
        if flags:
            self._call("DOMAIN_UNDEFINE_FLAGS", {"dom": _dom(ref), "flags": flags})
        else:
            self._call("DOMAIN_UNDEFINE", {"dom": _dom(ref)})

    def domain_set_memory(self, ref: DomainRef, memory: int, flags: int = 0) -> None:
        self._call("DOMAIN_SET_MEMORY_FLAGS", {"dom": _dom(ref), "memory": memory, "flags": flags})

    def domain_set_max_memory(self, ref: DomainRef, memory: int) -> None:
        self._call("DOMAIN_SET_MAX_MEMORY", {"dom": _dom(ref), "memory": memory})

    def domain_get_max_memory(self, ref: DomainRef) -> int:
        return self._call("DOMAIN_GET_MAX_MEMORY", {"dom": _dom(ref)})["memory"]

    def domain_set_vcpus(self, ref: DomainRef, nvcpus: int, flags: int = 0) -> None:
        self._call("DOMAIN_SET_VCPUS_FLAGS", {"dom": _dom(ref), "nvcpus": nvcpus, "flags": flags})

    def domain_get_max_vcpus(self, ref: DomainRef) -> int:
        return self._call("DOMAIN_GET_MAX_VCPUS", {"dom": _dom(ref)})["num"]

    def domain_is_active(self, ref: DomainRef) -> bool:
        return bool(self._call("DOMAIN_IS_ACTIVE", {"dom": _dom(ref)})["active"])

    def domain_is_persistent(self, ref: DomainRef) -> bool:
        return bool(self._call("DOMAIN_IS_PERSISTENT", {"dom": _dom(ref)})["persistent"])

    def domain_get_autostart(self, ref: DomainRef) -> bool:
        return bool(self._call("DOMAIN_GET_AUTOSTART", {"dom": _dom(ref)})["autostart"])

    def domain_set_autostart(self, ref: DomainRef, autostart: bool) -> None:
        self._call("DOMAIN_SET_AUTOSTART", {"dom": _dom(ref), "autostart": 1 if autostart else 0})

    def domain_has_managed_save_image(self, ref: DomainRef, flags: int = 0) -> bool:
        return bool(self._call("DOMAIN_HAS_MANAGED_SAVE_IMAGE", {"dom": _dom(ref), "flags": flags})["result"])

    def domain_get_security_label(self, ref: DomainRef) -> list:
        r = self._call("DOMAIN_GET_SECURITY_LABEL", {"dom": _dom(ref)})
        return [_cstring(r["label"]), bool(r["enforcing"])]

    def node_get_security_model(self) -> list:
        r = self._call("NODE_GET_SECURITY_MODEL")
        return [_cstring(r["model"]), _cstring(r["doi"])]

    # ---------------------------------------------------------------- events
    def domain_event_register(self, callback: Callable[[DomainRef, int, int], Any]) -> int:
        with self._lock:
            if self._remote_cb is None:
                r = self._call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
                               {"eventID": C.VIR_DOMAIN_EVENT_ID_LIFECYCLE, "dom": None})
                self._remote_cb = r["callbackID"]
            cb_id = self._next_cb
            self._next_cb += 1
            self._callbacks[cb_id] = callback
            return cb_id

    def domain_event_deregister(self, callback_id: int) -> None:
        with self._lock:
            if self._callbacks.pop(callback_id, None) is None:
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"no domain event callback with id {callback_id}",
                                  C.VIR_FROM_REMOTE)
            if self._callbacks or self._remote_cb is None:
                return
            remote, self._remote_cb = self._remote_cb, None
        if self._client.is_alive():
            self._call("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", {"callbackID": remote})

    def _on_event(self, proc: Procedure, msg: Any) -> None:
        if proc.name != LIFECYCLE_CALLBACK_EVENT or msg["callbackID"] != self._remote_cb:
            return
        ev = msg["msg"]
        ref = _ref(ev["dom"])
        with self._lock:
            callbacks = list(self._callbacks.values())
        for cb in callbacks:
            cb(ref, ev["event"], ev["detail"])

    # -------------------------------------------------------------- networks
    def list_networks(self) -> list[str]:
        return self._call("CONNECT_LIST_NETWORKS", {"maxnames": LIST_MAX})["names"]

    def num_of_networks(self) -> int:
        return self._call("CONNECT_NUM_OF_NETWORKS")["num"]

    def list_defined_networks(self) -> list[str]:
        return self._call("CONNECT_LIST_DEFINED_NETWORKS", {"maxnames": LIST_MAX})["names"]

    def num_of_defined_networks(self) -> int:
        return self._call("CONNECT_NUM_OF_DEFINED_NETWORKS")["num"]

    def list_all_networks(self, flags: int = 0) -> list[NetworkRef]:
        r = self._call("CONNECT_LIST_ALL_NETWORKS", {"need_results": 1, "flags": flags})
        return [_netref(n) for n in r["nets"]]

    def network_lookup_by_name(self, name: str) -> NetworkRef:
        return _netref(self._call("NETWORK_LOOKUP_BY_NAME", {"name": name})["net"])

    def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef:
        return _netref(self._call("NETWORK_LOOKUP_BY_UUID", {"uuid": uuid})["net"])

    def network_create_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        if flags:
            return _netref(self._call("NETWORK_CREATE_XML_FLAGS", {"xml": xml, "flags": flags})["net"])
        return _netref(self._call("NETWORK_CREATE_XML", {"xml": xml})["net"])

    def network_define_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        if flags:
            return _netref(self._call("NETWORK_DEFINE_XML_FLAGS", {"xml": xml, "flags": flags})["net"])
        return _netref(self._call("NETWORK_DEFINE_XML", {"xml": xml})["net"])

    def network_create(self, ref: NetworkRef) -> None:
        self._call("NETWORK_CREATE", {"net": _net(ref)})

    def network_destroy(self, ref: NetworkRef) -> None:
        self._call("NETWORK_DESTROY", {"net": _net(ref)})

    def network_undefine(self, ref: NetworkRef) -> None:
        self._call("NETWORK_UNDEFINE", {"net": _net(ref)})

    def network_get_xml_desc(self, ref: NetworkRef, flags: int = 0) -> str:
        return self._call("NETWORK_GET_XML_DESC", {"net": _net(ref), "flags": flags})["xml"]

    def network_get_bridge_name(self, ref: NetworkRef) -> str:
        return self._call("NETWORK_GET_BRIDGE_NAME", {"net": _net(ref)})["name"]

    def network_get_autostart(self, ref: NetworkRef) -> bool:
        return bool(self._call("NETWORK_GET_AUTOSTART", {"net": _net(ref)})["autostart"])

    def network_set_autostart(self, ref: NetworkRef, autostart: bool) -> None:
        self._call("NETWORK_SET_AUTOSTART", {"net": _net(ref), "autostart": 1 if autostart else 0})

    def network_is_active(self, ref: NetworkRef) -> bool:
        return bool(self._call("NETWORK_IS_ACTIVE", {"net": _net(ref)})["active"])

    def network_is_persistent(self, ref: NetworkRef) -> bool:
        return bool(self._call("NETWORK_IS_PERSISTENT", {"net": _net(ref)})["persistent"])

    def network_get_dhcp_leases(self, ref: NetworkRef, mac: Optional[str] = None, flags: int = 0) -> list[dict]:
        r = self._call("NETWORK_GET_DHCP_LEASES", {"net": _net(ref), "mac": mac, "need_results": 1, "flags": flags})
        return [dict(lease) for lease in r["leases"]]


DRIVER = RemoteDriver
