"""The Snapshots tab of the details window: the snapshot tree; take, revert (confirmed) and delete.

Every libvirt call runs through the job runner (take and revert as long jobs, with progress in the jobs
panel); the tab only reads the results.  Taking a snapshot of a guest with a VNC display also keeps a
thumbnail of its screen (:mod:`guiapp.models.snapshot_thumbs`), shown for the selected snapshot.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...models import snapshot_thumbs
from ...models.api import libvirt

if TYPE_CHECKING:
    from .window import DetailsWindow

_DISK_ONLY = getattr(libvirt, "VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY", 16)
INTERNAL_HELP = ("Internal: saved inside the qcow2 disk images; on a running guest the memory too, so a revert "
                 "brings back the running programs. Needs qcow2 disks.")
EXTERNAL_HELP = ("External (disk only): the disks are frozen and new writes go to new overlay files beside them; "
                 "works with raw disks. Memory is not saved: a revert boots from the disks as they were.")


@dataclass
class SnapRow:
    """What the tab shows for one snapshot (read from its XML on the pool)."""

    name: str
    parent: Optional[str]
    created: int
    state: str
    description: str
    external: bool
    current: bool


def read_snapshots(dom: Any) -> list[SnapRow]:
    """All snapshots of ``dom`` as rows (runs on the pool)."""
    from guiapp.backend.xml.snapshot import read_snapshot_xml

    rows = []
    for snap in dom.listAllSnapshots(0):
        x = read_snapshot_xml(snap.getXMLDesc(0))
        external = x.memory == "external" or any(d.snapshot == "external" for d in x.disks)
        rows.append(SnapRow(snap.getName(), x.parent, int(x.creation_time or 0), x.state or "",
                            x.description or "", external, bool(snap.isCurrent(0))))
    return rows


def snapshot_xml(name: str, description: str) -> str:
    """The ``<domainsnapshot>`` for a name and description (escaped)."""
    from guiapp.backend.xml.snapshot import snapshot_request_xml

    return snapshot_request_xml(name, description)


class TakeSnapshotDialog(QDialog):
    """Name, description and the internal/external choice, with what each means."""

    def __init__(self, parent: QWidget, default_name: str) -> None:
        super().__init__(parent)
        self.setObjectName("takeSnapshotDialog")
        self.setWindowTitle("Take snapshot")
        form = QFormLayout(self)
        self.name = QLineEdit(default_name)
        self.name.setObjectName("snapshotName")
        form.addRow("&Name:", self.name)
        self.description = QPlainTextEdit()
        self.description.setObjectName("snapshotDescription")
        self.description.setMaximumHeight(70)
        form.addRow("&Description:", self.description)
        self.internal = QRadioButton("&Internal (memory + disks)")
        self.internal.setObjectName("snapshotInternal")
        self.external = QRadioButton("&External (disks only)")
        self.external.setObjectName("snapshotExternal")
        group = QButtonGroup(self)
        group.addButton(self.internal)
        group.addButton(self.external)
        self.internal.setChecked(True)
        for button, text in ((self.internal, INTERNAL_HELP), (self.external, EXTERNAL_HELP)):
            form.addRow(button)
            note = QLabel(text)
            note.setWordWrap(True)
            note.setStyleSheet("color: #555")
            form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton("&Take snapshot", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("takeSnapshotOk")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, str, int]:
        """(name, description, flags)."""
        return (self.name.text().strip(), self.description.toPlainText(),
                _DISK_ONLY if self.external.isChecked() else 0)


class SnapshotsTab(QWidget):
    """The tree of snapshots of one domain, with the current one marked."""

    def __init__(self, window: DetailsWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.rows: list[SnapRow] = []
        self.dialog: Optional[TakeSnapshotDialog] = None
        self.confirm_box: Optional[QMessageBox] = None
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setObjectName("snapshotTree")
        self.tree.setHeaderLabels(["Name", "Created", "State", "Kind", "Description"])
        self.tree.itemSelectionChanged.connect(self._selection)
        top = QHBoxLayout()
        top.addWidget(self.tree, 1)
        self.thumbnail = QLabel("")
        self.thumbnail.setObjectName("snapshotThumbnail")
        self.thumbnail.setFixedSize(snapshot_thumbs.SIZE)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setWordWrap(True)
        top.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.message = QLabel("")
        self.message.setObjectName("snapshotMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        self.take_button = self._button("&Take snapshot…", "takeSnapshotButton", self.take, row)
        self.revert_button = self._button("&Revert to…", "revertSnapshotButton", self.confirm_revert, row)
        self.delete_button = self._button("De&lete…", "deleteSnapshotButton", self.confirm_delete, row)
        self.refresh_button = self._button("Re&fresh", "refreshSnapshotsButton", self.reload, row)
        row.addStretch(1)
        layout.addLayout(row)
        self._selection()

    def _button(self, text: str, name: str, slot: Callable[[], Any], row: QHBoxLayout) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.clicked.connect(slot)
        row.addWidget(b)
        return b

    # ------------------------------------------------------------------ jobs
    def _run(self, title: str, fn: Callable[[Any], Any], operation: str, done: Callable[[Any], None],
             long: bool = False) -> None:
        w = self.window_
        conn = w._conn()
        if conn is None:
            self.message.setText("The connection is not open.")
            return
        uuid = w.uuid

        def work() -> Any:
            return fn(conn.lookupByUUID(uuid))

        def failed(exc: BaseException) -> None:
            self.message.setText(f"{title} failed: {exc}")
            w.main.show_error(exc, operation=f"{operation} ('{w.name}')", uri=w.uri)

        w.main.runner.submit(title, work, uri=w.uri, operation=operation, on_result=done, on_error=failed,
                             long=long, owner=self)

    def reload(self) -> None:
        """Read the snapshot list again (on the pool)."""
        self._run(f"List snapshots of {self.window_.name}", read_snapshots, "virDomainListAllSnapshots", self._show)

    def _show(self, rows: list[SnapRow]) -> None:
        self.rows = rows
        self.tree.clear()
        items: dict[str, QTreeWidgetItem] = {}
        pending = sorted(rows, key=lambda r: r.created)
        while pending:
            rest = []
            for r in pending:
                parent = items.get(r.parent) if r.parent else None
                if r.parent and parent is None and any(x.name == r.parent for x in pending):
                    rest.append(r)
                    continue
                when = datetime.datetime.fromtimestamp(r.created).strftime("%Y-%m-%d %H:%M:%S")
                item = QTreeWidgetItem([r.name + ("  (current)" if r.current else ""), when, r.state,
                                        "external" if r.external else "internal", r.description])
                item.setData(0, Qt.ItemDataRole.UserRole, r.name)
                if r.current:
                    font = QFont(item.font(0))
                    font.setBold(True)
                    item.setFont(0, font)
                (parent.addChild(item) if parent is not None else self.tree.addTopLevelItem(item))
                items[r.name] = item
            if len(rest) == len(pending):  # a loop or missing parent: show them at the top
                for r in rest:
                    self.tree.addTopLevelItem(QTreeWidgetItem([r.name]))
                break
            pending = rest
        self.tree.expandAll()
        self.message.setText("No snapshots yet." if not rows else f"{len(rows)} snapshot(s)")
        self._selection()

    def selected(self) -> Optional[SnapRow]:
        items = self.tree.selectedItems()
        if not items:
            return None
        name = items[0].data(0, Qt.ItemDataRole.UserRole)
        return next((r for r in self.rows if r.name == name), None)

    def _selection(self) -> None:
        has = self.selected() is not None
        entry = self.window_.main.manager.connections.get(self.window_.uri)
        ro = entry is not None and bool(entry.read_only)
        self.take_button.setEnabled(not ro)
        self.revert_button.setEnabled(has and not ro)
        self.delete_button.setEnabled(has and not ro)
        self._show_thumbnail()

    def _thumb_path(self, name: str) -> Any:
        return snapshot_thumbs.thumb_path(self.window_.uri, self.window_.uuid, name)

    def _show_thumbnail(self) -> None:
        """The selected snapshot's screen at snapshot time (a small PNG read from the cache)."""
        r = self.selected()
        img = snapshot_thumbs.load(self._thumb_path(r.name)) if r is not None else None
        if img is None:
            self.thumbnail.setPixmap(QPixmap())
            self.thumbnail.setText("" if r is None else "No screen thumbnail (no display at snapshot time)")
        else:
            self.thumbnail.setPixmap(QPixmap.fromImage(img))

    # ------------------------------------------------------------------ actions
    def take(self) -> None:
        default = datetime.datetime.now().strftime("snapshot-%Y%m%d-%H%M%S")
        dlg = self.dialog = TakeSnapshotDialog(self, default)
        dlg.accepted.connect(lambda: self.take_with(*dlg.values()))
        dlg.open()

    def take_with(self, name: str, description: str, flags: int) -> None:
        xml = snapshot_xml(name, description)
        self.message.setText(f"Taking snapshot {name}…")
        path_of = self._thumb_path

        def work(dom: Any) -> str:
            png = snapshot_thumbs.capture_png(dom)  # the screen as it is when the snapshot is taken
            taken = dom.snapshotCreateXML(xml, flags).getName()
            if png is not None:
                snapshot_thumbs.save(path_of(taken), png)
            return str(taken)
        self._run(f"Snapshot {self.window_.name}", work, "virDomainSnapshotCreateXML",
                  lambda n: self._done(f"Snapshot {n} taken."), long=True)

    def confirm_revert(self) -> None:
        r = self.selected()
        if r is None:
            return
        lost = ("The guest's memory and disks go back to that moment: everything it did since, including "
                "unsaved work in running programs, is lost." if r.state in ("running", "paused") else
                "The disks go back to that moment and the guest is shut off (the snapshot holds no memory): "
                "everything written since and the running programs are lost.")
        if r.external:
            lost += " The overlay files written since stay on disk; nothing is deleted."
        box = self.confirm_box = QMessageBox(QMessageBox.Icon.Warning, f"Revert to snapshot '{r.name}'?",
                                             lost, parent=self)
        box.setObjectName("revertConfirm")
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        revert = box.addButton("&Revert", QMessageBox.ButtonRole.DestructiveRole)
        box.buttonClicked.connect(lambda b: self.revert(r.name) if b is revert else None)
        box.open()

    def revert(self, name: str) -> None:
        def work(dom: Any) -> None:
            dom.revertToSnapshot(dom.snapshotLookupByName(name, 0), 0)
        self.message.setText(f"Reverting to {name}…")
        self._run(f"Revert {self.window_.name} to {name}", work, "virDomainRevertToSnapshot",
                  lambda _r: self._done(f"Reverted to {name}.", poll=True), long=True)

    def confirm_delete(self) -> None:
        r = self.selected()
        if r is None:
            return
        box = self.confirm_box = QMessageBox(
            QMessageBox.Icon.Question, f"Delete snapshot '{r.name}'?",
            "The snapshot is removed; its children stay and attach to its parent. The guest is not changed.",
            parent=self)
        box.setObjectName("deleteSnapshotConfirm")
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        delete = box.addButton("&Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.buttonClicked.connect(lambda b: self.delete(r.name) if b is delete else None)
        box.open()

    def delete(self, name: str) -> None:
        path = self._thumb_path(name)

        def work(dom: Any) -> None:
            dom.snapshotLookupByName(name, 0).delete(0)
            snapshot_thumbs.forget(path)
        self._run(f"Delete snapshot {name}", work, "virDomainSnapshotDelete",
                  lambda _r: self._done(f"Snapshot {name} deleted."))

    def _done(self, text: str, poll: bool = False) -> None:
        self.message.setText(text)
        self.reload()
        if poll:
            self.window_.main.manager.poll_now(self.window_.uri)


__all__ = ["SnapshotsTab", "TakeSnapshotDialog", "read_snapshots", "snapshot_xml"]
