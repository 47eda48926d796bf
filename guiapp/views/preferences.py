"""Preferences (tabs: Polling, Confirmations, Console, New VMs), stored in QSettings and applied live."""

from __future__ import annotations

import shlex
import string
from types import ModuleType
from typing import Optional

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..models import preferences as prefs
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


def _int_box(settings: Optional[QSettings], key: str, name: str, suffix: str, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(*prefs.int_range(key))
    box.setValue(prefs.int_pref(settings, key))
    box.setSuffix(suffix)
    box.setToolTip(tip)
    return box


def _choice_box(settings: Optional[QSettings], key: str, name: str, choices: dict[str, str]) -> QComboBox:
    box = QComboBox()
    box.setObjectName(name)
    for value, label in choices.items():
        box.addItem(label, value)
    box.setCurrentIndex(max(0, box.findData(prefs.choice_pref(settings, key))))
    return box


class PreferencesDialog(QDialog):
    """Emits its ``*_changed`` signals when accepted (the settings are already saved): the windows apply them."""

    interval_changed = Signal(int)
    sweep_changed = Signal(int)  # domains sampled on every tick before big lists poll only what is on screen
    thumbnails_changed = Signal()
    console_changed = Signal()  # console scaling / grab combo (console windows re-read them)
    new_vm_changed = Signal()

    def __init__(self, settings: Optional[QSettings], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Preferences")
        outer = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("preferencesTabs")
        outer.addWidget(self.tabs)
        page = QWidget()
        form = QFormLayout(page)
        self.tabs.addTab(page, "&Polling")
        self.interval = QDoubleSpinBox()
        self.interval.setObjectName("pollInterval")
        self.interval.setRange(0.25, 60.0)
        self.interval.setSingleStep(0.25)
        self.interval.setDecimals(2)
        self.interval.setSuffix(" s")
        self.interval.setValue(poll_interval_ms(settings) / 1000)
        self.interval.setToolTip("How often each connection's domain list and statistics are refreshed")
        form.addRow("&Polling interval:", self.interval)
        self.sweep = _int_box(settings, prefs.SETTINGS_SWEEP, "sweepDomains", " domains",
                              "Up to this many domains per connection, every tick samples all of them; above it a "
                              "tick samples the rows on screen (and open graphs), and all of them every "
                              "ceil(domains / this) ticks")
        form.addRow("Sample &every domain up to:", self.sweep)
        note = QLabel("Each connection is polled on its own; a slow host never delays another. Lifecycle "
                      "events update every row's state at once, whatever the interval.")
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
        form.addRow(self.message)
        self._build_confirmations(settings)
        self._build_console(settings)
        self._build_new_vm(settings)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)

    def _build_confirmations(self, settings: Optional[QSettings]) -> None:
        page = QWidget()
        form = QFormLayout(page)
        self.tabs.addTab(page, "&Confirmations")
        form.addRow(QLabel("Ask before (answering \"Don't ask again\" clears a box here):"))
        self.confirmations: dict[str, QCheckBox] = {}
        for key, (label, _title) in CONFIRMATIONS.items():
            box = QCheckBox(label)
            box.setObjectName(f"confirm_{key}")
            box.setChecked(should_ask(settings, key))
            form.addRow(box)
            self.confirmations[key] = box
        ask_all = QPushButton("&Ask again for all")
        ask_all.setObjectName("confirmAll")
        ask_all.clicked.connect(self._ask_all)
        form.addRow(ask_all)

    def _ask_all(self) -> None:
        """Tick every confirmation (saved with OK)."""
        for box in self.confirmations.values():
            box.setChecked(True)

    def _build_console(self, settings: Optional[QSettings]) -> None:
        page = QWidget()
        form = QFormLayout(page)
        self.tabs.addTab(page, "C&onsole")
        self.scaling = _choice_box(settings, prefs.SETTINGS_CONSOLE_SCALING, "consoleScaling", prefs.SCALINGS)
        form.addRow("&Scaling:", self.scaling)
        self.grab_combo = _choice_box(settings, prefs.SETTINGS_GRAB_COMBO, "grabCombo", prefs.GRAB_COMBOS)
        self.grab_combo.setToolTip("Pressing and releasing these keys alone releases the keyboard and mouse grab")
        form.addRow("&Release grab with:", self.grab_combo)

    def _build_new_vm(self, settings: Optional[QSettings]) -> None:
        page = QWidget()
        form = QFormLayout(page)
        self.tabs.addTab(page, "&New VMs")
        self.new_memory = _int_box(settings, prefs.SETTINGS_NEWVM_MEMORY, "newVmMemory", " MiB",
                                   "Memory a new VM starts with (an OS's own recommendation wins when known)")
        form.addRow("&Memory:", self.new_memory)
        self.new_vcpus = _int_box(settings, prefs.SETTINGS_NEWVM_VCPUS, "newVmVcpus", "", "vCPUs of a new VM")
        form.addRow("&vCPUs:", self.new_vcpus)
        self.new_disk = _int_box(settings, prefs.SETTINGS_NEWVM_DISK, "newVmDisk", " GiB", "Size of a new disk")
        form.addRow("&Disk size:", self.new_disk)
        self.new_format = _choice_box(settings, prefs.SETTINGS_NEWVM_FORMAT, "newVmFormat",
                                      {f: f for f in prefs.DISK_FORMATS})
        self.new_format.setToolTip("Default storage format of new disk images")
        form.addRow("Disk &format:", self.new_format)

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
        prefs.set_pref(self.settings, prefs.SETTINGS_SWEEP, self.sweep.value())
        prefs.set_pref(self.settings, prefs.SETTINGS_CONSOLE_SCALING, self.scaling.currentData())
        prefs.set_pref(self.settings, prefs.SETTINGS_GRAB_COMBO, self.grab_combo.currentData())
        prefs.set_pref(self.settings, prefs.SETTINGS_NEWVM_MEMORY, self.new_memory.value())
        prefs.set_pref(self.settings, prefs.SETTINGS_NEWVM_VCPUS, self.new_vcpus.value())
        prefs.set_pref(self.settings, prefs.SETTINGS_NEWVM_DISK, self.new_disk.value())
        prefs.set_pref(self.settings, prefs.SETTINGS_NEWVM_FORMAT, self.new_format.currentData())
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
        self.sweep_changed.emit(self.sweep.value())
        self.thumbnails_changed.emit()
        self.console_changed.emit()
        self.new_vm_changed.emit()
        hub = prefs.notifier()  # every open console and wizard follows at once
        hub.console_changed.emit()
        hub.new_vm_changed.emit()
        self.accept()
