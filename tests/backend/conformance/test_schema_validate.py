"""``VIR_DOMAIN_DEFINE_VALIDATE`` / ``VIR_DOMAIN_START_VALIDATE``: RelaxNG checks, compared with Debian's libvirt.

Same error (code, domain, message) on hand-written invalid inputs, and the same verdict (schema error or not)
on every input of libvirt's own corpus.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from helpers import load_module, real_libvirt

import guiapp.backend as ours
from guiapp.backend.xml import schema

corpus = load_module("backend/conformance/corpus.py", "conformance_corpus")

pytestmark = pytest.mark.skipif(not Path(schema.schema_path("domain")).is_file(),
                                reason="libvirt's RelaxNG schemas are not installed")

GOOD = "<domain type='test'><name>v</name><memory>1024</memory><os><type>hvm</type></os></domain>"
INVALID = [
    GOOD.replace("</os>", "</os><bogus/>"),                                    # unknown element
    GOOD.replace("1024", "abc"),                                              # bad number
    GOOD.replace("<name>v</name>", ""),                                       # no name
    GOOD.replace("</os>", "</os><devices><disk type='file' device='disk'><target dev='vda'/></disk>"
                          "<foo/></devices>"),
    GOOD.replace("type='test'", "type='nonsense'"),                           # not a domain type
    GOOD.replace("</os>", "</os><on_poweroff>explode</on_poweroff>"),
]


def _outcome(lib: ModuleType, call: Any, *args: Any) -> tuple:
    try:
        dom = call(*args)
    except lib.libvirtError as e:
        return (e.get_error_code(), e.get_error_domain(), e.get_error_message(), e.get_str1(), e.get_str2())
    persistent = dom.isPersistent()
    if dom.isActive():
        dom.destroy()
    if persistent:
        dom.undefine()
    return ("ok",)


@pytest.fixture(scope="module")
def conns() -> Any:
    lib = real_libvirt()
    quiet = lambda ctx, err: None  # noqa: E731
    lib.registerErrorHandler(quiet, None)
    ours.registerErrorHandler(quiet, None)
    pair = (lib, lib.open("test:///default"), ours.open("test:///default"))
    yield pair
    pair[1].close()
    pair[2].close()
    lib.registerErrorHandler(None, None)
    ours.registerErrorHandler(None, None)


@pytest.mark.parametrize("xml", [GOOD, *INVALID])
def test_define_validate_same_error_as_libvirt(conns: Any, xml: str) -> None:
    lib, theirs, mine = conns
    want = _outcome(lib, theirs.defineXMLFlags, xml, lib.VIR_DOMAIN_DEFINE_VALIDATE)
    got = _outcome(ours, mine.defineXMLFlags, xml, ours.VIR_DOMAIN_DEFINE_VALIDATE)
    assert got == want
    if xml is not GOOD:
        assert want[0] == lib.VIR_ERR_XML_INVALID_SCHEMA


@pytest.mark.parametrize("xml", [GOOD, INVALID[0]])
def test_create_validate_same_error_as_libvirt(conns: Any, xml: str) -> None:
    lib, theirs, mine = conns
    want = _outcome(lib, theirs.createXML, xml, lib.VIR_DOMAIN_START_VALIDATE)
    got = _outcome(ours, mine.createXML, xml, ours.VIR_DOMAIN_START_VALIDATE)
    assert got == want


def test_without_the_flag_nothing_is_validated(conns: Any) -> None:
    _, _, mine = conns
    dom = mine.defineXMLFlags(INVALID[0], 0)  # the unknown element is kept, as libvirt does
    assert "<bogus/>" in dom.XMLDesc(0)
    dom.undefine()


@pytest.mark.slow  # ~1200 validations; libvirt reloads its RelaxNG schema on each
def test_schema_verdict_matches_libvirt_on_the_corpus(conns: Any) -> None:
    lib, theirs, mine = conns
    same = total = 0
    differ = []
    for p in corpus.domain_inputs():
        text = p.read_text()
        want = _outcome(lib, theirs.defineXMLFlags, text, lib.VIR_DOMAIN_DEFINE_VALIDATE)
        got = _outcome(ours, mine.defineXMLFlags, text, ours.VIR_DOMAIN_DEFINE_VALIDATE)
        schema_err = lib.VIR_ERR_XML_INVALID_SCHEMA
        total += 1
        if (want[0] == schema_err) == (got[0] == schema_err) and (want[0] != schema_err or want == got):
            same += 1
        else:
            differ.append(p.name)
    corpus.report(f"VIR_DOMAIN_DEFINE_VALIDATE schema verdict (and message) equal to libvirt's: {same}/{total}")
    assert same / total >= 0.99, differ[:10]
