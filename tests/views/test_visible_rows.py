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
