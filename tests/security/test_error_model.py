"""Only ``libvirtError`` leaves the public API, whatever the arguments (issue 11, item 9).

Every public method of the module, ``virConnect``, ``virDomain`` and ``virNetwork`` is called
with hostile arguments (None, wrong types, NUL bytes, huge numbers, huge strings, path
tricks); anything but a libvirtError (or a normal return) fails the test.
"""

from __future__ import annotations

import inspect
import itertools
from typing import Any

import pytest

import guiapp.backend as libvirt

HOSTILE: list[Any] = [None, "", "\x00", "a\x00b", "../../etc/passwd", "x" * 100_000, -1, 2 ** 70, -2 ** 70,
                      3.5, float("nan"), b"\xff\xfe", ["list"], {"d": 1}, object(), True,
                      "<domain><name>x\x00</name></domain>", "test:///%00"]
#: Methods whose call would close the connection or wait for an event loop; checked separately or not at all.
SKIP = {"close", "__enter__", "__exit__", "domainEventRegisterAny", "domainEventDeregisterAny",
        "domainEventRegister", "domainEventDeregister", "registerCloseCallback"}


def _public(obj: Any) -> list[tuple[str, Any]]:
    return [(n, getattr(obj, n)) for n in dir(obj) if not n.startswith("_") and n not in SKIP
            and callable(getattr(obj, n)) and not inspect.isclass(getattr(obj, n))]


def _nargs(fn: Any) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _calls(fn: Any) -> list[tuple[Any, ...]]:
    n = min(_nargs(fn), 3)
    out: list[tuple[Any, ...]] = [()]
    for k in range(1, n + 1):
        for v in HOSTILE:
            out.append((v,) * k)
    out += list(itertools.islice(itertools.product(HOSTILE[:6], repeat=n), 40)) if n else []
    return out


def _leaks(obj: Any) -> list[str]:
    bad = []
    for name, fn in _public(obj):
        for args in _calls(fn):
            try:
                fn(*args)
            except libvirt.libvirtError:
                pass
            except TypeError as exc:  # wrong number of arguments: Python's own check, as in libvirt-python
                # libvirt-python converts C int arguments before any call (lookupByID('1') is a TypeError there)
                conversion = name == "lookupByID" and "cannot be interpreted as an integer" in str(exc)
                if "positional argument" not in str(exc) and "takes" not in str(exc) and not conversion:
                    bad.append(f"{name}{tuple(map(_short, args))}: {type(exc).__name__}: {exc}")
            except Exception as exc:
                bad.append(f"{name}{tuple(map(_short, args))}: {type(exc).__name__}: {exc}")
    return bad


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) < 30 else r[:27] + "..."


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    yield
    libvirt.registerErrorHandler(None, None)


@pytest.mark.parametrize("uri", ["test:///%00", "test:///default%00", "test:///default?x=%00", "qemu:///%00",
                                 "xen:///?config_dir=%00", "\x00", "test://%00/default", "test:///" + "a" * 5000,
                                 "test:///dev/zero", "test:///proc/self/mem", "test:///etc/shadow%0a"])
def test_open_with_hostile_uri_raises_libvirt_error(uri: str) -> None:
    for opener in (libvirt.open, libvirt.openReadOnly):
        with pytest.raises(libvirt.libvirtError) as exc:
            opener(uri)
        assert exc.value.get_error_code() in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_CONNECT,
                                              libvirt.VIR_ERR_OPEN_FAILED, libvirt.VIR_ERR_XML_ERROR,
                                              libvirt.VIR_ERR_XML_DETAIL, libvirt.VIR_ERR_OPERATION_DENIED,
                                              libvirt.VIR_ERR_OPERATION_FAILED), exc.value
        assert "\x00" not in str(exc.value)


def test_nul_in_test_uri_is_invalid_arg_like_libvirt() -> None:
    """Debian's libvirt says VIR_ERR_INVALID_ARG for test:///%00 (checked in test_open_nul_matches_libvirt)."""
    with pytest.raises(libvirt.libvirtError) as exc:
        libvirt.open("test:///%00")
    assert exc.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def test_open_nul_matches_libvirt() -> None:
    real = _real_libvirt()
    real.registerErrorHandler(lambda c, e: None, None)
    with pytest.raises(real.libvirtError) as exc:
        real.open("test:///%00")
    assert exc.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def _real_libvirt() -> Any:
    import importlib
    import sys
    path = "/usr/lib/python3/dist-packages"
    if path not in sys.path:
        sys.path.append(path)
    try:
        return importlib.import_module("libvirt")
    except ImportError:
        pytest.skip("Debian's python3-libvirt is not installed")


def test_module_functions_raise_only_libvirt_error() -> None:
    bad = []
    for name in ("open", "openReadOnly", "openAuth", "getVersion", "virGetLastError", "virResetLastError",
                 "virGetLastErrorCode", "virGetLastErrorDomain", "virGetLastErrorMessage"):
        fn = getattr(libvirt, name)
        for args in _calls(fn):
            try:
                c = fn(*args)
            except libvirt.libvirtError:
                continue
            except TypeError as exc:
                if "positional argument" in str(exc) or "takes" in str(exc):
                    continue
                bad.append(f"{name}{tuple(map(_short, args))}: {exc!r}")
                continue
            except Exception as exc:
                bad.append(f"{name}{tuple(map(_short, args))}: {exc!r}")
                continue
            if isinstance(c, libvirt.virConnect):
                c.close()
    assert bad == []


@pytest.mark.parametrize("read_only", [False, True])
def test_connection_domain_network_methods_raise_only_libvirt_error(read_only: bool) -> None:
    conn = libvirt.openReadOnly("test:///default") if read_only else libvirt.open("test:///default")
    try:
        bad = _leaks(conn)
        dom = conn.lookupByName("test")
        bad += _leaks(dom)
        net = conn.networkLookupByName("default")
        bad += _leaks(net)
    finally:
        conn.close()
    assert bad == [], "\n".join(bad[:40])


def test_closed_connection_raises_only_libvirt_error() -> None:
    conn = libvirt.open("test:///default")
    dom = conn.lookupByName("test")
    conn.close()
    assert _leaks(conn) + _leaks(dom) == []


@pytest.mark.parametrize("length", [251, 252, 300, 5000])
def test_test_driver_name_lengths_match_libvirt(length: int) -> None:
    """The in-memory test driver stores no file: like libvirt's, it takes any name length (the QEMU and Xen
    drivers refuse what cannot be a file name, see test_runtime_paths / test_atomic_store)."""
    real = _real_libvirt()
    real.registerErrorHandler(lambda c, e: None, None)
    xml = (f"<domain type='test'><name>{'a' * length}</name><memory>1024</memory>"
           f"<os><type>hvm</type></os></domain>")
    results = []
    for lib in (real, libvirt):
        c = lib.open("test:///default")
        try:
            d = c.defineXML(xml)
            d.create()
            results.append((d.name() == "a" * length, d.isActive()))
        finally:
            c.close()
    assert results[0] == results[1] == (True, 1)
