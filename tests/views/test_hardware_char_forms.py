"""The serial/console and input forms of the hardware list (issue 17) on test:///default: edit, invalid input
refused as typed (red text, red field, Apply disabled), Apply into the definition, Revert."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gui_helpers import off_ui
from test_hardware_pages import open_details, select, wait_note, xml_of

import guiapp.backend as libvirt
from guiapp.views.details.hwapply import MESSAGES, SAVED

URI = "test:///default"
NAME = "hwchar"
DOMAIN = f"""<domain type='test'><name>{NAME}</name><memory>65536</memory><os><type>hvm</type></os><devices>
<serial type='pty'><target port='0'/></serial>
<input type='mouse' bus='ps2'/>
</devices></domain>"""


@pytest.fixture
def on_default(qtbot: Any, window: Any) -> Iterator[Any]:
    """The window on test:///default with a shut-off domain that has a serial port and a PS/2 mouse."""
    window.manager.add(URI)
    qtbot.waitUntil(lambda: window.manager.conn(URI) is not None, timeout=8000)
    conn = window.manager.conn(URI)
    off_ui(lambda: conn.defineXML(DOMAIN))
    qtbot.waitUntil(lambda: any(r.name == NAME for r in window.model.connection(URI).rows), timeout=8000)
    yield window
    def undefine() -> None:  # test:///default lives while a connection to it is open: leave it as found
        other = libvirt.open(URI)
        try:
            if NAME in other.listDefinedDomains():
                other.lookupByName(NAME).undefine()
        finally:
            other.close()
    off_ui(undefine)


def test_serial_form_checks_each_type_applies_and_reverts(qtbot: Any, on_default: Any) -> None:
    win = on_default
    hw = open_details(qtbot, win, URI, NAME).hardware
    form = select(hw, "Serial")
    assert form.kind.currentData() == "pty" and not hw.apply_button.isEnabled()
    assert form.path.isHidden() and form.host.isHidden()
    form.kind.setCurrentIndex(form.kind.findData("file"))
    assert not form.path.isHidden() and form.host.isHidden()
    for bad in ("relative.log", "/var/log/a\nb.log", "/var/../etc/shadow", ""):
        form.path.setText(bad)
        assert not hw.apply_button.isEnabled() and "c62828" in hw.note.styleSheet() and hw.note.text()
        assert "c62828" in form.path.styleSheet()
    form.path.setText("/var/log/hwchar.log")
    assert hw.apply_button.isEnabled() and hw.note.text() == "" and form.path.styleSheet() == ""
    hw.revert_button.click()
    assert hw.form.kind.currentData() == "pty" and not hw.apply_button.isEnabled()
    form = hw.form
    form.kind.setCurrentIndex(form.kind.findData("tcp"))
    assert not form.host.isHidden() and not form.service.isHidden() and form.path.isHidden()
    form.host.setText("127.0.0.1;reboot")
    assert not hw.apply_button.isEnabled() and "not a host name" in hw.note.text()
    assert "c62828" in form.host.styleSheet()
    form.host.setText("127.0.0.1")
    form.service.setValue(0)
    assert not hw.apply_button.isEnabled() and "1-65535" in hw.note.text()
    form.service.setValue(4555)
    form.mode.setCurrentIndex(form.mode.findData("connect"))
    form.target.setValue(1)
    assert hw.apply_button.isEnabled()
    hw.apply_button.click()
    wait_note(qtbot, hw, MESSAGES[SAVED])
    serial = xml_of(win, URI, NAME).find("devices/serial")
    assert serial.get("type") == "tcp" and serial.find("target").get("port") == "1"
    assert dict(serial.find("source").attrib) == {"mode": "connect", "host": "127.0.0.1", "service": "4555"}
    qtbot.waitUntil(lambda: hw.form is not None and getattr(hw.form, "kind", None) is not None
                    and hw.form.kind.currentData() == "tcp" and not hw.apply_button.isEnabled(), timeout=5000)


def test_input_form_changes_type_and_bus_and_refuses_impossible_pairs(qtbot: Any, on_default: Any) -> None:
    win = on_default
    hw = open_details(qtbot, win, URI, NAME).hardware
    form = select(hw, "Input mouse")
    assert (form.kind.currentData(), form.bus.currentData()) == ("mouse", "ps2")
    form.kind.setCurrentIndex(form.kind.findData("tablet"))  # a PS/2 tablet does not exist
    assert not hw.apply_button.isEnabled() and "unknown input device tablet on ps2" in hw.note.text()
    assert "c62828" in form.bus.styleSheet() and "c62828" in hw.note.styleSheet()
    hw.revert_button.click()
    form = hw.form
    assert form.kind.currentData() == "mouse" and not hw.revert_button.isEnabled()
    form.kind.setCurrentIndex(form.kind.findData("tablet"))
    form.bus.setCurrentIndex(form.bus.findData("usb"))
    assert hw.apply_button.isEnabled() and form.bus.styleSheet() == ""
    hw.apply_button.click()
    wait_note(qtbot, hw, MESSAGES[SAVED])
    types = [(i.get("type"), i.get("bus")) for i in xml_of(win, URI, NAME).iterfind("devices/input")]
    assert ("tablet", "usb") in types and ("mouse", "ps2") not in types
