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
"""

from __future__ import annotations

import gc
import math
import os
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from ... import constants as C
from ...errors import DriverError
from ...hostnet.ops import NetworkOpsMixin
from ...hoststorage.ops import StorageOpsMixin
from ...uri import URI
from ...xml.domain import DomainDef, format_uuid, parse_domain
from ...xml.node import Node, load_node
from .. import common
from ..base import DomainRef
from .hardware import TestHardwareOps
from .snapshots import TestSnapshotOps

if TYPE_CHECKING:
    from ...history import MemoryStore
    from ...hostnet.table import NetworkTable
    from ...hoststorage.table import StorageTable

_FROM_TEST = C.VIR_FROM_TEST
_FROM_DOMAIN = C.VIR_FROM_DOMAIN

SAVE_MAGIC = b"TestGuestMagic\x00"  # libvirt's test driver save-image magic (with its NUL)
_SAVE_TRAILER = b"\x00guiapp-state:"  # our addition after the XML: running|paused
_MAX_SAVE_XML = 10 * 1024 * 1024

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
_STATS_FILTERS = (
    C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE
    | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT
    | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED
    | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_OTHER
)
_STATS_FLAGS = (_STATS_FILTERS | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
                | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING | C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS)
SUPPORTED_STATS = (C.VIR_DOMAIN_STATS_STATE | C.VIR_DOMAIN_STATS_CPU_TOTAL | C.VIR_DOMAIN_STATS_BALLOON
                   | C.VIR_DOMAIN_STATS_VCPU | C.VIR_DOMAIN_STATS_INTERFACE | C.VIR_DOMAIN_STATS_BLOCK)
_START_FLAGS = (C.VIR_DOMAIN_START_PAUSED | C.VIR_DOMAIN_START_AUTODESTROY | C.VIR_DOMAIN_START_BYPASS_CACHE
                | C.VIR_DOMAIN_START_FORCE_BOOT | C.VIR_DOMAIN_START_VALIDATE)

Event = tuple[DomainRef, int, int]

#: The driver's clock (monotonic ns); tests replace it to move time forward.
_now = time.monotonic_ns


def _check_flags(flags: int, allowed: int, func: str) -> None:
    common.check_flags(flags, allowed, func, _FROM_TEST)


def _not_running() -> DriverError:
    return common.not_running()


def _existing(dom: Optional[_Dom]) -> Optional[common.Existing]:
    return None if dom is None else common.Existing(dom.name, dom.uuid, dom.active)


# ---------------------------------------------------------------------------
# synthetic statistics

class _Profile:
    """Per-run rates of one domain, derived from its UUID; counters are functions of running time.

    A counter is ``R * (t - a*sin(w1*t)/w1 - b*sin(w2*t)/w2)`` with ``a + b < 1``: it
    starts at 0, never decreases, and its rate wobbles between ``(1-a-b)*R`` and
    ``(1+a+b)*R``.  Device counters are built on first use (info() needs only the CPU).
    """

    __slots__ = ("cpu", "_counters", "templates", "_def")

    def __init__(self, d: DomainDef) -> None:
        h = _blake2b(d.uuid, digest_size=16).digest()
        load = 0.03 + 0.5 * h[5] / 255  # share of each vCPU in use
        self.cpu = _make_wave(load * d.vcpus_current * 1e9, h, 0)
        self._def = d
        self._counters: Optional[tuple[tuple, tuple]] = None
        self.templates: dict[int, tuple[dict[str, Any], tuple[tuple[str, str], ...]]] = {}

    @property
    def counters(self) -> tuple[tuple, tuple]:
        """((block counters), (net counters)); each (bytes key, count key, wave, bytes per request/packet)."""
        if self._counters is None:
            d = self._def
            uuid = d.uuid
            block = []
            for i in range(len(d.disks)):
                h = _blake2b(uuid + b"blk" + i.to_bytes(4, "big"), digest_size=16).digest()
                p = f"block.{i}."
                block.append((p + "rd.bytes", p + "rd.reqs", _make_wave(2e4 + 4e6 * (h[10] / 255) ** 2, h, 0),
                              4096 * (1 + h[11] % 16)))
                block.append((p + "wr.bytes", p + "wr.reqs", _make_wave(1e4 + 2e6 * (h[12] / 255) ** 2, h, 5),
                              4096 * (1 + h[13] % 8)))
            net = []
            for i in range(len(d.interfaces)):
                h = _blake2b(uuid + b"net" + i.to_bytes(4, "big"), digest_size=16).digest()
                p = f"net.{i}."
                net.append((p + "rx.bytes", p + "rx.pkts", _make_wave(1e3 + 5e5 * (h[10] / 255) ** 2, h, 0),
                            200 + 5 * h[11]))
                net.append((p + "tx.bytes", p + "tx.pkts", _make_wave(5e2 + 2e5 * (h[12] / 255) ** 2, h, 5),
                            100 + 5 * h[13]))
            self._counters = (tuple(block), tuple(net))
        return self._counters


def _blake2b(data: bytes, digest_size: int) -> Any:
    try:  # CPython's own BLAKE2: hashlib would load OpenSSL first (a few ms of every CLI start)
        from _blake2 import blake2b
    except ImportError:  # another Python
        from hashlib import blake2b
    return blake2b(data, digest_size=digest_size)


def _make_wave(rate: float, h: bytes, k: int) -> tuple[float, float, float, float, float]:
    """(rate, a, w1, b, w2) from five bytes of ``h`` starting at ``k``: periods 20-120 s and 3-13 s."""
    return (rate, 0.1 + 0.5 * h[k] / 255, 2 * math.pi / (20 + 100 * h[k + 1] / 255),
            0.05 + 0.25 * h[k + 2] / 255, 2 * math.pi / (3 + 10 * h[k + 3] / 255))


def _wave(w: tuple[float, float, float, float, float], t: float) -> int:
    rate, a, w1, b, w2 = w
    return int(rate * (t - a * math.sin(w1 * t) / w1 - b * math.sin(w2 * t) / w2))


# ---------------------------------------------------------------------------
# domains

class _Dom:
    __slots__ = ("config", "live", "state", "reason", "id", "autostart", "ref", "run_ns", "since",
                 "profile", "uuid", "has_managed_save", "cpu_base", "cpu_t0")

    def __init__(self, config: Optional[DomainDef], live: Optional[DomainDef]) -> None:
        self.config = config  # persistent definition, None for a transient domain
        self.live = live  # running definition, None when shut off
        self.state = C.VIR_DOMAIN_SHUTOFF
        self.reason = C.VIR_DOMAIN_SHUTOFF_UNKNOWN
        self.id = -1
        self.autostart = False
        self.run_ns = 0  # running time accumulated before ``since``
        self.since: Optional[int] = None  # monotonic ns when it last started running
        self.profile: Optional[_Profile] = None
        self.cpu_base = 0  # cpu time used before the current profile (a vCPU change starts a new one)
        self.cpu_t0 = 0  # running ns when the current profile started
        self.has_managed_save = False
        d = live or config
        assert d is not None
        self.uuid = d.uuid
        self.ref = DomainRef(d.name, d.uuid, -1)

    @property
    def cur(self) -> DomainDef:
        return self.live if self.live is not None else self.config  # type: ignore[return-value]

    @property
    def active(self) -> bool:
        return self.id != -1

    @property
    def name(self) -> str:
        return self.ref.name

    def running_ns(self, now: int) -> int:
        if self.since is None:
            return self.run_ns
        return self.run_ns + now - self.since


def _host_name() -> str:
    return os.uname().nodename or "localhost"  # gethostname() without importing socket


#: libvirt's test driver's storage pool (python3-libvirt shows the same XML on test:///default).
DEFAULT_POOL_XML = """<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <target><path>/default-pool</path></target>
</pool>"""


class TestDriver(TestSnapshotOps, TestHardwareOps, StorageOpsMixin, NetworkOpsMixin):
    """libvirt's ``test`` driver: a fake hypervisor kept in memory, one private node per connection.

    Virtual networks are kept in a :class:`NetworkTable` (no host side): the node's
    networks start active; DHCP leases are made up for running guests' interfaces.
    """

    __test__ = False  # not a pytest test class

    error_domain: ClassVar[int] = C.VIR_FROM_TEST
    schemes: ClassVar[tuple[str, ...]] = ("test",)

    # -- connection -----------------------------------------------------------------

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
        self._snapshots = {}  # uuid -> SnapshotTree (drivers/test/snapshots.py)
        now = _now()
        for nd in node.domains:
            d = nd.definition
            if d.name in self._by_name or d.uuid in self._by_uuid:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"domain '{d.name}' is defined twice in the node file", _FROM_TEST)
            active = nd.state != C.VIR_DOMAIN_SHUTOFF
            if d.id is not None:
                d.id = None
            dom = _Dom(None if nd.transient else (d.copy() if active else d), d if active else None)
            dom.has_managed_save = nd.has_managed_save
            self._add(dom)
            if active:
                self._set_running(dom, nd.state, 0, now)
                if nd.state != C.VIR_DOMAIN_RUNNING:
                    dom.since = None
            else:
                dom.reason = C.VIR_DOMAIN_SHUTOFF_UNKNOWN
        seen: set[object] = set()
        for net in node.networks:
            if net.name in seen or net.uuid in seen:
                raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                                  f"network '{net.name}' is defined twice in the node file", _FROM_TEST)
            seen.update((net.name, net.uuid))
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
        d = dom.cur
        dom.ref = DomainRef(d.name, d.uuid, dom.id)
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
        """Give ``dom`` the next id and make it active (its ``live`` definition must be set)."""
        live = dom.live
        assert live is not None
        dom.id = self._next_id
        self._next_id += 1
        self._by_id[dom.id] = dom
        live.id = dom.id
        dom.state, dom.reason = state, reason
        dom.run_ns = dom.cpu_base = dom.cpu_t0 = 0
        if now is None:  # a start: built now so that the first stats poll is as cheap as the next
            dom.since = _now()
            prof = dom.profile = _Profile(live)
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

    def _parse(self, xml: str | bytes, *, define: bool = False) -> DomainDef:
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

    @staticmethod
    def _matches(dom: _Dom, flags: int) -> bool:
        active = dom.active
        if flags & 3 and not flags & (C.VIR_CONNECT_LIST_DOMAINS_ACTIVE if active
                                      else C.VIR_CONNECT_LIST_DOMAINS_INACTIVE):
            return False
        persistent = dom.config is not None
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

    # -- define / create / undefine -----------------------------------------------------

    def domain_define_xml(self, xml: str, flags: int = 0) -> DomainRef:
        _check_flags(flags, C.VIR_DOMAIN_DEFINE_VALIDATE, "virDomainDefineXMLFlags")
        d = self._parse(xml, define=True)
        events: list[Event] = []
        with self._lock:
            dom = self._check_new(d, check_live=False)
            if dom is None:
                dom = _Dom(d, None)
                dom.reason = C.VIR_DOMAIN_SHUTOFF_UNKNOWN
                self._add(dom)
                detail = C.VIR_DOMAIN_EVENT_DEFINED_ADDED
            else:
                detail = (C.VIR_DOMAIN_EVENT_DEFINED_UPDATED if dom.config is not None
                          else C.VIR_DOMAIN_EVENT_DEFINED_ADDED)
                dom.config = d  # a running domain keeps its live definition until it stops
                if not dom.active:
                    self._set_ref(dom)
            ref = dom.ref
            events.append((ref, C.VIR_DOMAIN_EVENT_DEFINED, detail))
        self._emit(events)
        return ref

    def domain_create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        _check_flags(flags, _START_FLAGS, "virDomainCreateXML")
        d = self._parse(xml)
        events: list[Event] = []
        with self._lock:
            dom = self._check_new(d, check_live=True)
            if dom is None:
                dom = _Dom(None, d)
                self._add(dom)
            else:
                dom.live = d  # start a defined, inactive domain with this definition
            self._start(dom, flags, events)
            ref = dom.ref
        self._emit(events)
        return ref

    def _start(self, dom: _Dom, flags: int, events: list[Event], *,
               reason: int = C.VIR_DOMAIN_RUNNING_BOOTED, detail: int = C.VIR_DOMAIN_EVENT_STARTED_BOOTED,
               paused_detail: int = C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED) -> None:
        if dom.live is None:
            dom.live = dom.config.copy()  # type: ignore[union-attr]
        dom.has_managed_save = False  # libvirt's test driver: a start consumes the managed save image
        self._set_running(dom, C.VIR_DOMAIN_RUNNING, reason)
        events.append((dom.ref, C.VIR_DOMAIN_EVENT_STARTED, detail))
        if flags & C.VIR_DOMAIN_START_PAUSED:
            self._pause(dom, C.VIR_DOMAIN_PAUSED_USER)
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_SUSPENDED, paused_detail))

    def domain_create(self, ref: DomainRef, flags: int = 0) -> DomainRef:
        _check_flags(flags, _START_FLAGS, "virDomainCreateWithFlags")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if dom.active:
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"Domain '{dom.name}' is already running", _FROM_TEST)
            self._start(dom, flags, events)
            ref = dom.ref
        self._emit(events)
        return ref

    def domain_undefine(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                     | C.VIR_DOMAIN_UNDEFINE_NVRAM | C.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
                     | C.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | C.VIR_DOMAIN_UNDEFINE_TPM
                     | C.VIR_DOMAIN_UNDEFINE_KEEP_TPM, "virDomainUndefineFlags")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if dom.config is None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, "cannot undefine transient domain", _FROM_TEST)
            if dom.has_managed_save and not flags & C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                  "Refusing to undefine while domain managed save image exists", _FROM_TEST)
            nsnap = len(self._snapshots.get(dom.uuid, ()))
            if nsnap and not flags & C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"cannot delete {'active' if dom.active else 'inactive'}"
                                  f" domain with {nsnap} snapshots", _FROM_TEST)
            self._drop_snapshots(dom.uuid)
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED))
            dom.config = None
            dom.autostart = False
            dom.has_managed_save = False
            if not dom.active:
                self._forget(dom)
        self._emit(events)

    # -- lifecycle -------------------------------------------------------------------------

    def _pause(self, dom: _Dom, reason: int) -> None:
        if dom.since is not None:
            dom.run_ns += _now() - dom.since
            dom.since = None
        dom.state, dom.reason = C.VIR_DOMAIN_PAUSED, reason

    def _unpause(self, dom: _Dom, reason: int) -> None:
        if dom.since is None:
            dom.since = _now()
        dom.state, dom.reason = C.VIR_DOMAIN_RUNNING, reason

    def domain_suspend(self, ref: DomainRef) -> None:
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if dom.state != C.VIR_DOMAIN_RUNNING or not dom.active:
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"domain '{dom.name}' not running", _FROM_TEST)
            self._pause(dom, C.VIR_DOMAIN_PAUSED_USER)
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED))
        self._emit(events)

    def domain_resume(self, ref: DomainRef) -> None:
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if dom.state != C.VIR_DOMAIN_PAUSED or not dom.active:
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"domain '{dom.name}' not paused", _FROM_TEST)
            self._unpause(dom, C.VIR_DOMAIN_RUNNING_UNPAUSED)
            events.append((dom.ref, C.VIR_DOMAIN_EVENT_RESUMED, C.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED))
        self._emit(events)

    def _lifecycle(self, dom: _Dom, action: str, events: list[Event]) -> None:
        """Carry out an on_poweroff/on_reboot action of a domain the guest stopped."""
        if action in ("restart", "rename-restart", "coredump-restart"):
            self._unpause(dom, C.VIR_DOMAIN_RUNNING_BOOTED)  # the guest boots again, same id
        else:  # destroy, preserve, coredump-destroy: libvirt's test driver shuts it off
            self._stop(dom, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN, C.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, events)

    def domain_shutdown(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, 31, "virDomainShutdownFlags")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active or dom.state not in (C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_PAUSED):
                raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"domain '{dom.name}' not running", _FROM_TEST)
            self._lifecycle(dom, dom.live.on_poweroff, events)  # type: ignore[union-attr]
        self._emit(events)

    def domain_reboot(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, 31, "virDomainReboot")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            self._lifecycle(dom, dom.live.on_reboot, events)  # type: ignore[union-attr]
        self._emit(events)

    def domain_reset(self, ref: DomainRef, flags: int = 0) -> None:
        """testDomainReset: an active domain (paused too) is reset in place; nothing else changes."""
        _check_flags(flags, 0, "virDomainReset")
        with self._lock:
            if not self._get(ref).active:
                raise _not_running()

    def domain_destroy(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, C.VIR_DOMAIN_DESTROY_GRACEFUL | C.VIR_DOMAIN_DESTROY_REMOVE_LOGS, "virDomainDestroyFlags")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            self._stop(dom, C.VIR_DOMAIN_SHUTOFF_DESTROYED, C.VIR_DOMAIN_EVENT_STOPPED_DESTROYED, events)
        self._emit(events)

    # -- save / restore ----------------------------------------------------------------------

    def domain_managed_save(self, ref: DomainRef, flags: int = 0) -> None:
        """Like libvirt's test driver: the domain stops (reason saved) and its next start clears the image."""
        _check_flags(flags, C.VIR_DOMAIN_SAVE_BYPASS_CACHE | C.VIR_DOMAIN_SAVE_RUNNING | C.VIR_DOMAIN_SAVE_PAUSED,
                     "virDomainManagedSave")
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            if dom.config is None:
                raise DriverError(C.VIR_ERR_OPERATION_INVALID, "cannot do managed save for transient domain",
                                  _FROM_TEST)
            self._stop(dom, C.VIR_DOMAIN_SHUTOFF_SAVED, C.VIR_DOMAIN_EVENT_STOPPED_SAVED, events)
            dom.has_managed_save = True
        self._emit(events)

    def domain_has_managed_save_image(self, ref: DomainRef, flags: int = 0) -> bool:
        _check_flags(flags, 0, "virDomainHasManagedSaveImage")
        with self._lock:
            return self._get(ref).has_managed_save

    def domain_managed_save_remove(self, ref: DomainRef, flags: int = 0) -> None:
        _check_flags(flags, 0, "virDomainManagedSaveRemove")
        with self._lock:
            self._get(ref).has_managed_save = False

    def domain_save(self, ref: DomainRef, path: str, dxml: Optional[str] = None, flags: int = 0) -> None:
        _check_flags(flags, C.VIR_DOMAIN_SAVE_BYPASS_CACHE | C.VIR_DOMAIN_SAVE_RUNNING | C.VIR_DOMAIN_SAVE_PAUSED,
                     "virDomainSaveFlags")
        if flags & C.VIR_DOMAIN_SAVE_RUNNING and flags & C.VIR_DOMAIN_SAVE_PAUSED:
            raise DriverError(C.VIR_ERR_INVALID_ARG, "flags 'running' and 'paused' are mutually exclusive",
                              _FROM_TEST)
        alt = self._parse(dxml) if dxml else None
        events: list[Event] = []
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            live = dom.live
            assert live is not None
            if alt is not None and (alt.uuid != live.uuid or alt.name != live.name):
                raise DriverError(C.VIR_ERR_INVALID_ARG,
                                  f"the XML given for the save image must describe domain '{live.name}' "
                                  f"(same name and uuid)", _FROM_TEST)
            xml = (alt or live).to_xml(secure=False).encode("utf-8")
            paused = dom.state == C.VIR_DOMAIN_PAUSED
            if flags & C.VIR_DOMAIN_SAVE_RUNNING:
                paused = False
            elif flags & C.VIR_DOMAIN_SAVE_PAUSED:
                paused = True
            blob = (SAVE_MAGIC + struct.pack("<i", len(xml)) + xml + _SAVE_TRAILER
                    + (b"paused" if paused else b"running") + b"\n")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, blob)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise DriverError(C.VIR_ERR_SYSTEM_ERROR,
                                  f"saving domain '{dom.name}' failed to write '{path}': {exc.strerror}",
                                  _FROM_TEST, int1=exc.errno or -1) from None
            self._stop(dom, C.VIR_DOMAIN_SHUTOFF_SAVED, C.VIR_DOMAIN_EVENT_STOPPED_SAVED, events)
        self._emit(events)

    @staticmethod
    def read_save_image(path: str) -> tuple[bytes, bool]:
        """Read and check a save image: (domain XML, was paused).  Also reads libvirt's own test images."""
        try:
            with open(path, "rb") as f:
                head = f.read(len(SAVE_MAGIC) + 4)
                if len(head) < len(SAVE_MAGIC) + 4:
                    raise DriverError(C.VIR_ERR_SYSTEM_ERROR,
                                      f"incomplete save header in '{path}': not a domain save image", _FROM_TEST)
                if head[:len(SAVE_MAGIC)] != SAVE_MAGIC:
                    raise DriverError(C.VIR_ERR_INTERNAL_ERROR,
                                      f"mismatched header magic in '{path}': not a domain save image", _FROM_TEST)
                (length,) = struct.unpack("<i", head[len(SAVE_MAGIC):])
                if not 0 < length <= _MAX_SAVE_XML:
                    raise DriverError(C.VIR_ERR_INTERNAL_ERROR,
                                      f"length of saved domain XML in '{path}' is out of range ({length}): "
                                      f"the image is corrupt", _FROM_TEST)
                xml = f.read(length)
                if len(xml) != length:
                    raise DriverError(C.VIR_ERR_SYSTEM_ERROR,
                                      f"incomplete metadata in '{path}': the image is truncated", _FROM_TEST)
                trailer = f.read(64)
        except OSError as exc:
            raise DriverError(C.VIR_ERR_SYSTEM_ERROR,
                              f"cannot read domain image '{path}': {exc.strerror}", _FROM_TEST,
                              int1=exc.errno or -1) from None
        paused = trailer.startswith(_SAVE_TRAILER + b"paused")
        return xml, paused

    def domain_restore(self, path: str, dxml: Optional[str] = None, flags: int = 0) -> DomainRef:
        _check_flags(flags, C.VIR_DOMAIN_SAVE_BYPASS_CACHE | C.VIR_DOMAIN_SAVE_RUNNING | C.VIR_DOMAIN_SAVE_PAUSED
                     | C.VIR_DOMAIN_SAVE_RESET_NVRAM, "virDomainRestoreFlags")
        xml, paused = self.read_save_image(path)
        d = self._parse(xml)
        if dxml:
            alt = self._parse(dxml)
            if alt.uuid != d.uuid or alt.name != d.name:
                raise DriverError(C.VIR_ERR_INVALID_ARG,
                                  f"the XML given for restoring must describe domain '{d.name}' "
                                  f"(same name and uuid as in the image)", _FROM_TEST)
            d = alt
        if flags & C.VIR_DOMAIN_SAVE_RUNNING:
            paused = False
        elif flags & C.VIR_DOMAIN_SAVE_PAUSED:
            paused = True
        events: list[Event] = []
        with self._lock:
            dom = self._check_new(d, check_live=True)
            if dom is None:
                dom = _Dom(None, d)
                self._add(dom)
            else:
                dom.live = d
            self._start(dom, C.VIR_DOMAIN_START_PAUSED if paused else 0, events,
                        reason=C.VIR_DOMAIN_RUNNING_RESTORED, detail=C.VIR_DOMAIN_EVENT_STARTED_RESTORED,
                        paused_detail=C.VIR_DOMAIN_EVENT_SUSPENDED_RESTORED)
            ref = dom.ref
        self._emit(events)
        return ref

    # -- information ----------------------------------------------------------------------------

    def _cpu_time(self, dom: _Dom, now: int) -> int:
        if dom.id == -1:
            return 0
        return dom.cpu_base + _wave(self._profile(dom).cpu, (dom.running_ns(now) - dom.cpu_t0) / 1e9)

    def domain_get_info(self, ref: DomainRef) -> list:
        with self._lock:
            dom = self._get(ref)
            d = dom.cur
            return [dom.state, d.memory_kib, d.current_memory_kib, d.vcpus_current,
                    self._cpu_time(dom, _now())]

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
            return self._get(ref).config is not None

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

    # -- memory and vcpus --------------------------------------------------------------------------

    def _targets(self, dom: _Dom, flags: int) -> tuple[Optional[DomainDef], Optional[DomainDef]]:
        """libvirt's virDomainObjGetDefs: (live, config) to change for AFFECT_* ``flags``."""
        live, config = common.resolve_affect(flags, active=dom.active,
                                             persistent=dom.config is not None)
        return (dom.live if live else None, dom.config if config else None)

    def domain_set_memory(self, ref: DomainRef, memory: int, flags: int = 0) -> None:
        """virDomainSetMemoryFlags; plain virDomainSetMemory is ``flags=VIR_DOMAIN_AFFECT_LIVE``."""
        _check_flags(flags, common.MEM_FLAGS, "virDomainSetMemoryFlags")
        if memory <= 0:
            raise DriverError(C.VIR_ERR_INVALID_ARG, "memory in virDomainSetMemory must not be zero", _FROM_DOMAIN)
        with self._lock:
            dom = self._get(ref)
            live, config = self._targets(dom, flags)
            if flags & C.VIR_DOMAIN_MEM_MAXIMUM:
                if live is not None:
                    raise DriverError(C.VIR_ERR_OPERATION_INVALID,
                                      "cannot resize the maximum memory on an active domain", _FROM_TEST)
                config.memory_kib = memory  # type: ignore[union-attr]
                return
            for d in (live, config):
                if d is not None and memory > d.memory_kib:
                    raise DriverError(C.VIR_ERR_INVALID_ARG, "cannot set memory higher than max memory", _FROM_TEST)
            for d in (live, config):
                if d is not None:
                    d.current_memory_kib = memory

    def domain_set_max_memory(self, ref: DomainRef, memory: int) -> None:
        self.domain_set_memory(ref, memory, C.VIR_DOMAIN_MEM_MAXIMUM)

    def domain_get_max_memory(self, ref: DomainRef) -> int:
        with self._lock:
            return self._get(ref).cur.memory_kib

    def domain_set_vcpus(self, ref: DomainRef, nvcpus: int, flags: int = 0) -> None:
        """virDomainSetVcpusFlags; plain virDomainSetVcpus is ``flags=VIR_DOMAIN_AFFECT_LIVE``."""
        _check_flags(flags, common.VCPU_FLAGS | C.VIR_DOMAIN_VCPU_GUEST | C.VIR_DOMAIN_VCPU_HOTPLUGGABLE,
                     "virDomainSetVcpusFlags")
        if nvcpus <= 0:
            raise DriverError(C.VIR_ERR_INVALID_ARG, "nvcpus in virDomainSetVcpus must not be zero", _FROM_DOMAIN)
        with self._lock:
            dom = self._get(ref)
            live, config = self._targets(dom, flags)
            if flags & C.VIR_DOMAIN_VCPU_MAXIMUM:
                if live is not None:
                    raise DriverError(C.VIR_ERR_INVALID_ARG, "cannot set max vcpu count on a live domain",
                                      _FROM_TEST)
                if nvcpus > 32:
                    raise DriverError(C.VIR_ERR_INVALID_ARG,
                                      f"requested cpu amount exceeds maximum supported amount ({nvcpus} > 32)",
                                      _FROM_TEST)
                config.vcpus = nvcpus  # type: ignore[union-attr]
                return
            for d in (live, config):
                if d is not None and nvcpus > d.vcpus:
                    raise DriverError(C.VIR_ERR_INVALID_ARG,
                                      f"requested cpu amount exceeds maximum ({nvcpus} > {d.vcpus})", _FROM_TEST)
            if live is not None and live.vcpus_current != nvcpus:
                # keep cpu time continuous: bank what was used, then run at the new rate
                now = _now()
                dom.cpu_base = self._cpu_time(dom, now)
                dom.cpu_t0 = dom.running_ns(now)
                live.vcpus_current = nvcpus
                old = dom.profile
                dom.profile = _Profile(live)
                if old is not None:
                    dom.profile._counters = old._counters  # the devices did not change
            if config is not None:
                config.vcpus_current = nvcpus

    def domain_get_max_vcpus(self, ref: DomainRef) -> int:
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            return dom.live.vcpus  # type: ignore[union-attr]

    # -- statistics ---------------------------------------------------------------------------------

    def _profile(self, dom: _Dom) -> _Profile:
        prof = dom.profile
        if prof is None:
            prof = dom.profile = _Profile(dom.live)  # type: ignore[arg-type]
        return prof

    def _template(self, dom: _Dom, stats: int) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
        """The keys of a domain's stats that do not change while it runs (names, paths, counts), and its
        per-vCPU key pairs ``(vcpu.N.state, vcpu.N.time)`` (built once per profile, not per poll)."""
        d = dom.live
        tpl: dict[str, Any] = {}
        vcpu_keys: tuple[tuple[str, str], ...] = ()
        if stats & C.VIR_DOMAIN_STATS_VCPU:
            tpl["vcpu.current"] = d.vcpus_current  # type: ignore[union-attr]
            tpl["vcpu.maximum"] = d.vcpus  # type: ignore[union-attr]
            vcpu_keys = tuple((f"vcpu.{i}.state", f"vcpu.{i}.time")
                              for i in range(d.vcpus_current))  # type: ignore[union-attr]
        if stats & C.VIR_DOMAIN_STATS_INTERFACE:
            tpl["net.count"] = len(d.interfaces)  # type: ignore[union-attr]
            for i, nic in enumerate(d.interfaces):  # type: ignore[union-attr]
                p = f"net.{i}."
                tpl[p + "name"] = nic.target_dev or f"vnet{i}"
                tpl[p + "rx.errs"] = tpl[p + "rx.drop"] = tpl[p + "tx.errs"] = tpl[p + "tx.drop"] = 0
        if stats & C.VIR_DOMAIN_STATS_BLOCK:
            tpl["block.count"] = len(d.disks)  # type: ignore[union-attr]
            for i, disk in enumerate(d.disks):  # type: ignore[union-attr]
                p = f"block.{i}."
                tpl[p + "name"] = disk.target
                if disk.source is not None:
                    tpl[p + "path"] = disk.source
        return tpl, vcpu_keys

    def _stats_for(self, dom: _Dom, stats: int, now: int) -> dict[str, Any]:
        if dom.id == -1:  # inactive: what the definition says, no counters
            out: dict[str, Any] = {"state.state": dom.state, "state.reason": dom.reason} \
                if stats & C.VIR_DOMAIN_STATS_STATE else {}
            d = dom.config
            if stats & C.VIR_DOMAIN_STATS_BALLOON:
                out["balloon.current"] = d.current_memory_kib  # type: ignore[union-attr]
                out["balloon.maximum"] = d.memory_kib  # type: ignore[union-attr]
            if stats & C.VIR_DOMAIN_STATS_VCPU:
                out["vcpu.current"] = d.vcpus_current  # type: ignore[union-attr]
                out["vcpu.maximum"] = d.vcpus  # type: ignore[union-attr]
            return out
        d = dom.live
        prof = dom.profile or self._profile(dom)
        hit = prof.templates.get(stats)
        if hit is None:
            hit = prof.templates[stats] = self._template(dom, stats)
        tpl, vcpu_keys = hit
        if stats & C.VIR_DOMAIN_STATS_STATE:
            out = {"state.state": dom.state, "state.reason": dom.reason, **tpl}
        else:
            out = tpl.copy()
        t = dom.running_ns(now) / 1e9
        cpu = dom.cpu_base + _wave(prof.cpu, t - dom.cpu_t0 / 1e9)
        if stats & C.VIR_DOMAIN_STATS_CPU_TOTAL:
            user = cpu * 7 // 10
            out["cpu.time"] = cpu
            out["cpu.user"] = user
            out["cpu.system"] = cpu - user
        if stats & C.VIR_DOMAIN_STATS_BALLOON:
            out["balloon.current"] = d.current_memory_kib  # type: ignore[union-attr]
            out["balloon.maximum"] = d.memory_kib  # type: ignore[union-attr]
        if vcpu_keys:
            per = cpu // len(vcpu_keys)
            vstate = C.VIR_VCPU_RUNNING if dom.state == C.VIR_DOMAIN_RUNNING else C.VIR_VCPU_BLOCKED
            for ks, kt in vcpu_keys:
                out[ks] = vstate
                out[kt] = per
        if stats & (C.VIR_DOMAIN_STATS_BLOCK | C.VIR_DOMAIN_STATS_INTERFACE):
            block, net = prof.counters
            sin = math.sin
            for group, wanted in ((block, stats & C.VIR_DOMAIN_STATS_BLOCK),
                                  (net, stats & C.VIR_DOMAIN_STATS_INTERFACE)):
                if wanted:
                    for kb, kn, (rate, a, w1, b, w2), size in group:  # _wave, inlined: ~20 counters a domain
                        v = int(rate * (t - a * sin(w1 * t) / w1 - b * sin(w2 * t) / w2))
                        out[kb] = v
                        out[kn] = v // size
        return out

    def get_all_domain_stats(self, stats: int = 0, flags: int = 0,
                             refs: Optional[Iterable[DomainRef]] = None) -> list[tuple[DomainRef, dict]]:
        _check_flags(flags, _STATS_FLAGS, "virConnectGetAllDomainStats")
        if stats & ~SUPPORTED_STATS and flags & C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS:
            raise DriverError(C.VIR_ERR_ARGUMENT_UNSUPPORTED,
                              f"Stats types bits 0x{stats & ~SUPPORTED_STATS:x} are not supported by this daemon",
                              _FROM_TEST)
        stats = stats & SUPPORTED_STATS if stats else SUPPORTED_STATS  # unsupported groups give nothing
        with self._lock:
            now = _now()
            if refs is None:
                doms: Iterable[_Dom] = self._by_name.values()
            else:
                doms = [self._get(r) for r in refs]
            filt = flags & _STATS_FILTERS  # the same bits as the LIST_DOMAINS filters
            return [(dom.ref, self._stats_for(dom, stats, now)) for dom in doms
                    if not filt or self._matches(dom, filt)]

    def domain_block_stats(self, ref: DomainRef, path: str) -> tuple[int, int, int, int, int]:
        """virDomainBlockStats: (rd_req, rd_bytes, wr_req, wr_bytes, errs) of a disk by target or path."""
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            for i, disk in enumerate(dom.live.disks):  # type: ignore[union-attr]
                if path in (disk.target, disk.source):
                    s = self._stats_for(dom, C.VIR_DOMAIN_STATS_BLOCK, _now())
                    p = f"block.{i}."
                    return (s[p + "rd.reqs"], s[p + "rd.bytes"], s[p + "wr.reqs"], s[p + "wr.bytes"], 0)
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"invalid path: {path}", _FROM_TEST)

    def domain_interface_stats(self, ref: DomainRef, device: str) -> tuple[int, ...]:
        """virDomainInterfaceStats: (rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop)."""
        with self._lock:
            dom = self._get(ref)
            if not dom.active:
                raise _not_running()
            for i, nic in enumerate(dom.live.interfaces):  # type: ignore[union-attr]
                if device in (nic.target_dev, nic.mac, f"vnet{i}"):
                    s = self._stats_for(dom, C.VIR_DOMAIN_STATS_INTERFACE, _now())
                    p = f"net.{i}."
                    return (s[p + "rx.bytes"], s[p + "rx.pkts"], 0, 0, s[p + "tx.bytes"], s[p + "tx.pkts"], 0, 0)
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"invalid path, '{device}' is not a known interface",
                              _FROM_TEST)

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

