"""``test:///default`` as libvirt has it: one node shared by every connection of the process.

libvirt's test driver keeps a single default node while at least one ``test:///default`` connection is open
(a domain defined through one connection is seen by the others) and frees it when the last one closes, so the
next open starts from the default node again. Node files (``test:///path/node.xml``) stay private per open.

Each connection is its own :class:`SharedDefaultConnection` whose instance dictionary *is* the shared driver
state; what belongs to one connection (closed or not, its event callbacks) lives in slots outside it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Optional

from ...xml.node import default_node
from .driver import TestDriver

_registry_lock = threading.Lock()
_state: Optional[dict[str, Any]] = None  # the shared driver's __dict__ while a connection is open
_open_count = 0
_generation = 0  # bumped by forget(): connections of an older node count no more


class SharedDefaultConnection(TestDriver):
    """One connection to the process-wide ``test:///default`` node."""

    __slots__ = ("_conn_closed", "_conn_callbacks", "_conn_read_only", "_conn_generation")
    __test__ = False

    def __init__(self, state: dict[str, Any], read_only: bool, generation: int = 0) -> None:
        self.__dict__ = state  # every connection's attributes are the one shared state
        self._conn_generation = generation
        self._conn_closed = False
        self._conn_callbacks: set[int] = set()
        self._conn_read_only = read_only

    @property
    def read_only(self) -> bool:
        return self._conn_read_only

    @read_only.setter
    def read_only(self, value: bool) -> None:
        self._conn_read_only = value

    def close(self) -> None:
        global _state, _open_count
        with self._lock:
            if self._conn_closed:
                return
            self._conn_closed = True
            for cb_id in self._conn_callbacks:
                self._callbacks.pop(cb_id, None)
            self._conn_callbacks.clear()
        with _registry_lock:
            if self._conn_generation != _generation:
                return  # a node forget() let go of
            _open_count -= 1
            if _open_count == 0:
                _state = None  # the last connection closed: the next open starts from the default node

    def is_alive(self) -> bool:
        return not self._conn_closed

    def domain_event_register(self, callback: Callable[[Any, int, int], Any]) -> int:
        cb_id = super().domain_event_register(callback)
        self._conn_callbacks.add(cb_id)
        return cb_id

    def domain_event_deregister(self, callback_id: int) -> None:
        if callback_id not in self._conn_callbacks:
            super().domain_event_deregister(-1)  # libvirt's error for a callback this connection lacks
        super().domain_event_deregister(callback_id)
        self._conn_callbacks.discard(callback_id)


def open_default(read_only: bool) -> SharedDefaultConnection:
    """A new connection to the shared default node (made from libvirt's default node on first use)."""
    global _state, _open_count
    with _registry_lock:
        if _state is None:
            _state = TestDriver(default_node(), "test:///default", read_only).__dict__
        _open_count += 1
        state, generation = _state, _generation
    return SharedDefaultConnection(state, read_only, generation)


def forget() -> None:
    """Let the next open start from a fresh default node even while connections are open (test isolation:
    connections already open keep the node they share)."""
    global _state, _open_count, _generation
    with _registry_lock:
        _state, _open_count = None, 0
        _generation += 1


__all__ = ["SharedDefaultConnection", "open_default", "forget"]
