"""The XenStore sub-driver: fast state reads of running domains, by the paths libxl writes.

Layout read (libxl 4.17)::

    /local/domain/D/{name, domid, vm = /vm/<uuid>}
    /local/domain/D/memory/{static-max, target}        KiB
    /local/domain/D/cpu/<n>/availability               online | offline
    /local/domain/D/console/{tty, vnc-port}
    /local/domain/D/control/shutdown                   written by the toolstack
    /vm/<uuid>/{uuid, name, image/ostype}              ostype: linux (PV) | hvm
    /libxl/D/type                                      pv | hvm | pvh

XenStore holds no run state (running/paused): that comes from ``xl list``.
Domain-0 is listed like any other domain (ID 0).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

from ... import constants as C
from ...errors import DriverError
from .xsclient import DEFAULT_TIMEOUT, Watch, XenStoreClient, XenStoreError, read_only_socket

_ZERO_UUID = bytes(16)
_LIBXL_OSTYPE = {"pv": "linux", "hvm": "hvm", "pvh": "xenpvh"}


@dataclass(frozen=True)
class XsDomain:
    """What XenStore says about one running domain."""

    domid: int
    name: str
    uuid: bytes
    os_type: str  # linux (PV) | hvm | xenpvh
    max_kib: int  # memory/static-max (0 when not written)
    target_kib: int  # memory/target (0 when not written)
    vcpus_online: int
    vcpus_max: int
    console_tty: Optional[str]
    vnc_port: Optional[int]


def _uuid_from(text: Optional[str]) -> Optional[bytes]:
    if not text:
        return None
    hexs = text.strip().rsplit("/", 1)[-1].replace("-", "")
    if len(hexs) != 32:
        return None
    try:
        return bytes.fromhex(hexs)
    except ValueError:
        return None


def _s(value: Optional[bytes]) -> Optional[str]:
    return None if value is None else value.decode("utf-8", "replace")


def _int(text: Optional[str]) -> Optional[int]:
    try:
        return int(text) if text is not None and text.strip() else None
    except ValueError:
        return None


class XenStoreDriver:
    """Reads domain state from XenStore; one lazily (re)connected client, reconnecting after failures."""

    def __init__(self, socket_path: str, read_only: bool, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.socket_path = read_only_socket(socket_path) if read_only else socket_path
        self.timeout = timeout
        self._client: Optional[XenStoreClient] = None
        self._lock = threading.Lock()

    # -- connection ---------------------------------------------------------
    def client(self) -> XenStoreClient:
        """The live client, reconnecting when the previous connection died."""
        with self._lock:
            c = self._client
            if c is None or not c.alive:
                if c is not None:
                    c.close()
                self._client = c = XenStoreClient(self.socket_path, self.timeout)
            return c

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def is_alive(self) -> bool:
        try:
            return self.client().directory("/local/domain") is not None
        except DriverError:
            return False

    # -- domains ------------------------------------------------------------
    def list_domids(self) -> list[int]:
        """IDs of the domains XenStore knows, Domain-0 included, ascending."""
        ids = self.client().directory("/local/domain") or []
        return sorted(int(d) for d in ids if d.isdigit())

    def domain(self, domid: int) -> Optional[XsDomain]:
        """Everything XenStore holds about ``domid``, or None when it has no (named) entry."""
        c = self.client()
        base = f"/local/domain/{domid}"
        keys = ("name", "vm", "memory/static-max", "memory/target", "console/tty", "console/vnc-port")
        values = [_s(v) for v in c.read_many([f"{base}/{k}" for k in keys] + [f"/libxl/{domid}/type"])]
        name, vm, static_max, target, tty, vnc_port, kind = values
        if name is None:
            return None
        cpus = c.directory(base + "/cpu") or []
        second = [f"{base}/cpu/{n}/availability" for n in cpus]
        if vm and vm.startswith("/vm/") and "//" not in vm and not vm.endswith("/"):
            second += [vm + "/uuid", vm + "/image/ostype"]
        got = [_s(v) for v in c.read_many(second)] if second else []
        online = sum(1 for v in got[:len(cpus)] if (v or "").strip() == "online")
        uuid = os_type = None
        if len(got) > len(cpus):
            uuid = _uuid_from(got[len(cpus)]) or _uuid_from(vm)
            os_type = got[len(cpus) + 1]
        if not os_type:
            os_type = _LIBXL_OSTYPE.get(kind or "", "linux")
        return XsDomain(
            domid=domid, name=name, uuid=uuid or (_ZERO_UUID if domid == 0 else _fallback_uuid(domid)),
            os_type=os_type, max_kib=_int(static_max) or 0, target_kib=_int(target) or 0,
            vcpus_online=online, vcpus_max=len(cpus), console_tty=tty or None, vnc_port=_int(vnc_port),
        )

    def domains(self) -> list[XsDomain]:
        out = []
        for domid in self.list_domids():
            d = self.domain(domid)
            if d is not None:
                out.append(d)
        return out

    def find(self, *, name: Optional[str] = None, uuid: Optional[bytes] = None) -> Optional[XsDomain]:
        """The running domain with this name or UUID (names are read first: one read per domain)."""
        c = self.client()
        for domid in self.list_domids():
            if name is not None:
                if c.read_str(f"/local/domain/{domid}/name") == name:
                    return self.domain(domid)
                continue
            d = self.domain(domid)
            if d is not None and d.uuid == uuid:
                return d
        return None

    def request_shutdown(self, domid: int, reason: str) -> None:
        """Write ``control/shutdown`` (poweroff | reboot | suspend) as libxl does for PV-aware guests."""
        if reason not in ("poweroff", "reboot", "suspend", "halt"):
            raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown shutdown reason {reason!r}")
        self.client().write(f"/local/domain/{domid}/control/shutdown", reason)

    def watch_domains(self, on_change: Callable[[], None]) -> DomainWatcher:
        """Call ``on_change()`` (from a thread) whenever a domain is introduced or released."""
        return DomainWatcher(self.socket_path, self.timeout, on_change)


def _fallback_uuid(domid: int) -> bytes:
    """A stable stand-in UUID for a domain whose /vm entry is missing (never all zeros: that is dom0)."""
    return b"\xff" * 12 + domid.to_bytes(4, "big")


class DomainWatcher:
    """A thread watching ``@introduceDomain`` and ``@releaseDomain`` on a connection of its own.

    It reconnects (every second) when the daemon goes away and restarts, and
    calls ``on_change`` once after reconnecting so nothing is missed.
    """

    POLL = 0.25

    def __init__(self, socket_path: str, timeout: float, on_change: Callable[[], None]) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.on_change = on_change
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xen-domain-watcher", daemon=True)
        self._thread.start()
        self._ready.wait(timeout + 1.0)

    def _connect(self) -> tuple[XenStoreClient, list[Watch]]:
        client = XenStoreClient(self.socket_path, self.timeout)
        try:
            watches = [client.watch("@introduceDomain"), client.watch("@releaseDomain")]
        except DriverError:
            client.close()
            raise
        return client, watches

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                client, watches = self._connect()
            except DriverError:
                self._ready.set()
                self._stop.wait(1.0)
                continue
            self._ready.set()
            if not first:
                self._notify()
            first = False
            try:
                self._loop(watches)
            except XenStoreError:
                pass  # the daemon went away: reconnect
            finally:
                for w in watches:
                    w.cancel()
                client.close()

    def _loop(self, watches: list[Watch]) -> None:
        # XenStore fires every watch once when it is registered: swallow those.
        for w in watches:
            w.get(self.timeout)
        while not self._stop.is_set():
            fired = False
            for w in watches:
                if w.get(self.POLL / len(watches)) is not None:
                    fired = True
                    w.drain()
            if fired:
                self._notify()

    def _notify(self) -> None:
        try:
            self.on_change()
        except Exception:  # a broken listener must not stop the watcher
            pass

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(self.timeout + 2 * self.POLL + 1.0)


__all__ = ["XsDomain", "XenStoreDriver", "DomainWatcher"]
