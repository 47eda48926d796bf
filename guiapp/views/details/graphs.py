"""Performance graphs: one small painted widget per metric over the sampler's history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...models.stats import HISTORY


class GraphWidget(QWidget):
    """A titled line graph of the last HISTORY samples; ``scale`` None autoscale, else fixed maximum."""

    def __init__(self, title: str, color: str, fmt: Callable[[float], str], scale: Optional[float] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.title = title
        self.color = QColor(color)
        self.fmt = fmt
        self.scale = scale
        self.values: Sequence[float] = ()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(90)
        self.setToolTip(f"{title}, last {HISTORY} samples")

    def sizeHint(self) -> QSize:
        return QSize(360, 120)

    def set_values(self, values: Sequence[float]) -> None:
        self.values = values
        if self.isVisible():
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        pal = self.palette()
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.fillRect(rect, pal.base())
        p.setPen(QPen(pal.mid().color()))
        p.drawRect(rect)
        values = list(self.values)
        top = self.scale if self.scale is not None else (max(values) if values else 0.0)
        current = values[-1] if values else None
        p.setPen(pal.text().color())
        label = f"{self.title}: {self.fmt(current) if current is not None else '–'}"
        p.drawText(rect.adjusted(6, 4, -6, -4), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), label)
        if top:
            p.drawText(rect.adjusted(6, 4, -6, -4), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop),
                       f"max {self.fmt(top)}")
        if len(values) < 2:
            return
        plot = rect.adjusted(4, 22, -4, -4)
        step = plot.width() / (HISTORY - 1)
        x0 = plot.right() - step * (len(values) - 1)
        h = plot.height()
        pts = [QPointF(x0 + i * step, plot.bottom() - (min(1.0, v / top) * h if top else 0.0))
               for i, v in enumerate(values)]
        fill = QPolygonF([QPointF(pts[0].x(), plot.bottom()), *pts, QPointF(pts[-1].x(), plot.bottom())])
        c = QColor(self.color)
        c.setAlpha(50)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(c)
        p.drawPolygon(fill)
        pen = QPen(self.color)
        pen.setWidth(1)
        p.setPen(pen)
        p.drawPolyline(QPolygonF(pts))
