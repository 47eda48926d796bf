"""The networks page: every network of every open connection, its actions, a create form and its XML.

Every driver call runs through the job runner; the UI thread only shows results.
"""

from __future__ import annotations

from typing import Any, Optional

import shiboken6
from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ...jobs import JobRunner
from ...models.api import error_code, libvirt
from ...models.connections import ConnectionManager
from ..close_keys import close_on_keys
from ..errors import ErrorDialog, show_error
from ..icons import app_icon
from .actions import OPS, disabled_reason
from .create_dialog import CreateNetworkDialog
from .rows import NetworkRow, fetch_leases, fetch_rows
from .table_model import COL_CONN, COL_DHCP, COL_NAME, NetworkTableModel
from .xml_panel import XmlPanel

REFRESH_MS = 5000


class NetworksWindow(QWidget):
    """A non-modal window listing the virtual networks of the manager's open connections."""

    def __init__(self, manager: ConnectionManager, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.manager = manager
        self.runner = runner
        self.setObjectName("networksWindow")
        self.setWindowTitle("Virtual Networks")
        close_on_keys(self)
        self.setWindowIcon(app_icon())
        self.resize(1050, 620)
        self.model = NetworkTableModel(self)
        self.error_dialogs: list[ErrorDialog] = []
        self.create_dialog: Optional[CreateNetworkDialog] = None
        self.confirm_box: Optional[QMessageBox] = None
        self._refreshing: dict[str, int] = {}  # uri -> generation of the refresh in flight
        self._generation = 0
        self._busy: set[tuple[str, str]] = set()
        self._want_select: Optional[tuple[str, str]] = None
        self._lease_key: Optional[tuple[str, str]] = None
        self._last_key: Optional[tuple[str, str]] = None
        self._shown: Optional[NetworkRow] = None
        self._unsupported: set[str] = set()  # connections whose driver has no virtual networks
        self._build()
        manager.connected.connect(self.refresh)
        manager.removed.connect(self._connection_removed)
        manager.poll_failed.connect(self._connection_trouble)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(lambda: self.refresh_all())
        self._update_actions()
        if parent is not None:
            parent.installEventFilter(self)  # closes with the main window (it does not know this window)

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.toolbar = QToolBar("Networks")
        self.toolbar.setObjectName("networksToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        layout.addWidget(self.toolbar)

        def act(key: str, text: str, tip: str, slot: Any, shortcut: str = "") -> QAction:
            a = QAction(text, self)
            a.setObjectName(f"net_action_{key}")
            a.setToolTip(tip)
            a.setStatusTip(tip)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(lambda _checked=False: slot())
            self.toolbar.addAction(a)
            self.addAction(a)
            return a

        self.act_create = act("create", "&Create…", "Define a new virtual network from a small form",
                              self.open_create_dialog, "Ctrl+N")
        self.toolbar.addSeparator()
        self.actions_by_key: dict[str, QAction] = {}
        for key in ("start", "stop", "delete"):
            op = OPS[key]
            self.actions_by_key[key] = act(key, op.text, op.tip, lambda k=key: self.trigger(k),
                                           "Del" if key == "delete" else "")
        op = OPS["autostart"]
        auto = self.actions_by_key["autostart"] = QAction(op.text, self)
        auto.setObjectName("net_action_autostart")
        auto.setCheckable(True)
        auto.triggered.connect(lambda checked: self.set_autostart(bool(checked)))
        self.toolbar.addAction(auto)
        self.toolbar.addSeparator()
        self.act_refresh = act("refresh", "&Refresh", "Read the networks of every open connection again",
                               lambda: self.refresh_all(user=True), "F5")

        split = QSplitter(Qt.Orientation.Vertical)
        self.view = QTableView()
        self.view.setObjectName("networkView")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in {COL_CONN: 150, COL_NAME: 130, COL_DHCP: 220}.items():
            header.resizeSection(col, width)
        for col in range(2, COL_DHCP):
            header.resizeSection(col, 85)
        header.resizeSection(COL_DHCP - 1, 130)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.model.modelReset.connect(self._restore_selection)
        split.addWidget(self.view)
        self.panel = XmlPanel()
        split.addWidget(self.panel)
        split.setSizes([300, 280])
        layout.addWidget(split, 1)
        self.status = QLabel("")
        self.status.setObjectName("networksStatus")
        layout.addWidget(self.status)

    # ------------------------------------------------------------- connections
    def _connection_trouble(self, uri: str, _exc: BaseException) -> None:
        if self.manager.conn(uri) is None:  # the connection dropped: its networks are no longer known
            self._connection_removed(uri)

    def _connection_removed(self, uri: str) -> None:
        self._refreshing.pop(uri, None)
        self._unsupported.discard(uri)
        self.model.remove_connection(uri)
        self._update_actions()
        self._update_status()

    # ----------------------------------------------------------------- refresh
    def refresh_all(self, user: bool = False) -> None:
        open_uris = set(self.manager.open_uris())
        for uri in self.model.uris():
            if uri not in open_uris:
                self.model.remove_connection(uri)
        for uri in sorted(open_uris):
            self.refresh(uri, user=user)
        self._update_status()

    def refresh(self, uri: str, user: bool = False) -> None:
        """Read ``uri``'s networks on the pool (skipped while a refresh of it is in flight, unless ``user``)."""
        conn = self.manager.conn(uri)
        if conn is None:
            self.model.remove_connection(uri)
            return
        if uri in self._refreshing and not user:
            return
        self._generation += 1
        gen = self._refreshing[uri] = self._generation
        read_only = self.manager.is_read_only(uri)
        self.runner.submit(f"List networks of {uri}", lambda: fetch_rows(uri, conn, read_only), uri=uri,
                           operation="virConnectListAllNetworks", owner=self,
                           on_result=lambda rows: self._refreshed(uri, gen, rows),
                           on_error=lambda exc: self._refresh_failed(uri, gen, exc, user))
        self._update_status()

    def _refreshed(self, uri: str, gen: int, rows: list[NetworkRow]) -> None:
        if self._refreshing.get(uri) != gen:
            return
        del self._refreshing[uri]
        self._unsupported.discard(uri)
        if uri in self.manager.connections:
            fresh = uri not in self.model.uris()
            self.model.set_rows(uri, rows)
            if fresh and rows:  # a connection's first rows: fit the columns (later, the user's widths stay)
                self._fit_columns()
        self._selection_changed()
        self._update_status()

    def _fit_columns(self) -> None:
        header = self.view.horizontalHeader()
        self.view.resizeColumnsToContents()
        for col in range(self.model.columnCount() - 1):
            header.resizeSection(col, header.sectionSize(col) + 18)

    def _refresh_failed(self, uri: str, gen: int, exc: BaseException, user: bool) -> None:
        if self._refreshing.get(uri) != gen:
            return
        del self._refreshing[uri]
        if error_code(exc) == getattr(libvirt, "VIR_ERR_NO_SUPPORT", 3):
            self._unsupported.add(uri)  # a driver without virtual networks: nothing to list, nothing wrong
            self.model.set_rows(uri, [])
            self._update_status()
            return
        self.status.setText(f"Could not list the networks of {uri}: {exc}")
        if user:
            self.show_error(exc, operation="virConnectListAllNetworks", uri=uri)

    def _update_status(self) -> None:
        if self._refreshing:
            self.status.setText("Reading networks…")
            return
        rows = self.model.rows()
        conns = len(self.model.uris())
        active = sum(1 for r in rows if r.active)
        text = (f"{len(rows)} network{'s' if len(rows) != 1 else ''} ({active} active) on {conns} "
                f"connection{'s' if conns != 1 else ''}" if conns else "No open connection")
        unsupported = sorted(u for u in self._unsupported if u in self.model.uris())
        if unsupported:
            text += f"; no virtual networks on {', '.join(unsupported)} (not supported by its driver)"
        self.status.setText(text)

    # --------------------------------------------------------------- selection
    def selected_row(self) -> Optional[NetworkRow]:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select(self, uri: str, uuid: str) -> bool:
        r = self.model.find((uri, uuid))
        if r < 0:
            self._want_select = (uri, uuid)
            return False
        self.view.selectionModel().select(self.model.index(r, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                          | QItemSelectionModel.SelectionFlag.Rows)
        self.view.scrollTo(self.model.index(r, 0))
        return True

    def select_name(self, uri: str, name: str) -> bool:
        row = self.model.find_name(uri, name)
        return row is not None and self.select(row.uri, row.uuid)

    def _restore_selection(self) -> None:
        key, self._want_select = self._want_select, None
        if key is None:
            key = self._last_key
        if key is not None and self.model.find(key) >= 0:
            self.select(*key)
        else:
            self._selection_changed()  # a reset clears the selection without a selectionChanged

    def _selection_changed(self) -> None:
        row = self.selected_row()
        if row is not None:
            self._last_key = row.key
        if row != self._shown:
            self._shown = row
            self.panel.show_row(row)
        self._update_actions()
        if row is not None and row.active and row.dhcp:
            self._load_leases(row)

    def _load_leases(self, row: NetworkRow) -> None:
        conn = self.manager.conn(row.uri)
        if conn is None:
            return
        key = self._lease_key = row.key

        def done(leases: list[dict[str, Any]]) -> None:
            if self._lease_key == key and self.selected_row() is not None and self.selected_row().key == key:
                self.panel.set_leases(leases)

        def failed(exc: BaseException) -> None:
            if self._lease_key == key:
                self.panel.set_lease_error(str(exc))

        self.runner.submit(f"DHCP leases of {row.name}", lambda: fetch_leases(conn, row.uuid), uri=row.uri,
                           operation="virNetworkGetDHCPLeases", owner=self, on_result=done, on_error=failed)

    def _update_actions(self) -> None:
        row = self.selected_row()
        read_only = row is not None and self.manager.is_read_only(row.uri)
        busy = row is not None and row.key in self._busy
        for key, action in self.actions_by_key.items():
            reason = disabled_reason(key, row, read_only, busy)
            action.setEnabled(not reason)
            action.setToolTip(reason or OPS[key].tip)
        auto = self.actions_by_key["autostart"]
        auto.setChecked(bool(row is not None and row.autostart))
        if row is not None and auto.isEnabled() and row.autostart:
            auto.setToolTip("Autostart is on: click to stop starting the network when the host boots")
        if self.manager.open_uris(writable=True):
            self.act_create.setEnabled(True)
            self.act_create.setToolTip("Define a new virtual network from a small form")
        else:
            self.act_create.setEnabled(False)
            self.act_create.setToolTip("No writable connection is open: connect (not read-only) to create networks"
                                       if self.manager.connections else "No connection is open")

    # ----------------------------------------------------------------- actions
    def _context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        if self.selected_row() is not None:
            for key in ("start", "stop", "autostart", "delete"):
                menu.addAction(self.actions_by_key[key])
            menu.addSeparator()
        menu.addAction(self.act_create)
        menu.addAction(self.act_refresh)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def trigger(self, key: str) -> None:
        row = self.selected_row()
        if disabled_reason(key, row, row is not None and self.manager.is_read_only(row.uri),
                           row is not None and row.key in self._busy):
            return
        assert row is not None
        if key == "start":
            self._run(row, "start", lambda net: net.create())
        elif key == "stop":
            self._run(row, "stop", lambda net: net.destroy())
        elif key == "delete":
            self._confirm_delete(row)

    def set_autostart(self, on: bool) -> None:
        row = self.selected_row()
        if row is None or disabled_reason("autostart", row, self.manager.is_read_only(row.uri), row.key in self._busy):
            self._update_actions()
            return
        self._run(row, "autostart", lambda net: net.setAutostart(1 if on else 0))

    def _confirm_delete(self, row: NetworkRow) -> None:
        what = (f"'{row.name}' is running: it will be stopped (its guests lose connectivity) and its definition "
                f"removed." if row.active and row.persistent else
                f"'{row.name}' is transient: stopping it removes it." if not row.persistent else
                f"The definition of '{row.name}' will be removed.")
        box = self.confirm_box = QMessageBox(QMessageBox.Icon.Warning, f"Delete network '{row.name}'?",
                                             f"Delete the network '{row.name}' of {row.uri}?", parent=self)
        box.setObjectName("deleteNetworkBox")
        box.setInformativeText(what + " This cannot be undone.")
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        delete = box.addButton("&Delete", QMessageBox.ButtonRole.DestructiveRole)
        delete.setObjectName("confirmDeleteButton")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: Any) -> None:
            if button is delete:
                self._run(row, "delete", _delete)

        box.buttonClicked.connect(answered)
        box.open()

    def _run(self, row: NetworkRow, key: str, fn: Any) -> None:
        """Look the network up by UUID and apply ``fn`` to it on the pool; refresh afterwards."""
        conn = self.manager.conn(row.uri)
        if conn is None:
            return
        op = OPS[key]
        self._busy.add(row.key)
        self._update_actions()

        def work() -> Any:
            return fn(conn.networkLookupByUUIDString(row.uuid))

        def done(_result: Any) -> None:
            self._busy.discard(row.key)
            self.refresh(row.uri, user=True)

        def failed(exc: BaseException) -> None:
            self._busy.discard(row.key)
            self.show_error(exc, operation=f"{op.api} ('{row.name}')", uri=row.uri,
                            title=f"{op.text.replace('&', '').rstrip('…')} '{row.name}' failed")
            self.refresh(row.uri, user=True)

        self.runner.submit(f"{op.text.replace('&', '').rstrip('…')} network {row.name}", work, uri=row.uri,
                           operation=op.api, owner=self, on_result=done, on_error=failed)

    # ------------------------------------------------------------------ create
    def open_create_dialog(self) -> Optional[CreateNetworkDialog]:
        uris = self.manager.open_uris(writable=True)
        if not uris:
            return None
        if self.create_dialog is not None and shiboken6.isValid(self.create_dialog):
            self.create_dialog.raise_()
            self.create_dialog.activateWindow()
            return self.create_dialog
        selected = self.selected_row()
        if selected is not None and selected.uri in uris:
            uris.remove(selected.uri)
            uris.insert(0, selected.uri)
        dialog = self.create_dialog = CreateNetworkDialog(
            uris, lambda uri: [r.name for r in self.model.rows_of(uri)],
            lambda uri: [s for r in self.model.rows_of(uri) for s in r.subnets], self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.create_requested.connect(self._create)
        dialog.show()
        return dialog

    def _create(self, uri: str, xml: str, start: bool, autostart: bool) -> None:
        conn = self.manager.conn(uri)
        dialog = self.create_dialog
        if conn is None:
            if dialog is not None:
                dialog.set_busy(False)
            self.show_error(RuntimeError(f"The connection {uri} is closed"), operation="virNetworkDefineXML",
                            uri=uri)
            return

        def work() -> tuple[str, str, Optional[tuple[str, BaseException]]]:
            net = conn.networkDefineXML(xml)
            uuid, name = net.UUIDString(), net.name()
            try:
                if autostart:
                    net.setAutostart(1)
                if start:
                    net.create()
            except Exception as exc:  # defined, but not started: reported, the network stays listed
                return uuid, name, ("virNetworkCreate" if start else "virNetworkSetAutostart", exc)
            return uuid, name, None

        def done(res: tuple[str, str, Optional[tuple[str, BaseException]]]) -> None:
            uuid, name, later = res
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.accept()
            self._want_select = (uri, uuid)
            self.refresh(uri, user=True)
            if later is not None:
                api, exc = later
                self.show_error(exc, operation=f"{api} ('{name}')", uri=uri,
                                title=f"'{name}' was defined but could not be started")

        def failed(exc: BaseException) -> None:
            parent = dialog if dialog is not None and shiboken6.isValid(dialog) else self
            if parent is dialog:
                dialog.set_busy(False)  # the form keeps everything typed
            self.show_error(exc, operation="virNetworkDefineXML", uri=uri, title="Could not create the network",
                            parent=parent)

        self.runner.submit("Create network", work, uri=uri, operation="virNetworkDefineXML", owner=self,
                           on_result=done, on_error=failed)

    # ------------------------------------------------------------------ errors
    def show_error(self, exc: BaseException, *, operation: str = "", uri: str = "", title: str = "",
                   parent: Optional[QWidget] = None) -> ErrorDialog:
        return show_error(parent or self, exc, operation=operation, uri=uri, title=title, keep_in=self.error_dialogs)

    # ------------------------------------------------------------------ events
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh_all()
        self.timer.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.timer.stop()
        super().closeEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Close and self.isVisible():
            self.close()
        return False


def _delete(net: Any) -> None:
    """Stop the network if it runs, then remove its definition (a transient one is gone once stopped)."""
    persistent = net.isPersistent()
    if net.isActive():
        net.destroy()
    if persistent:
        net.undefine()


def open_networks_window(main_window: Any) -> NetworksWindow:
    """The networks window of ``main_window`` (one per main window), shown and raised."""
    win = getattr(main_window, "networks_window", None)
    if win is None or not shiboken6.isValid(win):
        win = NetworksWindow(main_window.manager, main_window.runner, main_window)
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        main_window.networks_window = win
    win.show()
    win.raise_()
    win.activateWindow()
    return win
