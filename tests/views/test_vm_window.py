"""The VM window (issue 16): console/details/snapshots pages of one window, power toolbar, one per domain."""

from __future__ import annotations

from typing import Any

from gui_helpers import off_ui
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from guiapp.models.api import STATE_PAUSED, STATE_RUNNING, STATE_SHUTOFF


def row_of(win: Any, uri: str, name: str) -> Any:
    return next(r for r in win.model.connection(uri).rows if r.name == name)


def state_of(win: Any, uri: str, name: str) -> int:
    conn = win.manager.conn(uri)
    return off_ui(lambda: conn.lookupByName(name).state()[0])


def double_click(qtbot: Any, win: Any, uri: str, name: str) -> None:
    """Double-click the domain's row in the main window's list."""
    from guiapp.models.domains import COL_NAME

    win.select_domain(uri, row_of(win, uri, name).uuid)
    idx = win.view.currentIndex().siblingAtColumn(COL_NAME)
    win.view.scrollTo(idx)
    rect = win.view.visualRect(idx)
    qtbot.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # Qt wants a press first
    qtbot.mouseDClick(win.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_double_click_opens_one_vm_window_per_domain(qtbot: Any, connected: tuple) -> None:
    from guiapp.views.vmwin import VmWindow

    win, uri = connected
    double_click(qtbot, win, uri, "vm-003")
    qtbot.waitUntil(lambda: len(getattr(win, "vm_windows", {})) == 1, timeout=5000)
    vm = next(iter(win.vm_windows.values()))
    assert isinstance(vm, VmWindow) and vm.isVisible()
    assert vm.name == "vm-003" and vm.windowTitle() == "vm-003 — Console"  # running: opens on the console
    assert vm.current_page() == "console" and vm.console.console is not None
    # the pages: console, details (the details tabs, without Snapshots), snapshots
    assert set(vm.pages) == {"console", "details", "snapshots"}
    qtbot.waitUntil(lambda: vm.details.loaded, timeout=10000)
    tabs = [vm.details.tabs.tabText(i).replace("&", "") for i in range(vm.details.tabs.count())]
    assert "Snapshots" not in tabs and "XML" in tabs
    vm.page_actions["snapshots"].trigger()
    assert vm.stack.currentWidget() is vm.snapshots and vm.windowTitle() == "vm-003 — Snapshots"
    # a second double-click re-activates the same window
    double_click(qtbot, win, uri, "vm-003")
    assert len(win.vm_windows) == 1 and win.open_vm_window(uri, vm.uuid) is vm
    # another domain gets its own window; a shut-off one opens on the details page
    double_click(qtbot, win, uri, "vm-011")
    qtbot.waitUntil(lambda: len(win.vm_windows) == 2, timeout=5000)
    other = win.vm_windows[(uri, row_of(win, uri, "vm-011").uuid)]
    assert other is not vm and other.current_page() == "details"
    other.show_page("console")
    assert other.console.currentWidget() is other.console.off
    assert other.console.run_button.isVisible()
    # closing destroys the window; the dict forgets it
    vm.close()
    qtbot.waitUntil(lambda: len(win.vm_windows) == 1, timeout=5000)


def test_standalone_console_stays_available(qtbot: Any, connected: tuple, monkeypatch: Any) -> None:
    import guiapp.views.console as console

    win, uri = connected
    opened: list = []
    monkeypatch.setattr(console, "open_console", lambda dom, **kw: opened.append(kw))
    win.open_vm_window(uri, row_of(win, uri, "vm-001").uuid)
    win.select_domain(uri, row_of(win, uri, "vm-001").uuid)
    qtbot.waitUntil(lambda: win.domain_actions.actions["console"].isEnabled(), timeout=6000)
    win.domain_actions.actions["console"].trigger()
    assert len(opened) == 1 and opened[0]["title"] == "vm-001"


def test_power_toolbar_follows_the_state_and_runs_actions(qtbot: Any, connected: tuple, settings: Any) -> None:
    win, uri = connected
    vm = win.open_vm_window(uri, row_of(win, uri, "vm-011").uuid)  # shut off
    p = vm.power
    assert p["start"].isEnabled() and not p["pause"].isEnabled() and not p["destroy"].isEnabled()
    assert "shut off" in p["pause"].statusTip()
    assert [a.objectName() for a in vm.shutdown_menu.actions()] == [
        "vm_shutdown", "vm_reboot", "vm_reset", "vm_destroy", "vm_managed_save", "vm_save"]
    assert not vm.shutdown_button.isEnabled()
    p["start"].trigger()
    qtbot.waitUntil(lambda: state_of(win, uri, "vm-011") == STATE_RUNNING, timeout=5000)
    qtbot.waitUntil(lambda: p["pause"].isEnabled() and not p["start"].isEnabled(), timeout=5000)
    assert vm.shutdown_button.isEnabled() and p["shutdown"].isEnabled()
    # pause is a toggle: checked while paused, its second click resumes
    p["pause"].trigger()
    qtbot.waitUntil(lambda: state_of(win, uri, "vm-011") == STATE_PAUSED, timeout=5000)
    qtbot.waitUntil(lambda: p["pause"].isChecked(), timeout=5000)
    assert p["pause"].text() == "&Resume"
    p["pause"].trigger()
    qtbot.waitUntil(lambda: state_of(win, uri, "vm-011") == STATE_RUNNING, timeout=5000)
    qtbot.waitUntil(lambda: not p["pause"].isChecked(), timeout=5000)
    # Force Reset asks first, then resets (virDomainReset): the domain keeps running, no error dialog
    assert p["reset"].isEnabled()
    p["reset"].trigger()
    box = vm.reset_box
    assert isinstance(box, QMessageBox) and box.isVisible() and "vm-011" in box.text()
    jobs: list = []
    win.runner.job_submitted.connect(jobs.append)
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: any(j.title == "Force Reset vm-011" and j.state.value == "done" for j in jobs),
                    timeout=5000)
    assert not win.error_dialogs and state_of(win, uri, "vm-011") == STATE_RUNNING
    # Force Off asks first (the main window's confirmation), then powers off
    p["destroy"].trigger()
    box = win.confirm_box
    assert isinstance(box, QMessageBox) and box.isVisible() and "vm-011" in box.text()
    assert state_of(win, uri, "vm-011") == STATE_RUNNING
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: state_of(win, uri, "vm-011") == STATE_SHUTOFF, timeout=5000)
    qtbot.waitUntil(lambda: vm.console.currentWidget() is vm.console.off, timeout=5000)
    # managed save from the Shut Down menu
    win.manager.poll_now(uri)
    qtbot.waitUntil(lambda: p["start"].isEnabled(), timeout=5000)
    p["start"].trigger()
    qtbot.waitUntil(lambda: state_of(win, uri, "vm-011") == STATE_RUNNING, timeout=5000)
    win.manager.poll_now(uri)
    qtbot.waitUntil(lambda: p["managed_save"].isEnabled(), timeout=5000)
    p["managed_save"].trigger()
    conn = win.manager.conn(uri)
    qtbot.waitUntil(lambda: off_ui(lambda: conn.lookupByName("vm-011").hasManagedSaveImage(0)) == 1, timeout=5000)
    assert state_of(win, uri, "vm-011") == STATE_SHUTOFF


def test_console_page_embeds_the_console_while_running(qtbot: Any, connected: tuple) -> None:
    from guiapp.views.console.window import ConsoleWindow

    win, uri = connected
    vm = win.open_vm_window(uri, row_of(win, uri, "vm-001").uuid)
    assert vm.current_page() == "console"
    c = vm.console.console
    assert isinstance(c, ConsoleWindow) and not c.isWindow() and c.parent() is vm.console
    assert not c.menuBar().isVisible() and c.findChild(type(vm.toolbar), "consoleToolbar").isVisible()
    assert c.act_close not in c.actions()  # Ctrl+W closes the whole VM window
    vm.close()
    qtbot.waitUntil(lambda: not getattr(win, "vm_windows", {}), timeout=5000)
