"""Preferences: every tab's values persist in QSettings, bad stored values fall back, changes apply live."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QPushButton

from guiapp.models import preferences as prefs
from guiapp.views.confirm import set_ask, should_ask


def test_readers_fall_back_on_bad_stored_values(settings: Any) -> None:
    settings.setValue(prefs.SETTINGS_NEWVM_MEMORY, "lots")
    settings.setValue(prefs.SETTINGS_NEWVM_VCPUS, 0)
    settings.setValue(prefs.SETTINGS_SWEEP, "1e400")
    settings.setValue(prefs.SETTINGS_GRAB_COMBO, "ctrl+alt; rm -rf /")
    settings.setValue(prefs.SETTINGS_NEWVM_FORMAT, "vmdk")
    assert prefs.new_vm_defaults(settings) == {"memory_mib": 1024, "vcpus": 1, "disk_gib": 10, "format": "qcow2"}
    assert prefs.int_pref(settings, prefs.SETTINGS_SWEEP) == 250
    assert prefs.choice_pref(settings, prefs.SETTINGS_GRAB_COMBO) == "ctrl+alt"
    with pytest.raises(ValueError, match="one of qcow2, raw"):
        prefs.set_pref(settings, prefs.SETTINGS_NEWVM_FORMAT, "vmdk")
    with pytest.raises(ValueError, match="from 1 to 4096"):
        prefs.set_pref(settings, prefs.SETTINGS_NEWVM_VCPUS, 5000)
    assert settings.value(prefs.SETTINGS_NEWVM_FORMAT) == "vmdk"  # a refused value stores nothing


def test_every_tab_persists_and_applies_live(qtbot: Any, window: Any, settings: Any) -> None:
    from guiapp.views.preferences import PreferencesDialog

    set_ask(settings, "destroy", False)  # "don't ask again" was answered once
    dialog = window.open_preferences()
    assert [dialog.tabs.tabText(i).replace("&", "") for i in range(dialog.tabs.count())] == \
        ["Polling", "Confirmations", "Console", "New VMs"]
    assert not dialog.confirmations["destroy"].isChecked()
    dialog.findChild(QPushButton, "confirmAll").click()  # re-enables every confirmation
    dialog.sweep.setValue(40)
    dialog.scaling.setCurrentIndex(dialog.scaling.findData("1:1"))
    dialog.grab_combo.setCurrentIndex(dialog.grab_combo.findData("right-ctrl"))
    dialog.new_memory.setValue(2048)
    dialog.new_vcpus.setValue(2)
    dialog.new_disk.setValue(20)
    dialog.new_format.setCurrentIndex(dialog.new_format.findData("raw"))
    seen: list[str] = []
    dialog.console_changed.connect(lambda: seen.append("console"))
    dialog.new_vm_changed.connect(lambda: seen.append("newvm"))
    dialog._accept()
    assert not dialog.isVisible() and seen == ["console", "newvm"]
    assert window.manager.full_tick_domains == 40  # applied to the running poller
    assert should_ask(settings, "destroy")
    settings.sync()
    assert prefs.new_vm_defaults(settings) == {"memory_mib": 2048, "vcpus": 2, "disk_gib": 20, "format": "raw"}
    assert prefs.choice_pref(settings, prefs.SETTINGS_CONSOLE_SCALING) == "1:1"
    again = PreferencesDialog(settings)
    qtbot.addWidget(again)
    assert again.sweep.value() == 40 and again.grab_combo.currentData() == "right-ctrl"
    assert again.new_format.currentData() == "raw" and again.confirmations["destroy"].isChecked()
