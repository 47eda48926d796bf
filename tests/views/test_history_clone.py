"""The details window's History tab (versions, side-by-side diff, confirmed Revert) and the Clone dialog
(name checked as typed, copy/linked/share, progress, the action in the menus); every call on the job runner
(the UI-thread guard is on).  One screenshot of each under Xvfb (artifacts/history/)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from gui_helpers import off_ui, rerun_under_xvfb
from PySide6.QtWidgets import QMessageBox

import guiapp.backend as libvirt
from guiapp.views.details.history_tab import pair_to_compare
from guiapp.views.main_window.clone_dialog import open_clone_dialog

ROOT = Path(__file__).resolve().parents[2]
UNDER_XVFB = os.environ.get("GUIAPP_HISTORY_XVFB") == "1"
ARTIFACTS = ROOT / "artifacts" / "history" / ("" if UNDER_XVFB else "offscreen")
INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE


def row_of(win: Any, uri: str, name: str) -> Any:
    return next(r for r in win.model.connection(uri).rows if r.name == name)


def open_history(qtbot: Any, win: Any, uri: str, name: str) -> tuple[Any, Any]:
    details = win.open_details(uri, row_of(win, uri, name).uuid)
    qtbot.waitUntil(lambda: details.loaded, timeout=10000)
    details.tabs.setCurrentWidget(details.history_tab)  # shown: the tab reads the history
    tab = details.history_tab
    qtbot.waitUntil(lambda: tab.message.text() != "" and not tab.loading, timeout=10000)
    return details, tab


def _mem(xml: str) -> int:
    return int(re.search(r"<currentMemory unit=.KiB.>(\d+)<", xml).group(1))  # type: ignore[union-attr]


def make_versions(win: Any, uri: str, name: str) -> Any:
    dom = off_ui(lambda: win.manager.conn(uri).lookupByName(name))
    for mib in (100, 200, 300):
        off_ui(lambda mib=mib: dom.setMemoryFlags(mib * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG))
    return dom


def test_history_list_diff_and_revert(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    dom = make_versions(win, uri, "vm-010")
    details, tab = open_history(qtbot, win, uri, "vm-010")
    qtbot.waitUntil(lambda: tab.list.topLevelItemCount() == 4, timeout=10000)
    assert [tab.list.topLevelItem(i).text(2) for i in range(4)] == ["setMemoryFlags"] * 3 + ["existing"]
    assert tab.selected_numbers() == [4]  # the newest, compared with the one before
    assert tab.diff.horizontalHeaderItem(0).text() == "version 3 (setMemoryFlags)"
    changed = [r for r in range(tab.diff.rowCount()) if "currentMemory" in tab.diff.item(r, 0).text()]
    assert len(changed) == 1
    assert "204800" in tab.diff.item(changed[0], 0).text() and "307200" in tab.diff.item(changed[0], 1).text()
    assert tab.diff.item(changed[0], 0).background().color().name() == "#fff3cd"
    assert not tab.revert_button.isEnabled()  # the latest is the current definition
    # two selected: compared with each other
    tab.list.topLevelItem(0).setSelected(True)
    tab.list.topLevelItem(3).setSelected(True)
    assert tab.diff.horizontalHeaderItem(0).text() == "version 1 (existing)"
    assert tab.diff.horizontalHeaderItem(1).text() == "version 4 (setMemoryFlags)"
    # revert to version 2 after a confirmation; Cancel first changes nothing
    tab.list.clearSelection()
    tab.list.topLevelItem(2).setSelected(True)
    assert tab.revert_button.isEnabled()
    tab.confirm_revert()
    box = tab.confirm_box
    assert box is not None and "nothing is lost" in box.informativeText() + box.text()
    next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.RejectRole).click()
    qtbot.wait(200)
    assert _mem(off_ui(lambda: dom.XMLDesc(INACTIVE))) == 300 * 1024
    tab.confirm_revert()
    next(b for b in tab.confirm_box.buttons()
         if tab.confirm_box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole).click()
    qtbot.waitUntil(lambda: tab.list.topLevelItemCount() == 5, timeout=10000)
    assert tab.list.topLevelItem(0).text(2) == "revert to 2"
    assert _mem(off_ui(lambda: dom.XMLDesc(INACTIVE))) == 100 * 1024
    if UNDER_XVFB or os.environ.get("GUIAPP_SCREENSHOTS"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.list.clearSelection()
        tab.list.topLevelItem(1).setSelected(True)
        details.resize(900, 640)
        qtbot.wait(100)
        assert details.grab().save(str(ARTIFACTS / "history-tab.png"))


def test_pair_to_compare() -> None:
    vs = [{"version": n, "xml": str(n)} for n in (3, 4, 7)]
    assert pair_to_compare(vs, []) is None
    assert [v["version"] for v in pair_to_compare(vs, [7])] == [4, 7]  # type: ignore[union-attr]
    assert [v["version"] for v in pair_to_compare(vs, [3])] == [3, 3]  # type: ignore[union-attr]
    assert [v["version"] for v in pair_to_compare(vs, [7, 3])] == [3, 7]  # type: ignore[union-attr]


def test_read_only_connection_says_why_there_is_no_history(qtbot: Any, window: Any, node_uri: str) -> None:
    window.manager.add(node_uri, read_only=True)
    qtbot.waitUntil(lambda: window.model.domain_count() == 12, timeout=5000)
    _details, tab = open_history(qtbot, window, node_uri, "vm-010")
    qtbot.waitUntil(lambda: "No config history here" in tab.message.text(), timeout=10000)
    assert "read-write" in tab.message.text()
    assert not tab.revert_button.isEnabled() and tab.list.topLevelItemCount() == 0


def test_clone_dialog_checks_and_clones(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    a = win.domain_actions.actions
    assert a["clone"].objectName() == "action_clone"
    assert a["clone"] in win.menuBar().actions()[1].menu().actions()  # the Domain menu
    running = row_of(win, uri, "vm-000")
    dlg = open_clone_dialog(win, uri, running)
    assert dlg is not None and dlg.name.text() == "vm-000-clone"
    assert not dlg.ok.isEnabled() and "is running" in dlg.problem.text()  # copy of a running source
    dlg.buttons["share"].setChecked(True)
    assert dlg.ok.isEnabled()
    for bad, why in (("vm-001", "already exists"), ("../x", "'/'"), (".hidden", "start with"), ("", "name")):
        dlg.name.setText(bad)
        assert not dlg.ok.isEnabled() and why in dlg.problem.text(), (bad, dlg.problem.text())
        assert dlg.ok.toolTip() == dlg.problem.text()
    dlg.name.setText("twin")
    assert dlg.ok.isEnabled()
    dlg.ok.click()
    qtbot.waitUntil(lambda: win.model.domain_count() == 13, timeout=10000)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=5000)
    assert dlg.progress.value() == 100
    conn = win.manager.conn(uri)
    twin = off_ui(lambda: conn.lookupByName("twin"))
    src = off_ui(lambda: conn.lookupByName("vm-000"))
    assert off_ui(twin.UUIDString) != off_ui(src.UUIDString)
    assert off_ui(lambda: twin.guiappConfigVersions())[0]["op"].startswith("clone of vm-000")
    if UNDER_XVFB or os.environ.get("GUIAPP_SCREENSHOTS"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        again = open_clone_dialog(win, uri, row_of(win, uri, "vm-011"))
        assert again is not None
        again.buttons["linked"].setChecked(True)
        qtbot.wait(100)
        assert again.grab().save(str(ARTIFACTS / "clone-dialog.png"))
        again.reject()


def test_clone_failure_is_shown_in_the_dialog(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    dlg = open_clone_dialog(win, uri, row_of(win, uri, "vm-011"))  # shut off; its disk is in no pool
    assert dlg is not None and dlg.ok.isEnabled()
    dlg.ok.click()
    qtbot.waitUntil(lambda: "Clone failed" in dlg.problem.text(), timeout=10000)
    assert "storage pool" in dlg.problem.text() and dlg.isVisible() and dlg.ok.isEnabled()
    qtbot.waitUntil(lambda: bool(win.error_dialogs), timeout=5000)
    assert win.model.domain_count() == 12


@pytest.mark.slow  # a child pytest under xvfb-run (the same tests already ran offscreen)
@pytest.mark.skipif(UNDER_XVFB, reason="already the child run under Xvfb")
@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (apt-get install xvfb)")
def test_screenshots_under_xvfb() -> None:
    shots = rerun_under_xvfb(__file__, ["test_history_list_diff_and_revert", "test_clone_dialog_checks_and_clones"],
                             "GUIAPP_HISTORY_XVFB", "history")
    assert {p.name for p in shots} == {"history-tab.png", "clone-dialog.png"}, shots
