"""The console window's Graphics / Serial switch on a domain that has both (test driver, echo console)."""

from __future__ import annotations

from typing import Any

from gui_helpers import off_ui

import guiapp.backend as libvirt
from guiapp.jobs import JobRunner
from guiapp.views.console.window import open_console

XML = """<domain type='test'><name>both</name><memory>65536</memory><os><type>hvm</type></os>
  <devices><graphics type='vnc' port='-1'/><serial type='pty'><target port='0'/></serial></devices></domain>"""


def test_switch_to_serial_and_type(qtbot: Any, ui_guard: None) -> None:
    runner = JobRunner()
    conn = off_ui(lambda: libvirt.open("test:///default"))
    dom = off_ui(lambda: conn.createXML(XML, 0))
    win = open_console(dom, runner=runner, title="both")  # deletes itself on close: not added to qtbot
    try:
        _check(qtbot, win)
    finally:
        win.close()
        runner.wait(10_000)
        off_ui(conn.close)


def _check(qtbot: Any, win: Any) -> None:
    qtbot.waitUntil(lambda: getattr(win, "serial_page", None) is not None, timeout=10_000)
    page = win.serial_page
    assert page.act_graphics.isEnabled() and page.act_graphics.isChecked()  # graphics first when there are both
    assert page.stack.currentIndex() == 0
    page.act_serial.trigger()
    assert page.stack.currentWidget() is page.terminal
    qtbot.waitUntil(lambda: page.session is not None and page.session._stream is not None, timeout=10_000)
    qtbot.keyClicks(page.terminal, "typed in the window")
    qtbot.waitUntil(lambda: "typed in the window" in page.terminal.text(), timeout=5000)
    page.act_graphics.trigger()
    assert page.stack.currentIndex() == 0
