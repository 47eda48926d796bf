"""Confirmations before destructive actions, each with "Don't ask again" (re-enabled in Preferences)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget

# key -> (label in Preferences, question title); settings key "confirm/<key>" (true: ask)
CONFIRMATIONS: dict[str, tuple[str, str]] = {
    "destroy": ("Force Off (pull the plug)", "Force off"),
    "reboot": ("Reboot", "Reboot"),
    "reset": ("Force Reset (the reset button)", "Force reset"),
    "save_overwrite": ("Save over an existing file", "Overwrite"),
    "revert": ("Revert (discard unapplied edits)", "Revert"),
}  # Delete always shows its own dialog (it chooses the disk files to remove as well)


def should_ask(settings: Optional[QSettings], key: str) -> bool:
    if settings is None:
        return True
    return str(settings.value(f"confirm/{key}", True)).lower() not in ("false", "0")


def set_ask(settings: Optional[QSettings], key: str, ask: bool) -> None:
    if settings is not None:
        settings.setValue(f"confirm/{key}", bool(ask))
        settings.sync()


def confirm(parent: QWidget, settings: Optional[QSettings], key: str, text: str,
            on_yes: Callable[[], Any], detail: str = "") -> Optional[QMessageBox]:
    """Ask (non-modal) before ``on_yes``; runs it at once when this confirmation is switched off."""
    if not should_ask(settings, key):
        on_yes()
        return None
    title = CONFIRMATIONS[key][1]
    box = QMessageBox(QMessageBox.Icon.Warning, f"{title}?", text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName(f"confirm_{key}")
    box.button(QMessageBox.StandardButton.Yes).setText(f"&{title}")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    if detail:
        box.setInformativeText(detail)
    again = QCheckBox("&Don't ask again (Preferences › Confirmations turns it back on)")
    box.setCheckBox(again)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def yes() -> None:
        if again.isChecked():
            set_ask(settings, key, False)
        on_yes()
    box.accepted.connect(yes)
    box.open()
    return box
