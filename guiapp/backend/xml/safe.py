"""A safe lxml front door for every XML document the backend reads.

Domain XML reaches the backend from users, files and other programs, so the
parser never resolves entities, never touches the network, never loads a DTD
and keeps libxml2's limits on (no ``huge_tree``).  A document is refused before
parsing when it is larger than :data:`MAX_XML_SIZE` or declares entities in a
DOCTYPE (XXE file reads, "billion laughs"); the parsed tree is checked again so
that an encoding the byte scan cannot see (UTF-16/32) does not slip through.

Errors are :class:`~guiapp.backend.errors.DriverError`:

* not well-formed -> ``VIR_ERR_XML_DETAIL`` with libvirt's text
  ``"(domain_definition):LINE: <libxml2 message>"`` plus the offending line and
  a caret, as ``virXMLParse`` reports it;
* too large, entity declarations -> ``VIR_ERR_XML_ERROR``.
"""

from __future__ import annotations

import re
import threading
from typing import Union

from lxml import etree

from .. import constants as C
from ..errors import DriverError

#: Largest document accepted (bytes for ``bytes`` input, characters for ``str``).
MAX_XML_SIZE = 10 * 1024 * 1024

_POSITION = re.compile(r", line \d+, column \d+$")
_ENTITY_STR = "<!ENTITY"
_ENTITY_BYTES = b"<!ENTITY"


class _Parsers(threading.local):
    """One parser pair per thread: lxml parsers must not be shared across threads."""

    def __init__(self) -> None:
        opts = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                    dtd_validation=False, attribute_defaults=False, remove_blank_text=False,
                    collect_ids=False)
        self.native = etree.XMLParser(**opts)  # bytes: honour the document's encoding declaration
        self.utf8 = etree.XMLParser(encoding="utf-8", **opts)  # str input, encoded by us


_parsers = _Parsers()


def _label(what: str) -> str:
    """``(domain_definition)`` for a description, the path itself for a file (as libvirt)."""
    return what if "/" in what else f"({what})"


#: A secret attribute (``<graphics passwd>``) as it may appear in a quoted line, closed or cut short.
_SECRET_ATTR = re.compile(r"""(\bpasswd\s*=\s*)(?:"[^"]*"?|'[^']*'?)""")


def redact_secrets(line: str, column: int = 0) -> tuple[str, int]:
    """``line`` with the values of secret attributes masked, and ``column`` moved to the same place in it."""
    out, pos, shift = [], 0, 0
    for m in _SECRET_ATTR.finditer(line):
        masked = m.group(1) + "'***'"
        out.append(line[pos:m.start()] + masked)
        if m.end() <= column:
            shift += len(masked) - (m.end() - m.start())
        pos = m.end()
    out.append(line[pos:])
    return "".join(out), column + shift


def _context(text: Union[str, bytes], line: int, column: int) -> str:
    """libvirt's two context lines: the offending line and a caret under the column (secrets masked)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = text.splitlines() or [""]
    src, col = redact_secrets(lines[line - 1] if 0 < line <= len(lines) else "", max(column - 1, 0))
    if len(src) > 80:  # keep a window around the column, as libxml2 does
        start = max(0, min(col - 40, len(src) - 80))
        src = src[start:start + 80]
        col -= start
    return f"{src}\n{'-' * col}^"


def _too_large(what: str, size: int) -> DriverError:
    return DriverError(C.VIR_ERR_XML_ERROR,
                       f"{_label(what)}: document of {size} bytes is larger than the "
                       f"{MAX_XML_SIZE // (1024 * 1024)} MiB limit; refusing to parse it",
                       C.VIR_FROM_DOMAIN)


def _entities(what: str) -> DriverError:
    return DriverError(C.VIR_ERR_XML_ERROR,
                       f"{_label(what)}: document declares entities in a DOCTYPE; entity declarations "
                       f"are refused (they can read host files or expand without bound): remove the DOCTYPE",
                       C.VIR_FROM_DOMAIN)


def parse_xml(text: Union[str, bytes], what: str = "domain_definition", *,
              domain: int = C.VIR_FROM_DOMAIN) -> etree._Element:
    """Parse ``text`` safely and return its root element.

    ``what`` names the document in messages: a description such as
    ``"domain_definition"`` is shown in parentheses, a path as it is.
    ``domain`` is the error domain reported for a document that is not well-formed.
    """
    if isinstance(text, str):
        if len(text) > MAX_XML_SIZE:
            raise _too_large(what, len(text))
        if _ENTITY_STR in text:
            raise _entities(what)
        data = text.encode("utf-8", "surrogatepass")
        parser = _parsers.utf8
    elif isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        if len(data) > MAX_XML_SIZE:
            raise _too_large(what, len(data))
        if _ENTITY_BYTES in data:
            raise _entities(what)
        parser = _parsers.native
    else:
        raise DriverError(C.VIR_ERR_INVALID_ARG,
                          f"{_label(what)}: XML must be str or bytes, not {type(text).__name__}")
    if not data:
        raise DriverError(C.VIR_ERR_XML_DETAIL, f"{_label(what)}:1: Document is empty", domain)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        msg = _POSITION.sub("", exc.msg or "not well-formed")
        line, column = exc.position if exc.position else (exc.lineno or 1, 1)
        raise DriverError(C.VIR_ERR_XML_DETAIL,
                          f"{_label(what)}:{line}: {msg}\n{_context(text, line, column)}", domain) from None
    except (ValueError, UnicodeError) as exc:  # e.g. unknown encoding declaration
        raise DriverError(C.VIR_ERR_XML_DETAIL, f"{_label(what)}:1: {exc}", domain) from None
    if root is None:
        raise DriverError(C.VIR_ERR_XML_DETAIL, f"{_label(what)}:1: Document is empty", domain)
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise _entities(what)
    return root


def check_root(root: etree._Element, expected: str, *, domain: int = C.VIR_FROM_XML) -> None:
    """libvirt's ``expecting root element of 'domain', not 'foo'`` check (no namespace allowed)."""
    tag = root.tag
    if tag != expected:
        if isinstance(tag, str) and tag.startswith("{"):
            ns, _, local = tag[1:].partition("}")
            detail = (f"expecting root element of '{expected}' with no namespace, "
                      f"not '{local}' in namespace '{ns}'")
        else:
            detail = f"expecting root element of '{expected}', not '{tag if isinstance(tag, str) else '?'}'"
        raise DriverError(C.VIR_ERR_XML_ERROR, detail, domain)


__all__ = ["MAX_XML_SIZE", "parse_xml", "check_root"]
