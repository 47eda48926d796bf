"""The driver contract as typed Protocols: every optional operation, its signature and its public C name.

A driver implements any subset of :class:`ConnectionOps`, :class:`DomainOps`,
:class:`NetworkOps`, :class:`StorageOps`, :class:`ConsoleOps`, :class:`SnapshotOps` and
:class:`DomainHardwareOps`; the front-end calls an
operation positionally with exactly the parameters written here and reports ``VIR_ERR_NO_SUPPORT`` naming the C
function when the driver lacks it.  :func:`check_driver` (run once per driver
class when it is registered or first opened) refuses a driver whose operation
takes other parameters than the Protocol, or whose public method looks like a
misspelt operation, so the mistake shows at registration and not as "not
supported" at a user's call (the checks are in :mod:`.contract_check`).  :data:`OPERATIONS`
(method name -> C name) is derived from the Protocols: this file is the one source.

It stays one module (close to the 500-line mark) on purpose: it is the table of every operation a
driver can have, read top to bottom; the families are its sections.  A new family that would push it
well past 500 lines goes in a module of its own, imported here and added to :data:`FAMILIES`.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, TypeVar

from .base import DomainRef, NetworkRef, SnapshotRef

if TYPE_CHECKING:  # storage refs only in annotations: the storage package loads when a pool is used
    from ..history import HistoryStore
    from ..hoststorage.refs import StoragePoolRef, StorageVolRef

_F = TypeVar("_F", bound=Callable[..., Any])

#: Callback of domain_event_register: (domain, event, detail).
EventCallback = Callable[[DomainRef, int, int], Any]


def api(cname: str) -> Callable[[_F], _F]:
    """Mark a Protocol method as the driver entry point of libvirt's C function ``cname``."""
    def mark(fn: _F) -> _F:
        setattr(fn, "__libvirt_api__", cname)  # noqa: B010 - functions have no declared attribute for it
        return fn
    return mark


class ConnectionOps(Protocol):
    """Operations on the connection and its node; lookups and creation of domains."""

    @api("virConnectGetVersion")
    def get_version(self) -> int:
        """major * 1,000,000 + minor * 1,000 + micro."""

    @api("virConnectGetHostname")
    def get_hostname(self) -> str: ...

    @api("virNodeGetInfo")
    def node_get_info(self) -> list[Any]:
        """[model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]."""

    @api("virConnectGetCapabilities")
    def get_capabilities(self) -> str:
        """The capabilities XML."""

    @api("virConnectGetMaxVcpus")
    def get_max_vcpus(self, type: Optional[str]) -> int: ...

    @api("virConnectIsAlive")
    def is_alive(self) -> bool: ...

    @api("virConnectListDomains")
    def list_domain_ids(self) -> list[int]: ...

    @api("virConnectNumOfDomains")
    def num_of_domains(self) -> int: ...

    @api("virConnectListDefinedDomains")
    def list_defined_domains(self) -> list[str]: ...

    @api("virConnectNumOfDefinedDomains")
    def num_of_defined_domains(self) -> int: ...

    @api("virConnectListAllDomains")
    def list_all_domains(self, flags: int) -> list[DomainRef]: ...

    @api("virDomainLookupByName")
    def lookup_by_name(self, name: str) -> DomainRef: ...

    @api("virDomainLookupByID")
    def lookup_by_id(self, id: int) -> DomainRef: ...

    @api("virDomainLookupByUUID")
    def lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        """``uuid`` is 16 raw bytes."""

    @api("virDomainCreateXML")
    def domain_create_xml(self, xml: str, flags: int) -> DomainRef: ...

    @api("virDomainDefineXML")
    def domain_define_xml(self, xml: str, flags: int) -> DomainRef: ...

    @api("virDomainRestore")
    def domain_restore(self, path: str, dxml: Optional[str], flags: int) -> DomainRef: ...

    @api("virConnectDomainXMLToNative")
    def domain_xml_to_native(self, format: str, xml: str, flags: int) -> str: ...

    @api("virConnectDomainXMLFromNative")
    def domain_xml_from_native(self, format: str, config: str, flags: int) -> str: ...

    @api("virConnectGetAllDomainStats")
    def get_all_domain_stats(self, stats: int, flags: int,
                             refs: Optional[list[DomainRef]]) -> list[tuple[DomainRef, dict[str, Any]]]:
        """``refs`` None: every domain the flags select."""

    @api("virConnectDomainEventRegisterAny")
    def domain_event_register(self, callback: EventCallback) -> int:
        """Returns an id for domain_event_deregister."""

    @api("virConnectDomainEventDeregisterAny")
    def domain_event_deregister(self, callback_id: int) -> None: ...

    @api("virNodeGetSecurityModel")
    def node_get_security_model(self) -> list[str]:
        """[model, doi] of the host's security driver."""

    @api("guiapp autostart")
    def autostart_once(self) -> list[str]:
        """Start autostart networks, pools and guests once per boot (guiapp.backend.autostart; the daemon's job).

        Returns the names of the guests started."""


class DomainOps(Protocol):
    """Operations on one domain, named by the DomainRef a lookup returned."""

    @api("virDomainGetInfo")
    def domain_get_info(self, ref: DomainRef) -> list[int]:
        """[state, maxmem KiB, mem KiB, vcpus, cputime ns]."""

    @api("virDomainGetState")
    def domain_get_state(self, ref: DomainRef, flags: int) -> list[int]:
        """[state, reason]."""

    @api("virDomainGetOSType")
    def domain_get_os_type(self, ref: DomainRef) -> str: ...

    @api("virDomainGetXMLDesc")
    def domain_get_xml_desc(self, ref: DomainRef, flags: int) -> str: ...

    @api("virDomainCreate")
    def domain_create(self, ref: DomainRef, flags: int) -> DomainRef:
        """Returns the ref with the new id."""

    @api("virDomainShutdown")
    def domain_shutdown(self, ref: DomainRef, flags: int) -> None: ...

    @api("virDomainDestroy")
    def domain_destroy(self, ref: DomainRef, flags: int) -> None: ...

    @api("virDomainSuspend")
    def domain_suspend(self, ref: DomainRef) -> None: ...

    @api("virDomainResume")
    def domain_resume(self, ref: DomainRef) -> None: ...

    @api("virDomainReboot")
    def domain_reboot(self, ref: DomainRef, flags: int) -> None: ...

    @api("virDomainReset")
    def domain_reset(self, ref: DomainRef, flags: int) -> None: ...

    @api("virDomainSave")
    def domain_save(self, ref: DomainRef, path: str, dxml: Optional[str], flags: int) -> None: ...

    @api("virDomainUndefine")
    def domain_undefine(self, ref: DomainRef, flags: int) -> None: ...

    @api("virDomainSetMemory")
    def domain_set_memory(self, ref: DomainRef, memory: int, flags: int) -> None:
        """``memory`` in KiB; flags VIR_DOMAIN_AFFECT_* | VIR_DOMAIN_MEM_MAXIMUM."""

    @api("virDomainSetMaxMemory")
    def domain_set_max_memory(self, ref: DomainRef, memory: int) -> None:
        """``memory`` in KiB."""

    @api("virDomainGetMaxMemory")
    def domain_get_max_memory(self, ref: DomainRef) -> int:
        """KiB."""

    @api("virDomainSetVcpus")
    def domain_set_vcpus(self, ref: DomainRef, nvcpus: int, flags: int) -> None: ...

    @api("virDomainGetMaxVcpus")
    def domain_get_max_vcpus(self, ref: DomainRef) -> int: ...

    @api("virDomainIsActive")
    def domain_is_active(self, ref: DomainRef) -> bool: ...

    @api("virDomainIsPersistent")
    def domain_is_persistent(self, ref: DomainRef) -> bool: ...

    @api("virDomainGetAutostart")
    def domain_get_autostart(self, ref: DomainRef) -> bool: ...

    @api("virDomainSetAutostart")
    def domain_set_autostart(self, ref: DomainRef, autostart: bool) -> None: ...

    @api("virDomainManagedSave")
    def domain_managed_save(self, ref: DomainRef, flags: int) -> None:
        """Save the state where the driver keeps it and stop; the next start restores it."""

    @api("virDomainHasManagedSaveImage")
    def domain_has_managed_save_image(self, ref: DomainRef, flags: int) -> bool: ...

    @api("virDomainManagedSaveRemove")
    def domain_managed_save_remove(self, ref: DomainRef, flags: int) -> None: ...

    @api("virDomainGetSecurityLabel")
    def domain_get_security_label(self, ref: DomainRef) -> list[Any]:
        """[label, enforcing] of a running domain."""


class NetworkOps(Protocol):
    """Virtual networks (:class:`guiapp.backend.hostnet.ops.NetworkOpsMixin` implements them all)."""

    @api("virConnectListNetworks")
    def list_networks(self) -> list[str]:
        """Names of the active networks."""

    @api("virConnectNumOfNetworks")
    def num_of_networks(self) -> int: ...

    @api("virConnectListDefinedNetworks")
    def list_defined_networks(self) -> list[str]:
        """Names of the inactive networks."""

    @api("virConnectNumOfDefinedNetworks")
    def num_of_defined_networks(self) -> int: ...

    @api("virConnectListAllNetworks")
    def list_all_networks(self, flags: int) -> list[NetworkRef]: ...

    @api("virNetworkLookupByName")
    def network_lookup_by_name(self, name: str) -> NetworkRef: ...

    @api("virNetworkLookupByUUID")
    def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef: ...

    @api("virNetworkCreateXML")
    def network_create_xml(self, xml: str, flags: int) -> NetworkRef: ...

    @api("virNetworkDefineXML")
    def network_define_xml(self, xml: str, flags: int) -> NetworkRef: ...

    @api("virNetworkCreate")
    def network_create(self, ref: NetworkRef) -> None: ...

    @api("virNetworkDestroy")
    def network_destroy(self, ref: NetworkRef) -> None: ...

    @api("virNetworkUndefine")
    def network_undefine(self, ref: NetworkRef) -> None: ...

    @api("virNetworkGetXMLDesc")
    def network_get_xml_desc(self, ref: NetworkRef, flags: int) -> str: ...

    @api("virNetworkGetBridgeName")
    def network_get_bridge_name(self, ref: NetworkRef) -> str: ...

    @api("virNetworkGetAutostart")
    def network_get_autostart(self, ref: NetworkRef) -> bool: ...

    @api("virNetworkSetAutostart")
    def network_set_autostart(self, ref: NetworkRef, autostart: bool) -> None: ...

    @api("virNetworkIsActive")
    def network_is_active(self, ref: NetworkRef) -> bool: ...

    @api("virNetworkIsPersistent")
    def network_is_persistent(self, ref: NetworkRef) -> bool: ...

    @api("virNetworkGetDHCPLeases")
    def network_get_dhcp_leases(self, ref: NetworkRef, mac: Optional[str], flags: int) -> list[dict[str, Any]]: ...


class StorageOps(Protocol):
    """Storage pools and volumes (:class:`guiapp.backend.hoststorage.ops.StorageOpsMixin` implements them all)."""

    @api("virConnectListAllStoragePools")
    def list_all_storage_pools(self, flags: int) -> list[StoragePoolRef]: ...

    @api("virStoragePoolLookupByName")
    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef: ...

    @api("virStoragePoolLookupByUUID")
    def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef: ...

    @api("virStoragePoolDefineXML")
    def storage_pool_define_xml(self, xml: str, flags: int) -> StoragePoolRef: ...

    @api("virStoragePoolCreateXML")
    def storage_pool_create_xml(self, xml: str, flags: int) -> StoragePoolRef: ...

    @api("virStoragePoolCreate")
    def storage_pool_create(self, ref: StoragePoolRef, flags: int) -> None: ...

    @api("virStoragePoolBuild")
    def storage_pool_build(self, ref: StoragePoolRef, flags: int) -> None: ...

    @api("virStoragePoolDestroy")
    def storage_pool_destroy(self, ref: StoragePoolRef) -> None: ...

    @api("virStoragePoolDelete")
    def storage_pool_delete(self, ref: StoragePoolRef, flags: int) -> None: ...

    @api("virStoragePoolUndefine")
    def storage_pool_undefine(self, ref: StoragePoolRef) -> None: ...

    @api("virStoragePoolRefresh")
    def storage_pool_refresh(self, ref: StoragePoolRef, flags: int) -> None: ...

    @api("virStoragePoolGetInfo")
    def storage_pool_get_info(self, ref: StoragePoolRef) -> list[int]:
        """[state, capacity, allocation, available] in bytes."""

    @api("virStoragePoolGetXMLDesc")
    def storage_pool_get_xml_desc(self, ref: StoragePoolRef, flags: int) -> str: ...

    @api("virStoragePoolGetAutostart")
    def storage_pool_get_autostart(self, ref: StoragePoolRef) -> bool: ...

    @api("virStoragePoolSetAutostart")
    def storage_pool_set_autostart(self, ref: StoragePoolRef, value: bool) -> None: ...

    @api("virStoragePoolIsActive")
    def storage_pool_is_active(self, ref: StoragePoolRef) -> bool: ...

    @api("virStoragePoolIsPersistent")
    def storage_pool_is_persistent(self, ref: StoragePoolRef) -> bool: ...

    @api("virStoragePoolListAllVolumes")
    def storage_pool_list_all_volumes(self, ref: StoragePoolRef, flags: int) -> list[StorageVolRef]: ...

    @api("virStorageVolLookupByName")
    def storage_vol_lookup_by_name(self, ref: StoragePoolRef, name: str) -> StorageVolRef: ...

    @api("virStorageVolLookupByPath")
    def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef: ...

    @api("virStorageVolLookupByKey")
    def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef: ...

    @api("virStorageVolCreateXML")
    def storage_vol_create_xml(self, ref: StoragePoolRef, xml: str, flags: int) -> StorageVolRef: ...

    @api("virStorageVolCreateXMLFrom")
    def storage_vol_create_xml_from(self, ref: StoragePoolRef, xml: str, src: StorageVolRef,
                                    flags: int) -> StorageVolRef: ...

    @api("virStorageVolGetInfo")
    def storage_vol_get_info(self, ref: StorageVolRef) -> list[int]:
        """[type, capacity, allocation] in bytes."""

    @api("virStorageVolGetXMLDesc")
    def storage_vol_get_xml_desc(self, ref: StorageVolRef, flags: int) -> str: ...

    @api("virStorageVolGetPath")
    def storage_vol_get_path(self, ref: StorageVolRef) -> str: ...

    @api("virStorageVolDelete")
    def storage_vol_delete(self, ref: StorageVolRef, flags: int) -> None: ...

    @api("virStorageVolWipe")
    def storage_vol_wipe(self, ref: StorageVolRef, flags: int) -> None: ...

    @api("virStorageVolResize")
    def storage_vol_resize(self, ref: StorageVolRef, capacity: int, flags: int) -> None: ...

    @api("virStorageVolUpload")
    def storage_vol_upload(self, ref: StorageVolRef, offset: int, length: int, flags: int) -> Any:
        """A sink with write/finish/abort (hoststorage.stream.Sink)."""

    @api("virStorageVolDownload")
    def storage_vol_download(self, ref: StorageVolRef, offset: int, length: int, flags: int) -> Any:
        """A source with read/finish/abort (hoststorage.stream.Source)."""

    @api("virConnectFindStoragePoolSources")
    def find_storage_pool_sources(self, pool_type: str, spec: Optional[str], flags: int) -> str: ...


class ConsoleOps(Protocol):
    """Text consoles (the ends and the session rule are in :mod:`guiapp.backend.console`)."""

    @api("virDomainOpenConsole")
    def domain_open_console(self, ref: DomainRef, dev_name: Optional[str], flags: int) -> Any:
        """A console end (read/write/finish/abort) of a running domain, opened through console.SESSIONS."""


class SnapshotOps(Protocol):
    """Domain snapshots (virDomainSnapshot*); drivers keep the snapshot tree and its metadata."""

    @api("virDomainSnapshotCreateXML")
    def domain_snapshot_create_xml(self, ref: DomainRef, xml: str, flags: int) -> SnapshotRef: ...

    @api("virDomainListAllSnapshots")
    def domain_list_all_snapshots(self, ref: DomainRef, flags: int) -> list[SnapshotRef]: ...

    @api("virDomainSnapshotLookupByName")
    def domain_snapshot_lookup_by_name(self, ref: DomainRef, name: str, flags: int) -> SnapshotRef: ...

    @api("virDomainSnapshotCurrent")
    def domain_snapshot_current(self, ref: DomainRef, flags: int) -> SnapshotRef: ...

    @api("virDomainHasCurrentSnapshot")
    def domain_has_current_snapshot(self, ref: DomainRef, flags: int) -> bool: ...

    @api("virDomainRevertToSnapshot")
    def domain_revert_to_snapshot(self, snap: SnapshotRef, flags: int) -> None: ...

    @api("virDomainSnapshotGetXMLDesc")
    def domain_snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int) -> str: ...

    @api("virDomainSnapshotGetParent")
    def domain_snapshot_get_parent(self, snap: SnapshotRef, flags: int) -> SnapshotRef: ...

    @api("virDomainSnapshotListAllChildren")
    def domain_snapshot_list_all_children(self, snap: SnapshotRef, flags: int) -> list[SnapshotRef]: ...

    @api("virDomainSnapshotIsCurrent")
    def domain_snapshot_is_current(self, snap: SnapshotRef, flags: int) -> bool: ...

    @api("virDomainSnapshotHasMetadata")
    def domain_snapshot_has_metadata(self, snap: SnapshotRef, flags: int) -> bool: ...

    @api("virDomainSnapshotDelete")
    def domain_snapshot_delete(self, snap: SnapshotRef, flags: int) -> None: ...


class DomainHardwareOps(Protocol):
    """Changing a domain's devices and identity after creation (issue 17): hotplug, config edits, metadata.

    ``flags`` are ``VIR_DOMAIN_AFFECT_LIVE|CONFIG`` (CURRENT = 0), resolved once by
    :func:`guiapp.backend.drivers.common.resolve_affect`; config changes go through the driver's
    own persist path (the one define uses)."""

    @api("virDomainAttachDeviceFlags")
    def domain_attach_device(self, ref: DomainRef, xml: str, flags: int) -> None: ...

    @api("virDomainDetachDeviceFlags")
    def domain_detach_device(self, ref: DomainRef, xml: str, flags: int) -> None: ...

    @api("virDomainUpdateDeviceFlags")
    def domain_update_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        """Change a device in place (a CD-ROM's medium, an interface's link state, ...)."""

    @api("virDomainRename")
    def domain_rename(self, ref: DomainRef, new_name: str, flags: int) -> DomainRef:
        """Returns the ref under the new name."""

    @api("virDomainSetMetadata")
    def domain_set_metadata(self, ref: DomainRef, type: int, metadata: Optional[str], key: Optional[str],
                            uri: Optional[str], flags: int) -> None: ...

    @api("virDomainGetMetadata")
    def domain_get_metadata(self, ref: DomainRef, type: int, uri: Optional[str], flags: int) -> str: ...


class HistoryOps(Protocol):
    """Config history (a guiapp extension, :mod:`guiapp.backend.history_api`): where a driver keeps it."""

    @api("guiapp config history")
    def history_store(self) -> HistoryStore:
        """The driver's store of domain config versions (no libvirt daemon has one: remote lacks it)."""


#: The operation families, in the order messages and docs list them.
FAMILIES: tuple[type, ...] = (ConnectionOps, DomainOps, NetworkOps, StorageOps, ConsoleOps, SnapshotOps,
                              DomainHardwareOps, HistoryOps)

#: Operation name -> the Protocol function that specifies it.
SIGNATURES: dict[str, types.FunctionType] = {
    name: fn for family in FAMILIES for name, fn in vars(family).items() if hasattr(fn, "__libvirt_api__")
}

#: Operation name -> libvirt's public C name (for messages); derived from the Protocols.
OPERATIONS: dict[str, str] = {name: fn.__libvirt_api__ for name, fn in SIGNATURES.items()}  # type: ignore[attr-defined]

#: Attributes every driver has besides operations (see :class:`guiapp.backend.drivers.base.Driver`).
MANDATORY = frozenset({"open", "probe", "close", "get_type", "get_uri", "error_domain", "schemes"})
