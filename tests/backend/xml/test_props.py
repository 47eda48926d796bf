"""The declarative XML property mechanism (guiapp/backend/xml/props.py) on small hand-made models."""

from __future__ import annotations

from typing import Optional

import pytest
from lxml import etree

from guiapp.backend.errors import DriverError
from guiapp.backend.xml.props import (
    AttrListProp,
    BoolProp,
    ChildTagsProp,
    EnumProp,
    FlagProp,
    IntProp,
    ScaledProp,
    StrProp,
    XMLChildList,
    XMLNode,
    XPath,
)

UNITS = {"KiB": 1, "MiB": 1024, None: 1}


def parse_size(value: Optional[str], unit: Optional[str]) -> int:
    return int(value or "0") * UNITS[unit]


class Disk(XMLNode):
    __slots__ = ()
    ORDER = {"disk": ("driver", "source", "target", "readonly")}
    type = EnumProp("@type", ("file", "block"))
    source = StrProp("source/@file")
    target = StrProp("target/@dev")
    bus = StrProp("target/@bus")
    readonly = FlagProp("readonly")


class Dom(XMLNode):
    __slots__ = ("changes",)
    ORDER = {
        "dom": ("name", "memory", "os", "features", "on_crash", "devices"),
        "os": ("type", "loader", "kernel", "initrd", "cmdline", "boot"),
        "devices": ("emulator", "disk", "interface", "graphics"),
    }
    name = StrProp("name")
    kind = EnumProp("@type", ("kvm", "qemu"))
    id = IntProp("@id", 0, 65535)
    memory = ScaledProp("memory", parse_size)
    kernel = StrProp("os/kernel")
    loader = StrProp("os/loader")
    machine = StrProp("os/type/@machine")
    boot_devs = AttrListProp("os/boot/@dev")
    features = ChildTagsProp("features")
    autoport = BoolProp("devices/graphics[@type='vnc']/@autoport")
    vnc_listen = StrProp("devices/graphics[@type='vnc']/listen[@type='address']/@address")
    disks = XMLChildList("devices/disk", Disk)

    def __init__(self, element: etree._Element) -> None:
        super().__init__(element)
        self.changes = 0

    def _changed(self, top: Optional[str] = None) -> None:
        self.changes += 1


DOC = """<dom type='kvm' id='3'>
  <name>a</name>
  <memory unit='MiB'>2</memory>
  <os>
    <type machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <!-- a comment the model must keep -->
  <devices>
    <disk type='file'>
      <source file='/a.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</dom>"""


def dom(text: str = DOC) -> Dom:
    return Dom(etree.fromstring(text))


def text(d: XMLNode) -> str:
    return etree.tostring(d.element, encoding="unicode")


def test_read_scalars():
    d = dom()
    assert (d.name, d.kind, d.id, d.memory, d.machine) == ("a", "kvm", 3, 2048, "pc")
    assert d.kernel is None and d.loader is None and d.autoport is None
    assert d.boot_devs == ["hd"]
    assert d.features == set()


def test_class_access_gives_the_descriptor():
    assert isinstance(Dom.name, StrProp)
    assert Dom.name.name == "name" and Dom.disks.name == "disks"


def test_write_creates_path_in_libvirt_order_with_indentation():
    d = dom()
    d.kernel = "/vmlinuz"
    d.loader = "/bios.bin"  # libvirt writes <loader> before <kernel>
    assert d.kernel == "/vmlinuz" and d.loader == "/bios.bin"
    assert d.changes == 2
    assert text(d) == DOC.replace(
        "<type machine='pc'>hvm</type>\n",
        "<type machine='pc'>hvm</type>\n    <loader>/bios.bin</loader>\n    <kernel>/vmlinuz</kernel>\n",
    ).replace("'", '"')


def test_none_removes_and_prunes_emptied_path():
    d = dom()
    before = text(d)
    d.kernel = "/k"
    d.kernel = None
    assert text(d) == before  # byte-identical again, indentation included
    d.vnc_listen = "127.0.0.1"
    assert d.element.find("devices/graphics").get("type") == "vnc"  # predicate attribute written
    assert d.vnc_listen == "127.0.0.1"
    d.vnc_listen = None  # <listen type='address'> and <graphics type='vnc'> only held the path: pruned
    assert d.element.find("devices/graphics") is None
    assert text(d) == before


def test_attribute_removal_keeps_element_with_other_content():
    d = dom()
    d.machine = None
    assert d.element.find("os/type").text == "hvm" and d.machine is None
    d.id = None
    assert "id" not in d.element.attrib


def test_int_property_checks_both_ways():
    d = dom(DOC.replace("id='3'", "id='x3'"))
    with pytest.raises(DriverError) as e:
        _ = d.id
    assert e.value.code == 27 and "@id" in str(e.value) and "x3" in str(e.value)
    with pytest.raises(DriverError) as e:
        d.id = 70000
    assert e.value.code == 8
    assert d.element.get("id") == "x3"  # a refused write loses nothing


def test_enum_refuses_unknown_values_on_write():
    d = dom()
    with pytest.raises(DriverError) as e:
        d.kind = "vmware' evil='1"
    assert e.value.code == 8 and "kvm, qemu" in str(e.value)
    assert d.kind == "kvm"


def test_bool_words():
    d = dom()
    d.autoport = True
    assert d.element.find("devices/graphics").get("autoport") == "yes"
    d.autoport = False
    assert d.autoport is False
    d.element.find("devices/graphics").set("autoport", "maybe")
    with pytest.raises(DriverError):
        _ = d.autoport


def test_hostile_strings_are_attribute_values_not_markup():
    d = dom()
    evil = "a'/><evil x='1"
    d.machine = evil
    d.kernel = "</kernel><evil/>"
    again = Dom(etree.fromstring(text(d)))
    assert again.machine == evil and again.kernel == "</kernel><evil/>"
    assert again.element.find(".//evil") is None


def test_scaled_size_writes_canonical_unit():
    d = dom()
    d.memory = 4096
    el = d.element.find("memory")
    assert (el.text, el.get("unit"), d.memory) == ("4096", "KiB", 4096)
    with pytest.raises(DriverError):
        d.memory = -1


def test_attr_list_replace():
    d = dom()
    d.boot_devs = ["cdrom", "hd"]
    assert d.boot_devs == ["cdrom", "hd"]
    d.kernel = "/k"  # <kernel> goes before the <boot> elements
    assert [c.tag for c in d.element.find("os")] == ["type", "kernel", "boot", "boot"]
    d.boot_devs = []
    assert d.boot_devs == [] and d.element.find("os/boot") is None


def test_child_tags_set_keeps_content_of_kept_tags():
    d = dom()
    d.features = {"acpi"}
    assert [c.tag for c in d.element] == ["name", "memory", "os", "features", etree.Comment, "devices"]
    d.element.find("features/acpi").set("state", "on")
    d.features = ["acpi", "apic"]
    assert d.features == {"acpi", "apic"} and d.element.find("features/acpi").get("state") == "on"
    d.features = set()
    assert d.element.find("features") is None


def test_child_list_live_view_and_ordered_append():
    d = dom()
    disks = d.disks
    assert len(disks) == 1 and disks[0].source == "/a.img" and disks[0].bus == "virtio"
    new = d.disks.append(etree.Element("disk", type="block"))
    new.target = "vdb"
    new.readonly = True
    assert new.readonly is True and [x.target for x in d.disks] == ["vda", "vdb"]
    assert len(disks) == 2  # the view follows the tree
    d.element.find("devices").insert(0, etree.Element("emulator"))
    third = d.disks.append(Disk(etree.Element("disk", type="file"), d))
    assert [c.tag for c in d.element.find("devices")] == ["emulator", "disk", "disk", "disk"]
    d.disks.remove(third)
    d.disks.remove(d.disks[0])
    assert [x.target for x in d.disks] == ["vdb"]
    with pytest.raises(ValueError):
        d.disks.remove(third)


def test_child_writes_reach_the_owner_and_use_the_child_order():
    d = dom()
    disk = d.disks[0]
    n = d.changes
    disk.readonly = True
    disk.element.remove(disk.element.find("source"))
    disk.source = "/b.img"  # <source> before <target>, per Disk.ORDER
    assert [c.tag for c in disk.element] == ["source", "target", "readonly"]
    assert d.changes == n + 2


def test_path_grammar_is_checked():
    with pytest.raises(ValueError):
        XPath("a//b")
    with pytest.raises(ValueError):
        XPath("a/@b/c")
    with pytest.raises(ValueError):
        FlagProp("@x")
    p = XPath("devices/graphics[@type='vnc']/@port")
    assert p.steps == (("devices", None, None), ("graphics", "type", "vnc")) and p.attr == "port"
