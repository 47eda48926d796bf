"""Debian's real virsh and python3-libvirt against guiappd (test driver)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
from daemonlib import Guiappd, python_libvirt_env

VIRSH = shutil.which("virsh")
pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh is not installed (apt-get install libvirt-clients)")

NEW_DOMAIN = """<domain type='test'>
  <name>fresh</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>"""


def virsh(d: Guiappd, *args: str, ro: bool = False, check: bool = True) -> subprocess.CompletedProcess:
    sock = d.ro if ro else d.rw
    argv = [VIRSH, "-q", "-c", f"test+unix:///default?socket={sock}"] + (["-r"] if ro else []) + list(args)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"virsh {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def test_list_dominfo_dumpxml_net_list(guiappd: Guiappd) -> None:
    out = virsh(guiappd, "list", "--all").stdout
    assert re.search(r"^\s*1\s+test\s+running\s*$", out, re.M), out
    info = dict(line.split(":", 1) for line in virsh(guiappd, "dominfo", "test").stdout.splitlines() if ":" in line)
    assert info["Name"].strip() == "test"
    assert info["UUID"].strip() == "6695eb01-f6a4-8304-79aa-97f2502e193f"
    assert info["State"].strip() == "running"
    assert info["Max memory"].strip() == "8388608 KiB"
    xml = virsh(guiappd, "dumpxml", "test").stdout
    assert "<name>test</name>" in xml and "6695eb01-f6a4-8304-79aa-97f2502e193f" in xml
    nets = virsh(guiappd, "net-list", "--all").stdout
    assert re.search(r"^\s*default\s+active\s+", nets, re.M), nets
    assert "<name>default</name>" in virsh(guiappd, "net-dumpxml", "default").stdout
    assert "Running hypervisor: TEST" in virsh(guiappd, "version").stdout
    assert "CPU(s):" in virsh(guiappd, "nodeinfo").stdout
    assert "<capabilities>" in virsh(guiappd, "capabilities").stdout
    assert "state.state=1" in virsh(guiappd, "domstats", "test").stdout


def test_define_start_shutdown_destroy_undefine(guiappd: Guiappd, tmp_path) -> None:
    f = tmp_path / "fresh.xml"
    f.write_text(NEW_DOMAIN)
    virsh(guiappd, "define", str(f))
    assert re.search(r"^\s*-\s+fresh\s+shut off", virsh(guiappd, "list", "--all").stdout, re.M)
    virsh(guiappd, "start", "fresh")
    assert re.search(r"^\s*\d+\s+fresh\s+running", virsh(guiappd, "list").stdout, re.M)
    virsh(guiappd, "suspend", "fresh")
    assert "paused" in virsh(guiappd, "domstate", "fresh").stdout
    virsh(guiappd, "resume", "fresh")
    virsh(guiappd, "shutdown", "fresh")
    assert "shut off" in virsh(guiappd, "domstate", "fresh").stdout
    virsh(guiappd, "start", "fresh")
    virsh(guiappd, "destroy", "fresh")
    assert "shut off" in virsh(guiappd, "domstate", "fresh").stdout
    virsh(guiappd, "undefine", "fresh")
    assert "fresh" not in virsh(guiappd, "list", "--all").stdout
    # errors come back with libvirt's code and message, and the connection survives them
    r = virsh(guiappd, "dominfo", "nosuch", check=False)
    assert r.returncode != 0 and "nosuch" in r.stderr
    r = virsh(guiappd, "define", "/dev/null", check=False)
    assert r.returncode != 0


def test_read_only_socket_serves_reads_only(guiappd: Guiappd) -> None:
    assert "test" in virsh(guiappd, "list", ro=True).stdout
    r = virsh(guiappd, "destroy", "test", ro=True, check=False)
    assert r.returncode != 0 and "read only" in r.stderr
    assert "running" in virsh(guiappd, "domstate", "test").stdout


def test_event_loop_sees_lifecycle_events(guiappd: Guiappd) -> None:
    argv = ["timeout", "20", VIRSH, "-c", f"test+unix:///default?socket={guiappd.rw}", "event", "--loop",
            "--event", "lifecycle"]
    ev = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # virsh registers its callback
        virsh(guiappd, "suspend", "test")
        virsh(guiappd, "resume", "test")
        virsh(guiappd, "destroy", "test")
        time.sleep(1.5)
    finally:
        ev.terminate()
        out, err = ev.communicate(timeout=20)
    events = re.findall(r"event 'lifecycle' for domain '?test'?: (\w+) (\w+)", out)
    print(out)
    assert ("Suspended", "Paused") in events, (out, err)
    assert ("Resumed", "Unpaused") in events, (out, err)
    assert ("Stopped", "Destroyed") in events, (out, err)


PYLIBVIRT = """
import libvirt, sys
c = libvirt.open(sys.argv[1])
d = c.lookupByName('test')
print('info', d.info())
print('state', d.state())
print('uuid', d.UUIDString())
print('names', sorted(x.name() for x in c.listAllDomains()))
print('stats', sorted(c.getAllDomainStats()[0][1].items())[:3])
print('nets', [n.name() for n in c.listAllNetworks()])
try:
    c.lookupByName('nosuch')
except libvirt.libvirtError as e:
    print('error', e.get_error_code(), e.get_error_domain())
ro = libvirt.openReadOnly(sys.argv[2])
try:
    ro.lookupByName('test').XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
except libvirt.libvirtError as e:
    print('secure', e.get_error_code())
"""


def test_python3_libvirt_matches_guiapp(guiappd: Guiappd) -> None:
    import guiapp.backend as gl

    r = subprocess.run([sys.executable, "-c", textwrap.dedent(PYLIBVIRT),
                        f"test+unix:///default?socket={guiappd.rw}", f"test+unix:///default?socket={guiappd.ro}"],
                       capture_output=True, text=True, env=python_libvirt_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    local = gl.open("test:///default")
    d = local.lookupByName("test")
    assert lines["state"] == str(d.state())
    assert lines["uuid"] == d.UUIDString()
    assert lines["info"].startswith(f"[{d.info()[0]}, {d.info()[1]}, {d.info()[2]}, {d.info()[3]},")
    assert lines["names"] == "['test']"
    assert lines["nets"] == "['default']"
    assert lines["error"] == f"{gl.VIR_ERR_NO_DOMAIN} {gl.VIR_FROM_TEST}"
    assert lines["secure"] == str(gl.VIR_ERR_OPERATION_DENIED)
