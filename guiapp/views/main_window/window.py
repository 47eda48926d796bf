"""The main window: connections and their domains, actions, filter, jobs panel and status area.

MainWindow is composed of mixins, one job each: ``menus.MenusAndToolbar`` (actions, menus, tool bar, filter box),
``domain_ops.DomainOperations`` (what actions do to domains: jobs, bulk jobs, save/restore, delete, consoles),
``selection.SelectionAndFilter`` and ``status.StatusAndLifecycle`` (status area, jobs dock, Quit); this module
builds the view and wires the model, the poller and the dialogs together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Optional

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMainWindow,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...jobs import UI_WORK, JobRunner
from ...models.connections import ConnectionManager
from ...models.domain_filter import DomainFilterProxy
from ...models.domains import (
    COL_CPU,
    COL_DISK,
    COL_ID,
    COL_MEM,
    COL_NAME,
    COL_NET,
    COL_SCREEN,
    COL_STATE,
    KIND_ROLE,
    ROW_ROLE,
    SPARK_COLUMNS,
    ConnectionNode,
    DomainTreeModel,
)
from ...models.preferences import SETTINGS_SWEEP, int_pref
from ...models.stats import DomainRow
from ...models.thumbnails import LIST_SIZE, DomainListThumbnails
from ..errors import ErrorDialog, show_error
from ..icons import app_icon, state_icon
from ..preferences import PreferencesDialog, poll_interval_ms
from .actions import DomainActions, has_vnc_graphics
from .add_connection import AddConnectionDialog
from .delegates import DomainTreeView
from .domain_ops import DomainOperations
from .menus import MenusAndToolbar
from .selection import Selected, SelectionAndFilter
from .status import StatusAndLifecycle
from .visible import visible_domains

log = logging.getLogger(__name__)

_LABEL_MARGINS = 16  # a connection row's cell around its icon and label (the style's margins, with some slack)


def _icon_width(view: Any) -> int:
    size = view.iconSize().width()
    return size if size > 0 else view.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)


class MainWindow(DomainOperations, MenusAndToolbar, SelectionAndFilter, StatusAndLifecycle, QMainWindow):
    """The manager's main window; owns the job runner, the domain model and the connections."""

    def __init__(self, settings: Optional[QSettings] = None, runner: Optional[JobRunner] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("guiapp — Virtual Machine Manager")
        self.setWindowIcon(app_icon())
        self.settings = settings
        self.runner = runner or JobRunner(parent=self)
        self.model = DomainTreeModel(self, icons=state_icon)
        self.proxy = DomainFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.manager = ConnectionManager(self.runner, self.model, settings, poll_interval_ms(settings), self)
        self.manager.full_tick_domains = int_pref(settings, SETTINGS_SWEEP)
        self.screens = DomainListThumbnails(self.model, self.manager, settings, parent=self)  # the Screen column
        self.details_windows: dict[tuple[str, bytes], Any] = {}
        self.error_dialogs: list[ErrorDialog] = []
        self.poll_errors: dict[str, str] = {}
        # hooks (tests replace them): where to save, which file to restore
        self.ask_save_dir: Callable[[], Optional[str]] = self._ask_save_dir
        self.ask_restore_file: Callable[[str], Optional[str]] = self._ask_restore_file
        self._selected_keys: Optional[list[tuple[str, bytes]]] = None
        self._actions_version = -1
        self._actions_timer = QTimer(self)  # selection and state changes coalesce into one actions update
        self._actions_timer.setSingleShot(True)
        self._actions_timer.setInterval(0)
        self._actions_timer.timeout.connect(self._update_actions)
        self._build_view()
        self.domain_actions = DomainActions(self)
        self.domain_actions.triggered.connect(self.run_action)
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_and_jobs()
        self.manager.poll_failed.connect(self._on_poll_failed)
        self.manager.polled.connect(self._on_polled)
        self.manager.watched = lambda uri: visible_domains(self.view, uri)  # big lists: poll what is on screen
        self.manager.open_failed.connect(self._on_open_failed)
        self.model.dataChanged.connect(self._on_model_data_changed)
        self.model.rowsRemoved.connect(lambda *_: self._selection_changed())
        self.model.modelReset.connect(self._selection_changed)
        self.proxy.rowsRemoved.connect(lambda *_: self._selection_changed())  # filtered out: deselected
        self._vnc_probe: Optional[tuple[str, bytes]] = None
        self._has_vnc: dict[tuple[str, bytes], bool] = self.screens.has_vnc  # one cache for both
        self._counted = -1
        self._resort_after: set[str] = set()  # connections whose next full tick re-sorts the list
        self.manager.removed.connect(lambda _uri: self.screens.update())
        self.screens.changed.connect(self._screens_changed)
        self._restore_window_state()
        self._screens_changed()

    # ------------------------------------------------------------------- build
    def _build_view(self) -> None:
        view = self.view = DomainTreeView(self)
        view.setObjectName("domainView")
        view.setModel(self.proxy)
        view.setUniformRowHeights(True)
        view.setAlternatingRowColors(True)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSortingEnabled(True)
        view.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        view.setAllColumnsShowFocus(True)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._context_menu)
        view.activated.connect(self._activated)
        header = view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        header.setToolTip("Click to sort; right-click to show or hide columns")
        header.sortIndicatorChanged.connect(self._sort_requested)
        widths = {COL_NAME: 220, COL_STATE: 110, COL_ID: 50, COL_CPU: 130, COL_MEM: 90, COL_DISK: 130, COL_NET: 130,
                  COL_SCREEN: LIST_SIZE.width() + 8}
        view.thumbnails = self.model.thumbnails
        for col, w in widths.items():
            header.resizeSection(col, w)
        self.proxy.rowsInserted.connect(self._rows_inserted)
        self.proxy.layoutChanged.connect(self._respan)
        self.view.header().sectionResized.connect(self._name_resized)
        self.proxy.rowsRemoved.connect(lambda parent, *_: None if parent.isValid() else self._respan())
        view.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        central = QWidget(self)
        box = QVBoxLayout(central)
        box.setContentsMargins(4, 4, 4, 0)
        box.setSpacing(4)
        self.filter_bar = QHBoxLayout()
        box.addLayout(self.filter_bar)
        box.addWidget(view)
        self.setCentralWidget(central)


    # ------------------------------------------------------------- selection

    def _update_actions(self) -> None:
        with UI_WORK:
            self._update_actions_now()

    def _update_actions_now(self) -> None:
        sel = self.selected_domains()
        rows = [r for _u, r in sel]
        self.domain_actions.has_vnc = None
        if len(sel) == 1:
            self.domain_actions.has_vnc = self._has_vnc.get((sel[0][0], sel[0][1].uuid))
            self._probe_vnc(*sel[0])
        self.domain_actions.update(rows, self._read_only_uuids(sel))
        uri = self.selected_connection()
        entry = self.manager.connections.get(uri) if uri else None
        self.act_retry.setEnabled(entry is not None and not entry.is_open)
        self.act_retry.setToolTip("Reconnect the selected connection" if entry is not None and not entry.is_open
                                  else "Retry: the selected connection is not failed or dropped")
        self.act_remove_conn.setEnabled(entry is not None)
        self.act_restore.setEnabled(entry is not None and entry.is_open)

    def _read_only_uuids(self, sel: Selected) -> frozenset:
        conns = self.manager.connections
        return frozenset(r.uuid for u, r in sel if u in conns and conns[u].read_only)

    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex, *_: Any) -> None:
        # a connection row changed (status), or domain states changed: refresh the actions once, later
        if not top.parent().isValid():
            self._schedule_actions_update()
            self._respan()  # a connection's label changed (status, count)
        elif self._actions_version != self.model.state_version:
            self._actions_version = self.model.state_version
            if self.view.selectionModel().hasSelection():
                self._schedule_actions_update()
            if self.filter_edit.text().strip() and not self._filter_timer.isActive():
                self._filter_timer.start()  # the filter matches states: apply it again, once per burst

    def _probe_vnc(self, uri: str, row: DomainRow) -> None:
        """Find out (on the pool, once per domain) whether it has VNC graphics, for the console's tooltip."""
        conn = self.manager.conn(uri)
        key = (uri, row.uuid)
        if conn is None or self._vnc_probe == key or key in self._has_vnc:
            return
        self._vnc_probe = key
        uuid = row.uuid

        def done(has: bool) -> None:
            self._has_vnc[key] = has
            sel = self.selected_domains()
            if len(sel) == 1 and sel[0][1].uuid == uuid:
                self.domain_actions.has_vnc = has
                self.domain_actions.update([sel[0][1]], self._read_only_uuids(sel))

        def failed(_exc: BaseException) -> None:
            self._vnc_probe = None

        self.runner.submit("Read graphics", lambda: has_vnc_graphics(conn.lookupByUUID(uuid).XMLDesc(0)),
                           on_result=done, on_error=failed)


    def _screens_changed(self, save: bool = False) -> None:
        """Show the Screen column (taller rows) while it is wanted and thumbnails are on; say why not."""
        action = self._column_actions[COL_SCREEN]
        wanted = action.isChecked()
        if save and self.settings is not None:
            self.settings.setValue("window/screen_column", wanted)
        show = wanted and self.screens.active
        if self.view.isColumnHidden(COL_SCREEN) == show:
            self.view.setColumnHidden(COL_SCREEN, not show)
        height = LIST_SIZE.height() + 4 if show else 0
        if self.view.row_painter.row_height != height:
            self.view.row_painter.row_height = height
            self.view.doItemsLayout()
        reason = self.screens.off_reason
        action.setToolTip(reason[:1].upper() + reason[1:] if reason else "Live screen thumbnails")
        failures = self.screens.failures
        if reason and wanted and self.screens.service.switched_on:  # off because of the domain limit
            text, tip = "Thumbnails off", reason[:1].upper() + reason[1:]
        elif failures and show:
            text = f"{len(failures)} screen{'s' if len(failures) != 1 else ''} not shown"
            lines = []
            for (uri, uuid), why in list(failures.items())[:20]:
                row = self.model.domain_row(uri, uuid)
                lines.append(f"{row.name if row else uuid.hex()}: {why}")
            tip = "\n".join(lines)
        else:
            text = tip = ""
        self.screens_label.setText(text)
        self.screens_label.setToolTip(tip)
        self.screens_label.setVisible(bool(text))

    def open_networks_window(self) -> None:
        """The networks page (one window, raised when already open)."""
        from ..networks import open_networks_window
        open_networks_window(self)

    def open_storage_window(self) -> None:
        """The Storage window (one window, raised when already open)."""
        from ..storage import open_storage_window
        open_storage_window(self)

    def open_new_vm_wizard(self) -> None:
        """The New-VM wizard on the open connections (non-modal)."""
        from ..wizard import open_new_vm_wizard
        open_new_vm_wizard(self)


    # ------------------------------------------------------------ connections
    def open_add_connection(self) -> AddConnectionDialog:
        dialog = AddConnectionDialog(self, tuple(self.manager.connections))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.add_requested.connect(
            lambda uri, ro: self.manager.add(uri, read_only=ro, remember=dialog.autoconnect.isChecked()))
        self.add_dialog = dialog
        dialog.open()
        return dialog

    def retry_selected_connection(self) -> None:
        uri = self.selected_connection()
        if uri:
            self.manager.retry(uri)

    def remove_selected_connection(self) -> None:
        uri = self.selected_connection()
        if uri:
            self.manager.remove(uri)

    def open_preferences(self) -> PreferencesDialog:
        dialog = PreferencesDialog(self.settings, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.interval_changed.connect(self.manager.set_interval)
        dialog.sweep_changed.connect(lambda n: setattr(self.manager, "full_tick_domains", n))
        dialog.thumbnails_changed.connect(self.screens.apply_settings)
        self.prefs_dialog = dialog
        dialog.open()
        return dialog

    def _on_open_failed(self, uri: str, exc: BaseException) -> None:
        self.show_error(exc, operation="virConnectOpen", uri=uri, title=f"Could not connect to {uri}")

    def _sort_requested(self, column: int, _order: Qt.SortOrder) -> None:
        """Sorting by a statistic: big lists sample every domain first, then sort again with fresh values."""
        if column not in SPARK_COLUMNS and column != COL_MEM:
            self._resort_after.clear()
            return
        manager = self.manager
        self._resort_after = {u for u, e in manager.connections.items() if e.is_open and manager.full_every(e) > 1}
        for uri in self._resort_after:
            manager.poll_now(uri)

    def _on_polled(self, uri: str, result: Any) -> None:
        if uri in self._resort_after and not result.partial:
            self._resort_after.discard(uri)
            if not self._resort_after:
                self.model.resort()
        self.screens.update()
        if self.poll_errors.pop(uri, None) is not None:
            self._show_poll_errors()
        if result.full or result.removed or self._counted != self.model.domain_count():
            self._counted = self.model.domain_count()
            self._update_count()

    # ----------------------------------------------------------------- errors

    def show_error(self, exc: BaseException, *, operation: str = "", uri: str = "", title: str = "") -> ErrorDialog:
        """The error dialog for every window of the manager; its hint's safe action (start a network or a
        domain) runs on the connection ``uri`` through :meth:`run_hint_action`."""
        on_action = None
        if uri and self.manager.conn(uri) is not None:
            def on_action(kind: str, name: str, uri: str = uri) -> None:
                self.run_hint_action(uri, kind, name)
        dialog = show_error(self, exc, operation=operation, uri=uri, title=title, on_action=on_action)
        self.error_dialogs.append(dialog)
        dialog.destroyed.connect(lambda *_a, d=dialog: self.error_dialogs.remove(d) if d in self.error_dialogs
                                 else None)
        return dialog

    # ---------------------------------------------------------------- details
    def open_details(self, uri: str, uuid: bytes) -> Any:
        from ..details import DetailsWindow

        key = (uri, uuid)
        win = self.details_windows.get(key)
        if win is None:
            win = DetailsWindow(self, uri, uuid)
            self.details_windows[key] = win
            win.destroyed.connect(lambda *_a, k=key: self.details_windows.pop(k, None))
        win.show()
        win.raise_()
        win.activateWindow()
        return win

    def open_vm_window(self, uri: str, uuid: bytes, page: str = "") -> Any:
        """The one VM window of a domain (console, details, snapshots): double-click opens it."""
        from ..vmwin import open_vm_window
        return open_vm_window(self, uri, uuid, page)

    # ------------------------------------------------------------------- misc

    def _rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if not parent.isValid():
            for r in range(first, last + 1):
                self.view.expand(self.proxy.index(r, 0))
            self._respan()
            self._selection_changed()
        elif self.view.currentIndex().isValid() is False:
            idx = self.proxy.index(first, 0, parent)
            self.view.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.NoUpdate)

    def _respan(self, *_args: Any) -> None:
        """A connection row whose label does not fit the Name column uses the whole row; the others do not.

        Only those: while any row spans, every relayout (each filter keystroke) asks the model for one more
        index per domain row, a fifth of its cost at 2000 domains. Set only when it changes (each change lays
        the whole tree out again).
        """
        view, root = self.view, QModelIndex()
        header = view.header()
        indent = view.indentation() if header.visualIndex(COL_NAME) == 0 else 0
        room = header.sectionSize(COL_NAME) - indent - _icon_width(view) - _LABEL_MARGINS
        metrics = view.fontMetrics()
        for r in range(self.proxy.rowCount()):
            label = self.proxy.index(r, COL_NAME).data(Qt.ItemDataRole.DisplayRole)
            span = metrics.horizontalAdvance(str(label or "")) > room
            if view.isFirstColumnSpanned(r, root) != span:
                view.setFirstColumnSpanned(r, root, span)

    def _name_resized(self, column: int, _old: int, _new: int) -> None:
        if column == COL_NAME:
            self._respan()

    def _activated(self, pidx: QModelIndex) -> None:
        sidx = self.proxy.mapToSource(pidx)
        kind = sidx.data(KIND_ROLE)
        if kind == "domain":
            parent = sidx.internalPointer()
            self.open_vm_window(parent.uri, parent.rows[sidx.row()].uuid)
        elif kind == "connection":
            conn_node: ConnectionNode = sidx.data(ROW_ROLE)
            if conn_node.status in (conn_node.FAILED, conn_node.DISCONNECTED):
                self.manager.retry(conn_node.uri)


    # ------------------------------------------------------------ window state

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.customizing_windows():  # closing the manager quits: ask about new guests first (quit_app)
            event.ignore()
            self.quit_app()
            return
        self.save_window_state()
        for win in [*self.details_windows.values(), *getattr(self, "vm_windows", {}).values()]:
            win.close()
        self.screens.close()
        self.manager.shutdown(wait_ms=2000)
        super().closeEvent(event)


__all__ = ["MainWindow", "COL_ID", "COL_MEM"]
