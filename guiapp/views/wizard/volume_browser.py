"""A dialog to pick an existing volume (a disk image or an ISO) from a connection's storage pools.

Pools and volumes are read through the job runner; choosing emits ``chosen(path, format)``.
"""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...backend.cli_storage import pretty
from ..storage.rows import PoolRow, VolumeList, fetch_pools, fetch_volumes


class VolumeBrowser(QDialog):
    """Pools of one connection and the selected pool's volumes."""

    chosen = Signal(str, str)  # path, format

    def __init__(self, conn: Any, uri: str, runner: Any, parent: Optional[QWidget] = None, *,
                 title: str = "Choose a storage volume", isos_only: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("volumeBrowser")
        self.setWindowTitle(title)
        self.conn, self.uri, self.runner, self.isos_only = conn, uri, runner, isos_only
        self.pools: list[PoolRow] = []
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.pool = QComboBox()
        self.pool.setObjectName("browserPool")
        self.pool.currentIndexChanged.connect(self._pool_changed)
        form.addRow("Pool:", self.pool)
        lay.addLayout(form)
        self.volumes = QTreeWidget()
        self.volumes.setObjectName("browserVolumes")
        self.volumes.setHeaderLabels(["Name", "Format", "Capacity", "Used by"])
        self.volumes.setRootIsDecorated(False)
        self.volumes.itemDoubleClicked.connect(lambda *_: self._choose())
        self.volumes.currentItemChanged.connect(lambda *_: self._sync())
        lay.addWidget(self.volumes, 1)
        self.status = QLabel("Reading the storage pools…")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.choose_button = buttons.addButton("C&hoose Volume", QDialogButtonBox.ButtonRole.AcceptRole)
        self.choose_button.setObjectName("chooseVolume")
        self.choose_button.clicked.connect(self._choose)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(640, 420)
        self._sync()
        conn_ = conn
        runner.submit(f"List storage pools of {uri}", lambda: fetch_pools(uri, conn_, False),
                      on_result=self._pools_loaded, on_error=self._failed, uri=uri,
                      operation="virConnectListAllStoragePools", owner=self)

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(f"Cannot read the storage: {exc}")

    def _pools_loaded(self, pools: list[PoolRow]) -> None:
        self.pools = [p for p in pools if p.active]
        self.pool.blockSignals(True)
        self.pool.clear()
        for p in self.pools:
            self.pool.addItem(f"{p.name} ({p.type}, {pretty(p.available)} free)", p.name)
        self.pool.blockSignals(False)
        if not self.pools:
            self.status.setText("This connection has no running storage pool.")
            return
        self._pool_changed()

    def _pool_changed(self) -> None:
        name = self.pool.currentData()
        if not name:
            return
        self.volumes.clear()
        self.status.setText(f"Reading the volumes of {name}…")
        conn, uri = self.conn, self.uri
        self.runner.submit(f"List volumes of pool {name}", lambda: fetch_volumes(uri, conn, name),
                           on_result=self._volumes_loaded, on_error=self._failed, uri=uri,
                           operation="virStoragePoolListAllVolumes", owner=self)

    def _volumes_loaded(self, vols: VolumeList) -> None:
        if vols.pool != self.pool.currentData():
            return  # an answer for a pool no longer shown
        self.volumes.clear()
        for v in vols.rows:
            if self.isos_only and not v.name.lower().endswith(".iso"):
                continue
            item = QTreeWidgetItem([v.name, v.format, pretty(v.capacity), v.used_by_text])
            item.setData(0, Qt.ItemDataRole.UserRole, (v.path, v.format))
            item.setToolTip(0, v.path)
            self.volumes.addTopLevelItem(item)
        shown = self.volumes.topLevelItemCount()
        self.status.setText(f"{shown} volume(s) in {vols.pool}" + (" (ISO images only)" if self.isos_only else ""))
        first = self.volumes.topLevelItem(0)
        if first is not None:
            self.volumes.setCurrentItem(first)
        self._sync()

    def _sync(self) -> None:
        self.choose_button.setEnabled(self.volumes.currentItem() is not None)

    def _choose(self) -> None:
        item = self.volumes.currentItem()
        if item is None:
            return
        path, fmt = item.data(0, Qt.ItemDataRole.UserRole)
        self.chosen.emit(path, fmt)
        self.accept()
