"""Error codes and domains of refused domain XML, compared with Debian's libvirt 9.0 test driver (issue 15 item 3)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import real_libvirt

import guiapp.backend as ours


def D(type_: str = "type='test'", mem: str = "<memory>1024</memory>", os_: str = "<os><type>hvm</type></os>",
      extra: str = "") -> str:
    return f"<domain {type_}><name>e</name>{mem}{os_}{extra}</domain>"


CASES = {
    "wrong root": "<dom type='test'><name>x</name></dom>",
    "bad memory value": D(mem="<memory>abc</memory>"),
    "unknown memory unit": D(mem="<memory unit='zz'>1</memory>"),
    "bad graphics type": D(extra="<devices><graphics type='bogus'/></devices>"),
    "missing os type": D(os_="<os></os>"),
    "unknown os type": D(os_="<os><type>bogus</type></os>"),
    "unknown on_poweroff": D(extra="<on_poweroff>bogus</on_poweroff>"),
    "unknown on_reboot": D(extra="<on_reboot>bogus</on_reboot>"),
    "missing domain type": D(type_=""),
    "empty domain type": D(type_="type=''"),
    "unknown domain type": D(type_="type='bogus'"),
    "bad uuid": D(extra="<uuid>zz</uuid>"),
    "no name": "<domain type='test'><memory>1024</memory><os><type>hvm</type></os></domain>",
    "not well-formed": "<domain",
}


def _refusal(lib: Any, xml: str) -> tuple[int, int]:
    conn = lib.open("test:///default")
    try:
        with pytest.raises(lib.libvirtError) as info:
            conn.defineXML(xml)
        assert (lib.virGetLastErrorCode(), lib.virGetLastErrorDomain()) == (
            info.value.get_error_code(), info.value.get_error_domain())
        assert lib.virGetLastErrorMessage() == lib.virGetLastError()[2]
        return info.value.get_error_code(), info.value.get_error_domain()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def libvirt_mod() -> Any:
    lib = real_libvirt()
    lib.registerErrorHandler(lambda ctx, err: None, None)
    ours.registerErrorHandler(lambda ctx, err: None, None)
    yield lib
    lib.registerErrorHandler(None, None)
    ours.registerErrorHandler(None, None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_code_and_domain_as_libvirt(libvirt_mod: Any, name: str) -> None:
    assert _refusal(ours, CASES[name]) == _refusal(libvirt_mod, CASES[name])


def test_last_error_accessors_without_error(libvirt_mod: Any) -> None:
    for lib in (libvirt_mod, ours):
        lib.virResetLastError()
        assert (lib.virGetLastErrorCode(), lib.virGetLastErrorDomain(), lib.virGetLastErrorMessage()) == (
            0, 0, "no error")


@pytest.mark.parametrize("bad", ["1", 1.0, b"1", None])
def test_lookup_by_id_wrong_type_is_type_error(libvirt_mod: Any, bad: object) -> None:
    for lib in (libvirt_mod, ours):
        conn = lib.open("test:///default")
        try:
            with pytest.raises(TypeError):
                conn.lookupByID(bad)
        finally:
            conn.close()


def test_handle_id_after_shutdown_as_libvirt(libvirt_mod: Any) -> None:
    """Issue 15 item 4: a handle of a domain that was shut down reports ID() == -1, as in libvirt."""
    ids = []
    for lib in (libvirt_mod, ours):
        conn = lib.open("test:///default")
        try:
            dom = conn.lookupByName("test")
            before = dom.ID()
            dom.shutdown()
            ids.append((before, dom.ID(), dom.isActive()))
            dom.create()
            ids.append((dom.ID() > 0, dom.isActive()))
        finally:
            conn.close()
    assert ids[0][1:] == ids[2][1:] == (-1, 0) and ids[1] == ids[3] == (True, 1)
