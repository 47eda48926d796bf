"""libvirt's RelaxNG schemas (``VIR_DOMAIN_DEFINE_VALIDATE``, ``VIR_DOMAIN_START_VALIDATE``).

libvirt validates a document against ``/usr/share/libvirt/schemas/<name>.rng`` (Debian package ``libvirt0``)
when asked to, before it parses it, and reports ``VIR_ERR_XML_INVALID_SCHEMA`` from ``VIR_FROM_XML`` with
libxml2's messages, one a line. lxml is libxml2, so the messages are the same. Each schema is loaded once,
on first use (~0.3 s for domain.rng), and is trusted system data: its ``include`` files are read by libxml2.
"""

from __future__ import annotations

import os
import threading
from typing import Union

from lxml import etree

from .. import constants as C
from ..errors import DriverError
from .safe import parse_xml

#: where Debian (and libvirt's default prefix) installs the schemas
SCHEMA_DIR = "/usr/share/libvirt/schemas"

_lock = threading.Lock()  # loads, and validations: a RelaxNG object keeps its error log on itself
_loaded: dict[str, etree.RelaxNG] = {}


def schema_path(name: str) -> str:
    return os.path.join(SCHEMA_DIR, f"{name}.rng")


def _schema(name: str) -> etree.RelaxNG:
    schema = _loaded.get(name)
    if schema is None:
        path = schema_path(name)
        if not os.path.isfile(path):
            raise DriverError(C.VIR_ERR_INTERNAL_ERROR,
                              f"Unable to find schema '{path}': validating XML needs libvirt's RelaxNG schemas "
                              f"(Debian package libvirt0)", C.VIR_FROM_XML)
        try:
            schema = etree.RelaxNG(file=path)
        except (etree.RelaxNGParseError, OSError) as e:
            raise DriverError(C.VIR_ERR_INTERNAL_ERROR, f"Unable to create RNG parser for {path}: {e}",
                              C.VIR_FROM_XML) from None
        _loaded[name] = schema
    return schema


def validate(xml: Union[str, bytes], name: str = "domain", what: str = "domain_definition") -> None:
    """Raise ``VIR_ERR_XML_INVALID_SCHEMA`` when ``xml`` does not validate against ``<name>.rng``.

    A document that is not well-formed fails with the parser's error, as in libvirt.
    """
    root = parse_xml(xml, what)
    with _lock:
        schema = _schema(name)
        if schema.validate(root):
            return
        lines = [e.message for e in schema.error_log]
    detail = f"Unable to validate doc against {schema_path(name)}\n" + "".join(f"{m}\n" for m in lines)
    raise DriverError(C.VIR_ERR_XML_INVALID_SCHEMA, detail, C.VIR_FROM_XML)


__all__ = ["validate", "schema_path", "SCHEMA_DIR"]
