"""guiapp-virsh: commands, output layout (virsh 9.0's), errors and exit status."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

import guiapp.backend as libvirt
from guiapp.backend import cli

DEFAULT = "test:///default"
TEST_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"

NODE = """\
<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <cpu><mhz>2400</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>4</cores>
       <threads>2</threads><active>8</active></cpu>
  <memory>16777216</memory>
  <domain type='test'>
    <name>web</name><uuid>11111111-2222-3333-4444-000000000001</uuid>
    <memory>524288</memory><currentMemory>262144</currentMemory><vcpu current='1'>4</vcpu>
    <os><type>hvm</type></os><test:runstate>1</test:runstate>
  </domain>
  <domain type='test'>
    <name>db-paused</name><uuid>11111111-2222-3333-4444-000000000002</uuid>
    <memory>131072</memory><vcpu>1</vcpu>
    <os><type>hvm</type></os><test:runstate>3</test:runstate>
  </domain>
  <domain type='test'>
    <name>zeta</name><uuid>11111111-2222-3333-4444-000000000003</uuid>
    <memory>131072</memory><vcpu>1</vcpu>
    <os><type>hvm</type></os><test:runstate>5</test:runstate>
  </domain>
  <domain type='test'>
    <name>Alpha</name><uuid>11111111-2222-3333-4444-000000000004</uuid>
    <memory>131072</memory><vcpu>2</vcpu>
    <os><type>hvm</type></os><test:runstate>5</test:runstate>
  </domain>
  <domain type='test'>
    <name>b</name><uuid>11111111-2222-3333-4444-000000000005</uuid>
    <memory>262144</memory><vcpu>1</vcpu>
    <os><type>hvm</type></os><test:runstate>1</test:runstate>
  </domain>
  <domain type='test'>
    <name>42</name><uuid>11111111-2222-3333-4444-000000000006</uuid>
    <memory>131072</memory><vcpu>1</vcpu>
    <os><type>hvm</type></os><test:runstate>5</test:runstate>
  </domain>
</node>
"""

NEW_DOMAIN = """\
<domain type='test'>
  <name>fresh</name>
  <uuid>22222222-3333-4444-5555-666666666666</uuid>
  <memory unit='KiB'>262144</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
</domain>
"""


@pytest.fixture
def node(tmp_path: Path) -> str:
    path = tmp_path / "node.xml"
    path.write_text(NODE)
    return f"test://{path}"


def virsh(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run guiapp-virsh's main() in-process; (exit status, stdout, stderr)."""
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, no_hints(err)


def no_hints(err: str) -> str:
    """stderr without guiapp's ``hint: …`` lines (virsh has none; tests/backend/test_hints.py checks them)."""
    return "".join(line for line in err.splitlines(keepends=True) if not line.startswith("hint: "))


def shared(conn: libvirt.virConnect, *argv: str) -> tuple[int, str, str]:
    """Run one command on an already open connection (state carries over between commands)."""
    out, err = io.StringIO(), io.StringIO()
    rc = cli.run(list(argv), libvirt, out, err, conn=conn)
    return rc, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------------------- list
def test_list_default_node_layout(capsys):
    assert virsh("-c", DEFAULT, "list", capsys=capsys) == (
        0, " Id   Name   State\n----------------------\n 1    test   running\n\n", "")


def test_list_all_sorts_running_by_id_then_inactive_by_name(node, capsys):
    rc, out, err = virsh("-c", node, "list", "--all", capsys=capsys)
    assert (rc, err) == (0, "")
    assert out == (
        " Id   Name        State\n"
        "----------------------------\n"
        " 1    web         running\n"
        " 2    db-paused   paused\n"
        " 3    b           running\n"
        " -    42          shut off\n"
        " -    Alpha       shut off\n"
        " -    zeta        shut off\n"
        "\n")


def test_list_inactive_only(node, capsys):
    rc, out, _ = virsh("-c", node, "list", "--inactive", capsys=capsys)
    assert rc == 0
    assert out == (" Id   Name    State\n" + "-" * 24 + "\n"
                   " -    42      shut off\n -    Alpha   shut off\n -    zeta    shut off\n\n")


def test_list_empty_table_still_has_header(tmp_path, capsys):
    path = tmp_path / "empty.xml"
    path.write_text("<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>1</cores><threads>1</threads>"
                    "<active>1</active><mhz>1000</mhz><model>x86_64</model></cpu><memory>1048576</memory></node>")
    assert virsh("-c", f"test://{path}", "list", capsys=capsys) == (
        0, " Id   Name   State\n--------------------\n\n", "")


def test_list_name_uuid_id_variants(node, capsys):
    assert virsh("-c", node, "list", "--all", "--name", capsys=capsys)[1] == "web\ndb-paused\nb\n42\nAlpha\nzeta\n\n"
    assert virsh("-c", node, "list", "--id", capsys=capsys)[1] == "1\n2\n3\n\n"
    assert virsh("-c", node, "list", "--inactive", "--id", "--name", capsys=capsys)[1] == "- 42\n- Alpha\n- zeta\n\n"
    rc, out, _ = virsh("-c", node, "list", "--uuid", "--name", "--id", capsys=capsys)
    assert out.splitlines()[0] == "11111111-2222-3333-4444-000000000001 1 web"


def test_list_table_excludes_name(node, capsys):
    rc, out, err = virsh("-c", node, "list", "--table", "--name", capsys=capsys)
    assert (rc, out, err) == (1, "\n", "error: Options --table and --name are mutually exclusive\n")


def test_quiet_list_drops_header_and_blank_line(node, capsys):
    rc, out, _ = virsh("-c", node, "-q", "list", capsys=capsys)
    assert (rc, out) == (0, " 1   web         running\n 2   db-paused   paused\n 3   b           running\n")


# -------------------------------------------------------------------------------- domain info
def test_dominfo_running_domain_layout(capsys):
    rc, out, err = virsh("-c", DEFAULT, "dominfo", "test", capsys=capsys)
    assert (rc, err) == (0, "")
    lines = out.split("\n")
    assert lines[:5] == ["Id:             1", "Name:           test", f"UUID:           {TEST_UUID}",
                         "OS Type:        " + libvirt.open(DEFAULT).lookupByName("test").OSType(),
                         "State:          running"]
    assert lines[5] == "CPU(s):         2"
    rest = [line for line in lines[6:] if not line.startswith("CPU time:")]
    assert rest[:4] == ["Max memory:     8388608 KiB", "Used memory:    2097152 KiB",
                        "Persistent:     yes", "Autostart:      disable"]
    assert re.fullmatch(r"Managed save:   (yes|no|unknown)", rest[4])
    assert out.endswith("\n\n")
    for line in lines:
        if line.startswith("CPU time:"):
            assert re.fullmatch(r"CPU time:       \d+\.\ds", line)


def test_dominfo_inactive_domain_by_uuid(node, capsys):
    rc, out, _ = virsh("-c", node, "dominfo", "11111111-2222-3333-4444-000000000004", capsys=capsys)
    assert rc == 0
    assert out.startswith("Id:             -\nName:           Alpha\n"
                          "UUID:           11111111-2222-3333-4444-000000000004\n")
    assert "State:          shut off\nCPU(s):         2\n" in out
    assert "Max memory:     131072 KiB\nUsed memory:    131072 KiB\n" in out


def test_domstate_with_and_without_reason(node, capsys):
    assert virsh("-c", node, "domstate", "web", capsys=capsys) == (0, "running\n\n", "")
    # node-file domains start with reason "unknown", as in libvirt's test driver
    assert virsh("-c", node, "domstate", "--reason", "web", capsys=capsys)[1] == "running (unknown)\n\n"
    assert virsh("-c", node, "domstate", "db-paused", "--reason", capsys=capsys)[1] == "paused (unknown)\n\n"
    assert virsh("-c", node, "domstate", "--reason", "zeta", capsys=capsys)[1] == "shut off (unknown)\n\n"
    assert virsh("-c", node, "domstate", "--domain=zeta", capsys=capsys)[1] == "shut off\n\n"


def test_dumpxml_and_its_seed_alias_xmldump(capsys):
    rc, out, _ = virsh("-c", DEFAULT, "dumpxml", "test", capsys=capsys)
    assert rc == 0 and out.endswith("</domain>\n\n")
    root = etree.fromstring(out.encode())
    assert (root.tag, root.get("id"), root.findtext("name")) == ("domain", "1", "test")
    assert virsh("-c", DEFAULT, "xmldump", "test", capsys=capsys)[1] == out
    inactive = etree.fromstring(virsh("-c", DEFAULT, "dumpxml", "--inactive", "1", capsys=capsys)[1].encode())
    assert inactive.get("id") is None and inactive.findtext("uuid") == TEST_UUID


def test_domid_domname_domuuid_follow_virsh_lookup_rules(node, capsys):
    assert virsh("-c", node, "domid", "b", capsys=capsys)[1] == "3\n\n"
    assert virsh("-c", node, "domid", "zeta", capsys=capsys)[1] == "-\n\n"
    assert virsh("-c", node, "domid", "11111111-2222-3333-4444-000000000002", capsys=capsys)[1] == "2\n\n"
    assert virsh("-c", node, "domname", "2", capsys=capsys)[1] == "db-paused\n\n"
    assert virsh("-c", node, "domuuid", "web", capsys=capsys)[1] == "11111111-2222-3333-4444-000000000001\n\n"
    # domid takes no ids and domname no names, as in virsh
    assert virsh("-c", node, "domid", "1", capsys=capsys) == (1, "\n", "error: failed to get domain '1'\n")
    assert virsh("-c", node, "domname", "web", capsys=capsys) == (1, "\n", "error: failed to get domain 'web'\n")


def test_numeric_name_resolves_id_first_then_name(node, capsys):
    assert virsh("-c", node, "domname", "1", capsys=capsys)[1] == "web\n\n"
    assert virsh("-c", node, "domuuid", "42", capsys=capsys)[1] == "11111111-2222-3333-4444-000000000006\n\n"


# ---------------------------------------------------------------------------------- host info
def test_nodeinfo_layout(node, capsys):
    assert virsh("-c", node, "nodeinfo", capsys=capsys) == (0, (
        "CPU model:           x86_64\n"
        "CPU(s):              8\n"
        "CPU frequency:       2400 MHz\n"
        "CPU socket(s):       1\n"
        "Core(s) per socket:  4\n"
        "Thread(s) per core:  2\n"
        "NUMA cell(s):        1\n"
        "Memory size:         16777216 KiB\n\n"), "")


def test_capabilities_uri_version(capsys):
    rc, out, _ = virsh("-c", DEFAULT, "capabilities", capsys=capsys)
    assert rc == 0 and out.endswith("\n\n")
    assert etree.fromstring(out.encode()).tag == "capabilities"
    assert virsh("-c", DEFAULT, "uri", capsys=capsys) == (0, "test:///default\n\n", "")
    rc, out, _ = virsh("-c", DEFAULT, "version", capsys=capsys)
    lib = cli.format_version(libvirt.getVersion())
    conn = libvirt.open(DEFAULT)
    assert out == (f"Compiled against library: guiapp {lib}\nUsing library: guiapp {lib}\n"
                   f"Using API: {conn.getType()} {lib}\n"
                   f"Running hypervisor: {conn.getType()} {cli.format_version(conn.getVersion())}\n\n")


def test_uri_from_environment(monkeypatch, node, capsys):
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", node)
    assert virsh("uri", capsys=capsys) == (0, node + "\n\n", "")


# ------------------------------------------------------------------------- lifecycle commands
@pytest.mark.parametrize(("argv", "message"), [
    (["start", "zeta"], "Domain 'zeta' started\n"),
    (["start", "11111111-2222-3333-4444-000000000004"], "Domain 'Alpha' started\n"),
    (["destroy", "1"], "Domain '1' destroyed\n"),
    (["suspend", "web"], "Domain 'web' suspended\n"),
    (["resume", "db-paused"], "Domain 'db-paused' resumed\n"),
    (["reboot", "web"], "Domain 'web' is being rebooted\n"),
    (["shutdown", "web"], "Domain 'web' is being shutdown\n"),
    (["undefine", "zeta"], "Domain 'zeta' has been undefined\n"),
    (["setmem", "web", "128M"], ""),
    (["setmaxmem", "zeta", "--size", "1G"], ""),
    (["setvcpus", "web", "2"], ""),
])
def test_lifecycle_command_messages(node, capsys, argv, message):
    assert virsh("-c", node, *argv, capsys=capsys) == (0, message + "\n", "")


@pytest.mark.parametrize(("argv", "errors"), [
    (["start", "web"], ["Domain is already active"]),
    (["resume", "web"], ["Failed to resume domain 'web'"]),
    (["suspend", "zeta"], ["Failed to suspend domain 'zeta'"]),
    (["destroy", "zeta"], ["Failed to destroy domain 'zeta'"]),
    (["shutdown", "zeta"], ["Failed to shutdown domain 'zeta'"]),
    (["reboot", "zeta"], ["Failed to reboot domain 'zeta'"]),
    (["save", "zeta", "/nonexistent-dir/x.img"], ["Failed to save domain 'zeta' to /nonexistent-dir/x.img"]),
    (["setmaxmem", "web", "1G"], ["Unable to change MaxMemorySize"]),
    (["restore", "/nonexistent-dir/x.img"], ["Failed to restore domain from /nonexistent-dir/x.img"]),
])
def test_failed_actions_print_virsh_line_then_libvirt_message(node, capsys, argv, errors):
    rc, out, err = virsh("-c", node, *argv, capsys=capsys)
    assert (rc, out) == (1, "\n")
    lines = [line for line in err.splitlines() if not line.startswith("hint: ")]  # guiapp's extra advice line
    assert [line[len("error: "):] for line in lines[:len(errors)]] == errors
    assert all(line.startswith("error: ") and len(line) > len("error: ") for line in lines)
    if errors != ["Domain is already active"]:
        assert len(lines) == 2, "the libvirt message must follow virsh's own line"


def test_failed_lookup_is_one_line(capsys):
    assert virsh("-c", DEFAULT, "dominfo", "nope", capsys=capsys) == (1, "\n", "error: failed to get domain 'nope'\n")


def test_define_and_create_from_file(tmp_path, node, capsys):
    xml = tmp_path / "fresh.xml"
    xml.write_text(NEW_DOMAIN)
    assert virsh("-c", node, "define", str(xml), capsys=capsys) == (0, f"Domain 'fresh' defined from {xml}\n\n", "")
    assert virsh("-c", node, "create", "--file", str(xml), capsys=capsys) == (
        0, f"Domain 'fresh' created from {xml}\n\n", "")


def test_define_errors_name_the_file_and_the_problem(tmp_path, node, capsys):
    missing = tmp_path / "missing.xml"
    assert virsh("-c", node, "define", str(missing), capsys=capsys) == (
        1, "\n", f"error: Failed to open file '{missing}': No such file or directory\n")
    broken = tmp_path / "broken.xml"
    broken.write_text("<domain type='test'><name>x</name>")
    rc, _, err = virsh("-c", node, "define", str(broken), capsys=capsys)
    lines = err.splitlines()  # the parser's message spans lines, as libvirt's does
    assert rc == 1 and lines[0] == f"error: Failed to define domain from {broken}"
    assert lines[1].startswith("error: ") and "domain" in err[len(lines[0]):]
    dup = tmp_path / "dup.xml"
    dup.write_text(NEW_DOMAIN.replace("fresh", "web").replace("22222222-3333-4444-5555-666666666666",
                                                              "99999999-3333-4444-5555-666666666666"))
    rc, _, err = virsh("-c", node, "define", str(dup), capsys=capsys)
    assert rc == 1 and "web" in err.splitlines()[1]


def test_save_writes_the_image(tmp_path, capsys):
    image = tmp_path / "test.img"
    assert virsh("-c", DEFAULT, "save", "test", str(image), capsys=capsys) == (
        0, f"\nDomain 'test' saved to {image}\n\n", "")
    assert image.stat().st_size > 0


def test_lifecycle_sequence_on_one_connection(tmp_path, node):
    """define, start, suspend, resume, resize, save, restore, shutdown, undefine on shared state."""
    xml = tmp_path / "fresh.xml"
    xml.write_text(NEW_DOMAIN)
    image = tmp_path / "fresh.img"
    conn = libvirt.open(node)
    steps = [
        (["define", str(xml)], f"Domain 'fresh' defined from {xml}\n"),
        (["domstate", "fresh"], "shut off\n"),
        (["start", "fresh"], "Domain 'fresh' started\n"),
        (["domid", "fresh"], "4\n"),
        (["suspend", "fresh"], "Domain 'fresh' suspended\n"),
        (["domstate", "--reason", "fresh"], "paused (user)\n"),
        (["resume", "4"], "Domain '4' resumed\n"),
        (["setmem", "fresh", "131072"], ""),
        (["setvcpus", "fresh", "1"], ""),
        (["save", "fresh", str(image)], f"\nDomain 'fresh' saved to {image}\n"),
        (["domstate", "--reason", "fresh"], "shut off (saved)\n"),
        (["restore", str(image)], f"Domain restored from {image}\n"),
        (["domstate", "fresh"], "running\n"),
        (["destroy", "fresh"], "Domain 'fresh' destroyed\n"),
        (["setmaxmem", "fresh", "512M"], ""),
        (["undefine", "fresh"], "Domain 'fresh' has been undefined\n"),
    ]
    for argv, expected in steps:
        assert shared(conn, *argv) == (0, expected + "\n", ""), argv
    assert "fresh" not in [d.name() for d in conn.listAllDomains()]
    conn.close()


def test_sizes_reach_the_domain(node):
    conn = libvirt.open(node)
    assert shared(conn, "setmem", "web", "--size", "200M")[0] == 0
    assert conn.lookupByName("web").info()[2] == 200 * 1024
    assert shared(conn, "setmem", "web", "1000b")[0] == 0  # rounded up to 1 KiB, as virsh
    assert conn.lookupByName("web").info()[2] == 1
    assert shared(conn, "setmaxmem", "zeta", "1G")[0] == 0
    assert conn.lookupByName("zeta").info()[1] == 1024 * 1024
    assert shared(conn, "setvcpus", "web", "3")[0] == 0
    assert conn.lookupByName("web").info()[3] == 3
    conn.close()


# ------------------------------------------------------------------------------- size parsing
@pytest.mark.parametrize(("text", "kib"), [
    ("4096", 4096), ("512M", 512 * 1024), ("512MiB", 512 * 1024), ("1G", 1024 * 1024), ("1g", 1024 * 1024),
    ("100KB", 98), ("1000b", 1), ("1024bytes", 1), ("2T", 2 * 1024**3), ("1MB", 977), ("+8", 8),
])
def test_scaled_sizes(text, kib):
    assert -(-cli.parse_scaled(text, "size") // 1024) == kib


@pytest.mark.parametrize(("text", "lines"), [
    ("12X", 2), ("1.5M", 2), ("-1", 1), ("", 1), ("M", 1), ("1Gx", 2), ("99999999E", 2),
])
def test_bad_sizes_are_refused_like_virsh(text, lines):
    with pytest.raises(cli.CommandError) as info:
        cli.parse_scaled(text, "size")
    assert info.value.lines[0] == f"Scaled numeric value '{text}' for <size> option is malformed or out of range"
    assert len(info.value.lines) == lines


def test_bad_size_on_command_line(capsys):
    rc, out, err = virsh("-c", DEFAULT, "setmem", "test", "12X", capsys=capsys)
    assert (rc, out) == (1, "\n")
    assert err == ("error: Scaled numeric value '12X' for <size> option is malformed or out of range\n"
                   "error: invalid argument: unknown suffix 'X'\n")


@pytest.mark.parametrize(("count", "error"), [
    ("x", "Numeric value 'x' for <count> option is malformed or out of range"),
    ("-1", "Numeric value '-1' for <count> option is malformed or out of range"),
    ("0", "Can't set 0 processors for a VM"),
])
def test_bad_vcpu_counts(capsys, count, error):
    assert virsh("-c", DEFAULT, "setvcpus", "test", count, capsys=capsys) == (1, "\n", f"error: {error}\n")


# ------------------------------------------------------------------------------ usage errors
@pytest.mark.parametrize(("argv", "message"), [
    (["bogus"], "unknown command: 'bogus'"),
    (["dominfo"], "command 'dominfo' requires <domain> option"),
    (["save", "test"], "command 'save' requires <file> option"),
    (["setmem", "test"], "command 'setmem' requires --size option"),
    (["setvcpus", "test"], "command 'setvcpus' requires --count option"),
    (["domstate", "a", "b"], "unexpected data 'b'"),
    (["list", "--bogus"], "command 'list' doesn't support option --bogus"),
    (["domstate", "test", "--reason", "--reason"], "option --reason already seen"),
    (["setmem", "test", "--size"], "expected syntax: --size <number>"),
    (["dominfo", "test", "--domain", "test"], "option --domain already seen"),
])
def test_bad_usage_runs_nothing(capsys, argv, message):
    assert virsh("-c", DEFAULT, *argv, capsys=capsys) == (1, "", f"error: {message}\n")


def test_unknown_global_option(capsys):
    assert virsh("-x", "list", capsys=capsys) == (1, "", "error: unsupported option '-x'. See --help.\n")
    assert virsh("-r", "-q", "--connect=test:///default", "uri", capsys=capsys) == (0, "test:///default\n", "")


def test_no_command_prints_usage(capsys):
    rc, out, err = virsh(capsys=capsys)
    assert rc == 1 and out == ""
    assert err.startswith("error: no command given") and "usage: guiapp-virsh" in err


def test_options_may_follow_positionals(tmp_path, capsys):
    image = tmp_path / "t.img"
    rc, out, err = virsh("-c", DEFAULT, "save", "test", "--running", str(image), capsys=capsys)
    assert (rc, err) == (0, "") and image.exists()


# ------------------------------------------------------------------------ connection & errors
def test_readonly_refuses_changes_but_reads(capsys):
    rc, out, err = virsh("-r", "-c", DEFAULT, "destroy", "test", capsys=capsys)
    first, second = err.splitlines()
    assert (rc, first) == (1, "error: Failed to destroy domain 'test'")
    assert second.startswith("error: operation forbidden: read only access")
    assert virsh("--readonly", "--connect", DEFAULT, "domstate", "test", capsys=capsys) == (0, "running\n\n", "")


def test_connection_failure(capsys):
    rc, out, err = virsh("-c", "bogus:///nowhere", "list", capsys=capsys)
    first, second = err.splitlines()
    assert (rc, out, first) == (1, "", "error: failed to connect to the hypervisor")
    assert "bogus" in second


def test_global_error_handler_silences_and_is_restored(capsys):
    virsh("-c", DEFAULT, "domstate", "nope", capsys=capsys)  # no "libvirt: ..." line from the default handler
    seen = []
    libvirt.registerErrorHandler(lambda ctx, err: seen.append((ctx, err[0])), "mine")
    try:
        rc, _, err = virsh("-c", DEFAULT, "dominfo", "nope", capsys=capsys)
        assert "libvirt:" not in err and seen == []
        with pytest.raises(libvirt.libvirtError):
            libvirt.open(DEFAULT).lookupByName("nope")
        assert seen == [("mine", libvirt.VIR_ERR_NO_DOMAIN)]
    finally:
        libvirt.registerErrorHandler(None, None)
    with pytest.raises(libvirt.libvirtError):
        libvirt.open(DEFAULT).lookupByName("nope")
    assert "libvirt:" in capsys.readouterr().err  # the default handler is back


def test_entry_point_process():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.run([sys.executable, "-m", "guiapp.backend.cli", "-c", DEFAULT, "domstate", "nope"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "\n", "error: failed to get domain 'nope'\n")


# ------------------------------------------------------------------------------------- help
def test_help_command_matches_virsh_layout(capsys):
    assert virsh("help", "dominfo", capsys=capsys) == (0, (
        "  NAME\n    dominfo - domain information\n\n"
        "  SYNOPSIS\n    dominfo <domain>\n\n"
        "  DESCRIPTION\n    Returns basic information about the domain.\n\n"
        "  OPTIONS\n    [--domain] <string>  domain name, id or uuid\n\n\n"), "")
    rc, out, _ = virsh("help", "setmem", capsys=capsys)
    assert "    setmem <domain> <size> [--config] [--live] [--current]\n" in out
    assert "    --config         affect next boot\n" in out
    assert virsh("dominfo", "--help", capsys=capsys)[1].startswith("  NAME\n    dominfo - domain information\n")


def test_help_lists_every_command_by_group(capsys):
    rc, out, _ = virsh("help", capsys=capsys)
    assert rc == 0 and out.startswith("Grouped commands:\n\n Domain Management (help keyword 'domain'):\n")
    for cmd in cli.COMMANDS:
        assert re.search(rf"^    {re.escape(cmd.name)} +{re.escape(cmd.summary)}$", out, re.M), cmd.name
    assert "    list                           list domains\n" in out
    assert virsh("help", "nope", capsys=capsys) == (1, "\n", "error: command or command group 'nope' doesn't exist\n")


# ------------------------------------------------------------------ parity with the real virsh
REAL_LIBVIRT = "/usr/lib/python3/dist-packages"


def _real_libvirt():
    if not shutil.which("virsh"):
        pytest.skip("virsh (libvirt-clients) is not installed")
    added = REAL_LIBVIRT not in sys.path
    if added:  # only for this import: Debian's other modules must not leak into later tests
        sys.path.append(REAL_LIBVIRT)
    try:
        return pytest.importorskip("libvirt", reason="python3-libvirt is not installed")
    finally:
        if added:
            sys.path.remove(REAL_LIBVIRT)


def _normalise(text: str) -> str:
    return re.sub(r"^CPU time: .*\n", "", text, flags=re.M)


PARITY = [
    "list", "list --all", "list --inactive", "list --all --name", "list --all --id --name", "-q list --all",
    "dominfo web", "dominfo zeta", "dominfo 2", "domstate --reason db-paused", "domid b", "domname 3",
    "domuuid Alpha", "domid 1", "dominfo nope", "nodeinfo", "uri", "dumpxml zeta --inactive",
    "start zeta", "start web", "resume web", "suspend 1", "destroy zeta", "undefine b",
    "setmem web 12X", "setmem web 1.5M", "setmem web -1", "setmaxmem web 1G", "setvcpus web x", "setvcpus web 0",
    "setmem web 99G", "list --table --uuid", "bogus", "dominfo", "setmem web", "list --bogus", "domstate a b",
    "help dominfo", "help setvcpus", "help nope", "-r destroy web",
]


@pytest.mark.parametrize("command", PARITY)
def test_front_end_over_real_libvirt_matches_real_virsh(node, command):
    """Same node, same commands: our front-end on libvirt-python prints exactly what virsh 9.0 prints."""
    real = _real_libvirt()
    argv = ["-c", node, *command.split()]
    proc = subprocess.run(["virsh", *argv], capture_output=True, text=True, timeout=60, cwd="/")
    out, err = io.StringIO(), io.StringIO()
    real.registerErrorHandler(lambda ctx, e: None, None)
    try:
        rc = cli.run(argv, real, out, err)
    finally:
        real.registerErrorHandler(None, None)
    assert (rc, _normalise(out.getvalue()), no_hints(err.getvalue())) == (
        proc.returncode, _normalise(proc.stdout), proc.stderr)


@pytest.mark.parametrize("command", [
    "list", "list --all", "list --inactive --name", "domstate --reason db-paused", "domid b", "domname 3",
    "domuuid Alpha", "dominfo nope", "nodeinfo", "uri", "start zeta", "suspend 1", "resume web", "destroy zeta",
    "undefine b", "setmem web 99G", "setvcpus web 9",
])
def test_guiapp_matches_real_virsh(node, capsys, command):
    """Where the test driver behaves as libvirt's, guiapp-virsh prints exactly what virsh prints."""
    if not shutil.which("virsh"):
        pytest.skip("virsh (libvirt-clients) is not installed")
    argv = ["-c", node, *command.split()]
    proc = subprocess.run(["virsh", *argv], capture_output=True, text=True, timeout=60, cwd="/")
    assert virsh(*argv, capsys=capsys) == (proc.returncode, proc.stdout, proc.stderr)


# ------------------------------------------------------------------------------ table helper
def test_format_table_uses_display_width():
    table = cli.format_table(["Id", "Name", "State"], [["1", "日本", "running"]])
    assert table.splitlines() == [" Id   Name   State", "----------------------", " 1    日本   running"]
