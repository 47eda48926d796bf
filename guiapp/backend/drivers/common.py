"""Rules libvirt applies in every driver, written once: define-time uniqueness, AFFECT_* resolution, states.

Drivers call these with their own error domain (``VIR_FROM_TEST``, ``VIR_FROM_QEMU``, ...);
the messages are libvirt's, with the domain named so the user knows which one is meant.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple, Optional

from .. import constants as C
from ..errors import DriverError
from ..uuids import format_uuid

#: Flags of virDomainModificationImpact (SetMemoryFlags, SetVcpusFlags, ...).
AFFECT = C.VIR_DOMAIN_AFFECT_LIVE | C.VIR_DOMAIN_AFFECT_CONFIG

#: Flags virDomainSetMemoryFlags / virDomainSetVcpusFlags accept (drivers may accept fewer).
MEM_FLAGS = AFFECT | C.VIR_DOMAIN_MEM_MAXIMUM
VCPU_FLAGS = AFFECT | C.VIR_DOMAIN_VCPU_MAXIMUM

#: Flags virDomainGetXMLDesc accepts.
XML_DESC_FLAGS = (C.VIR_DOMAIN_XML_SECURE | C.VIR_DOMAIN_XML_INACTIVE | C.VIR_DOMAIN_XML_UPDATE_CPU
                  | C.VIR_DOMAIN_XML_MIGRATABLE)


class Existing(NamedTuple):
    """What the uniqueness rule needs to know about a domain the driver already has."""

    name: str
    uuid: bytes
    active: bool


def check_flags(flags: int, allowed: int, func: str, error_domain: int) -> None:
    """VIR_ERR_INVALID_ARG when ``flags`` has bits outside ``allowed`` (virCheckFlags)."""
    if flags & ~allowed:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"unsupported flags (0x{flags & ~allowed:x}) in function {func}",
                          error_domain)


def not_running(name: str = "", error_domain: int = C.VIR_FROM_DOMAIN) -> DriverError:
    """The error for an operation that needs a running domain (virDomainObjCheckActive)."""
    return DriverError(C.VIR_ERR_OPERATION_INVALID, f"domain '{name}' is not running" if name
                       else "domain is not running", error_domain)


def already_active(name: str, error_domain: int = C.VIR_FROM_DOMAIN) -> DriverError:
    """The error for starting a domain that runs already."""
    return DriverError(C.VIR_ERR_OPERATION_INVALID, f"domain '{name}' is already active", error_domain)


def check_unique(name: str, uuid: bytes, candidates: Iterable[Optional[Existing]], *,
                 refuse_active: bool = False, error_domain: int = C.VIR_FROM_DOMAIN) -> Optional[Existing]:
    """libvirt's virDomainObjListAdd rules for a new definition ``name``/``uuid``.

    ``candidates`` are the driver's domains that may clash (at least those with this name or this
    UUID; None entries are skipped).  Another name with the same UUID, or the same name with another
    UUID, is VIR_ERR_OPERATION_FAILED; with ``refuse_active`` (create, restore) the same domain
    running is VIR_ERR_OPERATION_INVALID.  Returns the existing domain with this name and UUID.
    """
    same: Optional[Existing] = None
    for e in candidates:
        if e is None:
            continue
        if e.uuid == uuid:
            if e.name != name:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"domain '{e.name}' is already defined with uuid {format_uuid(uuid)}", error_domain)
            same = e
        elif e.name == name:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"domain '{name}' already exists with uuid {format_uuid(e.uuid)}", error_domain)
    if same is not None and refuse_active and same.active:
        raise already_active(name, error_domain)
    return same


def resolve_affect(flags: int, *, active: bool, persistent: bool,
                   live_bit: int = C.VIR_DOMAIN_AFFECT_LIVE, config_bit: int = C.VIR_DOMAIN_AFFECT_CONFIG,
                   error_domain: int = C.VIR_FROM_DOMAIN) -> tuple[bool, bool]:
    """(live, config) a change with AFFECT_* ``flags`` applies to (virDomainObjUpdateModificationImpact).

    CURRENT (neither bit) means live when the domain runs, else its persistent config; asking for
    live on a stopped domain, or config on a transient one, is VIR_ERR_OPERATION_INVALID.
    """
    live = bool(flags & live_bit)
    config = bool(flags & config_bit)
    if not live and not config:
        live, config = active, not active
    if live and not active:
        raise not_running("", error_domain)  # libvirt's exact text
    if config and not persistent:
        raise DriverError(C.VIR_ERR_OPERATION_INVALID, "transient domains do not have any persistent config",
                          error_domain)
    return live, config


#: Flags virDomainAttachDeviceFlags / DetachDeviceFlags accept; UpdateDeviceFlags also takes FORCE.
DEVICE_FLAGS = AFFECT
UPDATE_DEVICE_FLAGS = AFFECT | C.VIR_DOMAIN_DEVICE_MODIFY_FORCE


def resolve_one(flags: int, *, active: bool, persistent: bool,
                error_domain: int = C.VIR_FROM_DOMAIN) -> bool:
    """True for the live definition, False for the persistent one (virDomainObjGetOneDef: LIVE xor CONFIG)."""
    if flags & C.VIR_DOMAIN_AFFECT_LIVE and flags & C.VIR_DOMAIN_AFFECT_CONFIG:
        raise DriverError(C.VIR_ERR_INVALID_ARG, "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' "
                                                 "are mutually exclusive", C.VIR_FROM_DOMAIN)
    live, _config = resolve_affect(flags, active=active, persistent=persistent, error_domain=error_domain)
    return live


def live_refused(what: str, error_domain: int = C.VIR_FROM_DOMAIN) -> DriverError:
    """The error for a change the running guest cannot take: it applies at next boot through the config."""
    return DriverError(C.VIR_ERR_OPERATION_INVALID,
                       f"{what} cannot be changed while the domain runs; use VIR_DOMAIN_AFFECT_CONFIG "
                       f"(--config) to change the persistent definition, which applies at next boot",
                       error_domain)


def check_rename(old: str, new: str, *, active: bool, persistent: bool,
                 taken: bool, error_domain: int = C.VIR_FROM_DOMAIN) -> None:
    """virDomainRename's rules: shut off, persistent, a new name without '/' that no other domain has."""
    if active:
        raise DriverError(C.VIR_ERR_OPERATION_INVALID, "cannot rename active domain", error_domain)
    if not persistent:
        raise DriverError(C.VIR_ERR_OPERATION_INVALID, "cannot rename a transient domain", error_domain)
    if "/" in new:
        raise DriverError(C.VIR_ERR_XML_ERROR, f"name {new} cannot contain '/'", error_domain)
    if new == old:
        raise DriverError(C.VIR_ERR_OPERATION_INVALID, "Can't rename domain to itself", C.VIR_FROM_DOMAIN)
    if taken:
        raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"domain with name '{new}' already exists", C.VIR_FROM_DOMAIN)
