"""``<interface>`` -> QEMU's ``-netdev`` and NIC ``-device`` (libvirt's mapping per interface type).

``user`` -> ``user``; ``network``/``bridge`` -> a tap the driver enslaves to the bridge (or QEMU's bridge
helper when the process cannot create taps); ``ethernet`` -> a tap with its ifup script; ``udp``, ``mcast``,
``server``, ``client`` -> QEMU's ``socket`` netdev. The NIC model without ``<model>`` is libvirt's default for
the machine. Other types (``vdpa``, ``vhostuser``, ``user`` with a passt backend) are refused naming the
element. Every XML value is checked (:mod:`.optcheck`) or escaped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from ... import constants as C
from ...errors import DriverError
from . import optcheck
from .optcheck import qemu_escape

E = C.VIR_FROM_QEMU

#: ``<model type>`` -> QEMU NIC device.
NIC_MODELS = {"virtio": "virtio-net-pci", "e1000": "e1000", "e1000e": "e1000e", "rtl8139": "rtl8139",
              "ne2k_pci": "ne2k_pci", "pcnet": "pcnet", "i82551": "i82551", "i82557b": "i82557b",
              "i82559er": "i82559er", "vmxnet3": "vmxnet3"}
DEFAULT_NIC = "rtl8139"


def default_nic(defn: Any) -> str:
    """The NIC model libvirt picks without ``<model>`` (qemuDomainDefaultNetModel): virtio on s390x and on the
    ``virt`` machines of ARM and RISC-V, rtl8139 on x86 (the first of rtl8139, e1000, virtio QEMU has)."""
    arch = getattr(defn, "arch", None) or ""
    machine = getattr(defn, "machine", None) or ""
    if arch.startswith("s390") or (arch in ("aarch64", "armv7l", "armv6l", "riscv64", "riscv32")
                                   and (machine == "virt" or machine.startswith("virt-"))):
        return "virtio"
    return DEFAULT_NIC


DEFAULT_IFUP = "/etc/qemu-ifup"


@dataclass
class TapPlan:
    """A tap device QEMU creates; ``bridge`` set: the driver enslaves it after start."""

    ifname: str
    bridge: Optional[str]
    index: int


def mac_for(uuid: bytes, index: int) -> str:
    """A stable MAC in QEMU's 52:54:00 range for NIC ``index`` of the domain ``uuid``."""
    h = hashlib.sha256(uuid + bytes([index & 0xFF])).digest()
    return f"52:54:00:{h[0]:02x}:{h[1]:02x}:{h[2]:02x}"


def nic_options(defn: Any, iface: Any, i: int, *, resolve_bridge: Callable[[str], str],
                bridge_helper: Optional[Callable[[str, str], str]], tap_name: Callable[[int], str],
                check_files: bool) -> tuple[list[str], Optional[TapPlan]]:
    """(the ``-netdev``/``-device`` options, the tap QEMU creates if any) of interface ``i`` of ``defn``."""
    netdev = f"hostnet{i}"
    tap: Optional[TapPlan] = None
    t = iface.type or "user"
    backend = iface.element.find("backend")
    if t == "user" and backend is not None and backend.get("type", "default") != "default":
        # passt (libvirt's -netdev stream to a passt process) is not run by guiapp: never fall back silently
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"<interface type='user'><backend type='{backend.get('type')}'> is not supported; "
                          f"remove <backend> to use QEMU's built-in user networking", E)
    src_addr = getattr(iface, "source_address", None)
    src_port = getattr(iface, "source_port", None)
    if t == "user":
        nopts = [f"user,id={netdev}"]
    elif t in ("network", "bridge"):
        if t == "bridge":
            bridge = iface.bridge
            if not bridge:
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"interface {i} of type 'bridge' needs <source bridge='br0'/>", E)
        else:
            if not iface.network:
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"interface {i} of type 'network' needs <source network='default'/>", E)
            if "/" in iface.network or "\0" in iface.network:  # it names a file of the network store
                raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                                  f"network name {iface.network!r} of interface {i} contains '/'", E)
            bridge = resolve_bridge(iface.network)
        if bridge_helper is not None:  # cannot create taps here: QEMU's setuid helper does
            what = f"network:{iface.network}" if t == "network" else f"bridge:{bridge}"
            helper = bridge_helper(bridge, what)
            nopts = [f"bridge,id={netdev},br={qemu_escape(bridge)},helper={qemu_escape(helper)}"]
        else:
            ifname = iface.target_dev or tap_name(i)
            tap = TapPlan(ifname, bridge, i)
            nopts = [f"tap,id={netdev},ifname={qemu_escape(ifname)},script=no,downscript=no,vhost=off"]
    elif t == "ethernet":
        ifname = iface.target_dev or tap_name(i)
        script = optcheck.abs_path(iface.script or DEFAULT_IFUP, f"<script path> of interface {i}")
        if check_files and not os.path.exists(script):
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"interface {i}: script '{script}' does not exist; create it or set "
                              f"<script path=...>", E)
        tap = TapPlan(ifname, None, i)
        nopts = [f"tap,id={netdev},ifname={qemu_escape(ifname)},script={qemu_escape(script)},"
                 f"downscript=no,vhost=off"]
    elif t == "udp":
        if not src_addr or not src_port or not iface.local_address or not iface.local_port:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"interface {i} of type 'udp' needs <source address=... port=...> with "
                              f"<local address=... port=.../> inside", E)
        host = optcheck.inet_host(src_addr, f"<source address> of interface {i}", ipv4=True)
        laddr = optcheck.inet_host(iface.local_address, f"<local address> of interface {i}", ipv4=True)
        nopts = [f"socket,id={netdev},udp={host}:{optcheck.port(src_port, f'port of interface {i}')},"
                 f"localaddr={laddr}:{optcheck.port(iface.local_port, f'local port of interface {i}')}"]
    elif t in ("mcast", "server", "client"):
        if not src_addr or not src_port:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"interface {i} of type '{t}' needs <source address=... port=.../>", E)
        key = {"mcast": "mcast", "server": "listen", "client": "connect"}[t]
        # QEMU's socket netdev parses IPv4 only (parse_host_port)
        host = optcheck.inet_host(src_addr, f"<source address> of interface {i}", multicast=t == "mcast",
                                  ipv4=True)
        nopts = [f"socket,id={netdev},{key}={host}:{optcheck.port(src_port, f'port of interface {i}')}"]
        local = iface.element.find("source/local") if getattr(iface, "element", None) is not None else None
        if t == "mcast" and local is not None and local.get("address") is not None:
            localaddr = optcheck.inet_host(local.get("address") or "", f"<local address> of interface {i}",
                                           ipv4=True)
            nopts.append(f"localaddr={localaddr}")
    else:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"interface type '{t}' is not supported by QEMU; use user, network, bridge, "
                          f"ethernet, mcast, server, client or udp", E)
    model = iface.model or default_nic(defn)
    device = NIC_MODELS.get(model)
    if device is None:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"NIC model '{model}' is not supported; use one of {', '.join(sorted(NIC_MODELS))}",
                          E)
    mac = iface.mac or mac_for(defn.uuid, i)
    return ["-netdev", ",".join(nopts), "-device", f"{device},netdev={netdev},mac={mac},id=net{i}"], tap


__all__ = ["DEFAULT_IFUP", "DEFAULT_NIC", "NIC_MODELS", "TapPlan", "default_nic", "mac_for", "nic_options"]
