"""One window per domain, like virt-manager's: console, details and snapshots pages and a power toolbar.

The console page embeds the console widget of ``views/console`` while the domain runs (a placeholder with a
Run button while it is off); the details page is the details window's tabs; the snapshots page is its
Snapshots tab.  Power actions are the main window's (same states, confirmations and jobs), on this domain.
``add_page`` is the hook for more pages (history, …).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...models.api import ACTIVE_STATES, STATE_PAUSED, STATE_RUNNING, state_name
from ..confirm import confirm
from ..icons import app_icon, icon, state_icon
from ..main_window.actions import OPS, RUNNING, DomainOp
from .console_page import ConsolePage

if TYPE_CHECKING:
    from ..main_window.window import MainWindow
    from .customize import Customizer

# the power actions, in toolbar/menu order; "reset" is ours (virDomainReset)
RESET = DomainOp("reset", "Force &Reset", "virDomainReset", RUNNING, "only running domains can be reset",
                 lambda d: d.reset(0), "", "Reset at once, like pressing the reset button (no guest shutdown)",
                 icon_name="action-reboot")
SHUTDOWN_MENU = ("shutdown", "reboot", "reset", "destroy", "managed_save", "save")


class VmWindow(QMainWindow):
    """Console / Details / Snapshots of one domain, switched from the toolbar; power actions beside them."""

    def __init__(self, main: MainWindow, uri: str, uuid: bytes) -> None:
        super().__init__(None)
        from ..details import DetailsWindow

        self.main, self.uri, self.uuid = main, uri, uuid
        self.customizer: Optional[Customizer] = None  # set while customizing before install (customize.py)
        self.title_suffix = ""  # shown after the page in the title
        self.setObjectName("vmWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowIcon(app_icon())
        row = main.model.domain_row(uri, uuid)
        self.name = row.name if row else uuid.hex()
        self.stack = QStackedWidget(self)
        self.setCentralWidget(self.stack)
        self.pages: dict[str, QWidget] = {}
        self.page_actions: dict[str, QAction] = {}
        self._page_group = QActionGroup(self)
        self.toolbar = self.addToolBar("Virtual machine")
        self.toolbar.setObjectName("vmToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.vm_menu = self.menuBar().addMenu("Virtual &Machine")  # virt-manager's order: it comes first
        self.view_menu = self.menuBar().addMenu("&View")
        self._pages_end = self.toolbar.addSeparator()  # pages go before it, power actions after
        self.console = ConsolePage(self)
        self.details = DetailsWindow(main, uri, uuid, embedded=True)
        self.snapshots = self.details.take_snapshots_tab()
        self.add_page("console", "&Console", self.console, "action-console", "Ctrl+Alt+1")
        self.add_page("details", "&Details", self.details, "action-details", "Ctrl+Alt+2")
        self.add_page("snapshots", "S&napshots", self.snapshots, "action-save", "Ctrl+Alt+3")
        self._build_power()
        close = QAction("&Close", self)
        close.setShortcuts(QKeySequence.StandardKey.Close)
        close.triggered.connect(self.close)
        self.addAction(close)
        self.vm_menu.addSeparator()
        self.vm_menu.addAction(close)
        self.resize(1024, 720)
        main.manager.polled.connect(self._on_polled)
        self.update_state()
        self.show_page("console" if self._state() in ACTIVE_STATES else "details")

    # ------------------------------------------------------------------ pages
    def add_page(self, key: str, label: str, widget: QWidget, icon_name: str = "", shortcut: str = "") -> QAction:
        """The hook for more pages: a toolbar/View-menu toggle that shows ``widget``."""
        self.stack.addWidget(widget)
        self.pages[key] = widget
        act = QAction(icon(icon_name) if icon_name else app_icon(), label, self, checkable=True)
        act.setObjectName(f"page_{key}")
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(lambda _c=False, k=key: self.show_page(k))
        self._page_group.addAction(act)
        self.page_actions[key] = act
        self.toolbar.insertAction(self._pages_end, act)
        self.view_menu.addAction(act)
        return act

    def show_page(self, key: str) -> None:
        self.stack.setCurrentWidget(self.pages[key])
        self.page_actions[key].setChecked(True)
        if key == "console":
            self.console.ensure()
        self._title()

    def current_page(self) -> str:
        w = self.stack.currentWidget()
        return next((k for k, p in self.pages.items() if p is w), "")

    def _title(self) -> None:
        page = self.current_page()
        what = {"console": "Console", "details": "Details", "snapshots": "Snapshots"}.get(page, page.title())
        self.setWindowTitle(f"{self.name} — {what}" + (f" ({self.title_suffix})" if self.title_suffix else ""))

    # ------------------------------------------------------------------ power
    def _build_power(self) -> None:
        self.power: dict[str, QAction] = {}
        for key in ("start", "pause", *SHUTDOWN_MENU):
            op = RESET if key == "reset" else OPS[key]
            act = QAction(op.label, self)
            act.setObjectName(f"vm_{key}")
            if op.icon_state is not None:
                act.setIcon(state_icon(op.icon_state))
            elif op.icon_name:
                act.setIcon(icon(op.icon_name))
            act.setToolTip(op.tip.replace("the selected domains", "this domain").replace("the domains'", "its"))
            act.triggered.connect(lambda _c=False, k=key: self.run(k))
            self.power[key] = act
            self.vm_menu.addAction(act)
        self.power["start"].setText("&Run")
        self.power["pause"].setCheckable(True)
        self.shutdown_menu = QMenu("Shut Down", self)
        self.shutdown_menu.setObjectName("shutdownMenu")
        for key in SHUTDOWN_MENU:
            self.shutdown_menu.addAction(self.power[key])
        self.toolbar.addAction(self.power["start"])
        self.toolbar.addAction(self.power["pause"])
        self.shutdown_button = QToolButton(self)
        self.shutdown_button.setObjectName("shutdownButton")
        self.shutdown_button.setDefaultAction(self.power["shutdown"])
        self.shutdown_button.setMenu(self.shutdown_menu)
        self.shutdown_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.shutdown_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.addWidget(self.shutdown_button)

    def _state(self) -> Optional[int]:
        row = self.main.model.domain_row(self.uri, self.uuid)
        return row.state if row else None

    def _read_only(self) -> bool:
        entry = self.main.manager.connections.get(self.uri)
        return bool(entry is not None and entry.read_only)

    def update_state(self) -> None:
        """Enable the power actions for the domain's state; the console page follows it."""
        state = self._state()
        read_only = self._read_only()
        for key, act in self.power.items():
            op = RESET if key == "reset" else OPS[key]
            if key == "pause":
                on = state in (STATE_PAUSED, *RUNNING)
                act.setChecked(state == STATE_PAUSED)
                act.setText("&Resume" if state == STATE_PAUSED else "&Pause")
            else:
                on = state in op.states
            why = ""
            if state is None:
                why = "The domain is not listed (deleted, or its connection is closed)"
            elif read_only:
                why = "Read-only connection: changes are not possible"
            elif not on:
                why = f"{op.label.replace('&', '').rstrip('…')} is not possible: the domain is {state_name(state)}"
            act.setEnabled(not why)
            act.setStatusTip(why or act.toolTip())
        shown = "shutdown" if self.power["shutdown"].isEnabled() else (
            "destroy" if self.power["destroy"].isEnabled() else "shutdown")
        if self.shutdown_button.defaultAction() is not self.power[shown]:
            self.shutdown_button.setDefaultAction(self.power[shown])
        self.shutdown_button.setEnabled(any(self.power[k].isEnabled() for k in SHUTDOWN_MENU))
        self.console.follow_state(state)

    def run(self, key: str) -> None:
        """Run power action ``key`` on this domain through the main window (same confirmations and jobs)."""
        row = self.main.model.domain_row(self.uri, self.uuid)
        if row is None:
            return
        if key == "pause":
            key = "resume" if row.state == STATE_PAUSED else "pause"
            self.update_state()  # the check mark follows the state, not the click
        if key == "start" and row.state == STATE_RUNNING:
            return
        if key == "start" and self.customizer is not None:  # Run while customizing is Begin Installation
            self.customizer.begin()
            return
        if key == "reset":
            call = RESET.call
            assert call is not None
            self.reset_box = confirm(self, self.main.settings, "reset",
                                     f"Reset '{row.name}' at once, without a guest shutdown (unsaved data in the "
                                     f"guest is lost)?",
                                     lambda: self.main.domain_job(self.uri, row, "Force Reset", RESET.api, call))
            return
        self.main.run_action(key, [(self.uri, row)])

    def _on_polled(self, uri: str, _result: Any) -> None:
        if uri == self.uri:
            row = self.main.model.domain_row(self.uri, self.uuid)
            if row is not None and row.name != self.name:
                self.name = row.name
                self._title()
            self.update_state()

    def set_full_screen(self, on: bool) -> None:
        """The console's Full screen: the whole VM window, without its bars."""
        self.toolbar.setVisible(not on)
        self.menuBar().setVisible(not on)
        if on and not self.isFullScreen():
            self.showFullScreen()
        elif not on and self.isFullScreen():
            self.showNormal()

    # ------------------------------------------------------------------ close
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.customizer is not None and not self.customizer.may_close(event):
            return
        try:
            self.main.manager.polled.disconnect(self._on_polled)
        except (RuntimeError, TypeError):
            pass
        self.console.close_console()
        self.details.close()
        super().closeEvent(event)


def open_vm_window(main: MainWindow, uri: str, uuid: bytes, page: str = "") -> VmWindow:
    """Open (or bring to the front) the one VM window of domain ``uuid`` on ``uri``."""
    windows: dict[tuple[str, bytes], VmWindow] = main.__dict__.setdefault("vm_windows", {})
    key = (uri, uuid)
    win = windows.get(key)
    if win is None:
        win = VmWindow(main, uri, uuid)
        windows[key] = win
        win.destroyed.connect(lambda *_a, k=key: windows.pop(k, None))
    if page:
        win.show_page(page)
    win.show()
    win.raise_()
    win.activateWindow()
    return win


def placeholder(text: str, button: Optional[QPushButton] = None) -> QWidget:
    """A centred message (and button) for a page with nothing to show."""
    w = QWidget()
    lay = QVBoxLayout(w)
    lay.addStretch(1)
    label = QLabel(text)
    label.setObjectName("placeholderText")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    lay.addWidget(label)
    if button is not None:
        lay.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
    lay.addStretch(1)
    return w
