"""Opening a test-driver node file: every domain checked at open, definitions made on first use (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.drivers.test import TestDriver
from guiapp.backend.drivers.test import dom as dom_mod
from guiapp.backend.errors import DriverError
from guiapp.backend.uri import parse_uri
from guiapp.backend.xml.domain import DomainDef, parse_domain
from guiapp.backend.xml.node import TEST_NS
from guiapp.models.demo import domain_xml, node_xml

ALL_STATS = 0  # every group


def _node(tmp_path: Path, count: int = 20, extra: str = "") -> str:
    """A node file of ``count`` domains (half running, two paused) plus ``extra`` domains; its URI."""
    text = node_xml(count, running=0.5, paused=2).replace("</node>", extra + "</node>")
    path = tmp_path / "node.xml"
    path.write_text(text)
    return f"test://{path}"


def _open(uri: str) -> TestDriver:
    return TestDriver.open(parse_uri(uri), False)


def _pending(drv: TestDriver) -> set[str]:
    return {name for name, dom in drv._by_name.items() if dom.pending is not None}


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(dom_mod, "clock", lambda: 5_000_000_000_000)


EXTRA = (f"<domain type='test' xmlns:test='{TEST_NS}'><name>trans</name>"
         "<uuid>0e3bc1a6-4bb4-4d49-9a8e-3e1c7b0d5a01</uuid><memory>1024</memory>"
         "<vcpu current='1'>3</vcpu><os><type>hvm</type></os><test:transient/></domain>"
         f"<domain type='test' xmlns:test='{TEST_NS}'><name>saved</name>"
         "<uuid>0e3bc1a6-4bb4-4d49-9a8e-3e1c7b0d5a02</uuid><memory>2048</memory>"
         "<os><type>hvm</type></os><test:runstate>5</test:runstate><test:hasmanagedsave/></domain>"
         "<domain type='test'><name>devs</name><uuid>0e3bc1a6-4bb4-4d49-9a8e-3e1c7b0d5a03</uuid>"
         "<memory>4096</memory><os><type>hvm</type></os><devices>"
         "<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdb' bus='virtio'/></disk>"
         "<disk type='file' device='cdrom'><target dev='hdc'/><readonly/></disk>"
         "<interface type='bridge'><mac address='52:54:00:aa:00:01'/><source bridge='br0'/>"
         "<target dev='tap7'/></interface>"
         "<interface type='network'><mac address='52:54:00:aa:00:02'/><source network='default'/></interface>"
         "</devices></domain>")


def test_listing_lookups_state_info_and_stats_build_no_definition(tmp_path, fixed_clock):
    drv = _open(_node(tmp_path, extra=EXTRA))
    names = set(drv._by_name)
    assert _pending(drv) == names
    refs = drv.list_all_domains(0)
    assert len(refs) == 23
    for flags in (C.VIR_CONNECT_LIST_DOMAINS_ACTIVE, C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
                  C.VIR_CONNECT_LIST_DOMAINS_PAUSED, C.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE):
        drv.list_all_domains(flags)
    assert [r.name for r in drv.list_all_domains(C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT)] == ["trans"]
    assert [r.name for r in drv.list_all_domains(C.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE)] == ["saved"]
    for ref in refs:
        assert drv.lookup_by_name(ref.name) == drv.lookup_by_uuid(ref.uuid) == ref
        if ref.id != -1:
            assert drv.lookup_by_id(ref.id) == ref
        drv.domain_get_state(ref, 0)
        drv.domain_get_info(ref)
        drv.domain_is_persistent(ref)
        drv.domain_is_active(ref)
        drv.domain_get_max_memory(ref)
    drv.list_defined_domains()
    drv.list_domain_ids()
    drv.get_all_domain_stats(ALL_STATS, 0)
    drv.get_all_domain_stats(C.VIR_DOMAIN_STATS_BLOCK | C.VIR_DOMAIN_STATS_INTERFACE, 0)
    assert _pending(drv) == names
    assert drv.domain_get_info(drv.lookup_by_name("trans"))[2:4] == [1024, 1]
    devs = dict(drv.get_all_domain_stats(ALL_STATS, 0))[drv.lookup_by_name("devs")]
    assert (devs["block.count"], devs["block.0.path"], devs["block.1.name"], devs["net.count"],
            devs["net.0.name"], devs["net.1.name"]) == (2, "/dev/sdb", "hdc", 2, "tap7", "vnet1")
    assert "block.1.path" not in devs
    drv.domain_get_xml_desc(drv.lookup_by_name("vm-003"), 0)
    assert _pending(drv) == names - {"vm-003"}


def _answers(drv: TestDriver) -> dict[str, tuple]:
    out = {}
    stats = dict(drv.get_all_domain_stats(ALL_STATS, 0))
    for ref in drv.list_all_domains(0):
        out[ref.name] = (ref, drv.domain_get_state(ref, 0), drv.domain_get_info(ref), drv.domain_is_persistent(ref),
                         stats[ref], drv.domain_get_xml_desc(ref, 0),
                         drv.domain_get_xml_desc(ref, C.VIR_DOMAIN_XML_INACTIVE), drv.domain_get_os_type(ref))
    return out


def test_definitions_made_late_answer_like_made_at_open(tmp_path, fixed_clock):
    uri = _node(tmp_path, extra=EXTRA)
    lazy = _open(uri)
    lazy_info = {r.name: lazy.domain_get_info(r) for r in lazy.list_all_domains(0)}
    eager = _open(uri)
    for dom in eager._by_name.values():
        assert dom.config is not None or dom.live is not None  # make every definition now
    assert not _pending(eager)
    assert _answers(lazy) == _answers(eager)
    assert lazy_info == {r.name: lazy.domain_get_info(r) for r in lazy.list_all_domains(0)}


def test_made_definition_is_the_full_parse_of_the_node_domain(tmp_path):
    drv = _open(_node(tmp_path, count=4))
    for i, ref in enumerate(sorted(drv.list_all_domains(0), key=lambda r: r.name)):
        # the domain as the node file has it, without the test namespace, through the one-step parser
        root = etree.fromstring(domain_xml(i, 1 if i < 2 else 5).encode())
        for el in root.findall(f"{{{TEST_NS}}}*"):
            root.remove(el)
        etree.cleanup_namespaces(root)
        full = DomainDef(root, hypervisor="test")
        full.id = ref.id if ref.id != -1 else None
        assert drv.domain_get_xml_desc(ref, 0) == full.to_xml()


def test_pending_domains_change_state_like_others(tmp_path):
    drv = _open(_node(tmp_path, count=6))
    run, off = drv.lookup_by_name("vm-000"), drv.lookup_by_name("vm-005")
    drv.domain_suspend(run)
    drv.domain_resume(run)
    assert _pending(drv) == set(drv._by_name)
    drv.domain_destroy(run, 0)
    assert drv.lookup_by_name("vm-000").id == -1
    assert "id=" not in drv.domain_get_xml_desc(run, 0)
    again = drv.domain_create(run, 0)
    assert again.id == 6 and f"id='{again.id}'" in drv.domain_get_xml_desc(again, 0)
    started = drv.domain_create(off, 0)
    assert f"id='{started.id}'" in drv.domain_get_xml_desc(started, 0)
    assert "id=" not in drv.domain_get_xml_desc(started, C.VIR_DOMAIN_XML_INACTIVE)
    drv.domain_set_memory(drv.lookup_by_name("vm-001"), 65536, C.VIR_DOMAIN_AFFECT_LIVE)
    assert drv.domain_get_info(drv.lookup_by_name("vm-001"))[2] == 65536
    paused = drv.lookup_by_name("vm-004")
    drv.domain_undefine(paused, 0)  # still running: it becomes transient, and goes when it stops
    assert not drv.domain_is_persistent(paused)
    drv.domain_destroy(paused, 0)
    assert "vm-004" not in drv._by_name


def test_an_invalid_domain_late_in_a_big_node_still_fails_the_open(tmp_path):
    bad = domain_xml(900).replace("<vcpu>1</vcpu>", "<vcpu>many</vcpu>")
    with pytest.raises(DriverError) as alone:
        parse_domain(bad, hypervisor="test")
    with pytest.raises(DriverError) as info:
        _open(_node(tmp_path, count=300, extra=bad))
    assert (info.value.code, info.value.domain, str(info.value)) == \
           (alone.value.code, alone.value.domain, str(alone.value))
    assert "vcpu" in str(info.value)


def test_a_name_defined_twice_still_fails_the_open(tmp_path):
    with pytest.raises(DriverError) as info:
        _open(_node(tmp_path, count=30, extra=domain_xml(1000).replace("vm-1000", "vm-007")))
    assert info.value.code == C.VIR_ERR_OPERATION_FAILED
    assert "domain 'vm-007' is defined twice in the node file" in str(info.value)


def test_namespaces_declared_on_the_node_stay_with_its_domains(tmp_path):
    path = tmp_path / "node.xml"
    path.write_text(f"<node xmlns:test='{TEST_NS}' xmlns:app='http://example.org/app'>"
                    "<domain type='test'><name>a</name><memory>1024</memory>"
                    "<metadata><app:foo app:x='1'>hi</app:foo></metadata><os><type>hvm</type></os>"
                    "<test:runstate>5</test:runstate></domain></node>")
    drv = _open(f"test://{path}")
    ref = drv.lookup_by_name("a")
    xml = drv.domain_get_xml_desc(ref, 0)
    assert TEST_NS not in xml and "runstate" not in xml
    root = etree.fromstring(xml.encode())
    assert root.find("metadata/{http://example.org/app}foo").text == "hi"
    assert drv.domain_get_metadata(ref, C.VIR_DOMAIN_METADATA_ELEMENT, "http://example.org/app", 0) == \
        '<foo xmlns:app="http://example.org/app" app:x="1">hi</foo>'
