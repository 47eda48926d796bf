"""xml/serialize.py: libvirt's quoting and escapes, byte for byte against Debian's libvirt."""

from __future__ import annotations

from helpers import real_libvirt
from lxml import etree

import guiapp.backend as ours
from guiapp.backend.xml.serialize import escape_text, quote_attr, to_text

#: names, text and paths with every character libvirt escapes
SAMPLE = """<domain type='test'>
  <name>q&apos;x&quot;y&lt;z&amp;</name>
  <uuid>7cacb64b-536f-4c54-a6d7-823f38b8caef</uuid>
  <title>a &lt;b&gt; &amp; "c" 'd'</title>
  <description>l1
l2\ttab &gt; x</description>
  <metadata><app1:foo xmlns:app1='http://foo.org/' a='1&apos;"'>fooish &apos;"</app1:foo></metadata>
  <memory>1024</memory>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/tmp/a&apos;b&quot;c&lt;&amp;&gt;.img'/>
      <target dev='vda'/>
    </disk>
  </devices>
</domain>
"""


def test_single_quotes_and_libvirt_escapes() -> None:
    root = etree.fromstring("<a x=\"it's &quot;q&quot; &lt;&amp;&gt;\">t 'x' \"y\" &lt;&amp;&gt;<b/></a>")
    assert to_text(root) == ("<a x='it&apos;s &quot;q&quot; &lt;&amp;&gt;'>t &apos;x&apos; &quot;y&quot; "
                             "&lt;&amp;&gt;<b/></a>")
    assert quote_attr("a'b\"c") == "'a&apos;b&quot;c'"
    assert escape_text("<'&\">") == "&lt;&apos;&amp;&quot;&gt;"


def test_attribute_whitespace_survives_a_round_trip() -> None:
    root = etree.fromstring("<a x='l1&#10;l2&#9;t'/>")
    assert etree.fromstring(to_text(root)).get("x") == "l1\nl2\tt"


def test_namespaces_outside_metadata_take_single_quotes() -> None:
    root = etree.fromstring("<domain xmlns:qemu='urn:q' type='kvm'><qemu:commandline><qemu:arg value='-x'/>"
                            "</qemu:commandline></domain>")
    text = to_text(root)
    assert text.startswith("<domain type='kvm' xmlns:qemu='urn:q'><qemu:commandline><qemu:arg value='-x'/>")
    assert etree.tostring(etree.fromstring(text), method="c14n") == etree.tostring(root, method="c14n")


def test_domain_xml_is_byte_identical_to_libvirt() -> None:
    lib = real_libvirt()
    theirs = lib.open("test:///default")
    mine = ours.open("test:///default")
    try:
        a = theirs.defineXML(SAMPLE)
        b = mine.defineXML(SAMPLE)
        assert b.XMLDesc(0) == a.XMLDesc(0)
        a.undefine()
        b.undefine()
    finally:
        theirs.close()
        mine.close()


def test_snapshot_and_pool_xml_use_single_quotes() -> None:
    conn = ours.open("test:///default")
    try:
        dom = conn.lookupByName("test")
        snap = dom.snapshotCreateXML("<domainsnapshot><name>s&apos;1</name></domainsnapshot>", 0)
        text = snap.getXMLDesc(0)
        assert "<name>s&apos;1</name>" in text and '="' not in text.split("<domain ")[0]
        snap.delete(0)
        pool = conn.storagePoolLookupByName("default-pool")
        assert '="' not in pool.XMLDesc(0)
    finally:
        conn.close()
