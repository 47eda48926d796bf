"""Autostart: what the daemon runs once at its start, never a side effect of opening a connection."""

from __future__ import annotations

from .connection import virConnect


def autostart(conn: virConnect) -> list[str]:
    """Start ``conn``'s autostart networks and guests once per boot (as libvirtd at its start).

    On ``qemu:///system`` this also defines the ``default`` network the first time.  Needs a
    read-write connection (VIR_ERR_OPERATION_DENIED otherwise); drivers without autostart fail
    with VIR_ERR_NO_SUPPORT.  Returns the names of the guests started.
    """
    return list(conn._invoke("autostart_once", True))


__all__ = ["autostart"]
