"""What a poll tick repaints in the domain list: the changed statistics columns of the domain rows only."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QRect

from guiapp.models.domains import COL_CPU, COL_NET


class _PaintRegions(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.regions: list[list[QRect]] = []

    def eventFilter(self, _obj: Any, event: Any) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.regions.append([QRect(r) for r in event.region()])
        return False


def test_a_poll_tick_repaints_the_statistics_columns_of_domain_rows_only(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    view = win.view
    win.resize(1100, 600)
    qtbot.wait(300)
    win.manager.set_interval(60_000)  # ticks only when asked
    qtbot.wait(300)
    spy = _PaintRegions()
    view.viewport().installEventFilter(spy)
    try:
        with qtbot.waitSignal(win.manager.polled, timeout=5000):
            win.manager.poll_now(uri)
        qtbot.waitUntil(lambda: bool(spy.regions), timeout=3000)
    finally:
        view.viewport().removeEventFilter(spy)
    header = view.header()
    x0 = header.sectionViewportPosition(COL_CPU)
    x1 = header.sectionViewportPosition(COL_NET) + header.sectionSize(COL_NET)
    conn = win.proxy.mapFromSource(win.model.connection_index(uri))
    conn_row = view.visualRect(conn)
    painted = [r for regions in spy.regions for r in regions]
    assert painted
    for r in painted:
        assert r.left() >= x0 and r.right() < x1, (r, x0, x1)  # no name, ID or screen column
        assert r.top() > conn_row.bottom(), (r, conn_row)  # not the connection's own row
    first_domain = view.visualRect(win.proxy.index(0, COL_CPU, conn))
    assert any(r.contains(first_domain.center()) for r in painted)  # the domain rows themselves are repainted


def test_the_row_loop_paints_what_qt_per_row_painting_paints(qtbot: Any, window: Any, tmp_path: Any,
                                                            monkeypatch: Any) -> None:
    """The view paints domain rows in one loop of its own (Qt's loop cost a converted style option and a
    proxy mapping per row): pixel for pixel what Qt's drawRow path paints, with selected rows, the focus row,
    alternating colours, two connections, a scrolled list and a filter."""
    from guiapp.models.demo import write_node
    from guiapp.views.main_window.delegates import DomainTreeView

    a = write_node(tmp_path / "a.xml", 40, running=0.5, paused=3)
    b = write_node(tmp_path / "b.xml", 4, prefix="web")
    window.resize(1000, 600)
    window.manager.add(a)
    window.manager.add(b)
    qtbot.waitUntil(lambda: window.model.domain_count() == 44, timeout=20000)
    window.manager.set_interval(600_000)
    qtbot.wait(300)
    rows = window.model.connection(a).rows
    window.select_domain(a, rows[2].uuid)
    window.select_domain(a, rows[3].uuid, extend=True)
    window.select_domain(a, rows[9].uuid, extend=True)
    window.view.setFocus()
    view = window.view
    loops: list[int] = []
    ours = DomainTreeView._paint_domain_rows

    def counted(self: Any, event: Any) -> Any:
        loops.append(1)
        return ours(self, event)

    def both() -> tuple[Any, Any]:
        monkeypatch.setattr(DomainTreeView, "_paint_domain_rows", counted)
        mine = view.viewport().grab().toImage()
        monkeypatch.setattr(DomainTreeView, "_paint_domain_rows", lambda self, event: None)
        theirs = view.viewport().grab().toImage()
        return mine, theirs

    for step in ("top", "scrolled", "filtered"):
        if step == "scrolled":
            view.verticalScrollBar().setValue(view.verticalScrollBar().maximum() // 2 + 7)
        if step == "filtered":
            window.set_filter("vm-01")
        qtbot.wait(50)
        loops.clear()
        mine, theirs = both()
        assert loops, step
        assert mine == theirs, step


def test_only_a_connection_label_too_long_for_the_name_column_spans_the_row(qtbot: Any, window: Any,
                                                                            tmp_path: Any) -> None:
    """A spanned row costs every relayout one more model call per domain row: only labels that need it span,
    and they follow the Name column's width."""
    from PySide6.QtCore import QModelIndex

    from guiapp.models.demo import write_node
    from guiapp.models.domains import COL_NAME

    short = write_node(tmp_path / "a.xml", 3)
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    long = write_node(deep / "b.xml", 2, prefix="b")
    window.resize(1200, 500)
    window.manager.add(short)
    window.manager.add(long)
    qtbot.waitUntil(lambda: window.model.domain_count() == 5, timeout=20000)
    view, header = window.view, window.view.header()
    header.setSectionResizeMode(COL_NAME, header.ResizeMode.Interactive)
    header.resizeSection(COL_NAME, 800)
    spans = {}

    def spanned() -> dict:
        for r in range(window.proxy.rowCount()):
            label = window.proxy.index(r, 0).data()
            spans[label.split()[0]] = view.isFirstColumnSpanned(r, QModelIndex())
        return spans
    assert spanned() == {short: False, long: True}
    header.resizeSection(COL_NAME, 100)  # now neither fits
    assert spanned() == {short: True, long: True}
    header.resizeSection(COL_NAME, 1600)
    assert spanned() == {short: False, long: False}
