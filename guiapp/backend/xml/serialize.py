"""Documents as text the way libvirt writes them: ``'`` around attribute values, libvirt's escapes.

libvirt's formatters (``virBufferEscapeString``) write ``<a b='c'/>`` and escape ``< > & " '`` as ``&lt; &gt;
&amp; &quot; &apos;`` in attribute values and text alike. Foreign-namespace content under ``<metadata>`` is
dumped by libxml2 (double quotes), as libvirt does; namespace declarations elsewhere (``xmlns:qemu=``) take
single quotes like every other attribute. Comments are kept.
"""

from __future__ import annotations

from lxml import etree

_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})
#: in attribute values, whitespace other than a space is written as a character reference so that a
#: parser reads back the same value (libvirt writes it raw, which XML parsers turn into spaces)
_ESCAPE_ATTR = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;",
                              "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
#: tails are whitespace between elements in practice; libvirt has no text there
_ESCAPE_TAIL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape_text(value: str) -> str:
    """Text content escaped as libvirt does (quotes included)."""
    return value.translate(_ESCAPE)


def quote_attr(value: str) -> str:
    """An attribute value in libvirt's single quotes, escaped."""
    return "'" + value.translate(_ESCAPE_ATTR) + "'"


def _name(qname: str, nsmap: dict) -> str:
    """``{uri}local`` as ``prefix:local`` with the prefix in scope (lxml keeps it in ``nsmap``)."""
    if not qname.startswith("{"):
        return qname
    uri, local = qname[1:].split("}", 1)
    for prefix, u in nsmap.items():
        if u == uri and prefix is not None:
            return f"{prefix}:{local}"
    return local  # the default namespace


def to_text(root: etree._Element) -> str:
    """``root`` (and its children, without its tail) as libvirt formats it."""
    out: list[str] = []

    def emit(el: etree._Element, parent_ns: dict, verbatim: bool) -> None:
        if not isinstance(el.tag, str) or verbatim:  # comment, PI, or libxml2-dumped metadata
            out.append(etree.tostring(el, encoding="unicode", with_tail=False))
        else:
            nsmap = dict(el.nsmap)
            out.append("<" + _name(el.tag, nsmap))
            for k, v in el.attrib.items():
                out.append(f" {_name(k, nsmap)}='{v.translate(_ESCAPE_ATTR)}'")
            for prefix, uri in nsmap.items():  # libvirt writes namespace declarations after the attributes
                if parent_ns.get(prefix) != uri:
                    attr = f"xmlns:{prefix}" if prefix else "xmlns"
                    out.append(f" {attr}='{uri.translate(_ESCAPE_ATTR)}'")
            if el.text is None and not len(el):
                out.append("/>")
            else:
                out.append(">")
                if el.text:
                    out.append(el.text.translate(_ESCAPE))
                foreign = el.tag == "metadata"
                for child in el:
                    emit(child, nsmap, foreign and isinstance(child.tag, str))
                out.append(f"</{_name(el.tag, nsmap)}>")
        if el is not root and el.tail:
            out.append(el.tail.translate(_ESCAPE_TAIL))

    emit(root, {}, False)
    return "".join(out)


__all__ = ["to_text", "escape_text", "quote_attr"]
