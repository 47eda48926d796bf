"""Console window: a deleted domain stops the retries and says so; the toolbar fits; Ctrl+W closes."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolBar

import guiapp.backend as libvirt
from guiapp.views.console import ConsoleWindow, open_console
from guiapp.vnc.address import ConsoleTarget, VncAddress

TEST_VM = """<domain type='test'><name>short-lived</name><memory unit='MiB'>64</memory>
<os><type>hvm</type></os><devices><graphics type='vnc' port='-1'/></devices></domain>"""


def test_console_of_a_deleted_domain_stops_and_says_so(qtbot: Any) -> None:
    conn = libvirt.open("test:///default")
    dom = conn.defineXML(TEST_VM)
    dom.undefine()  # the domain is gone before (or while) its console looks it up
    calls: list[int] = []

    def get_dom() -> Any:  # called off the UI thread for every (re)connect attempt
        calls.append(1)
        return dom

    win = open_console(get_dom, title="short-lived", show=True)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.state == "gone", timeout=5000)
    assert "no longer exists" in win.view.message and "short-lived" in win.view.message
    assert "Retrying" not in win.view.message and not win.retry_timer.isActive()
    n = len(calls)
    qtbot.wait(800)  # longer than the first retry delays
    assert len(calls) == n and win.state == "gone"
    assert win.statusBar().currentMessage() == ""  # no stale retry text under the final one
    assert not win.hint.isVisible()  # the grab hint only shows while connected
    win.close()
    conn.close()


def test_toolbar_fits_default_width_and_ctrl_w_closes(qtbot: Any) -> None:
    win = ConsoleWindow(lambda: ConsoleTarget(VncAddress(path="/nonexistent/x.vnc")), title="x")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    tb = win.findChild(QToolBar, "consoleToolbar")
    assert tb is not None
    hidden = [a.iconText() for a in tb.actions() if not tb.widgetForAction(a).isVisible()]
    assert hidden == [], f"toolbar buttons in the overflow menu at {win.width()} px: {hidden}"
    assert tb.sizeHint().width() <= win.width()
    assert win.act_fit.iconText() == "Fit" and win.act_fit.text() == "Scale to &window"  # the menu keeps it
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=3000)
    QTest.keyClick(win.view, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=3000)
