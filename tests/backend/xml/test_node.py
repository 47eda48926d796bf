"""Test-driver node files: libvirt's format, defaults, runstate, errors."""


import pytest
from helpers import real_libvirt

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml import node as node_module
from guiapp.backend.xml.node import (
    DEFAULT_DOMAIN_FACTS,
    DEFAULT_DOMAIN_XML,
    TEST_NS,
    DomainFacts,
    default_node,
    load_node,
    parse_node,
)

NODE = f"""<node xmlns:test='{TEST_NS}'>
  <cpu>
    <mhz>6000</mhz>
    <model>i986</model>
    <active>50</active>
    <nodes>4</nodes>
    <sockets>4</sockets>
    <cores>4</cores>
    <threads>2</threads>
  </cpu>
  <memory>8192000</memory>
  <domain file="dom1.xml"/>
  <domain type='test'>
    <name>inline</name>
    <memory>1024</memory>
    <os><type>hvm</type></os>
    <test:runstate>5</test:runstate>
  </domain>
  <domain type='test'>
    <name>paused</name>
    <memory>1024</memory>
    <os><type>hvm</type></os>
    <test:runstate>3</test:runstate>
  </domain>
  <domain type='test'>
    <name>run2</name>
    <memory>1024</memory>
    <os><type>hvm</type></os>
  </domain>
  <domain type='test'>
    <name>trans</name>
    <memory>1024</memory>
    <os><type>hvm</type></os>
    <test:transient/>
  </domain>
</node>
"""

DOM1 = """<domain type='test'>
  <name>fromfile</name>
  <memory>2048</memory>
  <os><type>hvm</type></os>
</domain>
"""


@pytest.fixture
def node_file(tmp_path):
    (tmp_path / "node.xml").write_text(NODE)
    (tmp_path / "dom1.xml").write_text(DOM1)
    return tmp_path / "node.xml"


def test_load_node_file(node_file):
    node = load_node(str(node_file))
    assert node.node_info() == ["i986", 8000, 50, 6000, 4, 4, 4, 2]
    got = [(d.definition.name, d.state, d.transient) for d in node.domains]
    assert got == [("fromfile", C.VIR_DOMAIN_RUNNING, False), ("inline", C.VIR_DOMAIN_SHUTOFF, False),
                   ("paused", C.VIR_DOMAIN_PAUSED, False), ("run2", C.VIR_DOMAIN_RUNNING, False),
                   ("trans", C.VIR_DOMAIN_RUNNING, True)]
    assert node.domains[0].definition.memory_kib == 2048


def test_test_namespace_is_removed_from_definitions(node_file):
    node = load_node(str(node_file))
    for d in node.domains:
        out = d.definition.to_xml()
        assert "runstate" not in out and "transient" not in out and TEST_NS not in out


def test_missing_cpu_values_take_defaults():
    node = parse_node("<node/>", base_dir=None)
    assert node.node_info() == ["i686", 3072, 16, 1400, 2, 2, 2, 2]
    node = parse_node("<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>2</threads></cpu>"
                      "</node>", base_dir=None)
    assert node.cpus == 4  # active defaults to the topology's product
    node = parse_node("<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>1</cores><threads>1</threads>"
                      "<active>64</active></cpu></node>", base_dir=None)
    assert node.cpus == 1  # and is clamped to it


def test_default_node_is_libvirts():
    node = default_node()
    assert node.node_info() == ["i686", 3072, 16, 1400, 2, 2, 2, 2]
    [d] = node.domains
    assert d.state == C.VIR_DOMAIN_RUNNING and not d.transient
    assert d.definition.uuid_str == "6695eb01-f6a4-8304-79aa-97f2502e193f"
    assert (d.definition.memory_kib, d.definition.current_memory_kib, d.definition.vcpus) == (8388608, 2097152, 2)
    assert d.definition.interfaces[0].mac == "aa:bb:cc:dd:ee:ff"
    assert "diskimage1" in DEFAULT_DOMAIN_XML


def test_the_default_node_is_the_default_node_file_parsed():
    """default_node() parses nothing before use: its given facts, host values and network are what parsing
    DEFAULT_NODE_XML (libvirt's default node as a node file) gives."""
    lazy, parsed = default_node(), parse_node(node_module.DEFAULT_NODE_XML, base_dir=None, what="default node")
    assert not lazy.domains[0].built and callable(lazy._networks)
    assert lazy.node_info() == parsed.node_info() and lazy.path is parsed.path is None
    [lazy_dom], [parsed_dom] = lazy.domains, parsed.domains
    assert lazy_dom.facts == DEFAULT_DOMAIN_FACTS == parsed_dom.facts == DomainFacts.of(parsed_dom.definition)
    assert (lazy_dom.state, lazy_dom.transient, lazy_dom.has_managed_save) == (
        parsed_dom.state, parsed_dom.transient, parsed_dom.has_managed_save)
    assert lazy_dom.definition.to_xml() == parsed_dom.definition.to_xml()
    assert [n.to_xml() for n in lazy.networks] == [n.to_xml() for n in parsed.networks]


def test_a_network_twice_in_a_node_file_fails_the_load(tmp_path):
    net = "<network><name>n{}</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5d{}</uuid></network>"
    for second in (net.format(1, "e"), net.format(2, "f")):  # the same name; the same UUID
        path = tmp_path / "node.xml"
        path.write_text(f"<node>{net.format(1, 'f')}{second}</node>")
        with pytest.raises(DriverError) as info:
            load_node(str(path))
        assert (info.value.code, info.value.domain) == (C.VIR_ERR_OPERATION_FAILED, C.VIR_FROM_TEST)
        assert "is defined twice in the node file" in str(info.value)


def test_default_node_copies_are_independent():
    a, b = default_node(), default_node()
    a.domains[0].definition.memory_kib = 1024
    assert b.domains[0].definition.memory_kib == 8388608
    assert default_node().domains[0].definition.memory_kib == 8388608


@pytest.mark.parametrize("content,code,text", [
    ("<node><cpu>", C.VIR_ERR_XML_DETAIL, "Premature end of data"),
    ("<notnode/>", C.VIR_ERR_XML_ERROR, "expecting root element of 'node', not 'notnode'"),
    ("<node><cpu><mhz>abc</mhz></cpu></node>", C.VIR_ERR_XML_ERROR, "invalid node cpu mhz value 'abc'"),
    ("<node><cpu><cores>0</cores></cpu></node>", C.VIR_ERR_XML_ERROR, "invalid node cpu cores value"),
    ("<node><memory>lots</memory></node>", C.VIR_ERR_XML_ERROR, "invalid node memory value"),
    ("<node><domain file='missing.xml'/></node>", C.VIR_ERR_XML_ERROR, "failed to parse xml document"),
    (f"<node xmlns:test='{TEST_NS}'><domain type='test'><name>x</name><memory>1</memory><os><type>hvm</type></os>"
     "<test:runstate>9</test:runstate></domain></node>", C.VIR_ERR_XML_ERROR, "runstate '9' out of range"),
    (f"<node xmlns:test='{TEST_NS}'><domain type='test'><name>x</name><memory>1</memory><os><type>hvm</type></os>"
     "<test:runstate>5</test:runstate><test:transient/></domain></node>", C.VIR_ERR_XML_ERROR, "transient"),
])
def test_node_errors(tmp_path, content, code, text):
    path = tmp_path / "node.xml"
    path.write_text(content)
    with pytest.raises(DriverError) as info:
        load_node(str(path))
    assert info.value.code == code
    assert info.value.domain == C.VIR_FROM_TEST
    assert text in str(info.value)
    if code == C.VIR_ERR_XML_DETAIL:
        assert str(info.value).startswith(f"{path}:1: ")


def test_missing_node_file(tmp_path):
    with pytest.raises(DriverError) as info:
        load_node(str(tmp_path / "none.xml"))
    assert info.value.code == C.VIR_ERR_XML_ERROR
    assert "No such file" in str(info.value) and "none.xml" in str(info.value)


def test_invalid_domain_in_node_reports_the_domain_error(tmp_path):
    path = tmp_path / "node.xml"
    path.write_text("<node><domain type='test'><name>x</name><os><type>hvm</type></os></domain></node>")
    with pytest.raises(DriverError) as info:
        load_node(str(path))
    assert info.value.code == C.VIR_ERR_XML_ERROR and info.value.domain == C.VIR_FROM_DOMAIN
    assert "memory" in str(info.value)


def test_domain_file_with_absolute_path(tmp_path):
    other = tmp_path / "sub"
    other.mkdir()
    (other / "d.xml").write_text(DOM1)
    (tmp_path / "node.xml").write_text(f"<node><domain file='{other / 'd.xml'}'/></node>")
    assert load_node(str(tmp_path / "node.xml")).domains[0].definition.name == "fromfile"


def test_domain_files_not_allowed_without_base_dir():
    with pytest.raises(DriverError):
        parse_node("<node><domain file='x.xml'/></node>", base_dir=None)


def test_same_as_real_libvirt(node_file):
    libvirt = real_libvirt()
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    conn = libvirt.open(f"test://{node_file}")
    try:
        node = load_node(str(node_file))
        assert conn.getInfo() == node.node_info()
        real = {d.name(): (d.state()[0], bool(d.isPersistent())) for d in conn.listAllDomains()}
        ours = {d.definition.name: (d.state, not d.transient) for d in node.domains}
        assert real == ours
    finally:
        conn.close()
