"""XML documents of the backend: safe parsing, the domain model, capabilities, test node files.

* :mod:`.safe` - :func:`parse_xml`, the only way the backend parses XML (no entities, no network, 10 MiB cap);
* :mod:`.props` - declarative typed properties bound to a path: how every model reads and writes its tree;
* :mod:`.domain` - :func:`parse_domain` and :class:`DomainDef`, the domain XML model;
* :mod:`.capabilities` - :class:`Capabilities` and :func:`parse_capabilities`;
* :mod:`.node` - libvirt's test-driver node files and the default node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .domain import DomainDef, parse_domain
    from .safe import MAX_XML_SIZE, check_root, parse_xml

__all__ = ["MAX_XML_SIZE", "DomainDef", "check_root", "parse_domain", "parse_xml"]


def __getattr__(name: str) -> Any:
    """Everything loads on first use: importing a submodule (:mod:`.node`, :mod:`.escape`) loads neither the
    domain model nor lxml (:mod:`.safe`)."""
    if name in ("DomainDef", "parse_domain"):
        from . import domain
        return getattr(domain, name)
    if name in ("MAX_XML_SIZE", "check_root", "parse_xml"):
        from . import safe
        return getattr(safe, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
