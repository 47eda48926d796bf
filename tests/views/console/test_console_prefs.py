"""The console follows Preferences (issue 16): scaling and the grab-release keys at open and live on change."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from guiapp.models import preferences as prefs
from guiapp.views.console import ConsoleWindow, Scaling
from guiapp.views.preferences import PreferencesDialog
from guiapp.vnc import keysyms as K
from guiapp.vnc.address import ConsoleTarget, VncAddress

CTRL, ALT, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.AltModifier, \
    Qt.KeyboardModifier.ShiftModifier


def console(qtbot: Any, settings: Any) -> ConsoleWindow:
    win = ConsoleWindow(lambda: ConsoleTarget(VncAddress(path="/nonexistent/x.vnc")), title="x", settings=settings)
    qtbot.addWidget(win)
    win.show()
    return win


def key(view: Any, press: bool, k: Qt.Key, mods: Any = Qt.KeyboardModifier.NoModifier, *, right: bool = False) -> None:
    """Send one key event as X11 would (Right Ctrl carries its keysym and scan code)."""
    ev = QKeyEvent(QEvent.Type.KeyPress if press else QEvent.Type.KeyRelease, k, mods,
                   105 if right else (37 if k == Qt.Key.Key_Control else 0),
                   K.CONTROL_R if right else 0, 0)
    QApplication.sendEvent(view, ev)


def combo(view: Any, keys: list[tuple[Qt.Key, bool]]) -> None:
    """Press ``keys`` in order (modifiers accumulating), then release them in reverse."""
    mods = Qt.KeyboardModifier.NoModifier
    bits = {Qt.Key.Key_Control: CTRL, Qt.Key.Key_Alt: ALT, Qt.Key.Key_Shift: SHIFT}
    for k, right in keys:
        mods |= bits.get(k, Qt.KeyboardModifier.NoModifier)
        key(view, True, k, mods, right=right)
    for k, right in reversed(keys):
        mods &= ~bits.get(k, Qt.KeyboardModifier.NoModifier)
        key(view, False, k, mods, right=right)


def test_console_opens_with_the_preferences(qtbot: Any, settings: Any) -> None:
    prefs.set_pref(settings, prefs.SETTINGS_CONSOLE_SCALING, "1:1")
    prefs.set_pref(settings, prefs.SETTINGS_GRAB_COMBO, "right-ctrl")
    win = console(qtbot, settings)
    assert win.view.scaling == Scaling.ONE_TO_ONE and win.act_one.isChecked()
    assert win.view.release_combo == "right-ctrl" and "Right Ctrl releases" in win.hint.text()
    win.close()


@pytest.mark.parametrize(("choice", "releases", "keeps"), [
    ("ctrl+alt", [(Qt.Key.Key_Control, False), (Qt.Key.Key_Alt, False)],
     [(Qt.Key.Key_Control, True)]),
    ("ctrl+alt+shift", [(Qt.Key.Key_Control, False), (Qt.Key.Key_Alt, False), (Qt.Key.Key_Shift, False)],
     [(Qt.Key.Key_Control, False), (Qt.Key.Key_Alt, False)]),
    ("right-ctrl", [(Qt.Key.Key_Control, True)],
     [(Qt.Key.Key_Control, False), (Qt.Key.Key_Alt, False)]),
])
def test_grab_release_keys_follow_the_preference(qtbot: Any, settings: Any, choice: str, releases: list,
                                                  keeps: list) -> None:
    prefs.set_pref(settings, prefs.SETTINGS_GRAB_COMBO, choice)
    win = console(qtbot, settings)
    view = win.view
    view.set_grab(True)
    combo(view, keeps)  # another combo goes to the guest; the grab stays
    assert view.grabbed
    combo(view, releases[:1] + [(Qt.Key.Key_A, False)] + releases[1:])  # the combo with another key: no release
    assert view.grabbed
    combo(view, releases)
    assert not view.grabbed
    assert prefs.GRAB_COMBOS[choice] in win.hint.text() and win.hint.text().startswith("Click")
    win.close()


def test_preferences_change_applies_to_open_consoles(qtbot: Any, settings: Any) -> None:
    win = console(qtbot, settings)
    assert win.view.scaling == Scaling.FIT and win.view.release_combo == "ctrl+alt"
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    dialog.scaling.setCurrentIndex(dialog.scaling.findData("1:1"))
    dialog.grab_combo.setCurrentIndex(dialog.grab_combo.findData("ctrl+alt+shift"))
    dialog._accept()
    # the open console follows without reopening
    assert win.view.scaling == Scaling.ONE_TO_ONE and win.act_one.isChecked()
    assert win.view.release_combo == "ctrl+alt+shift" and "Ctrl+Alt+Shift releases" in win.hint.text()
    view = win.view
    view.set_grab(True)
    assert "Ctrl+Alt+Shift to release" in win.hint.text()
    combo(view, [(Qt.Key.Key_Control, False), (Qt.Key.Key_Alt, False)])
    assert view.grabbed
    win.close()
    # a closed console is no longer told
    dialog2 = PreferencesDialog(settings)
    qtbot.addWidget(dialog2)
    dialog2.scaling.setCurrentIndex(dialog2.scaling.findData("fit"))
    dialog2._accept()


def test_unknown_combo_is_refused(qtbot: Any, settings: Any) -> None:
    win = console(qtbot, settings)
    with pytest.raises(ValueError, match="right-ctrl"):
        win.view.set_release_combo("ctrl+alt; rm -rf /")
    assert win.view.release_combo == "ctrl+alt"
    win.close()
