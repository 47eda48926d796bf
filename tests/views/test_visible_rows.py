"""Partial poll ticks sample the rows on screen: visible_domains follows the view's scroll position."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from guiapp.models.demo import write_node
from guiapp.views.main_window.visible import visible_domains


def test_visible_domains_are_the_painted_rows_and_follow_scrolling(qtbot: Any, window: Any, tmp_path: Path) -> None:
    uri = write_node(tmp_path / "many.xml", 120, running=0.5)
    window.resize(900, 500)
    window.manager.add(uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 120, timeout=20000)
    qtbot.wait(50)
    rows = window.model.connection(uri).rows
    top = visible_domains(window.view, uri, margin=0)
    assert rows[0].uuid in top and rows[-1].uuid not in top and 5 < len(top) < 60
    assert visible_domains(window.view, "test:///other") == set()
    window.view.scrollToBottom()
    qtbot.wait(50)
    bottom = visible_domains(window.view, uri, margin=0)
    assert rows[-1].uuid in bottom and rows[0].uuid not in bottom
    assert window.manager.watched is not None and window.manager.watched(uri) >= bottom


def painted(view: Any, uri: str) -> set[bytes]:
    """The reference: the domain row under every pixel row of the viewport."""
    from PySide6.QtCore import QPoint

    from guiapp.models.domains import ROW_ROLE

    out = set()
    for y in range(view.viewport().height()):
        idx = view.indexAt(QPoint(1, y))
        row = idx.data(ROW_ROLE) if idx.isValid() and idx.parent().isValid() else None
        if row is not None and hasattr(row, "uuid"):
            out.add(row.uuid)
    return out


def test_visible_domains_follow_the_filter_and_a_collapsed_connection(qtbot: Any, window: Any,
                                                                      tmp_path: Path) -> None:
    uri = write_node(tmp_path / "many.xml", 120, running=0.5)
    window.resize(900, 500)
    window.manager.add(uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 120, timeout=20000)
    window.view.scrollTo(window.proxy.mapFromSource(window.model.domain_index(uri, window.model.connection(uri)
                                                                               .rows[60].uuid)))
    qtbot.wait(50)
    assert visible_domains(window.view, uri, margin=0) == painted(window.view, uri) != set()
    window.set_filter("vm-05")  # ten rows, whose proxy rows are not the model's
    qtbot.wait(50)
    shown = painted(window.view, uri)
    assert len(shown) == 10 and visible_domains(window.view, uri, margin=0) == shown
    window.view.collapse(window.proxy.mapFromSource(window.model.connection_index(uri)))
    assert visible_domains(window.view, uri) == set()
