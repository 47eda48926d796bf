"""The main window on the real test driver: list tracking, actions through the pool, errors, filter, sorting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gui_helpers import drain, off_ui
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

import guiapp.backend as libvirt
from guiapp.models.demo import domain_xml, write_node
from guiapp.models.domains import (
    COL_CPU,
    COL_DISK,
    COL_ID,
    COL_MEM,
    COL_NAME,
    COL_NET,
    COL_STATE,
    SORT_ROLE,
    ConnectionNode,
)

RUNNING, PAUSED, SHUTOFF = 1, 3, 5


def rows_by_name(win: Any, uri: str) -> dict[str, Any]:
    return {r.name: r for r in win.model.connection(uri).rows}


def driver_state(win: Any, uri: str, name: str) -> int:
    conn = win.manager.conn(uri)
    return off_ui(lambda: conn.lookupByName(name).state()[0])


def type_filter(qtbot: Any, win: Any, text: str) -> None:
    """Type into the filter box; the list filters once typing pauses (debounced), not on every keystroke."""
    win.filter_edit.setText(text)
    assert win._filter_timer.isActive()  # not filtered on the keystroke itself
    qtbot.waitUntil(lambda: not win._filter_timer.isActive(), timeout=2000)


def select(win: Any, uri: str, *names: str) -> None:
    rows = rows_by_name(win, uri)
    win.view.clearSelection()
    for i, n in enumerate(names):
        assert win.select_domain(uri, rows[n].uuid, extend=i > 0), n
    assert sorted(r.name for _u, r in win.selected_domains()) == sorted(names)


def test_selecting_from_code_ignores_keys_held_now(qtbot: Any, connected: tuple) -> None:
    """select_domain makes the same selection while Ctrl is down (a key event whose release never came, e.g. a
    Ctrl+W that closed its window): the view's setCurrentIndex would toggle the first row off again."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QLineEdit

    win, uri = connected
    other = QLineEdit()
    qtbot.addWidget(other)
    QTest.keyPress(other, Qt.Key.Key_Control, Qt.KeyboardModifier.ControlModifier)
    try:
        assert QGuiApplication.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier  # the state it is about
        select(win, uri, "vm-001", "vm-003", "vm-005")
    finally:
        QTest.keyRelease(other, Qt.Key.Key_Control)


def test_list_tracks_domains_created_removed_and_changing_state(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    conn = win.manager.conn(uri)
    rows = rows_by_name(win, uri)
    assert rows["vm-000"].state == RUNNING and rows["vm-006"].state == PAUSED and rows["vm-011"].state == SHUTOFF

    off_ui(lambda: conn.defineXML(domain_xml(50, prefix="new")))
    qtbot.waitUntil(lambda: "new-050" in rows_by_name(win, uri), timeout=10000)
    assert rows_by_name(win, uri)["new-050"].state == SHUTOFF

    off_ui(lambda: conn.lookupByName("new-050").create())
    qtbot.waitUntil(lambda: rows_by_name(win, uri)["new-050"].state == RUNNING, timeout=10000)
    assert rows_by_name(win, uri)["new-050"].id > 0

    off_ui(lambda: conn.lookupByName("vm-000").suspend())
    qtbot.waitUntil(lambda: rows_by_name(win, uri)["vm-000"].state == PAUSED, timeout=10000)

    off_ui(lambda: conn.lookupByName("vm-011").undefine())
    qtbot.waitUntil(lambda: "vm-011" not in rows_by_name(win, uri), timeout=10000)
    node = win.model.connection(uri)
    assert len(node.rows) == 12
    # the UUID index stays consistent with the rows after inserts and removals
    assert {r.uuid: i for i, r in enumerate(node.rows)} == node.index
    assert win.model.domain_index(uri, rows["vm-001"].uuid).data() == "vm-001"


def test_lifecycle_event_updates_state_before_the_next_tick(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    win.manager.set_interval(60_000)  # no tick during the test: only the event can update the row
    conn = win.manager.conn(uri)
    drain(win.runner)
    assert win.manager.connections[uri].event_id is not None
    off_ui(lambda: conn.lookupByName("vm-001").suspend())
    qtbot.waitUntil(lambda: rows_by_name(win, uri)["vm-001"].state == PAUSED, timeout=6000)


@pytest.mark.parametrize("key,name,expected", [
    ("pause", "vm-000", PAUSED),
    ("resume", "vm-006", RUNNING),
    ("destroy", "vm-001", SHUTOFF),
    ("shutdown", "vm-002", SHUTOFF),
    ("start", "vm-010", RUNNING),
    ("reboot", "vm-003", RUNNING),
])
def test_each_action_reaches_the_driver_through_the_pool(qtbot: Any, connected: tuple, key: str, name: str,
                                                         expected: int) -> None:
    win, uri = connected
    jobs: list = []
    win.runner.job_submitted.connect(jobs.append)
    select(win, uri, name)
    action = win.domain_actions.actions[key]
    assert action.isEnabled(), action.toolTip()
    action.trigger()
    if key in ("destroy", "reboot"):  # these ask first (issue 16)
        assert not [j for j in jobs if j.title.endswith(name)] and win.confirm_box.isVisible()
        win.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: any(j.title.endswith(name) and j.state.value == "done" for j in jobs), timeout=10000)
    job = next(j for j in jobs if j.title.endswith(name))
    assert job.error is None
    qtbot.waitUntil(lambda: driver_state(win, uri, name) == expected, timeout=10000)
    qtbot.waitUntil(lambda: rows_by_name(win, uri)[name].state == expected, timeout=10000)


def test_action_applies_to_every_selected_domain(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    select(win, uri, "vm-000", "vm-001", "vm-002", "vm-011")  # vm-011 is shut off: skipped
    win.domain_actions.actions["pause"].trigger()
    for n in ("vm-000", "vm-001", "vm-002"):
        qtbot.waitUntil(lambda n=n: rows_by_name(win, uri)[n].state == PAUSED, timeout=10000)
    assert driver_state(win, uri, "vm-011") == SHUTOFF


def test_failed_action_shows_the_error_dialog_with_the_code(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    win.manager.set_interval(60_000)
    drain(win.runner)
    conn = win.manager.conn(uri)
    select(win, uri, "vm-011")
    assert win.domain_actions.actions["start"].isEnabled()
    # start it behind the window's back; the window still shows it shut off when Start runs
    off_ui(lambda: conn.lookupByName("vm-011").create())
    win.run_action("start")
    qtbot.waitUntil(lambda: len(win.error_dialogs) == 1, timeout=10000)
    dialog = win.error_dialogs[0]
    # the same call made directly tells which code the driver reports (libvirt's test driver: INTERNAL_ERROR)
    with pytest.raises(libvirt.libvirtError) as direct:
        off_ui(lambda: conn.lookupByName("vm-011").create())
    code = direct.value.get_error_code()
    assert dialog.report.code == code and dialog.report.domain == libvirt.VIR_FROM_TEST
    assert dialog.report.uri == uri
    text = dialog.text.toPlainText()
    assert f"VIR_ERR_INTERNAL_ERROR ({code})" in text and "VIR_FROM_TEST (12)" in text
    assert "already running" in text
    assert "virDomainCreate" in text and "vm-011" in text
    assert not dialog.isModal() and dialog.isVisible()


def test_polling_errors_land_in_the_status_area_and_retry_reconnects(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    conn = win.manager.conn(uri)
    off_ui(conn.close)  # the connection drops under the poller
    qtbot.waitUntil(lambda: "polling failed" in win.poll_status.text(), timeout=10000)
    assert uri in win.poll_status.text()
    node = win.model.connection(uri)
    assert node.status == ConnectionNode.DISCONNECTED
    assert "Retry" in node.label()
    qtbot.wait(600)  # several intervals: still no dialog, and no more polls of the dead connection
    assert win.error_dialogs == []
    win.view.setCurrentIndex(win.proxy.mapFromSource(win.model.connection_index(uri)))
    assert win.act_retry.isEnabled()
    win.act_retry.trigger()
    qtbot.waitUntil(lambda: win.model.domain_count() == 12, timeout=10000)
    qtbot.waitUntil(lambda: win.poll_status.text() == "", timeout=10000)
    assert win.model.connection(uri).status == ConnectionNode.CONNECTED


def test_connection_that_fails_shows_it_in_its_row_with_retry(qtbot: Any, window: Any, tmp_path: Path) -> None:
    path = tmp_path / "later.xml"
    uri = f"test://{path}"
    window.manager.add(uri)
    qtbot.waitUntil(lambda: window.model.connection(uri).status == ConnectionNode.FAILED, timeout=10000)
    assert window.model.connection(uri).error
    qtbot.waitUntil(lambda: len(window.error_dialogs) == 1, timeout=6000)
    assert window.error_dialogs[0].report.operation == "virConnectOpen"
    write_node(path, 3)
    window.manager.retry(uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 3, timeout=10000)
    assert window.model.connection(uri).status == ConnectionNode.CONNECTED


def test_two_connections_at_once(qtbot: Any, connected: tuple, tmp_path: Path) -> None:
    win, uri = connected
    other = write_node(tmp_path / "other.xml", 4, prefix="b")
    win.manager.add(other)
    qtbot.waitUntil(lambda: win.model.domain_count() == 16, timeout=10000)
    assert set(win.manager.saved_uris()) == {uri, other}
    win.manager.remove(other)
    assert win.model.domain_count() == 12 and win.manager.saved_uris() == [uri]


def test_filter_matches_name_uuid_and_state(qtbot: Any, connected: tuple) -> None:
    win, uri = connected

    def shown() -> list[str]:
        parent = win.proxy.mapFromSource(win.model.connection_index(uri))  # proxy indexes die with a re-filter
        return sorted(win.proxy.index(r, 0, parent).data() for r in range(win.proxy.rowCount(parent)))

    type_filter(qtbot, win, "VM-00")
    assert shown() == [f"vm-00{i}" for i in range(10)]
    type_filter(qtbot, win, "paused")
    assert shown() == ["vm-006", "vm-007"]
    uuid = rows_by_name(win, uri)["vm-010"].uuid_str
    type_filter(qtbot, win, uuid[9:18])
    assert shown() == ["vm-010"]
    type_filter(qtbot, win, "")
    assert len(shown()) == 12
    assert win.proxy.rowCount() == 1  # the connection row stays even when nothing matches


@pytest.mark.parametrize("column", [COL_NAME, COL_ID, COL_CPU, COL_MEM, COL_DISK, COL_NET])
def test_sorting_by_every_column(qtbot: Any, connected: tuple, column: int) -> None:
    win, uri = connected
    qtbot.wait(500)  # a couple of ticks: rates and CPU differ between domains
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        win.view.sortByColumn(column, order)
        parent = win.proxy.mapFromSource(win.model.connection_index(uri))  # proxy indexes die with a re-sort
        keys = [win.proxy.index(r, column, parent).data(SORT_ROLE) for r in range(win.proxy.rowCount(parent))]
        assert keys == sorted(keys, reverse=order == Qt.SortOrder.DescendingOrder)
        assert len(set(keys)) > 1


def test_columns_shown_or_hidden_from_the_header_menu(qtbot: Any, window: Any, settings: Any) -> None:
    window._column_actions[COL_DISK].setChecked(False)
    assert window.view.isColumnHidden(COL_DISK)
    window.resize(900, 500)
    window.close()
    from guiapp.views.main_window import MainWindow

    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.view.isColumnHidden(COL_DISK)  # remembered with the window state
    assert not again._column_actions[COL_DISK].isChecked()
    again._column_actions[COL_DISK].setChecked(True)
    assert not again.view.isColumnHidden(COL_DISK)


def test_disabled_actions_explain_why(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    acts = win.domain_actions.actions
    select(win, uri, "vm-011")
    assert not acts["pause"].isEnabled()
    assert "shut off" in acts["pause"].toolTip() and "vm-011" in acts["pause"].toolTip()
    assert acts["start"].isEnabled()
    assert not acts["console"].isEnabled()
    assert "only running or paused domains have a screen" in acts["console"].toolTip()
    select(win, uri, "vm-004")  # every fifth domain of the node file has no VNC graphics
    qtbot.waitUntil(lambda: "no VNC graphics" in acts["console"].toolTip(), timeout=6000)
    qtbot.wait(500)  # later ticks keep it (the probe's answer is remembered)
    assert "no VNC graphics" in acts["console"].toolTip() and not acts["console"].isEnabled()
    win.view.clearSelection()
    qtbot.waitUntil(lambda: "select one or more domains" in acts["start"].toolTip(), timeout=1000)


def test_save_then_restore_are_long_jobs(qtbot: Any, connected: tuple, tmp_path: Path) -> None:
    win, uri = connected
    folder = tmp_path / "saves"
    folder.mkdir()
    win.ask_save_dir = lambda: str(folder)
    select(win, uri, "vm-002")
    win.domain_actions.actions["save"].trigger()
    qtbot.waitUntil(lambda: (folder / "vm-002.save").exists(), timeout=10000)
    qtbot.waitUntil(lambda: rows_by_name(win, uri)["vm-002"].state == SHUTOFF, timeout=10000)
    assert any(j.title == "Save vm-002" for j in win.runner.history)
    win.view.setCurrentIndex(win.proxy.mapFromSource(win.model.connection_index(uri)))
    win.ask_restore_file = lambda _uri: str(folder / "vm-002.save")
    assert win.act_restore.isEnabled()
    win.act_restore.trigger()
    qtbot.waitUntil(lambda: rows_by_name(win, uri)["vm-002"].state == RUNNING, timeout=10000)
    assert [j.state.value for j in win.runner.history if j.title.startswith(("Save", "Restore"))] == ["done", "done"]
    assert win.jobs_view.model().rowCount() >= 2


def test_delete_names_the_disk_files_and_removes_the_chosen_ones(qtbot: Any, window: Any, tmp_path: Path) -> None:
    disks = tmp_path / "disks"
    disks.mkdir()
    uri = write_node(tmp_path / "node.xml", 4, running=0.5, disk_dir=str(disks))
    for i in range(4):
        (disks / f"vm-{i:03d}.img").write_bytes(b"x")
    window.manager.add(uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 4, timeout=10000)
    select(window, uri, "vm-001", "vm-003")  # one running (forced off first), one shut off
    window.domain_actions.actions["delete"].trigger()
    qtbot.waitUntil(lambda: getattr(window, "delete_dialog", None) is not None and window.delete_dialog.isVisible(),
                    timeout=10000)
    dialog = window.delete_dialog
    listed = [dialog.files.item(i).text() for i in range(dialog.files.count())]
    assert any(str(disks / "vm-001.img") in t for t in listed) and any(str(disks / "vm-003.img") in t for t in listed)
    dialog.remove_disks.setChecked(True)
    dialog.files.item(1).setCheckState(Qt.CheckState.Unchecked)  # keep vm-003's disk
    dialog.delete_button.click()
    qtbot.waitUntil(lambda: window.model.domain_count() == 2, timeout=10000)
    assert set(rows_by_name(window, uri)) == {"vm-000", "vm-002"}
    qtbot.waitUntil(lambda: not (disks / "vm-001.img").exists(), timeout=6000)
    assert (disks / "vm-003.img").exists() and (disks / "vm-000.img").exists()


def test_add_connection_dialog_checks_the_uri(qtbot: Any, window: Any, node_uri: str) -> None:
    dialog = window.open_add_connection()
    dialog.set_uri("not a uri")
    dialog.buttons.accepted.emit()
    assert "is not a URI" in dialog.message.text() and dialog.isVisible()
    dialog.set_uri(node_uri)
    dialog.read_only.setChecked(True)
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: window.model.domain_count() == 12, timeout=10000)
    assert window.manager.connections[node_uri].read_only


def test_read_only_connection_disables_changes_and_the_driver_agrees(qtbot: Any, window: Any, node_uri: str) -> None:
    window.manager.add(node_uri, read_only=True)
    qtbot.waitUntil(lambda: window.model.domain_count() == 12, timeout=10000)
    select(window, node_uri, "vm-000")
    acts = window.domain_actions.actions
    for key in ("pause", "destroy", "save", "delete"):
        assert not acts[key].isEnabled() and "read-only connection" in acts[key].toolTip(), key
    assert acts["details"].isEnabled()
    window.run_action("pause")  # even when forced, nothing is sent for read-only rows
    drain(window.runner)
    assert window.error_dialogs == []
    assert driver_state(window, node_uri, "vm-000") == RUNNING
    conn = window.manager.conn(node_uri)  # and the driver itself refuses: VIR_ERR_OPERATION_DENIED
    with pytest.raises(libvirt.libvirtError) as denied:
        off_ui(lambda: conn.lookupByName("vm-000").suspend())
    assert denied.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED


def test_preferences_change_the_polling_interval(qtbot: Any, window: Any, settings: Any) -> None:
    from guiapp.views.preferences import poll_interval_ms

    dialog = window.open_preferences()
    assert dialog.interval.value() == 1.0  # the default, 1 s
    dialog.interval.setValue(2.5)
    dialog._accept()
    assert window.manager.interval_ms == 2500 and poll_interval_ms(settings) == 2500


def test_shortcuts_and_tooltips_exist(window: Any) -> None:
    acts = window.domain_actions.actions
    shortcuts = {k: a.shortcut().toString() for k, a in acts.items()}
    assert all(shortcuts.values()) and len(set(shortcuts.values())) == len(shortcuts)
    assert all(a.toolTip() for a in acts.values())
    assert window.act_filter.shortcut().toString() == "Ctrl+F"


def test_a_long_job_still_running_after_a_second_opens_the_jobs_panel(qtbot: Any, window: Any) -> None:
    import threading

    gate = threading.Event()
    assert not window.jobs_dock.isVisible()
    job = window.runner.submit("Create disk", lambda ctx: (ctx.progress(30, "writing"), gate.wait(10)),
                               long=True, takes_context=True)
    qtbot.waitUntil(lambda: window.jobs_progress.isVisible(), timeout=6000)
    qtbot.waitUntil(lambda: window.jobs_dock.isVisible(), timeout=6000)
    model = window.jobs_view.model()
    row = window.runner.history.index(job)
    qtbot.waitUntil(lambda: model.index(row, 3).data() == "30 % writing", timeout=6000)
    assert model.index(row, 2).data() == "running"
    gate.set()
    qtbot.waitUntil(lambda: model.index(row, 2).data() == "done", timeout=6000)
    qtbot.waitUntil(lambda: not window.jobs_progress.isVisible(), timeout=6000)


def _pixels(image: Any, x0: int, x1: int, color: str, tolerance: int = 40) -> int:
    from PySide6.QtGui import QColor

    want = QColor(color)
    n = 0
    for x in range(max(0, x0), min(image.width(), x1)):
        for y in range(0, image.height(), 1):
            c = image.pixelColor(x, y)
            if abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue()) < tolerance:
                n += 1
    return n


def test_rows_show_state_icons_and_sparklines(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    win.resize(1000, 500)
    qtbot.wait(700)  # a few ticks: the sparklines have points
    image = win.view.viewport().grab().toImage()
    header = win.view.header()

    def span(col: int) -> tuple[int, int]:
        x = header.sectionViewportPosition(col)
        return x, x + header.sectionSize(col)

    assert _pixels(image, *span(COL_CPU), "#3f8fd2") > 20  # the CPU sparklines
    assert _pixels(image, *span(COL_NET), "#3f8fd2") > 20
    assert _pixels(image, *span(COL_ID), "#3f8fd2") == 0
    assert _pixels(image, *span(COL_STATE), "#3c9d3c") > 20  # running icons, in the State column (issue 16)
    assert _pixels(image, *span(COL_STATE), "#e0a100") > 10  # paused icons
    assert _pixels(image, *span(COL_NAME), "#3c9d3c") == 0
    win._column_actions[COL_CPU].setChecked(False)
    qtbot.wait(50)
    assert win.view.isColumnHidden(COL_CPU)


def test_delegate_paints_a_single_cell(qtbot: Any, connected: tuple) -> None:
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionViewItem

    win, uri = connected
    qtbot.wait(500)
    row = rows_by_name(win, uri)["vm-000"]
    index = win.model.domain_index(uri, row.uuid, COL_CPU)
    image = QImage(200, 24, QImage.Format.Format_RGB32)
    image.fill(0xFFFFFF)
    painter = QPainter(image)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 200, 24)
    option.palette = win.view.palette()
    option.fontMetrics = win.view.fontMetrics()
    win.view.row_painter.paint(painter, option, index)
    painter.end()
    assert _pixels(image, 0, 110, "#3f8fd2") > 5  # the sparkline, left of the text
    assert _pixels(image, 120, 200, "#000000", 200) > 5  # the text on the right


def test_console_action_opens_a_console_for_running_vnc_domains(qtbot: Any, connected: tuple, monkeypatch) -> None:
    import guiapp.views.console as console

    win, uri = connected
    opened: list = []
    monkeypatch.setattr(console, "open_console", lambda dom, **kw: opened.append((dom, kw)))
    acts = win.domain_actions.actions
    select(win, uri, "vm-001")  # running, with VNC graphics
    qtbot.waitUntil(lambda: acts["console"].isEnabled(), timeout=6000)
    acts["console"].trigger()
    assert len(opened) == 1
    getter, kw = opened[0]
    assert kw["key"][0] == uri and kw["title"] == "vm-001"
    assert kw["runner"] is win.runner


def test_new_vm_action_opens_the_wizard_on_the_connection(qtbot: Any, connected: tuple) -> None:
    from guiapp.views.wizard import NewVMWizard

    win, uri = connected
    win.act_new_vm.trigger()
    wizards = [w for w in win.findChildren(NewVMWizard)]
    assert len(wizards) == 1
    wizards[0].close()


def test_sorting_a_big_list_by_a_statistic_samples_every_domain_then_sorts_again(qtbot: Any,
                                                                                connected: tuple) -> None:
    """Off-screen rows of a big list are sampled rarely: sorting by CPU asks for a full tick, then re-sorts."""
    win, uri = connected
    win.manager.full_tick_domains = 4  # 12 domains: a big list (every 3rd tick samples all of them)
    qtbot.waitUntil(lambda: win.manager.full_every(win.manager.connections[uri]) == 3, timeout=5000)
    layouts: list[int] = []
    win.model.layoutChanged.connect(lambda *_: layouts.append(1))
    full: list[bool] = []
    win.manager.polled.connect(lambda _u, res: full.append(not res.partial))
    win.view.sortByColumn(COL_CPU, Qt.SortOrder.DescendingOrder)
    assert win._resort_after == {uri}
    qtbot.waitUntil(lambda: not win._resort_after, timeout=10000)
    assert full and full[-1] is True and len(layouts) >= 2  # sorted at once, and again after the full tick
    win.view.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
    assert not win._resort_after  # names are always current
