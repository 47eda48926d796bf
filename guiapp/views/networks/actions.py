"""Which network actions apply to a row, and why not when they don't (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .rows import NetworkRow


@dataclass(frozen=True)
class NetOp:
    """One action of the networks page."""

    key: str
    text: str
    tip: str
    api: str  # the libvirt function named in error reports


OPS: dict[str, NetOp] = {op.key: op for op in (
    NetOp("start", "&Start", "Start the selected network", "virNetworkCreate"),
    NetOp("stop", "S&top", "Stop the selected network (its guests lose connectivity)", "virNetworkDestroy"),
    NetOp("delete", "&Delete…", "Stop the selected network if it runs, and remove its definition",
          "virNetworkUndefine"),
    NetOp("autostart", "&Autostart", "Start the selected network when the host boots", "virNetworkSetAutostart"),
)}


def disabled_reason(key: str, row: Optional[NetworkRow], read_only: bool = False, busy: bool = False) -> str:
    """Why action ``key`` is disabled for ``row`` ('' when it is enabled)."""
    if row is None:
        return "Select a network first"
    if read_only:
        return f"The connection {row.uri} is read-only: reconnect without read-only to change networks"
    if busy:
        return f"An operation on '{row.name}' is still running"
    if key == "start" and row.active:
        return f"'{row.name}' is already running"
    if key == "stop" and not row.active:
        return f"'{row.name}' is not running"
    if key == "autostart" and not row.persistent:
        return f"'{row.name}' is transient (not defined): only defined networks can start at boot"
    return ""
