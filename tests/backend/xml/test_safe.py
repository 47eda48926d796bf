"""The safe XML parser: libvirt-style errors, no entities, no network, bounded input."""

import threading
import time

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml import MAX_XML_SIZE, check_root, parse_xml
from guiapp.backend.xml.domain import parse_domain


def _err(text, what="domain_definition") -> DriverError:
    with pytest.raises(DriverError) as info:
        parse_xml(text, what)
    return info.value


def test_parses_str_and_bytes():
    assert parse_xml("<domain><name>a</name></domain>").findtext("name") == "a"
    assert parse_xml(b"<domain><name>a</name></domain>").findtext("name") == "a"


def test_str_with_encoding_declaration_is_accepted():
    root = parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?><a>\u00e9</a>')
    assert root.text == "\u00e9"
    root = parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?><a>\u00e9</a>'.encode("latin-1"))
    assert root.text == "\u00e9"


def test_not_well_formed_matches_libvirt_message():
    # exactly what libvirt 9.0 reports for virDomainDefineXML("<domain><name>a")
    e = _err("<domain><name>a")
    assert e.code == C.VIR_ERR_XML_DETAIL
    assert e.domain == C.VIR_FROM_DOMAIN
    assert str(e) == ("(domain_definition):1: Premature end of data in tag name line 1\n"
                      "<domain><name>a\n---------------^")


def test_not_well_formed_reports_the_right_line():
    e = _err("<domain>\n  <name>a</name>\n  <memory>1</memory x='1' x='2'>\n</domain>")
    assert str(e) == ("(domain_definition):3: expected '>'\n"
                      "  <memory>1</memory x='1' x='2'>\n--------------------^")


def test_undefined_entity_is_a_detail_error():
    e = _err("<domain>&foo;</domain>")
    assert e.code == C.VIR_ERR_XML_DETAIL
    assert "Entity 'foo' not defined" in str(e)


def test_empty_document():
    for text in ("", b""):
        e = _err(text)
        assert e.code == C.VIR_ERR_XML_DETAIL
        assert "Document is empty" in str(e)


def test_file_label_is_shown_without_parentheses():
    e = _err("<node><cpu>", what="/tmp/node.xml")
    assert str(e).startswith("/tmp/node.xml:1: ")


def test_wrong_type_is_invalid_arg():
    with pytest.raises(DriverError) as info:
        parse_xml(42)  # type: ignore[arg-type]
    assert info.value.code == C.VIR_ERR_INVALID_ARG


def test_xxe_file_read_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doc = (f'<?xml version="1.0"?>\n<!DOCTYPE domain [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
           "<domain type='test'><name>&xxe;</name><memory>1024</memory><os><type>hvm</type></os></domain>")
    for text in (doc, doc.encode()):
        e = _err(text)
        assert e.code == C.VIR_ERR_XML_ERROR
        assert "entit" in str(e)
        assert "TOP-SECRET" not in str(e)
    with pytest.raises(DriverError):
        parse_domain(doc)


def test_parameter_entities_are_refused():
    doc = '<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><a/>'
    assert _err(doc).code == C.VIR_ERR_XML_ERROR


def test_billion_laughs_is_refused_fast():
    ents = ['<!ENTITY lol "lol">', '<!ENTITY lol1 "' + "&lol;" * 10 + '">']
    ents += [f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' for i in range(2, 10)]
    doc = f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(ents)}]><domain><name>&lol9;</name></domain>'
    start = time.perf_counter()
    e = _err(doc)
    assert time.perf_counter() - start < 5  # refused, not expanded: no hang
    assert e.code == C.VIR_ERR_XML_ERROR


def test_utf16_entity_declarations_are_refused_after_parsing():
    # the byte scan cannot see '<!ENTITY' in UTF-16; the parsed DTD is checked too
    doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "expanded">]><a>&x;</a>'.encode("utf-16")
    assert b"<!ENTITY" not in doc
    start = time.perf_counter()
    e = _err(doc)
    assert time.perf_counter() - start < 5  # refused, not expanded: no hang
    assert e.code == C.VIR_ERR_XML_ERROR


def test_external_dtd_is_never_loaded(tmp_path):
    dtd = tmp_path / "x.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED">')
    try:
        root = parse_xml(f'<!DOCTYPE a SYSTEM "file://{dtd}"><a>&leak;</a>')
        assert "LEAKED" not in etree.tostring(root, encoding="unicode")
        assert "LEAKED" not in "".join(root.itertext())
    except DriverError as e:
        assert "LEAKED" not in str(e)
    # a DOCTYPE without entities is harmless and accepted
    assert parse_xml(f'<!DOCTYPE a SYSTEM "file://{dtd}"><a>x</a>').text == "x"


def test_network_dtd_is_not_fetched():
    start = time.perf_counter()
    try:
        root = parse_xml('<!DOCTYPE a SYSTEM "http://192.0.2.1/x.dtd"><a/>')
        assert root.tag == "a"
    except DriverError as e:
        assert e.code in (C.VIR_ERR_XML_DETAIL, C.VIR_ERR_XML_ERROR)
    assert time.perf_counter() - start < 5  # refused, not expanded: no hang


@pytest.mark.parametrize("kind", ["str", "bytes"])
def test_oversized_input_is_refused_without_parsing(kind):
    big = "<a>" + "x" * MAX_XML_SIZE + "</a>"
    text = big if kind == "str" else big.encode()
    start = time.perf_counter()
    e = _err(text)
    assert time.perf_counter() - start < 5  # refused, not expanded: no hang
    assert e.code == C.VIR_ERR_XML_ERROR
    assert "10 MiB" in str(e)


def test_large_documents_below_the_limit_are_fine():
    n = (MAX_XML_SIZE - 100) // len("<b>xxxxxxxxxx</b>")
    text = "<a>" + "<b>xxxxxxxxxx</b>" * n + "</a>"
    assert len(text) < MAX_XML_SIZE
    assert len(parse_xml(text)) == n


def test_huge_text_node_is_refused_not_parsed():
    # libxml2's limits stay on (no huge_tree): one 10 MB text node is an error, not a hang
    e = _err("<a>" + "x" * (MAX_XML_SIZE - 100) + "</a>")
    assert e.code == C.VIR_ERR_XML_DETAIL


def test_deep_nesting_does_not_crash():
    depth = 100_000
    text = "<a>" * depth + "</a>" * depth
    with pytest.raises(DriverError):  # libxml2's depth limit (no huge_tree) refuses it
        parse_xml(text)


def test_check_root():
    check_root(etree.fromstring("<domain/>"), "domain")
    with pytest.raises(DriverError) as info:
        check_root(etree.fromstring("<foo/>"), "domain", domain=C.VIR_FROM_DOMAIN)
    assert info.value.code == C.VIR_ERR_XML_ERROR
    assert "expecting root element of 'domain', not 'foo'" in str(info.value)
    with pytest.raises(DriverError) as info:
        check_root(etree.fromstring("<domain xmlns='http://x'/>"), "domain")
    assert "no namespace" in str(info.value)


def test_parsers_are_usable_from_many_threads():
    errors = []

    def work(i):
        try:
            for j in range(200):
                root = parse_xml(f"<d><n>{i}-{j}</n></d>")
                assert root.findtext("n") == f"{i}-{j}"
                with pytest.raises(DriverError):
                    parse_xml("<d><n>")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
