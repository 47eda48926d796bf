"""Item models of the Storage window: pools (with a usage bar) and the selected pool's volumes."""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionProgressBar, QStyleOptionViewItem

from ...backend.cli_storage import pretty
from .rows import PoolRow, VolRow

_Index = QModelIndex | QPersistentModelIndex
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
USAGE_ROLE = Qt.ItemDataRole.UserRole + 2

POOL_COLUMNS = ("Connection", "Name", "Type", "State", "Autostart", "Usage", "Target")
P_CONN, P_NAME, P_TYPE, P_STATE, P_AUTO, P_USAGE, P_TARGET = range(7)
VOL_COLUMNS = ("Name", "Format", "Capacity", "Allocation", "Used by", "Path")
V_NAME, V_FORMAT, V_CAP, V_ALLOC, V_USED, V_PATH = range(6)


class _Table(QAbstractTableModel):
    columns: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return None

    def set_rows(self, rows: list[Any]) -> None:
        if rows == self._rows:
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[Any]:
        return list(self._rows)

    def row_at(self, r: int) -> Optional[Any]:
        return self._rows[r] if 0 <= r < len(self._rows) else None


class PoolModel(_Table):
    """Pools of every open connection, sorted by connection and name."""

    columns = POOL_COLUMNS

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row: Optional[PoolRow] = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (f"{row.uri} (read-only)" if row.read_only else row.uri, row.name, row.type,
                    "active" if row.active else "inactive", "yes" if row.autostart else "no", row.usage_text,
                    row.target)[col]
        if role == USAGE_ROLE:
            return row.usage if row.active else None
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole and col == P_USAGE and row.active:
            return f"{pretty(row.available)} available"
        return None

    def find(self, key: tuple[str, str]) -> int:
        return next((i for i, r in enumerate(self._rows) if r.key == key), -1)


class VolumeModel(_Table):
    """The volumes of one pool (display texts made once per listing: painting asks for them often)."""

    columns = VOL_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._texts: list[tuple[str, ...]] = []

    def set_rows(self, rows: list[Any]) -> None:
        if rows == self._rows:
            return
        self.beginResetModel()
        self._rows = list(rows)
        self._texts = [(r.name, r.format, pretty(r.capacity), pretty(r.allocation), r.used_by_text, r.path)
                       for r in self._rows]
        self.endResetModel()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            r = index.row()
            return self._texts[r][index.column()] if index.isValid() and r < len(self._texts) else None
        if role not in (ROW_ROLE, Qt.ItemDataRole.ToolTipRole):
            return None
        row: Optional[VolRow] = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role == ROW_ROLE:
            return row
        col = index.column()
        if col in (V_CAP, V_ALLOC):
            return f"{row.capacity if col == V_CAP else row.allocation} bytes"
        if col == V_FORMAT and row.backing:
            return f"Backing file: {row.backing}"
        return None

    def find_name(self, name: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.name == name), -1)


class UsageDelegate(QStyledItemDelegate):
    """Paints the Usage column as a progress bar with the text on it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        usage = index.data(USAGE_ROLE)
        if usage is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(2, 2, -2, -2))
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(max(0.0, min(1.0, usage)) * 1000)
        bar.text = index.data(Qt.ItemDataRole.DisplayRole)
        bar.textVisible = True
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        style = option.widget.style() if option.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)


__all__ = ["PoolModel", "VolumeModel", "UsageDelegate", "ROW_ROLE", "POOL_COLUMNS", "VOL_COLUMNS"]
