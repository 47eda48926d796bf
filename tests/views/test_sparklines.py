"""The sparkline cache: extending a polyline by one sample equals rebuilding it."""

from __future__ import annotations

from typing import Any

import pytest

from guiapp.models.stats import SPARK_POINTS, DomainRow, History
from guiapp.views.main_window.delegates import DomainDelegate


def make_row(hist: History) -> DomainRow:
    return DomainRow(uuid=b"\1" * 16, uuid_str="x", name="d", id=1, state=1, cpu=1.0, mem_kib=1, maxmem_kib=1,
                     vcpus=1, disk_bps=0.0, net_bps=0.0, hist=hist)


def points(poly: Any) -> list[float]:
    return [c for p in poly for c in (p.x(), p.y())]


@pytest.mark.parametrize("metric,col,values", [
    ("cpu", 2, [float(i % 7) * 10 for i in range(40)]),
    ("disk", 4, [5.0] * 10 + [3.0 + (i % 3) for i in range(30)]),  # maximum unchanged while shifting
])
def test_incremental_sparkline_matches_a_rebuild(qapp: Any, metric: str, col: int, values: list[float]) -> None:
    hist = History()
    seq = getattr(hist, metric)
    delegate = DomainDelegate()
    for v in values[:SPARK_POINTS + 5]:
        seq.append(v)
        hist.count += 1
    delegate.polygon(make_row(hist), col, metric, 10, 20, 100, 16)
    for v in values[SPARK_POINTS + 5:]:
        seq.append(v)
        hist.count += 1
        grown = delegate.polygon(make_row(hist), col, metric, 10, 20, 100, 16)
        fresh = DomainDelegate().polygon(make_row(hist), col, metric, 10, 20, 100, 16)
        assert points(grown) == pytest.approx(points(fresh), abs=1e-6)
        assert len(grown) == SPARK_POINTS
    again = delegate.polygon(make_row(hist), col, metric, 10, 20, 100, 16)
    assert again is delegate.polygon(make_row(hist), col, metric, 10, 20, 100, 16)  # no new sample: cached


@pytest.mark.parametrize("metric,col,values", [
    ("cpu", 2, [float(i * 13 % 100) for i in range(45)]),
    ("net", 5, [float((i * 37) % 11) * 1000 + 1 for i in range(45)]),  # the maximum comes and goes: rescaling
])
def test_sparkline_grown_from_two_samples_matches_a_rebuild(qapp: Any, metric: str, col: int,
                                                           values: list[float]) -> None:
    hist = History()
    seq = getattr(hist, metric)
    delegate = DomainDelegate()
    for n, v in enumerate(values, start=1):
        seq.append(v)
        hist.count += 1
        grown = delegate.polygon(make_row(hist), col, metric, 10, 20, 100, 16)
        if n < 2:
            assert grown is None
            continue
        fresh = DomainDelegate().polygon(make_row(hist), col, metric, 10, 20, 100, 16)
        assert points(grown) == pytest.approx(points(fresh), abs=1e-6)
        assert len(grown) == min(n, SPARK_POINTS)
        assert grown[len(grown) - 1].x() == pytest.approx(110.0)  # the newest sample at the right edge
        assert min(p.y() for p in grown) >= 20.0 - 1e-9 and max(p.y() for p in grown) <= 36.0 + 1e-9


def test_a_new_text_sits_where_the_same_text_sits_once_it_is_cached(qapp: Any) -> None:
    """Rates are new each tick and drawn at once; a text seen again is drawn from a cached static text: both
    must put it on the same pixels (no jitter as a value repeats)."""
    from PySide6.QtGui import QColor, QImage, QPainter

    from guiapp.models.domains import COL_MEM, COL_NET

    delegate = DomainDelegate()
    row = DomainRow(uuid=b"\1" * 16, uuid_str="x", name="d", id=1, state=1, cpu=12.0, mem_kib=393216,
                    maxmem_kib=393216, vcpus=1, disk_bps=685977.0, net_bps=368230.0, hist=None)

    def paint() -> QImage:
        image = QImage(400, 24, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.setPen(QColor("black"))
        fm = painter.fontMetrics()
        delegate.cells(painter, ((COL_MEM, 0, 130), (COL_NET, 130, 130)), 2, 20, row, False, fm,
                       2 + (20 - fm.height()) // 2)
        painter.end()
        return image
    first, second, third = paint(), paint(), paint()  # drawn, then laid out and cached, then from the cache
    assert first == second == third
    assert first != QImage(first.size(), first.format())  # something was drawn
