"""XML documents of the backend: safe parsing, the domain model, capabilities, test node files.

* :mod:`.safe` - :func:`parse_xml`, the only way the backend parses XML (no entities, no network, 10 MiB cap);
* :mod:`.props` - declarative typed properties bound to a path: how every model reads and writes its tree;
* :mod:`.domain` - :func:`parse_domain` and :class:`DomainDef`, the domain XML model;
* :mod:`.capabilities` - :class:`Capabilities` and :func:`parse_capabilities`;
* :mod:`.node` - libvirt's test-driver node files and the default node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .safe import MAX_XML_SIZE, check_root, parse_xml

if TYPE_CHECKING:
    from .domain import DomainDef, parse_domain

__all__ = ["MAX_XML_SIZE", "DomainDef", "check_root", "parse_domain", "parse_xml"]


def __getattr__(name: str) -> Any:
    """The domain model loads on first use: importing :mod:`.safe` or :mod:`.escape` must not load it."""
    if name in ("DomainDef", "parse_domain"):
        from . import domain
        return getattr(domain, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
