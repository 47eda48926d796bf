"""Details → CPUs & Memory Apply: current vs maximum vCPUs, running vs off, lowering, a partial live change,
a transient domain (on guiapp's test driver, through the window)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from gui_helpers import off_ui
from test_details_window import inactive_xml, open_details

import guiapp.backend as libvirt
from guiapp.backend.domain import virDomain
from guiapp.backend.xml.domain import parse_domain


def with_vcpus(win: Any, uri: str, name: str, current: int, maximum: int) -> None:
    """Define ``<vcpu current=current>maximum</vcpu>``; a running domain is restarted to run with it."""
    conn = win.manager.conn(uri)
    xml = re.sub(r"<vcpu[^>]*>\d+</vcpu>", f"<vcpu placement='static' current='{current}'>{maximum}</vcpu>",
                 inactive_xml(win, uri, name))

    def work() -> None:
        conn.defineXML(xml)
        dom = conn.lookupByName(name)
        if dom.isActive():
            dom.destroy()
            dom.create()
    off_ui(work)


def config(win: Any, uri: str, name: str) -> Any:
    return parse_domain(inactive_xml(win, uri, name))


def running_vcpus(win: Any, uri: str, name: str) -> int:
    conn = win.manager.conn(uri)
    return int(off_ui(lambda: conn.lookupByName(name).info()[3]))


def apply(qtbot: Any, d: Any) -> str:
    d.resources_note.setText("")
    d.resources_apply.click()
    qtbot.waitUntil(lambda: d.resources_note.text() != "", timeout=10000)
    qtbot.waitUntil(lambda: not d.reloading, timeout=10000)
    return str(d.resources_note.text())


def test_off_domain_edits_the_current_vcpus_and_raises_the_maximum_only_when_above(qtbot: Any,
                                                                                  connected: tuple) -> None:
    win, uri = connected
    with_vcpus(win, uri, "vm-011", 2, 4)
    d = open_details(qtbot, win, uri, "vm-011")
    assert d.vcpus.value() == 2  # what starts, not the maximum
    assert d.ov["vcpus"].text() == "2 (maximum 4)"
    d.vcpus.setValue(3)
    assert apply(qtbot, d) == "Saved in the definition: applies at next boot."
    c = config(win, uri, "vm-011")
    assert (c.vcpus_current, c.vcpus) == (3, 4)  # the hot-plug headroom stays
    d.vcpus.setValue(6)
    apply(qtbot, d)
    c = config(win, uri, "vm-011")
    assert (c.vcpus_current, c.vcpus) == (6, 6)
    assert d.vcpus.value() == 6


def test_running_domain_raises_and_lowers_vcpus_live_up_to_its_maximum(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    with_vcpus(win, uri, "vm-003", 2, 4)
    d = open_details(qtbot, win, uri, "vm-003")
    assert d.vcpus.value() == 2 and running_vcpus(win, uri, "vm-003") == 2
    d.vcpus.setValue(3)
    assert apply(qtbot, d) == "Applied now (and saved in the definition)."
    assert running_vcpus(win, uri, "vm-003") == 3
    assert (config(win, uri, "vm-003").vcpus_current, config(win, uri, "vm-003").vcpus) == (3, 4)
    d.vcpus.setValue(1)  # lowering
    assert apply(qtbot, d) == "Applied now (and saved in the definition)."
    assert running_vcpus(win, uri, "vm-003") == 1 and config(win, uri, "vm-003").vcpus_current == 1
    assert d.vcpus.value() == 1
    # above the running maximum: the definition only (maximum raised), the memory change still goes live
    d.vcpus.setValue(6)
    d.memory.setValue(128)
    note = apply(qtbot, d)
    assert note.startswith("vCPUs: saved in the definition, applies at next boot; memory: applied now"), note
    assert running_vcpus(win, uri, "vm-003") == 1
    c = config(win, uri, "vm-003")
    assert (c.vcpus_current, c.vcpus, c.current_memory_kib) == (6, 6, 128 * 1024)
    assert "6 applies at next boot" in d.ov["vcpus"].text()
    assert not win.error_dialogs


def test_memory_change_only_keeps_a_pending_vcpu_change(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    conn = win.manager.conn(uri)
    off_ui(lambda: conn.lookupByName("vm-005").setVcpusFlags(1, libvirt.VIR_DOMAIN_AFFECT_CONFIG))
    d = open_details(qtbot, win, uri, "vm-005")
    assert d.vcpus.value() == 2 and "1 (maximum 2) applies at next boot" in d.ov["vcpus"].text()
    d.memory.setValue(100)
    assert apply(qtbot, d) == "Applied now (and saved in the definition)."
    c = config(win, uri, "vm-005")
    assert c.vcpus_current == 1 and c.current_memory_kib == 100 * 1024
    assert running_vcpus(win, uri, "vm-005") == 2


def test_memory_that_is_not_whole_mib_stays_when_only_the_vcpus_change(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    conn = win.manager.conn(uri)
    xml = re.sub(r"<memory[^>]*>\d+</memory>", "<memory unit='KiB'>262500</memory>", inactive_xml(win, uri, "vm-011"))
    xml = re.sub(r"<currentMemory[^>]*>\d+</currentMemory>", "<currentMemory unit='KiB'>200500</currentMemory>", xml)
    off_ui(lambda: conn.defineXML(xml))
    d = open_details(qtbot, win, uri, "vm-011")
    d.vcpus.setValue(1)
    apply(qtbot, d)
    c = config(win, uri, "vm-011")
    assert (c.vcpus_current, c.memory_kib, c.current_memory_kib) == (1, 262500, 200500)


def test_a_failed_live_memory_change_after_the_vcpus_applied_says_what_applied(
        qtbot: Any, connected: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    win, uri = connected
    d = open_details(qtbot, win, uri, "vm-001")

    def broken(self: Any, memory: int, flags: int = 0) -> int:
        raise libvirt.libvirtError("balloon driver gone", (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_DOMAIN,
                                                          "balloon driver gone", 2, None, None, None, 0, 0))
    monkeypatch.setattr(virDomain, "setMemoryFlags", broken)
    d.vcpus.setValue(1)
    d.memory.setValue(128)
    note = apply(qtbot, d)
    assert not note.startswith("Not applied"), note
    assert "vCPUs: applied now" in note and "memory: saved in the definition, applies at next boot" in note
    assert "Memory not changed live: balloon driver gone" in note
    assert running_vcpus(win, uri, "vm-001") == 1
    c = config(win, uri, "vm-001")
    assert (c.vcpus_current, c.current_memory_kib) == (1, 128 * 1024)
    qtbot.waitUntil(lambda: len(win.error_dialogs) == 1, timeout=10000)
    assert win.error_dialogs[0].report.code == libvirt.VIR_ERR_INTERNAL_ERROR


def test_transient_domain_changes_live_only_and_is_never_defined(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    conn = win.manager.conn(uri)
    xml = re.sub(r"<uuid>[^<]*</uuid>", "", inactive_xml(win, uri, "vm-011")).replace(
        "<name>vm-011</name>", "<name>transient-1</name>")
    off_ui(lambda: conn.createXML(xml, 0))
    win.manager.poll_now(uri)
    qtbot.waitUntil(lambda: win.model.domain_count() == 13, timeout=10000)
    d = open_details(qtbot, win, uri, "transient-1")
    assert d.vcpus.value() == 2
    d.vcpus.setValue(1)
    assert apply(qtbot, d) == "Applied now; this domain is transient, so the change ends when it stops."
    assert running_vcpus(win, uri, "transient-1") == 1
    d.vcpus.setValue(8)  # above its maximum: nothing can keep it for a next start
    note = apply(qtbot, d)
    assert note.startswith("Not applied") and "transient" in note, note
    dom = off_ui(lambda: conn.lookupByName("transient-1"))
    assert off_ui(dom.isPersistent) == 0 and running_vcpus(win, uri, "transient-1") == 1
    qtbot.waitUntil(lambda: len(win.error_dialogs) == 1, timeout=10000)
