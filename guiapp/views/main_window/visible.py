"""The domains whose rows are on screen: what a partial poll tick samples (see ConnectionManager.watched)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint

from ...models.domains import ROW_ROLE, ConnectionNode


def visible_domains(view: Any, uri: str, margin: int = 5) -> set[bytes]:
    """UUIDs of ``uri``'s domain rows painted in ``view`` (plus ``margin`` rows each side, for scrolling)."""
    out: set[bytes] = set()
    idx = view.indexAt(QPoint(1, 1))
    if not idx.isValid():
        return out
    for _ in range(margin):
        above = view.indexAbove(idx)
        if not above.isValid():
            break
        idx = above
    bottom = view.viewport().height()
    extra = margin
    model = view.model()
    while idx.isValid():
        parent = idx.parent()
        if parent.isValid():  # a domain row: its parent is the connection row
            node = model.index(parent.row(), 0).data(ROW_ROLE)
            if isinstance(node, ConnectionNode) and node.uri == uri:
                row = idx.data(ROW_ROLE)
                if row is not None:
                    out.add(row.uuid)
        if view.visualRect(idx).top() > bottom:
            extra -= 1
            if extra < 0:
                break
        idx = view.indexBelow(idx)
    return out

