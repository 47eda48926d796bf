"""Networks without a bridge of ours (forward mode bridge, private, vepa, passthrough, hostdev): start checks.

Starting such a network changes nothing on the host; it checks that the host can carry it:

* ``bridge`` with ``<bridge name>``: that bridge must exist (it is the host's: guests join it, destroy leaves it);
* ``bridge`` over a device pool, ``private``, ``vepa``, ``passthrough``: the forward devices must exist and the
  kernel must create macvtap links on them (probed with a short-lived link ``gmvprobeN``, removed at once);
* ``hostdev``: SR-IOV PCI passthrough needs devices and vfio that guiapp does not manage: refused.
"""

from __future__ import annotations

import os

from .. import constants as C
from ..errors import DriverError
from ..xml.network import NetworkDef
from ..xml.network_forward import MACVTAP_MODES
from . import links
from .runner import Runner

_FROM = C.VIR_FROM_NETWORK


def _failed(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_OPERATION_FAILED, detail, _FROM)


def forward_devices(d: NetworkDef) -> list[str]:
    """The host interfaces of the forward pool (``<interface dev>``, else ``<pf dev>``)."""
    fwd = d.root.find("forward")
    if fwd is None:
        return []
    devs = [el.get("dev") for el in fwd.findall("interface") if el.get("dev")]
    return devs or [el.get("dev") for el in fwd.findall("pf") if el.get("dev")]


def _check_host_bridge(run: Runner, d: NetworkDef) -> None:
    info = links.link_info(run, d.bridge or "")
    if info is None:
        raise _failed(f"bridge '{d.bridge}' of network '{d.name}' (forward mode='bridge') does not exist on this "
                      f"host: create it first (e.g. 'ip link add {d.bridge} type bridge'); guiapp joins guests to "
                      f"a host bridge but does not make it")
    kind = (info.get("linkinfo") or {}).get("info_kind")
    if kind not in ("bridge", "openvswitch"):
        raise _failed(f"interface '{d.bridge}' of network '{d.name}' is a {kind or 'plain'} interface, not a bridge")


def _probe_macvtap(run: Runner, dev: str, mode: str, net: str) -> None:
    """Create and delete a macvtap link on ``dev``: proves the kernel (module macvtap) can do the mode."""
    probe = f"gmvprobe{os.getpid() % 100000}"
    proc = run.run("ip", "link", "add", "link", dev, "name", probe, "type", "macvtap", "mode", mode, check=False)
    if proc.returncode != 0:
        why = (proc.stderr or "").strip().splitlines()
        detail = why[-1] if why else f"exit {proc.returncode}"
        hint = " (the kernel has no macvtap support: load the macvtap module)" \
            if "Unknown device type" in detail else ""
        raise _failed(f"network '{net}' (forward mode='{mode}') cannot create macvtap links on '{dev}': "
                      f"{detail}{hint}")
    links.delete_link(run, probe)


def check_start(run: Runner, d: NetworkDef) -> None:
    """Refuse (VIR_ERR_OPERATION_FAILED / CONFIG_UNSUPPORTED, saying why) what this host cannot run."""
    mode = d.forward_mode or ""
    if mode == "hostdev":
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"network '{d.name}' (forward mode='hostdev') hands SR-IOV PCI functions to guests, "
                          f"which guiapp does not manage: use forward mode='bridge' or a macvtap mode", _FROM)
    if mode == "bridge" and d.bridge:
        _check_host_bridge(run, d)
        return
    if mode == "bridge" and not forward_devices(d) and d.root.find("virtualport") is not None:
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"network '{d.name}' uses an Open vSwitch bridge without a name: give it "
                          f"<bridge name='...'/>", _FROM)
    if mode in MACVTAP_MODES:
        devs = forward_devices(d)
        if not devs:
            raise _failed(f"network '{d.name}' (forward mode='{mode}') has no forward device: add "
                          f"<forward mode='{mode}'><interface dev='eth0'/></forward>")
        for dev in devs:
            if not links.link_exists(run, dev):
                raise _failed(f"forward device '{dev}' of network '{d.name}' does not exist on this host")
        _probe_macvtap(run, devs[0], "passthru" if mode == "passthrough" else mode, d.name)


__all__ = ["check_start", "forward_devices"]
