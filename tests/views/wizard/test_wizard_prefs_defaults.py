"""The wizard starts at Preferences › New VMs; osinfo-db's recommendation wins where it states one (issue 16);
the default storage format also picks the format of new volumes."""

from __future__ import annotations

import os
from typing import Any

import pytest
from wizard_helpers import forward, open_wizard

from guiapp.backend.osinfo.defaults import os_defaults, stated_resources
from guiapp.models import preferences as prefs
from guiapp.views.storage.dialogs import NewVolumeDialog


@pytest.fixture
def my_prefs(settings: Any) -> Any:
    for key, value in ((prefs.SETTINGS_NEWVM_MEMORY, 2048), (prefs.SETTINGS_NEWVM_VCPUS, 3),
                       (prefs.SETTINGS_NEWVM_DISK, 20), (prefs.SETTINGS_NEWVM_FORMAT, "raw")):
        prefs.set_pref(settings, key, value)
    return settings


def test_fields_start_at_the_preferences(qtbot: Any, test_conn: Any, runner: Any, my_prefs: Any) -> None:
    wiz = open_wizard(qtbot, test_conn, runner, settings=my_prefs)
    res, st = wiz.resources_page, wiz.storage_page
    assert (res.memory.value(), res.vcpus.value()) == (2048, 3)
    assert (st.new_size.value(), st.new_format.currentText()) == (20.0, "raw")
    assert "Preferences › New VMs" in res.defaults_note.text() and "Preferences" in st.defaults_note.text()
    wiz.kind_page.select("qemu")
    forward(wiz, "Install source")
    wiz.install_page.set_method("network")
    forward(wiz, "Architecture, memory and CPUs")
    qtbot.waitUntil(lambda: f">{2048 * 1024}</memory>" in wiz.xml_view.toPlainText(), timeout=5000)
    assert ">3</vcpu>" in wiz.xml_view.toPlainText()
    forward(wiz, "Storage")
    assert st.disk_plans()[0].format == "raw" and st.disk_plans()[0].size_bytes == 20 << 30
    assert st.new_path.text().endswith(".img")  # a raw image's suggested name


def test_without_preferences_the_builtin_defaults(qtbot: Any, test_conn: Any, runner: Any) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    d = prefs.new_vm_defaults(None)
    assert wiz.resources_page.memory.value() == d["memory_mib"]
    assert wiz.storage_page.new_format.currentText() == d["format"] == "qcow2"


@pytest.mark.skipif(not os.path.isdir("/usr/share/osinfo/os"), reason="osinfo-db not installed")
def test_osinfo_wins_where_it_states_a_value(qtbot: Any, test_conn: Any, runner: Any, my_prefs: Any) -> None:
    wiz = open_wizard(qtbot, test_conn, runner, settings=my_prefs)
    wiz.kind_page.select("qemu")
    forward(wiz, "Install source")
    box = wiz.install_page.os_box
    res, st = wiz.resources_page, wiz.storage_page
    # Arch Linux: osinfo-db states memory only
    assert stated_resources(box.db, "archlinux") == {"memory"}
    box.choose("archlinux")
    box.apply_button.click()
    rec = os_defaults(box.db, "archlinux")
    host = wiz.host.memory_mib
    assert res.memory.value() == min(rec.memory_mib, host) if host else rec.memory_mib
    assert res.vcpus.value() == 3 and st.new_size.value() == 20.0 and st.new_format.currentText() == "raw"
    assert res.defaults_note.text() == ("Memory: recommended for Arch Linux (osinfo-db); vCPUs: your defaults "
                                        "(Preferences › New VMs; osinfo-db has no recommendation for Arch Linux).")
    assert st.defaults_note.text().startswith("Size and format: your defaults")
    # an OS with all three stated
    assert stated_resources(box.db, "almalinux8") == {"memory", "disk", "vcpus"}
    box.choose("almalinux8")
    box.apply_button.click()
    alma = os_defaults(box.db, "almalinux8")
    assert st.new_size.value() == alma.disk_gib and st.new_format.currentText() == "raw"
    assert st.defaults_note.text().startswith("Size: recommended for AlmaLinux 8 (osinfo-db); format: your defaults")
    # an OS osinfo-db knows nothing about: every value is the user's
    assert stated_resources(box.db, "altlinux2.0") == frozenset()
    box.choose("altlinux2.0")
    box.apply_button.click()
    assert (res.memory.value(), res.vcpus.value(), st.new_size.value()) == (2048, 3, 20.0)
    assert "Memory and vCPUs: your defaults" in res.defaults_note.text()


def test_new_volume_dialog_takes_the_default_format(qtbot: Any) -> None:
    dlg = NewVolumeDialog("default-pool", [], 1 << 40, default_format="raw")
    qtbot.addWidget(dlg)
    assert dlg.format.currentText() == "raw"
    dlg.name.setText("v")
    assert "<format type='raw'/>" in dlg.xml() or '<format type="raw"/>' in dlg.xml()


def test_add_hardware_takes_the_default_format(qtbot: Any, window: Any) -> None:
    prefs.set_pref(window.settings, prefs.SETTINGS_NEWVM_FORMAT, "raw")
    window.manager.add("test:///default")
    qtbot.waitUntil(lambda: window.model.domain_count() == 1, timeout=5000)
    row = window.model.connections[0].rows[0]
    vm = window.open_vm_window("test:///default", row.uuid, "details")
    qtbot.waitUntil(lambda: vm.details.loaded, timeout=10000)
    vm.details.hardware.open_add()
    dlg = vm.details.hardware.add_dialog
    assert dlg.vol_format.currentText() == "raw" and dlg.vol_name.text() == "disk1.img"
    dlg.reject()
    vm.close()
