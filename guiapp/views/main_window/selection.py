"""The main window's selection (read once per change) and filter box (a mixin of MainWindow)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QItemSelectionModel, QTimer
from PySide6.QtWidgets import QLabel, QLineEdit, QMainWindow

from ...models.connections import ConnectionManager
from ...models.domain_filter import DomainFilterProxy
from ...models.domains import DomainTreeModel, plural
from ...models.stats import DomainRow

if TYPE_CHECKING:
    _Base = QMainWindow
else:
    _Base = object

Selected = list[tuple[str, DomainRow]]


class SelectionAndFilter(_Base):
    """Which domains are selected (cached until the selection or the rows change), and the list's filter."""

    view: Any
    proxy: DomainFilterProxy
    model: DomainTreeModel
    manager: ConnectionManager
    filter_edit: QLineEdit
    count_label: QLabel
    _filter_timer: QTimer
    _actions_timer: QTimer
    _selected_keys: Optional[list[tuple[str, bytes]]]

    def _update_actions(self) -> None:
        raise NotImplementedError  # MainWindow's

    def selected_keys(self) -> list[tuple[str, bytes]]:
        """(uri, uuid) of every selected domain row; read from the selection's ranges once per change.

        ``selectedRows()`` asks the model for every cell's flags (a Python call each); the ranges
        give the rows directly, and without a filter the proxy's rows are the model's.
        """
        if self._selected_keys is None:
            keys: dict[tuple[str, bytes], None] = {}
            proxy = self.proxy
            identity = not proxy.filter_text
            selection = self.view.selectionModel().selection()
            for k in range(selection.count()):
                rng = selection.at(k)
                pparent = rng.parent()
                if not pparent.isValid():
                    continue  # connection rows
                sparent = proxy.mapToSource(pparent)
                if not sparent.isValid() or sparent.internalPointer() is not None:
                    continue
                node = self.model.connections[sparent.row()]
                if identity:
                    rows = node.rows[rng.top():rng.bottom() + 1]
                else:
                    rows = []
                    for r in range(rng.top(), rng.bottom() + 1):
                        sidx = proxy.mapToSource(proxy.index(r, 0, pparent))
                        if sidx.isValid() and sidx.row() < len(node.rows):
                            rows.append(node.rows[sidx.row()])
                for row in rows:
                    keys[(node.uri, row.uuid)] = None
            self._selected_keys = list(keys)
        return self._selected_keys

    def selected_domains(self) -> Selected:
        """(uri, current DomainRow) for every selected domain row (O(1) per row after a selection change)."""
        out: Selected = []
        find = self.model.domain_row
        for uri, uuid in self.selected_keys():
            row = find(uri, uuid)
            if row is not None:
                out.append((uri, row))
        return out

    def selected_connection(self) -> Optional[str]:
        """The connection of the current row (a connection row or a domain's parent)."""
        idx = self.proxy.mapToSource(self.view.currentIndex())
        if not idx.isValid():
            return next(iter(self.manager.connections), None) if len(self.manager.connections) == 1 else None
        node = idx.internalPointer()
        if node is not None:
            return node.uri
        return self.model.connections[idx.row()].uri

    def select_domain(self, uri: str, uuid: bytes, extend: bool = False) -> bool:
        sidx = self.model.domain_index(uri, uuid)
        pidx = self.proxy.mapFromSource(sidx)
        if not pidx.isValid():
            return False
        flags = QItemSelectionModel.SelectionFlag.Rows | (
            QItemSelectionModel.SelectionFlag.Select if extend else QItemSelectionModel.SelectionFlag.ClearAndSelect)
        model = self.view.selectionModel()
        model.select(pidx, flags)
        if not extend:  # NoUpdate: the view's setCurrentIndex would select again by the keys held now (Ctrl toggles)
            model.setCurrentIndex(pidx, QItemSelectionModel.SelectionFlag.NoUpdate)
        self.update_actions_now()
        return True

    def _selection_changed(self) -> None:
        """The selection (or the rows) changed: recompute the actions once, after the current batch of events."""
        self._selected_keys = None
        self._schedule_actions_update()

    def _schedule_actions_update(self) -> None:
        if not self._actions_timer.isActive():
            self._actions_timer.start()

    def update_actions_now(self) -> None:
        """Enable the actions for the current selection (tests call it instead of waiting for the timer)."""
        self._actions_timer.stop()
        self._update_actions()

    def set_filter(self, text: str) -> None:
        """Filter the list now (the filter box calls it through a short debounce)."""
        self._filter_timer.stop()
        self.proxy.set_filter_text(text)
        for r in range(self.proxy.rowCount()):  # connection rows only (expandAll walks every row)
            idx = self.proxy.index(r, 0)
            if not self.view.isExpanded(idx):
                self.view.expand(idx)
        self._selection_changed()
        self._update_count()

    def clear_filter(self) -> None:
        """Escape in the filter box: show every domain again, at once."""
        self.filter_edit.clear()
        self.set_filter("")

    def _filter_typed(self, _text: str) -> None:
        self._filter_timer.start()

    def _update_count(self) -> None:
        total = self.model.domain_count()
        if self.filter_edit.text().strip():
            shown = sum(self.proxy.rowCount(self.proxy.index(r, 0)) for r in range(self.proxy.rowCount()))
            self.count_label.setText(f"{shown} of {plural(total, 'domain')} shown")
        else:
            self.count_label.setText(plural(total, "domain"))

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()
