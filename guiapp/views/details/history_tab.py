"""The History tab of the details window: kept config versions, a side-by-side diff, Revert (confirmed).

Config history is a guiapp extension (``dom.guiappConfigVersions``): the tab says so where a connection
has none (remote daemons) or may not read it (read-only: versions hold the secure XML).  Selecting one
version compares it with the one before; selecting two compares them.  Revert defines the old XML again,
which becomes a new version: nothing is lost.  Every call runs on the job runner.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...backend.history import side_by_side
from ...models.api import libvirt

if TYPE_CHECKING:
    from .window import DetailsWindow

_WITH_XML = getattr(libvirt, "GUIAPP_CONFIG_VERSIONS_XML", 1)
_COLOURS = {"replace": ("#fff3cd", "#fff3cd"), "delete": ("#f8d7da", "#eeeeee"), "insert": ("#eeeeee", "#d4edda")}


def read_versions(dom: Any) -> list[dict[str, Any]]:
    """Every kept version of ``dom`` with its XML, oldest first (runs on the pool)."""
    return list(dom.guiappConfigVersions(_WITH_XML))


def pair_to_compare(versions: list[dict[str, Any]], selected: list[int]) -> Optional[tuple[dict[str, Any],
                                                                                           dict[str, Any]]]:
    """(older, newer) for the selected version numbers: two selected, or one and the version before it."""
    by_number = {v["version"]: v for v in versions}
    chosen = sorted(n for n in selected if n in by_number)
    if len(chosen) >= 2:
        return by_number[chosen[0]], by_number[chosen[-1]]
    if len(chosen) == 1:
        idx = next(i for i, v in enumerate(versions) if v["version"] == chosen[0])
        return (versions[idx - 1] if idx > 0 else versions[idx]), versions[idx]
    return None


class HistoryTab(QWidget):
    """Versions list on top, the side-by-side diff below, Revert and Refresh."""

    def __init__(self, window: DetailsWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.versions: list[dict[str, Any]] = []
        self.confirm_box: Optional[QMessageBox] = None
        self.loading = False
        layout = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Vertical)
        self.list = QTreeWidget()
        self.list.setObjectName("historyList")
        self.list.setRootIsDecorated(False)
        self.list.setHeaderLabels(["Version", "Time", "Operation", "User", "Connection"])
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._selection)
        split.addWidget(self.list)
        self.diff = QTableWidget(0, 2)
        self.diff.setObjectName("historyDiff")
        self.diff.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.diff.verticalHeader().setVisible(False)
        self.diff.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.diff.setShowGrid(False)
        self.diff.setWordWrap(False)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.diff.setFont(mono)
        self.diff.verticalHeader().setDefaultSectionSize(self.diff.fontMetrics().height() + 4)
        split.addWidget(self.diff)
        split.setSizes([160, 300])
        layout.addWidget(split)
        self.message = QLabel("")
        self.message.setObjectName("historyMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        self.revert_button = QPushButton("&Revert to this version…")
        self.revert_button.setObjectName("historyRevertButton")
        self.revert_button.clicked.connect(self.confirm_revert)
        row.addWidget(self.revert_button)
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.setObjectName("historyRefreshButton")
        self.refresh_button.clicked.connect(self.reload)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        layout.addLayout(row)
        self._selection()

    def showEvent(self, event: QShowEvent) -> None:
        """Read the history again whenever the tab is shown (other tabs may have changed the definition)."""
        super().showEvent(event)
        self.reload()

    # ------------------------------------------------------------------ jobs
    def _run(self, title: str, fn: Callable[[Any], Any], operation: str, done: Callable[[Any], None],
             quiet_errors: bool = False) -> None:
        w = self.window_
        conn = w._conn()
        if conn is None:
            self.message.setText("The connection is not open.")
            return
        uuid = w.uuid

        def failed(exc: BaseException) -> None:
            self.loading = False
            code = getattr(exc, "get_error_code", lambda: None)()
            if code in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_DENIED):
                self.message.setText(f"No config history here: {exc}")
                self.versions = []
                self.list.clear()
                self.diff.setRowCount(0)
                self._selection()
                return
            self.message.setText(f"{title} failed: {exc}")
            if not quiet_errors:
                w.main.show_error(exc, operation=f"{operation} ('{w.name}')", uri=w.uri)

        w.main.runner.submit(title, lambda: fn(conn.lookupByUUID(uuid)), uri=w.uri, operation=operation,
                             on_result=done, on_error=failed, owner=self)

    def reload(self) -> None:
        """Read the versions again (on the pool)."""
        if self.loading:
            return
        self.loading = True
        self._run(f"Config history of {self.window_.name}", read_versions, "guiappConfigVersions", self._show,
                  quiet_errors=True)

    def _show(self, versions: list[dict[str, Any]]) -> None:
        self.loading = False
        keep = self.selected_numbers()
        self.versions = versions
        self.list.clear()
        for v in reversed(versions):  # newest first
            when = datetime.datetime.fromtimestamp(v["time"]).strftime("%Y-%m-%d %H:%M:%S")
            item = QTreeWidgetItem([str(v["version"]), when, v["op"], v["user"], v["uri"]])
            item.setData(0, Qt.ItemDataRole.UserRole, v["version"])
            self.list.addTopLevelItem(item)
            if v["version"] in keep:
                item.setSelected(True)
        for col in range(4):
            self.list.resizeColumnToContents(col)
        if not versions:
            self.message.setText("No versions kept yet: every change to the definition will be kept here.")
        else:
            self.message.setText(f"{len(versions)} version(s) kept; select one to compare it with the one "
                                 f"before, or two to compare them.")
        newest = self.list.topLevelItem(0)
        if not self.list.selectedItems() and newest is not None:
            newest.setSelected(True)
        self._selection()

    def selected_numbers(self) -> list[int]:
        return [int(i.data(0, Qt.ItemDataRole.UserRole)) for i in self.list.selectedItems()]

    def _selection(self) -> None:
        numbers = self.selected_numbers()
        entry = self.window_.main.manager.connections.get(self.window_.uri)
        ro = entry is not None and bool(entry.read_only)
        latest = self.versions[-1]["version"] if self.versions else None
        self.revert_button.setEnabled(len(numbers) == 1 and not ro and numbers[0] != latest)
        self.show_diff(numbers)

    def show_diff(self, numbers: list[int]) -> None:
        """Fill the side-by-side view for the selected version numbers."""
        pair = pair_to_compare(self.versions, numbers)
        self.diff.setRowCount(0)
        if pair is None:
            self.diff.setHorizontalHeaderLabels(["", ""])
            return
        old, new = pair
        self.diff.setHorizontalHeaderLabels([f"version {old['version']} ({old['op']})",
                                             f"version {new['version']} ({new['op']})"])
        rows = side_by_side(old["xml"], new["xml"])
        self.diff.setRowCount(len(rows))
        for r, (left, right, tag) in enumerate(rows):
            colours = _COLOURS.get(tag)
            for c, text in enumerate((left, right)):
                item = QTableWidgetItem(text)
                if colours is not None:
                    item.setBackground(QBrush(QColor(colours[c])))
                self.diff.setItem(r, c, item)
        first = next((r for r, row in enumerate(rows) if row[2] != "equal"), None)
        cell = self.diff.item(first, 0) if first is not None else None
        if cell is not None:
            self.diff.scrollToItem(cell)

    # ------------------------------------------------------------------ revert
    def confirm_revert(self) -> None:
        numbers = self.selected_numbers()
        if len(numbers) != 1:
            return
        number = numbers[0]
        latest = self.versions[-1]["version"] if self.versions else 0
        box = self.confirm_box = QMessageBox(
            QMessageBox.Icon.Question, f"Revert '{self.window_.name}' to version {number}?",
            f"The definition becomes version {number} again (the name stays). The current definition stays "
            f"in the history as version {latest}, so nothing is lost. A running guest uses it from its next "
            f"start.", parent=self)
        box.setObjectName("historyRevertConfirm")
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        revert = box.addButton("&Revert", QMessageBox.ButtonRole.AcceptRole)
        box.buttonClicked.connect(lambda b: self.revert(number) if b is revert else None)
        box.open()

    def revert(self, number: int) -> None:
        self.message.setText(f"Reverting to version {number}…")

        def done(_r: Any) -> None:
            self.message.setText(f"Reverted to version {number}.")
            self.loading = False
            self.reload()
            self.window_.reload()
            self.window_.main.manager.poll_now(self.window_.uri)
        self._run(f"Revert {self.window_.name} to version {number}", lambda dom: dom.guiappConfigRevert(number),
                  "guiappConfigRevert", done)


__all__ = ["HistoryTab", "read_versions", "pair_to_compare"]
