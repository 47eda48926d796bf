"""Preferences: polling interval (default 1 s), stored in QSettings."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QWidget

from ..models.connections import DEFAULT_INTERVAL_MS, SETTINGS_INTERVAL


def poll_interval_ms(settings: Optional[QSettings]) -> int:
    """The stored polling interval, or the default (1000 ms) when unset or unreadable."""
    if settings is None:
        return DEFAULT_INTERVAL_MS
    try:
        value = int(float(settings.value(SETTINGS_INTERVAL, DEFAULT_INTERVAL_MS)))
    except (TypeError, ValueError):
        return DEFAULT_INTERVAL_MS
    return value if 100 <= value <= 3_600_000 else DEFAULT_INTERVAL_MS


class PreferencesDialog(QDialog):
    """Emits ``interval_changed(ms)`` when accepted."""

    interval_changed = Signal(int)

    def __init__(self, settings: Optional[QSettings], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Preferences")
        form = QFormLayout(self)
        self.interval = QDoubleSpinBox()
        self.interval.setObjectName("pollInterval")
        self.interval.setRange(0.25, 60.0)
        self.interval.setSingleStep(0.25)
        self.interval.setDecimals(2)
        self.interval.setSuffix(" s")
        self.interval.setValue(poll_interval_ms(settings) / 1000)
        self.interval.setToolTip("How often each connection's domain list and statistics are refreshed")
        form.addRow("&Polling interval:", self.interval)
        note = QLabel("Each connection is polled on its own; a slow host never delays another.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept(self) -> None:
        ms = int(round(self.interval.value() * 1000))
        if self.settings is not None:
            self.settings.setValue(SETTINGS_INTERVAL, ms)
            self.settings.sync()
        self.interval_changed.emit(ms)
        self.accept()
