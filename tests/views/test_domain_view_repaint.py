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
