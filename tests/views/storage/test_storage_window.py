"""The Storage window on the real test driver: pools, volumes, actions through the job runner, errors, transfers."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from gui_helpers import off_ui
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from guiapp.views.storage import transfer as transfer_mod
from guiapp.views.storage.models import P_USAGE, USAGE_ROLE, V_USED

URI = "test:///default"


def conn_of(main: Any) -> Any:
    return main.manager.conn(URI)


def wait_vols(qtbot: Any, win: Any, pred: Any) -> None:
    qtbot.waitUntil(lambda: pred([r.name for r in win.volumes.rows()]), timeout=5000)


def make_vol(main: Any, name: str, size: int = 2 ** 20) -> None:
    pool = off_ui(lambda: conn_of(main).storagePoolLookupByName("default-pool"))
    off_ui(lambda: pool.createXML(f"<volume><name>{name}</name><capacity>{size}</capacity></volume>"))


def test_pool_row_has_a_usage_bar_and_the_menu_opens_the_window(qtbot: Any, storage: tuple[Any, Any]) -> None:
    main, win = storage
    row = win.selected_pool()
    assert (row.name, row.type, row.active, row.capacity) == ("default-pool", "dir", True, 100 * 2 ** 30)
    r = win.pools.find(row.key)
    assert win.pools.data(win.pools.index(r, P_USAGE), USAGE_ROLE) == 0.0
    assert "0.00 B of 100.00 GiB" in win.pools.data(win.pools.index(r, P_USAGE))
    assert win.status.text().startswith("1 pool")
    assert not win.acts["start"].isEnabled() and "already active" in win.acts["start"].toolTip()


def test_new_volume_form_checks_input_then_creates_through_the_runner(qtbot: Any, storage: tuple[Any, Any]) -> None:
    main, win = storage
    win.open_new_volume()
    dlg = win.dialog
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled() and "name" in ok.toolTip()
    dlg.name.setText("../evil")
    assert not ok.isEnabled() and "'/'" in dlg.problem.text()
    dlg.name.setText("disk1.qcow2")
    dlg.capacity.setValue(0)
    assert not ok.isEnabled()
    dlg.capacity.setValue(200 * 1024)
    assert not ok.isEnabled() and "free" in dlg.problem.text()
    dlg.capacity.setValue(64)
    assert ok.isEnabled()
    ok.click()
    wait_vols(qtbot, win, lambda names: names == ["disk1.qcow2"])
    vol = win.volumes.rows()[0]
    assert (vol.format, vol.capacity) == ("qcow2", 64 * 2 ** 20)
    info = off_ui(lambda: conn_of(main).storageVolLookupByPath("/default-pool/disk1.qcow2").info())
    assert info[1] == 64 * 2 ** 20


def test_delete_confirmation_names_domains_and_running_users_block(qtbot: Any, storage: tuple[Any, Any]) -> None:
    main, win = storage
    make_vol(main, "used.img")
    off_ui(lambda: conn_of(main).createXML(
        "<domain type='test'><name>busy</name><memory>1024</memory><os><type>hvm</type></os><devices>"
        "<disk type='file' device='disk'><source file='/default-pool/used.img'/><target dev='vda'/></disk>"
        "</devices></domain>"))
    win.refresh_all(user=True)
    qtbot.waitUntil(lambda: bool(win.volumes.rows()) and win.volumes.rows()[0].used_by == (("busy", True),),
                    timeout=5000)
    assert win.volumes.data(win.volumes.index(0, V_USED)) == "busy (running)"
    assert win.select_volume("used.img")
    assert not win.acts["delete_vol"].isEnabled() and "busy" in win.acts["delete_vol"].toolTip()
    off_ui(lambda: conn_of(main).lookupByName("busy").destroy())
    win.refresh_all(user=True)
    qtbot.waitUntil(lambda: bool(win.volumes.rows()) and win.volumes.rows()[0].used_by == (), timeout=5000)
    assert win.select_volume("used.img")
    win.confirm_delete_volume()
    box = win.confirm_box
    assert "used.img" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    wait_vols(qtbot, win, lambda names: names == [])


def test_driver_errors_open_a_dialog_with_the_code(qtbot: Any, storage: tuple[Any, Any]) -> None:
    main, win = storage
    win.acts["stop"].trigger()
    qtbot.waitUntil(lambda: not win.selected_pool() or not win.selected_pool().active, timeout=5000)
    win.acts["new_vol"].trigger()  # disabled: nothing happens
    assert "start it first" in win.acts["new_vol"].toolTip()
    win.acts["delete_pool"].trigger()
    win.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not win.pools.rows(), timeout=5000)
    # a volume that vanished under the window: the error dialog carries libvirt's code
    assert off_ui(lambda: conn_of(main).listAllStoragePools()) == []


def test_resize_and_upload_download_with_progress_and_cancel(qtbot: Any, storage: tuple[Any, Any],
                                                             tmp_path: Path, monkeypatch: Any) -> None:
    main, win = storage
    make_vol(main, "data.img", 4 * 2 ** 20)
    win.load_volumes()
    wait_vols(qtbot, win, lambda n: n == ["data.img"])
    assert win.select_volume("data.img")
    win.open_resize()
    win.dialog.capacity.setValue(8)
    win.dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: bool(win.volumes.rows()) and win.volumes.rows()[0].capacity == 8 * 2 ** 20,
                    timeout=5000)
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 * 2 ** 20))
    assert win.select_volume("data.img")
    seen: list[int] = []
    win.progress.valueChanged.connect(seen.append)
    win.transfer("upload", str(src))
    assert win.cancel_button.isVisible() or win.status.text().startswith("Upload")
    qtbot.waitUntil(lambda: win.last_transfer == "Upload of data.img finished", timeout=10000)
    assert win.last_transfer in win.status.text()
    assert seen and max(seen) == 100
    out = tmp_path / "out.bin"
    qtbot.waitUntil(lambda: win.select_volume("data.img") and win.selected_volume() is not None, timeout=5000)
    win.transfer("download", str(out))
    qtbot.waitUntil(lambda: win.last_transfer == "Download of data.img finished", timeout=10000)
    assert out.read_bytes()[:len(src.read_bytes())] == src.read_bytes()
    cancelled = tmp_path / "cancelled.bin"
    real = transfer_mod.api.download_file

    def after_cancel(vol: Any, path: str, progress: Any, is_cancelled: Any) -> bool:
        for _ in range(500):  # the pool thread waits for the Cancel click, then runs the real download
            if is_cancelled():
                break
            time.sleep(0.01)
        return real(vol, path, progress, is_cancelled)
    monkeypatch.setattr(transfer_mod.api, "download_file", after_cancel)
    win.transfer("download", str(cancelled))
    assert win.cancel_button.isVisible() and not win.acts["upload"].isEnabled()
    win.cancel_button.click()
    qtbot.waitUntil(lambda: not win.transfers.running, timeout=10000)
    assert win.last_transfer == "Download of data.img cancelled"
    assert not cancelled.exists() and not win.cancel_button.isVisible()


def test_closing_during_a_transfer_hides_the_window_and_opening_shows_its_progress(
        qtbot: Any, storage: tuple[Any, Any], tmp_path: Path, monkeypatch: Any) -> None:
    """Ctrl+W, Escape or the title bar's close while a download runs: the download goes on, and Storage opened
    again is the same window with its progress and Cancel; quitting cancels it (the partial file is removed);
    once nothing runs, closing closes (and deletes) the window."""
    import shiboken6

    main, win = storage
    make_vol(main, "big.img", 2 ** 20)
    win.load_volumes()
    wait_vols(qtbot, win, lambda n: n == ["big.img"])
    assert win.select_volume("big.img")
    real = transfer_mod.api.download_file

    def until_cancel(vol: Any, path: str, progress: Any, is_cancelled: Any) -> bool:
        for _ in range(1000):  # the pool thread waits for Cancel (10 s at most), then runs the real download
            if is_cancelled():
                break
            time.sleep(0.01)
        return real(vol, path, progress, is_cancelled)
    monkeypatch.setattr(transfer_mod.api, "download_file", until_cancel)
    out = tmp_path / "out.bin"
    win.transfer("download", str(out))
    assert win.transfers.running and win.timer.isActive()
    assert not win.close()  # refused: hidden instead
    assert shiboken6.isValid(win) and not win.isVisible() and win.transfers.running
    assert not win.timer.isActive()  # a hidden window polls nothing
    main.act_storage.trigger()
    assert main.storage_window is win and win.isVisible() and win.cancel_button.isVisible()
    assert win.timer.isActive()
    QApplication.instance().aboutToQuit.emit()  # Quit: the transfer is cancelled, its partial file removed
    qtbot.waitUntil(lambda: not win.transfers.running, timeout=10000)
    assert win.last_transfer == "Download of big.img cancelled" and not out.exists()
    assert win.close()
    qtbot.waitUntil(lambda: not shiboken6.isValid(win), timeout=3000)  # WA_DeleteOnClose


def test_read_only_connection_disables_changes(qtbot: Any, window: Any) -> None:
    window.manager.add(URI, read_only=True)
    qtbot.waitUntil(lambda: window.manager.conn(URI) is not None, timeout=5000)
    window.act_storage.trigger()
    win = window.storage_window
    qtbot.waitUntil(lambda: win.selected_pool() is not None, timeout=5000)
    assert win.selected_pool().read_only
    for key in ("stop", "autostart", "new_vol", "delete_pool"):
        assert not win.acts[key].isEnabled() and "read-only" in win.acts[key].toolTip(), key
    assert not win.acts["new_pool"].isEnabled()
    assert win.pools.data(win.pools.index(0, 0)) == f"{URI} (read-only)"
    win.close()


def test_new_pool_form_and_autostart_toggle(qtbot: Any, storage: tuple[Any, Any]) -> None:
    main, win = storage
    win.open_new_pool()
    dlg = win.dialog
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dlg.conn.currentText() == URI and not ok.isEnabled()
    qtbot.waitUntil(lambda: "No LVM" in dlg.devices_note.text(), timeout=5000)  # the test node has none
    dlg.name.setText("images2")
    dlg.target.setText("relative/path")
    assert not ok.isEnabled() and "absolute" in dlg.problem.text()
    dlg.type.setCurrentText("logical")
    assert not ok.isEnabled() and "device" in dlg.problem.text()
    dlg.type.setCurrentText("dir")
    dlg.target.setText("/images2")
    assert ok.isEnabled()
    ok.click()
    qtbot.waitUntil(lambda: any(r.name == "images2" and r.active for r in win.pools.rows()), timeout=5000)
    pool = off_ui(lambda: conn_of(main).storagePoolLookupByName("images2"))
    assert off_ui(pool.isActive) == 1 and "<path>/images2</path>" in off_ui(lambda: pool.XMLDesc(0))
    assert win.select_pool(URI, "images2")
    assert not win.acts["autostart"].isChecked()
    win.acts["autostart"].trigger()
    qtbot.waitUntil(lambda: win.selected_pool() is not None and win.selected_pool().autostart, timeout=5000)
    assert off_ui(pool.autostart) == 1 and win.acts["autostart"].isChecked()
