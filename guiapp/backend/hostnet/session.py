"""Guests of unprivileged (``qemu:///session``) connections on virtual networks.

A session connection cannot create taps or touch bridges.  Where QEMU's
setuid ``qemu-bridge-helper`` is installed and ``/etc/qemu/bridge.conf``
allows the network's bridge, QEMU can attach the guest itself
(``-netdev bridge,br=BRIDGE,helper=PATH``); otherwise the driver must refuse
with :func:`no_tap_error`, which says what to do instead.
"""

from __future__ import annotations

import os
from typing import Optional

from .. import constants as C
from ..errors import DriverError

HELPER_PATHS = ("/usr/lib/qemu/qemu-bridge-helper", "/usr/libexec/qemu-bridge-helper")
BRIDGE_CONF = "/etc/qemu/bridge.conf"


def _allowed(conf: str, bridge: str, depth: int = 0) -> bool:
    """Whether ``conf`` (qemu-bridge-helper's ACL file, with ``include``) allows ``bridge``."""
    try:
        with open(conf, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    allowed = False
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) != 2:
            continue
        verb, arg = words
        if verb == "include" and depth < 4:
            allowed = _allowed(arg, bridge, depth + 1) or allowed
        elif verb == "allow" and arg in (bridge, "all"):
            allowed = True
        elif verb == "deny" and arg in (bridge, "all"):
            return False
    return allowed


def bridge_helper_for(bridge: str, conf: str = BRIDGE_CONF) -> Optional[str]:
    """The path of a usable setuid qemu-bridge-helper allowed to use ``bridge``, or None."""
    for path in HELPER_PATHS:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_mode & 0o4000 or os.geteuid() == 0:
            return path if _allowed(conf, bridge) else None
    return None


def no_tap_error(network: str, bridge: Optional[str]) -> DriverError:
    """The error a session connection reports for ``<interface type='network'>`` it cannot attach."""
    where = f" (bridge {bridge})" if bridge else ""
    return DriverError(
        C.VIR_ERR_CONFIG_UNSUPPORTED,
        f"a qemu:///session guest cannot join virtual network '{network}'{where}: creating tap devices needs "
        f"root. Use qemu:///system, or <interface type='user'/>, or install qemu-bridge-helper setuid and add "
        f"'allow {bridge or 'BRIDGE'}' to {BRIDGE_CONF}", C.VIR_FROM_QEMU)


__all__ = ["bridge_helper_for", "no_tap_error", "HELPER_PATHS", "BRIDGE_CONF"]
