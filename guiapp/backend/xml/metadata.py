"""A domain's ``<title>``, ``<description>`` and ``<metadata>`` (virDomainDefSetMetadata / GetMetadata)."""

from __future__ import annotations

import re
from copy import deepcopy
from typing import Optional

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from .domain import (
    DomainDef,
    _remove,  # the one helper that keeps neighbours' indentation
)
from .safe import parse_xml

#: Elements that come before <title>/<description>/<metadata> in libvirt's output.
_BEFORE = ("name", "uuid", "genid", "title", "description")
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_TAGS = {C.VIR_DOMAIN_METADATA_TITLE: "title", C.VIR_DOMAIN_METADATA_DESCRIPTION: "description"}


def _check_type(kind: int) -> None:
    if kind not in _TAGS and kind != C.VIR_DOMAIN_METADATA_ELEMENT:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"unknown metadata type '{kind}'", C.VIR_FROM_DOMAIN)


def _not_present() -> DriverError:
    return DriverError(C.VIR_ERR_NO_DOMAIN_METADATA, "Requested metadata element is not present", C.VIR_FROM_DOMAIN)


def _place(root: etree._Element, el: etree._Element, upto: tuple[str, ...]) -> None:
    """Insert ``el`` after the last child named in ``upto`` (else first)."""
    anchor = None
    for child in root:
        if child.tag in upto:
            anchor = child
    if anchor is None:
        root.insert(0, el)
    else:
        anchor.addnext(el)


def get_metadata(d: DomainDef, kind: int, uri: Optional[str]) -> str:
    """The title, description, or the ``<metadata>`` child in namespace ``uri`` (without its prefix)."""
    _check_type(kind)
    root = d.root
    if kind in _TAGS:
        el = root.find(_TAGS[kind])
        if el is None or not el.text:
            raise _not_present()
        return el.text
    meta = root.find("metadata")
    found = None if meta is None else next(
        (c for c in meta if isinstance(c.tag, str) and etree.QName(c).namespace == uri), None)
    if found is None:
        raise _not_present()
    copy = deepcopy(found)
    for el in copy.iter():
        if isinstance(el.tag, str) and etree.QName(el).namespace == uri:
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(copy)
    copy.tail = None
    etree.indent(copy, space="  ")
    return etree.tostring(copy, encoding="unicode")


def set_metadata(d: DomainDef, kind: int, text: Optional[str], key: Optional[str], uri: Optional[str]) -> DomainDef:
    """A copy of ``d`` with the metadata changed; None or "" removes a title/description, None an element."""
    _check_type(kind)
    new = d.copy()
    root = new.root
    if kind in _TAGS:
        tag = _TAGS[kind]
        old = root.find(tag)
        if old is not None:
            _remove(old)
        if text:
            el = etree.Element(tag)
            el.text = text
            _place(root, el, _BEFORE[: _BEFORE.index(tag)])
    else:
        meta = root.find("metadata")
        if meta is not None:
            for c in [c for c in meta if isinstance(c.tag, str) and etree.QName(c).namespace == uri]:
                _remove(c)
        if text is not None:
            if not key or not _NCNAME.match(key):
                raise DriverError(C.VIR_ERR_INVALID_ARG, f"metadata key '{key}' is not a valid XML name prefix",
                                  C.VIR_FROM_XML)
            elem = parse_xml(text, "metadata_xml")
            if meta is None:
                meta = etree.Element("metadata")
                _place(root, meta, _BEFORE)
            meta.append(_in_namespace(elem, key, uri or ""))
        if meta is not None and not len(meta):
            _remove(meta)
    etree.indent(root, space="  ")
    new.refresh()
    return new


def _in_namespace(elem: etree._Element, key: str, uri: str) -> etree._Element:
    """``elem`` with every un-namespaced element moved into ``uri`` under prefix ``key``."""
    out = etree.Element(f"{{{uri}}}{etree.QName(elem).localname}", nsmap={key: uri})
    _copy_into(elem, out, uri)
    return out


def _copy_into(src: etree._Element, dst: etree._Element, uri: str) -> None:
    for k, v in src.attrib.items():
        dst.set(k, v)
    dst.text = src.text
    for child in src:
        if not isinstance(child.tag, str):
            continue
        q = etree.QName(child)
        sub = etree.SubElement(dst, f"{{{q.namespace or uri}}}{q.localname}")
        _copy_into(child, sub, uri)
        sub.tail = child.tail


__all__ = ["get_metadata", "set_metadata"]
