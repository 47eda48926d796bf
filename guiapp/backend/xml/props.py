"""Declarative XML properties: typed fields bound to a path in an lxml tree, read and written on access.

The tree is the only source of truth.  A model class derives from :class:`XMLNode`
(which wraps one element) and declares its fields as class attributes::

    class Disk(XMLNode):
        ORDER = {"disk": ("driver", "source", "target", "readonly")}
        type = EnumProp("@type", DISK_TYPES)
        source = StrProp("source/@file")
        bus = StrProp("target/@bus")
        readonly = FlagProp("readonly")

Reading a property looks the path up (lxml's ``find``, compiled paths cached by
lxml) and converts the text; writing converts back, creates the missing
elements of the path (inserted where libvirt's element order puts them, see
:attr:`XMLNode.ORDER`, with the document's indentation), and ``None`` removes
the attribute or element (and the elements of the path it leaves empty).
After a write the node's :meth:`XMLNode._changed` hook runs (models drop
cached text there).

Path grammar (a subset of XPath that lxml's ElementPath runs): steps separated
by ``/``; a step is a tag, optionally with one ``[@attr='value']`` predicate
(created elements get that attribute); the last step may be ``@attr``.  A path
without ``@attr`` addresses the text of its last element.  ``.`` alone is the
node's own element.

Lists: :class:`XMLChildList` gives a live sequence of child nodes (devices)
with ordered :meth:`NodeList.append`/:meth:`NodeList.remove`;
:class:`AttrListProp` reads and replaces a repeated attribute
(``<boot dev=.../>`` × n); :class:`ChildTagsProp` the set of child tags of one
element (``<features>``).

Modelled on virt-manager's ``virtinst/xmlbuilder.py`` (``XMLProperty``,
``XMLChildProperty``, ``_XML_PROP_ORDER``), smaller and typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Callable, ClassVar, Generic, Optional, TypeVar, Union, overload

from lxml import etree

from .. import constants as C
from ..errors import DriverError

T = TypeVar("T")
N = TypeVar("N", bound="XMLNode")

_STEP = re.compile(r"^([A-Za-z_][\w.-]*|\*)(?:\[@([A-Za-z_][\w.:-]*)='([^']*)'\])?$")
_ATTR = re.compile(r"^@([A-Za-z_][\w.:-]*)$")
_INDENT = "  "
_MISSING = object()


# ---------------------------------------------------------------------------
# paths

class XPath:
    """A compiled property path: element steps, then an optional attribute."""

    __slots__ = ("text", "steps", "attr", "elem_path", "top")

    def __init__(self, text: str) -> None:
        self.text = text
        parts = [] if text in (".", "") else text.split("/")
        attr: Optional[str] = None
        if parts and parts[-1].startswith("@"):
            m = _ATTR.match(parts.pop())
            if m is None:
                raise ValueError(f"bad attribute step in XML property path {text!r}")
            attr = m.group(1)
        steps: list[tuple[str, Optional[str], Optional[str]]] = []
        for p in parts:
            m = _STEP.match(p)
            if m is None:
                raise ValueError(f"bad step {p!r} in XML property path {text!r} (tag or tag[@a='v'])")
            steps.append((m.group(1), m.group(2), m.group(3)))
        self.steps = tuple(steps)
        self.attr = attr
        #: the element part, as lxml's find() takes it (None: the node's own element)
        self.elem_path: Optional[str] = "/".join(parts) if parts else None
        #: the child of the node's element a write changes ("" for the element's own attributes/text)
        self.top: str = steps[0][0] if steps else ""

    def find(self, element: etree._Element) -> Optional[etree._Element]:
        """The element the path ends on (before ``@attr``), or None (the first match of each step)."""
        el: Optional[etree._Element] = element
        for tag, pattr, pval in self.steps:
            if pattr is None:
                el = next(el.iterchildren(tag), None)  # type: ignore[union-attr]
            else:
                el = next((c for c in el.iterchildren(tag) if c.get(pattr) == pval), None)  # type: ignore[union-attr]
            if el is None:
                return None
        return el

    def find_all(self, element: etree._Element) -> list[etree._Element]:
        """Every element the path ends on (all matches of the last step under the first match of the others)."""
        steps = self.steps
        if not steps:
            return [element]
        parent: Optional[etree._Element] = element
        for tag, pattr, pval in steps[:-1]:
            if pattr is None:
                parent = next(parent.iterchildren(tag), None)  # type: ignore[union-attr]
            else:
                parent = next((c for c in parent.iterchildren(tag)  # type: ignore[union-attr]
                               if c.get(pattr) == pval), None)
            if parent is None:
                return []
        tag, pattr, pval = steps[-1]
        if pattr is None:
            return list(parent.iterchildren(tag))  # type: ignore[union-attr]
        return [c for c in parent.iterchildren(tag) if c.get(pattr) == pval]  # type: ignore[union-attr]

    def read(self, element: etree._Element) -> Optional[str]:
        """The raw text (attribute value or element text); None when absent (or an element without text)."""
        el = self.find(element)
        if el is None:
            return None
        if self.attr is not None:
            return el.get(self.attr)
        return el.text

    def make(self, element: etree._Element, order: Mapping[str, Sequence[str]]) -> etree._Element:
        """The element the path ends on, creating missing steps (in ``order``, indented)."""
        el = element
        for tag, pattr, pval in self.steps:
            if tag == "*":
                raise ValueError(f"cannot create the wildcard step of {self.text!r}")
            nxt = None
            for child in el:
                if child.tag == tag and (pattr is None or child.get(pattr) == pval):
                    nxt = child
                    break
            if nxt is None:
                nxt = etree.Element(tag, {pattr: pval} if pattr is not None and pval is not None else {})
                insert_ordered(el, nxt, order.get(el.tag, ()))
            el = nxt
        return el

    def write(self, element: etree._Element, raw: Optional[str], order: Mapping[str, Sequence[str]]) -> None:
        """Write ``raw`` (None removes the attribute/element and prunes emptied path elements)."""
        if raw is None:
            el = self.find(element)
            if el is None:
                return
            if self.attr is not None:
                el.attrib.pop(self.attr, None)
                self.prune(element, el, len(self.steps))
            elif el is not element:
                parent = el.getparent()
                remove_element(el)
                self.prune(element, parent, len(self.steps) - 1)
            else:
                el.text = None
            return
        el = self.make(element, order)
        if self.attr is not None:
            if el.get(self.attr) != raw:
                el.set(self.attr, raw)
        elif el.text != raw:
            el.text = raw

    def prune(self, top: etree._Element, el: Optional[etree._Element], depth: int) -> None:
        """Remove ``el`` (the element of step ``depth``) and its ancestors below ``top`` while empty.

        An element holding only its step's predicate attribute counts as empty.
        """
        while el is not None and el is not top and depth > 0:
            _tag, pattr, _pval = self.steps[depth - 1]
            if len(el) or (el.text or "").strip() or any(a != pattr for a in el.attrib):
                return
            parent = el.getparent()
            remove_element(el)
            el, depth = parent, depth - 1


def is_empty(el: etree._Element) -> bool:
    """No attributes, no children, no text but whitespace."""
    return not len(el.attrib) and not len(el) and not (el.text or "").strip()


# ---------------------------------------------------------------------------
# tree edits that keep the document's two-space indentation

def _depth(el: etree._Element) -> int:
    n = 0
    p = el.getparent()
    while p is not None:
        n += 1
        p = p.getparent()
    return n


def insert_ordered(parent: etree._Element, child: etree._Element, order: Sequence[str] = ()) -> None:
    """Insert ``child`` after the last sibling of the same or an earlier rank in ``order``.

    A tag not in ``order`` goes after the last sibling with its tag, or at the end.
    Indentation follows the parent's (two spaces per level), so the text stays formatted.
    """
    tag = child.tag
    index = len(parent)
    if tag in order:
        rank = {t: i for i, t in enumerate(order)}
        mine = rank[tag]
        index = 0
        for i, sib in enumerate(parent):
            r = rank.get(sib.tag) if isinstance(sib.tag, str) else None
            if r is not None and r <= mine:
                index = i + 1
    else:
        for i, sib in enumerate(parent):
            if sib.tag == tag:
                index = i + 1
    _insert_indented(parent, index, child)


def _insert_indented(parent: etree._Element, index: int, child: etree._Element) -> None:
    pretty = not (parent.text or "").strip() and (parent.text is not None or not len(parent))
    if not pretty:
        parent.insert(index, child)
        return
    depth = _depth(parent)
    inner = "\n" + _INDENT * (depth + 1)
    outer = "\n" + _INDENT * depth
    etree.indent(child, space=_INDENT, level=depth + 1)
    if not len(parent):
        parent.text = inner
        child.tail = outer
    elif index == 0:
        child.tail = parent.text
        parent.text = inner
    else:
        prev = parent[index - 1]
        child.tail = prev.tail
        prev.tail = inner
    parent.insert(index, child)


def remove_element(el: etree._Element) -> None:
    """Remove ``el`` keeping the indentation of its neighbours (lxml drops the tail with it)."""
    parent = el.getparent()
    if parent is None:
        return
    prev = el.getprevious()
    if prev is not None:
        prev.tail = el.tail
    else:
        parent.text = el.tail
    parent.remove(el)


# ---------------------------------------------------------------------------
# nodes

class XMLNode:
    """An object wrapping one element; its :class:`XMLProperty` fields read and write that element."""

    __slots__ = ("element", "_owner")

    #: libvirt's child element order, per parent tag (used when a write creates an element)
    ORDER: ClassVar[Mapping[str, Sequence[str]]] = {}

    def __init__(self, element: etree._Element, owner: Optional[XMLNode] = None) -> None:
        self.element = element
        self._owner = owner

    def _changed(self, top: Optional[str] = None) -> None:
        """Called after every write with the child of this element it changed ("": the element itself,
        None: unknown); passes the news up to the owner (as the owner's child holding this element)."""
        owner = self._owner
        if owner is not None:
            el = self.element
            parent = el.getparent()
            while parent is not None and parent is not owner.element:
                el, parent = parent, parent.getparent()
            owner._changed(el.tag if parent is not None else None)

    def _values(self) -> Optional[dict[Any, Any]]:
        """A store for values read (keyed by property), emptied by :meth:`_changed`; None: read every time.

        Models that parse many documents and read a few fields often (DomainDef) return one; after
        editing the tree directly they must be told (DomainDef.refresh()).
        """
        return None

    def _order(self) -> Mapping[str, Sequence[str]]:
        """The element order for writes through this node (its class's, then its owner's)."""
        if self._owner is None:
            return self.ORDER
        return {**self._owner._order(), **self.ORDER}


def _xml_error(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_XML_ERROR, detail, C.VIR_FROM_DOMAIN)


def _arg_error(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_INVALID_ARG, detail, C.VIR_FROM_DOMAIN)


class XMLProperty(Generic[T]):
    """A typed field at ``path`` of a node's element; subclasses convert text <-> value."""

    __slots__ = ("path", "name", "doc")

    def __init__(self, path: str, doc: str = "") -> None:
        self.path = XPath(path)
        self.name = path
        self.doc = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> XMLProperty[T]: ...

    @overload
    def __get__(self, obj: XMLNode, owner: type) -> T: ...

    def __get__(self, obj: Optional[XMLNode], owner: type) -> Union[T, XMLProperty[T]]:
        if obj is None:
            return self
        store = obj._values()
        if store is None:
            return self.load(obj)
        value = store.get(self, _MISSING)
        if value is _MISSING:
            value = store[self] = self.load(obj)
        return value

    def load(self, obj: XMLNode) -> T:
        """Read the value from the tree (no store)."""
        return self.decode(self.path.read(obj.element))

    def __set__(self, obj: XMLNode, value: T) -> None:
        self.path.write(obj.element, self.encode(value), obj._order())
        obj._changed(self.path.top)

    def decode(self, raw: Optional[str]) -> T:
        """Raw text (None: absent) -> value."""
        raise NotImplementedError

    def encode(self, value: T) -> Optional[str]:
        """Value -> raw text (None: remove)."""
        raise NotImplementedError

    def where(self) -> str:
        return f"{self.path.text} ({self.name})" if self.name != self.path.text else self.path.text


class StrProp(XMLProperty[Optional[str]]):
    """Text or attribute as a string (None when absent; writing None removes it)."""

    __slots__ = ()

    def decode(self, raw: Optional[str]) -> Optional[str]:
        return raw

    def encode(self, value: Optional[str]) -> Optional[str]:
        return None if value is None else str(value)


class EnumProp(XMLProperty[Optional[str]]):
    """A string from a fixed vocabulary; reading an unknown value keeps it, writing one is refused."""

    __slots__ = ("values",)

    def __init__(self, path: str, values: Iterable[str], doc: str = "") -> None:
        super().__init__(path, doc)
        self.values = frozenset(values)

    def decode(self, raw: Optional[str]) -> Optional[str]:
        return raw

    def encode(self, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in self.values:
            raise _arg_error(f"invalid value '{value}' for {self.where()}: expected one of "
                             f"{', '.join(sorted(self.values))}")
        return value


class IntProp(XMLProperty[Optional[int]]):
    """A decimal integer in ``[lo, hi]``; unparsable text reads as an XML error naming the path."""

    __slots__ = ("lo", "hi")

    def __init__(self, path: str, lo: int = -(2 ** 63), hi: int = 2 ** 64 - 1, doc: str = "") -> None:
        super().__init__(path, doc)
        self.lo, self.hi = lo, hi

    def decode(self, raw: Optional[str]) -> Optional[int]:
        if raw is None:
            return None
        try:
            n = int(raw.strip(), 10)
        except ValueError:
            raise _xml_error(f"cannot parse {self.where()} '{raw}': expected an integer in "
                             f"{self.lo}-{self.hi}") from None
        if not self.lo <= n <= self.hi:
            raise _xml_error(f"{self.where()} {n} out of range (expected {self.lo}-{self.hi})")
        return n

    def encode(self, value: Optional[int]) -> Optional[str]:
        if value is None:
            return None
        n = int(value)
        if not self.lo <= n <= self.hi:
            raise _arg_error(f"{self.where()} {n} out of range (expected {self.lo}-{self.hi})")
        return str(n)


class BoolProp(XMLProperty[Optional[bool]]):
    """A two-word boolean (``yes``/``no`` by default, ``on``/``off`` with ``words=("on", "off")``)."""

    __slots__ = ("true", "false")

    def __init__(self, path: str, words: tuple[str, str] = ("yes", "no"), doc: str = "") -> None:
        super().__init__(path, doc)
        self.true, self.false = words

    def decode(self, raw: Optional[str]) -> Optional[bool]:
        if raw is None:
            return None
        if raw == self.true:
            return True
        if raw == self.false:
            return False
        raise _xml_error(f"invalid value '{raw}' for {self.where()}: expected '{self.true}' or '{self.false}'")

    def encode(self, value: Optional[bool]) -> Optional[str]:
        return None if value is None else (self.true if value else self.false)


class FlagProp(XMLProperty[bool]):
    """True when the element exists (``<readonly/>``); writing False removes it."""

    __slots__ = ()

    def __init__(self, path: str, doc: str = "") -> None:
        super().__init__(path, doc)
        if self.path.attr is not None or self.path.elem_path is None:
            raise ValueError(f"FlagProp needs an element path, not {path!r}")

    def load(self, obj: XMLNode) -> bool:
        return self.path.find(obj.element) is not None

    def decode(self, raw: Optional[str]) -> bool:
        return raw is not None

    def encode(self, value: bool) -> Optional[str]:
        return "" if value else None

    def __set__(self, obj: XMLNode, value: bool) -> None:
        if value:
            self.path.make(obj.element, obj._order())
        else:
            self.path.write(obj.element, None, obj._order())
        obj._changed(self.path.top)


class ScaledProp(XMLProperty[Optional[int]]):
    """A size with a unit attribute beside it (``<memory unit='MiB'>512</memory>``), read in ``unit``.

    ``parse(value, unit) -> int`` converts what the document says; writes store the value
    with ``unit_attr`` set to ``unit`` (libvirt's canonical form, e.g. KiB).
    """

    __slots__ = ("unit_attr", "unit", "parse")

    def __init__(self, path: str, parse: Callable[[Optional[str], Optional[str]], int], *,
                 unit: str = "KiB", unit_attr: str = "unit", doc: str = "") -> None:
        super().__init__(path, doc)
        if self.path.attr is not None:
            raise ValueError(f"ScaledProp needs an element path (the text is the number), not {path!r}")
        self.unit_attr, self.unit, self.parse = unit_attr, unit, parse

    def load(self, obj: XMLNode) -> Optional[int]:
        el = self.path.find(obj.element)
        if el is None:
            return None
        return self.parse(el.text, el.get(self.unit_attr))

    def decode(self, raw: Optional[str]) -> Optional[int]:
        return None if raw is None else self.parse(raw, self.unit)

    def encode(self, value: Optional[int]) -> Optional[str]:
        if value is None:
            return None
        n = int(value)
        if n < 0:
            raise _arg_error(f"{self.where()} must not be negative, not {n}")
        return str(n)

    def __set__(self, obj: XMLNode, value: Optional[int]) -> None:
        raw = self.encode(value)
        order = obj._order()
        self.path.write(obj.element, raw, order)
        if raw is not None:
            el = self.path.make(obj.element, order)
            if el.get(self.unit_attr) != self.unit:
                el.set(self.unit_attr, self.unit)
        obj._changed(self.path.top)


class AttrListProp(XMLProperty[list[str]]):
    """One attribute of every element at a path (``os/boot/@dev``); writing replaces those elements."""

    __slots__ = ()

    def __init__(self, path: str, doc: str = "") -> None:
        super().__init__(path, doc)
        if self.path.attr is None or not self.path.steps:
            raise ValueError(f"AttrListProp needs an element/@attr path, not {path!r}")

    def __get__(self, obj: Optional[XMLNode], owner: type) -> Any:
        value = super().__get__(obj, owner)
        return value if obj is None else list(value)  # type: ignore[arg-type]  # a copy: the stored list stays as read

    def load(self, obj: XMLNode) -> list[str]:
        attr = self.path.attr
        return [v for el in self.path.find_all(obj.element) if (v := el.get(attr)) is not None]

    def __set__(self, obj: XMLNode, values: Iterable[str]) -> None:
        values = list(values)
        for el in self.path.find_all(obj.element):
            parent = el.getparent()
            remove_element(el)
            self.path.prune(obj.element, parent, len(self.path.steps) - 1)
        if values:
            tag, pattr, pval = self.path.steps[-1]
            parent_path = XPath("/".join(self._step_text(s) for s in self.path.steps[:-1]) or ".")
            order = obj._order()
            parent = parent_path.make(obj.element, order)
            for v in values:
                attrs = {self.path.attr: str(v)}
                if pattr is not None and pval is not None:
                    attrs[pattr] = pval
                insert_ordered(parent, etree.Element(tag, attrs), order.get(parent.tag, ()))
        obj._changed(self.path.top)

    @staticmethod
    def _step_text(step: tuple[str, Optional[str], Optional[str]]) -> str:
        tag, a, v = step
        return tag if a is None else f"{tag}[@{a}='{v}']"


class ChildTagsProp(XMLProperty[set[str]]):
    """The set of child element tags of the element at a path (``<features><acpi/><apic/>``).

    Writing keeps the children whose tag stays (with their content), removes the others, and
    appends empty elements for new tags; an empty set removes the element.
    """

    __slots__ = ()

    def __get__(self, obj: Optional[XMLNode], owner: type) -> Any:
        value = super().__get__(obj, owner)
        return value if obj is None else set(value)  # type: ignore[arg-type]  # a copy: the stored set stays as read

    def load(self, obj: XMLNode) -> set[str]:
        el = self.path.find(obj.element)
        if el is None:
            return set()
        return {c.tag for c in el if isinstance(c.tag, str)}

    def __set__(self, obj: XMLNode, tags: Iterable[str]) -> None:
        want = list(dict.fromkeys(tags))
        order = obj._order()
        if not want:
            self.path.write(obj.element, None, order)
            obj._changed(self.path.top)
            return
        el = self.path.make(obj.element, order)
        for c in list(el):
            if isinstance(c.tag, str) and c.tag not in want:
                remove_element(c)
        have = {c.tag for c in el}
        for t in want:
            if t not in have:
                insert_ordered(el, etree.Element(t), order.get(el.tag, ()))
        obj._changed(self.path.top)


# ---------------------------------------------------------------------------
# child node lists

class NodeList(Sequence[N]):
    """A live view of the child nodes at one path: reads the tree on every access."""

    __slots__ = ("_owner", "_prop")

    def __init__(self, owner: XMLNode, prop: XMLChildList[N]) -> None:
        self._owner = owner
        self._prop = prop

    def _elements(self) -> list[etree._Element]:
        return [n.element for n in self._nodes()]

    def _nodes(self) -> list[N]:
        """The wrapped children (kept in the owner's store when it has one, until its next write)."""
        owner, prop = self._owner, self._prop
        store = owner._values()
        nodes: Optional[list[N]] = store.get(prop) if store is not None else None
        if nodes is None:
            nodes = [prop.wrap(owner, e) for e in prop.path.find_all(owner.element)]
            if store is not None:
                store[prop] = nodes
        return nodes

    def __len__(self) -> int:
        return len(self._nodes())

    @overload
    def __getitem__(self, i: int) -> N: ...

    @overload
    def __getitem__(self, i: slice) -> list[N]: ...

    def __getitem__(self, i: Union[int, slice]) -> Union[N, list[N]]:
        return self._nodes()[i]

    def __iter__(self) -> Iterator[N]:
        return iter(list(self._nodes()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return repr(list(self))

    def append(self, element: Union[etree._Element, N]) -> N:
        """Insert a new child (an element or a node) in libvirt's order: after the last of its kind."""
        el = element.element if isinstance(element, XMLNode) else element
        steps = self._prop.path.steps
        parent_path = XPath("/".join(AttrListProp._step_text(s) for s in steps[:-1]) or ".")
        order = self._owner._order()
        parent = parent_path.make(self._owner.element, order)
        same = [c for c in parent if c.tag == el.tag]
        if same:
            _insert_indented(parent, parent.index(same[-1]) + 1, el)
        else:
            insert_ordered(parent, el, order.get(parent.tag, ()))
        self._owner._changed(self._prop.path.top)
        return self._prop.wrap(self._owner, el)

    def remove(self, node: Union[etree._Element, N]) -> None:
        """Remove a child (node or element); the parent stays even when emptied."""
        el = node.element if isinstance(node, XMLNode) else node
        if el not in self._elements():
            raise ValueError("not an element of this list")
        remove_element(el)
        self._owner._changed(self._prop.path.top)


class XMLChildList(Generic[N]):
    """Child nodes at ``path`` (e.g. ``devices/disk``), each wrapped by ``factory(element, owner)``."""

    __slots__ = ("path", "factory", "name")

    def __init__(self, path: str, factory: Callable[[etree._Element, Any], N]) -> None:
        self.path = XPath(path)
        if self.path.attr is not None or not self.path.steps:
            raise ValueError(f"XMLChildList needs an element path, not {path!r}")
        self.factory = factory
        self.name = path

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def wrap(self, owner: XMLNode, el: etree._Element) -> N:
        return self.factory(el, owner)

    @overload
    def __get__(self, obj: None, owner: type) -> XMLChildList[N]: ...

    @overload
    def __get__(self, obj: XMLNode, owner: type) -> NodeList[N]: ...

    def __get__(self, obj: Optional[XMLNode], owner: type) -> Union[NodeList[N], XMLChildList[N]]:
        if obj is None:
            return self
        return NodeList(obj, self)


__all__ = [
    "XPath", "XMLNode", "XMLProperty", "StrProp", "EnumProp", "IntProp", "BoolProp", "FlagProp", "ScaledProp",
    "AttrListProp", "ChildTagsProp", "XMLChildList", "NodeList", "insert_ordered", "remove_element", "is_empty",
]
