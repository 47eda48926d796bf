"""The test driver's state and bookkeeping: loading a node, the domain tables, network and storage
tables made on first use, ids and references, stopping, events, parsing new definitions.

:class:`TestState` is the base of every part of :class:`~.driver.TestDriver`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

from ... import constants as C
from ...errors import DriverError
from ...uuids import format_uuid
from .. import common
from ..base import DomainRef
from .dom import Event, _Dom, _existing, _now
from .profile import _Profile

if TYPE_CHECKING:  # the XML model loads when a definition is parsed or made (command-line start-up)
    from ...history import MemoryStore
    from ...hostnet.table import NetworkTable
    from ...hoststorage.table import StorageTable
    from ...xml.domain import DomainDef
    from ...xml.node import Node
    from ..snaptree import SnapshotTree

_FROM_TEST = C.VIR_FROM_TEST

#: libvirt's test driver's storage pool (python3-libvirt shows the same XML on test:///default).
DEFAULT_POOL_XML = """<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <target><path>/default-pool</path></target>
</pool>"""


class TestState:
    """Attributes and bookkeeping shared by the parts of the test driver (one RLock guards them)."""

    __test__ = False  # not a pytest test class

    def __init__(self, node: Node, uri: str, read_only: bool = False) -> None:
        self._lock = threading.RLock()
        self._uri = uri
        self.read_only = read_only
        self._node = node
        self._by_name: dict[str, _Dom] = {}
        self._by_uuid: dict[bytes, _Dom] = {}
        self._by_id: dict[int, _Dom] = {}
        self._refs: Optional[list[DomainRef]] = None  # cache of list_all_domains(0)
        self._next_id = 1
        self._callbacks: dict[int, Callable[[DomainRef, int, int], Any]] = {}
        self._next_cb = 1
        self._closed = False
        self._caps_xml: Optional[str] = None
        self._history: Optional[MemoryStore] = None
        self._snapshots: dict[bytes, SnapshotTree] = {}  # drivers/test/snapshots.py
        now = _now()
        for nd in node.domains:  # each domain's definitions are made on first use (_Dom.pending)
            name, uuid = nd.facts.name, nd.facts.uuid
            if name in self._by_name or uuid in self._by_uuid:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"domain '{name}' is defined twice in the node file", _FROM_TEST)
            active = nd.state != C.VIR_DOMAIN_SHUTOFF
            dom = _Dom(None, None, nd)
            dom.has_managed_save = nd.has_managed_save
            self._add(dom)
            if active:
                self._set_running(dom, nd.state, 0, now)
                if nd.state != C.VIR_DOMAIN_RUNNING:
                    dom.since = None
            else:
                dom.reason = C.VIR_DOMAIN_SHUTOFF_UNKNOWN
        self._network_table: Optional[NetworkTable] = None  # made on first use: see _networks
        self._in_memory_storage = True
        self._storage_table: Optional[StorageTable] = None  # made on first use: see _storage

    @property
    def _networks(self) -> NetworkTable:
        """The node's virtual networks (active), made on first use like :attr:`_storage`."""
        table = self._network_table
        if table is None:
            with self._lock:
                table = self._network_table
                if table is None:
                    from ...hostnet.table import NetworkTable

                    table = NetworkTable(users=self._network_users, guest_nics=self._network_nics)
                    for net in self._node.networks:
                        table.add_loaded(net, net.copy())
                    self._network_table = table
        return table

    @_networks.setter
    def _networks(self, table: NetworkTable) -> None:
        self._network_table = table

    @property
    def _storage(self) -> StorageTable:
        """The in-memory storage pools (the default pool, active), made on first use: a command that does
        not touch storage does not import it (command-line start-up time)."""
        table = self._storage_table
        if table is None:
            with self._lock:
                table = self._storage_table
                if table is None:
                    from ...hoststorage.memory import TEST_POOL_CAPACITY, MemoryBackend
                    from ...hoststorage.table import StorageTable
                    from ...xml.storage import parse_pool

                    table = StorageTable({"dir": MemoryBackend(), "logical": MemoryBackend()},
                                         users=self._volume_users, vol_exists_code=C.VIR_ERR_OPERATION_FAILED)
                    pool = table.add(parse_pool(DEFAULT_POOL_XML).with_sizes(TEST_POOL_CAPACITY, 0,
                                                                             TEST_POOL_CAPACITY), active=True)
                    pool.vols = {}
                    self._storage_table = table
        return table

    @_storage.setter
    def _storage(self, table: StorageTable) -> None:
        self._storage_table = table

    def _volume_users(self, path: str) -> list[tuple[str, bool]]:
        """(domain, running) of every domain with a disk on ``path``."""
        with self._lock:
            out = []
            for dom in self._by_name.values():
                if any(d.source == path for d in dom.cur.disks):
                    out.append((dom.name, dom.active))
            return out

    def _network_nics(self, network: str) -> list[tuple[str, str]]:
        """(mac, guest name) of every interface of a running guest on ``network``."""
        with self._lock:
            return [(nic.mac, dom.name) for dom in self._by_id.values()
                    for nic in dom.live.interfaces  # type: ignore[union-attr]
                    if nic.type == "network" and nic.network == network]

    def _network_users(self, network: str) -> list[str]:
        return sorted({guest for _, guest in self._network_nics(network)})

    # -- bookkeeping ------------------------------------------------------------------

    def _add(self, dom: _Dom) -> None:
        self._by_name[dom.name] = dom
        self._by_uuid[dom.uuid] = dom
        self._refs = None

    def _forget(self, dom: _Dom) -> None:
        self._by_name.pop(dom.name, None)
        self._by_uuid.pop(dom.uuid, None)
        if dom.id != -1:
            self._by_id.pop(dom.id, None)
        self._refs = None

    def _set_ref(self, dom: _Dom) -> None:
        nd = dom.pending
        if nd is None:
            d = dom.cur
            dom.ref = DomainRef(d.name, d.uuid, dom.id)
        else:
            dom.ref = DomainRef(nd.facts.name, nd.facts.uuid, dom.id)
        self._refs = None

    def _get(self, ref: Any) -> _Dom:
        try:
            dom = self._by_uuid.get(ref.uuid)
        except AttributeError:
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"not a domain reference: {ref!r}", _FROM_TEST) from None
        if dom is None:
            raise DriverError(C.VIR_ERR_NO_DOMAIN,
                              f"no domain with matching uuid '{format_uuid(ref.uuid)}' ({ref.name})", _FROM_TEST)
        return dom

    def _set_running(self, dom: _Dom, state: int, reason: int, now: Optional[int] = None) -> None:
        """Give ``dom`` the next id and make it active (its ``live`` definition must be set, or be pending)."""
        dom.id = self._next_id
        self._next_id += 1
        self._by_id[dom.id] = dom
        if dom.pending is None:
            live = dom.live
            assert live is not None
            live.id = dom.id
        dom.state, dom.reason = state, reason
        dom.run_ns = dom.cpu_base = dom.cpu_t0 = 0
        if now is None:  # a start: built now so that the first stats poll is as cheap as the next
            dom.since = _now()
            prof = dom.profile = _Profile.of(dom.live)  # type: ignore[arg-type]
            prof.counters  # noqa: B018 - warm the device counters too
        else:  # opening a node file: thousands of domains, each built on its first stats poll
            dom.since = now
            dom.profile = None
        self._set_ref(dom)

    def _stop(self, dom: _Dom, reason: int, detail: int, events: list[Event]) -> None:
        """Shut ``dom`` off; a transient domain disappears (its last event keeps its id, like libvirt)."""
        ref_running = dom.ref
        self._by_id.pop(dom.id, None)
        dom.id = -1
        dom.state, dom.reason = C.VIR_DOMAIN_SHUTOFF, reason
        dom.live = None
        dom.since = None
        dom.run_ns = 0
        dom.profile = None
        if dom.config is None:
            self._forget(dom)
            events.append((ref_running, C.VIR_DOMAIN_EVENT_STOPPED, detail))
        else:
            self._set_ref(dom)
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_STOPPED, detail))

    def _emit(self, events: list[Event]) -> None:
        if not events:
            return
        with self._lock:
            callbacks = list(self._callbacks.values())
        for ref, event, detail in events:
            for cb in callbacks:
                try:
                    cb(ref, event, detail)
                except Exception as exc:  # a broken callback must not break the driver
                    sys.stderr.write(f"guiapp: domain event callback {cb!r} raised {exc!r}\n")

    @staticmethod
    def _matches(dom: _Dom, flags: int) -> bool:
        active = dom.active
        if flags & 3 and not flags & (C.VIR_CONNECT_LIST_DOMAINS_ACTIVE if active
                                      else C.VIR_CONNECT_LIST_DOMAINS_INACTIVE):
            return False
        persistent = dom.persistent
        if flags & 12 and not flags & (C.VIR_CONNECT_LIST_DOMAINS_PERSISTENT if persistent
                                       else C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT):
            return False
        if flags & 240:
            st = dom.state
            bit = (C.VIR_CONNECT_LIST_DOMAINS_RUNNING if st == C.VIR_DOMAIN_RUNNING else
                   C.VIR_CONNECT_LIST_DOMAINS_PAUSED if st == C.VIR_DOMAIN_PAUSED else
                   C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF if st == C.VIR_DOMAIN_SHUTOFF else
                   C.VIR_CONNECT_LIST_DOMAINS_OTHER)
            if not flags & bit:
                return False
        if flags & 768 and not flags & (C.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE if dom.has_managed_save
                                        else C.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE):
            return False
        if flags & 3072 and not flags & (C.VIR_CONNECT_LIST_DOMAINS_AUTOSTART if dom.autostart
                                         else C.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART):
            return False
        if flags & 12288 and not flags & C.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT:
            return False  # the test driver keeps no snapshots
        if flags & 49152 and not flags & C.VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT:
            return False
        return True

    def _parse(self, xml: str | bytes, *, define: bool = False) -> DomainDef:
        from ...xml.domain import parse_domain

        d = parse_domain(xml, hypervisor="test")
        if d.arch is None:
            d.arch = "i686"  # what libvirt's test driver fills in
        if d.id is not None:
            d.id = None  # ids are the driver's to give
        _generate_ifnames(d)
        if define:
            _test_driver_quirks(d)
        return d

    def _check_new(self, d: DomainDef, *, check_live: bool) -> Optional[_Dom]:
        """libvirt's virDomainObjListAdd checks; returns the existing domain with that uuid+name, if any."""
        by_uuid, by_name = self._by_uuid.get(d.uuid), self._by_name.get(d.name)
        same = common.check_unique(d.name, d.uuid, [_existing(by_uuid), _existing(by_name)],
                                   refuse_active=check_live)
        return by_uuid if same is not None else None


def _generate_ifnames(d: DomainDef) -> None:
    """libvirt's test driver names every interface without a target ``testnetN`` (the first N free in the domain)."""
    used = {i.target_dev for i in d.interfaces}
    n = 0
    for iface in d.interfaces:
        if iface.target_dev is not None:
            continue
        while f"testnet{n}" in used:
            n += 1
        iface.target_dev = f"testnet{n}"
        used.add(iface.target_dev)


_QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"


def _test_driver_quirks(d: DomainDef) -> None:
    """What libvirt's test driver does at define: drops the QEMU namespace, autoport graphics get port -1."""
    changed = False
    for el in d.root.findall(f"{{{_QEMU_NS}}}*"):
        d.root.remove(el)
        changed = True
    for g in d.root.iterfind("devices/graphics[@autoport='yes']"):
        if g.get("port") not in (None, "-1"):
            g.set("port", "-1")
            changed = True
    if changed:
        d.refresh()


