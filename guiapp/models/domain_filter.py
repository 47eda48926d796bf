"""The domain list's proxy: a substring filter over name, UUID and state; sorting goes to the model."""

from __future__ import annotations

import time
from typing import Any, Optional

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt

from .api import state_name
from .domain_columns import FILTER_ROLE, ROW_ROLE, SORT_ROLE, plural
from .domains import CONNECTION_FLAGS, DOMAIN_FLAGS, NO_FLAGS, ConnectionNode, DomainTreeModel

_DISPLAY = Qt.ItemDataRole.DisplayRole


def _matches(row: Any, needle: str) -> bool:
    """The filter's rule: ``needle`` (case-folded) is part of the domain's name, UUID or state."""
    return needle in row.name.casefold() or needle in row.uuid_str or needle in state_name(row.state)


class DomainFilterProxy(QSortFilterProxyModel):
    """Sorting by every column and a substring filter over name, UUID and state."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterRole(FILTER_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        # connection rows match on their own (CONNECTION_MARKER), so no recursive filtering: with it the proxy
        # also reports every tick's domain-row change as a change of the connection row (a full-width repaint)
        self.setRecursiveFilteringEnabled(False)
        # the model sorts itself, and the window re-applies the filter after state changes (once per burst):
        # a dynamic proxy re-checks every changed row on every tick (thousands of Python index() calls)
        self.setDynamicSortFilter(False)
        self._last_sort: tuple[int, Any, float] = (-1, None, 0.0)
        self._needle = ""
        self._text = ""
        self._version = 0  # the model's state_version when the filter was last applied
        self._root_id: Optional[int] = None  # flags(): the top-level rows' internal id, until mappings change
        for signal in (self.layoutAboutToBeChanged, self.layoutChanged, self.modelAboutToBeReset, self.modelReset,
                       self.rowsInserted, self.rowsRemoved, self.sourceModelChanged):
            signal.connect(self._forget_root)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Header clicks sort the source model (Python's sort, once); the proxy itself keeps its order.

        A sorting proxy asks the model for two sort keys per comparison (thousands of Python calls
        at 2000 domains, and again on every tick under a CPU sort).
        """
        src = self.sourceModel()
        if not isinstance(src, DomainTreeModel):
            return
        # QTreeView.sortByColumn sorts twice (the header's signal, then itself): once is enough
        now = time.monotonic()
        if self._last_sort[:2] == (column, order) and now - self._last_sort[2] < 0.05:
            return
        self._last_sort = (column, order, now)
        src.sort(column, order)

    def data(self, index: QModelIndex, role: int = _DISPLAY) -> Any:  # type: ignore[override]
        """A connection row's label counts the domains the filter shows ('3 of 12 domains shown')."""
        if role == _DISPLAY and index.column() == 0 and not index.parent().isValid() \
                and self._text:
            node = self.mapToSource(index).data(ROW_ROLE)
            if isinstance(node, ConnectionNode) and node.status == node.CONNECTED:
                return f"{node.uri}  ({self.rowCount(index)} of {plural(len(node.rows), 'domain')} shown)"
        return super().data(index, role)

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:  # type: ignore[override]
        """The model's flags without asking it: a relayout asks twice per row, and Qt's own answer maps the
        index to the source (a Python ``index()``) and asks the source (a Python ``flags()``).

        Rows under the root share the root's mapping, whose address is every top-level index's internal id:
        those are connection rows; the others are domain rows, which never have children.
        """
        if not index.isValid():
            return NO_FLAGS
        root = self._root_id
        if root is None:
            root = self._root_id = self.index(0, 0).internalId()
        return CONNECTION_FLAGS if index.internalId() == root else DOMAIN_FLAGS

    def _forget_root(self, *_args: Any) -> None:
        """The proxy may have rebuilt its mappings (and the root's address with them)."""
        self._root_id = None

    def invalidate(self) -> None:
        self._root_id = None
        super().invalidate()

    def filterAcceptsRow(self, source_row: int, source_parent: Any) -> bool:
        """One Python call per row and no data() round trip (the proxy is not dynamic: only on a refilter)."""
        needle = self._needle
        if not needle or not source_parent.isValid():
            return True  # no filter, or a connection row
        src = self.sourceModel()
        node = src.connections[source_parent.row()]  # type: ignore[attr-defined]
        if source_row >= len(node.rows):
            return False
        return _matches(node.rows[source_row], needle)

    @property
    def filter_text(self) -> str:
        """The filter in force ('' when none)."""
        return self._text

    def set_filter_text(self, text: str) -> None:
        """Substring filter over name, UUID and state; connection rows always show.

        :meth:`filterAcceptsRow` does the matching. The change is one layout change (``invalidate``), not
        Qt's incremental row insertions and removals: clearing a filter on 2000 domains inserted them back
        run by run, each insertion walked by the view and the selection (~100 ms of Python index() calls);
        a layout change re-lays the tree out once. Selected rows still shown stay selected.
        """
        text = text.strip()
        if not text and not self._text:
            return  # nothing was filtered out
        needle = text.casefold()
        src = self.sourceModel()
        unchanged = self._shows_the_same(needle)
        self._text = text  # the same text again: applied again (the rows' states changed)
        self._needle = needle
        self._version = getattr(src, "state_version", 0)
        if unchanged:  # typing on without hiding a row: relabel the connections, no relayout
            for r in range(self.rowCount()):
                top = self.index(r, 0)
                self.dataChanged.emit(top, top, [_DISPLAY])
            return
        self.invalidate()

    def _shows_the_same(self, needle: str) -> bool:
        """Whether ``needle`` shows exactly the rows shown now: it contains the text in force (so it shows a
        subset), no state changed since, and every connection shows as many rows as match it."""
        src = self.sourceModel()
        if needle == self._needle or self._needle not in needle or not isinstance(src, DomainTreeModel):
            return False
        if self._needle and src.state_version != self._version:
            return False  # a state changed since the filter was applied: what it shows may be stale (none is
            # without a filter: every row shows)
        for r, node in enumerate(src.connections):
            if self.rowCount(self.index(r, 0)) != sum(1 for row in node.rows if _matches(row, needle)):
                return False
        return True
