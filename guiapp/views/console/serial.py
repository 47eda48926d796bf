"""The Graphics / Serial switch of the console window (virt-manager issue #93).

:func:`offer_serial` looks at the domain's XML off the UI thread; when it has a text console it puts the
window's VNC view and a :class:`TerminalWidget` in a stack and adds View → Graphics / Serial.  A domain with
a serial console and no graphics opens on the serial page.  The console stream is opened the first time the
Serial page is shown and closed with the window.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QStackedWidget

from ...jobs import CONSOLE_POOL
from .terminal import SerialSession, TerminalWidget


def devices_of(xml: str) -> tuple[bool, bool]:
    """(has a VNC/SPICE display, has a serial or console device) from domain XML."""
    from guiapp.backend.xml.domain import DomainFields
    from guiapp.backend.xml.safe import parse_xml

    d = DomainFields(parse_xml(xml))  # the driver's own XML, read as it is
    return len(d.graphics) > 0, len(d.serials) + len(d.consoles) > 0


class SerialPage:
    """The stack, the two actions and the (lazily opened) serial session of one console window."""

    def __init__(self, win: Any, domain: Any, runner: Any, graphics: bool) -> None:
        self.win, self.domain, self.runner = win, domain, runner
        self.session: Optional[SerialSession] = None
        view = win.takeCentralWidget()
        self.stack = QStackedWidget(win)
        self.stack.addWidget(view)
        self.terminal = TerminalWidget(self.stack)
        self.stack.addWidget(self.terminal)
        win.setCentralWidget(self.stack)
        group = QActionGroup(win)
        self.act_graphics = QAction("&Graphics", win, checkable=True)
        self.act_serial = QAction("&Serial console", win, checkable=True)
        for a in (self.act_graphics, self.act_serial):
            group.addAction(a)
        self.act_graphics.setEnabled(graphics)
        self.act_graphics.triggered.connect(self.show_graphics)
        self.act_serial.triggered.connect(self.show_serial)
        menu = win.menuBar().addMenu("&Display")
        menu.addActions([self.act_graphics, self.act_serial])
        win.closed.connect(self.close)
        if graphics:
            self.act_graphics.setChecked(True)
        else:
            self.show_serial()

    def show_graphics(self) -> None:
        self.act_graphics.setChecked(True)
        self.stack.setCurrentIndex(0)

    def show_serial(self) -> None:
        self.act_serial.setChecked(True)
        self.stack.setCurrentIndex(1)
        self.terminal.setFocus()
        if self.session is None:
            self.session = SerialSession(self.domain, self.runner, parent=self.terminal)
            self.session.received.connect(self.terminal.feed)
            self.terminal.key_bytes.connect(self.session.send)
            self.session.ended.connect(lambda why: self.win.statusBar().showMessage(f"Serial console: {why}"))
            self.session.open()

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def offer_serial(win: Any, get_dom: Callable[[], Any], runner: Any,
                 done: Optional[Callable[[Optional[SerialPage]], Any]] = None) -> None:
    """Add the Serial page to ``win`` when the domain has a text console (XML read through ``runner``)."""
    def work() -> tuple[Any, bool, bool]:
        dom = get_dom()
        return (dom, *devices_of(dom.XMLDesc(0)))

    def added(result: tuple[Any, bool, bool]) -> None:
        dom, graphics, text = result
        win.serial_page = SerialPage(win, dom, runner, graphics) if text else None
        if done is not None:
            done(win.serial_page)
    runner.submit("Read the console devices", work, on_result=added, owner=win, pool=CONSOLE_POOL)
