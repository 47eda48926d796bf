"""The Storage window: pools of every open connection with usage bars, and the selected pool's volumes.

Every driver call runs through the job runner (``guiapp/jobs.py``); the UI thread only shows results.
What the change actions do is in :mod:`.changes`. Uploads and downloads report progress to a bar and
stop on Cancel (nothing half-written is kept: see :func:`guiapp.backend.storage.upload_file`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

import shiboken6
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ...jobs import JobRunner
from ...models.connections import ConnectionManager
from ..close_keys import close_on_keys
from ..errors import ErrorDialog, show_error
from ..icons import app_icon
from .changes import StorageChanges
from .models import P_USAGE, PoolModel, UsageDelegate, VolumeModel
from .rows import PoolRow, VolRow, VolumeList, fetch_pools, fetch_volumes
from .transfer import TransferBar

REFRESH_MS = 5000


def _table(name: str) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


class StorageWindow(StorageChanges, QWidget):
    """A non-modal window for storage pools and volumes of the manager's open connections."""

    def __init__(self, manager: ConnectionManager, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.manager, self.runner = manager, runner
        self.setObjectName("storageWindow")
        self.setWindowTitle("Storage")
        self.setWindowIcon(app_icon())
        close_on_keys(self)
        self.resize(1100, 680)
        self.pools = PoolModel(self)
        self.volumes = VolumeModel(self)
        self.error_dialogs: list[ErrorDialog] = []
        self.confirm_box: Optional[QMessageBox] = None
        self.dialog: Optional[Any] = None
        self._pool_rows: dict[str, list[PoolRow]] = {}
        self._vol_gen = 0
        self._shown_pool: Optional[tuple[str, str]] = None
        self._busy = 0
        self.last_transfer = ""  # "Upload of x finished" / "... cancelled" / "... failed"
        self._build()
        manager.connected.connect(lambda uri: self.refresh_all())
        manager.removed.connect(lambda uri: self._drop(uri))
        self.timer = QTimer(self)  # runs while the window is shown (showEvent/hideEvent)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(lambda: self.refresh_all())
        self._update_actions()

    def closeEvent(self, event: QCloseEvent) -> None:
        """While an upload or download runs, closing only hides the window: the transfer goes on, and Storage
        opened again shows its progress and Cancel (closing would drop both with the window)."""
        if self.transfers.running:
            event.ignore()
            self.hide()
            return
        super().closeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        self.timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()  # a hidden window refreshes nothing; open_storage_window refreshes on show
        super().hideEvent(event)

    # ------------------------------------------------------------------- build
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.toolbar = QToolBar("Storage")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        layout.addWidget(self.toolbar)
        self.acts: dict[str, QAction] = {}

        def act(key: str, text: str, tip: str, slot: Callable[[], Any], shortcut: str = "") -> QAction:
            a = QAction(text, self)
            a.setObjectName(f"storage_action_{key}")
            a.setToolTip(tip)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(lambda _c=False: slot())
            self.toolbar.addAction(a)
            self.addAction(a)
            self.acts[key] = a
            return a

        act("new_pool", "New &Pool…", "Define a dir or logical pool", self.open_new_pool)
        act("start", "&Start", "Start the selected pool", lambda: self.pool_job("start"))
        act("stop", "S&top", "Stop the selected pool", lambda: self.pool_job("stop"))
        auto = act("autostart", "&Autostart", "Start the selected pool when the host boots",
                   lambda: self.pool_job("autostart"))
        auto.setCheckable(True)
        act("delete_pool", "Delete Pool…", "Stop and undefine the selected pool (its files stay)",
            self.confirm_delete_pool)
        self.toolbar.addSeparator()
        act("new_vol", "&New Volume…", "Create a volume in the selected pool", self.open_new_volume, "Ctrl+N")
        act("delete_vol", "&Delete Volume…", "Delete the selected volume", self.confirm_delete_volume, "Del")
        act("resize", "&Resize…", "Change the capacity of the selected volume", self.open_resize)
        act("upload", "&Upload…", "Copy a file into the selected volume", self.choose_upload)
        act("download", "Do&wnload…", "Copy the selected volume into a file", self.choose_download)
        self.toolbar.addSeparator()
        act("refresh", "Re&fresh", "Read pools and volumes again", lambda: self.refresh_all(user=True), "F5")

        split = QSplitter(Qt.Orientation.Vertical)
        self.pool_view = _table("poolView")
        self.pool_view.setModel(self.pools)
        self.pool_view.setItemDelegateForColumn(P_USAGE, UsageDelegate(self.pool_view))
        self.pool_view.horizontalHeader().resizeSection(0, 170)
        self.pool_view.horizontalHeader().resizeSection(P_USAGE, 260)
        self.pool_view.selectionModel().selectionChanged.connect(lambda *_: self._pool_selected())
        self.pools.modelReset.connect(self._restore_pool)
        self.vol_view = _table("volumeView")
        self.vol_view.setModel(self.volumes)
        self.vol_view.horizontalHeader().resizeSection(0, 220)
        self.vol_view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        split.addWidget(self.pool_view)
        split.addWidget(self.vol_view)
        split.setSizes([220, 380])
        layout.addWidget(split, 1)
        bottom = QHBoxLayout()
        self.status = QLabel("")
        self.status.setObjectName("storageStatus")
        self.transfers = TransferBar(self)
        self.progress, self.cancel_button = self.transfers.progress, self.transfers.cancel_button
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.transfers)
        layout.addLayout(bottom)

    # ----------------------------------------------------------------- helpers
    def selected_pool(self) -> Optional[PoolRow]:
        rows = self.pool_view.selectionModel().selectedRows()
        return self.pools.row_at(rows[0].row()) if rows else None

    def selected_volume(self) -> Optional[VolRow]:
        rows = self.vol_view.selectionModel().selectedRows()
        return self.volumes.row_at(rows[0].row()) if rows else None

    def show_error(self, exc: BaseException, operation: str, uri: str = "") -> None:
        show_error(self, exc, operation=operation, uri=uri, keep_in=self.error_dialogs)

    def _submit(self, title: str, fn: Callable[..., Any], uri: str, api: str,
                done: Optional[Callable[[Any], Any]] = None, *, context: bool = False, long: bool = False) -> None:
        self._busy += 1
        self._update_actions()

        def ok(result: Any) -> None:
            self._busy -= 1
            if done is not None:
                done(result)
            self._update_actions()

        def failed(exc: BaseException) -> None:
            self._busy -= 1
            self.show_error(exc, api, uri)
            self._update_actions()
            self.refresh_all()

        self.runner.submit(title, fn, uri=uri, operation=api, owner=self, on_result=ok, on_error=failed,
                           takes_context=context, long=long)

    # ----------------------------------------------------------------- refresh
    def refresh_all(self, user: bool = False) -> None:
        uris = self.manager.open_uris()
        for uri in list(self._pool_rows):
            if uri not in uris:
                self._drop(uri)
        for uri in uris:
            conn = self.manager.conn(uri)
            if conn is None:
                continue
            ro = self.manager.is_read_only(uri)
            self._list_pools(uri, conn, ro, user)
        if user:
            self.load_volumes(refresh=True)

    def _list_pools(self, uri: str, conn: Any, read_only: bool, user: bool) -> None:
        self.runner.submit(f"List storage pools of {uri}", lambda: fetch_pools(uri, conn, read_only), uri=uri,
                           operation="virConnectListAllStoragePools", owner=self,
                           on_result=lambda rows: self._pools_read(uri, rows),
                           on_error=lambda exc: self._pools_failed(uri, exc, user))

    def _pools_read(self, uri: str, rows: list[PoolRow]) -> None:
        if uri not in self.manager.connections:
            return
        self._pool_rows[uri] = rows
        self._set_pool_rows()

    def _pools_failed(self, uri: str, exc: BaseException, user: bool) -> None:
        self._pool_rows[uri] = []
        self._set_pool_rows()
        self.status.setText(f"Could not list the storage pools of {uri}: {exc}")
        if user:
            self.show_error(exc, "virConnectListAllStoragePools", uri)

    def _drop(self, uri: str) -> None:
        if self._pool_rows.pop(uri, None) is not None:
            self._set_pool_rows()

    def _set_pool_rows(self) -> None:
        self.pools.set_rows([r for u in sorted(self._pool_rows) for r in self._pool_rows[u]])
        self._update_status()

    def _restore_pool(self) -> None:
        key = self._shown_pool
        r = self.pools.find(key) if key else -1
        if r < 0 and self.pools.rowCount() and key is None:
            r = 0
        if r >= 0:
            self.pool_view.selectionModel().select(self.pools.index(r, 0),
                                                   QItemSelectionModel.SelectionFlag.ClearAndSelect
                                                   | QItemSelectionModel.SelectionFlag.Rows)
        else:
            self._pool_selected()

    def select_pool(self, uri: str, name: str) -> bool:
        for r, row in enumerate(self.pools.rows()):
            if row.uri == uri and row.name == name:
                self.pool_view.selectionModel().select(self.pools.index(r, 0),
                                                       QItemSelectionModel.SelectionFlag.ClearAndSelect
                                                       | QItemSelectionModel.SelectionFlag.Rows)
                return True
        return False

    def select_volume(self, name: str) -> bool:
        r = self.volumes.find_name(name)
        if r >= 0:
            self.vol_view.selectionModel().select(self.volumes.index(r, 0),
                                                  QItemSelectionModel.SelectionFlag.ClearAndSelect
                                                  | QItemSelectionModel.SelectionFlag.Rows)
        return r >= 0

    def _pool_selected(self) -> None:
        row = self.selected_pool()
        key = row.key if row else None
        changed = key != self._shown_pool
        self._shown_pool = key
        if changed:
            self.volumes.set_rows([])
        self.load_volumes()
        self._update_actions()

    def load_volumes(self, refresh: bool = False) -> None:
        row = self.selected_pool()
        if row is None or not row.active:
            self.volumes.set_rows([])
            self._update_status()
            return
        conn = self.manager.conn(row.uri)
        if conn is None:
            return
        self._vol_gen += 1
        gen = self._vol_gen
        self.runner.submit(f"List volumes of {row.name}",
                           lambda: fetch_volumes(row.uri, conn, row.name, refresh and not row.read_only), uri=row.uri,
                           operation="virStoragePoolListAllVolumes", owner=self,
                           on_result=lambda vl: self._volumes_read(gen, vl),
                           on_error=lambda exc: self._volumes_failed(gen, exc))

    def _volumes_read(self, gen: int, vl: VolumeList) -> None:
        if gen != self._vol_gen:
            return
        self.volumes.set_rows(vl.rows)
        self._update_status()
        self._update_actions()

    def _volumes_failed(self, gen: int, exc: BaseException) -> None:
        if gen == self._vol_gen:
            self.volumes.set_rows([])
            self.status.setText(f"Could not list the volumes: {exc}")

    def _update_status(self) -> None:
        pools = self.pools.rows()
        row = self.selected_pool()
        text = f"{len(pools)} pool{'s' if len(pools) != 1 else ''}"
        if row is not None:
            n = self.volumes.rowCount()
            text += f"; {row.name}: {n} volume{'s' if n != 1 else ''}" if row.active else f"; {row.name} is inactive"
        if self.last_transfer:
            text += f"; {self.last_transfer}"
        self.status.setText(text)

    # ----------------------------------------------------------------- actions
    def disabled_reason(self, key: str) -> str:
        """Why action ``key`` is disabled now ('' when enabled)."""
        pool, vol = self.selected_pool(), self.selected_volume()
        if key == "refresh":
            return ""
        if key == "new_pool":
            return "" if self.manager.open_uris(writable=True) else "No writable connection is open"
        if self.transfers.running and key in ("upload", "download", "delete_vol", "resize"):
            return "A transfer is running: wait for it or cancel it"
        if pool is None:
            return "Select a pool first"
        if self.manager.is_read_only(pool.uri):
            return f"The connection {pool.uri} is read-only"
        if key == "start":
            return f"'{pool.name}' is already active" if pool.active else ""
        if key in ("stop", "new_vol") and not pool.active:
            return f"'{pool.name}' is not active: start it first"
        if key == "autostart" and not pool.persistent:
            return f"'{pool.name}' is transient: only defined pools can start at boot"
        if key in ("stop", "autostart", "new_vol", "delete_pool"):
            return ""
        if vol is None:
            return "Select a volume first"
        if key in ("delete_vol", "resize", "upload") and vol.running_users:
            return f"'{vol.name}' is in use by running domain(s) {', '.join(vol.running_users)}"
        return ""

    def _update_actions(self) -> None:
        for key, a in self.acts.items():
            why = self.disabled_reason(key)
            a.setEnabled(not why)
            if why:
                a.setToolTip(why)
        pool = self.selected_pool()
        self.acts["autostart"].setChecked(bool(pool is not None and pool.autostart))


def open_storage_window(main_window: Any) -> StorageWindow:
    """The Storage window of ``main_window`` (one per main window), shown and raised."""
    win = getattr(main_window, "storage_window", None)
    if win is None or not shiboken6.isValid(win):
        win = StorageWindow(main_window.manager, main_window.runner, main_window)
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        main_window.storage_window = win
    win.show()
    win.raise_()
    win.activateWindow()
    win.refresh_all()
    return win


__all__ = ["StorageWindow", "open_storage_window"]
