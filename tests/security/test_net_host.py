"""Issue 11, items 1-3 with the real programs: dnsmasq and nft (iptables) inside a private network namespace.

Each attack from the audit is tried for real: if guiapp (wrongly) accepted the network, the test looks at
what dnsmasq answers or which rules nft holds, so a regression shows the attack working, not just a missing
error.  Then the fixed behaviour is asserted.  Everything runs in namespaces the test made (removed after).
"""

from __future__ import annotations

import json
import os

import pytest
from helpers.netns import ip  # tests/ is on sys.path (conftest.py)

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.hostnet import HostNetworks, dnsmasq
from guiapp.backend.hostnet import firewall as fw
from guiapp.backend.xml.network import parse_network

needs_nft = pytest.mark.skipif(fw.which("nft") is None, reason="nft is not installed")


def manager(netns, tmp_path, **kw) -> HostNetworks:
    return HostNetworks(str(tmp_path / "run"), str(tmp_path / "etc"), netns=netns.host, install_default=False, **kw)


def client(netns, bridge: str, tag: str, addr: str) -> str:
    """A namespace whose eth0 (address ``addr``) is a veth plugged into ``bridge`` of the host namespace."""
    ns = netns.add(tag)
    ip("-n", netns.host, "link", "add", f"v{tag}", "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("-n", netns.host, "link", "set", f"v{tag}", "master", bridge, "up")
    ip("-n", ns, "addr", "add", addr, "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    return ns


def lookup(netns, ns: str, name: str, server: str) -> str:
    out = netns.exec("busybox", "nslookup", name, server, ns=ns, timeout=20)
    return out.stdout + out.stderr


def try_start(mgr: HostNetworks, xml: str) -> DriverError | None:
    """Define and start ``xml``; the error when refused, None when (wrongly) running."""
    try:
        mgr.start(mgr.define(xml))
    except DriverError as exc:
        return exc
    return None


def nft_tables(netns) -> list[str]:
    out = netns.exec("nft", "-j", "list", "tables").stdout
    return sorted(t["table"]["name"] for t in json.loads(out)["nftables"] if "table" in t)


def nft_table(netns, name: str) -> str:
    return netns.exec("nft", "list", "table", "ip", name).stdout


# -- item 1: a DHCP host name injecting a DNS record ------------------------------------------------------------

def test_dhcp_host_name_cannot_inject_a_dns_record(netns, tmp_path):
    # dnsmasq must be able to read its hosts files under pytest's private (0700) tmp_path: keep it root
    mgr = manager(netns, tmp_path, dnsmasq_user="root")
    good = mgr.create("<network><name>good</name><bridge name='brG' stp='off'/><domain name='lab.example'/>"
                      "<ip address='10.81.0.1' prefix='24'><dhcp><range start='10.81.0.10' end='10.81.0.20'/>"
                      "<host mac='52:54:00:00:00:01' name='g1' ip='10.81.0.5'/></dhcp></ip></network>")
    c = client(netns, "brG", "dnsq", "10.81.0.99/24")
    assert "10.81.0.5" in lookup(netns, c, "g1", "10.81.0.1")  # the real dnsmasq answers for a static host
    mgr.destroy(good)

    attack = ("<network><name>evil</name><bridge name='brE' stp='off'/>"
              "<ip address='10.82.0.1' prefix='24'><dhcp><range start='10.82.0.10' end='10.82.0.20'/>"
              "<host mac='52:54:00:00:00:02' name='g2&#10;10.6.6.66 www.example.com' ip='10.82.0.5'/>"
              "</dhcp></ip></network>")
    err = try_start(mgr, attack)
    if err is None:  # the attack got through: show what it does
        c2 = client(netns, "brE", "dnse", "10.82.0.99/24")
        assert "10.6.6.66" not in lookup(netns, c2, "www.example.com", "10.82.0.1"), "injected DNS record served"
    assert err is not None and err.code == C.VIR_ERR_XML_ERROR and "g2\\n10.6.6.66" in err.detail
    assert mgr.list_names(active=False) == [] and mgr.list_names(active=True) == []
    assert not os.path.exists(tmp_path / "etc" / "evil.xml")


def test_dnsmasq_boundary_refuses_what_the_parser_would(netns, tmp_path):
    """A definition changed behind the parser's back never reaches dnsmasq: no file, no process."""
    mgr = manager(netns, tmp_path)
    d = parse_network("<network><name>b</name><bridge name='brB'/><ip address='10.83.0.1' prefix='24'><dhcp>"
                      "<range start='10.83.0.10' end='10.83.0.20'/><host mac='52:54:00:00:00:03' name='g3' "
                      "ip='10.83.0.5'/></dhcp></ip></network>")
    d.ipv4.hosts[0].name = "g3,ignore"
    files = mgr.files(d)
    with pytest.raises(DriverError) as exc:
        dnsmasq.start(mgr.run, d, files)
    assert exc.value.code == C.VIR_ERR_INVALID_ARG and "g3,ignore" in exc.value.detail
    assert not any(os.path.exists(p) for p in files.all())
    assert dnsmasq.read_pid(files) is None


# -- item 2: interface names reaching dnsmasq and nft ---------------------------------------------------------------

def test_bridge_name_with_a_comma_cannot_make_dnsmasq_listen_elsewhere(netns, tmp_path):
    # an interface 'eth0' with an address of its own in the "host"
    ip("-n", netns.host, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    ip("-n", netns.host, "addr", "add", "10.84.0.1/24", "dev", "eth0")
    ip("-n", netns.host, "link", "set", "eth0", "up")
    mgr = manager(netns, tmp_path)
    err = try_start(mgr, "<network><name>c</name><bridge name='gxc,eth0' stp='off'/>"
                         "<ip address='10.85.0.1' prefix='24'/></network>")
    if err is None:
        listening = netns.exec("ss", "-lnu").stdout
        assert "10.84.0.1:53" not in listening, "dnsmasq listens on eth0's address"
    assert err is not None and err.code == C.VIR_ERR_XML_ERROR and "gxc,eth0" in err.detail
    assert mgr.list_names(active=False) == [] and not list((tmp_path / "run").glob("*.pid"))


@needs_nft
def test_bridge_name_with_a_quote_cannot_turn_rejects_into_accepts(netns, tmp_path):
    mgr = manager(netns, tmp_path, firewall_backend="nft")
    err = try_start(mgr, "<network><name>iso</name><bridge name='x&quot;;accept#' stp='off'/>"
                         "<ip address='10.86.0.1' prefix='24'/></network>")
    if err is None:
        assert "reject" in netns.exec("nft", "list", "ruleset").stdout, "isolation rules were turned off"
    assert err is not None and err.code == C.VIR_ERR_XML_ERROR
    assert not [t for t in nft_tables(netns) if t.startswith("guiapp_")]
    # a well-named isolated network gets its reject rules, in its own table
    ref = mgr.create("<network><name>iso</name><bridge name='brI' stp='off'/>"
                     "<ip address='10.86.0.1' prefix='24'/></network>")
    table = nft_table(netns, fw.table_name(ref.uuid))
    assert 'iifname "brI" reject' in table and 'oifname "brI" reject' in table
    mgr.destroy(ref)


# -- item 3: one table per network ----------------------------------------------------------------------------------

def _three_networks(mgr: HostNetworks) -> dict[str, object]:
    refs = {}
    for i, br in enumerate(("gx.1", "gx_1", "gx-1")):
        refs[br] = mgr.create(f"<network><name>n{i}</name><forward mode='nat'/><bridge name='{br}' stp='off'/>"
                              f"<ip address='10.9{i}.0.1' prefix='24'/></network>")
    return refs


@needs_nft
def test_nft_tables_of_gx_1_networks_do_not_collide(netns, tmp_path):
    mgr = manager(netns, tmp_path, firewall_backend="nft")
    refs = _three_networks(mgr)
    tables = [t for t in nft_tables(netns) if t.startswith("guiapp_")]
    assert len(tables) == 3, tables
    mgr.destroy(refs["gx.1"])
    assert mgr.list_names(active=True) == ["n1", "n2"]
    for i, br in ((1, "gx_1"), (2, "gx-1")):
        table = nft_table(netns, fw.table_name(refs[br].uuid))
        assert f"ip saddr 10.9{i}.0.0/24 ip daddr != 10.9{i}.0.0/24 masquerade" in table
        assert f'oifname "{br}" reject' in table
        assert mgr.firewall_active(f"n{i}")
    assert fw.table_name(refs["gx.1"].uuid) not in nft_tables(netns)
    assert len([t for t in nft_tables(netns) if t.startswith("guiapp_")]) == 2
    mgr.destroy(refs["gx_1"])
    mgr.destroy(refs["gx-1"])
    assert not [t for t in nft_tables(netns) if t.startswith("guiapp_")]


@pytest.mark.skipif(fw.which("iptables") is None, reason="iptables is not installed")
def test_iptables_rules_of_gx_1_networks_do_not_collide(netns, tmp_path):
    mgr = manager(netns, tmp_path, firewall_backend="iptables")
    refs = _three_networks(mgr)

    def rules() -> str:
        return "".join(netns.exec("iptables", "-w", "-t", t, "-S").stdout for t in ("filter", "nat"))

    before = rules()
    mgr.destroy(refs["gx.1"])
    after = rules()
    assert fw.rule_tag(refs["gx.1"].uuid) in before and fw.rule_tag(refs["gx.1"].uuid) not in after
    for i, br in ((1, "gx_1"), (2, "gx-1")):
        tag = fw.rule_tag(refs[br].uuid)
        assert before.count(tag) == after.count(tag) == 8, (br, after)
        assert mgr.firewall_active(f"n{i}")
    mgr.destroy(refs["gx_1"])
    mgr.destroy(refs["gx-1"])
    assert "guiapp:" not in rules()


@needs_nft
def test_destroy_removes_what_an_older_guiapp_left_and_nothing_shared(netns, tmp_path):
    """A network started before the UUID naming (dnsmasq files by name, table by bridge) is cleaned up on destroy."""
    mgr = manager(netns, tmp_path, firewall_backend="nft")
    old = mgr.create("<network><name>old</name><forward mode='nat'/><bridge name='gx.1' stp='off'/>"
                     "<ip address='10.95.0.1' prefix='24'><dhcp><range start='10.95.0.10' end='10.95.0.20'/>"
                     "</dhcp></ip></network>")
    other = mgr.create("<network><name>other</name><forward mode='nat'/><bridge name='gx-1' stp='off'/>"
                       "<ip address='10.96.0.1' prefix='24'/></network>")
    # what the older guiapp had running for 'old': its dnsmasq named 'old.*' and the table guiapp_gx_1
    d = parse_network(mgr.xml_desc(old))
    dnsmasq.stop(mgr.files(d))
    legacy_files = dnsmasq.DnsmasqFiles(str(tmp_path / "run"), "old")
    legacy_pid = dnsmasq.start(mgr.run, d, legacy_files)
    assert netns.exec("nft", "add", "table", "ip", "guiapp_gx_1").returncode == 0

    mgr.destroy(old)
    assert dnsmasq.read_pid(legacy_files) is None and not any(os.path.exists(p) for p in legacy_files.all())
    assert not os.path.exists(f"/proc/{legacy_pid}/cmdline") or b"dnsmasq" not in open(
        f"/proc/{legacy_pid}/cmdline", "rb").read()
    tables = nft_tables(netns)
    assert "guiapp_gx_1" in tables  # 'gx-1' of the running 'other' maps to it too: kept
    assert fw.table_name(other.uuid) in tables and mgr.firewall_active("other")
    mgr.destroy(other)
    assert not [t for t in nft_tables(netns) if t.startswith("guiapp_")]
