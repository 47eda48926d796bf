"""The table of networks of every open connection (rows replaced per connection after each refresh)."""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from .rows import NetworkRow

COLUMNS = ("Connection", "Name", "State", "Autostart", "Persistent", "Bridge", "Forward", "IPv4", "DHCP range")
COL_CONN, COL_NAME, COL_STATE, COL_AUTOSTART, COL_PERSISTENT, COL_BRIDGE, COL_FORWARD, COL_IPV4, COL_DHCP = range(9)
ROW_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def cell_text(row: NetworkRow, col: int) -> str:
    conn = f"{row.uri} (read-only)" if row.read_only else row.uri
    values = (conn, row.name, row.state_text, _yes(row.autostart), _yes(row.persistent), row.bridge,
              row.forward, row.ipv4, row.dhcp)
    return values[col]


class NetworkTableModel(QAbstractTableModel):
    """Rows sorted by connection, then name; :meth:`set_rows` replaces one connection's rows."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._by_uri: dict[str, list[NetworkRow]] = {}
        self._rows: list[NetworkRow] = []

    # ------------------------------------------------------------------ Qt API
    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(row, col)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STATE:
                return "The network is running" if row.active else "The network is defined but not running"
            if col == COL_CONN and row.read_only:
                return f"{row.uri}: opened read-only, the network cannot be changed from here"
            if col == COL_PERSISTENT and not row.persistent:
                return "Transient: the network disappears when it is stopped"
            if col == COL_IPV4 and row.subnets:
                return "Subnets: " + ", ".join(row.subnets)
            return cell_text(row, col) or None
        return None

    # ------------------------------------------------------------------ rows
    def set_rows(self, uri: str, rows: list[NetworkRow]) -> None:
        self._by_uri[uri] = list(rows)
        self._rebuild()

    def remove_connection(self, uri: str) -> None:
        if self._by_uri.pop(uri, None) is not None:
            self._rebuild()

    def uris(self) -> list[str]:
        return list(self._by_uri)

    def _rebuild(self) -> None:
        rows = [r for uri in sorted(self._by_uri) for r in self._by_uri[uri]]
        if rows == self._rows:
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def rows(self) -> list[NetworkRow]:
        return list(self._rows)

    def rows_of(self, uri: str) -> list[NetworkRow]:
        return list(self._by_uri.get(uri, []))

    def row_at(self, r: int) -> Optional[NetworkRow]:
        return self._rows[r] if 0 <= r < len(self._rows) else None

    def find(self, key: tuple[str, str]) -> int:
        """The row number of (uri, uuid), -1 when absent."""
        for i, row in enumerate(self._rows):
            if row.key == key:
                return i
        return -1

    def find_name(self, uri: str, name: str) -> Optional[NetworkRow]:
        for row in self._by_uri.get(uri, []):
            if row.name == name:
                return row
        return None
