"""Qt key events -> X11 keysyms for RFB key events."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent

from ...vnc import keysyms as K

K_ = Qt.Key
_SPECIAL: dict[int, int] = {
    K_.Key_Backspace: K.BACKSPACE, K_.Key_Tab: K.TAB, K_.Key_Backtab: K.TAB, K_.Key_Return: K.RETURN,
    K_.Key_Enter: K.KP_ENTER, K_.Key_Pause: K.PAUSE, K_.Key_ScrollLock: K.SCROLL_LOCK, K_.Key_SysReq: K.SYS_REQ,
    K_.Key_Escape: K.ESCAPE, K_.Key_Home: K.HOME, K_.Key_Left: K.LEFT, K_.Key_Up: K.UP, K_.Key_Right: K.RIGHT,
    K_.Key_Down: K.DOWN, K_.Key_PageUp: K.PAGE_UP, K_.Key_PageDown: K.PAGE_DOWN, K_.Key_End: K.END,
    K_.Key_Print: K.PRINT, K_.Key_Insert: K.INSERT, K_.Key_Menu: K.MENU, K_.Key_NumLock: K.NUM_LOCK,
    K_.Key_Shift: K.SHIFT_L, K_.Key_Control: K.CONTROL_L, K_.Key_CapsLock: K.CAPS_LOCK, K_.Key_Meta: K.SUPER_L,
    K_.Key_Alt: K.ALT_L, K_.Key_AltGr: 0xFE03, K_.Key_Super_L: K.SUPER_L, K_.Key_Super_R: 0xFFEC,
    K_.Key_Delete: K.DELETE, K_.Key_Space: 0x20,
}
for _n in range(1, 36):
    _SPECIAL[int(K_.Key_F1) + _n - 1] = K.function_key(_n)


def _on_x11() -> bool:
    return QGuiApplication.platformName() == "xcb"


def keysym_for(event: QKeyEvent) -> Optional[int]:
    """The keysym to send for ``event``, or None when it has none."""
    if _on_x11():
        native = event.nativeVirtualKey()  # on X11 this is the keysym itself
        if native:
            return int(native)
    key = event.key()
    special = _SPECIAL.get(int(key))
    if special is not None:
        return special
    text = event.text()
    if len(text) == 1 and text.isprintable():
        return K.char_keysym(text)
    if 0x20 <= int(key) <= 0x7E:  # with Ctrl held Qt gives a control character as text: use the key
        ch = chr(int(key))
        if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            ch = ch.lower()
        return ord(ch)
    if 0xA0 <= int(key) <= 0xFF:
        return int(key)
    return None
