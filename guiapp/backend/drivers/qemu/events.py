"""Domain state changes -> libvirt lifecycle events (event, detail)."""

from __future__ import annotations

from typing import Optional

from ... import constants as C

RUNNING, PAUSED, SHUTOFF, CRASHED = C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_SHUTOFF, \
    C.VIR_DOMAIN_CRASHED


def lifecycle_event(old: tuple[int, int], new: tuple[int, int]) -> Optional[tuple[int, int]]:
    """The VIR_DOMAIN_EVENT_* (event, detail) for a change of (state, reason) from ``old`` to ``new``, if any."""
    s, r = new
    if s == RUNNING:
        if old[0] == SHUTOFF:
            return (C.VIR_DOMAIN_EVENT_STARTED, C.VIR_DOMAIN_EVENT_STARTED_RESTORED
                    if r == C.VIR_DOMAIN_RUNNING_RESTORED else C.VIR_DOMAIN_EVENT_STARTED_BOOTED)
        if old[0] in (PAUSED, CRASHED):
            return (C.VIR_DOMAIN_EVENT_RESUMED, C.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)
        return None
    if s == PAUSED:
        if old[0] == SHUTOFF:
            return (C.VIR_DOMAIN_EVENT_STARTED, C.VIR_DOMAIN_EVENT_STARTED_BOOTED)
        return (C.VIR_DOMAIN_EVENT_SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
    if s == CRASHED:
        return (C.VIR_DOMAIN_EVENT_CRASHED, C.VIR_DOMAIN_EVENT_CRASHED_PANICKED)
    if s == SHUTOFF and old[0] != SHUTOFF:
        detail = {C.VIR_DOMAIN_SHUTOFF_SHUTDOWN: C.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
                  C.VIR_DOMAIN_SHUTOFF_DESTROYED: C.VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
                  C.VIR_DOMAIN_SHUTOFF_CRASHED: C.VIR_DOMAIN_EVENT_STOPPED_FAILED,
                  C.VIR_DOMAIN_SHUTOFF_SAVED: C.VIR_DOMAIN_EVENT_STOPPED_SAVED}.get(
                      r, C.VIR_DOMAIN_EVENT_STOPPED_FAILED)
        return (C.VIR_DOMAIN_EVENT_STOPPED, detail)
    return None
