"""virDomainReset (the VM window's Force Reset): guiapp's test driver against Debian's libvirt test driver."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import pytest
from helpers import real_libvirt

import guiapp.backend as libvirt
from guiapp.backend import constants as C


def outcome(lib: ModuleType, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except lib.libvirtError as exc:
        return ("error", exc.get_error_code())


def steps(lib: ModuleType) -> list[Any]:
    lib.registerErrorHandler(lambda _c, _e: None, None)
    conn = lib.open("test:///default")
    try:
        dom = conn.lookupByName("test")
        out = [outcome(lib, lambda: dom.reset(0)), dom.state()[0]]
        out.append(outcome(lib, lambda: dom.reset(1)))  # no flags are defined
        dom.suspend()
        out += [outcome(lib, lambda: dom.reset(0)), dom.state()[0]]  # paused: still active
        dom.destroy()
        out.append(outcome(lib, lambda: dom.reset(0)))
        return out
    finally:
        conn.close()
        lib.registerErrorHandler(None, None)


def test_reset_matches_real_libvirt() -> None:
    ours = steps(libvirt)
    assert ours == steps(real_libvirt())
    assert ours == [0, C.VIR_DOMAIN_RUNNING, ("error", C.VIR_ERR_INVALID_ARG), 0, C.VIR_DOMAIN_PAUSED,
                    ("error", C.VIR_ERR_OPERATION_INVALID)]


def test_reset_is_refused_on_a_read_only_connection() -> None:
    conn = libvirt.openReadOnly("test:///default")
    try:
        with pytest.raises(libvirt.libvirtError) as info:
            conn.lookupByName("test").reset(0)
        assert info.value.get_error_code() == C.VIR_ERR_OPERATION_DENIED
    finally:
        conn.close()
