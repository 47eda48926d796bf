"""The domain list: connections with their domains, as a Qt item model.

Top-level rows are connections; their children are domains. A row is found by UUID
in O(1) (a dict per connection). A poll tick is applied with :meth:`DomainTreeModel.apply`,
which replaces the changed rows and emits one ``dataChanged`` spanning them per connection
(the statistics columns only). Screen thumbnails (:meth:`DomainTreeModel.set_thumbnail`) change
one cell at a time, with one ``dataChanged`` for that cell. What the columns show is in
``domain_columns`` (re-exported here); the filter proxy is ``domain_filter.DomainFilterProxy``.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QImage, QPixmap

from .api import STATE_NOSTATE, STATE_SHUTOFF, state_name
from .domain_columns import (
    COL_CPU,
    COL_DISK,
    COL_ID,
    COL_MEM,
    COL_NAME,
    COL_NET,
    COL_SCREEN,
    COL_STATE,
    COLUMN_TIPS,
    COLUMNS,
    CONNECTION_MARKER,
    FILTER_ROLE,
    KIND_ROLE,
    LAST_STAT_COL,
    ROW_ROLE,
    SORT_KEYS,
    SORT_ROLE,
    SPARK_COLUMNS,
    SPARK_ROLE,
    STATE_ROLE,
    THUMB_ROLE,
    ThumbKey,
    cell_text,
    format_bytes,
    format_rate,
    plural,
)
from .stats import DomainRow, PollResult

_DISPLAY = Qt.ItemDataRole.DisplayRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
CONNECTION_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable  # computed once: flags() is asked a lot
DOMAIN_FLAGS = CONNECTION_FLAGS | Qt.ItemFlag.ItemNeverHasChildren
NO_FLAGS = Qt.ItemFlag.NoItemFlags
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class ConnectionNode:
    """A connection row: its URI, status and domain rows."""

    __slots__ = ("uri", "status", "error", "rows", "index", "read_only")

    CONNECTING, CONNECTED, FAILED, DISCONNECTED, ERROR = "connecting", "connected", "failed", "disconnected", "error"

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.status = self.CONNECTING
        self.error = ""
        self.read_only = False
        self.rows: list[DomainRow] = []
        self.index: dict[bytes, int] = {}

    def label(self) -> str:
        n = len(self.rows)
        if self.status == self.CONNECTED:
            return f"{self.uri}  ({plural(n, 'domain')})"
        if self.status == self.CONNECTING:
            return f"{self.uri}  (connecting…)"
        if self.status == self.ERROR:
            return f"{self.uri}  (polling failed: {self.error})"
        return f"{self.uri}  ({self.status} — F5 or right-click › Retry — {self.error})"


class DomainTreeModel(QAbstractItemModel):
    """Connections (top level) with their domains (children)."""

    def __init__(self, parent: Any = None, icons: Any = None) -> None:
        super().__init__(parent)
        self.connections: list[ConnectionNode] = []
        self._by_uri: dict[str, int] = {}
        self._icons = icons  # callable(state:int) -> QIcon, or None
        self.sort_column = -1  # the model sorts its domain rows itself (in Python, once per request)
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.state_version = 0  # bumped whenever a domain row's state changes (the window re-checks its actions)
        self.thumbnails: dict[ThumbKey, QPixmap] = {}  # the screen column's images (the view reads this dict)
        self.thumbnail_notes: dict[ThumbKey, str] = {}  # why a running domain has no thumbnail (tooltips)

    def set_icon_provider(self, icons: Any) -> None:
        self._icons = icons

    # ------------------------------------------------------------------ structure
    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        if parent.isValid():
            if parent.internalPointer() is not None:
                return QModelIndex()
            node = self.connections[parent.row()]
            if 0 <= row < len(node.rows):
                return self.createIndex(row, column, node)
            return QModelIndex()
        if 0 <= row < len(self.connections):
            return self.createIndex(row, column)
        return QModelIndex()

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:
        if not index.isValid():
            return QModelIndex()
        node = index.internalPointer()
        if node is None:
            return QModelIndex()
        return self.createIndex(self._by_uri[node.uri], 0)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self.connections)
        if parent.internalPointer() is None and parent.column() == 0:
            return len(self.connections[parent.row()].rows)
        return 0

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:
        if not parent.isValid():
            return bool(self.connections)
        return parent.internalPointer() is None and parent.column() == 0 and bool(self.connections[parent.row()].rows)

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return NO_FLAGS
        # domain rows never have children: the view's layout then skips hasChildren() (a Python call) per row
        return CONNECTION_FLAGS if index.internalPointer() is None else DOMAIN_FLAGS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if role == _DISPLAY:
                return COLUMNS[section]
            if role == _TOOLTIP:
                return COLUMN_TIPS[section]
        return None

    # ----------------------------------------------------------------------- data
    def data(self, index: QModelIndex, role: int = _DISPLAY) -> Any:
        node = index.internalPointer()
        if node is None:
            return self._connection_data(self.connections[index.row()], index.column(), role)
        row = node.rows[index.row()]
        col = index.column()
        if role == _DISPLAY:
            return cell_text(row, col)
        if col == COL_SCREEN and role in (THUMB_ROLE, SORT_ROLE, _TOOLTIP):
            return self._screen_data(node.uri, row, role)
        if role == SPARK_ROLE:
            metric = SPARK_COLUMNS.get(col)
            return row.spark(metric) if metric else None
        if role == _DECORATION:
            if col == COL_STATE and self._icons is not None:
                return self._icons(row.state)
            return None
        if role == SORT_ROLE:
            return SORT_KEYS[col](row, node)[0]
        if role == _ALIGN:
            return _RIGHT if col not in (COL_NAME, COL_STATE) else None
        if role == FILTER_ROLE:
            return f"{row.name}\n{row.uuid_str}\n{state_name(row.state)}"
        if role == _TOOLTIP:
            if col == COL_NAME:
                return f"{row.name} — {state_name(row.state)}\nUUID {row.uuid_str}\n{node.uri}"
            return None
        if role == ROW_ROLE:
            return row
        if role == KIND_ROLE:
            return "domain"
        if role == STATE_ROLE:
            return row.state
        return None

    def _screen_data(self, uri: str, row: DomainRow, role: int) -> Any:
        key = (uri, row.uuid)
        pix = self.thumbnails.get(key)
        if role == THUMB_ROLE:
            return pix
        if role == SORT_ROLE:
            return 1 if pix is not None else 0
        if pix is not None:
            return f"{row.name}: the screen, refreshed every few seconds"
        note = self.thumbnail_notes.get(key)
        return f"{row.name}: no thumbnail — {note}" if note else None

    def _connection_data(self, node: ConnectionNode, col: int, role: int) -> Any:
        if role == _DISPLAY:
            return node.label() if col == COL_NAME else None
        if role == _TOOLTIP:
            text = f"{node.uri}\nstatus: {node.status}"
            if node.error:
                text += f"\n{node.error}"
            if node.status in (node.FAILED, node.DISCONNECTED):
                text += "\nRight-click › Retry, or select it and press F5"
            return text
        if role == SORT_ROLE:
            return self._by_uri.get(node.uri, 0)  # connections keep the order they were added in
        if role == FILTER_ROLE:
            return CONNECTION_MARKER
        if role == ROW_ROLE:
            return node
        if role == KIND_ROLE:
            return "connection"
        if role == _DECORATION and col == COL_NAME and self._icons is not None:
            return self._icons(node.status)
        return None

    # ------------------------------------------------------------------- lookups
    def connection(self, uri: str) -> Optional[ConnectionNode]:
        i = self._by_uri.get(uri)
        return None if i is None else self.connections[i]

    def connection_index(self, uri: str) -> QModelIndex:
        i = self._by_uri.get(uri)
        return QModelIndex() if i is None else self.createIndex(i, 0)

    def domain_index(self, uri: str, uuid: bytes, column: int = 0) -> QModelIndex:
        """O(1): the index of a domain row by connection and UUID."""
        i = self._by_uri.get(uri)
        if i is None:
            return QModelIndex()
        node = self.connections[i]
        r = node.index.get(uuid)
        return QModelIndex() if r is None else self.createIndex(r, column, node)

    def domain_row(self, uri: str, uuid: bytes) -> Optional[DomainRow]:
        node = self.connection(uri)
        if node is None:
            return None
        r = node.index.get(uuid)
        return None if r is None else node.rows[r]

    def domain_count(self) -> int:
        return sum(len(n.rows) for n in self.connections)

    # --------------------------------------------------------------- thumbnails
    def set_thumbnail(self, uri: str, uuid: bytes, image: Optional[QImage | QPixmap], note: str = "") -> None:
        """Show ``image`` (None: none, with ``note`` saying why) in a domain's screen cell; one dataChanged."""
        key = (uri, uuid)
        if image is None:
            changed = self.thumbnails.pop(key, None) is not None
            if note:
                changed |= self.thumbnail_notes.get(key) != note
                self.thumbnail_notes[key] = note
            elif self.thumbnail_notes.pop(key, None) is not None:
                changed = True
        else:
            self.thumbnails[key] = image if isinstance(image, QPixmap) else QPixmap.fromImage(image)
            self.thumbnail_notes.pop(key, None)
            changed = True
        if changed:
            idx = self.domain_index(uri, uuid, COL_SCREEN)
            if idx.isValid():
                self.dataChanged.emit(idx, idx)

    def drop_thumbnails(self, keep: Any = ()) -> None:
        """Remove every thumbnail and note whose key is not in ``keep`` (one dataChanged per cell shown)."""
        for key in [k for k in self.thumbnails if k not in keep]:
            self.set_thumbnail(*key, None)
        for key in [k for k in self.thumbnail_notes if k not in keep]:
            del self.thumbnail_notes[key]

    # ------------------------------------------------------------------ changes
    def add_connection(self, uri: str) -> ConnectionNode:
        node = self.connection(uri)
        if node is not None:
            return node
        n = len(self.connections)
        self.beginInsertRows(QModelIndex(), n, n)
        node = ConnectionNode(uri)
        self.connections.append(node)
        self._by_uri[uri] = n
        self.endInsertRows()
        return node

    def remove_connection(self, uri: str) -> None:
        i = self._by_uri.get(uri)
        if i is None:
            return
        self.beginRemoveRows(QModelIndex(), i, i)
        del self.connections[i]
        self._by_uri = {node.uri: k for k, node in enumerate(self.connections)}
        self.endRemoveRows()

    def set_connection_status(self, uri: str, status: str, error: str = "") -> None:
        i = self._by_uri.get(uri)
        if i is None:
            return
        node = self.connections[i]
        if node.status == status and node.error == error:
            return
        node.status, node.error = status, error
        idx = self.createIndex(i, 0)
        self.dataChanged.emit(idx, self.createIndex(i, len(COLUMNS) - 1))

    def clear_domains(self, uri: str) -> None:
        i = self._by_uri.get(uri)
        if i is None:
            return
        node = self.connections[i]
        if node.rows:
            self.beginRemoveRows(self.createIndex(i, 0), 0, len(node.rows) - 1)
            node.rows.clear()
            node.index.clear()
            self.endRemoveRows()

    def apply(self, result: PollResult) -> None:
        """Apply one poll tick: removals, then updates (one dataChanged), then appended rows."""
        ci = self._by_uri.get(result.uri)
        if ci is None:
            return
        node = self.connections[ci]
        parent = self.createIndex(ci, 0)
        if result.removed:
            self._remove_rows(node, parent, result.removed)
        rows, index = node.rows, node.index
        lo, hi = len(rows), -1
        first_col = COL_CPU  # CPU, memory, disk and network change on every tick of a running domain
        new: list[DomainRow] = []
        for drow in result.changed:
            r = index.get(drow.uuid)
            if r is None:
                new.append(drow)
                continue
            old = rows[r]
            rows[r] = drow
            if first_col > COL_NAME:
                if old.name != drow.name:
                    first_col = COL_NAME  # the name changed (may re-sort by name)
                elif first_col > COL_STATE and old.state != drow.state:
                    first_col = COL_STATE
                elif first_col > COL_ID and old.id != drow.id:
                    first_col = COL_ID
            if old.state != drow.state:
                self.state_version += 1
            if r < lo:
                lo = r
            if r > hi:
                hi = r
        if hi >= 0:
            self.dataChanged.emit(self.createIndex(lo, first_col, node),
                                  self.createIndex(hi, LAST_STAT_COL, node))
        if new:
            first = len(rows)
            count_before = first
            self.beginInsertRows(parent, first, first + len(new) - 1)
            for k, drow in enumerate(new):
                rows.append(drow)
                index[drow.uuid] = first + k
            self.endInsertRows()
            if count_before == 0 or len(rows) != count_before:
                # the connection row shows the domain count
                self.dataChanged.emit(parent, parent)
        elif result.removed:
            self.dataChanged.emit(parent, parent)
        if new or (hi >= 0 and first_col < COL_CPU and self.sort_column in (COL_NAME, COL_STATE, COL_ID)):
            self.resort()  # new rows, names, states or IDs go to their place; statistics re-sort on request

    def _remove_rows(self, node: ConnectionNode, parent: QModelIndex, uuids: list[bytes]) -> None:
        positions = sorted((node.index[u] for u in uuids if u in node.index), reverse=True)
        if not positions:
            return
        # remove contiguous runs, highest first, so earlier positions stay valid
        run_end = positions[0]
        run_start = run_end
        for p in positions[1:] + [None]:
            if p is not None and p == run_start - 1:
                run_start = p
                continue
            self.beginRemoveRows(parent, run_start, run_end)
            del node.rows[run_start:run_end + 1]
            self.endRemoveRows()
            if p is not None:
                run_end = run_start = p
        node.index = {row.uuid: k for k, row in enumerate(node.rows)}

    def set_domain_state(self, uri: str, uuid: bytes, state: int, dom_id: Optional[int] = None) -> bool:
        """Apply a lifecycle event at once (the next tick brings the rest)."""
        return bool(self.set_domain_states(uri, {uuid: (state, dom_id)}))

    def set_domain_states(self, uri: str, states: dict[bytes, tuple[int, Optional[int]]]) -> int:
        """Apply a batch of lifecycle events (uuid -> (state, domain id or None)) with one dataChanged.

        The changed range spans State to the last statistics column, so a list sorted by name is not
        re-sorted. Returns how many of the domains are in the list.
        """
        node = self.connection(uri)
        if node is None:
            return 0
        lo, hi, found = len(node.rows), -1, 0
        for uuid, (state, dom_id) in states.items():
            r = node.index.get(uuid)
            if r is None:
                continue
            found += 1
            old = node.rows[r]
            new_id = -1 if state in (STATE_SHUTOFF, STATE_NOSTATE) else (old.id if dom_id is None else dom_id)
            if old.state == state and old.id == new_id:
                continue
            cpu = 0.0 if state in (STATE_SHUTOFF, STATE_NOSTATE) else old.cpu
            node.rows[r] = DomainRow(old.uuid, old.uuid_str, old.name, new_id, state, cpu, old.mem_kib,
                                     old.maxmem_kib, old.vcpus, old.disk_bps, old.net_bps, old.hist)
            lo, hi = min(lo, r), max(hi, r)
        if hi >= 0:
            self.state_version += 1
            self.dataChanged.emit(self.createIndex(lo, COL_STATE, node), self.createIndex(hi, LAST_STAT_COL, node))
            if self.sort_column in (COL_STATE, COL_ID):
                self.resort()
        return found


    # ------------------------------------------------------------------ sorting
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort every connection's domain rows by ``column`` (the list re-sorts on request, not on every tick)."""
        self.sort_column, self.sort_order = column, order
        self.resort()

    def resort(self) -> None:
        """Apply the current sort again: one layout change, with selections and the current row kept."""
        col = self.sort_column
        if col < 0 or not any(len(n.rows) > 1 for n in self.connections):
            return
        key = SORT_KEYS.get(col)
        if key is None:  # the screen column: domains showing a thumbnail first
            thumbs = self.thumbnails

            def key(r: DomainRow, n: ConnectionNode) -> Any:
                return ((n.uri, r.uuid) in thumbs, r.name.lower())
        reverse = self.sort_order == Qt.SortOrder.DescendingOrder
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        saved = [(idx.internalPointer(), idx.row(), idx.column()) for idx in old]
        uuids = [None if node is None else node.rows[r].uuid for node, r, _c in saved]
        for node in self.connections:
            node.rows.sort(key=functools.partial(_key_of, key, node), reverse=reverse)
            node.index = {row.uuid: k for k, row in enumerate(node.rows)}
        new = []
        for (node, r, c), uuid in zip(saved, uuids, strict=True):
            new.append(self.createIndex(r, c) if node is None else self.createIndex(node.index[uuid], c, node))
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()


def _key_of(key: Any, node: ConnectionNode, row: DomainRow) -> Any:
    return key(row, node)


__all__ = [
    "COL_CPU", "COL_DISK", "COL_ID", "COL_MEM", "COL_NAME", "COL_NET", "COL_SCREEN", "COL_STATE", "COLUMN_TIPS",
    "COLUMNS", "CONNECTION_MARKER", "FILTER_ROLE", "KIND_ROLE", "LAST_STAT_COL", "ROW_ROLE", "SORT_ROLE",
    "SPARK_COLUMNS", "SPARK_ROLE", "STATE_ROLE", "THUMB_ROLE", "ThumbKey", "ConnectionNode", "DomainTreeModel",
    "cell_text", "format_bytes", "format_rate", "plural",
]
