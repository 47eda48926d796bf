"""The network XML model: libvirt's format parsed, checked, normalized and written back."""

from __future__ import annotations

import os
import sys

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.network import (
    HOST_DEFAULT_NETWORK_XML,
    TEST_DEFAULT_NETWORK_XML,
    NetworkDef,
    parse_network,
)

SCHEMA = "/usr/share/libvirt/schemas/network.rng"

FULL = """<network>
  <name>net1</name>
  <bridge name='br7'/>
  <forward mode='route' dev='eth0'/>
  <domain name='example.org'/>
  <dns><host ip='10.7.0.9'><hostname>extra</hostname></host></dns>
  <ip address='10.7.0.1' prefix='24'>
    <dhcp>
      <range start='10.7.0.10' end='10.7.0.20'/>
      <host mac='52:54:00:00:00:0A' name='g1' ip='10.7.0.5'/>
    </dhcp>
  </ip>
  <mtu size='9000'/>
</network>"""


def canon(xml: str) -> bytes:
    """The document with insignificant whitespace and quote style removed."""
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml.encode(), parser), method="c14n")


def test_full_document_is_understood_and_normalized():
    d = parse_network(FULL)
    assert (d.name, d.forward_mode, d.forward_dev, d.bridge, d.domain_name) == (
        "net1", "route", "eth0", "br7", "example.org")
    assert len(d.uuid) == 16 and d.uuid_str.count("-") == 4
    ip = d.ipv4
    assert str(ip.address) == "10.7.0.1" and ip.prefix == 24 and str(ip.network) == "10.7.0.0/24"
    assert [(str(a), str(b)) for a, b in ip.ranges] == [("10.7.0.10", "10.7.0.20")]
    assert ip.hosts[0].mac == "52:54:00:00:00:0a" and str(ip.hosts[0].ip) == "10.7.0.5"
    root = etree.fromstring(d.to_xml())
    # libvirt's order and defaults; unknown elements (dns, mtu) are kept
    assert [c.tag for c in root] == ["name", "uuid", "forward", "bridge", "mtu", "domain", "dns", "ip"]
    assert root.find("forward").attrib == {"dev": "eth0", "mode": "route"}
    assert root.find("forward/interface").get("dev") == "eth0"
    assert root.find("bridge").attrib == {"name": "br7", "stp": "on", "delay": "0"}
    assert root.find("dns/host/hostname").text == "extra"
    # formatting is stable: the output parses back to the same document
    assert parse_network(d.to_xml()).to_xml() == d.to_xml()


def test_test_driver_default_matches_libvirt():
    d = parse_network(TEST_DEFAULT_NETWORK_XML)
    assert canon(d.to_xml()) == canon(TEST_DEFAULT_NETWORK_XML)
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import libvirt as real  # type: ignore[import-not-found]
    except ImportError:
        pytest.skip("python3-libvirt is not installed")
    finally:
        sys.path.remove("/usr/lib/python3/dist-packages")
    real.registerErrorHandler(lambda ctx, err: None, None)
    conn = real.open("test:///default")
    try:
        assert canon(conn.networkLookupByName("default").XMLDesc()) == canon(d.to_xml())
    finally:
        conn.close()


@pytest.mark.skipif(not os.path.exists(SCHEMA), reason="libvirt's schemas are not installed")
@pytest.mark.parametrize("xml", [FULL, TEST_DEFAULT_NETWORK_XML, HOST_DEFAULT_NETWORK_XML,
                                 "<network><name>iso</name></network>"])
def test_output_validates_against_libvirts_schema(xml):
    schema = etree.RelaxNG(etree.parse(SCHEMA))
    doc = etree.fromstring(parse_network(xml).to_xml())
    assert schema.validate(doc), schema.error_log


def test_defaults_nat_forward_and_classful_prefix():
    d = parse_network("<network><name>n</name><forward/><ip address='10.1.2.3'/>"
                      "<ip address='172.16.0.1'/><ip family='ipv6' address='fd00::1'/></network>")
    assert d.forward_mode == "nat"
    assert [ip.prefix for ip in d.ips] == [8, 16, 64]
    assert d.bridge is None and d.isolated is False
    iso = parse_network("<network><name>i</name></network>")
    assert iso.isolated and iso.ipv4 is None


def test_set_bridge_and_copy_are_independent():
    d = parse_network("<network><name>n</name><forward mode='nat'/><ip address='10.9.0.1' prefix='24'/></network>")
    c = d.copy()
    d.set_bridge("virbr4")
    root = etree.fromstring(d.to_xml())
    assert [x.tag for x in root] == ["name", "uuid", "forward", "bridge", "ip"]
    assert root.find("bridge").attrib == {"name": "virbr4", "stp": "on", "delay": "0"}
    assert c.bridge is None and c.uuid == d.uuid
    with pytest.raises(DriverError):
        d.set_bridge("a-very-long-bridge-name")


BAD = [
    ("<network/>", C.VIR_ERR_NO_NAME, "name"),
    ("<network><name>a/b</name></network>", C.VIR_ERR_XML_ERROR, "'/'"),
    ("<network><name>n</name><uuid>xyz</uuid></network>", C.VIR_ERR_XML_ERROR, "uuid"),
    ("<network><name>n</name><forward mode='foo'/></network>", C.VIR_ERR_CONFIG_UNSUPPORTED, "unknown forwarding"),
    ("<network><name>n</name><forward mode='tunnel'/></network>", C.VIR_ERR_CONFIG_UNSUPPORTED, "unknown forwarding"),
    ("<network><name>n</name><forward mode='vepa'/><bridge name='br0'/></network>", C.VIR_ERR_XML_ERROR,
     "not allowed"),
    ("<network><name>n</name><forward mode='nat'/></network>", C.VIR_ERR_XML_ERROR, "no IP address"),
    ("<network><name>n</name><bridge name='averyveryverylongname'/></network>", C.VIR_ERR_XML_ERROR, "1-15"),
    ("<network><name>n</name><bridge name='br0' stp='maybe'/></network>", C.VIR_ERR_XML_ERROR, "stp"),
    ("<network><name>n</name><mac address='01:00:00:00:00:01'/></network>", C.VIR_ERR_XML_ERROR, "unicast"),
    ("<network><name>n</name><ip address='300.1.1.1'/></network>", C.VIR_ERR_XML_ERROR, "Invalid address"),
    ("<network><name>n</name><ip address='10.0.0.1' prefix='24' netmask='255.0.0.0'/></network>",
     C.VIR_ERR_XML_ERROR, "both"),
    ("<network><name>n</name><ip address='10.0.0.1' netmask='255.0.255.0'/></network>", C.VIR_ERR_XML_ERROR,
     "netmask"),
    ("<network><name>n</name><ip address='10.0.0.1' prefix='33'/></network>", C.VIR_ERR_XML_ERROR, "prefix"),
    ("<network><name>n</name><ip address='10.0.0.0' prefix='24'/></network>", C.VIR_ERR_XML_ERROR, "network or"),
    ("<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.1.2' end='10.0.1.9'/>"
     "</dhcp></ip></network>", C.VIR_ERR_CONFIG_UNSUPPORTED, "not entirely within"),
    ("<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.9' end='10.0.0.2'/>"
     "</dhcp></ip></network>", C.VIR_ERR_CONFIG_UNSUPPORTED, "reversed"),
    ("<network><name>n</name><ip address='10.0.0.5' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.9'/>"
     "</dhcp></ip></network>", C.VIR_ERR_CONFIG_UNSUPPORTED, "own address"),
    ("<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><host mac='52:54:00:00:00:01' "
     "ip='10.9.0.5'/></dhcp></ip></network>", C.VIR_ERR_CONFIG_UNSUPPORTED, "outside"),
    ("<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><host ip='10.0.0.5'/></dhcp></ip>"
     "</network>", C.VIR_ERR_XML_ERROR, "mac or name"),
    ("<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.3'/>"
     "</dhcp></ip><ip address='10.1.0.1' prefix='24'><dhcp><range start='10.1.0.2' end='10.1.0.3'/></dhcp></ip>"
     "</network>", C.VIR_ERR_CONFIG_UNSUPPORTED, "Multiple IPv4"),
    ("<network><name>n</name><ip address='10.0.0.1' prefix='16'/><ip address='10.0.5.1' prefix='24'/></network>",
     C.VIR_ERR_CONFIG_UNSUPPORTED, "overlap"),
    ("<network><name>n</name><name>m</name></network>", C.VIR_ERR_XML_ERROR, "more than one"),
    ("<domain><name>n</name></domain>", C.VIR_ERR_XML_ERROR, "expecting root element of 'network'"),
    ("<network><name>n</name>", C.VIR_ERR_XML_DETAIL, "network_definition"),
]


@pytest.mark.parametrize("xml,code,words", BAD)
def test_bad_documents_give_coded_errors(xml, code, words):
    with pytest.raises(DriverError) as exc:
        parse_network(xml)
    assert exc.value.code == code, exc.value.detail
    assert words in exc.value.detail
    assert exc.value.domain == C.VIR_FROM_NETWORK


def test_entities_are_refused():
    xml = '<!DOCTYPE n [<!ENTITY x SYSTEM "file:///etc/passwd">]><network><name>&x;</name></network>'
    with pytest.raises(DriverError) as exc:
        parse_network(xml)
    assert exc.value.code == C.VIR_ERR_XML_ERROR


def test_networkdef_repr_and_subnets():
    d = parse_network(HOST_DEFAULT_NETWORK_XML)
    assert isinstance(d, NetworkDef) and "default" in repr(d)
    assert [str(n) for n in d.subnets()] == ["192.168.22.0/24"]


def test_written_like_libvirt_with_escapes():
    # (a domain name cannot hold a quote: it is a DNS name; a TXT record's value can)
    d = parse_network("<network><name>a&amp;b &lt;x&gt;</name><dns><txt name='t' value=\"it's\"/></dns></network>")
    text = d.to_xml()
    assert "<name>a&amp;b &lt;x&gt;</name>" in text and "<txt name='t' value='it&apos;s'/>" in text
    assert parse_network(text).name == "a&b <x>" and parse_network(text).root.find("dns/txt").get("value") == "it's"
    assert parse_network(TEST_DEFAULT_NETWORK_XML).to_xml() == TEST_DEFAULT_NETWORK_XML
    meta = parse_network("<network><name>m</name><metadata><x:y xmlns:x='urn:x'>1</x:y></metadata></network>")
    assert "urn:x" in meta.to_xml() and parse_network(meta.to_xml()).to_xml() == meta.to_xml()
