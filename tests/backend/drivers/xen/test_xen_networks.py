"""Issue 15 item 7: ``<interface type='network'>`` on Xen through the connection's own network API.

The Xen connection manages the host's networks (the same store as qemu:///system, under a private
``GUIAPP_SYSTEM_ROOT``); here the host side runs for real inside a network namespace of the test (the bridge
is made there), oxenstored and the fake xl stand in for Xen, and Debian's real ``xl -N create`` reads every
xl.cfg the driver writes (the fake xl runs it first).
"""

from __future__ import annotations

import pytest
from helpers.netns import netns  # noqa: F401 - fixture
from xen_seed import FC4, without

import guiapp.backend as libvirt
from guiapp.backend import constants as C
from guiapp.backend.drivers.xen import networks as xen_networks
from guiapp.backend.drivers.xen.xlcfg import parse_cfg
from guiapp.backend.hostnet import HostNetworks

NET = """<network><name>xnet</name><bridge name='xbr7'/>
  <ip address='10.77.0.1' prefix='24'/></network>"""
GUEST = without(FC4, "<interface type='bridge'>\n      <source bridge='xenbr0'/>",
                "<interface type='network'>\n      <source network='xnet'/>")


@pytest.fixture
def conn(xen_env, netns, tmp_path, monkeypatch):  # noqa: F811 - the netns fixture
    monkeypatch.setenv("GUIAPP_SYSTEM_ROOT", str(tmp_path / "root"))
    made: list[HostNetworks] = []

    def in_namespace(runtime: str, config: str, **kw) -> HostNetworks:
        made.append(HostNetworks(runtime, config, netns=netns.host, **kw))
        return made[-1]
    monkeypatch.setattr(xen_networks.HostNetworks, "shared", staticmethod(in_namespace))
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    c = libvirt.open("xen:///")
    yield c
    c.close()
    libvirt.registerErrorHandler(None, None)


def _cfg(xen_env_dir, name: str) -> dict:
    return parse_cfg((xen_env_dir / "state" / f"{name}.cfg").read_text())


def test_network_interface_joins_the_running_networks_bridge(conn, tmp_path):
    assert (tmp_path / "root").exists() is False  # opening the connection made nothing
    net = conn.networkDefineXML(NET)
    dom = conn.defineXML(GUEST)  # a definition only needs the XML to be valid
    with pytest.raises(libvirt.libvirtError) as exc:
        dom.create()  # the network is not running
    assert exc.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID and "xnet" in exc.value.get_error_message()
    net.create()
    assert net.bridgeName() == "xbr7"
    native = conn.domainXMLToNative("xen-xl", GUEST, 0)
    assert parse_cfg(native)["vif"][0].split(",")[1] == "bridge=xbr7"
    dom.create()  # the fake xl had the real xl -N create read the cfg first
    assert _cfg(tmp_path, "fc4")["vif"] == ["mac=aa:00:00:00:00:11,bridge=xbr7,script=/etc/xen/scripts/vif-bridge"]
    with pytest.raises(libvirt.libvirtError) as exc:
        net.destroy()  # a running guest is on it
    assert exc.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID and "fc4" in exc.value.get_error_message()
    dom.destroy()
    net.destroy()
    net.undefine()
    dom.undefine()


def test_unknown_network_is_refused_at_start_and_preview(conn):
    dom = conn.defineXML(GUEST.replace("'xnet'", "'nosuch'"))
    for call in (dom.create, lambda: conn.domainXMLToNative("xen-xl", GUEST.replace("'xnet'", "'nosuch'"), 0)):
        with pytest.raises(libvirt.libvirtError) as exc:
            call()
        assert exc.value.get_error_code() == C.VIR_ERR_NO_NETWORK
    dom.undefine()


def test_other_interface_types_are_still_refused(conn):
    with pytest.raises(libvirt.libvirtError) as exc:
        conn.defineXML(GUEST.replace("<interface type='network'>\n      <source network='xnet'/>",
                                     "<interface type='user'>"))
    assert exc.value.get_error_code() == C.VIR_ERR_CONFIG_UNSUPPORTED
    assert "type='network'" in exc.value.get_error_message()


def test_listing_networks_on_a_fresh_host_creates_nothing(conn, tmp_path):
    assert conn.listNetworks() == [] and conn.listDefinedNetworks() == []
    assert not (tmp_path / "root").exists()  # no network store made by listing
    conn.networkDefineXML(NET)  # the first definition makes it
    assert (tmp_path / "root" / "etc/guiapp/qemu/networks/xnet.xml").exists()
    assert conn.listDefinedNetworks() == ["xnet"]
