"""The network API (libvirt-python's names) on the test driver, compared with libvirt's own test driver."""

from __future__ import annotations

import sys

import pytest
from lxml import etree

import guiapp.backend as libvirt

NET_XML = """<network>
  <name>net1</name>
  <forward mode='nat'/>
  <ip address='10.7.0.1' prefix='24'>
    <dhcp>
      <range start='10.7.0.10' end='10.7.0.20'/>
      <host mac='52:54:00:00:00:01' name='g1' ip='10.7.0.5'/>
    </dhcp>
  </ip>
</network>
"""

GUEST_XML = """<domain type='test'>
  <name>{name}</name>
  <memory>65536</memory>
  <os><type>hvm</type></os>
  <devices>
    <interface type='network'><mac address='{mac}'/><source network='{net}'/></interface>
  </devices>
</domain>
"""


@pytest.fixture(autouse=True)
def quiet_errors():
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    yield
    libvirt.registerErrorHandler(None, None)


@pytest.fixture
def conn():
    c = libvirt.open("test:///default")
    yield c
    c.close()


def code_of(fn, *args):
    """The libvirt error code ``fn(*args)`` fails with (guiapp's or the real libvirtError)."""
    with pytest.raises(Exception) as exc:
        fn(*args)
    assert type(exc.value).__name__ == "libvirtError", repr(exc.value)
    return exc.value.get_error_code()


def canon(xml: str) -> bytes:
    return etree.tostring(etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True)), method="c14n")


def real_libvirt():
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import libvirt as real  # type: ignore[import-not-found]
    except ImportError:
        return None
    finally:
        sys.path.remove("/usr/lib/python3/dist-packages")
    real.registerErrorHandler(lambda ctx, err: None, None)
    return real


def snapshot(lib, conn) -> dict:
    n = conn.networkLookupByName("default")
    return {
        "list": conn.listNetworks(), "defined": conn.listDefinedNetworks(), "num": conn.numOfNetworks(),
        "numdef": conn.numOfDefinedNetworks(), "all": [x.name() for x in conn.listAllNetworks()],
        "uuid": n.UUIDString(), "bridge": n.bridgeName(), "active": n.isActive(), "persistent": n.isPersistent(),
        "autostart": n.autostart(), "xml": canon(n.XMLDesc()),
        "by_uuid": conn.networkLookupByUUIDString(n.UUIDString()).name(), "raw_uuid": n.UUID(),
        "missing": code_of(conn.networkLookupByName, "nope"),
        "start_active": code_of(n.create), "undefine_active": code_of(n.undefine),
    }


def test_default_network_matches_real_libvirt(conn):
    mine = snapshot(libvirt, conn)
    assert mine["list"] == ["default"] and mine["bridge"] == "virbr0" and mine["active"] == 1
    assert mine["missing"] == libvirt.VIR_ERR_NO_NETWORK
    real = real_libvirt()
    if real is None:
        pytest.skip("python3-libvirt is not installed")
    rc = real.open("test:///default")
    try:
        assert snapshot(real, rc) == mine
    finally:
        rc.close()


def test_define_start_destroy_undefine(conn):
    net = conn.networkDefineXML(NET_XML)
    assert isinstance(net, libvirt.virNetwork) and net.name() == "net1"
    assert (net.isActive(), net.isPersistent(), net.autostart()) == (0, 1, 0)
    assert net.bridgeName() == "virbr1"  # virbr0 belongs to 'default'
    assert conn.listDefinedNetworks() == ["net1"] and conn.numOfDefinedNetworks() == 1
    assert net.create() == 0
    assert conn.listNetworks() == ["default", "net1"] and net.isActive() == 1
    assert net.setAutostart(1) == 0 and net.autostart() == 1
    assert code_of(net.create) == libvirt.VIR_ERR_OPERATION_INVALID
    # redefining a running network changes its next run only
    conn.networkDefineXML(net.XMLDesc().replace("10.7.0.20", "10.7.0.30"))
    assert "10.7.0.20" in net.XMLDesc() and "10.7.0.30" in net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    assert net.destroy() == 0 and net.isActive() == 0
    assert "10.7.0.30" in net.XMLDesc()
    assert code_of(net.destroy) == libvirt.VIR_ERR_OPERATION_INVALID
    assert net.undefine() == 0
    assert code_of(net.isActive) == libvirt.VIR_ERR_NO_NETWORK
    assert conn.listDefinedNetworks() == []


def test_transient_network_disappears_on_destroy(conn):
    net = conn.networkCreateXML(NET_XML)
    assert (net.isActive(), net.isPersistent()) == (1, 0)
    assert code_of(net.setAutostart, 1) == libvirt.VIR_ERR_OPERATION_INVALID
    assert code_of(net.undefine) == libvirt.VIR_ERR_OPERATION_INVALID
    net.destroy()
    assert code_of(conn.networkLookupByName, "net1") == libvirt.VIR_ERR_NO_NETWORK


def test_list_all_networks_filters(conn):
    conn.networkDefineXML(NET_XML)
    flags = {
        libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE: ["default"],
        libvirt.VIR_CONNECT_LIST_NETWORKS_INACTIVE: ["net1"],
        libvirt.VIR_CONNECT_LIST_NETWORKS_PERSISTENT: ["default", "net1"],
        libvirt.VIR_CONNECT_LIST_NETWORKS_TRANSIENT: [],
        libvirt.VIR_CONNECT_LIST_NETWORKS_AUTOSTART: [],
        libvirt.VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART: ["default", "net1"],
        0: ["default", "net1"],
    }
    for f, names in flags.items():
        assert [n.name() for n in conn.listAllNetworks(f)] == names, f
    assert code_of(conn.listAllNetworks, 1 << 20) == libvirt.VIR_ERR_INVALID_ARG
    assert code_of(conn.listAllNetworks, -1) == libvirt.VIR_ERR_INVALID_ARG


def test_bad_input_is_refused_and_changes_nothing(conn):
    before = (conn.listNetworks(), conn.listDefinedNetworks())
    cases = [
        (conn.networkDefineXML, "<network><name>default</name></network>", libvirt.VIR_ERR_OPERATION_FAILED),
        (conn.networkDefineXML, "<network><name>x</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>"
                                "</network>", libvirt.VIR_ERR_OPERATION_FAILED),
        (conn.networkDefineXML, "<network><name>y</name><bridge name='virbr0'/></network>",
         libvirt.VIR_ERR_OPERATION_FAILED),
        (conn.networkCreateXML, "<network><name>z</name><ip address='192.168.122.200' prefix='16'/></network>",
         libvirt.VIR_ERR_OPERATION_FAILED),
        (conn.networkDefineXML, "<network><name>w</name><ip address='10.0.0.1' prefix='24'><dhcp>"
                                "<range start='10.0.1.1' end='10.0.1.5'/></dhcp></ip></network>",
         libvirt.VIR_ERR_CONFIG_UNSUPPORTED),
        (conn.networkDefineXML, "<network>", libvirt.VIR_ERR_XML_DETAIL),
        (conn.networkDefineXML, 42, libvirt.VIR_ERR_INVALID_ARG),
        (conn.networkLookupByUUIDString, "not-a-uuid", libvirt.VIR_ERR_INVALID_ARG),
        (conn.networkLookupByUUIDString, "dd8fe884-6c02-601e-7551-cca97df1c5d0", libvirt.VIR_ERR_NO_NETWORK),
    ]
    for fn, arg, code in cases:
        assert code_of(fn, arg) == code, arg
        if code not in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_XML_DETAIL):
            assert libvirt.virGetLastError()[1] == libvirt.VIR_FROM_NETWORK
    assert (conn.listNetworks(), conn.listDefinedNetworks()) == before


def test_read_only_and_closed_connections():
    ro = libvirt.openReadOnly("test:///default")
    n = ro.networkLookupByName("default")
    assert n.isActive() == 1 and "virbr0" in n.XMLDesc()
    for fn, args in ((ro.networkDefineXML, (NET_XML,)), (ro.networkCreateXML, (NET_XML,)), (n.destroy, ()),
                     (n.create, ()), (n.undefine, ()), (n.setAutostart, (1,))):
        assert code_of(fn, *args) == libvirt.VIR_ERR_OPERATION_DENIED
    ro.close()
    assert code_of(n.isActive) == libvirt.VIR_ERR_INVALID_CONN
    assert code_of(ro.listNetworks) == libvirt.VIR_ERR_INVALID_CONN


def test_errors_reach_the_handlers(conn):
    seen = []
    conn.registerErrorHandler(lambda ctx, err: seen.append((ctx, err)), "ctx")
    code_of(conn.networkLookupByName, "nope")
    assert seen and seen[0][0] == "ctx" and seen[0][1][0] == libvirt.VIR_ERR_NO_NETWORK
    assert conn.virConnGetLastError()[2] == "Network not found: no network with matching name 'nope'"


def test_guests_on_a_network_get_leases_and_block_destroy(conn):
    net = conn.networkCreateXML(NET_XML)
    g1 = conn.createXML(GUEST_XML.format(name="g1", mac="52:54:00:00:00:01", net="net1"))
    conn.createXML(GUEST_XML.format(name="g2", mac="52:54:00:00:00:02", net="net1"))
    leases = {r["mac"]: r for r in net.DHCPLeases()}
    assert leases["52:54:00:00:00:01"]["ipaddr"] == "10.7.0.5"  # its static host entry
    other = leases["52:54:00:00:00:02"]
    assert other["hostname"] == "g2" and other["prefix"] == 24 and other["iface"] == net.bridgeName()
    assert 10 <= int(other["ipaddr"].rsplit(".", 1)[1]) <= 20
    assert net.DHCPLeases("52:54:00:00:00:02") == [other]
    assert code_of(net.DHCPLeases, None, 1) == libvirt.VIR_ERR_INVALID_ARG
    assert code_of(net.destroy) == libvirt.VIR_ERR_OPERATION_INVALID
    assert net.isActive() == 1
    g1.destroy()
    conn.lookupByName("g2").destroy()
    assert net.destroy() == 0


def test_node_file_networks(tmp_path):
    (tmp_path / "net.xml").write_text(NET_XML)
    node = tmp_path / "node.xml"
    node.write_text("<node><network file='net.xml'/><network><name>iso</name><bridge name='br9'/></network></node>")
    c = libvirt.open(f"test://{node}")
    try:
        assert c.listNetworks() == ["iso", "net1"]
        assert c.networkLookupByName("iso").bridgeName() == "br9"
        assert code_of(c.networkLookupByName("net1").bridgeName) == libvirt.VIR_ERR_INTERNAL_ERROR
    finally:
        c.close()
    node.write_text("<node><network file='net.xml'/><network file='net.xml'/></node>")
    assert code_of(libvirt.open, f"test://{node}") == libvirt.VIR_ERR_OPERATION_FAILED


# ------------------------------------------------------------------------------ the net-* commands
import io  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

from guiapp.backend import cli_net  # noqa: E402

CLI_COMMANDS = [
    "net-list", "net-list --all", "net-list --inactive", "net-list --name", "net-list --uuid --all",
    "net-list --persistent", "net-list --transient", "net-list --autostart", "net-list --no-autostart",
    "net-list --table --name", "net-dumpxml nope", "net-start default", "net-start nope", "net-undefine default",
    "net-autostart default", "net-autostart default --disable", "net-define {file}", "net-define /nonexistent",
    "net-dumpxml dd8fe884-6c02-601e-7551-cca97df1c5df", "net-destroy nope",
]


def run_cli(lib, command: str, quiet: bool = False) -> tuple[int, str, str]:
    """One command on a fresh test:///default connection of ``lib``, with virsh's closing blank line."""
    words = command.split()
    parser_args = {"network": None, "file": None, "mac": None}
    flags = [w[2:] for w in words[1:] if w.startswith("--")]
    plain = [w for w in words[1:] if not w.startswith("--")]
    spec = cli_net.SPECS[words[0]]
    positionals = [o[0] for o in spec[3] if o[3]]
    args = dict(parser_args, **{f: True for f in flags}, **dict(zip(positionals, plain, strict=False)))
    conn = lib.open("test:///default")
    out, err = io.StringIO(), io.StringIO()
    try:
        rc = spec[0](conn, args, out=out, err=err, quiet=quiet)
    finally:
        conn.close()
    if not quiet:
        out.write("\n")
    return rc, out.getvalue(), err.getvalue()


def run_virsh(command: str, quiet: bool = False) -> tuple[int, str, str]:
    argv = ["virsh", *(["-q"] if quiet else []), "-c", "test:///default", *command.split()]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/")
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "net1.xml"
    path.write_text(NET_XML)
    return str(path)


@pytest.mark.parametrize("command", CLI_COMMANDS)
def test_net_commands_over_real_libvirt_match_real_virsh(command, net_file):
    """Our handlers driving libvirt-python print exactly what virsh 9.0 prints."""
    real = real_libvirt()
    if real is None or not shutil.which("virsh"):
        pytest.skip("python3-libvirt / virsh are not installed")
    command = command.format(file=net_file)
    assert run_cli(real, command) == run_virsh(command)


@pytest.mark.parametrize("command", [c for c in CLI_COMMANDS if c not in ("net-destroy default",)])
def test_net_commands_over_guiapp_match_real_virsh(command, net_file):
    """Where our test driver behaves as libvirt's, guiapp's output is virsh's."""
    if not shutil.which("virsh"):
        pytest.skip("virsh is not installed")
    command = command.format(file=net_file)
    assert run_cli(libvirt, command) == run_virsh(command)


def test_net_list_quiet_and_leases_table():
    if shutil.which("virsh"):
        assert run_cli(libvirt, "net-list --all", quiet=True) == run_virsh("net-list --all", quiet=True)
    rc, out, err = run_cli(libvirt, "net-dhcp-leases default")
    lines = out.splitlines()
    assert rc == 0 and err == ""
    assert lines[0].split() == ["Expiry", "Time", "MAC", "address", "Protocol", "IP", "address", "Hostname",
                                "Client", "ID", "or", "DUID"]
    assert set(lines[1]) == {"-"} and len(lines[1]) == len(lines[0]) + 2  # the last header is the widest cell
    cells = lines[2].split()
    assert cells[2:] == ["aa:bb:cc:dd:ee:ff", "ipv4", cells[4], "test", "-"] and cells[4].endswith("/24")
    conn = libvirt.open("test:///default")
    out = io.StringIO()
    try:
        rc = cli_net.net_dhcp_leases(conn, {"network": "default", "mac": "52:54:00:00:00:99"}, out=out)
    finally:
        conn.close()
    assert rc == 0 and out.getvalue().count("\n") == 2  # header and dashes only


def test_register_wires_argparse():
    import argparse
    parser = argparse.ArgumentParser()
    cli_net.register(parser.add_subparsers(dest="cmd"))
    ns = parser.parse_args(["net-autostart", "default", "--disable"])
    assert ns.net_handler is cli_net.net_autostart and ns.network == "default" and ns.disable is True
    conn = libvirt.open("test:///default")
    out, err = io.StringIO(), io.StringIO()
    try:
        assert ns.net_handler(conn, ns, out=out, err=err) == 0
        assert out.getvalue() == "Network default unmarked as autostarted\n"
        ns = parser.parse_args(["net-dhcp-leases", "default", "--mac", "AA:BB:CC:DD:EE:FF"])
        out = io.StringIO()
        assert ns.net_handler(conn, ns, out=out, err=err) == 0 and "aa:bb:cc:dd:ee:ff" in out.getvalue()
    finally:
        conn.close()


def test_cli_commands_plug_into_guiapp_virsh(monkeypatch):
    """The Command adapter runs inside guiapp-virsh's own front-end, with its closing blank line and -q."""
    from guiapp.backend import cli
    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + cli_net.cli_commands())
    for argv in (["net-list", "--all"], ["-q", "net-list"], ["net-start", "nope"], ["net-autostart", "default"]):
        out, err = io.StringIO(), io.StringIO()
        rc = cli.run(["-c", "test:///default", *argv], libvirt, out, err)
        if shutil.which("virsh"):
            proc = subprocess.run(["virsh", "-c", "test:///default", *argv], capture_output=True, text=True,
                                  timeout=60, cwd="/")
            assert (rc, out.getvalue(), err.getvalue()) == (proc.returncode, proc.stdout, proc.stderr), argv
        else:
            assert rc == (1 if argv[0] == "net-start" else 0)
