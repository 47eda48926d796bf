"""The host side for real, inside network namespaces made by the test (never the machine's own interfaces)."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.hostnet import HostNetworks, NetworkOpsMixin
from guiapp.backend.hostnet import firewall as fw


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)

UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew) ip addr add "$ip/$mask" dev "$interface" && echo "LEASE $ip" ;;
esac
exit 0
"""


def links(ns: str) -> dict[str, dict]:
    return {r["ifname"]: r for r in json.loads(ip("-n", ns, "-j", "-d", "link", "show").stdout)}


def make_manager(netns, tmp_path, **kw) -> HostNetworks:
    return HostNetworks(str(tmp_path / "run"), str(tmp_path / "etc"), netns=netns.host, **kw)


def add_client(netns, bridge: str, tag: str) -> str:
    """A namespace whose eth0 is a veth plugged into ``bridge`` in the host namespace."""
    ns = netns.add(tag)
    ip("-n", netns.host, "link", "add", f"v{tag}", "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("-n", netns.host, "link", "set", f"v{tag}", "master", bridge, "up")
    ip("-n", ns, "link", "set", "eth0", "up")
    return ns


def dhcp(ns: str, hostname: str, script: str, out: dict) -> None:
    proc = subprocess.run(["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n",
                           "-t", "12", "-T", "1", "-x", f"hostname:{hostname}", "-s", script],
                          capture_output=True, text=True, timeout=40)
    out[hostname] = next((ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("LEASE ")), None)


def test_default_network_dhcp_dns_ping_and_clean_destroy(netns, tmp_path):
    mgr = make_manager(netns, tmp_path)
    assert mgr.list_names(active=False) == ["default"]
    ref = mgr.lookup_name("default")
    assert mgr.get_autostart(ref)
    assert mgr.autostart_all() == ["default"]
    assert mgr.is_active(ref)
    br = mgr.bridge_name(ref)
    info = links(netns.host)[br]
    assert info["linkinfo"]["info_kind"] == "bridge"
    addrs = json.loads(ip("-n", netns.host, "-j", "addr", "show", "dev", br).stdout)[0]["addr_info"]
    assert [(a["local"], a["prefixlen"]) for a in addrs if a["family"] == "inet"] == [("192.168.22.1", 24)]
    pid = mgr.dnsmasq_pid("default")
    assert pid is not None and os.path.exists(f"/proc/{pid}")
    assert mgr.firewall_active("default")

    # two clients get leases, resolve each other through dnsmasq and ping each other
    script = tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    c1, c2 = add_client(netns, br, "c1"), add_client(netns, br, "c2")
    got: dict[str, str | None] = {}
    threads = [threading.Thread(target=dhcp, args=(ns, name, str(script), got))
               for ns, name in ((c1, "guest1"), (c2, "guest2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got["guest1"] and got["guest2"] and got["guest1"] != got["guest2"]
    leases = {r["hostname"]: r for r in mgr.leases(ref)}
    assert leases["guest1"]["ipaddr"] == got["guest1"] and leases["guest1"]["prefix"] == 24
    assert leases["guest2"]["iface"] == br
    look = subprocess.run(["ip", "netns", "exec", c1, "busybox", "nslookup", "guest2", "192.168.22.1"],
                          capture_output=True, text=True, timeout=10)
    assert got["guest2"] in look.stdout, look.stdout + look.stderr
    ping = subprocess.run(["ip", "netns", "exec", c1, "busybox", "ping", "-c", "1", "-W", "3", got["guest2"]],
                          capture_output=True, text=True, timeout=10)
    assert ping.returncode == 0, ping.stdout + ping.stderr

    # a network used by a running guest refuses to go away, and nothing changes
    mgr.users = lambda name: ["vm1"] if name == "default" else []
    with pytest.raises(DriverError) as exc:
        mgr.destroy(ref)
    assert exc.value.code == C.VIR_ERR_OPERATION_INVALID and "vm1" in exc.value.detail
    assert mgr.is_active(ref) and br in links(netns.host) and mgr.dnsmasq_pid("default") == pid

    mgr.users = lambda name: []
    mgr.destroy(ref)
    assert not mgr.is_active(ref)
    assert br not in links(netns.host)
    assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().rpartition(")")[2][:3]
    assert not mgr.firewall_active("default")
    assert sorted(os.listdir(tmp_path / "run")) == [".lock"]


def test_tap_on_bridge_goes_with_its_fd(netns, tmp_path):
    mgr = make_manager(netns, tmp_path, install_default=False)
    ref = mgr.create("<network><name>iso</name><bridge name='brT' stp='off'/>"
                     "<ip address='10.55.0.1' prefix='24'/></network>")
    tap, fd = mgr.create_tap(None, "brT", "52:54:00:aa:bb:cc")
    try:
        assert tap.startswith("vnet")
        info = links(netns.host)[tap]
        assert info["master"] == "brT" and info["address"] == "fe:54:00:aa:bb:cc"
        named, fd2 = mgr.create_tap("vnet77", "brT", "52:54:00:aa:bb:cd")
        os.close(fd2)
        assert named == "vnet77" and "vnet77" not in links(netns.host)
    finally:
        os.close(fd)
    assert tap not in links(netns.host)
    mgr.delete_tap(tap)  # already gone: fine
    with pytest.raises(DriverError) as exc:
        mgr.create_tap(None, "nosuchbr", "52:54:00:aa:bb:cc")
    assert exc.value.code == C.VIR_ERR_OPERATION_FAILED
    mgr.destroy(ref)
    assert mgr.list_names(active=True) == [] and "brT" not in links(netns.host)


def test_bad_input_changes_nothing(netns, tmp_path):
    mgr = make_manager(netns, tmp_path, install_default=False)
    a = mgr.define("<network><name>a</name><forward mode='nat'/><bridge name='brA'/>"
                   "<ip address='10.66.0.1' prefix='16'/></network>")
    mgr.start(a)
    before = sorted(links(netns.host))
    cases = [
        # overlapping subnet with an active network
        ("<network><name>b</name><bridge name='brB'/><ip address='10.66.5.1' prefix='24'/></network>",
         C.VIR_ERR_OPERATION_FAILED, "overlaps"),
        # bridge name of another network
        ("<network><name>c</name><bridge name='brA'/><ip address='10.67.0.1' prefix='24'/></network>",
         C.VIR_ERR_OPERATION_FAILED, "already in use"),
        # bridge name taken by a host interface that is not ours
        ("<network><name>d</name><bridge name='lo'/></network>", C.VIR_ERR_OPERATION_FAILED, "host interface"),
        # DHCP range outside the subnet
        ("<network><name>e</name><ip address='10.68.0.1' prefix='24'><dhcp><range start='10.69.0.2' "
         "end='10.69.0.9'/></dhcp></ip></network>", C.VIR_ERR_CONFIG_UNSUPPORTED, "not entirely within"),
    ]
    for xml, code, words in cases:
        with pytest.raises(DriverError) as exc:
            mgr.create(xml)
        assert exc.value.code == code and words in exc.value.detail, exc.value.detail
        assert exc.value.domain == C.VIR_FROM_NETWORK
    assert sorted(links(netns.host)) == before
    assert mgr.list_names(active=True) == ["a"] and mgr.list_names(active=False) == []
    # a subnet already routed on the host (not one of ours) is refused too (a veth: no dummy module here)
    ip("-n", netns.host, "link", "add", "dummy7", "type", "veth", "peer", "name", "dummy7p")
    ip("-n", netns.host, "addr", "add", "10.70.0.1/24", "dev", "dummy7")
    ip("-n", netns.host, "link", "set", "dummy7", "up")
    f = mgr.define("<network><name>f</name><ip address='10.70.0.9' prefix='16'/></network>")
    with pytest.raises(DriverError) as exc:
        mgr.start(f)
    assert "dummy7" in exc.value.detail and not mgr.is_active(f)
    # another process (a second manager on the same directories) sees the same state
    other = make_manager(netns, tmp_path, install_default=False)
    assert other.list_names(active=True) == ["a"] and other.list_names(active=False) == ["f"]
    other.destroy(other.lookup_name("a"))
    assert mgr.list_names(active=True) == [] and "brA" not in links(netns.host)


@pytest.mark.skipif(fw.pick_backend() is None or not fw.which("iptables"), reason="iptables is not installed")
def test_iptables_backend_rules_added_and_removed(netns, tmp_path):
    mgr = make_manager(netns, tmp_path, install_default=False, firewall_backend="iptables")
    ref = mgr.create("<network><name>n</name><forward mode='nat'/><bridge name='brN' stp='off'/>"
                     "<ip address='10.71.0.1' prefix='24'/></network>")
    rules = subprocess.run(["ip", "netns", "exec", netns.host, "iptables", "-w", "-t", "nat", "-S"],
                           capture_output=True, text=True).stdout
    tag = fw.rule_tag(mgr.lookup_name("n").uuid)
    assert "MASQUERADE" in rules and tag in rules
    mgr.destroy(ref)
    for table in ("nat", "filter"):
        rules = subprocess.run(["ip", "netns", "exec", netns.host, "iptables", "-w", "-t", table, "-S"],
                               capture_output=True, text=True).stdout
        assert tag not in rules


def test_failed_start_is_rolled_back(netns, tmp_path):
    """dnsmasq refusing to start (unknown user) leaves no bridge, no rules, no files, no run state."""
    mgr = make_manager(netns, tmp_path, install_default=False, dnsmasq_user="no-such-user-guiapp")
    ref = mgr.define("<network><name>r</name><forward mode='nat'/><bridge name='brR' stp='off'/>"
                     "<ip address='10.72.0.1' prefix='24'><dhcp><range start='10.72.0.2' end='10.72.0.9'/>"
                     "</dhcp></ip></network>")
    with pytest.raises(DriverError) as exc:
        mgr.start(ref)
    assert exc.value.code == C.VIR_ERR_OPERATION_FAILED and "dnsmasq" in exc.value.detail
    assert not mgr.is_active(ref) and "brR" not in links(netns.host)
    assert not mgr.firewall_active("r")
    assert sorted(os.listdir(tmp_path / "run")) == [".lock"]
    mgr.dnsmasq_user = None
    mgr.start(ref)  # and it can start once fixed
    assert mgr.is_active(ref) and mgr.dnsmasq_pid("r") is not None
    mgr.destroy(ref)


class _HostDriver(NetworkOpsMixin):
    """The smallest driver a QEMU driver would be for networks: the mixin over HostNetworks."""

    error_domain = C.VIR_FROM_QEMU

    def __init__(self, nets: HostNetworks) -> None:
        self._networks = nets

    def get_type(self) -> str:
        return "QEMU"

    def get_uri(self) -> str:
        return "qemu:///system"

    def close(self) -> None:
        pass


def test_libvirt_api_over_the_host_side(netns, tmp_path):
    import guiapp.backend as libvirt
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    try:
        conn = libvirt.virConnect(_HostDriver(make_manager(netns, tmp_path)), "qemu:///system", False)
        net = conn.networkLookupByName("default")
        assert (net.isActive(), net.isPersistent(), net.autostart()) == (0, 1, 1)
        assert net.create() == 0 and conn.listNetworks() == ["default"]
        assert net.bridgeName() in links(netns.host) and net.DHCPLeases() == []
        new = conn.networkDefineXML("<network><name>lab</name><bridge name='brL' stp='off'/>"
                                    "<ip address='10.73.0.1' prefix='24'/></network>")
        assert (tmp_path / "etc" / "lab.xml").exists() and conn.listDefinedNetworks() == ["lab"]
        new.setAutostart(1)
        assert (tmp_path / "etc" / "autostart" / "lab").exists()
        with pytest.raises(libvirt.libvirtError) as exc:
            conn.networkCreateXML("<network><name>x</name><ip address='192.168.22.77' prefix='28'/></network>")
        assert exc.value.get_error_code() == C.VIR_ERR_OPERATION_FAILED
        assert exc.value.get_error_domain() == C.VIR_FROM_NETWORK
        ro = libvirt.virConnect(_HostDriver(make_manager(netns, tmp_path)), "qemu:///system", True)
        with pytest.raises(libvirt.libvirtError) as exc:
            ro.networkLookupByName("default").destroy()
        assert exc.value.get_error_code() == C.VIR_ERR_OPERATION_DENIED and net.isActive() == 1
        net.destroy()
        new.setAutostart(0)
        new.undefine()
        assert conn.listDefinedNetworks() == ["default"] and not (tmp_path / "etc" / "lab.xml").exists()
    finally:
        libvirt.registerErrorHandler(None, None)
