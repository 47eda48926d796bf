"""views/close_keys.py: every binding of the platform's Close key and Escape close a menu-less window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QWidget

from guiapp.views.close_keys import close_on_keys


def test_close_bindings_and_escape_each_close_the_window(qtbot: Any) -> None:
    window = QWidget(None, Qt.WindowType.Window)
    qtbot.addWidget(window)
    shortcuts = close_on_keys(window)
    keys = [sc.key() for sc in shortcuts]
    # one shortcut a binding: a QShortcut made from StandardKey.Close keeps only the first (Ctrl+F4 on X11)
    assert keys == [*QKeySequence.keyBindings(QKeySequence.StandardKey.Close), QKeySequence("Esc")]
    assert QKeySequence("Ctrl+W") in keys
    for shortcut in shortcuts:
        assert shortcut.context() == Qt.ShortcutContext.WindowShortcut
        window.show()
        qtbot.waitExposed(window)
        shortcut.activated.emit()  # offscreen windows never become active: the key itself cannot be sent
        assert not window.isVisible()
