"""The in-memory test driver, called directly (no front-end), checked against libvirt 9.0's behaviour."""

import os
import socket
import struct
import threading

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.drivers import base, contract
from guiapp.backend.drivers.contract_check import implemented
from guiapp.backend.drivers.test import DRIVER, TestDriver, shared
from guiapp.backend.drivers.test import dom as dom_mod
from guiapp.backend.drivers.test import driver as driver_mod
from guiapp.backend.errors import DriverError
from guiapp.backend.uri import parse_uri

TEST_UUID = bytes.fromhex("6695eb01f6a4830479aa97f2502e193f")


def open_test(uri: str = "test:///default") -> TestDriver:
    return TestDriver.open(parse_uri(uri), False)


@pytest.fixture
def drv():
    d = open_test()
    yield d
    d.close()


@pytest.fixture
def clock(monkeypatch):
    """Replace the driver's clock: ``clock.advance(seconds)`` moves time forward."""

    class Clock:
        ns = 1_000_000_000_000

        def __call__(self):
            return self.ns

        def advance(self, seconds: float) -> None:
            self.ns += int(seconds * 1e9)

    c = Clock()
    monkeypatch.setattr(dom_mod, "clock", c)
    return c


def X(name: str, extra: str = "", devices: str = "") -> str:
    return (f"<domain type='test'><name>{name}</name><memory>1024</memory><os><type>hvm</type></os>{extra}"
            f"<devices>{devices}</devices></domain>")


def raises(code: int, fn, *args, domain: int | None = None, text: str | None = None) -> DriverError:
    with pytest.raises(DriverError) as info:
        fn(*args)
    e = info.value
    assert e.code == code, (e.code, str(e))
    if domain is not None:
        assert e.domain == domain, (e.domain, str(e))
    if text is not None:
        assert text in str(e), str(e)
    return e


# -- connection -------------------------------------------------------------------------------

def test_driver_protocol_and_operations(drv):
    assert DRIVER is TestDriver
    assert isinstance(drv, base.Driver)
    assert TestDriver.error_domain == C.VIR_FROM_TEST and TestDriver.schemes == ("test",)
    # everything but native-config conversion, which libvirt's test driver does not have either
    assert set(implemented(drv)) == set(contract.OPERATIONS) - {
        "domain_xml_to_native", "domain_xml_from_native",
        # so far only the remote driver answers these (virsh dominfo's security lines)
        "domain_get_security_label", "node_get_security_model",
        # the test driver has nothing to autostart at a daemon's start
        "autostart_once"}
    assert TestDriver.probe() is None


def test_default_node_like_libvirt(drv):
    assert drv.get_type() == "TEST"
    assert drv.get_version() == 2
    assert drv.get_uri() == "test:///default"
    assert drv.get_hostname() == socket.gethostname()
    assert drv.node_get_info() == ["i686", 3072, 16, 1400, 2, 2, 2, 2]
    assert drv.get_max_vcpus(None) == 32
    assert drv.is_alive()
    ref = drv.lookup_by_name("test")
    assert ref == (("test", TEST_UUID, 1))
    assert drv.lookup_by_id(1) == ref == drv.lookup_by_uuid(TEST_UUID)
    assert drv.domain_get_state(ref, 0) == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_UNKNOWN]
    assert drv.domain_get_info(ref)[:4] == [1, 8388608, 2097152, 2]
    assert drv.domain_get_os_type(ref) == "hvm"
    assert drv.domain_is_active(ref) and drv.domain_is_persistent(ref) and not drv.domain_get_autostart(ref)
    assert drv.list_domain_ids() == [1] and drv.num_of_domains() == 1
    assert drv.list_defined_domains() == [] and drv.num_of_defined_domains() == 0
    root = etree.fromstring(drv.domain_get_xml_desc(ref, 0))
    assert root.get("type") == "test" and root.get("id") == "1"
    assert root.findtext("uuid") == "6695eb01-f6a4-8304-79aa-97f2502e193f"
    assert root.find("os/type").get("arch") == "i686" and root.find("os/boot").get("dev") == "hd"
    assert root.find("devices/disk/source").get("file") == "/guest/diskimage1"
    assert root.find("devices/interface/mac").get("address") == "aa:bb:cc:dd:ee:ff"
    assert root.find("devices/interface/target").get("dev") == "testnet0"
    assert root.find("devices/memballoon").get("model") == "virtio"
    assert etree.fromstring(drv.domain_get_xml_desc(ref, C.VIR_DOMAIN_XML_INACTIVE)).get("id") is None


def test_capabilities_like_libvirts_test_driver(drv):
    root = etree.fromstring(drv.get_capabilities())
    assert root.findtext("host/cpu/arch") == "i686"
    assert [g.findtext("os_type") for g in root.findall("guest")] == ["hvm", "xen"]
    assert {d.get("type") for d in root.iter("domain")} == {"test"}
    assert root.findtext("guest/arch/emulator") == "/usr/bin/test-hv"


def test_default_node_is_shared_while_open_and_fresh_after_the_last_close():
    a, b = open_test(), open_test()
    a.domain_define_xml(X("only-in-a"))
    a.domain_destroy(a.lookup_by_name("test"))
    assert [r.name for r in b.list_all_domains(0)] == ["test", "only-in-a"]  # one node, as in libvirt
    assert b.domain_get_state(b.lookup_by_name("test"))[0] == C.VIR_DOMAIN_SHUTOFF
    a.close()
    b.close()
    c = open_test()
    assert [r.name for r in c.list_all_domains(0)] == ["test"]  # the last close freed it
    assert c.domain_get_state(c.lookup_by_name("test"))[0] == C.VIR_DOMAIN_RUNNING
    c.close()


def test_open_errors(tmp_path):
    raises(C.VIR_ERR_INVALID_ARG, TestDriver.open, parse_uri("test:///"), False, text="test:///default")
    raises(C.VIR_ERR_NO_CONNECT, TestDriver.open, parse_uri("test://remote.example/default"), False)
    raises(C.VIR_ERR_XML_ERROR, TestDriver.open, parse_uri(f"test://{tmp_path}/none.xml"), False,
           text="No such file")
    bad = tmp_path / "bad.xml"
    bad.write_text("<node><cpu>")
    raises(C.VIR_ERR_XML_DETAIL, TestDriver.open, parse_uri(f"test://{bad}"), False)


def test_node_file_like_libvirt(tmp_path):
    ns = "http://libvirt.org/schemas/domain/test/1.0"
    (tmp_path / "d.xml").write_text("<domain type='test'><name>fromfile</name><memory>2048</memory>"
                                    "<os><type>hvm</type></os></domain>")
    (tmp_path / "node.xml").write_text(
        f"<node xmlns:test='{ns}'><cpu><mhz>6000</mhz><model>i986</model><active>50</active><nodes>4</nodes>"
        "<sockets>4</sockets><cores>4</cores><threads>2</threads></cpu><memory>8192000</memory>"
        "<domain file='d.xml'/>"
        "<domain type='test'><name>off</name><memory>1024</memory><os><type>hvm</type></os>"
        "<test:runstate>5</test:runstate></domain>"
        "<domain type='test'><name>paused</name><memory>1024</memory><os><type>hvm</type></os>"
        "<test:runstate>3</test:runstate></domain>"
        "<domain type='test'><name>trans</name><memory>1024</memory><os><type>hvm</type></os>"
        "<test:transient/></domain></node>")
    d = open_test(f"test://{tmp_path}/node.xml")
    assert d.get_uri() == f"test://{tmp_path}/node.xml"
    assert d.node_get_info() == ["i986", 8000, 50, 6000, 4, 4, 4, 2]
    got = {r.name: (r.id, d.domain_get_state(r), d.domain_is_persistent(r)) for r in d.list_all_domains(0)}
    assert got == {"fromfile": (1, [1, 0], True), "off": (-1, [5, 0], True), "paused": (2, [3, 0], True),
                   "trans": (3, [1, 0], False)}
    ref = d.domain_create(d.lookup_by_name("off"))
    assert ref.id == 4  # ids continue after the node's running domains
    assert "runstate" not in d.domain_get_xml_desc(ref, 0)


# -- lookups ---------------------------------------------------------------------------------------

def test_lookup_errors(drv):
    e = raises(C.VIR_ERR_NO_DOMAIN, drv.lookup_by_name, "nope", domain=C.VIR_FROM_TEST)
    assert "no domain with matching name 'nope'" in str(e)
    raises(C.VIR_ERR_NO_DOMAIN, drv.lookup_by_id, 99, text="no domain with matching id 99")
    raises(C.VIR_ERR_NO_DOMAIN, drv.lookup_by_uuid, b"\x01" * 16, text="no domain with matching uuid")
    gone = base.DomainRef("ghost", b"\x02" * 16, -1)
    raises(C.VIR_ERR_NO_DOMAIN, drv.domain_get_info, gone, text="(ghost)")


# -- lifecycle -------------------------------------------------------------------------------------------

def test_lifecycle_states_ids_and_errors_like_libvirt(drv):
    ref = drv.lookup_by_name("test")
    state = lambda: drv.domain_get_state(ref, 0)  # noqa: E731
    raises(C.VIR_ERR_INTERNAL_ERROR, drv.domain_resume, ref, domain=C.VIR_FROM_TEST, text="domain 'test' not paused")
    drv.domain_suspend(ref)
    assert state() == [C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_PAUSED_USER]
    raises(C.VIR_ERR_INTERNAL_ERROR, drv.domain_suspend, ref, text="domain 'test' not running")
    drv.domain_resume(ref)
    assert state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_UNPAUSED]
    raises(C.VIR_ERR_INTERNAL_ERROR, drv.domain_create, ref, 0, text="Domain 'test' is already running")
    drv.domain_shutdown(ref, 0)
    assert state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
    assert drv.lookup_by_name("test").id == -1 and drv.list_domain_ids() == []
    raises(C.VIR_ERR_NO_DOMAIN, drv.lookup_by_id, 1)
    raises(C.VIR_ERR_INTERNAL_ERROR, drv.domain_shutdown, ref, 0, text="domain 'test' not running")
    raises(C.VIR_ERR_INTERNAL_ERROR, drv.domain_suspend, ref, text="not running")
    raises(C.VIR_ERR_INTERNAL_ERROR, drv.domain_resume, ref, text="not paused")
    for op in (drv.domain_destroy, drv.domain_reboot):
        raises(C.VIR_ERR_OPERATION_INVALID, op, ref, 0, domain=C.VIR_FROM_DOMAIN, text="domain is not running")
    assert drv.domain_create(ref, 0).id == 2
    assert state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED]
    drv.domain_destroy(ref, 0)
    assert state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_DESTROYED]
    assert drv.domain_create(ref, 0).id == 3  # ids are never reused
    drv.domain_reboot(ref, 0)
    assert state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED]
    assert drv.lookup_by_name("test").id == 3
    assert drv.lookup_by_id(3).name == "test"


def test_paused_domain_can_be_shut_down_and_destroyed(drv):
    ref = drv.lookup_by_name("test")
    drv.domain_suspend(ref)
    drv.domain_shutdown(ref, 0)
    assert drv.domain_get_state(ref) == [5, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
    drv.domain_create(ref, C.VIR_DOMAIN_START_PAUSED)
    assert drv.domain_get_state(ref) == [3, C.VIR_DOMAIN_PAUSED_USER]
    drv.domain_destroy(ref, 0)
    assert drv.domain_get_state(ref)[0] == 5


def test_transient_domains_vanish_when_stopped(drv, tmp_path):
    for stop in ("shutdown", "destroy", "save", "reboot"):
        extra = "<on_reboot>destroy</on_reboot>" if stop == "reboot" else ""
        ref = drv.domain_create_xml(X("t", extra), 0)
        assert ref.id > 0 and not drv.domain_is_persistent(ref)
        assert drv.domain_get_state(ref) == [1, C.VIR_DOMAIN_RUNNING_BOOTED]
        if stop == "save":
            drv.domain_save(ref, str(tmp_path / "t.save"), None, 0)
        else:
            getattr(drv, f"domain_{stop}")(ref, 0)
        raises(C.VIR_ERR_NO_DOMAIN, drv.lookup_by_name, "t")
        assert "t" not in drv.list_defined_domains()


def test_create_xml_of_a_defined_inactive_domain_starts_it(drv):
    ref = drv.domain_define_xml(X("p", "<vcpu>1</vcpu>"), 0)
    started = drv.domain_create_xml(X("p", f"<uuid>{_uuid(drv, ref)}</uuid><vcpu>2</vcpu>"), 0)
    assert started.id > 0 and drv.domain_is_persistent(started)
    assert drv.domain_get_info(started)[3] == 2  # runs the given definition
    drv.domain_destroy(started, 0)
    assert drv.domain_get_info(started)[3] == 1  # the persistent config is unchanged


def _uuid(drv, ref):
    return etree.fromstring(drv.domain_get_xml_desc(ref, 0)).findtext("uuid")


def test_create_xml_refuses_running_and_duplicates(drv):
    raises(C.VIR_ERR_OPERATION_FAILED, drv.domain_create_xml, X("test"), 0, domain=C.VIR_FROM_DOMAIN,
           text="domain 'test' already exists with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f")
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_create_xml,
           X("test", "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"), 0, text="domain 'test' is already active")
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_create_xml, X("f"), 1 << 10, text="unsupported flags (0x400)")


def test_lifecycle_actions_are_honoured(drv):
    r = drv.domain_define_xml(X("r", "<on_poweroff>restart</on_poweroff><on_reboot>destroy</on_reboot>"), 0)
    r = drv.domain_create(r, 0)
    drv.domain_shutdown(r, 0)  # on_poweroff=restart: the guest comes back, same id
    assert drv.domain_get_state(r) == [1, C.VIR_DOMAIN_RUNNING_BOOTED] and drv.lookup_by_name("r").id == r.id
    drv.domain_reboot(r, 0)  # on_reboot=destroy: it stops
    assert drv.domain_get_state(r) == [5, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
    p = drv.domain_create(drv.domain_define_xml(X("p", "<on_poweroff>preserve</on_poweroff>"), 0), 0)
    drv.domain_shutdown(p, 0)
    assert drv.domain_get_state(p)[0] == 5  # libvirt's test driver shuts it off too
    q = drv.domain_create(drv.domain_define_xml(X("q", "<on_reboot>rename-restart</on_reboot>"), 0), 0)
    drv.domain_reboot(q, 0)
    assert drv.domain_get_state(q) == [1, C.VIR_DOMAIN_RUNNING_BOOTED]


# -- define / undefine ----------------------------------------------------------------------------------------

def test_define_duplicates_like_libvirt(drv):
    raises(C.VIR_ERR_OPERATION_FAILED, drv.domain_define_xml, X("test"), 0, domain=C.VIR_FROM_DOMAIN,
           text="domain 'test' already exists with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f")
    raises(C.VIR_ERR_OPERATION_FAILED, drv.domain_define_xml,
           X("other", "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"), 0,
           text="domain 'test' is already defined with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f")


def test_redefine_updates_config_and_running_keeps_live(drv):
    ref = drv.lookup_by_name("test")
    drv.domain_define_xml(X("test", "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><vcpu>3</vcpu>"), 0)
    assert drv.domain_get_info(ref)[3] == 2  # live config until restart
    inactive = etree.fromstring(drv.domain_get_xml_desc(ref, C.VIR_DOMAIN_XML_INACTIVE))
    assert inactive.findtext("vcpu") == "3"
    assert etree.fromstring(drv.domain_get_xml_desc(ref, 0)).findtext("vcpu") == "2"
    drv.domain_destroy(ref, 0)
    assert drv.domain_get_info(ref)[3] == 3
    drv.domain_define_xml(X("test", "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><vcpu>4</vcpu>"), 0)
    assert drv.domain_get_info(ref)[3] == 4  # inactive: replaced at once


def test_define_makes_a_running_transient_domain_persistent(drv):
    ref = drv.domain_create_xml(X("t"), 0)
    drv.domain_define_xml(X("t", f"<uuid>{_uuid(drv, ref)}</uuid>"), 0)
    assert drv.domain_is_persistent(ref)
    drv.domain_destroy(ref, 0)
    assert drv.lookup_by_name("t").id == -1


def test_undefine(drv):
    ref = drv.domain_define_xml(X("gone"), 0)
    assert drv.list_defined_domains() == ["gone"]
    drv.domain_undefine(ref, 0)
    raises(C.VIR_ERR_NO_DOMAIN, drv.lookup_by_name, "gone")
    raises(C.VIR_ERR_NO_DOMAIN, drv.domain_get_info, ref)
    test = drv.lookup_by_name("test")
    drv.domain_undefine(test, 0)  # running: becomes transient
    assert not drv.domain_is_persistent(test) and drv.domain_is_active(test)
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_undefine, test, 0)
    drv.domain_destroy(test, 0)
    assert drv.list_all_domains(0) == []


def test_failed_define_changes_nothing(drv):
    before = [(r, drv.domain_get_xml_desc(r, 0)) for r in drv.list_all_domains(0)]
    for bad in ("<domain", X("test"), X("x", "<vcpu>0</vcpu>"), X("a/b")):
        with pytest.raises(DriverError):
            drv.domain_define_xml(bad, 0)
    assert [(r, drv.domain_get_xml_desc(r, 0)) for r in drv.list_all_domains(0)] == before


def test_test_driver_fills_arch_like_libvirt(drv):
    ref = drv.domain_define_xml(X("a"), 0)
    assert etree.fromstring(drv.domain_get_xml_desc(ref, 0)).find("os/type").get("arch") == "i686"


def test_ids_in_given_xml_are_ignored(drv):
    ref = drv.domain_define_xml(X("a").replace("<domain ", "<domain id='42' "), 0)
    assert ref.id == -1 and "id=" not in drv.domain_get_xml_desc(ref, 0).splitlines()[0]
    ref = drv.domain_create(ref, 0)
    assert ref.id == 2 and f"id='{ref.id}'" in drv.domain_get_xml_desc(ref, 0)


# -- save / restore ----------------------------------------------------------------------------------------

def test_save_and_restore_through_a_file(drv, tmp_path):
    ref = drv.lookup_by_name("test")
    path = tmp_path / "test.save"
    drv.domain_set_memory(ref, 1048576, C.VIR_DOMAIN_AFFECT_LIVE)
    drv.domain_save(ref, str(path), None, 0)
    assert drv.domain_get_state(ref) == [5, C.VIR_DOMAIN_SHUTOFF_SAVED]
    data = path.read_bytes()
    assert data.startswith(b"TestGuestMagic\x00")
    (length,) = struct.unpack("<i", data[15:19])
    xml = data[19:19 + length].decode()
    assert "<name>test</name>" in xml and "1048576" in xml
    restored = drv.domain_restore(str(path), None, 0)
    assert restored.name == "test" and restored.id > 1
    assert drv.domain_get_state(restored) == [1, C.VIR_DOMAIN_RUNNING_RESTORED]
    assert drv.domain_get_info(restored)[2] == 1048576  # the saved live state came back
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_restore, str(path), None, 0, text="already active")


def test_save_keeps_pause_state_and_flags(drv, tmp_path):
    ref = drv.lookup_by_name("test")
    drv.domain_suspend(ref)
    drv.domain_save(ref, str(tmp_path / "p.save"), None, 0)
    r = drv.domain_restore(str(tmp_path / "p.save"), None, 0)
    assert drv.domain_get_state(r) == [3, C.VIR_DOMAIN_PAUSED_USER]
    drv.domain_save(r, str(tmp_path / "p.save"), None, 0)
    r = drv.domain_restore(str(tmp_path / "p.save"), None, C.VIR_DOMAIN_SAVE_RUNNING)
    assert drv.domain_get_state(r)[0] == 1


def test_save_errors(drv, tmp_path):
    ref = drv.domain_define_xml(X("off"), 0)
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_save, ref, str(tmp_path / "x"), None, 0,
           text="domain is not running")
    test = drv.lookup_by_name("test")
    raises(C.VIR_ERR_SYSTEM_ERROR, drv.domain_save, test, str(tmp_path / "no" / "dir" / "x"), None, 0,
           text="No such file")
    assert drv.domain_is_active(test)  # a failed save leaves it running


def test_restore_refuses_garbage(drv, tmp_path):
    raises(C.VIR_ERR_SYSTEM_ERROR, drv.domain_restore, str(tmp_path / "none"), None, 0,
           text="cannot read domain image")
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"hello")
    raises(C.VIR_ERR_SYSTEM_ERROR, drv.domain_restore, str(garbage), None, 0, text="incomplete save header")
    garbage.write_bytes(b"NotTheMagic....." + b"\0" * 64)
    raises(C.VIR_ERR_INTERNAL_ERROR, drv.domain_restore, str(garbage), None, 0, text="mismatched header magic")
    garbage.write_bytes(driver_mod.SAVE_MAGIC + struct.pack("<i", -5))
    raises(C.VIR_ERR_INTERNAL_ERROR, drv.domain_restore, str(garbage), None, 0, text="out of range")
    garbage.write_bytes(driver_mod.SAVE_MAGIC + struct.pack("<i", 100) + b"<domain")
    raises(C.VIR_ERR_SYSTEM_ERROR, drv.domain_restore, str(garbage), None, 0, text="truncated")
    bad_xml = b"<domain type='test'><name>x</name></domain>"
    garbage.write_bytes(driver_mod.SAVE_MAGIC + struct.pack("<i", len(bad_xml)) + bad_xml)
    raises(C.VIR_ERR_XML_ERROR, drv.domain_restore, str(garbage), None, 0)
    assert [r.name for r in drv.list_all_domains(0)] == ["test"]


def test_restore_reads_libvirts_own_image_format(drv, tmp_path):
    # libvirt's test driver writes magic, a native int length, the XML, nothing else
    xml = X("fromlibvirt").encode()
    image = tmp_path / "lv.save"
    image.write_bytes(driver_mod.SAVE_MAGIC + struct.pack("<i", len(xml)) + xml)
    ref = drv.domain_restore(str(image), None, 0)
    assert drv.domain_get_state(ref) == [1, C.VIR_DOMAIN_RUNNING_RESTORED] and not drv.domain_is_persistent(ref)


def test_restore_with_alternative_xml(drv, tmp_path):
    ref = drv.lookup_by_name("test")
    drv.domain_save(ref, str(tmp_path / "s"), None, 0)
    other = X("test", "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><vcpu>1</vcpu>")
    r = drv.domain_restore(str(tmp_path / "s"), other, 0)
    assert drv.domain_get_info(r)[3] == 1
    drv.domain_save(r, str(tmp_path / "s"), None, 0)
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_restore, str(tmp_path / "s"), X("renamed"), 0)


# -- memory / vcpus -----------------------------------------------------------------------------------------

def test_set_memory_bounds_and_targets(drv):
    ref = drv.lookup_by_name("test")
    live = C.VIR_DOMAIN_AFFECT_LIVE
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_set_memory, ref, 99999999, live,
           text="cannot set memory higher than max memory")
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_set_memory, ref, 0, live, text="must not be zero")
    drv.domain_set_memory(ref, 1048576, live)
    assert drv.domain_get_info(ref)[2] == 1048576
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_set_max_memory, ref, 100,
           text="cannot resize the maximum memory on an active domain")
    assert drv.domain_get_max_memory(ref) == 8388608
    drv.domain_destroy(ref, 0)
    assert drv.domain_get_info(ref)[2] == 2097152  # live changes die with the run
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_set_memory, ref, 5, live, domain=C.VIR_FROM_DOMAIN,
           text="domain is not running")
    drv.domain_set_memory(ref, 512, C.VIR_DOMAIN_AFFECT_CONFIG)
    assert drv.domain_get_info(ref)[1:3] == [8388608, 512]
    drv.domain_set_max_memory(ref, 4096)
    assert drv.domain_get_info(ref)[1:3] == [4096, 512]
    drv.domain_set_max_memory(ref, 100)
    assert drv.domain_get_info(ref)[1:3] == [100, 100]  # current memory clamped
    t = drv.domain_create_xml(X("t"), 0)
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_set_memory, t, 512, C.VIR_DOMAIN_AFFECT_CONFIG,
           text="transient")


def test_set_vcpus_bounds(drv):
    ref = drv.lookup_by_name("test")
    live = C.VIR_DOMAIN_AFFECT_LIVE
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_set_vcpus, ref, 5, live,
           text="requested cpu amount exceeds maximum (5 > 2)")
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_set_vcpus, ref, 0, live)
    drv.domain_set_vcpus(ref, 1, live)
    assert drv.domain_get_info(ref)[3] == 1 and drv.domain_get_max_vcpus(ref) == 2
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_set_vcpus, ref, 4, live | C.VIR_DOMAIN_VCPU_MAXIMUM)
    drv.domain_set_vcpus(ref, 4, C.VIR_DOMAIN_AFFECT_CONFIG | C.VIR_DOMAIN_VCPU_MAXIMUM)
    drv.domain_destroy(ref, 0)
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_get_max_vcpus, ref)
    assert etree.fromstring(drv.domain_get_xml_desc(ref, 0)).findtext("vcpu") == "4"
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_set_vcpus, ref, 1, live)


def test_autostart(drv):
    ref = drv.lookup_by_name("test")
    drv.domain_set_autostart(ref, True)
    assert drv.domain_get_autostart(ref)
    t = drv.domain_create_xml(X("t"), 0)
    raises(C.VIR_ERR_OPERATION_INVALID, drv.domain_set_autostart, t, True)


# -- XML description ----------------------------------------------------------------------------------------

def test_xml_desc_flags(drv):
    ref = drv.domain_create_xml(X("g", devices="<graphics type='vnc' port='5901' autoport='yes' passwd='pw'/>"), 0)
    live = drv.domain_get_xml_desc(ref, 0)
    assert "passwd" not in live and f"id='{ref.id}'" in live and "port='5901'" in live
    assert "passwd='pw'" in drv.domain_get_xml_desc(ref, C.VIR_DOMAIN_XML_SECURE)
    cold = drv.domain_get_xml_desc(ref, C.VIR_DOMAIN_XML_INACTIVE)
    assert "id=" not in cold.splitlines()[0] and "port='-1'" in cold
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_get_xml_desc, ref, 1 << 8)


# -- listing ---------------------------------------------------------------------------------------------------

@pytest.fixture
def mixed(drv):
    """test (running, persistent), off (shut off), paused (paused), trans (running transient), auto (autostart)."""
    drv.domain_define_xml(X("off"), 0)
    p = drv.domain_create(drv.domain_define_xml(X("paused"), 0), 0)
    drv.domain_suspend(p)
    drv.domain_create_xml(X("trans"), 0)
    a = drv.domain_define_xml(X("auto"), 0)
    drv.domain_set_autostart(a, True)
    return drv


@pytest.mark.parametrize("flags,names", [
    (0, {"test", "off", "paused", "trans", "auto"}),
    (C.VIR_CONNECT_LIST_DOMAINS_ACTIVE, {"test", "paused", "trans"}),
    (C.VIR_CONNECT_LIST_DOMAINS_INACTIVE, {"off", "auto"}),
    (C.VIR_CONNECT_LIST_DOMAINS_PERSISTENT, {"test", "off", "paused", "auto"}),
    (C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT, {"trans"}),
    (C.VIR_CONNECT_LIST_DOMAINS_RUNNING, {"test", "trans"}),
    (C.VIR_CONNECT_LIST_DOMAINS_PAUSED, {"paused"}),
    (C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF, {"off", "auto"}),
    (C.VIR_CONNECT_LIST_DOMAINS_OTHER, set()),
    (C.VIR_CONNECT_LIST_DOMAINS_AUTOSTART, {"auto"}),
    (C.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, {"test", "off", "paused", "trans"}),
    (C.VIR_CONNECT_LIST_DOMAINS_ACTIVE | C.VIR_CONNECT_LIST_DOMAINS_INACTIVE, {"test", "off", "paused", "trans",
                                                                               "auto"}),
    (C.VIR_CONNECT_LIST_DOMAINS_ACTIVE | C.VIR_CONNECT_LIST_DOMAINS_PERSISTENT, {"test", "paused"}),
    (C.VIR_CONNECT_LIST_DOMAINS_RUNNING | C.VIR_CONNECT_LIST_DOMAINS_PAUSED, {"test", "paused", "trans"}),
    (C.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE, set()),
    (C.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, {"test", "off", "paused", "trans", "auto"}),
    (C.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT, set()),
])
def test_list_all_domains_filters(mixed, flags, names):
    refs = mixed.list_all_domains(flags)
    assert {r.name for r in refs} == names
    for r in refs:
        assert (r.id > 0) == mixed.domain_is_active(r)


def test_list_all_domains_rejects_unknown_flags(drv):
    raises(C.VIR_ERR_INVALID_ARG, drv.list_all_domains, 1 << 20, text="unsupported flags (0x100000)")


def test_list_helpers(mixed):
    assert mixed.list_defined_domains() == ["auto", "off"]
    assert mixed.num_of_defined_domains() == 2
    assert mixed.num_of_domains() == 3 == len(mixed.list_domain_ids())
    refs = mixed.list_all_domains(0)
    refs.append("junk")  # the caller's copy
    assert "junk" not in mixed.list_all_domains(0)


# -- statistics --------------------------------------------------------------------------------------------------

DEVICES = ("<disk type='file'><source file='/a.img'/><target dev='vda'/></disk>"
           "<disk type='file' device='cdrom'><target dev='hdc'/></disk>"
           "<interface type='network'><source network='default'/><target dev='vnet3'/></interface>")


def test_cpu_time_grows_while_running_only(clock, drv):
    ref = drv.domain_create_xml(X("c", devices=DEVICES), 0)
    assert drv.domain_get_info(ref)[4] == 0
    clock.advance(10)
    t1 = drv.domain_get_info(ref)[4]
    assert 0 < t1 <= 10 * 1e9 * 2
    drv.domain_suspend(ref)
    clock.advance(10)
    assert drv.domain_get_info(ref)[4] == t1  # frozen while paused
    drv.domain_resume(ref)
    clock.advance(5)
    assert drv.domain_get_info(ref)[4] > t1
    off = drv.domain_define_xml(X("off"), 0)
    assert drv.domain_get_info(off)[4] == 0


def test_stats_keys_like_libvirt(clock, drv):
    ref = drv.domain_create_xml(X("s", "<vcpu current='2'>4</vcpu>", DEVICES), 0)
    clock.advance(30)
    [(r, s)] = drv.get_all_domain_stats(0, 0, [ref])
    assert r == ref
    assert s["state.state"] == 1 and s["state.reason"] == C.VIR_DOMAIN_RUNNING_BOOTED
    assert s["cpu.time"] == s["cpu.user"] + s["cpu.system"] > 0
    assert s["balloon.current"] == 1024 and s["balloon.maximum"] == 1024
    assert (s["vcpu.current"], s["vcpu.maximum"]) == (2, 4)
    assert s["vcpu.0.state"] == C.VIR_VCPU_RUNNING and s["vcpu.1.time"] > 0
    assert s["net.count"] == 1 and s["net.0.name"] == "vnet3"
    for k in ("rx.bytes", "rx.pkts", "tx.bytes", "tx.pkts"):
        assert s[f"net.0.{k}"] > 0, k
    assert s["block.count"] == 2
    assert (s["block.0.name"], s["block.0.path"]) == ("vda", "/a.img")
    assert s["block.1.name"] == "hdc" and "block.1.path" not in s  # empty cdrom
    for k in ("rd.bytes", "rd.reqs", "wr.bytes", "wr.reqs"):
        assert s[f"block.0.{k}"] > 0, k
    assert s["net.0.rx.bytes"] >= s["net.0.rx.pkts"] * 100


def test_stats_move_plausibly_and_monotonically(clock, drv):
    ref = drv.domain_create_xml(X("m", devices=DEVICES), 0)
    keys = ["cpu.time", "block.0.rd.bytes", "block.0.wr.bytes", "net.0.rx.bytes", "net.0.tx.bytes",
            "block.0.rd.reqs", "net.0.tx.pkts"]
    samples = []
    for _ in range(60):
        clock.advance(1)
        samples.append(drv.get_all_domain_stats(0, 0, [ref])[0][1])
    for k in keys:
        values = [s[k] for s in samples]
        assert values == sorted(values), k  # counters never go back
    rates = [b["cpu.time"] - a["cpu.time"] for a, b in zip(samples, samples[1:], strict=False)]
    assert max(rates) > 1.3 * min(rates) > 0  # the rate wobbles: something to draw
    assert max(rates) <= 1e9  # one vCPU cannot use more than a second per second
    # deterministic: another node with the same domain sees the same curve (the default node is shared while
    # open, as in libvirt: forget() makes the next open a fresh one)
    shared.forget()
    other = open_test()
    ref2 = other.domain_create_xml(drv.domain_get_xml_desc(ref, C.VIR_DOMAIN_XML_INACTIVE), 0)
    clock.advance(0)
    assert other.get_all_domain_stats(C.VIR_DOMAIN_STATS_CPU_TOTAL, 0, [ref2])[0][1]["cpu.time"] == 0
    clock.advance(60)
    cpu2 = other.get_all_domain_stats(C.VIR_DOMAIN_STATS_CPU_TOTAL, 0, [ref2])[0][1]["cpu.time"]
    assert cpu2 == samples[-1]["cpu.time"]


def test_stats_differ_between_domains(clock, drv):
    a = drv.domain_create_xml(X("a", devices=DEVICES), 0)
    b = drv.domain_create_xml(X("b", devices=DEVICES), 0)
    clock.advance(50)
    sa, sb = (s for _, s in drv.get_all_domain_stats(C.VIR_DOMAIN_STATS_CPU_TOTAL, 0, [a, b]))
    assert sa["cpu.time"] != sb["cpu.time"]


def test_stats_groups_and_filters(clock, mixed):
    clock.advance(5)
    only_state = mixed.get_all_domain_stats(C.VIR_DOMAIN_STATS_STATE, 0)
    assert {r.name for r, _ in only_state} == {"test", "off", "paused", "trans", "auto"}
    assert all(set(s) == {"state.state", "state.reason"} for _, s in only_state)
    active = mixed.get_all_domain_stats(C.VIR_DOMAIN_STATS_CPU_TOTAL, C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
    assert {r.name for r, _ in active} == {"test", "paused", "trans"}
    assert all(set(s) == {"cpu.time", "cpu.user", "cpu.system"} for _, s in active)
    inactive = dict((r.name, s) for r, s in mixed.get_all_domain_stats(0, C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF))
    assert set(inactive) == {"off", "auto"}
    assert inactive["off"] == {"state.state": 5, "state.reason": 0, "balloon.current": 1024, "balloon.maximum": 1024,
                               "vcpu.current": 1, "vcpu.maximum": 1}
    paused = mixed.get_all_domain_stats(C.VIR_DOMAIN_STATS_BALLOON, C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED)
    assert [(r.name, sorted(s)) for r, s in paused] == [("paused", ["balloon.current", "balloon.maximum"])]
    trans = mixed.get_all_domain_stats(C.VIR_DOMAIN_STATS_STATE, C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT)
    assert [r.name for r, _ in trans] == ["trans"]
    # unsupported groups: nothing, or an error with ENFORCE_STATS, as libvirt
    assert all(s == {} for _, s in mixed.get_all_domain_stats(C.VIR_DOMAIN_STATS_PERF, 0))
    raises(C.VIR_ERR_ARGUMENT_UNSUPPORTED, mixed.get_all_domain_stats, C.VIR_DOMAIN_STATS_PERF,
           C.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS, None, text="Stats types bits 0x40")
    raises(C.VIR_ERR_INVALID_ARG, mixed.get_all_domain_stats, 0, 1 << 12, None)
    raises(C.VIR_ERR_NO_DOMAIN, mixed.get_all_domain_stats, 0, 0, [base.DomainRef("x", b"\0" * 16, -1)])


def test_stats_follow_live_changes(clock, drv):
    ref = drv.lookup_by_name("test")
    drv.domain_set_memory(ref, 1048576, C.VIR_DOMAIN_AFFECT_LIVE)
    clock.advance(3)
    before = drv.domain_get_info(ref)[4]
    drv.domain_set_vcpus(ref, 1, C.VIR_DOMAIN_AFFECT_LIVE)
    s = drv.get_all_domain_stats(0, 0, [ref])[0][1]
    assert s["balloon.current"] == 1048576 and s["vcpu.current"] == 1
    assert s["cpu.time"] >= before  # cpu time stays continuous across a vcpu change
    clock.advance(3)
    assert drv.domain_get_info(ref)[4] > before


def test_block_and_interface_stats(clock, drv):
    ref = drv.domain_create_xml(X("b", devices=DEVICES), 0)
    clock.advance(20)
    rd_req, rd_bytes, wr_req, wr_bytes, errs = drv.domain_block_stats(ref, "vda")
    assert rd_bytes > 0 and wr_bytes > 0 and errs == 0
    assert drv.domain_block_stats(ref, "/a.img")[1] == rd_bytes
    rx = drv.domain_interface_stats(ref, "vnet3")
    assert rx[0] > 0 and rx[4] > 0
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_block_stats, ref, "sdz")
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_interface_stats, ref, "eth9")


# -- events --------------------------------------------------------------------------------------------------------

def test_events_like_libvirt(drv, tmp_path):
    got = []
    cb = drv.domain_event_register(lambda ref, ev, detail: got.append((ref.name, ref.id, ev, detail)))
    E = C
    ref = drv.lookup_by_name("test")
    drv.domain_suspend(ref)
    drv.domain_resume(ref)
    drv.domain_reboot(ref, 0)  # on_reboot=restart: no lifecycle event
    drv.domain_shutdown(ref, 0)
    ref = drv.domain_create(ref, 0)
    drv.domain_destroy(ref, 0)
    ref = drv.domain_create(ref, 0)
    drv.domain_save(ref, str(tmp_path / "s"), None, 0)
    drv.domain_restore(str(tmp_path / "s"), None, 0)
    a = drv.domain_define_xml(X("a"), 0)
    drv.domain_define_xml(X("a", f"<uuid>{_uuid(drv, a)}</uuid>"), 0)
    drv.domain_undefine(a, 0)
    t = drv.domain_create_xml(X("t"), 0)
    drv.domain_shutdown(t, 0)
    drv.domain_create_xml(X("p"), C.VIR_DOMAIN_START_PAUSED)
    assert got == [
        ("test", 1, E.VIR_DOMAIN_EVENT_SUSPENDED, E.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
        ("test", 1, E.VIR_DOMAIN_EVENT_RESUMED, E.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
        ("test", -1, E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN),
        ("test", 2, E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_BOOTED),
        ("test", -1, E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
        ("test", 3, E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_BOOTED),
        ("test", -1, E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_SAVED),
        ("test", 4, E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_RESTORED),
        ("a", -1, E.VIR_DOMAIN_EVENT_DEFINED, E.VIR_DOMAIN_EVENT_DEFINED_ADDED),
        ("a", -1, E.VIR_DOMAIN_EVENT_DEFINED, E.VIR_DOMAIN_EVENT_DEFINED_UPDATED),
        ("a", -1, E.VIR_DOMAIN_EVENT_UNDEFINED, E.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED),
        ("t", 5, E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_BOOTED),
        ("t", 5, E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN),
        ("p", 6, E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_BOOTED),
        ("p", 6, E.VIR_DOMAIN_EVENT_SUSPENDED, E.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
    ]
    drv.domain_event_deregister(cb)
    drv.domain_destroy(drv.lookup_by_name("p"), 0)
    assert len(got) == 15
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_event_deregister, cb)
    raises(C.VIR_ERR_INVALID_ARG, drv.domain_event_register, "not callable")


def test_no_events_for_failed_operations(drv):
    got = []
    drv.domain_event_register(lambda *a: got.append(a))
    with pytest.raises(DriverError):
        drv.domain_define_xml(X("test"), 0)
    with pytest.raises(DriverError):
        drv.domain_resume(drv.lookup_by_name("test"))
    assert got == []


def test_callbacks_run_outside_the_lock(drv):
    seen = []

    def callback(ref, event, detail):
        # another thread must be able to use the driver while the callback runs
        t = threading.Thread(target=lambda: seen.append(len(drv.list_all_domains(0))))
        t.start()
        t.join(timeout=5)
        assert not t.is_alive(), "driver lock held during the callback"

    drv.domain_event_register(callback)
    drv.domain_define_xml(X("a"), 0)
    assert seen == [2]


def test_a_broken_callback_does_not_break_the_driver(drv, capsys):
    got = []
    drv.domain_event_register(lambda *a: 1 / 0)
    drv.domain_event_register(lambda *a: got.append(a))
    drv.domain_define_xml(X("a"), 0)
    assert len(got) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err


# -- threads ----------------------------------------------------------------------------------------------------------

def test_many_threads_one_connection(drv):
    errors = []
    ids: list[int] = []
    lock = threading.Lock()

    def worker(n):
        try:
            for i in range(25):
                name = f"w{n}-{i}"
                ref = drv.domain_define_xml(X(name), 0)
                ref = drv.domain_create(ref, 0)
                with lock:
                    ids.append(ref.id)
                drv.domain_suspend(ref)
                drv.domain_resume(ref)
                assert drv.domain_get_info(ref)[0] == 1
                drv.get_all_domain_stats(0, 0)
                drv.list_all_domains(C.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
                drv.domain_get_xml_desc(ref, 0)
                if i % 2:
                    drv.domain_destroy(ref, 0)
                    drv.domain_undefine(ref, 0)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(ids) == len(set(ids)) == 200  # every start got its own id
    names = {r.name for r in drv.list_all_domains(0)}
    assert names == {"test"} | {f"w{n}-{i}" for n in range(8) for i in range(0, 25, 2)}
    assert drv.num_of_domains() == len(names)
    assert sorted(drv.list_domain_ids()) == sorted(r.id for r in drv.list_all_domains(0))


def test_saved_file_is_private(drv, tmp_path):
    path = tmp_path / "s"
    drv.domain_save(drv.lookup_by_name("test"), str(path), None, 0)
    assert os.stat(path).st_mode & 0o077 == 0
