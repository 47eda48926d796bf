"""The console page of the VM window: the console widget while the domain runs, a Run placeholder otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QStackedWidget, QToolBar, QVBoxLayout, QWidget

from ...models.api import ACTIVE_STATES, state_name

if TYPE_CHECKING:
    from ..console.window import ConsoleWindow
    from .window import VmWindow


class ConsolePage(QStackedWidget):
    """Index 0: 'not running' with a Run button; index 1: the embedded console (graphics/serial switch)."""

    def __init__(self, vm: VmWindow) -> None:
        super().__init__(vm)
        self.vm = vm
        self.setObjectName("consolePage")
        self.console: Optional[ConsoleWindow] = None
        self.off = QWidget()
        lay = QVBoxLayout(self.off)
        lay.addStretch(1)
        self.off_text = QLabel("")
        self.off_text.setObjectName("consoleOffText")
        self.off_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.off_text.setWordWrap(True)
        lay.addWidget(self.off_text)
        self.run_button = QPushButton("&Run")
        self.run_button.setObjectName("consoleRunButton")
        self.run_button.clicked.connect(lambda: vm.run("start"))
        lay.addWidget(self.run_button, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(1)
        self.addWidget(self.off)
        self._state: Optional[int] = None

    def follow_state(self, state: Optional[int]) -> None:
        """Close the console when the domain stops; open it when it runs and the page is shown."""
        self._state = state
        active = state in ACTIVE_STATES
        if not active:
            self.close_console()
            self.off_text.setText("The domain is not listed." if state is None else
                                  f"The domain is {state_name(state)}: there is no screen to show.")
            self.run_button.setVisible(self.vm.power["start"].isEnabled())
            self.setCurrentWidget(self.off)
        elif self.vm.current_page() == "console":
            self.ensure()

    def ensure(self) -> None:
        """Open the embedded console if the domain runs and none is open."""
        if self._state not in ACTIVE_STATES or self.console is not None:
            return
        from ...vnc.address import console_target
        from ..console.serial import offer_serial
        from ..console.window import ConsoleWindow

        main, uri, uuid = self.vm.main, self.vm.uri, self.vm.uuid
        conn = main.manager.conn(uri)
        if conn is None:
            return

        def get_dom() -> Any:
            return conn.lookupByUUID(uuid)

        win = ConsoleWindow(lambda: console_target(get_dom()), title=self.vm.name, runner=main.runner,
                            settings=main.settings, parent=self)
        win.setWindowFlags(Qt.WindowType.Widget)  # a page of the VM window, not a window of its own
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        win.menuBar().hide()  # its actions are on its toolbar; the VM window has the menus
        win.removeAction(win.act_close)  # Ctrl+W closes the VM window, not the page
        win.act_fullscreen.toggled.disconnect()
        win.act_fullscreen.toggled.connect(self.vm.set_full_screen)
        self.console = win
        self.addWidget(win)
        self.setCurrentWidget(win)
        win.start()
        offer_serial(win, get_dom, main.runner, done=self._serial_offered)

    def _serial_offered(self, page: Any) -> None:
        if page is not None and self.console is not None:
            tb = self.console.findChild(QToolBar, "consoleToolbar")
            if tb is None:
                return
            tb.addSeparator()
            tb.addAction(page.act_graphics)
            tb.addAction(page.act_serial)

    def close_console(self) -> None:
        if self.console is not None:
            win, self.console = self.console, None
            self.removeWidget(win)
            win.close()
