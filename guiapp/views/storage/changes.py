"""The Storage window's changes: start/stop/autostart a pool, delete a pool or a volume (after a
confirmation), the New Pool / New Volume / Resize dialogs, and volume uploads/downloads with progress
and Cancel (a mixin of :class:`.window.StorageWindow`; every driver call runs on the job pool)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ...jobs import JobRunner
from ...models.connections import ConnectionManager
from ...models.preferences import storage_format
from .dialogs import NewPoolDialog, NewVolumeDialog, ResizeDialog, confirm_delete_text
from .models import VolumeModel
from .rows import PoolRow, VolRow, find_devices
from .transfer import TransferBar

if TYPE_CHECKING:
    _Base = QWidget
else:
    _Base = object

_SHRINK = 4  # VIR_STORAGE_VOL_RESIZE_SHRINK
_BUILD = 1  # VIR_STORAGE_POOL_CREATE_WITH_BUILD


class StorageChanges(_Base):
    """What the toolbar's change actions do; the window provides the selection, the checks and the job helper."""

    manager: ConnectionManager
    runner: JobRunner
    volumes: VolumeModel
    transfers: TransferBar
    last_transfer: str
    dialog: Any
    confirm_box: Optional[QMessageBox]

    if TYPE_CHECKING:
        def selected_pool(self) -> Optional[PoolRow]: ...
        def selected_volume(self) -> Optional[VolRow]: ...
        def disabled_reason(self, key: str) -> str: ...
        def _update_actions(self) -> None: ...
        def _update_status(self) -> None: ...
        def refresh_all(self, user: bool = False) -> None: ...
        def load_volumes(self, refresh: bool = False) -> None: ...
        def show_error(self, exc: BaseException, operation: str, uri: str = "") -> None: ...
        def _submit(self, title: str, fn: Callable[..., Any], uri: str, api: str,
                    done: Optional[Callable[[Any], Any]] = None, *, context: bool = False,
                    long: bool = False) -> None: ...

    def _done(self, *_a: Any) -> None:
        self.refresh_all()
        self.load_volumes(refresh=True)

    def pool_job(self, key: str) -> None:
        pool = self.selected_pool()
        if pool is None or self.disabled_reason(key):
            self._update_actions()
            return
        conn = self.manager.conn(pool.uri)
        name = pool.name
        on = not pool.autostart

        def fn() -> Any:
            p = conn.storagePoolLookupByName(name)
            if key == "start":
                return p.create(_BUILD)
            if key == "stop":
                return p.destroy()
            return p.setAutostart(1 if on else 0)
        api = {"start": "virStoragePoolCreate", "stop": "virStoragePoolDestroy"}.get(key, "virStoragePoolSetAutostart")
        self._submit(f"{key} pool {name}", fn, pool.uri, api, self._done)

    def _confirm(self, title: str, text: str, yes: Callable[[], None]) -> None:
        box = self.confirm_box = QMessageBox(QMessageBox.Icon.Question, title, text,
                                             QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("storageConfirm")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda r: yes() if r == QMessageBox.StandardButton.Yes else None)
        box.open()

    def confirm_delete_pool(self) -> None:
        pool = self.selected_pool()
        if pool is None or self.disabled_reason("delete_pool"):
            return
        conn = self.manager.conn(pool.uri)

        def run() -> None:
            p = conn.storagePoolLookupByName(pool.name)
            if p.isActive():
                p.destroy()
            if p.isPersistent():
                p.undefine()
        self._confirm("Delete pool", f"Stop and undefine the pool '{pool.name}'? Its volumes stay on disk in "
                      f"{pool.target}.", lambda: self._submit(f"Delete pool {pool.name}", run, pool.uri,
                                                              "virStoragePoolUndefine", self._done))

    def confirm_delete_volume(self) -> None:
        pool, vol = self.selected_pool(), self.selected_volume()
        if pool is None or vol is None or self.disabled_reason("delete_vol"):
            return
        conn = self.manager.conn(pool.uri)
        self._confirm("Delete volume", confirm_delete_text(vol),
                      lambda: self._submit(f"Delete volume {vol.name}",
                                           lambda: conn.storageVolLookupByKey(vol.key).delete(0), pool.uri,
                                           "virStorageVolDelete", self._done))

    def open_new_pool(self) -> None:
        uris = self.manager.open_uris(writable=True)
        if not uris:
            return
        dlg = self.dialog = NewPoolDialog(uris, self)
        conn = self.manager.conn(uris[0])
        self.runner.submit("Find LVM sources", lambda: find_devices(conn), uri=uris[0],
                           operation="virConnectFindStoragePoolSources", owner=dlg,
                           on_result=lambda devs: dlg.set_devices(devs),
                           on_error=lambda exc: dlg.set_devices([], f"No LVM sources: {exc}"))

        def accepted() -> None:
            uri, xml = dlg.conn.currentText(), dlg.xml()
            c = self.manager.conn(uri)

            def run() -> None:
                p = c.storagePoolDefineXML(xml, 0)
                if dlg.type.currentText() == "logical":
                    p.build(0)
                p.create(_BUILD if dlg.type.currentText() == "dir" else 0)
            self._submit("Create pool", run, uri, "virStoragePoolDefineXML", self._done)
        dlg.accepted.connect(accepted)
        dlg.open()

    def open_new_volume(self) -> None:
        pool = self.selected_pool()
        if pool is None or self.disabled_reason("new_vol"):
            return
        dlg = self.dialog = NewVolumeDialog(pool.name, self.volumes.rows(), pool.available, self,
                                            storage_format(getattr(self.manager, "settings", None)))
        conn = self.manager.conn(pool.uri)

        def accepted() -> None:
            xml = dlg.xml()
            self._submit("New volume", lambda: conn.storagePoolLookupByName(pool.name).createXML(xml, 0).name(),
                         pool.uri, "virStorageVolCreateXML", self._done)
        dlg.accepted.connect(accepted)
        dlg.open()

    def open_resize(self) -> None:
        pool, vol = self.selected_pool(), self.selected_volume()
        if pool is None or vol is None or self.disabled_reason("resize"):
            return
        dlg = self.dialog = ResizeDialog(vol, self)
        conn = self.manager.conn(pool.uri)

        def accepted() -> None:
            cap, flags = dlg.new_capacity(), _SHRINK if dlg.shrinks() else 0
            self._submit(f"Resize {vol.name}", lambda: conn.storageVolLookupByKey(vol.key).resize(cap, flags),
                         pool.uri, "virStorageVolResize", self._done)
        dlg.accepted.connect(accepted)
        dlg.open()

    # --------------------------------------------------------------- transfers
    def choose_upload(self) -> None:
        if self.disabled_reason("upload"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "Upload a file into the volume")
        if path:
            self.transfer("upload", path)

    def choose_download(self) -> None:
        if self.disabled_reason("download"):
            return
        path, _ = QFileDialog.getSaveFileName(self, "Download the volume into a file")
        if path:
            self.transfer("download", path)

    def transfer(self, kind: str, path: str) -> None:
        """Upload ``path`` into / download the selected volume to ``path`` on the pool, with progress and Cancel."""
        pool, vol = self.selected_pool(), self.selected_volume()
        if pool is None or vol is None or self.disabled_reason(kind):
            return
        self.transfers.start(self.runner, kind, self.manager.conn(pool.uri), vol.key, vol.name, path, pool.uri,
                             self._transfer_ended)
        self._update_actions()

    def _transfer_ended(self, kind: str, name: str, ok: bool, exc: Optional[BaseException]) -> None:
        title = f"{kind.capitalize()} of {name}"
        self.last_transfer = f"{title} {'finished' if ok else 'failed' if exc else 'cancelled'}"
        self._update_status()
        self._update_actions()
        if exc is not None:
            self.show_error(exc, title)
        if kind == "upload":
            self._done()

    def cancel_transfer(self) -> None:
        self.transfers.cancel()
