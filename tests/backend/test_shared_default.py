"""``test:///default`` is one node per process, a node file opened twice is two nodes: side by side with libvirt."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from helpers import real_libvirt

import guiapp.backend as ours

XML = "<domain type='test'><name>{}</name><memory>1024</memory><os><type>hvm</type></os></domain>"


@pytest.fixture(params=["libvirt", "guiapp"])
def lib(request: pytest.FixtureRequest) -> ModuleType:
    return real_libvirt() if request.param == "libvirt" else ours


def _names(conn: Any) -> list[str]:
    return sorted(d.name() for d in conn.listAllDomains())


def test_default_node_is_shared_between_connections(lib: ModuleType) -> None:
    a, b = lib.open("test:///default"), lib.open("test:///default")
    ro = lib.openReadOnly("test:///default")
    try:
        dom = a.defineXML(XML.format("shared-one"))
        assert "shared-one" in _names(b) and "shared-one" in _names(ro)
        b.lookupByName("shared-one").create()
        assert dom.info()[0] == lib.VIR_DOMAIN_RUNNING  # a state change made through b, seen through a
        with pytest.raises(lib.libvirtError) as e:
            ro.defineXML(XML.format("shared-two"))
        assert e.value.get_error_code() == lib.VIR_ERR_OPERATION_DENIED
        b.close()
        assert "shared-one" in _names(a)  # closing one connection leaves the node to the others
        dom.destroy()
        dom.undefine()
        assert "shared-one" not in _names(ro)
    finally:
        for c in (a, b, ro):
            try:
                c.close()
            except lib.libvirtError:
                pass


def test_node_file_opened_twice_stays_independent(lib: ModuleType, tmp_path: Path) -> None:
    node = tmp_path / "node.xml"
    node.write_text("<node>" + XML.format("filed") + "</node>\n")
    a, b = lib.open(f"test://{node}"), lib.open(f"test://{node}")
    try:
        a.defineXML(XML.format("only-in-a"))
        a.lookupByName("filed").destroy()
        assert _names(a) == ["filed", "only-in-a"]
        assert _names(b) == ["filed"]
        assert a.lookupByName("filed").info()[0] == lib.VIR_DOMAIN_SHUTOFF
        assert b.lookupByName("filed").info()[0] == lib.VIR_DOMAIN_RUNNING
    finally:
        a.close()
        b.close()


def test_a_connection_closing_keeps_other_connections_events() -> None:
    a, b = ours.open("test:///default"), ours.open("test:///default")
    seen: list[tuple[str, int]] = []
    try:
        b.domainEventRegisterAny(None, ours.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                 lambda conn, dom, event, detail, opaque: seen.append((dom.name(), event)), None)
        a.domainEventRegisterAny(None, ours.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda *args: None, None)
        a.close()
        c = ours.open("test:///default")
        c.defineXML(XML.format("evented")).undefine()
        c.close()
        assert ("evented", ours.VIR_DOMAIN_EVENT_DEFINED) in seen
    finally:
        b.close()
