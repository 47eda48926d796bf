"""Issue 15 item 8: forward modes without a bridge of ours, run for real inside a network namespace of the test.

* mode='bridge' onto an existing bridge: start checks it, guests get that bridge, destroy leaves it in place;
  a missing bridge is refused with a clear error;
* macvtap modes (bridge over a device, private, vepa, passthrough) on a veth the test makes: start probes the
  kernel with a macvtap link of that mode and removes it; if the kernel cannot (no macvtap), start must refuse
  with an error saying so — the test decides which by trying the same thing itself first;
* hostdev: refused at start (CONFIG_UNSUPPORTED); nothing is left behind in any case.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.hostnet import HostNetworks


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def link_names(ns: str) -> set[str]:
    return {r["ifname"] for r in json.loads(ip("-n", ns, "-j", "link", "show").stdout)}


def make_manager(netns, tmp_path) -> HostNetworks:
    mgr = HostNetworks(str(tmp_path / "run"), str(tmp_path / "etc"), netns=netns.host, install_default=False)
    return mgr


def kernel_can_macvtap(ns: str, dev: str, mode: str) -> bool:
    """The test's own probe (independent of guiapp's): can this kernel put a macvtap of ``mode`` on ``dev``?"""
    ok = ip("-n", ns, "link", "add", "link", dev, "name", "tprobe0", "type", "macvtap", "mode", mode,
            check=False).returncode == 0
    ip("-n", ns, "link", "del", "tprobe0", check=False)
    return ok


def test_bridge_mode_joins_an_existing_host_bridge_and_leaves_it(netns, tmp_path):
    ip("-n", netns.host, "link", "add", "brhost0", "type", "bridge")
    mgr = make_manager(netns, tmp_path)
    ref = mgr.define("<network><name>hb</name><forward mode='bridge'/><bridge name='brhost0'/></network>")
    xml = mgr.xml_desc(ref)
    assert "<bridge name='brhost0'/>" in xml and "stp" not in xml  # as libvirt writes it
    before = link_names(netns.host)
    mgr.start(ref)
    assert mgr.is_active(ref) and mgr.bridge_for("hb") == "brhost0"
    assert link_names(netns.host) == before  # nothing made: no bridge, no dnsmasq
    assert mgr.dnsmasq_pid("hb") is None
    mgr.destroy(ref)
    assert "brhost0" in link_names(netns.host)  # the host's bridge stays


def test_bridge_mode_refuses_a_missing_bridge_clearly(netns, tmp_path):
    mgr = make_manager(netns, tmp_path)
    ref = mgr.define("<network><name>hb</name><forward mode='bridge'/><bridge name='brnone0'/></network>")
    with pytest.raises(DriverError) as exc:
        mgr.start(ref)
    assert exc.value.code == C.VIR_ERR_OPERATION_FAILED
    assert "brnone0" in exc.value.detail and "does not exist" in exc.value.detail
    assert not mgr.is_active(ref)
    assert "brnone0" not in link_names(netns.host)


@pytest.mark.parametrize("mode,kernel_mode", [("bridge", "bridge"), ("private", "private"), ("vepa", "vepa"),
                                              ("passthrough", "passthru")])
def test_macvtap_modes_start_where_the_kernel_can_and_refuse_clearly_otherwise(netns, tmp_path, mode,
                                                                             kernel_mode):
    ip("-n", netns.host, "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1")
    can = kernel_can_macvtap(netns.host, "uplink0", kernel_mode)
    mgr = make_manager(netns, tmp_path)
    ref = mgr.define(f"<network><name>mv</name><forward dev='uplink0' mode='{mode}'/></network>")
    assert f"<forward dev='uplink0' mode='{mode}'>" in mgr.xml_desc(ref)
    before = link_names(netns.host)
    if can:
        mgr.start(ref)
        assert mgr.is_active(ref)
        with pytest.raises(DriverError) as exc:  # no bridge: guests of our drivers cannot join it yet
            mgr.bridge_for("mv")
        assert exc.value.code == C.VIR_ERR_CONFIG_UNSUPPORTED and "macvtap" in exc.value.detail
        mgr.destroy(ref)
        assert "uplink0" in link_names(netns.host)
    else:
        with pytest.raises(DriverError) as exc:
            mgr.start(ref)
        assert exc.value.code == C.VIR_ERR_OPERATION_FAILED and "macvtap" in exc.value.detail
    assert link_names(netns.host) == before  # the probe link is gone


def test_macvtap_mode_refuses_a_missing_device(netns, tmp_path):
    mgr = make_manager(netns, tmp_path)
    ref = mgr.define("<network><name>mv</name><forward mode='vepa'><interface dev='nodev0'/></forward></network>")
    with pytest.raises(DriverError) as exc:
        mgr.start(ref)
    assert exc.value.code == C.VIR_ERR_OPERATION_FAILED and "'nodev0' " in exc.value.detail


def test_hostdev_mode_is_refused_at_start(netns, tmp_path):
    mgr = make_manager(netns, tmp_path)
    ref = mgr.define("<network><name>hd</name><forward mode='hostdev' managed='yes'><pf dev='eth9'/></forward>"
                     "</network>")
    with pytest.raises(DriverError) as exc:
        mgr.start(ref)
    assert exc.value.code == C.VIR_ERR_CONFIG_UNSUPPORTED and "hostdev" in exc.value.detail
    assert not mgr.is_active(ref)
