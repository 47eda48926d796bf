"""The main window's actions, menus, tool bar, filter box and context menus (a mixin of MainWindow)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QMainWindow, QMenu

from ...models.domain_filter import DomainFilterProxy
from ...models.domains import COL_SCREEN, COLUMNS, KIND_ROLE
from ..icons import icon
from .actions import DomainActions

if TYPE_CHECKING:
    _Base = QMainWindow
else:
    _Base = object

FILTER_DEBOUNCE_MS = 150


class MenusAndToolbar(_Base):
    """Builds the window's QActions (``act_*``), its menus and tool bar with the filter box; context menus."""

    view: Any
    proxy: DomainFilterProxy
    domain_actions: DomainActions
    filter_bar: QHBoxLayout

    if TYPE_CHECKING:  # the other parts of MainWindow (stubs here would shadow them)
        def open_add_connection(self) -> Any: ...
        def open_networks_window(self) -> None: ...
        def open_storage_window(self) -> None: ...
        def open_new_vm_wizard(self) -> None: ...
        def open_preferences(self) -> Any: ...
        def retry_selected_connection(self) -> None: ...
        def remove_selected_connection(self) -> None: ...
        def restore_domain(self) -> None: ...
        def quit_app(self) -> None: ...
        def set_filter(self, text: str) -> None: ...
        def clear_filter(self) -> None: ...
        def _filter_typed(self, _text: str) -> None: ...
        def _focus_filter(self) -> None: ...
        def _screens_changed(self, save: bool = False) -> None: ...

    def _build_actions(self) -> None:
        def act(name: str, text: str, slot: Callable[[], Any], shortcut: str = "", tip: str = "") -> QAction:
            a = QAction(text, self)
            a.setObjectName(name)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            if tip:
                a.setToolTip(tip)
                a.setStatusTip(tip)
            a.triggered.connect(lambda _checked=False: slot())
            return a

        self.act_add = act("action_add_connection", "&Add Connection…", self.open_add_connection, "Ctrl+Shift+N",
                           "Connect to a local or remote hypervisor")
        self.act_add.setIcon(icon("action-add"))
        self.act_networks = act("action_networks", "Virtual &Networks…", self.open_networks_window, "Ctrl+Shift+W",
                                "The virtual networks of every open connection: start, stop, create, XML, leases")
        self.act_storage = act("action_storage", "&Storage…", self.open_storage_window, "Ctrl+Shift+S",
                               "Storage pools and volumes of every open connection: create, delete, resize, upload")
        self.act_retry = act("action_retry", "&Retry Connection", self.retry_selected_connection, "F5",
                             "Reconnect the selected connection (failed or dropped)")
        self.act_remove_conn = act("action_remove_connection", "Remove C&onnection", self.remove_selected_connection,
                                   "", "Close the selected connection and forget it")
        self.act_new_vm = act("action_new_vm", "&New Virtual Machine…", self.open_new_vm_wizard, "Ctrl+N",
                              "Create a guest: Xen PV/HVM, KVM or QEMU, with any network mode")
        self.act_new_vm.setIcon(icon("action-new-vm"))  # not Add Connection's icon
        self.act_restore = act("action_restore", "R&estore Saved Domain…", self.restore_domain, "Ctrl+Shift+O",
                               "Restore a domain from a file written by Save")
        self.act_prefs = act("action_preferences", "&Preferences…", self.open_preferences, "Ctrl+,",
                             "Polling interval, screen thumbnails, external VNC viewer")
        self.act_quit = act("action_quit", "&Quit", self.quit_app, "Ctrl+Q",
                            "Close every guiapp window and quit (asks first while a long job runs)")
        self.act_filter = act("action_filter", "&Filter", self._focus_filter, "Ctrl+F",
                              "Filter the list by name, UUID or state")
        self.act_about = act("action_about", "&About", self._about)
        self.addAction(self.act_filter)

    def _build_menus_and_toolbar(self) -> None:
        a = self.domain_actions.actions
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        for x in (self.act_new_vm, self.act_add, self.act_restore, None, self.act_prefs, None, self.act_quit):
            file_menu.addSeparator() if x is None else file_menu.addAction(x)
        dom_menu = mb.addMenu("&Domain")
        for key in ("start", "pause", "resume", "shutdown", "reboot", "destroy", None, "managed_save", "save",
                    "delete", "clone", None, "details", "console", "external"):
            dom_menu.addSeparator() if key is None else dom_menu.addAction(a[key])
        conn_menu = mb.addMenu("&Connection")
        for x in (self.act_add, self.act_retry, self.act_remove_conn, None, self.act_networks, self.act_storage):
            conn_menu.addSeparator() if x is None else conn_menu.addAction(x)
        self.view_menu = mb.addMenu("&View")
        self.view_menu.addAction(self.act_filter)
        self.columns_menu = self.view_menu.addMenu("&Columns")
        self._column_actions: dict[int, QAction] = {}
        for col in range(1, len(COLUMNS)):
            ca = QAction(COLUMNS[col], self)
            ca.setCheckable(True)
            ca.setChecked(True)
            if col == COL_SCREEN:  # shown while wanted and thumbnails are on (see _screens_changed)
                ca.toggled.connect(lambda _on: self._screens_changed(save=True))
            else:
                ca.toggled.connect(lambda on, c=col: self.view.setColumnHidden(c, not on))
            self.columns_menu.addAction(ca)
            self._column_actions[col] = ca
        mb.setToolTip("")
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.act_about)
        tb = self.toolbar = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        tb.addAction(self.act_new_vm)
        tb.addAction(self.act_add)
        tb.addSeparator()
        for key in ("start", "pause", "resume", "shutdown", "reboot", "destroy", "managed_save", "delete", "details",
                    "console"):
            tb.addAction(a[key])
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filterEdit")
        self.filter_edit.setPlaceholderText("Filter: name, UUID or state (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Show only domains whose name, UUID or state contains this text")
        self.filter_edit.setMinimumWidth(320)
        self.filter_edit.setMaximumWidth(480)
        self._filter_timer = QTimer(self)  # keystrokes typed quickly filter once
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DEBOUNCE_MS)
        self._filter_timer.timeout.connect(lambda: self.set_filter(self.filter_edit.text()))
        self.filter_edit.textChanged.connect(self._filter_typed)
        self.filter_edit.returnPressed.connect(lambda: self.view.setFocus())
        clear = QAction("Clear Filter", self.filter_edit)
        clear.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        clear.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        clear.triggered.connect(self.clear_filter)
        self.filter_edit.addAction(clear)
        self.filter_bar.addWidget(self.filter_edit)
        self.filter_bar.addStretch(1)
        self.setTabOrder(self.filter_edit, self.view)

    def _context_menu(self, pos: QPoint) -> None:
        pidx = self.view.indexAt(pos)
        menu = QMenu(self)
        kind = self.proxy.mapToSource(pidx).data(KIND_ROLE) if pidx.isValid() else None
        if kind == "connection":
            for conn_action in (self.act_retry, self.act_restore, self.act_remove_conn):
                menu.addAction(conn_action)
        else:
            a = self.domain_actions.actions
            for key in ("start", "pause", "resume", "shutdown", "reboot", "destroy", None, "managed_save", "save",
                        "delete", "clone", None, "details", "console", "external"):
                menu.addSeparator() if key is None else menu.addAction(a[key])
            menu.addSeparator()
            menu.addAction(self.act_restore)
        menu.addSeparator()
        menu.addAction(self.act_add)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def _header_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for column_action in self._column_actions.values():
            menu.addAction(column_action)
        menu.popup(self.view.header().mapToGlobal(pos))

    def _about(self) -> None:
        from PySide6.QtWidgets import QMessageBox
        box = QMessageBox(QMessageBox.Icon.Information, "About guiapp",
                          "guiapp — a virtual machine manager over the libvirt-style API "
                          "(test, QEMU/KVM and Xen drivers).", QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
