"""The driver model of the seed: one protocol, each driver implements a subset.

A driver is a class with a ``open(uri, read_only)`` class method returning an
instance bound to one connection.  Every other operation below is optional:
the API front-end looks the method up by name and, when a driver does not
have it, reports ``VIR_ERR_NO_SUPPORT`` naming the public function (the seed's
NULL entry points).  Drivers never check read-only access, closed connections
or argument types; the front-end does that once for all of them.

Drivers raise :class:`guiapp.backend.errors.DriverError` for every failure.
Domains are identified to drivers by :class:`DomainRef` (name, 16-byte UUID, id).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple, Optional, Protocol, runtime_checkable

from ..uri import URI


class DomainRef(NamedTuple):
    """What a lookup returns: enough for the front-end to build a virDomain."""

    name: str
    uuid: bytes  # 16 raw bytes
    id: int  # -1 when the domain is not running


class NetworkRef(NamedTuple):
    """What a network lookup returns: enough for the front-end to build a virNetwork."""

    name: str
    uuid: bytes  # 16 raw bytes


@runtime_checkable
class Driver(Protocol):
    """Mandatory part of every driver."""

    #: libvirt's error domain for this driver's errors (VIR_FROM_TEST, VIR_FROM_QEMU, ...).
    error_domain: ClassVar[int]
    #: URI schemes this driver serves ("test", "qemu", "xen").
    schemes: ClassVar[tuple[str, ...]]

    @classmethod
    def open(cls, uri: URI, read_only: bool) -> Driver:
        """Connect; raise DriverError(VIR_ERR_NO_CONNECT/OPEN_FAILED, ...) when it cannot serve ``uri``."""

    @classmethod
    def probe(cls) -> Optional[str]:
        """The URI this driver would serve by default on this host, or None (for uri=None)."""

    def close(self) -> None: ...

    def get_type(self) -> str: ...

    def get_uri(self) -> str: ...


# Optional operations: driver method name -> the public C name used in messages.
# A driver implements any subset; the signatures are documented here once.
OPERATIONS: dict[str, str] = {
    # connection
    "get_version": "virConnectGetVersion",  # () -> int (major*1e6+minor*1e3+micro)
    "get_hostname": "virConnectGetHostname",  # () -> str
    "node_get_info": "virNodeGetInfo",  # () -> [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
    "get_capabilities": "virConnectGetCapabilities",  # () -> str (capabilities XML)
    "get_max_vcpus": "virConnectGetMaxVcpus",  # (type: str|None) -> int
    "is_alive": "virConnectIsAlive",  # () -> bool
    "list_domain_ids": "virConnectListDomains",  # () -> list[int]
    "num_of_domains": "virConnectNumOfDomains",  # () -> int
    "list_defined_domains": "virConnectListDefinedDomains",  # () -> list[str]
    "num_of_defined_domains": "virConnectNumOfDefinedDomains",  # () -> int
    "list_all_domains": "virConnectListAllDomains",  # (flags) -> list[DomainRef]
    "lookup_by_name": "virDomainLookupByName",  # (name) -> DomainRef
    "lookup_by_id": "virDomainLookupByID",  # (id) -> DomainRef
    "lookup_by_uuid": "virDomainLookupByUUID",  # (uuid bytes) -> DomainRef
    "domain_create_xml": "virDomainCreateXML",  # (xml, flags) -> DomainRef
    "domain_define_xml": "virDomainDefineXML",  # (xml, flags) -> DomainRef
    "domain_restore": "virDomainRestore",  # (path, dxml|None, flags) -> DomainRef
    "domain_xml_to_native": "virConnectDomainXMLToNative",  # (format, xml, flags) -> str
    "domain_xml_from_native": "virConnectDomainXMLFromNative",  # (format, config, flags) -> str
    "get_all_domain_stats": "virConnectGetAllDomainStats",  # (stats, flags, refs|None) -> list[(DomainRef, dict)]
    # domain
    "domain_get_info": "virDomainGetInfo",  # (ref) -> [state, maxmem KiB, mem KiB, vcpus, cputime ns]
    "domain_get_state": "virDomainGetState",  # (ref, flags) -> [state, reason]
    "domain_get_os_type": "virDomainGetOSType",  # (ref) -> str
    "domain_get_xml_desc": "virDomainGetXMLDesc",  # (ref, flags) -> str
    "domain_create": "virDomainCreate",  # (ref, flags) -> DomainRef (with the new id)
    "domain_shutdown": "virDomainShutdown",  # (ref, flags) -> None
    "domain_destroy": "virDomainDestroy",  # (ref, flags) -> None
    "domain_suspend": "virDomainSuspend",  # (ref) -> None
    "domain_resume": "virDomainResume",  # (ref) -> None
    "domain_reboot": "virDomainReboot",  # (ref, flags) -> None
    "domain_save": "virDomainSave",  # (ref, path, dxml|None, flags) -> None
    "domain_managed_save": "virDomainManagedSave",  # (ref, flags) -> None; the next start restores it
    "domain_has_managed_save_image": "virDomainHasManagedSaveImage",  # (ref, flags) -> bool
    "domain_managed_save_remove": "virDomainManagedSaveRemove",  # (ref, flags) -> None
    "domain_undefine": "virDomainUndefine",  # (ref, flags) -> None
    "domain_set_memory": "virDomainSetMemory",  # (ref, KiB, flags) -> None
    "domain_set_max_memory": "virDomainSetMaxMemory",  # (ref, KiB) -> None
    "domain_get_max_memory": "virDomainGetMaxMemory",  # (ref) -> int KiB
    "domain_set_vcpus": "virDomainSetVcpus",  # (ref, n, flags) -> None
    "domain_get_max_vcpus": "virDomainGetMaxVcpus",  # (ref) -> int
    "domain_is_active": "virDomainIsActive",  # (ref) -> bool
    "domain_is_persistent": "virDomainIsPersistent",  # (ref) -> bool
    "domain_get_autostart": "virDomainGetAutostart",  # (ref) -> bool
    "domain_set_autostart": "virDomainSetAutostart",  # (ref, bool) -> None
    "domain_get_security_label": "virDomainGetSecurityLabel",  # (ref) -> [label, enforcing]
    "node_get_security_model": "virNodeGetSecurityModel",  # () -> [model, doi]
    # events: callback(ref, event: int, detail: int); returns an id for deregistering
    "domain_event_register": "virConnectDomainEventRegisterAny",  # (callback) -> int
    "domain_event_deregister": "virConnectDomainEventDeregisterAny",  # (id) -> None
    # virtual networks (guiapp.backend.hostnet.ops.NetworkOpsMixin implements them all)
    "list_networks": "virConnectListNetworks",  # () -> list[str] (active)
    "num_of_networks": "virConnectNumOfNetworks",  # () -> int
    "list_defined_networks": "virConnectListDefinedNetworks",  # () -> list[str] (inactive)
    "num_of_defined_networks": "virConnectNumOfDefinedNetworks",  # () -> int
    "list_all_networks": "virConnectListAllNetworks",  # (flags) -> list[NetworkRef]
    "network_lookup_by_name": "virNetworkLookupByName",  # (name) -> NetworkRef
    "network_lookup_by_uuid": "virNetworkLookupByUUID",  # (uuid bytes) -> NetworkRef
    "network_create_xml": "virNetworkCreateXML",  # (xml, flags) -> NetworkRef
    "network_define_xml": "virNetworkDefineXML",  # (xml, flags) -> NetworkRef
    "network_create": "virNetworkCreate",  # (ref) -> None
    "network_destroy": "virNetworkDestroy",  # (ref) -> None
    "network_undefine": "virNetworkUndefine",  # (ref) -> None
    "network_get_xml_desc": "virNetworkGetXMLDesc",  # (ref, flags) -> str
    "network_get_bridge_name": "virNetworkGetBridgeName",  # (ref) -> str
    "network_get_autostart": "virNetworkGetAutostart",  # (ref) -> bool
    "network_set_autostart": "virNetworkSetAutostart",  # (ref, bool) -> None
    "network_is_active": "virNetworkIsActive",  # (ref) -> bool
    "network_is_persistent": "virNetworkIsPersistent",  # (ref) -> bool
    "network_get_dhcp_leases": "virNetworkGetDHCPLeases",  # (ref, mac|None, flags) -> list[dict]
    # storage pools and volumes (guiapp.backend.hoststorage.ops.StorageOpsMixin implements them all;
    # refs: hoststorage.refs.StoragePoolRef(name, uuid) / StorageVolRef(pool, name, key))
    "list_all_storage_pools": "virConnectListAllStoragePools",  # (flags) -> list[StoragePoolRef]
    "storage_pool_lookup_by_name": "virStoragePoolLookupByName",  # (name) -> StoragePoolRef
    "storage_pool_lookup_by_uuid": "virStoragePoolLookupByUUID",  # (uuid bytes) -> StoragePoolRef
    "storage_pool_define_xml": "virStoragePoolDefineXML",  # (xml, flags) -> StoragePoolRef
    "storage_pool_create_xml": "virStoragePoolCreateXML",  # (xml, flags) -> StoragePoolRef
    "storage_pool_create": "virStoragePoolCreate",  # (ref, flags) -> None
    "storage_pool_build": "virStoragePoolBuild",  # (ref, flags) -> None
    "storage_pool_destroy": "virStoragePoolDestroy",  # (ref) -> None
    "storage_pool_delete": "virStoragePoolDelete",  # (ref, flags) -> None
    "storage_pool_undefine": "virStoragePoolUndefine",  # (ref) -> None
    "storage_pool_refresh": "virStoragePoolRefresh",  # (ref, flags) -> None
    "storage_pool_get_info": "virStoragePoolGetInfo",  # (ref) -> [state, capacity, allocation, available]
    "storage_pool_get_xml_desc": "virStoragePoolGetXMLDesc",  # (ref, flags) -> str
    "storage_pool_get_autostart": "virStoragePoolGetAutostart",  # (ref) -> bool
    "storage_pool_set_autostart": "virStoragePoolSetAutostart",  # (ref, bool) -> None
    "storage_pool_is_active": "virStoragePoolIsActive",  # (ref) -> bool
    "storage_pool_is_persistent": "virStoragePoolIsPersistent",  # (ref) -> bool
    "storage_pool_list_all_volumes": "virStoragePoolListAllVolumes",  # (ref, flags) -> list[StorageVolRef]
    "storage_vol_lookup_by_name": "virStorageVolLookupByName",  # (pool ref, name) -> StorageVolRef
    "storage_vol_lookup_by_path": "virStorageVolLookupByPath",  # (path) -> StorageVolRef
    "storage_vol_lookup_by_key": "virStorageVolLookupByKey",  # (key) -> StorageVolRef
    "storage_vol_create_xml": "virStorageVolCreateXML",  # (pool ref, xml, flags) -> StorageVolRef
    "storage_vol_create_xml_from": "virStorageVolCreateXMLFrom",  # (pool ref, xml, vol ref, flags) -> StorageVolRef
    "storage_vol_get_info": "virStorageVolGetInfo",  # (ref) -> [type, capacity, allocation]
    "storage_vol_get_xml_desc": "virStorageVolGetXMLDesc",  # (ref, flags) -> str
    "storage_vol_get_path": "virStorageVolGetPath",  # (ref) -> str
    "storage_vol_delete": "virStorageVolDelete",  # (ref, flags) -> None
    "storage_vol_wipe": "virStorageVolWipe",  # (ref, flags) -> None
    "storage_vol_resize": "virStorageVolResize",  # (ref, capacity, flags) -> None
    "storage_vol_upload": "virStorageVolUpload",  # (ref, offset, length, flags) -> Sink (write/finish/abort)
    "storage_vol_download": "virStorageVolDownload",  # (ref, offset, length, flags) -> Source (read/finish/abort)
    "find_storage_pool_sources": "virConnectFindStoragePoolSources",  # (type, spec|None, flags) -> str
}


def supported_operations(driver: Any) -> list[str]:
    """The optional operations ``driver`` implements (for docs, tests and the GUI)."""
    return [op for op in OPERATIONS if callable(getattr(driver, op, None))]
