"""Paths of the property mechanism and tree edits that keep libvirt's order and the indentation."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Optional

from lxml import etree

_STEP = re.compile(r"^([A-Za-z_][\w.-]*|\*)(?:\[@([A-Za-z_][\w.:-]*)='([^']*)'\])?$")
_ATTR = re.compile(r"^@([A-Za-z_][\w.:-]*)$")
_INDENT = "  "


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



def step_text(step: tuple[str, Optional[str], Optional[str]]) -> str:
    """One compiled step back as path text."""
    tag, a, v = step
    return tag if a is None else f"{tag}[@{a}='{v}']"
