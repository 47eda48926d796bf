"""Device, name and metadata changes of the in-memory test driver (the DomainHardwareOps family).

libvirt 9.0's test driver has no device hotplug; guiapp's behaves like an ideal hypervisor: every
device change applies live in memory, with the matching rules and errors of libvirt's QEMU driver
(:mod:`guiapp.backend.xml.devices_edit`).  Rename and metadata follow ``testDomainRename`` and
``virDomainObj{Get,Set}Metadata`` (checked with python3-libvirt on ``test:///default``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ... import constants as C
from .. import common
from ..base import DomainRef

if TYPE_CHECKING:  # the XML model loads when a device or metadata change comes (command-line start-up)
    from lxml import etree

    from ...xml.domain import DomainDef
    from .dom import Event, _Dom

_FROM_TEST = C.VIR_FROM_TEST


class TestHardwareOps:
    """Mixed into :class:`guiapp.backend.drivers.test.driver.TestDriver`."""

    _lock: Any
    _by_name: dict[str, _Dom]

    if TYPE_CHECKING:  # provided by TestDriver
        def _get(self, ref: Any) -> _Dom: ...
        def _emit(self, events: list[Event]) -> None: ...
        def _set_ref(self, dom: _Dom) -> None: ...
        def _targets(self, dom: _Dom, flags: int) -> tuple[Optional[DomainDef], Optional[DomainDef]]: ...

    # -- helpers --------------------------------------------------------------------------

    def _set_config(self, dom: _Dom, d: DomainDef) -> None:
        """The one place a device/metadata/rename change replaces the persistent definition."""
        dom.config = d

    def _set_live_def(self, dom: _Dom, d: DomainDef) -> None:
        from .profile import _Profile
        from .state import _generate_ifnames

        _generate_ifnames(d)
        dom.live = d
        if dom.profile is not None:
            dom.profile = _Profile.of(d)

    def _edit(self, ref: DomainRef, xml: str, flags: int, allowed: int, func: str,
              edit: Any) -> None:
        from ...xml import devices_edit as dev

        common.check_flags(flags, allowed, func, _FROM_TEST)
        want = dev.parse_device(xml)
        with self._lock:
            dom = self._get(ref)
            live, config = self._targets(dom, flags)
            new_live = new_config = None
            if live is not None:
                new_live, want = edit(live, want)  # the normalized device (generated MAC) goes to the config
            if config is not None:
                new_config, _ = edit(config, want)
            if new_live is not None:
                self._set_live_def(dom, new_live)
            if new_config is not None:
                self._set_config(dom, new_config)

    # -- devices --------------------------------------------------------------------------

    def domain_attach_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        def attach(d: DomainDef, want: etree._Element) -> tuple[DomainDef, etree._Element]:
            from ...xml import devices_edit as dev

            return dev.attach_device(d, want)
        self._edit(ref, xml, flags, common.DEVICE_FLAGS, "virDomainAttachDeviceFlags", attach)

    def domain_detach_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        def detach(d: DomainDef, want: etree._Element) -> tuple[DomainDef, etree._Element]:
            from ...xml import devices_edit as dev

            return dev.detach_device(d, want)[0], want
        self._edit(ref, xml, flags, common.DEVICE_FLAGS, "virDomainDetachDeviceFlags", detach)

    def domain_update_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        def update(d: DomainDef, want: etree._Element) -> tuple[DomainDef, etree._Element]:
            from ...xml import devices_edit as dev

            new, _old, el = dev.update_device(d, want)
            return new, el
        self._edit(ref, xml, flags, common.UPDATE_DEVICE_FLAGS, "virDomainUpdateDeviceFlags", update)

    # -- identity ---------------------------------------------------------------------------

    def domain_rename(self, ref: DomainRef, new_name: str, flags: int) -> DomainRef:
        common.check_flags(flags, 0, "testDomainRename", _FROM_TEST)
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            common.check_rename(dom.name, new_name, active=dom.active, persistent=dom.config is not None,
                                taken=new_name in self._by_name, error_domain=_FROM_TEST)
            assert dom.config is not None
            new = dom.config.copy()
            new.name = new_name  # checks the name like a define would
            old_ref = dom.ref
            del self._by_name[dom.name]
            self._set_config(dom, new)
            self._set_ref(dom)
            self._by_name[new_name] = dom
            events.append((old_ref, C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_RENAMED))
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_DEFINED, C.VIR_DOMAIN_EVENT_DEFINED_RENAMED))
            result = dom.ref
        self._emit(events)
        return result

    def domain_set_metadata(self, ref: DomainRef, type: int, metadata: Optional[str], key: Optional[str],
                            uri: Optional[str], flags: int) -> None:
        from ...xml.metadata import set_metadata

        common.check_flags(flags, common.AFFECT, "virDomainSetMetadata", _FROM_TEST)
        with self._lock:
            dom = self._get(ref)
            live, config = self._targets(dom, flags)
            new_live = set_metadata(live, type, metadata, key, uri) if live is not None else None
            new_config = set_metadata(config, type, metadata, key, uri) if config is not None else None
            if new_live is not None:
                dom.live = new_live
            if new_config is not None:
                self._set_config(dom, new_config)

    def domain_get_metadata(self, ref: DomainRef, type: int, uri: Optional[str], flags: int) -> str:
        from ...xml.metadata import get_metadata

        common.check_flags(flags, common.AFFECT, "virDomainGetMetadata", _FROM_TEST)
        with self._lock:
            dom = self._get(ref)
            live = common.resolve_one(flags, active=dom.active, persistent=dom.config is not None)
            d = dom.live if live else dom.config
            assert d is not None
            return get_metadata(d, type, uri)
