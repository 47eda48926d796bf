"""Lists of child nodes (devices): a live, ordered view of the elements at one path."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Callable, Generic, Optional, TypeVar, Union, overload

from lxml import etree

from .fields import XMLNode
from .tree import XPath, _insert_indented, insert_ordered, remove_element, step_text

N = TypeVar("N", bound=XMLNode)


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
        parent_path = XPath("/".join(step_text(s) for s in steps[:-1]) or ".")
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

