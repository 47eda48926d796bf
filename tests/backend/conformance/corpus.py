"""Run libvirt's domain XML test inputs through a libvirt-python-like module and compare two such runs.

The inputs are the subset of libvirt 9.0's ``tests/`` committed under ``tests/data/libvirt/domain`` (see NOTE there).
One :class:`Outcome` per file: accepted (with the formatted XML) or refused (with code and domain).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Optional

from lxml import etree

DATA = Path(__file__).resolve().parents[2] / "data" / "libvirt"
#: Figures measured in this session, printed by the conformance conftest's terminal summary.
FIGURES: list[str] = []


def report(line: str) -> None:
    """Record one figure for the session summary and print it (for -s)."""
    FIGURES.append(line)
    print(line)


DOMAIN_DIRS = ("genericxml2xmlindata", "qemuxml2argvdata", "domainschemadata", "xlconfigdata")


def domain_inputs() -> list[Path]:
    """Every committed domain XML input, in a stable order."""
    out: list[Path] = []
    for d in DOMAIN_DIRS:
        out.extend(sorted((DATA / "domain" / d).glob("*.xml")))
    return out


@dataclass
class Outcome:
    """What one implementation made of one input."""

    ok: bool
    xml: Optional[str] = None
    code: int = 0
    domain: int = 0
    message: str = ""


def run_one(lib: ModuleType, conn: object, text: str) -> Outcome:
    """defineXML + XMLDesc(0) + undefine on ``conn`` (a test:///default connection of ``lib``)."""
    try:
        dom = conn.defineXML(text)  # type: ignore[attr-defined]
    except lib.libvirtError as e:
        return Outcome(False, code=e.get_error_code(), domain=e.get_error_domain(), message=str(e))
    try:
        return Outcome(True, xml=dom.XMLDesc(0))
    finally:
        try:
            dom.undefine()
        except lib.libvirtError:
            pass


def _canon(xml: str, source: etree._Element) -> etree._Element:
    """A comparable tree: no whitespace-only text; UUID and MACs dropped where the input had none (random)."""
    parser = etree.XMLParser(remove_blank_text=True)
    root = etree.fromstring(xml.encode(), parser)
    if source.find("uuid") is None:
        for el in root.findall("uuid"):
            root.remove(el)
    src_ifaces = source.findall("devices/interface")
    for i, iface in enumerate(root.findall("devices/interface")):
        if i >= len(src_ifaces) or src_ifaces[i].find("mac") is None:
            for mac in iface.findall("mac"):
                iface.remove(mac)
    for el in root.iter():
        if el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None:
            el.tail = None
    return root


def _tree_diff(a: etree._Element, b: etree._Element, path: str = "") -> Optional[str]:
    """The first difference between two trees (attribute order ignored), or None."""
    here = f"{path}/{a.tag}"
    if a.tag != b.tag:
        return f"{path}: <{a.tag}> vs <{b.tag}>"
    if dict(a.attrib) != dict(b.attrib):
        return f"{here}: attributes {dict(a.attrib)} vs {dict(b.attrib)}"
    if (a.text or "").strip() != (b.text or "").strip():
        return f"{here}: text {a.text!r} vs {b.text!r}"
    ca = [c for c in a if isinstance(c.tag, str)]
    cb = [c for c in b if isinstance(c.tag, str)]
    for x, y in zip(ca, cb, strict=False):
        d = _tree_diff(x, y, here)
        if d:
            return d
    if len(ca) != len(cb):
        extra = ca[len(cb):] or cb[len(ca):]
        return f"{here}: {len(ca)} vs {len(cb)} children (first extra <{extra[0].tag}>)"
    return None


def xml_diff(ours: str, theirs: str, source_text: str) -> Optional[str]:
    """None when ``ours`` and ``theirs`` are the same canonical tree for the input ``source_text``."""
    source = etree.fromstring(source_text.encode(), etree.XMLParser(remove_blank_text=True))
    return _tree_diff(_canon(ours, source), _canon(theirs, source))
