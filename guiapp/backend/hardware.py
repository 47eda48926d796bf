"""virDomain methods that change a domain after creation: devices, name, title/description/metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import constants as C
from .drivers.base import DomainRef
from .errors import DriverError
from .handle import check_flags as _flags
from .handle import check_str as _str

if TYPE_CHECKING:
    from .connection import virConnect

_TEXT_TYPES = (C.VIR_DOMAIN_METADATA_TITLE, C.VIR_DOMAIN_METADATA_DESCRIPTION)


def _null(value: Any, what: str, func: str) -> None:
    if value is not None:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"{what} in {func} must be NULL")


def _non_null(value: Any, what: str, func: str) -> None:
    if value is None:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"{what} in {func} must not be NULL")
    _str(value, what)


def _optional_str(value: Any, what: str) -> None:
    if value is not None:
        _str(value, what)


class HardwareMethods:
    """Mixed into virDomain (which provides ``_conn`` and ``_ref``)."""

    __slots__ = ()
    _conn: virConnect
    _ref: DomainRef

    # ------------------------------------------------------------------ devices
    def _device_call(self, op: str, api: str, xml: str, flags: int) -> int:
        def check() -> None:
            _non_null(xml, "xml", api)
            _flags(flags)
        self._conn._checked(True, api, check)
        self._conn._invoke(op, True, self._ref, xml, flags)
        return 0

    def attachDevice(self, xml: str) -> int:
        """Attach a device to the running domain (virDomainAttachDevice: AFFECT_LIVE)."""
        return self._device_call("domain_attach_device", "virDomainAttachDevice", xml, C.VIR_DOMAIN_AFFECT_LIVE)

    def attachDeviceFlags(self, xml: str, flags: int = 0) -> int:
        """Attach the device ``xml`` live, to the persistent config, or both (VIR_DOMAIN_AFFECT_*)."""
        return self._device_call("domain_attach_device", "virDomainAttachDeviceFlags", xml, flags)

    def detachDevice(self, xml: str) -> int:
        """Detach a device from the running domain (virDomainDetachDevice: AFFECT_LIVE)."""
        return self._device_call("domain_detach_device", "virDomainDetachDevice", xml, C.VIR_DOMAIN_AFFECT_LIVE)

    def detachDeviceFlags(self, xml: str, flags: int = 0) -> int:
        return self._device_call("domain_detach_device", "virDomainDetachDeviceFlags", xml, flags)

    def updateDeviceFlags(self, xml: str, flags: int = 0) -> int:
        """Change a device in place: a CD-ROM's medium, an interface's link state, a disk's config."""
        return self._device_call("domain_update_device", "virDomainUpdateDeviceFlags", xml, flags)

    # ------------------------------------------------------------------ identity
    def rename(self, new_name: str, flags: int = 0) -> int:
        """Rename a shut-off persistent domain; this handle follows the new name."""
        def check() -> None:
            _non_null(new_name, "new_name", "virDomainRename")
            if not new_name:
                raise DriverError(C.VIR_ERR_INVALID_ARG, "string new_name in virDomainRename must not be empty")
            _flags(flags)
        self._conn._checked(True, "virDomainRename", check)
        ref = self._conn._invoke("domain_rename", True, self._ref, new_name, flags)
        if isinstance(ref, DomainRef):
            self._ref = ref  # type: ignore[misc]  # the slot is virDomain's (Handle)
        return 0

    def setMetadata(self, type: int, metadata: Optional[str], key: Optional[str], uri: Optional[str],
                    flags: int = 0) -> int:
        """Set (or with None/"" remove) the title, the description, or a namespaced <metadata> element."""
        def check() -> None:
            if isinstance(type, bool) or not isinstance(type, int):
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"metadata type must be an integer, not {type!r}")
            _optional_str(metadata, "metadata")
            if type == C.VIR_DOMAIN_METADATA_TITLE and metadata and "\n" in metadata:
                raise DriverError(C.VIR_ERR_INVALID_ARG, "metadata title can't contain newlines")
            if type in _TEXT_TYPES:
                _null(uri, "uri", "virDomainSetMetadata")
                _null(key, "key", "virDomainSetMetadata")
            elif type == C.VIR_DOMAIN_METADATA_ELEMENT:
                _non_null(uri, "uri", "virDomainSetMetadata")
                if metadata is not None:
                    _non_null(key, "key", "virDomainSetMetadata")
            _flags(flags)
        self._conn._checked(True, "virDomainSetMetadata", check)
        self._conn._invoke("domain_set_metadata", True, self._ref, type, metadata, key, uri, flags)
        return 0

    def metadata(self, type: int, uri: Optional[str], flags: int = 0) -> str:
        """The title, description or namespaced element; VIR_ERR_NO_DOMAIN_METADATA when there is none."""
        def check() -> None:
            if isinstance(type, bool) or not isinstance(type, int):
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"metadata type must be an integer, not {type!r}")
            if type in _TEXT_TYPES:
                _null(uri, "uri", "virDomainGetMetadata")
            elif type == C.VIR_DOMAIN_METADATA_ELEMENT:
                _non_null(uri, "uri", "virDomainGetMetadata")
            _flags(flags)
            if flags & C.VIR_DOMAIN_AFFECT_LIVE and flags & C.VIR_DOMAIN_AFFECT_CONFIG:
                raise DriverError(C.VIR_ERR_INVALID_ARG, "Flags 'VIR_DOMAIN_AFFECT_LIVE' and "
                                                         "'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive")
        self._conn._checked(False, "virDomainGetMetadata", check)
        return self._conn._invoke("domain_get_metadata", False, self._ref, type, uri, flags)
