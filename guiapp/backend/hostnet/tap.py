"""Tap devices for guests: opened with ``TUNSETIFF`` (in a network namespace if asked), enslaved with ``ip``.

The tap is *not* persistent: it lives as long as a file descriptor on it is
open.  The caller hands the descriptor to QEMU (``-netdev tap,fd=N``, passed
with ``pass_fds``) and then closes its own copy, so the tap disappears by
itself when QEMU exits; :func:`delete_tap` is the explicit clean-up.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct
import threading
from typing import Optional

from .. import constants as C
from .. import validate
from ..errors import DriverError
from . import links
from .runner import Runner

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
CLONE_NEWNET = 0x40000000

_FROM = C.VIR_FROM_NETWORK


def host_side_mac(guest_mac: str) -> str:
    """libvirt's rule: the tap's own MAC is the guest's with the first octet 0xfe (never chosen as root port)."""
    return "fe" + guest_mac.lower()[2:]


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tap(name: Optional[str], netns_path: Optional[str] = None, *, vnet_hdr: bool = True) -> tuple[str, int]:
    """Open (creating) tap ``name`` (``None``: ``vnetN``, the kernel picks N) -> (name, fd).

    With ``netns_path`` the tap is created inside that network namespace: the
    work is done by a short-lived thread that ``setns()``-es there first.
    """
    template = name or "vnet%d"
    result: dict[str, object] = {}

    def work() -> None:
        try:
            if netns_path:
                _setns(netns_path)
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
            try:
                flags = IFF_TAP | IFF_NO_PI | (IFF_VNET_HDR if vnet_hdr else 0)
                ifr = struct.pack("16sH22x", template.encode(), flags)
                out = fcntl.ioctl(fd, TUNSETIFF, ifr)
            except OSError:
                os.close(fd)
                raise
            result["name"] = out[:16].split(b"\0", 1)[0].decode()
            result["fd"] = fd
        except OSError as exc:
            result["error"] = exc

    t = threading.Thread(target=work, name="guiapp-tap")
    t.start()
    t.join()
    err = result.get("error")
    if isinstance(err, OSError):
        if err.errno in (errno.EPERM, errno.EACCES):
            hint = "creating tap devices needs root (CAP_NET_ADMIN); session connections cannot do it"
        elif err.errno == errno.ENOENT:
            hint = "/dev/net/tun is missing (load the tun module)"
        elif err.errno == errno.EBUSY:
            hint = f"'{template}' is in use by another program: pick another <target dev=...>"
        else:
            hint = err.strerror or str(err)
        raise DriverError(C.VIR_ERR_SYSTEM_ERROR, f"cannot create tap device '{template}': {hint}", _FROM)
    return str(result["name"]), int(result["fd"])  # type: ignore[call-overload]


def create_tap(run: Runner, name: Optional[str], bridge: str, mac: str, *, vnet_hdr: bool = True) -> tuple[str, int]:
    """Create tap ``name`` (or ``vnetN``), give it the host-side MAC for ``mac``, enslave it to ``bridge``.

    Returns ``(tapname, fd)``; on failure nothing is left behind.
    """
    if name is not None:
        validate.check_ifname(name, "tap device name", domain=_FROM, code=C.VIR_ERR_INVALID_ARG)
    validate.check_ifname(bridge, "bridge name", domain=_FROM, code=C.VIR_ERR_INVALID_ARG)
    if not links.link_exists(run, bridge):
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"bridge '{bridge}' does not exist: start its network first",
                          _FROM)
    tap, fd = open_tap(name, run.netns_path, vnet_hdr=vnet_hdr)
    try:
        links.enslave(run, tap, bridge, host_side_mac(mac))
    except BaseException:
        os.close(fd)
        links.delete_link(run, tap)
        raise
    return tap, fd


def delete_tap(run: Runner, name: str) -> None:
    """Remove tap ``name`` if it still exists (it goes by itself once every descriptor on it is closed)."""
    links.delete_link(run, name)


__all__ = ["open_tap", "create_tap", "delete_tap", "host_side_mac"]
