"""XML documents of the backend: safe parsing, the domain model, capabilities, test node files.

* :mod:`.safe` - :func:`parse_xml`, the only way the backend parses XML (no entities, no network, 10 MiB cap);
* :mod:`.props` - declarative typed properties bound to a path: how every model reads and writes its tree;
* :mod:`.domain` - :func:`parse_domain` and :class:`DomainDef`, the domain XML model;
* :mod:`.capabilities` - :class:`Capabilities` and :func:`parse_capabilities`;
* :mod:`.node` - libvirt's test-driver node files and the default node.
"""

from .domain import DomainDef, parse_domain
from .safe import MAX_XML_SIZE, check_root, parse_xml

__all__ = ["MAX_XML_SIZE", "DomainDef", "check_root", "parse_domain", "parse_xml"]
