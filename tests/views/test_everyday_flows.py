"""Issue 16: bulk actions without per-domain UI work, State column, Quit, filter keys, counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gui_helpers import drain, off_ui
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from guiapp.models.demo import write_node
from guiapp.models.domains import COL_STATE, SORT_ROLE, plural


def _all_paused(win: Any) -> bool:
    return all(r.state == 3 for n in win.model.connections for r in n.rows)


def test_select_all_and_pause_is_one_job_and_one_actions_update_per_batch(qtbot: Any, window: Any,
                                                                         tmp_path: Path) -> None:
    """300 domains: one job with progress, and the actions recomputed a handful of times, not once per event."""
    uri = write_node(tmp_path / "big.xml", 300, running=1.0)
    window.manager.add(uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 300, timeout=20000)
    drain(window.runner)
    submitted: list[Any] = []
    window.runner.job_submitted.connect(submitted.append)
    updates = [0]
    original = window._update_actions

    def counted() -> None:
        updates[0] += 1
        original()
    window._actions_timer.timeout.disconnect()
    window._actions_timer.timeout.connect(counted)
    window.view.selectAll()
    qtbot.waitUntil(lambda: window.domain_actions.actions["pause"].isEnabled(), timeout=2000)
    assert len(window.selected_domains()) == 300
    window.domain_actions.actions["pause"].trigger()
    qtbot.waitUntil(lambda: _all_paused(window), timeout=30000)
    drain(window.runner)
    qtbot.wait(200)
    pause_jobs = [j for j in submitted if j.operation == "virDomainSuspend"]
    assert len(pause_jobs) == 1 and pause_jobs[0].long and pause_jobs[0].title == "Pause 300 domains"
    assert pause_jobs[0].percent == 100
    assert updates[0] <= 20, updates[0]  # was one full selection walk per domain event (O(N²))
    conn = window.manager.conn(uri)
    states = off_ui(lambda: {d.state()[0] for d in conn.listAllDomains()})
    assert states == {3}  # the driver agrees
    assert window.domain_actions.actions["resume"].isEnabled()
    assert not window.domain_actions.actions["pause"].isEnabled()


def test_state_column_shows_text_and_icon_and_follows_events_at_once(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    win.manager.set_interval(60_000)  # no tick: only the lifecycle event may change the row
    row = next(r for r in win.model.connections[0].rows if r.name == "vm-000")
    idx = win.model.domain_index(uri, row.uuid, COL_STATE)
    assert idx.data() == "running" and idx.data(Qt.ItemDataRole.DecorationRole) is not None
    assert win.model.headerData(COL_STATE, Qt.Orientation.Horizontal) == "State"
    repaints: list[Any] = []
    conn = win.manager.conn(uri)
    win.proxy.dataChanged.connect(lambda tl, br, *_: repaints.append((tl.column(), br.column())))
    off_ui(lambda: conn.lookupByName("vm-000").suspend())
    qtbot.waitUntil(lambda: win.model.domain_index(uri, row.uuid, COL_STATE).data() == "paused", timeout=2000)
    assert any(a <= COL_STATE <= b for a, b in repaints)  # the view was told: it repaints without a click
    win.view.sortByColumn(COL_STATE, Qt.SortOrder.AscendingOrder)
    parent = win.proxy.mapFromSource(win.model.connection_index(uri))
    keys = [win.proxy.index(r, COL_STATE, parent).data(SORT_ROLE) for r in range(win.proxy.rowCount(parent))]
    assert keys == sorted(keys) and len(set(keys)) == 3  # running, paused, shut off


def test_statistics_sort_does_not_reorder_on_every_tick(qtbot: Any, connected: tuple) -> None:
    from guiapp.models.domains import COL_CPU
    win, uri = connected
    qtbot.wait(400)
    win.view.sortByColumn(COL_CPU, Qt.SortOrder.DescendingOrder)
    layouts: list[int] = []
    win.proxy.layoutChanged.connect(lambda *_: layouts.append(1))
    qtbot.wait(1000)  # several 200 ms ticks with changing CPU values
    assert layouts == []  # re-sorted on request (a header click), not under the user's pointer


def test_quit_closes_every_window_and_asks_while_a_long_job_runs(qtbot: Any, window: Any) -> None:
    import threading
    other = QWidget()
    other.setWindowTitle("a console")
    qtbot.addWidget(other)
    other.show()
    gate = threading.Event()
    window.runner.submit("Slow thing", lambda: gate.wait(10), long=True)
    qtbot.waitUntil(lambda: bool(window.running_long_jobs()), timeout=2000)
    window.act_quit.trigger()
    box = window.quit_box
    assert isinstance(box, QMessageBox) and box.isVisible() and "Slow thing" in box.text()
    assert window.isVisible() and other.isVisible()  # nothing closed before the answer
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.isVisible() and other.isVisible()
    gate.set()
    drain(window.runner)
    qtbot.waitUntil(lambda: not window.running_long_jobs(), timeout=2000)
    window.act_quit.trigger()  # no job: quits at once, every window
    assert not window.isVisible() and not other.isVisible()
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == []


def test_escape_clears_the_filter_and_labels_count_what_is_shown(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    assert win.count_label.text() == "12 domains"
    assert plural(1, "domain") == "1 domain"
    win.filter_edit.setFocus()
    win.filter_edit.setText("paused")
    qtbot.waitUntil(lambda: not win._filter_timer.isActive(), timeout=2000)
    conn_row = win.proxy.mapFromSource(win.model.connection_index(uri))
    assert conn_row.data() == f"{uri}  (2 of 12 domains shown)"
    assert win.count_label.text() == "2 of 12 domains shown"
    qtbot.keyClick(win.filter_edit, Qt.Key.Key_Escape)
    assert win.filter_edit.text() == "" and win.count_label.text() == "12 domains"
    parent = win.proxy.mapFromSource(win.model.connection_index(uri))
    assert win.proxy.rowCount(parent) == 12 and "shown" not in parent.data()


def test_force_off_asks_first_and_dont_ask_again_is_undone_in_preferences(qtbot: Any, connected: tuple,
                                                                         settings: Any) -> None:
    win, uri = connected
    conn = win.manager.conn(uri)
    win.select_domain(uri, next(r.uuid for r in win.model.connections[0].rows if r.name == "vm-000"))
    win.domain_actions.actions["destroy"].trigger()
    box = win.confirm_box
    assert isinstance(box, QMessageBox) and box.isVisible() and "'vm-000'" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    drain(win.runner)
    assert off_ui(lambda: conn.lookupByName("vm-000").state()[0]) == 1  # nothing happened
    win.domain_actions.actions["destroy"].trigger()
    box = win.confirm_box
    box.checkBox().setChecked(True)  # don't ask again
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: off_ui(lambda: conn.lookupByName("vm-000").state()[0]) == 5, timeout=5000)
    win.confirm_box = None
    win.select_domain(uri, next(r.uuid for r in win.model.connections[0].rows if r.name == "vm-001"))
    win.domain_actions.actions["destroy"].trigger()  # no question now
    assert win.confirm_box is None
    qtbot.waitUntil(lambda: off_ui(lambda: conn.lookupByName("vm-001").state()[0]) == 5, timeout=5000)
    prefs = win.open_preferences()
    assert not prefs.confirmations["destroy"].isChecked() and prefs.confirmations["reboot"].isChecked()
    prefs.confirmations["destroy"].setChecked(True)
    prefs._accept()
    win.select_domain(uri, next(r.uuid for r in win.model.connections[0].rows if r.name == "vm-002"))
    win.domain_actions.actions["destroy"].trigger()
    assert win.confirm_box is not None and win.confirm_box.isVisible()
    win.confirm_box.close()


def test_a_state_filter_follows_state_changes(qtbot: Any, connected: tuple) -> None:
    """The proxy does not re-filter on every tick; the window re-applies the filter after state changes."""
    win, uri = connected
    win.filter_edit.setText("paused")
    qtbot.waitUntil(lambda: not win._filter_timer.isActive(), timeout=2000)

    def shown() -> list[str]:
        parent = win.proxy.mapFromSource(win.model.connection_index(uri))
        return sorted(win.proxy.index(r, 0, parent).data() for r in range(win.proxy.rowCount(parent)))
    assert shown() == ["vm-006", "vm-007"]
    conn = win.manager.conn(uri)
    off_ui(lambda: conn.lookupByName("vm-000").suspend())
    qtbot.waitUntil(lambda: shown() == ["vm-000", "vm-006", "vm-007"], timeout=3000)


def test_small_items_icons_keyboard_close_and_wide_delete_dialog(qtbot: Any, connected: tuple) -> None:
    """Issue 16 item 8: New VM has its own icon; Ctrl+W and Escape close the Networks and Storage windows (and
    every other menu-less window, through views/close_keys.py); long disk paths fit."""
    import shiboken6

    from guiapp.views.main_window.delete_dialog import DeleteDialog
    win, _uri = connected
    assert win.act_new_vm.icon().cacheKey() != win.act_add.icon().cacheKey()
    assert not win.act_new_vm.icon().isNull()
    from PySide6.QtGui import QKeySequence, QShortcut
    for opener, attr in ((win.open_networks_window, "networks_window"), (win.open_storage_window, "storage_window")):
        for keys in ("Ctrl+W", "Esc"):
            opener()
            other = getattr(win, attr)
            qtbot.waitExposed(other)
            shortcut = next(sc for sc in other.findChildren(QShortcut)
                            if any(k.matches(QKeySequence(keys)) == QKeySequence.SequenceMatch.ExactMatch
                                   for k in sc.keys()))
            assert shortcut.context() == Qt.ShortcutContext.WindowShortcut
            shortcut.activated.emit()  # (offscreen windows never become active, so the key itself cannot be sent)
            qtbot.waitUntil(lambda o=other: not shiboken6.isValid(o) or not o.isVisible(), timeout=2000)
    path = "/var/lib/guiapp/images/" + "a-rather-long-folder-name/" * 4 + "disk.qcow2"
    dialog = DeleteDialog(["vm"], {"vm": [path]}, [], win)
    qtbot.addWidget(dialog)
    dialog.show()
    item_width = dialog.files.fontMetrics().horizontalAdvance(dialog.files.item(0).text())
    assert dialog.files.viewport().width() >= item_width


def test_save_without_a_file_chooser_and_start_restores_it(qtbot: Any, connected: tuple) -> None:
    """Managed save: 'Save' asks for no file; Start brings the domain back; 'Save to File…' still asks."""
    win, uri = connected
    asked: list[int] = []
    win.ask_save_dir = lambda: asked.append(1) or None
    conn = win.manager.conn(uri)
    win.select_domain(uri, next(r.uuid for r in win.model.connections[0].rows if r.name == "vm-002"))
    acts = win.domain_actions.actions
    assert acts["managed_save"].isEnabled() and acts["managed_save"].text() == "Sa&ve"
    acts["managed_save"].trigger()
    qtbot.waitUntil(lambda: off_ui(lambda: conn.lookupByName("vm-002").hasManagedSaveImage(0)) == 1, timeout=5000)
    assert asked == []
    assert off_ui(lambda: conn.lookupByName("vm-002").state()[0]) == 5
    qtbot.waitUntil(lambda: acts["start"].isEnabled(), timeout=3000)
    acts["start"].trigger()
    qtbot.waitUntil(lambda: off_ui(lambda: conn.lookupByName("vm-002").state()[0]) == 1, timeout=5000)
    assert off_ui(lambda: conn.lookupByName("vm-002").hasManagedSaveImage(0)) == 0
    qtbot.waitUntil(lambda: acts["save"].isEnabled(), timeout=3000)
    acts["save"].trigger()  # Save to File… keeps its folder chooser
    assert asked == [1]
