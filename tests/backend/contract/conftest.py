"""The drivers the contract suite runs against, as :class:`Target` objects.

``target`` (every test) is parametrized over: Debian's real libvirt test driver (the reference the
behaviour is taken from), guiapp's ``test``, ``xen`` (real oxenstored + fake xl, the Xen tests'
fixtures) and ``qemu`` (domains defined but never started).  ``running`` adds one started domain
per driver; for QEMU that is the tiny guest under the ``qemu`` marker.  A ``remote`` driver joins by
adding one more entry to :data:`KINDS`.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
from helpers import load_module, real_libvirt
from helpers.tinyguest import tiny_guest  # noqa: F401 - fixture

import guiapp.backend as guiapp_libvirt
from guiapp.backend import constants as C

_xen = load_module("backend/drivers/xen/conftest.py", "guiapp_tests_xen_fixtures")
xs_shim, xenstored, fake_xl, xen_env = _xen.xs_shim, _xen.xenstored, _xen.fake_xl, _xen.xen_env
_qemu = load_module("backend/drivers/qemu/qemu_testlib.py", "guiapp_tests_qemu_testlib")
xdg = _qemu.xdg


def _test_xml(name: str, uuid: str) -> str:
    return (f"<domain type='test'><name>{name}</name><uuid>{uuid}</uuid><memory>131072</memory>"
            "<currentMemory>131072</currentMemory><vcpu>2</vcpu><os><type>hvm</type></os></domain>")


def _qemu_xml(name: str, uuid: str) -> str:
    return (f"<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>128</memory>"
            "<vcpu>2</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>")


def _xen_xml(name: str, uuid: str) -> str:
    return (f"<domain type='xen'><name>{name}</name><uuid>{uuid}</uuid><memory>131072</memory>"
            "<currentMemory>131072</currentMemory><vcpu>2</vcpu><os><type>linux</type>"
            "<kernel>/boot/vmlinuz-guest</kernel></os></domain>")


@dataclass
class Target:
    """One driver under test: how to open it, the module whose API it is, and a valid domain XML."""

    kind: str
    uri: str
    lib: Any  # guiapp.backend or Debian's libvirt: the same names
    make_xml: Callable[[str, str], str]
    #: Codes that differ from the shared rule, by method name (libvirt's test driver reports some state
    #: errors as VIR_ERR_INTERNAL_ERROR where its QEMU and libxl drivers say VIR_ERR_OPERATION_INVALID).
    quirks: dict[str, int] = field(default_factory=dict)
    conns: list[Any] = field(default_factory=list)

    def open(self, read_only: bool = False) -> Any:
        conn = (self.lib.openReadOnly if read_only else self.lib.open)(self.uri)
        self.conns.append(conn)
        return conn

    def xml(self, name: str, uuid: str | None = None) -> str:
        return self.make_xml(name, uuid or str(uuidlib.uuid4()))

    def fails(self, fn: Callable[[], Any], code: int, op: str = "") -> Any:
        """Assert ``fn()`` raises this library's libvirtError with ``code`` (or the quirk for method ``op``)."""
        code = self.quirks.get(op, code)
        with pytest.raises(self.lib.libvirtError) as info:
            fn()
        assert info.value.get_error_code() == code, (self.kind, info.value.get_error_code(), str(info.value))
        assert str(info.value), "an error must say what is wrong"
        return info.value

    def close(self) -> None:
        for conn in self.conns:
            try:
                for dom in conn.listAllDomains(0):
                    if dom.name().startswith("contract-"):
                        if dom.isActive():
                            dom.destroy()
                        if dom.isPersistent():
                            dom.undefine()
            except self.lib.libvirtError:
                pass
            conn.close()


KINDS = ["libvirt", "test", "xen", "qemu"]

#: libvirt's test driver (testDomainSuspend, ...): which state errors are internal errors there.
TEST_DRIVER_QUIRKS = {"suspend": C.VIR_ERR_INTERNAL_ERROR, "resume": C.VIR_ERR_INTERNAL_ERROR,
                      "shutdown": C.VIR_ERR_INTERNAL_ERROR, "create": C.VIR_ERR_INTERNAL_ERROR}


def _quiet(lib: Any) -> None:
    lib.registerErrorHandler(lambda ctx, err: None, None)


def _make(kind: str, request: pytest.FixtureRequest) -> Target:
    if kind == "libvirt":
        lib = real_libvirt()
        _quiet(lib)
        return Target(kind, "test:///default", lib, _test_xml, dict(TEST_DRIVER_QUIRKS))
    _quiet(guiapp_libvirt)
    if kind == "test":
        return Target(kind, "test:///default", guiapp_libvirt, _test_xml, dict(TEST_DRIVER_QUIRKS))
    if kind == "xen":
        request.getfixturevalue("xen_env")
        return Target(kind, "xen:///", guiapp_libvirt, _xen_xml)
    if kind == "qemu":
        if _qemu.QEMU is None:
            pytest.skip("qemu-system-x86_64 is not installed")
        request.getfixturevalue("xdg")
        return Target(kind, "qemu:///session", guiapp_libvirt, _qemu_xml)
    raise AssertionError(kind)


@pytest.fixture(params=KINDS)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    t = _make(request.param, request)
    yield t
    t.close()
    if t.lib is guiapp_libvirt:
        guiapp_libvirt.registerErrorHandler(None, None)


@pytest.fixture(params=[k if k != "qemu" else pytest.param(k, marks=pytest.mark.qemu) for k in KINDS])
def running(request: pytest.FixtureRequest) -> Iterator[tuple[Target, Any, Any]]:
    """(target, connection, a persistent domain that has been started)."""
    t = _make(request.param, request)
    conn = t.open()
    if t.kind == "qemu":
        kernel, initrd = request.getfixturevalue("tiny_guest")
        name, uuid = "contract-run", str(uuidlib.uuid4())
        xml = _qemu.guest_xml(name, kernel, initrd).replace(f"<name>{name}</name>",
                                                              f"<name>{name}</name><uuid>{uuid}</uuid>")
        dom = conn.defineXML(xml)
    else:
        dom = conn.defineXML(t.xml("contract-run"))
    dom.create()
    yield t, conn, dom
    t.close()
    if t.lib is guiapp_libvirt:
        guiapp_libvirt.registerErrorHandler(None, None)
