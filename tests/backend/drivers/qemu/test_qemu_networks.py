"""Virtual networks on ``qemu:///system``, for real, inside a network namespace made for each test.

A child Python (``netns_child.py``) runs inside ``ip netns exec NS`` with
``$GUIAPP_SYSTEM_ROOT`` pointing at a temporary directory, so the bridge,
dnsmasq, NAT rules, taps and every file stay inside what the test made.
"""

from __future__ import annotations

import glob
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from lxml import etree
from netns_child import NetnsPython, RemoteError
from qemu_testlib import QEMU, dom_dir, guest_xml, qemu_processes_under, wait_for

import guiapp.backend as libvirt
from guiapp.backend.drivers.qemu.command import RunPaths, build_command
from guiapp.backend.hostnet import session
from guiapp.backend.xml.domain import parse_domain

REPO = str(Path(__file__).resolve().parents[4])


def _why_no_netns() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, bridges, taps)"
    for tool in ("ip", "dnsmasq"):
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
            return f"'{tool}' is not installed"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing"
    if QEMU is None:
        return "qemu-system-x86_64 is not installed"
    return None


def ns_ip(ns: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True)


def ns_links(ns: str) -> dict[str, dict]:
    """Interfaces of namespace ``ns`` by name (``ip -j -d link``)."""
    out = ns_ip(ns, "-j", "-d", "link", "show").stdout
    return {row["ifname"]: row for row in json.loads(out or "[]")}


def firewall_rules(host: SystemHost, net_uuid: str) -> bool:
    """Whether the namespace has NAT rules of the network with this UUID (nft or iptables, whichever is here)."""
    hexs = net_uuid.replace("-", "")
    if shutil.which("nft", path="/usr/sbin:/sbin:" + os.environ.get("PATH", "")):
        out = subprocess.run(["ip", "netns", "exec", host.ns, "nft", "list", "ruleset"], capture_output=True,
                             text=True).stdout
        return f"guiapp_{hexs}" in out and "masquerade" in out
    out = subprocess.run(["ip", "netns", "exec", host.ns, "iptables", "-t", "nat", "-S"], capture_output=True,
                         text=True).stdout
    return f"guiapp:{hexs}" in out and "MASQUERADE" in out


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


class SystemHost:
    """A namespace playing the host, a system root directory, and the child Python living in both."""

    def __init__(self, tmp: Path) -> None:
        self.ns = f"guiapp-netq-{uuid.uuid4().hex[:8]}"
        self.root = tmp / "sys"
        self.root.mkdir()
        subprocess.run(["ip", "netns", "add", self.ns], check=True, capture_output=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True, capture_output=True)
        env = {**os.environ, "PYTHONPATH": REPO, "GUIAPP_SYSTEM_ROOT": str(self.root),
               "XDG_RUNTIME_DIR": str(tmp), "XDG_CONFIG_HOME": str(tmp / "cfg")}
        env.pop("LIBVIRT_DEFAULT_URI", None)
        self.py = NetnsPython(self.ns, env, str(tmp / "child.stderr"))

    @property
    def qemu_run(self) -> Path:
        return self.root / "run/guiapp/qemu"

    @property
    def net_run(self) -> Path:
        return self.root / "run/guiapp/network"

    def console(self, name: str) -> str:
        try:
            return (dom_dir(self.qemu_run, name) / "console.log").read_text(errors="replace")
        except OSError:
            return ""

    def cleanup(self) -> list[int]:
        """Stop the child, kill what it may have left, delete the namespace; returns QEMU pids left running."""
        self.py.close()
        left = qemu_processes_under(str(self.root))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        for pidfile in glob.glob(str(self.net_run / "*.pid")):
            try:
                pid = int(Path(pidfile).read_text().strip())
                if b"dnsmasq" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        return left


@pytest.fixture
def host(tmp_path):
    why = _why_no_netns()
    if why:
        pytest.skip(why)
    try:
        h = SystemHost(tmp_path)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot create a network namespace here: {exc.stderr}")
    try:
        yield h
    finally:
        left = h.cleanup()
    assert not left, f"the test left QEMU processes running: {left}"


def type_on_tty(tty: str, line: str, hold: float = 1.5) -> None:
    """Type ``line`` on a guest's serial pty, keeping it open (and drained) for ``hold`` s so QEMU reads it."""
    fd = os.open(tty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        os.write(fd, line.encode() + b"\n")
        deadline = time.monotonic() + hold
        while (left := deadline - time.monotonic()) > 0:
            if select.select([fd], [], [], left)[0]:
                try:
                    os.read(fd, 4096)
                except OSError:
                    break
    finally:
        os.close(fd)


NIC = "<interface type='network'><source network='{net}'/>{target}<model type='virtio'/></interface>"


@pytest.mark.qemu
@pytest.mark.slow
def test_default_network_guests_dhcp_ping_taps_and_destroy(host, tiny_guest):
    kernel, initrd = tiny_guest
    py = host.py
    # -- opening changes nothing; the daemon's autostart defines and starts the default network
    info = py.run(textwrap.dedent("""
        from guiapp.backend.autostart import autostart
        conn = libvirt.open('qemu:///system')
        assert conn.listAllNetworks() == []
        autostart(conn)
        net = conn.networkLookupByName('default')
        result = dict(type=conn.getType(), active=net.isActive(), persistent=net.isPersistent(),
                      autostart=net.autostart(), bridge=net.bridgeName(), names=conn.listNetworks(),
                      xml=net.XMLDesc(0))
    """))
    assert info["type"] == "QEMU" and info["names"] == ["default"]
    assert (info["active"], info["persistent"], info["autostart"]) == (1, 1, 1)
    br = info["bridge"]
    assert br == "virbr0" and "192.168.22.1" in info["xml"]
    links = ns_links(host.ns)
    assert links[br]["linkinfo"]["info_kind"] == "bridge"
    assert "192.168.22.1/24" in ns_ip(host.ns, "-o", "addr", "show", "dev", br).stdout
    net_uuid = etree.fromstring(info["xml"]).findtext("uuid")
    dnsmasq_pid = int((host.net_run / f"{net_uuid}.pid").read_text())  # dnsmasq's files are named by UUID
    assert pid_alive(dnsmasq_pid)
    assert firewall_rules(host, net_uuid) is True

    # -- guests on missing or inactive networks are refused before anything starts
    with pytest.raises(RemoteError) as ei:
        py.run(f"conn.createXML({guest_xml('lost', kernel, initrd, nics=NIC.format(net='nosuch', target=''))!r})")
    assert ei.value.code == libvirt.VIR_ERR_NO_NETWORK and "nosuch" in str(ei.value)
    py.run("conn.networkDefineXML(\"<network><name>quiet</name><ip address='10.77.0.1' netmask='255.255.255.0'/>"
           "</network>\")")
    with pytest.raises(RemoteError) as ei:
        py.run(f"conn.createXML({guest_xml('idle', kernel, initrd, nics=NIC.format(net='quiet', target=''))!r})")
    assert ei.value.code == libvirt.VIR_ERR_OPERATION_INVALID and "not active" in str(ei.value)
    assert list(host.qemu_run.glob("*/pid")) == []

    # -- two guests on 'default': one gets vnetN, the other the seed's <target dev='vnet7'/>
    specs = {"neta": "", "netb": "<target dev='vnet7'/>"}
    for name, target in specs.items():
        xml = guest_xml(name, kernel, initrd, cmdline="guiapp.dhcp", nics=NIC.format(net="default", target=target))
        py.run(f"{name} = conn.createXML({xml!r}, 0)")
    xmls = {n: etree.fromstring(py.run(f"result = {n}.XMLDesc(0)").encode()) for n in specs}
    macs = {n: x.find("devices/interface/mac").get("address") for n, x in xmls.items()}
    taps = {n: x.find("devices/interface/target").get("dev") for n, x in xmls.items()}
    assert taps["netb"] == "vnet7" and taps["neta"].startswith("vnet") and taps["neta"] != "vnet7"
    links = ns_links(host.ns)
    for n, tap in taps.items():
        assert links[tap]["linkinfo"]["info_kind"] == "tun" and links[tap].get("master") == br, links[tap]
        assert links[tap]["address"] == "fe" + macs[n][2:]  # libvirt's host-side MAC
    for n in specs:
        wait_for(lambda n=n: "GUIAPP-IP " in host.console(n), 40, f"a DHCP address on {n}: {host.console(n)[-800:]}")
    addr = {n: host.console(n).split("GUIAPP-IP ", 1)[1].split()[0] for n in specs}
    assert all(a.startswith("192.168.22.") for a in addr.values()) and addr["neta"] != addr["netb"]

    # -- the leases, through the network API
    leases = py.run("result = net.DHCPLeases()")
    assert sorted((r["mac"], r["ipaddr"], r["iface"]) for r in leases) == \
        sorted((macs[n], addr[n], br) for n in specs)
    assert py.run(f"result = [r['ipaddr'] for r in net.DHCPLeases({macs['netb']!r})]") == [addr["netb"]]

    # -- they ping each other
    for me, other in (("neta", "netb"), ("netb", "neta")):
        tty = xmls[me].find("devices/serial").get("tty")
        type_on_tty(tty, f"ping -c 1 -W 3 {addr[other]} >/dev/null && echo PINGED-$((40+2))-{other}")
        wait_for(lambda me=me, other=other: f"PINGED-42-{other}" in host.console(me), 15,
                 f"{me} to ping {other}: {host.console(me)[-800:]}")

    # -- <target dev> names already taken are refused before QEMU starts; a free persistent tap is used and kept
    def netc(target: str) -> str:
        return guest_xml("netc", kernel, initrd, nics=NIC.format(net="default", target=f"<target dev='{target}'/>"))

    for target, words in (("vnet7", "running domain 'netb'"), (br, "already exists")):
        with pytest.raises(RemoteError) as ei:
            py.run(f"conn.createXML({netc(target)!r})")
        assert ei.value.code == libvirt.VIR_ERR_OPERATION_FAILED and words in str(ei.value), ei.value
    assert ns_ip(host.ns, "tuntap", "add", "dev", "mytap0", "mode", "tap").returncode == 0
    py.run(f"netc = conn.createXML({netc('mytap0')!r})")
    assert ns_links(host.ns)["mytap0"].get("master") == br
    py.run("netc.destroy()")
    assert "mytap0" in ns_links(host.ns)  # not ours to delete

    # -- the network cannot go while guests use it
    with pytest.raises(RemoteError) as ei:
        py.run("net.destroy()")
    assert ei.value.code == libvirt.VIR_ERR_OPERATION_INVALID
    assert "neta" in str(ei.value) and "netb" in str(ei.value)
    assert py.run("result = net.isActive()") == 1 and br in ns_links(host.ns)

    # -- destroying a guest removes its tap; a guest killed behind our back stops counting as a user
    py.run("neta.destroy()")
    assert taps["neta"] not in ns_links(host.ns)
    with pytest.raises(RemoteError, match="netb"):
        py.run("net.destroy()")
    netb_dir = dom_dir(host.qemu_run, "netb")
    pid = int((netb_dir / "pid").read_text())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: taps["netb"] not in ns_links(host.ns), 10, "the dead guest's tap to go")
    # the kernel drops the tap at once; the driver learns of the death from QEMU's monitor closing, a moment
    # later: until then netb still counts as a user (the transient guest that died is then gone)
    wait_for(lambda: py.run("result = [d.name() for d in conn.listAllDomains()]") == [], 10, "netb to be gone")

    # -- with no guest left, destroy removes bridge, dnsmasq and rules
    py.run("net.destroy()")
    assert py.run("result = [net.isActive(), conn.listNetworks(), sorted(conn.listDefinedNetworks())]") == \
        [0, [], ["default", "quiet"]]
    assert br not in ns_links(host.ns)
    assert not pid_alive(dnsmasq_pid)
    assert firewall_rules(host, net_uuid) is False
    assert not netb_dir.exists()  # the dead transient guest's runtime files went with it


def test_network_api_and_autostart_once_per_boot(host):
    py = host.py
    got = py.run(textwrap.dedent("""
        from guiapp.backend.autostart import autostart
        conn = libvirt.open('qemu:///system')
        at_open = [n.name() for n in conn.listAllNetworks()]  # opening defines and starts nothing
        autostart(conn)  # what the daemon does at its start: defines 'default' (once) and starts it
        net = conn.networkLookupByName('default')
        net.destroy()
        net.setAutostart(0)
        other = conn.networkDefineXML(
            "<network><name>lab</name><forward mode='nat'/><bridge name='labbr0'/>"
            "<ip address='10.66.0.1' netmask='255.255.255.0'><dhcp><range start='10.66.0.10' end='10.66.0.20'/>"
            "</dhcp></ip></network>")
        other.setAutostart(1)
        conn.close()
        again = libvirt.open('qemu:///system')
        autostart(again)  # once per boot, not at every call
        first = sorted(again.listNetworks())
        guest = ("<domain type='qemu'><name>preview</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
                 "<devices><interface type='network'><source network='%s'/></interface></devices></domain>")
        argv = again.domainXMLToNative('qemu-argv', guest % 'default', 0)  # a preview: the network may be down
        try:
            again.domainXMLToNative('qemu-argv', guest % 'nosuch', 0)
            missing = None
        except libvirt.libvirtError as exc:
            missing = exc.get_error_code()
        ro = libvirt.openReadOnly('qemu:///system')
        try:
            ro.networkLookupByName('lab').create()
            denied = None
        except libvirt.libvirtError as exc:
            denied = exc.get_error_code()
        result = dict(at_open=at_open, first=first, defined=sorted(again.listDefinedNetworks()), denied=denied,
                      missing=missing,
                      tap='tap,id=hostnet0,ifname=vnet0,script=no' in argv,
                      ro_names=[n.name() for n in ro.listAllNetworks()])
        again.close(); ro.close()
    """))
    assert got == {"at_open": [], "first": [], "defined": ["default", "lab"],
                   "denied": libvirt.VIR_ERR_OPERATION_DENIED,
                   "missing": libvirt.VIR_ERR_NO_NETWORK, "tap": True, "ro_names": ["default", "lab"]}
    # a new boot (the runtime directory is on tmpfs): autostart networks come up when the daemon starts
    (host.net_run / "autostarted").unlink()
    got = py.run(textwrap.dedent("""
        c = libvirt.open('qemu:///system')
        assert c.listNetworks() == []  # not by opening
        autostart(c)
        result = [sorted(c.listNetworks()), c.networkLookupByName('lab').bridgeName(),
                  [n.name() for n in c.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_AUTOSTART)]]
    """))
    assert got == [["lab"], "labbr0", ["lab"]]
    assert "labbr0" in ns_links(host.ns) and "virbr0" not in ns_links(host.ns)
    py.run("c.networkLookupByName('lab').destroy(); c.close()")
    assert "labbr0" not in ns_links(host.ns)


def test_system_root_must_be_absolute(tmp_path):
    code = ("import guiapp.backend as libvirt\n"
            "try:\n    libvirt.open('qemu:///system')\nexcept libvirt.libvirtError as e:\n"
            "    print(e.get_error_code(), e)\n")
    env = {**os.environ, "PYTHONPATH": REPO, "GUIAPP_SYSTEM_ROOT": "relative/dir"}
    if os.geteuid() != 0 or QEMU is None:
        pytest.skip("qemu:///system needs root and QEMU")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.stdout.startswith(f"{libvirt.VIR_ERR_OPEN_FAILED} ") and "GUIAPP_SYSTEM_ROOT" in out.stdout, out
    assert not (tmp_path / "relative").exists()


def test_session_without_tap_rights_says_what_to_do(tmp_path):
    """A session without CAP_NET_ADMIN cannot create taps: a clear CONFIG_UNSUPPORTED error, nothing started."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None or QEMU is None:
        pytest.skip("needs root (to drop CAP_NET_ADMIN with setpriv) and QEMU")
    if session.bridge_helper_for("virbr0") is not None:
        pytest.skip("qemu-bridge-helper is allowed on virbr0 here: the session would use it")
    code = textwrap.dedent(f"""
        import guiapp.backend as libvirt
        c = libvirt.open('qemu:///session')
        xml = ("<domain type='qemu'><name>captive</name><memory unit='MiB'>64</memory>"
               "<os><type>hvm</type></os><devices>{NIC.format(net='default', target='')}</devices></domain>")
        try:
            c.createXML(xml, 0)
            print('STARTED')
        except libvirt.libvirtError as e:
            print(e.get_error_code(), e)
        try:
            c.listNetworks()
        except libvirt.libvirtError as e:
            print(e.get_error_code())
        print(c.listAllDomains())
    """)
    env = {**os.environ, "PYTHONPATH": REPO, "XDG_RUNTIME_DIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    try:
        out = subprocess.run(["setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", sys.executable, "-c",
                              code], capture_output=True, text=True, env=env, timeout=60)
        lines = out.stdout.splitlines()
        assert len(lines) == 3, out
        assert lines[0].startswith(f"{libvirt.VIR_ERR_CONFIG_UNSUPPORTED} "), out
        assert "qemu:///session" in lines[0] and "qemu-bridge-helper" in lines[0] and "'default'" in lines[0]
        assert lines[1] == str(libvirt.VIR_ERR_NO_SUPPORT)  # session connections have no network API
        assert lines[2] == "[]"
    finally:
        for pid in qemu_processes_under(str(tmp_path)):
            os.kill(pid, signal.SIGKILL)


def test_bridge_helper_command_line():
    xml = guest_xml("helped", "/k", "/i", nics=NIC.format(net="default", target="") +
                    "<interface type='bridge'><source bridge='br7'/></interface>")
    seen = []

    def helper(bridge: str, what: str) -> str:
        seen.append((bridge, what))
        return "/usr/lib/qemu/qemu-bridge-helper"

    paths = RunPaths("/r/q", "/r/c", "/r/p", "/r/l", "/r/v")
    cmd = build_command(parse_domain(xml), paths, kvm_usable=False, resolve_bridge=lambda n: f"br-{n}",
                        check_files=False, bridge_helper=helper)
    netdevs = [cmd.argv[i + 1] for i, a in enumerate(cmd.argv) if a == "-netdev"]
    assert netdevs == ["bridge,id=hostnet0,br=br-default,helper=/usr/lib/qemu/qemu-bridge-helper",
                       "bridge,id=hostnet1,br=br7,helper=/usr/lib/qemu/qemu-bridge-helper"]
    assert seen == [("br-default", "network:default"), ("br7", "bridge:br7")] and cmd.taps == []
