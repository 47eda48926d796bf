"""QEMU driver behaviour that needs no booted Linux: URIs, configs on disk, capabilities, the seed's example."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from lxml import etree
from qemu_testlib import QEMU, SEED_QEMU, dom_dir, runtime_dir, wait_for

import guiapp.backend as libvirt
from guiapp.backend import constants as C
from guiapp.backend.autostart import autostart
from guiapp.backend.drivers.qemu.capabilities import kvm_usable, parse_machine_help

pytestmark = pytest.mark.qemu

REPO = str(Path(libvirt.__file__).resolve().parents[2])


def firmware_xml(name: str, extra: str = "", uuid: str = "") -> str:
    u = f"<uuid>{uuid}</uuid>" if uuid else ""
    return f"""<domain type='qemu'><name>{name}</name>{u}<memory unit='MiB'>32</memory>
      <os><type arch='x86_64'>hvm</type></os><devices>{extra}</devices></domain>"""


def test_uris(xdg):
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    with pytest.raises(libvirt.libvirtError) as ei:
        libvirt.open("qemu:///nonsense")
    assert ei.value.get_error_code() == C.VIR_ERR_NO_CONNECT and "qemu:///session" in str(ei.value)
    c = libvirt.open("qemu:///session")
    try:
        assert c.getType() == "QEMU" and c.getURI() == "qemu:///session"
        assert c.getVersion() >= 2_000_000
        assert c.getMaxVcpus(None) >= 1
        assert len(c.getInfo()) == 8
    finally:
        c.close()
    assert (xdg / "run" / "guiapp" / "qemu").is_dir() and (xdg / "cfg" / "guiapp" / "qemu").is_dir()


def test_seed_qemu_example_starts_and_stops_for_real(conn, xdg, tmp_path):
    iso, img = tmp_path / "boot.iso", tmp_path / "fedora.img"
    iso.write_bytes(b"\0" * 2048 * 16)
    subprocess.run(["truncate", "-s", "8M", str(img)], check=True)
    emulator = "/usr/bin/qemu-system-i386" if os.path.exists("/usr/bin/qemu-system-i386") else QEMU
    xml = SEED_QEMU.format(emulator=emulator, iso=iso, img=img, net="user", net_source="")
    dom = conn.defineXML(xml)
    dom.create()
    assert dom.state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED]
    info = dom.info()
    assert info[1] == 219200 and info[3] == 2
    live = etree.fromstring(dom.XMLDesc().encode())
    # autoport without a listen address: the display is on the unix socket only, no TCP port (issue 11)
    assert int(live.find("devices/graphics").get("port")) == -1
    assert live.find("devices/interface/mac").get("address").startswith("52:54:00:")
    with pytest.raises(libvirt.libvirtError) as ei:
        dom.shutdown()  # no <acpi/>: nothing in the guest can hear a power button
    assert ei.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID and "acpi" in str(ei.value)
    vnc = live.find("devices/graphics").get("socket")  # the display's unix socket, in the live XML
    assert vnc and os.path.exists(vnc) and live.find("devices/graphics/listen[@type='socket']").get("socket") == vnc
    assert "socket" not in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    dom.destroy()
    assert dom.state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_DESTROYED]
    # the definition (with its generated MAC) survives; the argv preview needs no running guest
    argv = conn._driver.command_line(dom._ref)
    assert argv[0] == emulator and "-daemonize" in argv
    assert f"file={img},if=none,id=drive-hda,format=raw" in argv
    native = conn._driver.domain_xml_to_native("qemu-argv", xml, 0)
    assert native.startswith(emulator + " ") and "-uuid c7a5fdbd-cdaf-9455-926a-d65c16db1809" in native


def test_ids_names_uuids_unique(conn, xdg):
    a = conn.createXML(firmware_xml("u1"), 0)
    b = conn.createXML(firmware_xml("u2"), 0)
    assert a.ID() != b.ID() and sorted(conn.listDomainsID()) == sorted([a.ID(), b.ID()])
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.createXML(firmware_xml("u3", uuid=a.UUIDString()), 0)
    assert ei.value.get_error_code() == C.VIR_ERR_OPERATION_FAILED and "u1" in str(ei.value)
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.defineXML(firmware_xml("u2"))
    assert ei.value.get_error_code() == C.VIR_ERR_OPERATION_FAILED
    old = a.ID()
    a.destroy()
    c = conn.createXML(firmware_xml("u1"), 0)
    assert c.ID() not in (old, b.ID())  # ids are not reused
    for d in (b, c):
        d.destroy()


def test_broken_config_file_is_reported_and_skipped(xdg, caplog):
    cfg = xdg / "cfg" / "guiapp" / "qemu"
    cfg.mkdir(parents=True)
    (cfg / "good.xml").write_text(firmware_xml("good"))
    (cfg / "bad.xml").write_text("<domain type='qemu'><name>bad</name>")
    (cfg / "misnamed.xml").write_text(firmware_xml("other"))
    c = libvirt.open("qemu:///session")
    try:
        assert c.listDefinedDomains() == ["good"]
        errs = c._driver.config_errors
        assert set(errs) == {str(cfg / "bad.xml"), str(cfg / "misnamed.xml")}
        assert "rename the file" in errs[str(cfg / "misnamed.xml")]
        assert any("bad.xml" in r.getMessage() for r in caplog.records)
        (cfg / "bad.xml").write_text(firmware_xml("bad"))  # fixed on disk: picked up, error cleared
        assert c.listDefinedDomains() == ["bad", "good"]
        assert str(cfg / "bad.xml") not in c._driver.config_errors
    finally:
        c.close()


def test_persistent_config_is_written_atomically_and_survives(conn, xdg):
    dom = conn.defineXML(firmware_xml("keep"))
    path = xdg / "cfg" / "guiapp" / "qemu" / "keep.xml"
    assert path.exists() and not [p for p in path.parent.iterdir() if p.name.startswith(".keep")]
    dom.setMemoryFlags(16 * 1024, C.VIR_DOMAIN_AFFECT_CONFIG)
    c2 = libvirt.open("qemu:///session")
    try:
        assert c2.lookupByName("keep").info()[2] == 16 * 1024
    finally:
        c2.close()
    with pytest.raises(libvirt.libvirtError) as ei:
        dom.setMemoryFlags(64 * 1024, C.VIR_DOMAIN_AFFECT_CONFIG)
    assert ei.value.get_error_code() == C.VIR_ERR_INVALID_ARG and "max memory" in str(ei.value)
    with pytest.raises(libvirt.libvirtError) as ei:
        dom.setMemory(16 * 1024)  # the live balloon of a guest that is not running
    assert ei.value.get_error_code() == C.VIR_ERR_OPERATION_INVALID


CONCURRENT = textwrap.dedent("""
    import sys
    import guiapp.backend as libvirt
    c = libvirt.open("qemu:///session")
    for i in range(int(sys.argv[2])):
        c.defineXML(f"<domain type='qemu'><name>{sys.argv[1]}-{i}</name><memory>32768</memory>"
                    f"<os><type>hvm</type></os></domain>")
    c.close()
""")


def test_two_processes_define_concurrently(xdg):
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    env = {**os.environ, "PYTHONPATH": REPO}
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, f"p{n}", "15"], env=env, stderr=subprocess.PIPE)
             for n in range(2)]
    for p in procs:
        assert p.wait(60) == 0, p.stderr.read().decode() if p.stderr else ""
    c = libvirt.open("qemu:///session")
    try:
        names = c.listDefinedDomains()
        assert len(names) == 30
        assert len({d.UUID() for d in c.listAllDomains()}) == 30
        assert c._driver.config_errors == {}
    finally:
        c.close()


def test_capabilities(conn):
    caps = etree.fromstring(conn.getCapabilities().encode())
    assert caps.findtext("host/cpu/arch") == os.uname().machine
    guests = {g.find("arch").get("name"): g for g in caps.findall("guest")}
    assert "x86_64" in guests
    g = guests["x86_64"]
    assert g.findtext("os_type") == "hvm" and g.findtext("arch/emulator").endswith("qemu-system-x86_64")
    machines = [m.text for m in g.findall("arch/machine")]
    assert "pc" in machines and any(m.startswith("pc-i440fx") for m in machines)
    types = {d.get("type") for d in g.findall("arch/domain")}
    assert types == ({"qemu", "kvm"} if kvm_usable() else {"qemu"})
    has_vmx = any(f in open("/proc/cpuinfo").read().split() for f in ("vmx", "svm"))
    assert (caps.find("host/cpu/features/vmx") is not None or caps.find("host/cpu/features/svm") is not None) \
        == has_vmx


def test_machine_help_parsing():
    text = textwrap.dedent("""\
        Supported machines are:
        microvm              microvm (i386)
        pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)
        pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)
        q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)
        pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)
        """)
    assert parse_machine_help(text) == ["pc", "microvm", "pc-i440fx-7.2", "q35", "pc-q35-7.2"]


def test_vnc_password_and_vcpu_hotplug(conn, xdg):
    xml = firmware_xml("hp", "<graphics type='vnc' passwd='s3cret'/>").replace(
        "<memory", "<vcpu current='1'>2</vcpu><memory")
    dom = conn.createXML(xml, 0)
    assert "passwd" not in dom.XMLDesc() and "passwd='s3cret'" in dom.XMLDesc(C.VIR_DOMAIN_XML_SECURE)
    assert dom.info()[3] == 1
    dom.setVcpusFlags(2, C.VIR_DOMAIN_AFFECT_LIVE)
    assert dom.info()[3] == 2 and re.search(r"<vcpu[^>]*>2</vcpu>", dom.XMLDesc())
    (_, st), = conn.getAllDomainStats(C.VIR_DOMAIN_STATS_VCPU)
    assert st["vcpu.current"] == 2 and "vcpu.1.time" in st
    with pytest.raises(libvirt.libvirtError) as ei:
        dom.setVcpusFlags(3, C.VIR_DOMAIN_AFFECT_LIVE)
    assert ei.value.get_error_code() == C.VIR_ERR_INVALID_ARG
    dom.destroy()


def test_guest_outlives_the_process_that_started_it(xdg):
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    script = textwrap.dedent("""
        import guiapp.backend as libvirt
        c = libvirt.open("qemu:///session")
        d = c.createXML("<domain type='qemu'><name>orphan</name><memory>32768</memory>"
                        "<os><type>hvm</type></os></domain>", 0)
        print(d.ID())
    """)  # no close(): the process just ends
    r = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    c = libvirt.open("qemu:///session")
    try:
        dom = c.lookupByName("orphan")
        assert dom.isActive() == 1 and dom.ID() == int(r.stdout.split()[-1])
        dom.destroy()
        wait_for(lambda: not (dom_dir(runtime_dir(xdg), "orphan") / "pid").exists(), 5, "the pid file to go")
    finally:
        c.close()


def test_autostart_runs_once_per_boot(xdg):
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    c = libvirt.open("qemu:///session")
    try:
        dom = c.defineXML(firmware_xml("auto"))
        dom.setAutostart(1)
        c.defineXML(firmware_xml("manual"))
        assert dom.autostart() == 1 and c.lookupByName("manual").autostart() == 0
    finally:
        c.close()
    assert not (runtime_dir(xdg) / "autostarted").exists()  # opening never runs autostart
    c = libvirt.open("qemu:///session")
    try:
        assert c.listAllDomains(C.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == []  # opening starts nothing
        assert autostart(c) == ["auto"]  # the daemon's start does
        assert [d.name() for d in c.listAllDomains(C.VIR_CONNECT_LIST_DOMAINS_ACTIVE)] == ["auto"]
        assert c.lookupByName("manual").isActive() == 0
        c.lookupByName("auto").destroy()
    finally:
        c.close()
    c = libvirt.open("qemu:///session")  # not again in the same boot
    try:
        assert autostart(c) == []
        assert c.listAllDomains(C.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == []
    finally:
        c.close()


def test_domain_xml_to_native_is_the_argv_it_would_run(conn):
    line = conn.domainXMLToNative("qemu-argv", firmware_xml("native"), 0)
    assert line.split()[0].endswith("qemu-system-x86_64") and "-name" in line and "native" in line
    assert "-qmp" in line or "-chardev" in line
    test_conn = libvirt.open("test:///default")
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    try:
        with pytest.raises(libvirt.libvirtError) as ei:
            test_conn.domainXMLToNative("qemu-argv", firmware_xml("native"), 0)
        assert ei.value.get_error_code() == C.VIR_ERR_NO_SUPPORT
        assert "virConnectDomainXMLToNative" in ei.value.get_error_message()
    finally:
        libvirt.registerErrorHandler(None, None)
