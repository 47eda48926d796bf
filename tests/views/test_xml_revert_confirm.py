"""Details › XML: Revert asks before discarding edits, with "Don't ask again" kept in the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from guiapp.views.confirm import CONFIRMATIONS, should_ask
from guiapp.views.details.xml_tab import XmlTab

ORIGINAL = "<domain type='test'>\n  <name>a</name>\n</domain>\n"


def test_revert_asks_then_discards_and_dont_ask_again_sticks(qtbot: Any, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab = XmlTab(settings=lambda: settings)
    qtbot.addWidget(tab)
    tab.show()
    tab.set_original(ORIGINAL)
    assert not tab.revert_button.isEnabled()  # nothing to discard
    edited = ORIGINAL.replace("<name>a</name>", "<name>b</name>")
    tab.editor.setPlainText(edited)
    tab.revert_button.click()
    box = tab.confirm_box
    assert box is not None and box.isVisible() and "1 changed line" in box.text()
    assert tab.editor.toPlainText() == edited  # nothing lost before the answer
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=3000)
    assert tab.editor.toPlainText() == edited
    tab.revert_button.click()
    box = tab.confirm_box
    assert box is not None
    box.checkBox().setChecked(True)
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.wait(50)
    assert tab.editor.toPlainText() == ORIGINAL
    assert not should_ask(settings, "revert") and "revert" in CONFIRMATIONS  # Preferences lists it
    tab.editor.setPlainText(edited)
    tab.confirm_box = None
    tab.revert_button.click()  # switched off: at once
    assert tab.confirm_box is None and tab.editor.toPlainText() == ORIGINAL
