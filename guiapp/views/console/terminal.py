"""The serial/text console: a VT100/xterm terminal (pyte) drawn in a QWidget, fed by ``virDomain.openConsole``.

:class:`TerminalWidget` renders a :class:`pyte.HistoryScreen` with a monospace font and the 256-colour
palette pyte decodes, keeps a scrollback (mouse wheel, Shift+PgUp/PgDn), copies the selection
(Ctrl+Shift+C) and pastes (Ctrl+Shift+V); keys become the bytes a terminal sends and leave through
:attr:`TerminalWidget.key_bytes`.  :class:`SerialSession` opens the console through the job runner and moves
bytes on its own reader and writer threads, so the UI thread never waits on the guest.  A serial line has
no way to tell the guest the window size: the screen is resized locally only.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Optional

import pyte
from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QWidget

from ...jobs import CONSOLE_POOL

#: The 16 named colours pyte reports (xterm's defaults); 256-colour and true-colour cells come as hex.
NAMED = {"black": "#000000", "red": "#cd0000", "green": "#00cd00", "brown": "#cdcd00", "blue": "#0000ee",
         "magenta": "#cd00cd", "cyan": "#00cdcd", "white": "#e5e5e5", "brightblack": "#7f7f7f",
         "brightred": "#ff0000", "brightgreen": "#00ff00", "brightbrown": "#ffff00", "brightblue": "#5c5cff",
         "brightmagenta": "#ff00ff", "brightcyan": "#00ffff", "brightwhite": "#ffffff"}
DEFAULT_FG, DEFAULT_BG = QColor("#d0d0d0"), QColor("#000000")

_KEYS = {Qt.Key.Key_Return: b"\r", Qt.Key.Key_Enter: b"\r", Qt.Key.Key_Backspace: b"\x7f", Qt.Key.Key_Tab: b"\t",
         Qt.Key.Key_Escape: b"\x1b", Qt.Key.Key_Up: b"\x1b[A", Qt.Key.Key_Down: b"\x1b[B", Qt.Key.Key_Right: b"\x1b[C",
         Qt.Key.Key_Left: b"\x1b[D", Qt.Key.Key_Home: b"\x1b[H", Qt.Key.Key_End: b"\x1b[F",
         Qt.Key.Key_Insert: b"\x1b[2~", Qt.Key.Key_Delete: b"\x1b[3~", Qt.Key.Key_PageUp: b"\x1b[5~",
         Qt.Key.Key_PageDown: b"\x1b[6~"}


def color(name: str, default: QColor) -> QColor:
    """A pyte colour ('default', a name, or 'rrggbb') as a QColor."""
    if name == "default":
        return default
    if name in NAMED:
        return QColor(NAMED[name])
    if len(name) == 6:
        c = QColor("#" + name)
        if c.isValid():
            return c
    return default


def key_to_bytes(key: int, mods: Qt.KeyboardModifier, text: str) -> bytes:
    """What an xterm sends for a key press (empty: nothing)."""
    if key in _KEYS:
        return _KEYS[Qt.Key(key)]
    if mods & Qt.KeyboardModifier.ControlModifier and Qt.Key.Key_A <= key <= Qt.Key.Key_Z:
        return bytes([key - Qt.Key.Key_A + 1])
    if mods & Qt.KeyboardModifier.ControlModifier and key == Qt.Key.Key_BracketRight:
        return b"\x1d"
    return text.encode()


class TerminalWidget(QWidget):
    """A terminal screen; feed guest output with :meth:`feed`, connect :attr:`key_bytes` to the guest."""

    key_bytes = Signal(bytes)

    def __init__(self, parent: Optional[QWidget] = None, columns: int = 80, lines: int = 24,
                 history: int = 5000) -> None:
        super().__init__(parent)
        self.setObjectName("terminal")
        self.vt = pyte.HistoryScreen(columns, lines, history=history, ratio=0.5)
        self.stream = pyte.ByteStream(self.vt)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setFixedPitch(True)
        self.setFont(font)
        fm = QFontMetrics(font)
        self.cell_w, self.cell_h, self.ascent = max(1, fm.horizontalAdvance("M")), max(1, fm.height()), fm.ascent()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(self.cell_w * 20, self.cell_h * 5)
        self.resize(self.cell_w * columns, self.cell_h * lines)
        self._sel: Optional[tuple[tuple[int, int], tuple[int, int]]] = None

    # ------------------------------------------------------------------ content
    def feed(self, data: bytes) -> None:
        self.stream.feed(data)
        self.update()

    def text_lines(self) -> list[str]:
        """The visible screen as text, one string per line (trailing blanks kept)."""
        return list(self.vt.display)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.vt.display)

    def scroll_back(self, pages: int = 1) -> None:
        for _ in range(pages):
            self.vt.prev_page()
        self.update()

    def scroll_forward(self, pages: int = 1) -> None:
        for _ in range(pages):
            self.vt.next_page()
        self.update()

    def _to_bottom(self) -> None:
        while self.vt.history.position < self.vt.history.size and self.vt.history.bottom:
            before = self.vt.history.position
            self.vt.next_page()
            if self.vt.history.position == before:
                break

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), DEFAULT_BG)
        p.setFont(self.font())
        sel = self._ordered_selection()
        for y in range(self.vt.lines):
            row = self.vt.buffer[y]
            for x in range(self.vt.columns):
                ch = row[x]
                fg, bg = color(ch.fg, DEFAULT_FG), color(ch.bg, DEFAULT_BG)
                if ch.reverse:
                    fg, bg = bg, fg
                if sel is not None and sel[0] <= (y, x) <= sel[1]:
                    fg, bg = DEFAULT_BG, DEFAULT_FG
                cursor = (y == self.vt.cursor.y and x == self.vt.cursor.x and not self.vt.cursor.hidden)
                if cursor and self.hasFocus():
                    fg, bg = bg, fg
                if bg != DEFAULT_BG:
                    p.fillRect(x * self.cell_w, y * self.cell_h, self.cell_w, self.cell_h, bg)
                if ch.data and ch.data != " ":
                    if ch.bold:
                        f = p.font()
                        f.setBold(True)
                        p.setFont(f)
                    p.setPen(fg)
                    p.drawText(x * self.cell_w, y * self.cell_h + self.ascent, ch.data)
                    if ch.bold:
                        p.setFont(self.font())
                if cursor and not self.hasFocus():
                    p.setPen(DEFAULT_FG)
                    p.drawRect(x * self.cell_w, y * self.cell_h, self.cell_w - 1, self.cell_h - 1)
        p.end()

    def resizeEvent(self, event: Any) -> None:
        cols, rows = max(20, self.width() // self.cell_w), max(5, self.height() // self.cell_h)
        if (cols, rows) != (self.vt.columns, self.vt.lines):
            self.vt.resize(rows, cols)
        super().resizeEvent(event)

    # ------------------------------------------------------------------ input
    def keyPressEvent(self, event: QKeyEvent) -> None:
        mods, key = event.modifiers(), event.key()
        shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        if mods & shift_ctrl == shift_ctrl and key == Qt.Key.Key_C:
            self.copy()
            return
        if mods & shift_ctrl == shift_ctrl and key == Qt.Key.Key_V:
            self.paste()
            return
        if mods & Qt.KeyboardModifier.ShiftModifier and key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            self.scroll_back() if key == Qt.Key.Key_PageUp else self.scroll_forward()
            return
        data = key_to_bytes(key, mods, event.text())
        if data:
            self._to_bottom()
            self.key_bytes.emit(data)
        else:
            super().keyPressEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.scroll_back() if event.angleDelta().y() > 0 else self.scroll_forward()

    def _cell(self, pos: QPoint) -> tuple[int, int]:
        return (min(self.vt.lines - 1, max(0, pos.y() // self.cell_h)),
                min(self.vt.columns - 1, max(0, pos.x() // self.cell_w)))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        c = self._cell(event.position().toPoint())
        self._sel = (c, c)
        self.setFocus()
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._sel is not None:
            self._sel = (self._sel[0], self._cell(event.position().toPoint()))
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._sel is not None and self._sel[0] == self._sel[1]:
            self._sel = None
            self.update()
        elif self._sel is not None:  # X11 habit: a selection goes to the primary selection too
            cb = QGuiApplication.clipboard()
            if cb.supportsSelection():
                cb.setText(self.selected_text(), cb.Mode.Selection)

    def select(self, start: tuple[int, int], end: tuple[int, int]) -> None:
        """Select from cell ``start`` to ``end`` inclusive ((line, column) pairs)."""
        self._sel = (start, end)
        self.update()

    def _ordered_selection(self) -> Optional[tuple[tuple[int, int], tuple[int, int]]]:
        if self._sel is None:
            return None
        a, b = self._sel
        return (a, b) if a <= b else (b, a)

    def selected_text(self) -> str:
        sel = self._ordered_selection()
        if sel is None:
            return ""
        (y0, x0), (y1, x1) = sel
        lines = self.vt.display
        out = []
        for y in range(y0, y1 + 1):
            start = x0 if y == y0 else 0
            end = x1 + 1 if y == y1 else len(lines[y])
            out.append(lines[y][start:end].rstrip())
        return "\n".join(out)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.selected_text() or self.text())

    def paste(self) -> None:
        text = QGuiApplication.clipboard().text()
        if text:
            self.key_bytes.emit(text.replace("\r\n", "\r").replace("\n", "\r").encode())


class SerialSession(QObject):
    """A console stream of one domain, opened through the job runner, pumped on its own threads."""

    received = Signal(bytes)
    opened = Signal()
    ended = Signal(str)

    def __init__(self, domain: Any, runner: Any, *, dev_name: Optional[str] = None, force: bool = False,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.domain, self.runner, self.dev_name, self.force = domain, runner, dev_name, force
        self._stream: Any = None
        self._out: queue.Queue[Optional[bytes]] = queue.Queue()
        self._closing = False

    def open(self) -> None:
        dom, dev, force = self.domain, self.dev_name, self.force

        def work() -> Any:
            import guiapp.backend as lib
            st = dom.connect().newStream(0)
            dom.openConsole(dev, st, lib.VIR_DOMAIN_CONSOLE_FORCE if force else 0)
            return st
        self.runner.submit(f"Open the serial console of {dom.name()}", work, on_result=self._started,
                           on_error=lambda exc: self.ended.emit(str(exc)), owner=self, pool=CONSOLE_POOL)

    def _started(self, st: Any) -> None:
        self._stream = st
        threading.Thread(target=self._read, args=(st,), name="serial-read", daemon=True).start()
        threading.Thread(target=self._write, args=(st,), name="serial-write", daemon=True).start()
        self.opened.emit()

    def _read(self, st: Any) -> None:
        reason = "The console was closed."
        try:
            while data := st.recv(65536):
                self.received.emit(data)
        except Exception as exc:  # a libvirtError: the stream broke
            reason = str(exc)
        self._out.put(None)
        if not self._closing:
            try:
                self.ended.emit(reason)
            except RuntimeError:  # the session object was deleted meanwhile
                pass

    def _write(self, st: Any) -> None:
        while (data := self._out.get()) is not None:
            try:
                st.send(data)
            except Exception:
                return

    def send(self, data: bytes) -> None:
        """Queue keys for the guest (never blocks the caller)."""
        if self._stream is not None:
            self._out.put(bytes(data))

    def close(self) -> None:
        self._closing = True
        self._out.put(None)
        if self._stream is not None:
            threading.Thread(target=self._stream.abort, name="serial-close", daemon=True).start()
