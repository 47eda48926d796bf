"""Nodes and typed properties: values read from and written to a node's element (see the package docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, ClassVar, Generic, Optional, TypeVar, Union, overload

from lxml import etree

from ... import constants as C
from ...errors import DriverError
from .tree import XPath, insert_ordered, remove_element, step_text

T = TypeVar("T")
_MISSING = object()


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
            parent_path = XPath("/".join(step_text(s) for s in self.path.steps[:-1]) or ".")
            order = obj._order()
            parent = parent_path.make(obj.element, order)
            for v in values:
                attrs = {self.path.attr: str(v)}
                if pattr is not None and pval is not None:
                    attrs[pattr] = pval
                insert_ordered(parent, etree.Element(tag, attrs), order.get(parent.tag, ()))
        obj._changed(self.path.top)



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

