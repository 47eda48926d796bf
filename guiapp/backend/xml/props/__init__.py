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

from .children import NodeList, XMLChildList
from .fields import (
    AttrListProp,
    BoolProp,
    ChildTagsProp,
    EnumProp,
    FlagProp,
    IntProp,
    ScaledProp,
    StrProp,
    XMLNode,
    XMLProperty,
)
from .tree import XPath, insert_ordered, is_empty, remove_element

__all__ = [
    "XPath", "XMLNode", "XMLProperty", "StrProp", "EnumProp", "IntProp", "BoolProp", "FlagProp", "ScaledProp",
    "AttrListProp", "ChildTagsProp", "XMLChildList", "NodeList", "insert_ordered", "remove_element", "is_empty",
]
