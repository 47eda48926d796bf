"""The details window: overview, XML tab (refuses invalid XML, applies valid XML after a diff), CPUs/memory, boot."""

from __future__ import annotations

from typing import Any

from gui_helpers import off_ui

import guiapp.backend as libvirt


def open_details(qtbot: Any, win: Any, uri: str, name: str) -> Any:
    row = next(r for r in win.model.connection(uri).rows if r.name == name)
    details = win.open_details(uri, row.uuid)
    qtbot.waitUntil(lambda: details.loaded, timeout=10000)
    return details


def inactive_xml(win: Any, uri: str, name: str) -> str:
    conn = win.manager.conn(uri)
    return off_ui(lambda: conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


def test_overview_shows_the_domain(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    d = open_details(qtbot, win, uri, "vm-003")
    assert d.ov["name"].text() == "vm-003"
    assert d.ov["state"].text() == "running"
    assert d.ov["os_type"].text() == "hvm" and d.ov["arch"].text() == "x86_64"
    assert "test" in d.ov["hypervisor"].text().lower()
    row = win.model.domain_row(uri, d.uuid)
    assert d.ov["uuid"].text() == row.uuid_str
    assert d.hardware.list.count() >= 3  # disk, NIC, VNC graphics
    # the same domain opens the same window
    assert win.open_details(uri, d.uuid) is d
    qtbot.wait(450)
    assert len(win.manager.history(uri, d.uuid).cpu) >= 2  # the graphs' data keeps coming


def test_xml_tab_refuses_invalid_xml(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    d = open_details(qtbot, win, uri, "vm-010")
    before = inactive_xml(win, uri, "vm-010")
    tab = d.xml_tab
    lines = tab.original.splitlines()
    lines[1] = lines[1].replace("</name>", "</nmae>")
    tab.editor.setPlainText("\n".join(lines))
    assert tab.apply_button.isEnabled()
    assert tab.request_apply() is None  # no diff dialog, nothing applied
    assert tab.message.text().startswith("Line 2:")
    assert "VIR_ERR_XML_DETAIL" in tab.message.text()
    assert tab.editor.textCursor().blockNumber() == 1  # the cursor is put on the bad line
    tab.editor.setPlainText(tab.original.replace("<name>vm-010</name>", "<name></name>"))
    assert tab.request_apply() is None
    assert "VIR_ERR_NO_NAME" in tab.message.text()
    assert inactive_xml(win, uri, "vm-010") == before


def test_xml_tab_applies_valid_xml_after_showing_the_diff(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    d = open_details(qtbot, win, uri, "vm-010")
    tab = d.xml_tab
    edited = tab.original.replace("<vcpu", "<description>edited in the XML tab</description>\n  <vcpu", 1)
    tab.editor.setPlainText(edited)
    dialog = tab.request_apply()
    assert dialog is not None and dialog.isVisible()
    diff = dialog.text.toPlainText()
    assert "+  <description>edited in the XML tab</description>" in diff
    changes = [ln for ln in diff.splitlines() if ln.startswith(("+", "-")) and not ln.startswith(("+++", "---"))]
    assert len(changes) == 1
    assert "edited in the XML tab" not in inactive_xml(win, uri, "vm-010")  # nothing until confirmed
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: "edited in the XML tab" in inactive_xml(win, uri, "vm-010"), timeout=10000)
    qtbot.waitUntil(lambda: "edited in the XML tab" in tab.original, timeout=10000)
    assert not tab.is_dirty()


def test_xml_apply_error_from_the_driver_is_shown(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    d = open_details(qtbot, win, uri, "vm-010")
    # valid XML, but the name belongs to another domain: the driver refuses it
    tab = d.xml_tab
    tab.editor.setPlainText(tab.original.replace("<name>vm-010</name>", "<name>vm-011</name>"))
    dialog = tab.request_apply()
    assert dialog is not None
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: len(win.error_dialogs) == 1, timeout=10000)
    assert win.error_dialogs[0].report.code == libvirt.VIR_ERR_OPERATION_FAILED
    assert tab.message.text().startswith("Not applied")


def test_cpus_and_memory_change_live_or_in_the_definition(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    d = open_details(qtbot, win, uri, "vm-011")  # shut off: goes to the definition
    d.vcpus.setValue(3)
    d.memory.setValue(100)
    d.resources_apply.click()
    qtbot.waitUntil(lambda: d.resources_note.text() != "", timeout=10000)
    assert d.resources_note.text() == "Saved in the definition: applies at next boot."
    xml = inactive_xml(win, uri, "vm-011")
    assert ">3</vcpu>" in xml and f">{100 * 1024}</currentMemory>" in xml

    r = open_details(qtbot, win, uri, "vm-001")  # running: live where the driver allows it
    r.memory.setValue(64)
    r.resources_apply.click()
    qtbot.waitUntil(lambda: r.resources_note.text() != "", timeout=10000)
    conn = win.manager.conn(uri)
    info = off_ui(lambda: conn.lookupByName("vm-001").info())
    assert r.resources_note.text() == "Applied now (and saved in the definition)."  # the test driver can
    assert info[2] == 64 * 1024 and f">{64 * 1024}</currentMemory>" in inactive_xml(win, uri, "vm-001")
    # more vCPUs than the definition's maximum: only the definition changes, and the note says so
    r.vcpus.setValue(8)
    r.resources_apply.click()
    qtbot.waitUntil(lambda: "next boot" in r.resources_note.text() or "Not applied" in r.resources_note.text(),
                    timeout=10000)
    assert "cannot be made while the domain runs" in r.resources_note.text()
    assert ">8</vcpu>" in inactive_xml(win, uri, "vm-001")
    assert off_ui(lambda: conn.lookupByName("vm-001").info())[3] == 2


def test_memory_above_the_maximum_is_refused(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    d = open_details(qtbot, win, uri, "vm-011")
    before = inactive_xml(win, uri, "vm-011")
    d.memory.setValue(d.max_memory.value() + 1)
    # checked inline: the message in red and Apply disabled (issue 16), nothing sent
    assert "cannot exceed the maximum" in d.resources_note.text()
    assert "c62828" in d.resources_note.styleSheet() and not d.resources_apply.isEnabled()
    d.resources_apply.click()
    d.apply_resources()
    assert inactive_xml(win, uri, "vm-011") == before
    d.memory.setValue(d.max_memory.value())
    assert d.resources_apply.isEnabled() and d.resources_note.text() == ""


def test_running_domain_shows_live_values_and_marks_next_boot_changes(qtbot: Any, connected: tuple) -> None:
    """Issue 16: after the definition of a running domain changes, the overview shows what runs now."""
    win, uri = connected
    conn = win.manager.conn(uri)
    xml = inactive_xml(win, uri, "vm-001")
    live_kib = off_ui(lambda: conn.lookupByName("vm-001").info()[2])
    bigger = live_kib * 2
    new = xml.replace(f">{live_kib}</memory>", f">{bigger}</memory>").replace(
        f">{live_kib}</currentMemory>", f">{bigger}</currentMemory>")
    assert new != xml
    off_ui(lambda: conn.defineXML(new))
    assert off_ui(lambda: conn.lookupByName("vm-001").info()[2]) == live_kib  # still running with the old size
    d = open_details(qtbot, win, uri, "vm-001")
    text = d.ov["memory"].text()
    from guiapp.models.domains import format_bytes
    assert text.startswith(f"{format_bytes(live_kib * 1024)} of {format_bytes(live_kib * 1024)}"), text
    assert f"{format_bytes(bigger * 1024)} applies at next boot" in text
    assert "applies at next boot" in d.pending_note.text() and "memory" in d.pending_note.text()
    assert "next boot" not in d.ov["vcpus"].text()
    s = open_details(qtbot, win, uri, "vm-011")  # shut off: the definition is what it is, nothing pending
    assert "next boot" not in s.ov["memory"].text() and s.pending_note.text() == ""


def test_boot_order_kernel_and_autostart(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    d = open_details(qtbot, win, uri, "vm-011")
    assert d.boot_order() == ["hd"]
    from PySide6.QtCore import Qt

    d.boot_list.item(1).setCheckState(Qt.CheckState.Checked)  # CD-ROM
    d.boot_list.setCurrentRow(1)
    d._move_boot(-1)  # CD-ROM first
    assert d.boot_order() == ["cdrom", "hd"]
    d.kernel.setText("/boot/vmlinuz-test")
    d.autostart_box.setChecked(True)
    d.boot_apply.click()
    qtbot.waitUntil(lambda: d.boot_note.text() != "", timeout=10000)
    assert d.boot_note.text().startswith("Saved"), d.boot_note.text()
    xml = inactive_xml(win, uri, "vm-011")
    from lxml import etree

    os_el = etree.fromstring(xml.encode()).find("os")
    assert [b.get("dev") for b in os_el.findall("boot")] == ["cdrom", "hd"], xml
    assert os_el.findtext("kernel") == "/boot/vmlinuz-test"
    conn = win.manager.conn(uri)
    assert off_ui(lambda: conn.lookupByName("vm-011").autostart()) == 1


def test_read_only_connection_offers_no_changes(qtbot: Any, window: Any, node_uri: str) -> None:
    window.manager.add(node_uri, read_only=True)
    qtbot.waitUntil(lambda: window.model.domain_count() == 12, timeout=10000)
    d = open_details(qtbot, window, node_uri, "vm-010")
    assert d.ov["name"].text() == "vm-010"
    assert not d.resources_apply.isEnabled() and not d.boot_apply.isEnabled()
    assert d.xml_tab.editor.isReadOnly() and not d.xml_tab.apply_button.isEnabled()
