"""The libvirt-python-compatible module the GUI talks to (``guiapp.backend``), and names for its numbers.

The GUI uses only libvirt-python's public names; remote hosts come through guiapp's own drivers.
"""

from __future__ import annotations

from functools import lru_cache
from types import ModuleType
from typing import Any, Optional

import guiapp.backend

libvirt: ModuleType = guiapp.backend

# info()[0] / state()[0] numbers, as in libvirt.
STATE_NOSTATE, STATE_RUNNING, STATE_BLOCKED, STATE_PAUSED = 0, 1, 2, 3
STATE_SHUTDOWN, STATE_SHUTOFF, STATE_CRASHED, STATE_PMSUSPENDED = 4, 5, 6, 7

STATE_NAMES: dict[int, str] = {
    STATE_NOSTATE: "no state",
    STATE_RUNNING: "running",
    STATE_BLOCKED: "blocked",
    STATE_PAUSED: "paused",
    STATE_SHUTDOWN: "shutting down",
    STATE_SHUTOFF: "shut off",
    STATE_CRASHED: "crashed",
    STATE_PMSUSPENDED: "suspended",
}

#: states in which the guest is "on" (has an id, uses CPU)
ACTIVE_STATES = frozenset({STATE_RUNNING, STATE_BLOCKED, STATE_PAUSED, STATE_SHUTDOWN, STATE_PMSUSPENDED})


def state_name(state: Optional[int]) -> str:
    if state is None:
        return "unknown"
    return STATE_NAMES.get(state, f"state {state}")


_LEVEL_NAMES = {"VIR_ERR_NONE", "VIR_ERR_WARNING", "VIR_ERR_ERROR"}


@lru_cache(maxsize=1)
def _error_names() -> tuple[dict[int, str], dict[int, str]]:
    codes: dict[int, str] = {}
    domains: dict[int, str] = {}
    for name in dir(libvirt):
        value = getattr(libvirt, name)
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        if name.startswith("VIR_ERR_") and name not in _LEVEL_NAMES:
            codes.setdefault(value, name)
        elif name.startswith("VIR_FROM_"):
            domains.setdefault(value, name)
    return codes, domains


def error_code_name(code: Optional[int]) -> str:
    """``VIR_ERR_NO_DOMAIN`` for 42; ``"unknown"`` when the code has no name."""
    if code is None:
        return "unknown"
    return _error_names()[0].get(code, "unknown")


def error_domain_name(domain: Optional[int]) -> str:
    """``VIR_FROM_TEST`` for 12."""
    if domain is None:
        return "unknown"
    return _error_names()[1].get(domain, "unknown")


def error_code(exc: BaseException) -> Optional[int]:
    """The libvirt error code of ``exc`` (None for non-libvirt exceptions)."""
    get = getattr(exc, "get_error_code", None)
    if get is None:
        return None
    try:
        return get()
    except Exception:
        return None


def silence_default_error_handler() -> None:
    """Register a global error handler that keeps errors off stderr (the GUI shows them itself)."""
    libvirt.registerErrorHandler(_quiet_handler, None)


def _quiet_handler(_ctx: Any, _err: Any) -> None:
    return None


def is_connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` says the connection is gone (closed, dropped, unreachable)."""
    code = error_code(exc)
    lost = {getattr(libvirt, n, None) for n in ("VIR_ERR_INVALID_CONN", "VIR_ERR_NO_CONNECT", "VIR_ERR_SYSTEM_ERROR",
                                                 "VIR_ERR_RPC", "VIR_ERR_AUTH_FAILED")}
    lost.discard(None)
    return code in lost
