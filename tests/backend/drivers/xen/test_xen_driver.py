"""The Xen driver end to end: libvirt-python API -> XenDriver -> real oxenstored + fake xl."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from xen_seed import FC4, FV0, without

import guiapp.backend as libvirt
from guiapp.backend import constants as C
from guiapp.backend.drivers.xen import DRIVER
from guiapp.backend.drivers.xen.xsclient import XenStoreClient
from guiapp.backend.xml.capabilities import parse_capabilities
from guiapp.backend.xml.domain import parse_domain

pytestmark = pytest.mark.xen

SEED_EXAMPLE = textwrap.dedent("""\
    import guiapp.backend as libvirt
    import sys

    conn = libvirt.openReadOnly(None)
    if conn == None:
        print('Failed to open connection to the hypervisor')
        sys.exit(1)

    try:
        dom0 = conn.lookupByName("Domain-0")
    except:
        print('Failed to find the main domain')
        sys.exit(1)

    print("Domain 0: id %d running %s" % (dom0.ID(), dom0.OSType()))
    print(dom0.info())
""")


@pytest.fixture
def conn(xen_env):
    c = libvirt.open("xen:///")
    yield c
    c.close()


@pytest.fixture
def quiet_errors():
    """Errors are expected: keep them off stderr (and restore the default handler after)."""
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    yield
    libvirt.registerErrorHandler(None, None)


def xs_read(xen_env, path: str) -> str | None:
    with XenStoreClient(xen_env.socket, timeout=2) as c:
        return c.read_str(path)


def xs_write(xen_env, path: str, value: str) -> None:
    with XenStoreClient(xen_env.socket, timeout=2) as c:
        c.write(path, value)


def strip_runtime(xml: str) -> str:
    return parse_domain(xml, hypervisor="xen").to_xml(inactive=True)


# --------------------------------------------------------------------------- the seed's example

def test_seed_python_example_prints_domain0(xen_env, tmp_path):
    script = tmp_path / "basic.py"
    script.write_text(SEED_EXAMPLE)
    env = dict(os.environ, PYTHONPATH=str(Path(libvirt.__file__).parents[2]))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first == "Domain 0: id 0 running linux"
    info = ast.literal_eval(second)
    assert info[:4] == [C.VIR_DOMAIN_RUNNING, 1048576, 1048576, 2]
    assert info[4] > 0  # CPU time from xl list


def test_probe_finds_the_daemon_quickly_and_open_none_uses_it(xen_env, monkeypatch):
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI")
    t0 = time.monotonic()
    assert DRIVER.probe() == "xen:///"
    assert time.monotonic() - t0 < 0.1
    c = libvirt.openReadOnly(None)
    try:
        assert c.getURI() == "xen:///" and c.getType() == "Xen"
    finally:
        c.close()


def test_probe_is_none_and_quick_without_a_daemon(monkeypatch, tmp_path):
    monkeypatch.setenv("XENSTORED_PATH", str(tmp_path / "no-socket"))
    if any(os.path.exists(p) for p in ("/run/xenstored/socket", "/var/run/xenstored/socket")):
        pytest.skip("this host runs a XenStore daemon")
    t0 = time.monotonic()
    assert DRIVER.probe() is None
    assert time.monotonic() - t0 < 0.1


def test_probe_does_not_hang_on_a_stopped_daemon(xen_env):
    xen_env.signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        assert DRIVER.probe() is None
        # a probe that talked to the stopped daemon would block until its timeout or for ever; a bound far above
        # a loaded machine's scheduling noise tells the two apart (speed itself is bench/xen.py's)
        assert time.monotonic() - t0 < 5
    finally:
        xen_env.signal(signal.SIGCONT)


# --------------------------------------------------------------------------- host

def test_node_info_capabilities_version(conn):
    assert conn.getInfo() == ["x86_64", 4096, 2, 2000, 1, 1, 2, 1]
    assert conn.getVersion() == 4_017_003
    assert conn.getHostname() == "fakexen"
    caps = parse_capabilities(conn.getCapabilities())
    assert caps.host.cpu.arch == "x86_64"
    kinds = {(g.os_type, g.arch) for g in caps.guests}
    assert kinds == {("xen", "x86_64"), ("hvm", "i686"), ("hvm", "x86_64")}
    hvm32 = caps.find_guest("hvm", "i686")
    assert hvm32.loader and hvm32.loader.endswith("hvmloader")
    assert "pae" in hvm32.features and "nonpae" in hvm32.features
    assert hvm32.domain_types == ["xen"]
    assert caps.find_guest("xen", "x86_64").emulator


def test_read_only_connection_reads_and_refuses_changes(xen_env, quiet_errors):
    ro = libvirt.openReadOnly("xen:///")
    try:
        assert ro.listDomainsID() == [0]
        with pytest.raises(libvirt.libvirtError) as exc:
            ro.defineXML(FC4)
        assert exc.value.get_error_code() == C.VIR_ERR_OPERATION_DENIED
    finally:
        ro.close()


# --------------------------------------------------------------------------- lifecycles

def test_pv_fc4_full_lifecycle(conn, xen_env, tmp_path):
    dom = conn.defineXML(FC4)
    defined = dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)
    assert dom.isActive() == 0 and dom.isPersistent() == 1
    assert dom.info() == [C.VIR_DOMAIN_SHUTOFF, 131072, 131072, 1, 0]
    assert conn.listDefinedDomains() == ["fc4"]

    dom.create()
    domid = dom.ID()
    assert domid > 0 and dom.isActive() == 1
    assert conn.listDomainsID() == [0, domid]
    assert dom.OSType() == "linux"
    state, maxmem, mem, vcpus, _cpu = dom.info()
    assert (state, maxmem, mem, vcpus) == (C.VIR_DOMAIN_RUNNING, 131072, 131072, 1)
    assert xs_read(xen_env, f"/local/domain/{domid}/name") == "fc4"
    live = dom.XMLDesc()
    assert f"id='{domid}'" in live
    tty = xs_read(xen_env, f"/local/domain/{domid}/console/tty")
    assert f"tty='{tty}'" in live
    assert strip_runtime(live) == defined  # what was defined, plus runtime fields only

    dom.suspend()
    assert dom.info()[0] == C.VIR_DOMAIN_PAUSED
    assert dom.state() == [C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_PAUSED_USER]
    dom.resume()
    assert dom.info()[0] == C.VIR_DOMAIN_RUNNING

    dom.setMemory(65536)
    assert xs_read(xen_env, f"/local/domain/{domid}/memory/target") == "65536"
    assert dom.info()[2] == 65536
    assert "<currentMemory unit='KiB'>65536</currentMemory>" in dom.XMLDesc()

    image = str(tmp_path / "fc4.save")
    dom.save(image)
    assert dom.ID() == -1 and dom.info()[0] == C.VIR_DOMAIN_SHUTOFF
    assert os.path.exists(image) and os.path.exists(image + ".xml")
    assert conn.listDomainsID() == [0]

    assert conn.restore(image) == 0
    dom = conn.lookupByName("fc4")
    assert dom.ID() not in (-1, domid) and dom.info()[0] == C.VIR_DOMAIN_RUNNING
    assert strip_runtime(dom.XMLDesc()) == strip_runtime(defined.replace(
        "<currentMemory unit='KiB'>131072", "<currentMemory unit='KiB'>65536"))

    dom.shutdown()
    assert dom.info()[0] == C.VIR_DOMAIN_SHUTOFF
    assert conn.listDomainsID() == [0]
    assert dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE) == defined
    dom.undefine()
    assert conn.listDefinedDomains() == []
    with pytest.raises(libvirt.libvirtError) as exc:
        conn.lookupByName("fc4")
    assert exc.value.get_error_code() == C.VIR_ERR_NO_DOMAIN


def test_hvm_fv0_lifecycle_with_reboot_and_destroy(conn, xen_env):
    dom = conn.defineXML(FV0)
    assert dom.UUIDString() == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"
    dom.create()
    first = dom.ID()
    assert dom.OSType() == "hvm"
    assert xs_read(xen_env, f"/vm/{dom.UUIDString()}/image/ostype") == "hvm"
    live = dom.XMLDesc()
    assert "<graphics type='vnc' port='5904'>" in live  # fixed port, as defined
    assert "<loader type='rom'>/usr/lib/xen/boot/hvmloader</loader>" in live and "device='floppy'" in live
    assert strip_runtime(live) == dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)
    dom.reboot()
    again = conn.lookupByName("fv0")
    assert again.ID() not in (-1, first)
    again.destroy()
    assert dom.info()[0] == C.VIR_DOMAIN_SHUTOFF
    assert conn.listDomainsID() == [0]


def test_transient_domain_with_autoport_vnc(conn, xen_env):
    xml = without(FV0, "<graphics type='vnc' port='5904'/>", "<graphics type='vnc' port='-1' autoport='yes'/>")
    dom = conn.createXML(xml, C.VIR_DOMAIN_START_PAUSED)
    assert dom.isPersistent() == 0
    assert dom.info()[0] == C.VIR_DOMAIN_PAUSED
    port = xs_read(xen_env, f"/local/domain/{dom.ID()}/console/vnc-port")
    assert f"<graphics type='vnc' port='{port}' autoport='yes'>" in dom.XMLDesc()
    assert "port='-1'" in dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)
    dom.destroy()
    with pytest.raises(libvirt.libvirtError) as exc:
        conn.lookupByName("fv0")
    assert exc.value.get_error_code() == C.VIR_ERR_NO_DOMAIN


def test_shutdown_is_requested_through_control_shutdown(conn, xen_env, monkeypatch):
    dom = conn.defineXML(FC4)
    dom.create()
    monkeypatch.setenv("FAKE_XL_GUEST", "deaf")  # a guest that does not act on the request
    dom.shutdown()
    assert xs_read(xen_env, f"/local/domain/{dom.ID()}/control/shutdown") == "poweroff"
    assert dom.isActive() == 1
    dom.destroy()
    assert dom.isActive() == 0


def test_state_comes_from_xenstore_written_by_others(conn, xen_env):
    dom0 = conn.lookupByID(0)
    xs_write(xen_env, "/local/domain/0/memory/target", "524288")
    xs_write(xen_env, "/local/domain/0/cpu/1/availability", "offline")
    assert dom0.info()[1:4] == [1048576, 524288, 1]
    assert dom0.XMLDesc().count("<currentMemory unit='KiB'>524288</currentMemory>") == 1


def test_vcpus_and_max_memory(conn, xen_env):
    dom = conn.defineXML(without(FC4, "<vcpu>1</vcpu>", "<vcpu current='1'>2</vcpu>"))
    dom.create()
    dom.setVcpus(2)
    assert dom.info()[3] == 2
    assert xs_read(xen_env, f"/local/domain/{dom.ID()}/cpu/1/availability") == "online"
    with pytest.raises(libvirt.libvirtError) as exc:
        dom.setVcpus(3)
    assert exc.value.get_error_code() == C.VIR_ERR_INVALID_ARG
    dom.setMaxMemory(262144)
    assert xs_read(xen_env, f"/local/domain/{dom.ID()}/memory/static-max") == "262144"
    assert dom.maxMemory() == 262144
    dom.destroy()
    dom.setMemoryFlags(65536, C.VIR_DOMAIN_AFFECT_CONFIG)  # inactive: the persistent definition changes
    assert dom.info()[2] == 65536


def test_list_all_domains_flags_and_stats(conn, xen_env):
    a = conn.defineXML(FC4)
    conn.defineXML(FV0)
    a.create()
    a.suspend()
    names = lambda flags: sorted(d.name() for d in conn.listAllDomains(flags))  # noqa: E731
    assert names(0) == ["Domain-0", "fc4", "fv0"]
    assert names(C.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == ["Domain-0", "fc4"]
    assert names(C.VIR_CONNECT_LIST_DOMAINS_INACTIVE) == ["fv0"]
    assert names(C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT) == ["Domain-0"]
    assert names(C.VIR_CONNECT_LIST_DOMAINS_PAUSED) == ["fc4"]
    assert names(C.VIR_CONNECT_LIST_DOMAINS_RUNNING) == ["Domain-0"]
    assert names(C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF) == ["fv0"]
    stats = {d.name(): s for d, s in conn.getAllDomainStats()}
    assert stats["fc4"]["state.state"] == C.VIR_DOMAIN_PAUSED
    assert stats["fv0"]["balloon.maximum"] == 524288
    assert stats["Domain-0"]["vcpu.current"] == 2
    a.destroy()


def test_definitions_persist_across_connections_and_survive_a_broken_file(xen_env, tmp_path):
    c1 = libvirt.open("xen:///")
    c1.defineXML(FC4)
    (tmp_path / "config" / "broken.xml").write_text("<domain><name>broken")
    c2 = libvirt.open("xen:///")
    try:
        assert c2.listDefinedDomains() == ["fc4"]
        c2.defineXML(FV0)
        assert sorted(c1.listDefinedDomains()) == ["fc4", "fv0"]  # c1 sees c2's definition
        assert not list((tmp_path / "config").glob(".*.tmp"))  # atomic writes leave no temp files
    finally:
        c1.close()
        c2.close()


# --------------------------------------------------------------------------- events

def test_lifecycle_events_from_watches_and_operations(conn, xen_env, fake_xl, tmp_path):
    seen: list[tuple[str, int, int]] = []
    cond = threading.Condition()

    def cb(_conn, dom, event, detail, _opaque):
        with cond:
            seen.append((dom.name(), event, detail))
            cond.notify_all()

    def wait_for(item, timeout=5.0):
        with cond:
            assert cond.wait_for(lambda: item in seen, timeout), (item, seen)

    cid = conn.domainEventRegisterAny(None, C.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
    try:
        dom = conn.defineXML(FC4)
        wait_for(("fc4", C.VIR_DOMAIN_EVENT_DEFINED, C.VIR_DOMAIN_EVENT_DEFINED_ADDED))
        dom.create()
        wait_for(("fc4", C.VIR_DOMAIN_EVENT_STARTED, C.VIR_DOMAIN_EVENT_STARTED_BOOTED))
        dom.suspend()
        wait_for(("fc4", C.VIR_DOMAIN_EVENT_SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED))
        dom.resume()
        wait_for(("fc4", C.VIR_DOMAIN_EVENT_RESUMED, C.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED))
        image = str(tmp_path / "fc4.img")
        dom.save(image)
        wait_for(("fc4", C.VIR_DOMAIN_EVENT_STOPPED, C.VIR_DOMAIN_EVENT_STOPPED_SAVED))
        conn.restore(image)
        wait_for(("fc4", C.VIR_DOMAIN_EVENT_STARTED, C.VIR_DOMAIN_EVENT_STARTED_RESTORED))
        conn.lookupByName("fc4").destroy()
        wait_for(("fc4", C.VIR_DOMAIN_EVENT_STOPPED, C.VIR_DOMAIN_EVENT_STOPPED_DESTROYED))
        # a domain started behind the driver's back (xl used by hand) is noticed too
        cfg = tmp_path / "other.cfg"
        cfg.write_text('name = "other"\ntype = "pv"\nkernel = "/k"\nmemory = 64\n')
        subprocess.run([str(fake_xl), "create", str(cfg)], check=True, capture_output=True, timeout=30)
        wait_for(("other", C.VIR_DOMAIN_EVENT_STARTED, C.VIR_DOMAIN_EVENT_STARTED_BOOTED))
        other = conn.lookupByName("other")  # not started by the driver: XML made from XenStore
        assert other.isPersistent() == 0 and other.OSType() == "linux"
        other_xml = parse_domain(other.XMLDesc(), hypervisor="xen")
        assert (other_xml.name, other_xml.memory_kib, other_xml.id) == ("other", 65536, other.ID())
        subprocess.run([str(fake_xl), "shutdown", "other"], check=True, capture_output=True, timeout=30)
        wait_for(("other", C.VIR_DOMAIN_EVENT_STOPPED, C.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN))
        dom.undefine()
        wait_for(("fc4", C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED))
    finally:
        conn.domainEventDeregisterAny(cid)
    assert len([s for s in seen if s[1] == C.VIR_DOMAIN_EVENT_STARTED and s[0] == "fc4"]) == 2  # no duplicates


# --------------------------------------------------------------------------- bad input

def _fails(fn, code: int, domain: int, *words: str, within: float = 10.0):
    t0 = time.monotonic()
    with pytest.raises(libvirt.libvirtError) as exc:
        fn()
    elapsed = time.monotonic() - t0
    assert elapsed < within, elapsed
    err = exc.value
    assert (err.get_error_code(), err.get_error_domain()) == (code, domain), err.err
    for w in words:
        assert w in err.get_error_message(), err.get_error_message()
    return err


@pytest.mark.usefixtures("quiet_errors")
def test_bad_definitions_are_refused_and_nothing_is_stored(conn, tmp_path):
    _fails(lambda: conn.defineXML("<domain type='xen'><name>x</name"), C.VIR_ERR_XML_DETAIL, C.VIR_FROM_DOMAIN)
    _fails(lambda: conn.defineXML(without(FV0, "<loader>/usr/lib/xen/boot/hvmloader</loader>")),
           C.VIR_ERR_NO_KERNEL, C.VIR_FROM_DOMAIN, "loader")
    _fails(lambda: conn.defineXML(without(FC4, "<kernel>/boot/vmlinuz-2.6.15-1.43_FC5guest</kernel>")),
           C.VIR_ERR_NO_KERNEL, C.VIR_FROM_DOMAIN, "kernel")
    _fails(lambda: conn.createXML(without(FC4, "<kernel>/boot/vmlinuz-2.6.15-1.43_FC5guest</kernel>")),
           C.VIR_ERR_NO_KERNEL, C.VIR_FROM_DOMAIN)
    assert conn.listDefinedDomains() == [] and conn.listDomainsID() == [0]
    assert not (tmp_path / "config").exists() or not list((tmp_path / "config").glob("*.xml"))


@pytest.mark.usefixtures("quiet_errors")
def test_conflicting_definitions_and_invalid_operations(conn):
    dom = conn.defineXML(FV0)
    _fails(lambda: conn.defineXML(FV0.replace("4dea22b31d52d8f32516782e98ab3fa0", "11112222333344445555666677778888")),
           C.VIR_ERR_OPERATION_FAILED, C.VIR_FROM_XEN, "already exists")
    _fails(lambda: conn.defineXML(FV0.replace("<name>fv0</name>", "<name>fv1</name>")),
           C.VIR_ERR_OPERATION_FAILED, C.VIR_FROM_XEN, "fv0")
    _fails(dom.suspend, C.VIR_ERR_OPERATION_INVALID, C.VIR_FROM_XEN, "not running")
    dom.create()
    _fails(dom.create, C.VIR_ERR_OPERATION_INVALID, C.VIR_FROM_XEN, "already running")
    _fails(lambda: conn.createXML(FV0), C.VIR_ERR_OPERATION_INVALID, C.VIR_FROM_XEN, "already running")
    dom.destroy()
    _fails(lambda: conn.restore("/nonexistent/image"), C.VIR_ERR_OPERATION_INVALID, C.VIR_FROM_XEN, "XML")


@pytest.mark.usefixtures("quiet_errors")
def test_xl_failure_comes_back_with_xl_message(conn, monkeypatch):
    dom = conn.defineXML(FC4)
    monkeypatch.setenv("FAKE_XL_FAIL", "create:libxl: error: libxl_dom.c:42: kernel image not found")
    err = _fails(dom.create, C.VIR_ERR_OPERATION_FAILED, C.VIR_FROM_XEN, "xl create failed",
                 "kernel image not found")
    assert "Parsing config" not in err.get_error_message()
    assert dom.isActive() == 0


@pytest.mark.usefixtures("quiet_errors")
def test_hanging_xl_times_out(xen_env, monkeypatch):
    c = libvirt.open("xen:///?xl_timeout=1")
    try:
        dom = c.defineXML(FC4)
        dom.create()
        monkeypatch.setenv("FAKE_XL_HANG", "pause")
        _fails(dom.suspend, C.VIR_ERR_OPERATION_TIMEOUT, C.VIR_FROM_XEN, "xl pause", within=5)
    finally:
        c.close()


@pytest.mark.usefixtures("quiet_errors")
def test_xenstore_gone_or_hung_gives_coded_errors_in_bounded_time(xen_env):
    c = libvirt.open("xen:///?timeout=0.5")
    try:
        dom0 = c.lookupByName("Domain-0")
        xen_env.signal(signal.SIGSTOP)
        try:
            _fails(dom0.info, C.VIR_ERR_OPERATION_TIMEOUT, C.VIR_FROM_XENSTORE, within=3)
        finally:
            xen_env.signal(signal.SIGCONT)
        assert dom0.info()[0] == C.VIR_DOMAIN_RUNNING  # reconnects once the daemon answers again
        xen_env.stop()
        _fails(lambda: c.lookupByName("Domain-0"), C.VIR_ERR_NO_XENSTORE, C.VIR_FROM_XENSTORE, within=3)
        assert c.isAlive() == 0
    finally:
        c.close()
    _fails(lambda: libvirt.open("xen:///"), C.VIR_ERR_NO_XENSTORE, C.VIR_FROM_XENSTORE, within=3)


@pytest.mark.usefixtures("quiet_errors")
@pytest.mark.parametrize("uri,code", [
    ("xen:///?bogus=1", C.VIR_ERR_INVALID_ARG),
    ("xen:///?timeout=-1", C.VIR_ERR_INVALID_ARG),
    ("xen:///somewhere", C.VIR_ERR_NO_CONNECT),
    ("xen://host/", C.VIR_ERR_NO_CONNECT),
])
def test_bad_uris(xen_env, uri, code):
    _fails(lambda: libvirt.open(uri), code, C.VIR_FROM_XEN)


@pytest.mark.usefixtures("quiet_errors")
def test_missing_xl_is_reported_for_changes_but_reads_work(xen_env, monkeypatch, tmp_path):
    c = libvirt.open(f"xen:///?xl={tmp_path / 'no-such-xl'}")
    try:
        dom0 = c.lookupByName("Domain-0")
        assert dom0.info()[0] == C.VIR_DOMAIN_RUNNING  # XenStore still answers
        dom = c.defineXML(FC4)
        _fails(dom.create, C.VIR_ERR_OPERATION_FAILED, C.VIR_FROM_XEN, "cannot run xl")
    finally:
        c.close()


@pytest.mark.usefixtures("quiet_errors")
def test_every_generated_config_goes_through_the_real_xl_parser(conn, monkeypatch, tmp_path):
    """The fake xl hands each config to the real ``xl -N create`` first; prove the hook is live."""
    if not os.environ.get("FAKE_XL_REAL"):
        pytest.skip("the real xl is not installed")
    dom = conn.defineXML(FC4)
    picky = tmp_path / "picky-xl"
    picky.write_text("#!/bin/sh\necho 'fc4.cfg:3: config parsing error near `x`' >&2\nexit 1\n")
    picky.chmod(0o755)
    monkeypatch.setenv("FAKE_XL_REAL", str(picky))
    _fails(dom.create, C.VIR_ERR_OPERATION_FAILED, C.VIR_FROM_XEN, "config parsing error")
    assert dom.isActive() == 0


def test_virsh_cli_over_xen(conn, tmp_path):
    import io

    from guiapp.backend import cli

    def virsh(*argv: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        status = cli.run(["-c", "xen:///", *argv], libvirt, out, err)
        assert status == 0, err.getvalue()
        return out.getvalue()

    info = virsh("dominfo", "Domain-0")
    assert "OS Type:        linux" in info and "State:          running" in info and "CPU(s):         2" in info
    xml = tmp_path / "fc4.xml"
    xml.write_text(FC4)
    virsh("define", str(xml))
    virsh("start", "fc4")
    virsh("suspend", "fc4")
    assert virsh("domstate", "fc4").strip() == "paused"
    listing = virsh("list", "--all")
    assert "Domain-0" in listing and "fc4" in listing and "paused" in listing
    virsh("destroy", "fc4")
    assert virsh("domstate", "fc4").strip() == "shut off"
    assert "Running hypervisor: Xen 4.17.3" in virsh("version")


def test_domain_xml_to_and_from_native_xl(conn, quiet_errors):
    cfg = conn.domainXMLToNative("xen-xl", FC4, 0)
    assert 'name = "fc4"' in cfg and 'kernel = "/boot/vmlinuz-2.6.15-1.43_FC5guest"' in cfg
    back = parse_domain(conn.domainXMLFromNative("xen-xl", cfg, 0), hypervisor="xen")
    assert back.name == "fc4" and back.kernel == "/boot/vmlinuz-2.6.15-1.43_FC5guest"
    assert back.memory_kib == 131072
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.domainXMLToNative("qemu-argv", FC4, 0)
    assert ei.value.get_error_code() == C.VIR_ERR_INVALID_ARG
