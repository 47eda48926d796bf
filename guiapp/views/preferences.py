"""Preferences: polling interval, screen thumbnails and the external VNC viewer, stored in QSettings."""

from __future__ import annotations

import shlex
import string
from types import ModuleType
from typing import Optional

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from ..models import thumbnails
from ..models.connections import DEFAULT_INTERVAL_MS, SETTINGS_INTERVAL
from .confirm import CONFIRMATIONS, set_ask, should_ask


def _external() -> ModuleType:
    """guiapp.views.console.external, imported on first use (the console package is not needed at startup)."""
    from .console import external

    return external


def poll_interval_ms(settings: Optional[QSettings]) -> int:
    """The stored polling interval, or the default (1000 ms) when unset or unreadable."""
    if settings is None:
        return DEFAULT_INTERVAL_MS
    try:
        value = int(float(settings.value(SETTINGS_INTERVAL, DEFAULT_INTERVAL_MS)))
    except (TypeError, ValueError):
        return DEFAULT_INTERVAL_MS
    return value if 100 <= value <= 3_600_000 else DEFAULT_INTERVAL_MS


def viewer_template_error(template: str) -> str:
    """Why ``template`` is not a usable viewer command ('' when it is): syntax and placeholders only."""
    ext = _external()
    try:
        words = shlex.split(template)
    except ValueError as exc:
        return f"The viewer command cannot be parsed ({exc}); check its quotes."
    if not words:
        return f"The viewer command is empty; for example: {ext.DEFAULT_VIEWER}"
    for w in words:
        try:
            fields = [f for _l, f, _s, _c in string.Formatter().parse(w) if f is not None]
        except ValueError as exc:
            return f"Bad braces in {w!r} ({exc}); write {{{{ and }}}} for literal braces."
        for field in fields:
            if field not in ext.PLACEHOLDERS:
                return (f"Unknown placeholder {{{field}}} in the viewer command; use "
                        + ", ".join("{" + p + "}" for p in ext.PLACEHOLDERS) + ".")
    if "{" in words[0]:
        return "The program (first word) of the viewer command cannot be a placeholder."
    return ""


class PreferencesDialog(QDialog):
    """Emits ``interval_changed(ms)`` and ``thumbnails_changed()`` when accepted (settings already saved)."""

    interval_changed = Signal(int)
    thumbnails_changed = Signal()

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

        self.thumbs_enabled = QCheckBox("Show screen &thumbnails of running domains in the list")
        self.thumbs_enabled.setObjectName("thumbnailsEnabled")
        self.thumbs_enabled.setChecked(thumbnails.switched_on(settings))
        self.thumbs_enabled.setToolTip("A small live screenshot in the list's Screen column, captured off the UI "
                                       "thread over a short VNC connection")
        form.addRow(self.thumbs_enabled)
        self.thumbs_max = QSpinBox()
        self.thumbs_max.setObjectName("thumbnailsMaxDomains")
        self.thumbs_max.setRange(0, 100_000)
        self.thumbs_max.setValue(thumbnails.max_domains(settings))
        self.thumbs_max.setSuffix(" domains")
        self.thumbs_max.setToolTip("Thumbnails are off while the list holds more domains than this")
        form.addRow("  Only with at &most:", self.thumbs_max)
        self.thumbs_interval = QDoubleSpinBox()
        self.thumbs_interval.setObjectName("thumbnailsInterval")
        self.thumbs_interval.setRange(0.5, 600.0)
        self.thumbs_interval.setSingleStep(1.0)
        self.thumbs_interval.setDecimals(1)
        self.thumbs_interval.setSuffix(" s")
        self.thumbs_interval.setValue(thumbnails.interval_ms(settings) / 1000)
        self.thumbs_interval.setToolTip("How often each thumbnail is captured again")
        form.addRow("  &Refresh every:", self.thumbs_interval)
        self.thumbs_enabled.toggled.connect(self.thumbs_max.setEnabled)
        self.thumbs_enabled.toggled.connect(self.thumbs_interval.setEnabled)
        self.thumbs_max.setEnabled(self.thumbs_enabled.isChecked())
        self.thumbs_interval.setEnabled(self.thumbs_enabled.isChecked())

        ext = _external()
        self.viewer = QLineEdit(ext.viewer_command(settings))
        self.viewer.setObjectName("externalViewer")
        self.viewer.setPlaceholderText(ext.DEFAULT_VIEWER)
        self.viewer.setToolTip("The command run by Domain › Open in External Viewer (no shell). Placeholders: "
                               + " ".join("{" + p + "}" for p in ext.PLACEHOLDERS)
                               + "; {address} is unix:/path for local sockets or host::port")
        self.viewer.textChanged.connect(lambda _t: self.message.setText(""))
        form.addRow("E&xternal VNC viewer:", self.viewer)
        self.message = QLabel("")
        self.message.setObjectName("preferencesMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        form.addRow(QLabel("<b>Confirmations</b> — ask before:"))
        self.confirmations: dict[str, QCheckBox] = {}
        for key, (label, _title) in CONFIRMATIONS.items():
            box = QCheckBox(label)
            box.setObjectName(f"confirm_{key}")
            box.setChecked(should_ask(settings, key))
            form.addRow(box)
            self.confirmations[key] = box
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept(self) -> None:
        """Check the viewer command (the dialog stays open on a bad one), save everything, apply it."""
        ext = _external()
        template = self.viewer.text().strip() or ext.DEFAULT_VIEWER
        problem = viewer_template_error(template)
        if problem:
            self.message.setText(problem)
            self.viewer.setFocus()
            return
        ms = int(round(self.interval.value() * 1000))
        if self.settings is not None:
            self.settings.setValue(SETTINGS_INTERVAL, ms)
            self.settings.setValue(thumbnails.SETTINGS_ENABLED, self.thumbs_enabled.isChecked())
            self.settings.setValue(thumbnails.SETTINGS_MAX_DOMAINS, self.thumbs_max.value())
            self.settings.setValue(thumbnails.SETTINGS_INTERVAL, int(round(self.thumbs_interval.value() * 1000)))
            self.settings.setValue(ext.SETTINGS_VIEWER, template)
            self.settings.sync()
        for key, box in self.confirmations.items():
            set_ask(self.settings, key, box.isChecked())
        self.interval_changed.emit(ms)
        self.thumbnails_changed.emit()
        self.accept()
