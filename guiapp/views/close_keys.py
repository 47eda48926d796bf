"""Closing a menu-less window from the keyboard: the platform's Close keys (Ctrl+W, Ctrl+F4) and Escape.

Windows with a menu bar put a Close action (``QKeySequence.StandardKey.Close``) in it instead, so the keys
show next to the menu entry; the console keeps Escape for the guest.
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def close_on_keys(window: QWidget) -> list[QShortcut]:
    """Window shortcuts that close ``window``: every binding of Close, then Escape."""
    # a QShortcut built from the StandardKey takes only its first binding (Ctrl+F4 here), so one shortcut a binding
    keys = (*QKeySequence.keyBindings(QKeySequence.StandardKey.Close), QKeySequence("Esc"))
    shortcuts = [QShortcut(k, window) for k in keys]
    for shortcut in shortcuts:
        shortcut.activated.connect(window.close)
    return shortcuts
