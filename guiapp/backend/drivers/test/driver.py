"""The in-memory ``test`` driver: libvirt's test driver, in Python.

``test:///default`` is libvirt's default node (one running domain ``test``);
``test:///path/to/node.xml`` loads a node file (see :mod:`guiapp.backend.xml.node`).
``test:///default`` is one node shared by all connections of the process while any is open, as in
libvirt (:mod:`.shared`); every open of a node file gets a private copy of it.

States, ids, reasons, events and error codes follow libvirt 9.0's test driver
(checked against python3-libvirt).  Statistics are synthetic but plausible:
counters grow with the time a domain has been running, at rates derived from
its UUID, with slow deterministic wobble, so a GUI has curves to draw.

Thread safety: one RLock per connection guards all state; event callbacks are
called synchronously after the lock is released.

The driver is a composition; each part reads in one sitting:

* :mod:`.dom` -- ``_Dom`` (a domain: definitions, state, running time), the clock, small helpers;
* :mod:`.state` -- ``TestState``: loading the node, tables, bookkeeping, events, parsing definitions;
* :mod:`.lifecycle` -- define, create, undefine, start, suspend, resume, shutdown, reboot, destroy;
* :mod:`.saverestore` -- save, restore, managed save;
* :mod:`.profile` and :mod:`.stats` -- synthetic statistics;  :mod:`.resources` -- memory and vCPUs;
* this module -- open, host facts, listing and lookup, information, XML, console, autostart, event callbacks;
* mixed in: :mod:`.snapshots`, :mod:`.hardware`, storage pools and virtual networks.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from ... import constants as C
from ...errors import DriverError
from ...hostnet.ops import NetworkOpsMixin
from ...hoststorage.ops import StorageOpsMixin
from ...uri import URI
from ...uuids import format_uuid
from ...xml.node import load_node
from .. import common
from ..base import DomainRef
from .dom import _check_flags, _now
from .hardware import TestHardwareOps
from .resources import TestResources
from .saverestore import SAVE_MAGIC, TestSaveRestore
from .snapshots import TestSnapshotOps

if TYPE_CHECKING:
    from ...history import MemoryStore

_FROM_TEST = C.VIR_FROM_TEST

_LIST_FILTERS = (
    C.VIR_CONNECT_LIST_DOMAINS_ACTIVE | C.VIR_CONNECT_LIST_DOMAINS_INACTIVE
    | C.VIR_CONNECT_LIST_DOMAINS_PERSISTENT | C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT
    | C.VIR_CONNECT_LIST_DOMAINS_RUNNING | C.VIR_CONNECT_LIST_DOMAINS_PAUSED
    | C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | C.VIR_CONNECT_LIST_DOMAINS_OTHER
    | C.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE | C.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE
    | C.VIR_CONNECT_LIST_DOMAINS_AUTOSTART | C.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART
    | C.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT | C.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT
    | C.VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT | C.VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT
)


def _host_name() -> str:
    return os.uname().nodename or "localhost"  # gethostname() without importing socket


class TestDriver(TestSnapshotOps, TestHardwareOps, StorageOpsMixin, NetworkOpsMixin, TestSaveRestore, TestResources):
    """libvirt's ``test`` driver: a fake hypervisor kept in memory, one private node per connection.

    Virtual networks are kept in a :class:`NetworkTable` (no host side): the node's
    networks start active; DHCP leases are made up for running guests' interfaces.
    """

    __test__ = False  # not a pytest test class

    error_domain: ClassVar[int] = C.VIR_FROM_TEST
    schemes: ClassVar[tuple[str, ...]] = ("test",)

    @classmethod
    def open(cls, uri: URI, read_only: bool = False) -> TestDriver:
        if uri.host or uri.transport not in ("", "unix"):
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"{uri.text}: the test driver only serves local URIs such as test:///default "
                              f"or test:///path/to/node.xml", _FROM_TEST)
        path = uri.path
        if path in ("", "/"):
            raise DriverError(C.VIR_ERR_INVALID_ARG,
                              "testOpen: supply a path or use test:///default", _FROM_TEST)
        if path == "/default":  # one node for the whole process, as in libvirt
            from .shared import open_default
            return open_default(read_only)
        # a node file of thousands of domains allocates ~100 objects each: without the cyclic GC
        # re-scanning the growing heap every few hundred domains, the open takes ~1/3 less time
        paused = gc.isenabled()
        gc.disable()
        try:
            return cls(load_node(path), f"test://{path}", read_only)
        finally:
            if paused:
                gc.enable()

    @classmethod
    def probe(cls) -> Optional[str]:
        return None  # the test driver is the fallback, never probed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._callbacks.clear()

    def get_type(self) -> str:
        return "TEST"

    def history_store(self) -> MemoryStore:
        """Config history in memory, like the domains (guiapp extension)."""
        with self._lock:
            if self._history is None:
                from ...history import MemoryStore  # on first use: history is not needed to list (start-up)
                self._history = MemoryStore()
            return self._history

    def get_uri(self) -> str:
        return self._uri

    def get_version(self) -> int:
        return 2

    def get_hostname(self) -> str:
        return _host_name()

    def is_alive(self) -> bool:
        return not self._closed

    def node_get_info(self) -> list:
        return self._node.node_info()

    def get_max_vcpus(self, type: Optional[str] = None) -> int:
        return 32

    def get_capabilities(self) -> str:
        if self._caps_xml is None:
            from ...xml.capabilities import Capabilities, Guest, GuestDomain, Host, HostCPU  # only when asked

            feats: dict[str, dict[str, Any]] = {"pae": {}, "nonpae": {}}
            dom = [GuestDomain("test")]
            caps = Capabilities(
                Host(HostCPU(arch="i686", features=["pae", "nonpae"])),
                [Guest("hvm", "i686", emulator="/usr/bin/test-hv", domains=dom, features=dict(feats)),
                 Guest("xen", "i686", emulator="/usr/bin/test-hv", domains=list(dom), features=dict(feats))],
            )
            self._caps_xml = caps.to_xml()
        return self._caps_xml

    # -- listing and lookup -----------------------------------------------------------

    def list_domain_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._by_id)

    def num_of_domains(self) -> int:
        with self._lock:
            return len(self._by_id)

    def list_defined_domains(self) -> list[str]:
        with self._lock:
            return sorted(d.name for d in self._by_name.values() if not d.active)

    def num_of_defined_domains(self) -> int:
        with self._lock:
            return sum(1 for d in self._by_name.values() if not d.active)

    def list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        _check_flags(flags, _LIST_FILTERS, "virConnectListAllDomains")
        with self._lock:
            if not flags:
                refs = self._refs
                if refs is None:
                    refs = self._refs = [d.ref for d in self._by_name.values()]
                return refs.copy()
            return [d.ref for d in self._by_name.values() if self._matches(d, flags)]

    def lookup_by_name(self, name: str) -> DomainRef:
        with self._lock:
            dom = self._by_name.get(name)
            if dom is None:
                raise DriverError(C.VIR_ERR_NO_DOMAIN, f"no domain with matching name '{name}'", _FROM_TEST)
            return dom.ref

    def lookup_by_id(self, id: int) -> DomainRef:
        with self._lock:
            dom = self._by_id.get(id)
            if dom is None:
                raise DriverError(C.VIR_ERR_NO_DOMAIN, f"no domain with matching id {id}", _FROM_TEST)
            return dom.ref

    def lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        with self._lock:
            dom = self._by_uuid.get(bytes(uuid))
            if dom is None:
                shown = format_uuid(bytes(uuid)) if len(uuid) == 16 else repr(uuid)
                raise DriverError(C.VIR_ERR_NO_DOMAIN, f"no domain with matching uuid '{shown}'", _FROM_TEST)
            return dom.ref

    # -- information ----------------------------------------------------------------------------

    def domain_get_info(self, ref: DomainRef) -> list:
        with self._lock:
            dom = self._get(ref)
            mem, cur_mem, _, vcpus_cur = dom.sizes()
            return [dom.state, mem, cur_mem, vcpus_cur, self._cpu_time(dom, _now())]

    def domain_get_state(self, ref: DomainRef, flags: int = 0) -> list:
        _check_flags(flags, 0, "virDomainGetState")
        with self._lock:
            dom = self._get(ref)
            return [dom.state, dom.reason]

    def domain_get_os_type(self, ref: DomainRef) -> str:
        with self._lock:
            return self._get(ref).cur.os_type

    def domain_get_xml_desc(self, ref: DomainRef, flags: int = 0) -> str:
        _check_flags(flags, common.XML_DESC_FLAGS, "virDomainGetXMLDesc")
        with self._lock:
            dom = self._get(ref)
            if flags & C.VIR_DOMAIN_XML_INACTIVE and dom.config is not None:
                d = dom.config
            else:
                d = dom.cur
            return d.xml_for_flags(flags)

    def domain_is_active(self, ref: DomainRef) -> bool:
        with self._lock:
            return self._get(ref).active

    def domain_open_console(self, ref: DomainRef, dev_name: Optional[str], flags: int) -> Any:
        """An echo console (guiapp's test driver only; libvirt's has none): what is sent comes back."""
        from ... import console
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise common.not_running(dom.cur.name, _FROM_TEST)
            alias = "console0"
            if dev_name is not None:
                alias = dev_name
                if not any(a == dev_name for a, _ in console.chardevs(dom.cur)):
                    raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"cannot find character device {dev_name}",
                                      _FROM_TEST)
        return console.SESSIONS.open((id(self), ref.uuid, alias), flags, console.EchoConsole)

    def domain_is_persistent(self, ref: DomainRef) -> bool:
        with self._lock:
            return self._get(ref).persistent

    def domain_get_autostart(self, ref: DomainRef) -> bool:
        with self._lock:
            return self._get(ref).autostart

    def domain_set_autostart(self, ref: DomainRef, autostart: bool) -> None:
        with self._lock:
            dom = self._get(ref)
            if dom.config is None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, "cannot set autostart for transient domain",
                                  _FROM_TEST)
            dom.autostart = bool(autostart)

    # -- events -------------------------------------------------------------------------------------------

    def domain_event_register(self, callback: Callable[[DomainRef, int, int], Any]) -> int:
        if not callable(callback):
            raise DriverError(C.VIR_ERR_INVALID_ARG, "the event callback must be callable", _FROM_TEST)
        with self._lock:
            cb_id = self._next_cb
            self._next_cb += 1
            self._callbacks[cb_id] = callback
            return cb_id

    def domain_event_deregister(self, callback_id: int) -> None:
        with self._lock:
            if self._callbacks.pop(callback_id, None) is None:
                raise DriverError(C.VIR_ERR_INVALID_ARG,
                                  f"could not find event callback {callback_id} for deregistration", _FROM_TEST)


__all__ = ["TestDriver", "SAVE_MAGIC"]
