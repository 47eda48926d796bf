"""Snapshots through the public API: guiapp's test driver against Debian's libvirt 9.0 test driver.

Every scenario runs the same calls on both ``test:///default`` connections and compares what comes back
(names, tree, states, error codes); creation times and generated names are replaced by placeholders.
"""

from __future__ import annotations

import gc
from types import ModuleType
from typing import Any, Callable

import pytest
from helpers import real_libvirt
from lxml import etree

import guiapp.backend as guiapp_libvirt

XML = "<domainsnapshot><name>{}</name>{}</domainsnapshot>"


@pytest.fixture(scope="module")
def libvirt_mod() -> ModuleType:
    return real_libvirt()


@pytest.fixture(autouse=True)
def _quiet(libvirt_mod: ModuleType) -> Any:
    libvirt_mod.registerErrorHandler(lambda ctx, err: None, None)
    guiapp_libvirt.registerErrorHandler(lambda ctx, err: None, None)
    yield
    libvirt_mod.registerErrorHandler(None, None)
    guiapp_libvirt.registerErrorHandler(None, None)


def both(libvirt_mod: ModuleType, scenario: Callable[[ModuleType, Any], list]) -> tuple[list, list]:
    out = []
    # libvirt keeps test:///default while any object of an earlier test's connection lives (a snapshot object
    # in a reference cycle does): collect them, or this scenario starts from that test's snapshots
    gc.collect()
    for mod in (libvirt_mod, guiapp_libvirt):
        conn = mod.open("test:///default")
        try:
            out.append(scenario(mod, conn.lookupByName("test")))
        finally:
            conn.close()
    return out[0], out[1]


def attempt(mod: ModuleType, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except mod.libvirtError as exc:
        return ("error", exc.get_error_code())


def tree(dom: Any) -> list:
    return sorted((s.getName(), attempt_parent(s), s.isCurrent(), sorted(c.getName() for c in s.listAllChildren()))
                  for s in dom.listAllSnapshots())


def attempt_parent(snap: Any) -> str:
    try:
        return snap.getParent().getName()
    except Exception:
        return "-"


def test_create_list_tree_and_current(libvirt_mod: ModuleType) -> None:
    def scenario(mod: ModuleType, dom: Any) -> list:
        r: list = [dom.hasCurrentSnapshot(), attempt(mod, lambda: dom.snapshotCurrent().getName())]
        a = dom.snapshotCreateXML(XML.format("a", "<description>first</description>"), 0)
        b = dom.snapshotCreateXML(XML.format("b", ""), 0)
        r += [dom.hasCurrentSnapshot(), dom.snapshotCurrent().getName(), tree(dom)]
        r.append(attempt(mod, lambda: dom.snapshotCreateXML(XML.format("a", ""), 0)))
        r.append(attempt(mod, lambda: dom.snapshotLookupByName("nope")))
        r.append(attempt(mod, lambda: a.getParent()))
        r.append(b.getParent().getName())
        r.append(sorted(s.getName() for s in dom.listAllSnapshots(mod.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)))
        r.append(sorted(s.getName() for s in dom.listAllSnapshots(mod.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES)))
        r.append(sorted(s.getName() for s in dom.listAllSnapshots(mod.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES)))
        r.append(sorted(s.getName() for s in dom.listAllSnapshots(mod.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE)))
        r.append(dom.snapshotNum(0))
        r.append(attempt(mod, lambda: dom.snapshotCreateXML(XML.format("c", ""),
                                                            mod.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)))
        r.append(attempt(mod, lambda: dom.snapshotCreateXML("<domainsnapshot><name>x</name>", 0)))
        r.append(attempt(mod, lambda: dom.snapshotCreateXML("<domain/>", 0)))
        r.append(a.hasMetadata())
        return r

    ref, ours = both(libvirt_mod, scenario)
    assert ours == ref


def test_snapshot_xml_matches(libvirt_mod: ModuleType) -> None:
    def scenario(mod: ModuleType, dom: Any) -> list:
        s = dom.snapshotCreateXML(XML.format("x", "<description>a &amp; b</description>"), 0)
        root = etree.fromstring(s.getXMLDesc())
        root.find("creationTime").text = "T"
        dom.destroy()
        off = dom.snapshotCreateXML(XML.format("off", ""), 0)
        root2 = etree.fromstring(off.getXMLDesc())
        root2.find("creationTime").text = "T"
        return [etree.tostring(root, method="c14n"), etree.tostring(root2, method="c14n")]

    ref, ours = both(libvirt_mod, scenario)
    assert ours == ref


def test_revert_states_and_config(libvirt_mod: ModuleType) -> None:
    def scenario(mod: ModuleType, dom: Any) -> list:
        run = dom.snapshotCreateXML(XML.format("run", ""), 0)
        dom.suspend()
        paused = dom.snapshotCreateXML(XML.format("paused", ""), 0)
        dom.destroy()
        dom.setMemoryFlags(1024 * 1024, mod.VIR_DOMAIN_AFFECT_CONFIG)
        off = dom.snapshotCreateXML(XML.format("off", ""), 0)
        r: list = [dom.state()]
        for snap, flags in [(run, 0), (paused, 0), (paused, mod.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING),
                            (run, mod.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED), (off, 0)]:
            r.append((snap.getName(), flags, dom.revertToSnapshot(snap, flags), dom.state(), dom.maxMemory(),
                      snap.isCurrent()))
        both_flags = mod.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | mod.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
        r.append(attempt(mod, lambda: dom.revertToSnapshot(run, both_flags)))
        return r

    ref, ours = both(libvirt_mod, scenario)
    assert ours == ref


def test_delete_reparents_and_children(libvirt_mod: ModuleType) -> None:
    def scenario(mod: ModuleType, dom: Any) -> list:
        a = dom.snapshotCreateXML(XML.format("a", ""), 0)
        b = dom.snapshotCreateXML(XML.format("b", ""), 0)
        dom.snapshotCreateXML(XML.format("c", ""), 0)
        dom.revertToSnapshot(a, 0)
        dom.snapshotCreateXML(XML.format("d", ""), 0)
        dom.snapshotCreateXML(XML.format("e", ""), 0)
        r: list = [tree(dom)]
        r.append(sorted(s.getName() for s in a.listAllChildren(mod.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS)))
        b.delete(0)  # c moves under a
        r.append(tree(dom))
        d = dom.snapshotLookupByName("d")
        d.delete(mod.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY)  # e (current) goes; d becomes current
        r.append(tree(dom))
        r.append(dom.snapshotCurrent().getName())
        a.delete(mod.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)
        r.append(tree(dom))
        r.append(dom.hasCurrentSnapshot())
        r.append(attempt(mod, lambda: a.getXMLDesc()))
        return r

    ref, ours = both(libvirt_mod, scenario)
    assert ours == ref


def test_redefine_and_undefine(libvirt_mod: ModuleType) -> None:
    def scenario(mod: ModuleType, dom: Any) -> list:
        s = dom.snapshotCreateXML(XML.format("a", ""), 0)
        xml = s.getXMLDesc()
        s.delete(0)
        r: list = [attempt(mod, lambda: dom.snapshotCreateXML(XML.format("", ""),
                                                              mod.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))]
        back = dom.snapshotCreateXML(xml, mod.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
        r.append((back.getName(), back.isCurrent(), dom.hasCurrentSnapshot()))
        r.append(back.getXMLDesc() == xml)
        dom.snapshotCreateXML(xml, mod.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | mod.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT)
        r.append(back.isCurrent())
        dom.destroy()
        r.append(attempt(mod, lambda: dom.undefine()))
        r.append(dom.snapshotNum())
        r.append(dom.undefineFlags(mod.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA))
        return r

    ref, ours = both(libvirt_mod, scenario)
    assert ours == ref


def test_read_only_connection_refuses_changes() -> None:
    conn = guiapp_libvirt.open("test:///default")
    ro = guiapp_libvirt.openReadOnly("test:///default")
    try:
        dom = ro.lookupByName("test")
        with pytest.raises(guiapp_libvirt.libvirtError) as info:
            dom.snapshotCreateXML(XML.format("a", ""), 0)
        assert info.value.get_error_code() == guiapp_libvirt.VIR_ERR_OPERATION_DENIED
        assert dom.listAllSnapshots() == []
    finally:
        ro.close()
        conn.close()


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", ".hidden", "tab\there", "x" * 300, "nl\nx"])
def test_hostile_snapshot_names_are_refused(name: str) -> None:
    conn = guiapp_libvirt.open("test:///default")
    try:
        dom = conn.lookupByName("test")
        body = etree.Element("domainsnapshot")
        etree.SubElement(body, "name").text = name
        with pytest.raises(guiapp_libvirt.libvirtError) as info:
            dom.snapshotCreateXML(etree.tostring(body, encoding="unicode"), 0)
        assert info.value.get_error_code() == guiapp_libvirt.VIR_ERR_XML_DETAIL
        assert "invalid snapshot name" in str(info.value)
        assert dom.listAllSnapshots() == []
    finally:
        conn.close()
