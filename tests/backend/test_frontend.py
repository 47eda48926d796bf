"""The API front-end: checks shared by all drivers, error dispatch, the driver-subset model."""

from __future__ import annotations

import threading

import pytest

import guiapp.backend as libvirt
from guiapp.backend.connection import virConnect
from guiapp.backend.drivers.base import DomainRef
from guiapp.backend.errors import DriverError

UUID = bytes(range(16))


class SubsetDriver:
    """A driver implementing only lookups and info, like a seed driver with NULL entries."""

    error_domain = libvirt.VIR_FROM_TEST
    schemes = ("subset",)

    def __init__(self) -> None:
        self.closed = False
        self.calls: list[tuple] = []

    def close(self) -> None:
        self.closed = True

    def get_type(self) -> str:
        return "SUBSET"

    def get_uri(self) -> str:
        return "subset:///"

    def lookup_by_name(self, name: str) -> DomainRef:
        self.calls.append(("lookup_by_name", name))
        if name != "one":
            raise DriverError(libvirt.VIR_ERR_NO_DOMAIN, f"no domain with matching name '{name}'")
        return DomainRef("one", UUID, 3)

    def domain_get_info(self, ref: DomainRef) -> list:
        return [libvirt.VIR_DOMAIN_RUNNING, 1024, 512, 1, 0]

    def domain_get_state(self, ref: DomainRef, flags: int) -> list:
        raise RuntimeError("driver bug")

    def domain_define_xml(self, xml: str, flags: int) -> DomainRef:
        self.calls.append(("define", xml))
        return DomainRef("two", UUID[::-1], -1)


@pytest.fixture(autouse=True)
def _restore_global_handler():
    yield
    libvirt.registerErrorHandler(None, None)
    libvirt.virResetLastError()


def make(read_only: bool = False) -> tuple[virConnect, SubsetDriver]:
    drv = SubsetDriver()
    return virConnect(drv, "subset:///", read_only), drv


def test_missing_operation_reports_no_support_naming_the_function() -> None:
    conn, _ = make()
    dom = conn.lookupByName("one")
    with pytest.raises(libvirt.libvirtError) as ei:
        dom.suspend()
    err = ei.value
    assert err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
    assert err.get_error_domain() == libvirt.VIR_FROM_TEST
    assert "virDomainSuspend" in err.get_error_message()
    assert "not supported" in err.get_error_message()


def test_driver_error_keeps_code_and_driver_domain() -> None:
    conn, _ = make()
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.lookupByName("nope")
    assert ei.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    assert ei.value.get_error_domain() == libvirt.VIR_FROM_TEST
    assert ei.value.get_error_message() == "Domain not found: no domain with matching name 'nope'"
    assert ei.value.get_error_level() == libvirt.VIR_ERR_ERROR
    assert ei.value.err[5] == "no domain with matching name 'nope'"


def test_unexpected_driver_exception_becomes_internal_error() -> None:
    conn, _ = make()
    dom = conn.lookupByName("one")
    with pytest.raises(libvirt.libvirtError) as ei:
        dom.state()
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR
    assert "driver bug" in ei.value.get_error_message()


def test_read_only_denies_before_looking_at_arguments() -> None:
    conn, drv = make(read_only=True)
    for call in (lambda: conn.defineXML(12345), lambda: conn.createXML(None), lambda: conn.restore(None)):
        with pytest.raises(libvirt.libvirtError) as ei:
            call()
        assert ei.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
        assert "read only access prevents" in ei.value.get_error_message()
    dom = conn.lookupByName("one")
    for call in (dom.destroy, dom.suspend, dom.resume, dom.create, dom.shutdown, dom.reboot, dom.undefine,
                 lambda: dom.setMemory("x"), lambda: dom.setVcpus(-1), lambda: dom.save(None),
                 lambda: dom.setMaxMemory(0), lambda: dom.setAutostart(1)):
        with pytest.raises(libvirt.libvirtError) as ei:
            call()
        assert ei.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
    assert not [c for c in drv.calls if c[0] == "define"]
    assert conn.isReadOnly() == 1


def test_argument_checks_are_shared() -> None:
    conn, drv = make()
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.defineXML(42)
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.lookupByUUIDString("not-a-uuid")
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.lookupByID(-4)
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    dom = conn.lookupByName("one")
    with pytest.raises(libvirt.libvirtError) as ei:
        dom.setMemory(0)
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    assert drv.calls == [("lookup_by_name", "one")]


def test_closed_connection_is_invalid_and_closes_driver_once() -> None:
    conn, drv = make()
    dom = conn.lookupByName("one")
    assert conn.close() == 0
    assert drv.closed
    assert conn.isAlive() == 0
    for call in (conn.listAllDomains, lambda: conn.lookupByName("one"), dom.info, conn.getType):
        with pytest.raises(libvirt.libvirtError) as ei:
            call()
        assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_CONN
    assert conn.close() == 0


def test_dispatch_order_connection_then_global_then_stderr(capsys) -> None:
    conn, _ = make()
    seen_global: list = []
    seen_conn: list = []

    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName("a")
    assert "libvirt: Test Driver error : Domain not found" in capsys.readouterr().err

    libvirt.registerErrorHandler(lambda ctx, err: seen_global.append((ctx, err)), "gctx")
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName("b")
    assert capsys.readouterr().err == ""
    assert seen_global[0][0] == "gctx" and seen_global[0][1][0] == libvirt.VIR_ERR_NO_DOMAIN

    conn.registerErrorHandler(lambda ctx, err: seen_conn.append((ctx, err)), "cctx")
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName("c")
    assert len(seen_global) == 1 and len(seen_conn) == 1
    assert seen_conn[0][0] == "cctx" and "'c'" in seen_conn[0][1][2]


def test_last_error_per_thread_and_per_connection() -> None:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    conn, _ = make()
    other, _ = make()
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName("zz")
    assert libvirt.virGetLastError()[0] == libvirt.VIR_ERR_NO_DOMAIN
    assert conn.virConnGetLastError()[0] == libvirt.VIR_ERR_NO_DOMAIN
    assert other.virConnGetLastError() is None

    box: list = []
    t = threading.Thread(target=lambda: box.append(libvirt.virGetLastError()))
    t.start()
    t.join()
    assert box == [None]

    conn.lookupByName("one")  # a successful call resets the thread's last error, not the connection's
    assert libvirt.virGetLastError() is None
    assert conn.virConnGetLastError() is not None
    conn.virConnResetLastError()
    assert conn.virConnGetLastError() is None


def test_broken_handler_does_not_hide_the_error(capsys) -> None:
    libvirt.registerErrorHandler(lambda ctx, err: 1 / 0, None)
    conn, _ = make()
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.lookupByName("q")
    assert ei.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_open_unknown_scheme_and_bad_uri() -> None:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    with pytest.raises(libvirt.libvirtError) as ei:
        libvirt.open("nosuchdriver:///x")
    assert ei.value.get_error_code() == libvirt.VIR_ERR_NO_CONNECT
    assert "nosuchdriver" in ei.value.get_error_message()
    with pytest.raises(libvirt.libvirtError) as ei:
        libvirt.open("just words")
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    with pytest.raises(libvirt.libvirtError) as ei:
        libvirt.open(17)
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def test_uri_parsing() -> None:
    from guiapp.backend.uri import parse_uri
    u = parse_uri("qemu+ssh://root@host.example:2222/system?keyfile=/k")
    assert (u.scheme, u.transport, u.user, u.host, u.port, u.path) == ("qemu", "ssh", "root", "host.example", 2222,
                                                                      "/system")
    assert u.query == {"keyfile": "/k"} and not u.is_local
    assert parse_uri("test:///default").is_local
    assert parse_uri("test:///default").path == "/default"


@pytest.mark.parametrize("uri, local", [
    ("test:///default", True), ("qemu:///system", True), ("QEMU+UNIX:///system?socket=/run/s", True),
    ("qemu+ssh://root@host/system", False), ("qemu://host/system", False), ("xen+tcp:///", False),
    ("qemu+ssh://-oProxyCommand=touch%20x/system", False),  # hostile: a host, hence not local
    ("qemu://[::1/system", False), ("", False), ("test:///a%00b", False),  # malformed: not local either
])
def test_uri_is_local(uri: str, local: bool) -> None:
    from guiapp.backend.uri import uri_is_local
    assert uri_is_local(uri) is local


@pytest.mark.parametrize("uri, transport", [
    ("test:///default", ""), ("qemu+ssh://root@host/system", "ssh"), ("QEMU+SSH://host/system", "ssh"),
    ("xen+tcp://host/", "tcp"), ("qemu+unix:///system", "unix"),
    ("qemu+ssh://host:notaport/system", ""), ("qemu+ssh://[::1/system", ""), ("", ""),  # malformed
])
def test_uri_transport(uri: str, transport: str) -> None:
    from guiapp.backend.uri import uri_transport
    assert uri_transport(uri) == transport


def test_default_uri_order(monkeypatch) -> None:
    from guiapp.backend import drivers
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///from-env")
    assert libvirt.default_uri() == "test:///from-env"
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI")

    class Yes:
        @classmethod
        def probe(cls):
            return "yes:///"

    class No:
        @classmethod
        def probe(cls):
            raise OSError("probe blew up")

    table = {"xen": No, "qemu": Yes}
    monkeypatch.setattr(drivers, "driver_for_scheme", lambda s: table.get(s))
    assert drivers.probe_default_uri() == "yes:///"
    table["qemu"] = None
    assert drivers.probe_default_uri() == "test:///default"
