"""Confirmation before deleting domains: names them and the disks (volumes or files) that may be removed too."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Union

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .delete_storage import DiskChoice

Disk = Union[str, DiskChoice]


class DeleteDialog(QDialog):
    """Lists the domains and their disks; emits ``confirmed(paths_to_remove)``.

    A disk is a path or a :class:`DiskChoice`: one another domain also uses starts unticked, one that is
    neither a volume nor on a local connection cannot be ticked.
    """

    confirmed = Signal(list)

    def __init__(self, names: list[str], disks: Mapping[str, Sequence[Disk]], active: list[str],
                 parent: Optional[QWidget] = None, local: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("deleteDialog")
        self.setWindowTitle("Delete " + (f"'{names[0]}'" if len(names) == 1 else f"{len(names)} domains"))
        layout = QVBoxLayout(self)
        text = "Delete the definition of " + ", ".join(f"'{n}'" for n in names) + "?"
        if active:
            text += "\n\nRunning domains are forced off first: " + ", ".join(f"'{n}'" for n in active) + "."
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(label)
        self.remove_disks = QCheckBox("Also &remove these disks:")
        self.remove_disks.setObjectName("removeDisks")
        self.files = QListWidget()
        self.files.setObjectName("diskFiles")
        removable = 0
        listed = 0
        for name in names:
            for disk in disks.get(name, []):
                d = disk if isinstance(disk, DiskChoice) else DiskChoice(name, disk)
                listed += 1
                item = QListWidgetItem(d.label() if isinstance(disk, DiskChoice) else f"{d.path}   ({name})")
                item.setData(Qt.ItemDataRole.UserRole, d.path)
                can = d.volume is not None or local
                if can:
                    removable += 1
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(Qt.CheckState.Unchecked if d.others else Qt.CheckState.Checked)
                else:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                    item.setText(item.text() + "   — not in a storage pool: kept")
                self.files.addItem(item)
        if not listed:
            self.remove_disks.setEnabled(False)
            self.remove_disks.setToolTip("These domains list no disks")
        elif not removable:
            self.remove_disks.setEnabled(False)
            self.remove_disks.setToolTip("On remote connections only disks that are storage volumes can be removed")
        self.files.setEnabled(False)
        self.remove_disks.toggled.connect(self.files.setEnabled)
        layout.addWidget(self.remove_disks)
        layout.addWidget(self.files)
        # wide enough for the longest disk path (up to most of a screen), tooltips for the rest
        longest = max((self.files.fontMetrics().horizontalAdvance(self.files.item(i).text())
                       for i in range(self.files.count())), default=0)
        self.files.setMinimumWidth(min(900, max(420, longest + 40)))
        for i in range(self.files.count()):
            self.files.item(i).setToolTip(self.files.item(i).text())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.delete_button = buttons.addButton("&Delete", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.delete_button.setObjectName("deleteButton")
        self.delete_button.clicked.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen_paths(self) -> list[str]:
        if not self.remove_disks.isChecked():
            return []
        out = []
        for i in range(self.files.count()):
            item = self.files.item(i)
            if item.flags() & Qt.ItemFlag.ItemIsEnabled and item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def _accept(self) -> None:
        self.confirmed.emit(self.chosen_paths())
        self.accept()
