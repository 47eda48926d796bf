"""Host interfaces through ``ip``: bridges, their addresses, enslaving taps, routes in use."""

from __future__ import annotations

import ipaddress
from typing import Optional, Union

from .. import constants as C
from .. import validate
from ..errors import DriverError
from .runner import Runner

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def link_exists(run: Runner, name: str) -> bool:
    return run.run("ip", "link", "show", "dev", name, check=False).returncode == 0


def link_info(run: Runner, name: str) -> Optional[dict]:
    """``ip -j -d link show dev NAME`` as a dict, or None when there is no such interface."""
    if not link_exists(run, name):
        return None
    rows = run.json("ip", "-j", "-d", "link", "show", "dev", name)
    return rows[0] if rows else None


def addresses(run: Runner, name: str) -> list[str]:
    """``address/prefix`` of every address on interface ``name``."""
    rows = run.json("ip", "-j", "addr", "show", "dev", name)
    return [f"{a['local']}/{a['prefixlen']}" for r in rows for a in r.get("addr_info", [])]


def create_bridge(run: Runner, name: str, *, stp: bool = True, delay: int = 0, mac: Optional[str] = None) -> None:
    """Create bridge ``name`` (down).  It must not exist yet."""
    validate.check_ifname(name, "bridge name", domain=C.VIR_FROM_NETWORK, code=C.VIR_ERR_INVALID_ARG)
    args = ["ip", "link", "add", "name", name]
    if mac:
        args += ["address", mac]
    # with STP on the kernel keeps the forward delay at 2 s or more (ports wait 2x that before forwarding)
    fwd_delay = max(delay, 2) * 100 if stp else delay * 100
    args += ["type", "bridge", "forward_delay", str(fwd_delay), "stp_state", "1" if stp else "0"]
    run.run(*args)


def add_address(run: Runner, name: str, iface: str, family: int) -> None:
    """Add ``iface`` (``address/prefix``) to interface ``name``; IPv6 skips duplicate address detection."""
    if family == 6:
        run.run("ip", "-6", "addr", "add", iface, "dev", name, "nodad")
    else:
        net = ipaddress.ip_interface(iface).network
        run.run("ip", "addr", "add", iface, "broadcast", str(net.broadcast_address), "dev", name)


def set_up(run: Runner, name: str) -> None:
    run.run("ip", "link", "set", "dev", name, "up")


def delete_link(run: Runner, name: str) -> None:
    """Delete interface ``name``; an interface already gone is not an error."""
    if link_exists(run, name):
        run.run("ip", "link", "del", "dev", name, check=False)


def enslave(run: Runner, name: str, bridge: str, mac: Optional[str] = None) -> None:
    """Put interface ``name`` on ``bridge`` and bring it up (``mac`` for its host side first)."""
    if not link_exists(run, bridge):
        raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"bridge '{bridge}' does not exist on the host: start the "
                          f"network that owns it (or create the bridge) first", C.VIR_FROM_NETWORK)
    if mac:
        run.run("ip", "link", "set", "dev", name, "address", mac)
    run.run("ip", "link", "set", "dev", name, "master", bridge)
    run.run("ip", "link", "set", "dev", name, "up")


def route_user(run: Runner, net: IPNetwork, ignore: set[str]) -> Optional[str]:
    """The interface of a host route overlapping ``net`` (libvirt's route collision check), or None."""
    rows = run.json("ip", "-j", "-6" if net.version == 6 else "-4", "route", "show")
    for r in rows:
        dst, dev = r.get("dst"), r.get("dev")
        if not dst or dst == "default" or dev in ignore:
            continue
        try:
            other = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if other.version == net.version and other.prefixlen > 0 and other.overlaps(net):
            if net.version == 6 and other.is_link_local:
                continue
            return dev or "?"
    return None


def enable_forwarding(run: Runner, family: int) -> None:
    """Let the (namespace's) kernel route between interfaces, as NAT and routed networks need."""
    key = "net.ipv4.ip_forward" if family == 4 else "net.ipv6.conf.all.forwarding"
    path = "/proc/sys/" + key.replace(".", "/")
    run.run("sh", "-c", f"echo 1 > {path}")


__all__ = ["link_exists", "link_info", "addresses", "create_bridge", "add_address", "set_up", "delete_link",
           "enslave", "route_user", "enable_forwarding"]
