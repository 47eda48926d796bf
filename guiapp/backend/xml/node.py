"""libvirt's test-driver node files (``test:///path/to/node.xml``) and the default node.

Format (as libvirt's test driver reads it)::

    <node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
      <cpu>
        <nodes>2</nodes> <sockets>2</sockets> <cores>2</cores> <threads>2</threads>
        <active>16</active> <mhz>1400</mhz> <model>i686</model>
      </cpu>
      <memory>3145728</memory>              <!-- KiB -->
      <domain file='relative/to/node.xml'/>  <!-- or inline: -->
      <domain type='test'>
        ...
        <test:runstate>5</test:runstate>     <!-- a virDomainState number; 5 = shut off -->
        <test:transient/>                    <!-- not persistent -->
      </domain>
    </node>

Like libvirt: domains start *running* unless ``<test:runstate>`` says
otherwise, missing ``<cpu>``/``<memory>`` values take the default node's values,
``<cpu><active>`` defaults to nodes*sockets*cores*threads, and the test
namespace elements are removed from the domain definition.  ``<network>``
children (inline or ``file=``) are the node's virtual networks, active at open;
the default node has libvirt's ``default`` network.  Other children
(``<pool>``, ...) are ignored.

Loading checks every domain (an invalid one fails the load with its error, as a define would) but
completes none: a :class:`NodeDomain` makes its :class:`DomainDef` (libvirt's defaults filled in) on
first use, and has its :class:`DomainFacts` (name, UUID, sizes) from the start, so a node file of
thousands of domains opens and lists without building thousands of definitions (issue 16).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Union

from .. import constants as C
from ..errors import DriverError

if TYPE_CHECKING:  # the XML model and lxml load when a document is parsed: test:///default opens without them
    from lxml import etree

    from .domain import DomainDef
    from .domain_normalize import TopValues
    from .network import NetworkDef

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
_RUNSTATE = f"{{{TEST_NS}}}runstate"
_TRANSIENT = f"{{{TEST_NS}}}transient"
_HASMANAGEDSAVE = f"{{{TEST_NS}}}hasmanagedsave"

_FROM = C.VIR_FROM_TEST


class DomainFacts(NamedTuple):
    """What listing and ``info()`` need of a domain, without its full definition."""

    name: str
    uuid: bytes
    memory_kib: int
    current_memory_kib: int
    vcpus: int
    vcpus_current: int
    os_type: str

    @classmethod
    def of(cls, d: DomainDef) -> DomainFacts:
        return cls(d.name, d.uuid, d.memory_kib, d.current_memory_kib, d.vcpus, d.vcpus_current, d.os_type)

    @classmethod
    def of_checked(cls, root: etree._Element) -> DomainFacts:
        """The facts of a tree :func:`~.domain_normalize.check_domain_tree` accepted (one pass over its top)."""
        from .domain import DomainFields, top_values

        v = top_values(root)
        f = DomainFields
        vcpus = v[f._vcpus]
        cur = v.get(f._vcpus_current)
        return cls(v[f._name], bytes.fromhex(v[f._uuid].replace("-", "")), v[f._memory], v[f._current_memory],
                   vcpus, vcpus if cur is None else cur, (v.get(f._os_type) or "").strip())


class NodeDomain:
    """One ``<domain>`` of a node: checked when the node is loaded (an invalid domain fails the load), its
    :class:`DomainDef` made on first use of :attr:`definition`, so listing a node of thousands of domains
    builds none; :attr:`facts` are there from the start.  The default node's domain is not even parsed
    before its tree is used (:meth:`unparsed`)."""

    __slots__ = ("_definition", "_element", "_text", "facts", "state", "transient", "has_managed_save")

    def __init__(self, definition: Union[DomainDef, etree._Element], state: int = C.VIR_DOMAIN_RUNNING,
                 transient: bool = False, has_managed_save: bool = False, facts: Optional[DomainFacts] = None) -> None:
        """``definition``: a DomainDef, or a ``<domain>`` tree check_domain_tree accepted (``facts``: what it
        returned, else they are read from the tree)."""
        from lxml import etree  # loaded already: the caller parsed a document

        self._definition: Optional[DomainDef]
        self._element: Optional[etree._Element]
        self._text: Optional[str] = None
        if isinstance(definition, etree._Element):
            self._definition, self._element = None, definition
            self.facts = DomainFacts.of_checked(definition) if facts is None else facts
        else:
            self._definition, self._element = definition, None
            self.facts = DomainFacts.of(definition)
        self.state = state  # a VIR_DOMAIN_* state number
        self.transient = transient
        self.has_managed_save = has_managed_save

    @classmethod
    def unparsed(cls, text: str, facts: DomainFacts, state: int = C.VIR_DOMAIN_RUNNING) -> NodeDomain:
        """A domain known to be valid, with its ``facts`` given: ``text`` is parsed and checked on first use
        of :attr:`tree` or :attr:`definition` (the default node: opening it needs no XML at all)."""
        nd = cls.__new__(cls)
        nd._definition, nd._element, nd._text = None, None, text
        nd.facts, nd.state, nd.transient, nd.has_managed_save = facts, state, False, False
        return nd

    def _checked_tree(self) -> etree._Element:
        el = self._element
        if el is None:
            assert self._text is not None
            from .domain_normalize import check_domain_tree
            from .safe import parse_xml

            el = self._element = parse_xml(self._text, "default node", domain=_FROM)
            check_domain_tree(el, "test")
            self._text = None
        return el

    @property
    def definition(self) -> DomainDef:
        """The full definition, completed on first use (libvirt's defaults; the checks ran at load)."""
        d = self._definition
        if d is None:
            from .domain import DomainDef

            d = self._definition = DomainDef.from_checked(self._checked_tree(), hypervisor="test")
            self._element = None
        return d

    @property
    def tree(self) -> etree._Element:
        """The domain's tree: checked, and completed once :attr:`definition` was made."""
        d = self._definition
        if d is not None:
            return d.root
        return self._checked_tree()

    @property
    def built(self) -> bool:
        """Whether :attr:`definition` was made already."""
        return self._definition is not None


class Node:
    """The host a test connection pretends to be, and its domains in document order.

    ``networks`` may be given as a function making them (the default node's, parsed on first use)."""

    def __init__(self, model: str = "i686", memory_kib: int = 3 * 1024 * 1024, cpus: int = 16, mhz: int = 1400,
                 nodes: int = 2, sockets: int = 2, cores: int = 2, threads: int = 2,
                 domains: Optional[list[NodeDomain]] = None, path: Optional[str] = None,
                 networks: Union[list[NetworkDef], Callable[[], list[NetworkDef]], None] = None) -> None:
        self.model, self.memory_kib, self.cpus, self.mhz = model, memory_kib, cpus, mhz
        self.nodes, self.sockets, self.cores, self.threads = nodes, sockets, cores, threads
        self.domains: list[NodeDomain] = [] if domains is None else domains
        self.path = path
        self._networks: Union[list[NetworkDef], Callable[[], list[NetworkDef]]] = (
            [] if networks is None else networks)

    @property
    def networks(self) -> list[NetworkDef]:
        """The node's virtual networks (a node file's are checked at load, see :func:`parse_node`)."""
        nets = self._networks
        if callable(nets):
            nets = self._networks = nets()
        return nets

    def node_info(self) -> list:
        """``virNodeGetInfo``: [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]."""
        return [self.model, self.memory_kib // 1024, self.cpus, self.mhz, self.nodes, self.sockets,
                self.cores, self.threads]


#: The default domain of ``test:///default``, as libvirt's test driver shows it.
DEFAULT_DOMAIN_XML = """<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
"""

#: What listing needs of :data:`DEFAULT_DOMAIN_XML` (tests/backend/xml pin that they agree).
DEFAULT_DOMAIN_FACTS = DomainFacts("test", bytes.fromhex("6695eb01f6a4830479aa97f2502e193f"), 8388608, 2097152,
                                   2, 2, "hvm")


def _default_node_xml() -> str:
    """libvirt's default node as a node file would write it (the host facts are :class:`Node`'s defaults)."""
    from .network import TEST_DEFAULT_NETWORK_XML

    return ("<node>\n"
            "  <cpu><nodes>2</nodes><sockets>2</sockets><cores>2</cores><threads>2</threads>"
            "<active>16</active><mhz>1400</mhz><model>i686</model></cpu>\n"
            "  <memory>3145728</memory>\n"
            + DEFAULT_DOMAIN_XML + TEST_DEFAULT_NETWORK_XML + "</node>\n")


def __getattr__(name: str) -> Any:
    """``DEFAULT_NODE_XML`` is made on first use: it needs the network module."""
    if name == "DEFAULT_NODE_XML":
        return _default_node_xml()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _default_networks() -> list[NetworkDef]:
    from .network import TEST_DEFAULT_NETWORK_XML, parse_network

    return [parse_network(TEST_DEFAULT_NETWORK_XML)]


def default_node() -> Node:
    """A fresh default node (each ``test:///default`` node is its own): libvirt's host facts (:class:`Node`'s
    defaults), its running domain ``test`` and network ``default``, neither parsed before it is used."""
    return Node(domains=[NodeDomain.unparsed(DEFAULT_DOMAIN_XML, DEFAULT_DOMAIN_FACTS)], networks=_default_networks)


def _node_error(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_XML_ERROR, detail, _FROM)


def _read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(10 * 1024 * 1024 + 1)
    except OSError as exc:
        raise _node_error(f"failed to parse xml document '{path}': {exc.strerror or exc} "
                          f"(the {what} must be a readable file)") from None
    return data


def load_node(path: str) -> Node:
    """Read a node file; ``<domain file=...>`` paths are relative to its folder."""
    data = _read_file(path, "node file")
    return parse_node(data, base_dir=os.path.dirname(os.path.abspath(path)), what=path)


def _int_child(cpu: etree._Element, tag: str, default: int) -> int:
    el = cpu.find(tag)
    if el is None:
        return default
    text = (el.text or "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise _node_error(f"invalid node cpu {tag} value '{el.text or ''}': expected a positive integer")
    return int(text)


def parse_node(text: Union[str, bytes], *, base_dir: Optional[str], what: str = "node_definition") -> Node:
    """Parse a ``<node>`` document.  ``base_dir`` resolves ``<domain file=...>`` (None forbids them)."""
    from .safe import check_root, parse_xml

    root = parse_xml(text, what, domain=_FROM)
    check_root(root, "node", domain=_FROM)
    node = Node(path=what if base_dir is not None else None)
    cpu = root.find("cpu")
    if cpu is not None:
        node.nodes = _int_child(cpu, "nodes", node.nodes)
        node.sockets = _int_child(cpu, "sockets", node.sockets)
        node.cores = _int_child(cpu, "cores", node.cores)
        node.threads = _int_child(cpu, "threads", node.threads)
        node.mhz = _int_child(cpu, "mhz", node.mhz)
        most = node.nodes * node.sockets * node.cores * node.threads
        node.cpus = min(_int_child(cpu, "active", most), most)
        model = cpu.findtext("model")
        if model is not None and model.strip():
            node.model = model.strip()[:31]  # libvirt's virNodeInfo.model is 32 bytes
    mem = root.find("memory")
    if mem is not None:
        t = (mem.text or "").strip()
        if not (t.isascii() and t.isdigit()):
            raise _node_error(f"invalid node memory value '{mem.text or ''}': expected KiB as an integer")
        node.memory_kib = int(t)
    from .domain_normalize import check_domain_tree

    for el in root.findall("domain"):  # a list: inline domains are detached from the node as they are read
        node.domains.append(_node_domain(el, base_dir, check_domain_tree))
    seen: set[object] = set()
    for el in root.iterfind("network"):
        net = _node_network(el, base_dir)
        if net.name in seen or net.uuid in seen:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED,
                              f"network '{net.name}' is defined twice in the node file", _FROM)
        seen.update((net.name, net.uuid))
        node.networks.append(net)
    return node


def _node_network(el: etree._Element, base_dir: Optional[str]) -> NetworkDef:
    from .network import NetworkDef, network_from_element
    from .safe import parse_xml

    ref = el.get("file")
    if ref is None:
        return network_from_element(el)
    if base_dir is None:
        raise _node_error(f"<network file='{ref}'/> is not allowed here")
    path = ref if os.path.isabs(ref) else os.path.join(base_dir, ref)
    return NetworkDef(parse_xml(_read_file(path, "network file"), path, domain=_FROM))


def _node_domain(el: etree._Element, base_dir: Optional[str], check: Callable[..., TopValues]) -> NodeDomain:
    """One ``<domain>`` of a node file, checked by ``check`` (:func:`~.domain_normalize.check_domain_tree`,
    imported once per node file by the caller: a node may hold thousands of domains)."""
    from lxml import etree

    ref = el.get("file")
    if ref is not None:
        if base_dir is None:
            raise _node_error(f"<domain file='{ref}'/> is not allowed here")
        from .safe import parse_xml

        path = ref if os.path.isabs(ref) else os.path.join(base_dir, ref)
        dom_root = parse_xml(_read_file(path, "domain file"), path, domain=_FROM)
    else:
        dom_root = el
        dom_root.getparent().remove(el)  # the domain's own document from now on (lxml keeps its namespaces)
        dom_root.tail = None  # the whitespace after </domain> in the node file is not part of the domain
    state = C.VIR_DOMAIN_RUNNING
    transient = managed = False
    for child in list(dom_root):
        tag = child.tag
        if tag == _RUNSTATE:
            t = (child.text or "").strip()
            if not (t.isascii() and t.isdigit()) or not C.VIR_DOMAIN_NOSTATE <= int(t) <= C.VIR_DOMAIN_PMSUSPENDED:
                raise _node_error(f"runstate '{child.text}' out of range: expected a domain state number "
                                  f"0-7 (1 running, 3 paused, 5 shut off)")
            state = int(t)
        elif tag == _TRANSIENT:
            transient = True
        elif tag == _HASMANAGEDSAVE:
            managed = True
        else:
            continue
        prev = child.getprevious()
        if prev is not None:
            prev.tail = child.tail
        else:
            dom_root.text = child.tail
        dom_root.remove(child)
    etree.cleanup_namespaces(dom_root)
    # every check now; libvirt's defaults when the definition is used
    facts = DomainFacts._make(check(dom_root, "test"))
    nd = NodeDomain(dom_root, state, transient, managed, facts)
    if state == C.VIR_DOMAIN_SHUTOFF and transient:
        raise _node_error(f"transient domain '{nd.facts.name}' cannot be shut off in a node file "
                          f"(a transient domain only exists while it runs)")
    return nd


__all__ = ["Node", "NodeDomain", "DomainFacts", "TEST_NS", "DEFAULT_DOMAIN_XML", "DEFAULT_DOMAIN_FACTS",
           "default_node",
           "load_node", "parse_node"]
