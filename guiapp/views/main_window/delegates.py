"""Painting domain rows cheaply: a delegate drawing sparklines as 1 px polylines, one Python call per row.

The default item painting asks the model for about ten roles per cell (through the proxy, each
a Python ``index()`` and ``data()`` call) and runs the style's item machinery; at one repaint per
second of every visible row that dominated the idle CPU. :class:`DomainTreeView` overrides
``drawRow`` for domain rows: it fetches the row object once and draws icon, texts and sparklines
itself, with the column geometry computed once per paint event and texts kept as QStaticText.
Connection rows keep Qt's painting. The screen column draws the domain's thumbnail (a QPixmap
from the model's ``thumbnails`` dict, scaled once per new image); a new thumbnail repaints only
its own cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import Any, Optional

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
    QRegion,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTreeView

from ...jobs import UI_WORK
from ...models.domains import COL_NAME, COL_SCREEN, COL_STATE, COLUMNS, ROW_ROLE, SPARK_COLUMNS, THUMB_ROLE, cell_text
from ...models.stats import SPARK_POINTS, DomainRow
from ..icons import state_icon
from .visible import in_model_order, row_geometry

_CACHE_LIMIT = 4096
_TEXT_W = 82  # the right part of a sparkline cell is its text's


class DomainDelegate(QStyledItemDelegate):
    """The domain list's delegate: icon, texts and sparklines of domain cells; caches polygons and texts.

    :meth:`paint` serves any view cell by cell; :class:`DomainTreeView` calls :meth:`cell` directly
    for a whole row at a time. Connection rows get the standard painting.
    """

    def __init__(self, parent: Any = None, color: str = "#3f8fd2") -> None:
        super().__init__(parent)
        self.pen = QPen(QColor(color))
        self.pen.setWidth(1)  # 1 px: wider pens are several times slower (FACTS.md)
        self.selected_pen = QPen(QColor("#ffffff"))
        self.selected_pen.setWidth(1)
        self._polys: dict[tuple[int, int], list] = {}  # [hist, count, x, y, w, h, top, points, polygon]
        self._texts: dict[str, tuple[QStaticText, int]] = {}
        self._once: set[str] = set()  # texts drawn once (a second time makes them a QStaticText)
        self._scaled: dict[int, tuple[int, int, QPixmap]] = {}  # pixmap cacheKey -> (w, h, scaled copy)
        self.row_height = 0  # minimum row height (taller rows while the screen column shows thumbnails)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        if self.row_height > size.height():
            size.setHeight(self.row_height)
        return size

    def thumbnail(self, pix: QPixmap, x: int, y: int, w: int, h: int) -> tuple[QPixmap, int, int]:
        """``pix`` fitted into the cell (scaled only when it is larger, once per image and size), and where."""
        aw, ah = max(1, w - 4), max(1, h - 4)
        if pix.width() > aw or pix.height() > ah:
            key = pix.cacheKey()
            hit = self._scaled.get(key)
            if hit is None or hit[0] != aw or hit[1] != ah:
                if len(self._scaled) >= 256:
                    self._scaled.clear()
                hit = self._scaled[key] = (aw, ah, pix.scaled(aw, ah, Qt.AspectRatioMode.KeepAspectRatio,
                                                              Qt.TransformationMode.SmoothTransformation))
            pix = hit[2]
        return pix, x + (w - pix.width()) // 2, y + (h - pix.height()) // 2

    def polygon(self, row: DomainRow, col: int, metric: str, x: int, y: int, w: int, h: int) -> Optional[QPolygonF]:
        """The sparkline in viewport coordinates, right-aligned: one step per sample, the newest at the right.

        Cached per domain history and geometry; one new sample at an unchanged scale shifts the
        cached polyline left by a step and appends a point in place (dropping the oldest once it
        holds SPARK_POINTS) instead of rebuilding it.
        """
        hist = row.hist
        if hist is None:
            return None
        count = hist.count
        key = (id(hist), col)
        hit = self._polys.get(key)
        if hit is not None and hit[0] is hist and hit[2] == x and hit[3] == y and hit[4] == w and hit[5] == h:
            if hit[1] == count:
                return hit[8]
            if count == hit[1] + 1:
                dq = getattr(hist, metric)
                top = 100.0 if metric == "cpu" else max(islice(reversed(dq), SPARK_POINTS))
                if top and hit[6] and top != hit[6]:
                    # a new maximum (disk, network): rescale the points in place of rebuilding them
                    k = hit[6] / top
                    hit[8] = QTransform(1.0, 0.0, 0.0, k, 0.0, (y + h) * (1.0 - k)).map(hit[8])
                    hit[6] = top
                if top == hit[6] and top:
                    v = dq[-1]
                    poly = hit[8]
                    if hit[7] == SPARK_POINTS:
                        poly.remove(0)
                    else:
                        hit[7] += 1
                    poly.translate(-w / (SPARK_POINTS - 1), 0.0)
                    poly.append(QPointF(x + w, y + h - (v if v < top else top) * (h / top)))
                    hit[1] = count
                    return poly
        values = row.tail(metric)
        n = len(values)
        if n < 2:
            return None
        top = 100.0 if metric == "cpu" else max(values)
        k = h / top if top else 0.0
        step = w / (SPARK_POINTS - 1)
        left = x + w - (n - 1) * step
        bottom = y + h
        poly = QPolygonF([QPointF(left + i * step, bottom - (v if v < top else top) * k) for i, v in enumerate(values)])
        if len(self._polys) >= _CACHE_LIMIT:
            self._polys.clear()
        self._polys[key] = [hist, count, x, y, w, h, top, n, poly]
        return poly

    def text(self, s: str, fm: Any) -> tuple[QStaticText, int]:
        """A laid-out text and its width (numbers recur a lot from tick to tick)."""
        hit = self._texts.get(s)
        if hit is None:
            if len(self._texts) >= _CACHE_LIMIT:
                self._texts.clear()
            st = QStaticText(s)
            st.setTextFormat(Qt.TextFormat.PlainText)
            hit = self._texts[s] = (st, fm.horizontalAdvance(s))
        return hit

    def cell(self, painter: QPainter, x: int, y: int, w: int, h: int, row: DomainRow, col: int, selected: bool,
             fm: Any, text_y: int, thumb: Optional[QPixmap] = None) -> None:
        """One cell (the painter's pen is the text's; it is restored)."""
        pen = painter.pen()
        self.cells(painter, ((col, x, w),), y, h, row, selected, fm, text_y, thumb)
        painter.setPen(pen)

    def cells(self, painter: QPainter, columns: Sequence[tuple[int, int, int]], y: int, h: int, row: DomainRow,
              selected: bool, fm: Any, text_y: int, thumb: Optional[QPixmap] = None) -> None:
        """The cells ``columns`` ((column, x, width), ...) of one row: texts first, then the sparklines.

        Expects the text pen set; leaves the sparkline pen set when a sparkline was drawn.
        """
        sparks = None
        texts = self._texts
        once = self._once
        for col, x, w in columns:
            if col == COL_SCREEN:
                if thumb is not None:
                    pix, px, py = self.thumbnail(thumb, x, y, w, h)
                    painter.drawPixmap(px, py, pix)
                continue
            if col == COL_NAME:
                avail = w - 8
                st, tw = self.text(row.name, fm)
                if tw > avail:
                    st, tw = self.text(fm.elidedText(row.name, Qt.TextElideMode.ElideRight, avail), fm)
                painter.drawStaticText(x + 4, text_y, st)
                continue
            if col == COL_STATE:  # icon and text, left-aligned
                size = min(16, h - 2)
                state_icon(row.state).paint(painter, QRect(x + 3, y + (h - size) // 2, size, size))
                st, _tw = self.text(cell_text(row, col), fm)
                painter.drawStaticText(x + size + 8, text_y, st)
                continue
            s = cell_text(row, col)
            hit = texts.get(s)
            if hit is not None:
                painter.drawStaticText(x + w - 4 - hit[1], text_y, hit[0])
            elif s in once:  # seen before: worth a laid-out text
                hit = self.text(s, fm)
                painter.drawStaticText(x + w - 4 - hit[1], text_y, hit[0])
            else:  # most rates are new each tick: drawn at the baseline, no static text (nor a layout in a rect)
                if len(once) >= _CACHE_LIMIT:
                    once.clear()
                once.add(s)
                painter.drawText(x + w - 4 - fm.horizontalAdvance(s), text_y + fm.ascent(), s)
            metric = SPARK_COLUMNS.get(col)
            if metric is not None and w - _TEXT_W - 8 >= 10 and h >= 12:
                if sparks is None:
                    sparks = []
                sparks.append((col, metric, x + 4, w - _TEXT_W - 8))
        if sparks is None:
            return
        polygon = self.polygon
        sh = h - 8
        painter.setPen(self.selected_pen if selected else self.pen)
        for col, metric, sx, sw in sparks:
            poly = polygon(row, col, metric, sx, y + 4, sw, sh)
            if poly is not None:
                painter.drawPolyline(poly)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        row = index.data(ROW_ROLE)
        if not isinstance(row, DomainRow):
            super().paint(painter, option, index)
            return
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        if selected:
            painter.fillRect(rect, option.palette.highlight())
            painter.setPen(option.palette.highlightedText().color())
        else:
            painter.setPen(option.palette.text().color())
        fm = option.fontMetrics
        thumb = index.data(THUMB_ROLE) if index.column() == COL_SCREEN else None
        self.cell(painter, rect.x(), rect.y(), rect.width(), rect.height(), row, index.column(), selected, fm,
                  rect.y() + (rect.height() - fm.height()) // 2, thumb)
        painter.restore()


class DomainTreeView(QTreeView):
    """The domain list's view: domain rows painted by its :class:`DomainDelegate` in one call per row."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.row_painter = DomainDelegate(self)
        self.setItemDelegate(self.row_painter)
        self._columns: list[tuple[int, int, int]] = []  # (column, x, width) to paint in this paint event
        self._width = 0
        self._alternate = True
        self._focus_index: Optional[QModelIndex] = None
        self._selection: Any = None  # the selection model while it holds a selection, else None
        self._to_source: Any = None  # the proxy's mapToSource, None without a proxy
        self._style: Optional[tuple] = None  # per paint event, from the first row's option (see _row_style)
        self.thumbnails: dict[tuple[str, bytes], QPixmap] = {}  # the model's thumbnails (the window shares its dict)
        self._screen = False  # the screen column is painted in this paint event

    def selectAll(self) -> None:
        """Select every domain row with one range per connection (Qt's own builds one per row: O(N²))."""
        model, sm = self.model(), self.selectionModel()
        if model is None or sm is None:
            return
        selection = QItemSelection()
        last_col = model.columnCount() - 1
        for r in range(model.rowCount()):
            parent = model.index(r, 0)
            n = model.rowCount(parent)
            if n:
                selection.select(model.index(0, 0, parent), model.index(n - 1, last_col, parent))
        sm.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def paintEvent(self, event: QPaintEvent) -> None:
        exposed = event.rect()
        left, right = exposed.left(), exposed.right()
        header = self.header()
        indent = self.indentation()
        cols = []
        for col in range(len(COLUMNS)):
            if header.isSectionHidden(col):
                continue
            x = header.sectionViewportPosition(col)
            w = header.sectionSize(col)
            if x + w <= left or x > right:
                continue  # outside what this paint event repaints
            if col == COL_NAME and header.visualIndex(col) == 0:
                x, w = x + indent, w - indent
            cols.append((col, x, w))
        self._columns = cols
        self._screen = any(c[0] == COL_SCREEN for c in cols)
        self._width = self.viewport().width()
        self._alternate = self.alternatingRowColors()
        self._focus_index = self.currentIndex() if self.hasFocus() else None
        selection = self.selectionModel()
        self._selection = selection if selection is not None and selection.hasSelection() else None
        proxy = self.model()
        self._to_source = proxy.mapToSource if isinstance(proxy, QSortFilterProxyModel) else None
        self._style = None
        with UI_WORK:
            rest = self._paint_domain_rows(event)
            if rest is None:
                super().paintEvent(event)
            elif not rest.isEmpty():
                super().paintEvent(QPaintEvent(rest))  # connection rows and the area below the last row

    def _paint_domain_rows(self, event: QPaintEvent) -> Optional[QRegion]:
        """Paint the exposed domain rows in one loop; returns what is left for Qt's painting (None: all of it).

        Rows are found from each connection's first row and the uniform row height, and painted straight from
        the model's row objects: Qt's own loop made a Python ``drawRow`` call per row with a converted style
        option, a proxy ``mapToSource`` and a selection query (about half the cost of a repaint).
        """
        proxy = self.model()
        source = proxy.sourceModel() if isinstance(proxy, QSortFilterProxyModel) else proxy
        connections = getattr(source, "connections", None)
        if connections is None or not self.uniformRowHeights():
            return None
        exposed = event.rect()
        width = self._width
        left_for_qt = QRegion()
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        style = self._row_style(option)
        selected_rows = self._selected_rows()
        focus = self._focus_index
        focus_at = (focus.parent().row(), focus.row()) if focus is not None and focus.parent().isValid() else None
        identity = in_model_order(proxy)
        painter: Optional[QPainter] = None
        bottom = 0
        for r in range(proxy.rowCount()):
            cidx = proxy.index(r, 0)
            crect = self.visualRect(cidx)
            if crect.height() <= 0:
                continue
            if crect.top() > exposed.bottom():
                bottom = exposed.bottom() + 1
                break
            bottom = crect.bottom() + 1
            if bottom > exposed.top():
                left_for_qt += QRect(0, crect.top(), width, crect.height())
            count, top, step = row_geometry(self, cidx)
            if not count:
                continue
            if not step:  # not laid out yet: Qt paints all of it this time
                if painter is not None:
                    painter.end()
                return None
            bottom = top + count * step
            lo, hi = max(0, (exposed.top() - top) // step), min(count - 1, (exposed.bottom() - top) // step)
            if hi < lo:
                continue
            node = connections[r if self._to_source is None else self._to_source(cidx).row()]
            rows, uri = node.rows, node.uri
            chosen = selected_rows.get(r, ())
            if painter is None:
                painter = QPainter(self.viewport())
            for k in range(lo, hi + 1):
                sr = k if identity else self._to_source(proxy.index(k, 0, cidx)).row()
                if not 0 <= sr < len(rows):
                    continue
                selected = any(a <= k <= b for a, b in chosen)
                self._paint_row(painter, style, top + k * step, step, rows[sr], uri, k, selected,
                                focus_at == (r, k))
        if painter is not None:
            painter.end()
        if bottom <= exposed.bottom():  # below the last row: Qt's (alternating) background
            left_for_qt += QRect(0, bottom, width, exposed.bottom() - bottom + 1)
        return left_for_qt & event.region()

    def _selected_rows(self) -> dict[int, list[tuple[int, int]]]:
        """Selected domain rows of this paint: connection's view row -> [(first, last), ...] view rows."""
        out: dict[int, list[tuple[int, int]]] = {}
        if self._selection is None:
            return out
        for rng in self._selection.selection():
            parent = rng.parent()
            if parent.isValid() and not parent.parent().isValid():
                out.setdefault(parent.row(), []).append((rng.top(), rng.bottom()))
        return out

    def _row_style(self, option: QStyleOptionViewItem) -> tuple:
        """(highlight, highlighted text, alternate base, text color, font metrics, font height) of this paint."""
        palette = QPalette(option.palette)  # copies: the option and its palette die with this call
        fm = QFontMetrics(option.fontMetrics)
        self._style = (QBrush(palette.highlight()), QColor(palette.highlightedText().color()),
                       QBrush(palette.alternateBase()), QColor(palette.text().color()), fm, fm.height(),
                       QColor(palette.highlight().color()), palette)
        return self._style

    def dataChanged(self, top_left: QModelIndex | QPersistentModelIndex,
                    bottom_right: QModelIndex | QPersistentModelIndex, roles: Sequence[int] = ()) -> None:
        """Repaint only the changed columns of domain rows (Qt repaints the whole viewport for a range).

        A single changed cell (a new thumbnail) repaints just that cell.
        """
        if top_left == bottom_right and top_left.parent().isValid():
            rect = self.visualRect(top_left)
            if rect.isValid():
                self.viewport().update(rect)
            return
        parent = top_left.parent()
        if parent.isValid() and top_left.column() > 0:
            header = self.header()
            x0, x1 = 1 << 30, -1
            for col in range(top_left.column(), bottom_right.column() + 1):
                if header.isSectionHidden(col):
                    continue
                pos = header.sectionViewportPosition(col)
                x0, x1 = min(x0, pos), max(x1, pos + header.sectionSize(col))
            if x1 <= x0 or not self.isExpanded(parent):
                return
            # the rows of this connection's domains (contiguous in the view, sorted or not), not its own row
            viewport = self.viewport()
            y0 = self.visualRect(parent).bottom() + 1
            last = self.model().rowCount(parent) - 1
            y1 = self.visualRect(self.model().index(last, 0, parent)).bottom() + 1 if last >= 0 else y0
            y0, y1 = max(0, y0), min(viewport.height(), y1)
            if y1 > y0:
                viewport.update(QRect(x0, y0, x1 - x0, y1 - y0))
            return
        super().dataChanged(top_left, bottom_right, roles)

    def drawRow(self, painter: QPainter, option: QStyleOptionViewItem,
                index: QModelIndex | QPersistentModelIndex) -> None:
        to_source = self._to_source
        sidx = to_source(index) if to_source is not None else index
        node = sidx.internalPointer()
        if node is None:
            super().drawRow(painter, option, index)  # connection rows: Qt's painting
            return
        selected = self._selection is not None and self._selection.isSelected(index)
        focused = self._focus_index is not None and self._focus_index == index
        rect = option.rect
        self._paint_row(painter, self._style or self._row_style(option), rect.y(), rect.height(),
                        node.rows[sidx.row()], node.uri, index.row(), selected, focused)

    def _paint_row(self, painter: QPainter, style: tuple, y: int, h: int, row: DomainRow, uri: str, view_row: int,
                   selected: bool, focused: bool) -> None:
        """One domain row at ``y`` (``view_row``: its row under its connection, for alternating colours)."""
        highlight, highlighted_text, alternate, text, fm, font_h, focus, _ = style
        width = self._width
        if selected:
            painter.fillRect(0, y, width, h, highlight)
            painter.setPen(highlighted_text)
        else:
            if self._alternate and view_row & 1:
                painter.fillRect(0, y, width, h, alternate)
            painter.setPen(text)
        thumb = self.thumbnails.get((uri, row.uuid)) if self._screen else None
        self.row_painter.cells(painter, self._columns, y, h, row, selected, fm, y + (h - font_h) // 2, thumb)
        if focused:
            painter.setPen(QPen(focus if not selected else highlighted_text, 1, Qt.PenStyle.DotLine))
            painter.drawRect(QRect(0, y, width - 1, h - 1))
