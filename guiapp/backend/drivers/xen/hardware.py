"""Device, name and metadata changes of the Xen driver (the DomainHardwareOps family).

Persistent changes edit the stored definition (checked by converting it to xl.cfg, as define does) and are
saved through ``store.save_definition``, the path define uses.  Live device changes (``xl block-attach`` /
``network-attach``) are not done: LIVE is ``VIR_ERR_NO_SUPPORT`` saying to use the config.  Metadata of a
running domain changes in its saved live XML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from lxml import etree

from ... import constants as C
from ...errors import DriverError
from ...xml import devices_edit as dev
from ...xml.domain import DomainDef
from ...xml.metadata import get_metadata, set_metadata
from .. import common
from ..base import DomainRef
from . import xlcfg

if TYPE_CHECKING:
    from .xenstore import XsDomain

E = C.VIR_FROM_XEN


class XenHardwareOps:
    """Mixed into :class:`guiapp.backend.drivers.xen.driver.XenDriver`."""

    if TYPE_CHECKING:  # provided by XenDriver
        _lock: Any
        store: Any
        _defs_stamp: Any

        def _lookup_ref(self, ref: DomainRef) -> tuple[Optional[XsDomain], Optional[DomainDef]]: ...
        def _definitions(self) -> dict[str, DomainDef]: ...
        def _live_def(self, x: XsDomain, row: Any = None) -> DomainDef: ...
        def _emit(self, ref: DomainRef, event: int, detail: int) -> None: ...

    def _save_config(self, d: DomainDef) -> None:
        """The persist path define uses (atomic, read back)."""
        self.store.save_definition(d)
        self._defs_stamp = None

    def _xen_device_op(self, ref: DomainRef, xml: str, flags: int, allowed: int, func: str,
                       edit: Callable[[DomainDef, etree._Element], Any]) -> None:
        common.check_flags(flags, allowed, func, E)
        want = dev.parse_device(xml)
        with self._lock:
            x, p = self._lookup_ref(ref)
            live, config = common.resolve_affect(flags, active=x is not None, persistent=p is not None,
                                                 error_domain=E)
            if live:
                raise DriverError(C.VIR_ERR_NO_SUPPORT, f"{func}: live device changes are not supported by the "
                                                        f"Xen driver; use VIR_DOMAIN_AFFECT_CONFIG (--config), "
                                                        f"which applies at next boot", E)
            assert p is not None
            new = edit(p, want)[0]
            xlcfg.to_cfg(new)  # refuse what xl cannot run, before it is stored
            self._save_config(new)

    def domain_attach_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        self._xen_device_op(ref, xml, flags, common.DEVICE_FLAGS, "virDomainAttachDeviceFlags", dev.attach_device)

    def domain_detach_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        self._xen_device_op(ref, xml, flags, common.DEVICE_FLAGS, "virDomainDetachDeviceFlags", dev.detach_device)

    def domain_update_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        self._xen_device_op(ref, xml, flags, common.UPDATE_DEVICE_FLAGS, "virDomainUpdateDeviceFlags",
                            dev.update_device)

    def domain_rename(self, ref: DomainRef, new_name: str, flags: int) -> DomainRef:
        common.check_flags(flags, 0, "virDomainRename", E)
        with self._lock:
            x, p = self._lookup_ref(ref)
            common.check_rename(ref.name, new_name, active=x is not None, persistent=p is not None,
                                taken=new_name in self._definitions(), error_domain=E)
            assert p is not None
            new = p.copy()
            new.name = new_name
            autostart = self.store.autostart(p.name)
            self._save_config(new)
            self.store.remove_definition(p.name)
            if autostart:
                self.store.set_autostart(new_name, True)
            self._defs_stamp = None
        moved = DomainRef(new_name, ref.uuid, -1)
        self._emit(ref, C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_RENAMED)
        self._emit(moved, C.VIR_DOMAIN_EVENT_DEFINED, C.VIR_DOMAIN_EVENT_DEFINED_RENAMED)
        return moved

    def domain_set_metadata(self, ref: DomainRef, type: int, metadata: Optional[str], key: Optional[str],
                            uri: Optional[str], flags: int) -> None:
        common.check_flags(flags, common.AFFECT, "virDomainSetMetadata", E)
        with self._lock:
            x, p = self._lookup_ref(ref)
            live, config = common.resolve_affect(flags, active=x is not None, persistent=p is not None,
                                                 error_domain=E)
            new_cfg = set_metadata(p, type, metadata, key, uri) if config and p is not None else None
            if live and x is not None:
                self.store.save_status(set_metadata(self._live_def(x), type, metadata, key, uri))
            if new_cfg is not None:
                self._save_config(new_cfg)

    def domain_get_metadata(self, ref: DomainRef, type: int, uri: Optional[str], flags: int) -> str:
        common.check_flags(flags, common.AFFECT, "virDomainGetMetadata", E)
        x, p = self._lookup_ref(ref)
        live = common.resolve_one(flags, active=x is not None, persistent=p is not None, error_domain=E)
        d = self._live_def(x) if live and x is not None else p
        assert d is not None
        return get_metadata(d, type, uri)


__all__ = ["XenHardwareOps"]
