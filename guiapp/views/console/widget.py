"""The console's display widget: paints the guest screen, forwards keyboard and mouse, grabs input."""

from __future__ import annotations

import enum
from typing import Optional

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFocusEvent, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...vnc import keysyms as K
from ...vnc.client import VncClient
from .keymap import keysym_for

RELEASE_SHORTCUT = "Ctrl+Alt"  # the label of the default grab-release combo

#: grab-release combos (``models.preferences.GRAB_COMBOS`` keys) -> the keys pressed together, alone
COMBO_KEYS: dict[str, frozenset[str]] = {
    "ctrl+alt": frozenset({"ctrl", "alt"}),
    "ctrl+alt+shift": frozenset({"ctrl", "alt", "shift"}),
    "right-ctrl": frozenset({"rctrl"}),
}
_X11_CONTROL_R_SCANCODE = 105  # evdev KEY_RIGHTCTRL (97) + 8


class Scaling(enum.Enum):
    FIT = "fit"  # scale to the window, keeping the aspect ratio
    ONE_TO_ONE = "1:1"  # one guest pixel per screen pixel, centred


class VncView(QWidget):
    """Shows ``client.image``; keys and mouse go to the guest while it has focus (all of them when grabbed)."""

    grab_changed = Signal(bool)

    def __init__(self, client: VncClient, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.client = client
        self.scaling = Scaling.FIT
        self.grabbed = False
        self.message = "Connecting…"
        self._pressed: dict[int, int] = {}  # Qt key (or scan code) -> keysym sent down
        self._buttons = 0
        self.release_combo = "ctrl+alt"  # which keys release the grab (set_release_combo)
        self._combo_down: set[str] = set()  # combo keys down now
        self._combo_dirty = False  # another key was pressed since the keyboard was last all up
        self._combo_armed = False  # the whole combo is down with nothing else: release the grab on key-up
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 100)
        client.updated.connect(self._on_update)
        client.resized.connect(lambda _w, _h: self._relayout())
        client.connected.connect(lambda _w, _h, _n: self._relayout())

    # ---------------------------------------------------------------- geometry
    def framebuffer_size(self) -> QSize:
        return self.client.image.size() if not self.client.image.isNull() else QSize(0, 0)

    def sizeHint(self) -> QSize:
        fb = self.framebuffer_size()
        return fb if fb.width() > 0 else QSize(720, 400)

    def target_rect(self) -> QRectF:
        """Where the framebuffer is drawn in widget coordinates."""
        fb = self.framebuffer_size()
        if fb.width() <= 0 or fb.height() <= 0:
            return QRectF()
        w, h = self.width(), self.height()
        if self.scaling == Scaling.FIT:
            s = min(w / fb.width(), h / fb.height())
        else:
            s = 1.0
        tw, th = fb.width() * s, fb.height() * s
        return QRectF(max(0, int(w - tw) // 2), max(0, int(h - th) // 2), tw, th)  # whole pixels: crisp at 1:1

    def to_guest(self, pos: QPointF) -> tuple[int, int]:
        """Widget position -> framebuffer pixel (clamped)."""
        r = self.target_rect()
        fb = self.framebuffer_size()
        if r.isEmpty():
            return 0, 0
        x = (pos.x() - r.x()) * fb.width() / r.width()
        y = (pos.y() - r.y()) * fb.height() / r.height()
        return (min(max(int(x), 0), fb.width() - 1), min(max(int(y), 0), fb.height() - 1))

    def set_release_combo(self, combo: str) -> None:
        """Which keys, pressed together and alone, release the grab (a :data:`COMBO_KEYS` key)."""
        if combo not in COMBO_KEYS:
            raise ValueError(f"unknown grab-release combo {combo!r}; use one of {', '.join(COMBO_KEYS)}")
        self.release_combo = combo
        self._combo_down.clear()
        self._combo_armed = False

    def set_scaling(self, scaling: Scaling) -> None:
        self.scaling = scaling
        self._relayout()

    def _relayout(self) -> None:
        self.updateGeometry()
        self.update()

    # ----------------------------------------------------------------- painting
    def _on_update(self, rect: QRect) -> None:
        r = self.target_rect()
        fb = self.framebuffer_size()
        if r.isEmpty():
            return
        sx, sy = r.width() / fb.width(), r.height() / fb.height()
        self.update(QRectF(r.x() + rect.x() * sx, r.y() + rect.y() * sy, rect.width() * sx, rect.height() * sy)
                    .toAlignedRect().adjusted(-1, -1, 1, 1))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        img = self.client.image
        r = self.target_rect()
        if img.isNull() or not r.toAlignedRect().contains(event.rect()):
            p.fillRect(event.rect(), QColor(32, 32, 32))  # only the margins: the image covers the rest
        if not img.isNull():
            if r.width() != img.width():
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, r.width() < img.width())
            p.drawImage(r, img)
        if self.message:  # keep the last frame, dimmed, under the message
            p.fillRect(self.rect(), QColor(0, 0, 0, 170))
            p.setPen(QColor(230, 230, 230))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        p.end()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    # -------------------------------------------------------------------- grab
    def set_grab(self, on: bool) -> None:
        if on == self.grabbed:
            return
        self.grabbed = on
        if on:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.grabKeyboard()
            self.grabMouse()
        else:
            self.releaseKeyboard()
            self.releaseMouse()
        self.grab_changed.emit(on)

    # ---------------------------------------------------------------- keyboard
    def event(self, ev: QEvent) -> bool:
        t = ev.type()
        if t == QEvent.Type.ShortcutOverride and self.grabbed:
            ev.accept()  # every key goes to the guest while grabbed
            return True
        if t == QEvent.Type.KeyPress and isinstance(ev, QKeyEvent) and ev.key() in (Qt.Key.Key_Tab,
                                                                                    Qt.Key.Key_Backtab):
            self.keyPressEvent(ev)  # no focus chain: Tab belongs to the guest
            return True
        return super().event(ev)

    def _key_id(self, ev: QKeyEvent) -> int:
        return ev.nativeScanCode() or int(ev.key())

    def _combo_key(self, ev: QKeyEvent) -> str:
        """The event's key as a combo member name ('' for any other key)."""
        key = ev.key()
        if key == Qt.Key.Key_Control:
            right = ev.nativeVirtualKey() == K.CONTROL_R or ev.nativeScanCode() == _X11_CONTROL_R_SCANCODE
            return "rctrl" if right and "rctrl" in COMBO_KEYS[self.release_combo] else "ctrl"
        return {Qt.Key.Key_Alt: "alt", Qt.Key.Key_Shift: "shift"}.get(Qt.Key(key), "")

    def _track_combo(self, ev: QKeyEvent) -> None:
        """Arm the grab release when exactly the combo's keys are down (nothing else since all keys were up)."""
        if ev.isAutoRepeat():
            return
        if not self._pressed:
            self._combo_down.clear()
            self._combo_dirty = False
        combo = COMBO_KEYS[self.release_combo]
        name = self._combo_key(ev)
        if name in combo:
            self._combo_down.add(name)
            if self._combo_down == combo and not self._combo_dirty and self.grabbed:
                self._combo_armed = True
        else:
            self._combo_dirty = True
            self._combo_armed = False

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        self._track_combo(ev)
        keysym = keysym_for(ev)
        if keysym is None:
            return
        if ev.isAutoRepeat() and self._key_id(ev) in self._pressed:
            self.client.key_event(self._pressed[self._key_id(ev)], True)
            return
        self._pressed[self._key_id(ev)] = keysym
        self.client.key_event(keysym, True)

    def keyReleaseEvent(self, ev: QKeyEvent) -> None:
        if ev.isAutoRepeat():
            return
        keysym = self._pressed.pop(self._key_id(ev), None)
        if keysym is None:
            keysym = keysym_for(ev)
        if keysym is not None:
            self.client.key_event(keysym, False)
        if self._combo_armed and self._combo_key(ev) in COMBO_KEYS[self.release_combo]:
            self._combo_armed = False
            self.release_all_keys()
            self.set_grab(False)

    def release_all_keys(self) -> None:
        """Send key-up for every key still down in the guest (focus lost, grab released)."""
        for keysym in reversed(list(self._pressed.values())):
            self.client.key_event(keysym, False)
        self._pressed.clear()

    def send_keys(self, keys: tuple[int, ...]) -> None:
        """Press ``keys`` in order, then release them in reverse (the Send Key menu)."""
        for k in keys:
            self.client.key_event(k, True)
        for k in reversed(keys):
            self.client.key_event(k, False)

    def type_text(self, text: str) -> None:
        """Type ``text`` as key presses (for tools and tests); uppercase letters get Shift."""
        for ch in text:
            keysym = K.char_keysym(ch)
            shift = ch.isupper() or ch in '~!@#$%^&*()_+{}|:"<>?'
            if shift:
                self.client.key_event(K.SHIFT_L, True)
            self.client.key_event(keysym, True)
            self.client.key_event(keysym, False)
            if shift:
                self.client.key_event(K.SHIFT_L, False)

    def focusOutEvent(self, ev: QFocusEvent) -> None:
        self.release_all_keys()
        super().focusOutEvent(ev)

    # ------------------------------------------------------------------- mouse
    _BUTTONS = {Qt.MouseButton.LeftButton: 1, Qt.MouseButton.MiddleButton: 2, Qt.MouseButton.RightButton: 4}

    def _mask(self, buttons: Qt.MouseButton) -> int:
        return sum(bit for b, bit in self._BUTTONS.items() if buttons & b)

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        if not self.grabbed and self.client.is_connected:
            self.set_grab(True)
        self._buttons = self._mask(ev.buttons())
        self.client.pointer_event(*self.to_guest(ev.position()), self._buttons)

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:
        self._buttons = self._mask(ev.buttons())
        self.client.pointer_event(*self.to_guest(ev.position()), self._buttons)

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:
        self._buttons = self._mask(ev.buttons())
        self.client.pointer_event(*self.to_guest(ev.position()), self._buttons)

    def wheelEvent(self, ev: QWheelEvent) -> None:
        dy = ev.angleDelta().y()
        if not dy:
            return
        bit = 8 if dy > 0 else 16
        x, y = self.to_guest(ev.position())
        for _ in range(max(1, abs(dy) // 120)):
            self.client.pointer_event(x, y, self._buttons | bit)
            self.client.pointer_event(x, y, self._buttons)
