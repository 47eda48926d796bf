"""The QEMU/KVM driver: ``qemu:///session`` and ``qemu:///system`` on real, daemonized QEMU processes.

Shared state lives on disk (see :mod:`.state`) so several processes can manage
the same guests.  Each process keeps, per running guest, a pidfd (to notice the
QEMU process going away within milliseconds) and, when it holds the guest's
*lease*, the guest's event QMP socket.  Commands from processes without the
lease go through the guest's second QMP socket, one short connection at a time.
QMP events and process exits are handled on a worker thread, never on the asyncio
loop thread, so the loop stays free while the worker waits on file locks.

Lifecycle without a daemon: with ``on_poweroff=destroy`` a guest power-off ends QEMU
by itself, and the reason is read from QEMU's pid file (removed on a clean exit,
left by a killed QEMU).  The other actions (restart, preserve, rename-restart = restart)
are applied by the process holding the guest's lease, or by the next process that
connects (meanwhile the guest reports "in shutdown" / "crashed").  A restart runs the
guest in a fresh QEMU with the same id.

The driver is a composition; each part reads in one sitting:

* :mod:`.dom` -- ``Dom`` (this process's view of a domain), state shorthands, error helpers;
* :mod:`.runtime` -- attributes, sync with the config/runtime directories, records, lookups, listings;
* :mod:`.taps` -- bridges behind networks, tap names, taps left behind;
* :mod:`.supervise` -- pidfds, leases and event sockets, the worker thread, QMP events, lifecycle actions,
  event callbacks, ``_qmp``;
* :mod:`.lifecycle` -- command line, start (spawn + bring-up over QMP), create, shutdown, reboot, destroy,
  suspend, resume;
* :mod:`.define` -- define, undefine, autostart;  :mod:`.saverestore` -- save, restore;
  :mod:`.resources` -- memory and vCPUs;  :mod:`.info` -- host facts, info, XML, consoles, bulk stats;
* mixed in: :mod:`.managedsave`, :mod:`.snapshots` (+ :mod:`.snapdelete`), storage pools (:mod:`.storage`);
  ``qemu:///system`` adds the host's networks (:mod:`.system`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import threading
from collections.abc import Callable
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from ...history import DirStore
from ...hostnet.runner import Runner
from ...hoststorage import StorageOpsMixin
from ...uri import URI
from .capabilities import HostCaps, find_emulators
from .define import QemuDefine
from .dom import Dom, E, log
from .hotplug import QemuHotplugOps
from .info import QemuInfo
from .managedsave import ManagedSaveMixin
from .monitor import MonitorLoop
from .monitors import StatsPool
from .resources import QemuResources
from .saverestore import QemuSaveRestore
from .snapdelete import QemuSnapshotDelete
from .snapshots import QemuSnapshotOps
from .state import STATS_LEASE, Dirs, FileLock, migrate_legacy_layout
from .storage import host_storage


class QemuDriver(ManagedSaveMixin, QemuSnapshotDelete, QemuSnapshotOps, QemuHotplugOps, StorageOpsMixin, QemuInfo,
                 QemuResources, QemuSaveRestore, QemuDefine):
    """The driver, composed of its parts (see the module docstring for the map)."""

    error_domain = C.VIR_FROM_QEMU
    schemes = ("qemu", "kvm")

    @classmethod
    def open(cls, uri: URI, read_only: bool) -> QemuDriver:
        if not uri.is_local:
            raise DriverError(C.VIR_ERR_NO_CONNECT, f"'{uri.text}': the QEMU driver manages the local host only; "
                                                    f"use qemu:///session or qemu:///system", E)
        path = uri.path.rstrip("/") or "/session"
        if path not in ("/session", "/system"):
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"'{uri.text}': unexpected QEMU URI path '{uri.path}', try qemu:///session "
                              f"or qemu:///system", E)
        if path == "/system" and os.geteuid() != 0:
            raise DriverError(C.VIR_ERR_OPERATION_DENIED,
                              f"'{uri.text}' needs root; use qemu:///session for your own guests", E)
        if not find_emulators():
            raise DriverError(C.VIR_ERR_NO_CONNECT,
                              f"'{uri.text}': no qemu-system-* emulator is installed (apt-get install "
                              f"qemu-system-x86)", E)
        if path == "/system" and cls is QemuDriver:
            from .system import QemuSystemDriver  # the same driver plus the host's virtual networks
            return QemuSystemDriver(uri, read_only, Dirs.for_uri_path(path))
        return cls(uri, read_only, Dirs.for_uri_path(path))

    @classmethod
    def probe(cls) -> Optional[str]:
        if not find_emulators():
            return None
        return "qemu:///system" if os.geteuid() == 0 else "qemu:///session"

    def __init__(self, uri: URI, read_only: bool, dirs: Dirs) -> None:
        self.uri = "qemu://" + (uri.path.rstrip("/") or "/session")
        self.read_only = read_only
        self.dirs = dirs
        dirs.create()
        self.lock = FileLock(dirs.runtime / "lock")
        self._mu = threading.RLock()
        self._doms = {}
        self._cfg_cache = {}
        self._rec_cache = {}
        self.config_errors = {}
        self._callbacks = {}
        self._cb_ids = itertools.count(1)
        self._starting = set()  # names this process is starting (lock held): _sync() leaves them
        self._caps: Optional[HostCaps] = None
        self._kvm: Optional[bool] = None
        self._closed = False
        self._ready = False
        if not hasattr(self, "_net_run"):
            self._net_run = Runner()  # host network commands (ip) for guest taps, in this network namespace
        self._stats_wanted = self._stats_refreshed = -1e9
        self._storage = host_storage(uri.path.rstrip("/") == "/system", dirs, self._volume_users)
        self.mloop = MonitorLoop()
        self._stats_pool = StatsPool(self.mloop, lambda u: self.dirs.run_file(u, STATS_LEASE))
        self._queue: queue.Queue[Optional[Callable[[], None]]] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="guiapp-qemu-worker", daemon=True)
        with self.lock():
            # guests started by a guiapp with the older flat layout are moved over and re-attached
            moved = migrate_legacy_layout(dirs)
            if moved:
                log.info("moved the runtime state of %s to per-domain directories", ", ".join(moved))
            self._clean_temp_files()
            self._sync(attach=True)
            for dom in list(self._doms.values()):
                self._reap_if_dead(dom)
        # Opening never starts anything: autostart is run by whoever starts the host (autostart_once()).
        for dom in self._doms.values():
            dom.seen = self._state(dom)
        self._ready = True
        self._worker.start()

    def close(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(Exception), self.lock():  # leave no half-noticed exit for the next opener
            self._sync(attach=False)
            for dom in list(self._doms.values()):
                self._reap_if_dead(dom)
        self._closed = True
        self._queue.put(None)
        if threading.current_thread() is not self._worker:
            self._worker.join(5)
        with self._mu:
            for dom in self._doms.values():
                self._detach(dom)
        self._stats_pool.close()
        self.mloop.stop()

    def get_type(self) -> str:
        return "QEMU"

    def history_store(self) -> DirStore:
        """Config history beside the definitions: ``<config dir>/history/`` (guiapp extension)."""
        return DirStore(self.dirs.config / "history")

    def get_uri(self) -> str:
        return self.uri

    def is_alive(self) -> bool:
        return not self._closed


__all__ = ["Dom", "QemuDriver", "log"]
