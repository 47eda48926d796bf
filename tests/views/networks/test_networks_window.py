"""The networks window on the real test driver: list, actions through the pool, create form, errors, read-only."""

from __future__ import annotations

from typing import Any

from gui_helpers import off_ui
from networks_helpers import URI, wait_rows
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QPushButton

import guiapp.backend as libvirt
from guiapp.views.networks.table_model import COL_BRIDGE, COL_CONN, COL_FORWARD, COL_STATE, cell_text


def row_named(win: Any, name: str, uri: str = URI) -> Any:
    return next((r for r in win.model.rows() if r.name == name and r.uri == uri), None)


def driver_net(main: Any, name: str) -> Any:
    conn = main.manager.conn(URI)
    return off_ui(lambda: conn.networkLookupByName(name))


def wait_error(qtbot: Any, win: Any, count: int = 1) -> Any:
    qtbot.waitUntil(lambda: len(win.error_dialogs) >= count, timeout=5000)
    return win.error_dialogs[-1]


def test_list_shows_default_with_xml_and_leases(qtbot: Any, nets: tuple[Any, Any]) -> None:
    _main, win = nets
    row = row_named(win, "default")
    assert (row.active, row.persistent, row.autostart) == (True, True, False)
    assert (row.bridge, row.forward, row.ipv4) == ("virbr0", "NAT", "192.168.122.1/24")
    assert row.dhcp == "192.168.122.2 – 192.168.122.254"
    r = win.model.find(row.key)
    assert win.model.data(win.model.index(r, COL_STATE)) == "active"
    assert win.model.data(win.model.index(r, COL_BRIDGE)) == "virbr0"
    assert win.select_name(URI, "default")
    assert "<name>default</name>" in win.panel.xml.toPlainText()
    assert win.panel.xml.isReadOnly()
    win.panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == row.xml and "<name>default</name>" in row.xml
    # the running 'test' guest has a lease on the default network
    qtbot.waitUntil(lambda: win.panel.leases.rowCount() == 1, timeout=5000)
    assert win.panel.leases.item(0, 0).text() == "aa:bb:cc:dd:ee:ff"
    assert win.panel.leases.item(0, 1).text() == "192.168.122.234/24"
    assert win.status.text() == "1 network (1 active) on 1 connection"


def test_stop_start_autostart_delete_reach_the_driver(qtbot: Any, nets: tuple[Any, Any]) -> None:
    main, win = nets
    acts = win.actions_by_key
    assert win.select_name(URI, "default")
    assert not acts["start"].isEnabled() and "already running" in acts["start"].toolTip()
    # the running guest 'test' uses the network: the driver refuses, the error dialog tells why
    acts["stop"].trigger()
    dialog = wait_error(qtbot, win)
    assert dialog.report.code == libvirt.VIR_ERR_OPERATION_INVALID
    assert "still in use" in dialog.report.message
    assert off_ui(lambda: driver_net(main, "default").isActive()) == 1
    conn = main.manager.conn(URI)
    off_ui(lambda: conn.lookupByName("test").destroy())

    qtbot.waitUntil(lambda: acts["stop"].isEnabled(), timeout=5000)
    acts["stop"].trigger()
    wait_rows(qtbot, win, lambda rows: not row_named(win, "default").active)
    assert off_ui(lambda: driver_net(main, "default").isActive()) == 0
    assert not acts["stop"].isEnabled() and "not running" in acts["stop"].toolTip()
    assert "not running" in win.panel.lease_note.text()

    acts["start"].trigger()
    wait_rows(qtbot, win, lambda rows: row_named(win, "default").active)
    assert off_ui(lambda: driver_net(main, "default").isActive()) == 1

    acts["autostart"].trigger()  # checkable: on
    wait_rows(qtbot, win, lambda rows: row_named(win, "default").autostart)
    assert off_ui(lambda: driver_net(main, "default").autostart()) == 1
    assert acts["autostart"].isChecked()
    acts["autostart"].trigger()  # off again
    wait_rows(qtbot, win, lambda rows: not row_named(win, "default").autostart)
    assert off_ui(lambda: driver_net(main, "default").autostart()) == 0

    acts["delete"].trigger()
    box = win.confirm_box
    assert isinstance(box, QMessageBox) and "default" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(50)
    assert row_named(win, "default") is not None
    acts["delete"].trigger()
    win.confirm_box.findChild(QPushButton, "confirmDeleteButton").click()
    wait_rows(qtbot, win, lambda rows: row_named(win, "default") is None)
    try:
        driver_net(main, "default")
    except libvirt.libvirtError as exc:
        assert exc.get_error_code() == libvirt.VIR_ERR_NO_NETWORK
    else:
        raise AssertionError("the network is still defined in the driver")
    assert not acts["stop"].isEnabled() and acts["stop"].toolTip() == "Select a network first"


def test_form_refuses_bad_input_then_creates(qtbot: Any, nets: tuple[Any, Any]) -> None:
    main, win = nets
    dlg = win.open_create_dialog()
    assert dlg is not None and dlg.uri == URI
    # a free subnet is suggested (not default's 192.168.122.0/24); the name is missing
    assert dlg.address.text() == "192.168.100.1" and dlg.dhcp_end.text() == "192.168.100.254"
    assert not dlg.create_button.isEnabled() and "name" in dlg.create_button.toolTip()
    dlg.name.setText("bad name")
    assert "letters, digits" in dlg.error_for("name") and not dlg.create_button.isEnabled()
    assert "letters, digits" in dlg.errors.text() and dlg.name.toolTip() == dlg.error_for("name")
    dlg.name.setText("default")
    assert "already exists" in dlg.error_for("name")
    dlg.name.setText("lab")
    assert dlg.create_button.isEnabled()
    dlg.address.setText("300.1.1.1")
    assert "not an IPv4 address" in dlg.error_for("address") and not dlg.create_button.isEnabled()
    dlg.address.setText("10.10.0.1")
    assert "not entirely within" in dlg.error_for("dhcp_start")  # the XML model's check
    assert not dlg.create_button.isEnabled()
    dlg.dhcp_start.setText("10.10.0.10")
    dlg.dhcp_end.setText("10.10.0")
    assert "not an IPv4 address" in dlg.error_for("dhcp_end")
    dlg.dhcp_end.setText("10.10.0.20")
    dlg.set_forward("isolated")
    assert not dlg.device.isEnabled()
    dlg.bridge.setText("virbr 7")
    assert "interface name" in dlg.error_for("bridge")
    dlg.bridge.setText("virbr7")
    dlg.domain.setText("lab..lan")
    assert "DNS labels" in dlg.error_for("domain")
    dlg.domain.setText("lab.lan")
    assert dlg.create_button.isEnabled(), dlg.errors.text()
    preview = dlg.preview.toPlainText()
    assert "<bridge name='virbr7'" in preview and "<range start='10.10.0.10' end='10.10.0.20'/>" in preview
    assert "<forward" not in preview and dlg.preview.isReadOnly()
    dlg.autostart.setChecked(True)
    dlg.create_button.click()
    wait_rows(qtbot, win, lambda rows: row_named(win, "lab") is not None)
    row = row_named(win, "lab")
    assert (row.active, row.persistent, row.autostart, row.forward) == (True, True, True, "isolated")
    assert win.selected_row() is not None and win.selected_row().name == "lab"
    xml = off_ui(lambda: driver_net(main, "lab").XMLDesc(0))
    assert "<domain name='lab.lan'/>" in xml and "virbr7" in xml
    assert not win.error_dialogs
    r = win.model.find(row.key)
    assert cell_text(row, COL_FORWARD) == "isolated" and r >= 0


def test_driver_errors_show_the_dialog_with_the_code(qtbot: Any, nets: tuple[Any, Any]) -> None:
    main, win = nets
    dlg = win.open_create_dialog()
    dlg.name.setText("clash")
    dlg.bridge.setText("virbr0")  # default's bridge: the driver refuses
    assert dlg.create_button.isEnabled()
    dlg.create_button.click()
    err = wait_error(qtbot, win)
    assert err.report.code == libvirt.VIR_ERR_OPERATION_FAILED and "virbr0" in err.report.message
    assert err.report.operation == "virNetworkDefineXML"
    assert "VIR_ERR_OPERATION_FAILED" in err.text.toPlainText()
    assert dlg.isVisible() and dlg.name.text() == "clash" and dlg.create_button.isEnabled()  # nothing lost
    # hand-written XML with a DHCP range outside the subnet: a warning, then the driver's verdict
    dlg.edit_xml.setChecked(True)
    assert not dlg.preview.isReadOnly() and not dlg.name.isEnabled()
    dlg.preview.setPlainText("<network><name>outside</name><ip address='10.1.0.1' prefix='24'><dhcp>"
                             "<range start='10.2.0.2' end='10.2.0.9'/></dhcp></ip></network>")
    assert "likely refuse" in dlg.errors.text()
    dlg.create_button.click()
    err = wait_error(qtbot, win, 2)
    assert err.report.code == libvirt.VIR_ERR_CONFIG_UNSUPPORTED
    assert "not entirely within" in err.report.message
    dlg.edit_xml.setChecked(False)  # back to the form: its XML again, the hand edits kept for later
    assert "<name>clash</name>" in dlg.preview.toPlainText() and dlg.name.isEnabled()
    dlg.edit_xml.setChecked(True)
    assert "<name>outside</name>" in dlg.preview.toPlainText()
    names = off_ui(lambda: [n.name() for n in main.manager.conn(URI).listAllNetworks(0)])
    assert names == ["default"]


def test_read_only_connection_disables_changes(qtbot: Any, window: Any) -> None:
    from guiapp.views.networks import open_networks_window

    window.manager.add(URI, read_only=True)
    qtbot.waitUntil(lambda: window.manager.conn(URI) is not None, timeout=5000)
    win = open_networks_window(window)
    assert open_networks_window(window) is win  # one per main window
    try:
        wait_rows(qtbot, win, lambda rows: row_named(win, "default") is not None)
        assert win.select_name(URI, "default")
        for key in ("start", "stop", "delete", "autostart"):
            act = win.actions_by_key[key]
            assert not act.isEnabled(), key
            assert "read-only" in act.toolTip(), key
        assert not win.act_create.isEnabled() and "not read-only" in win.act_create.toolTip()
        assert win.open_create_dialog() is None
        win.trigger("stop")  # ignored, even if called
        qtbot.wait(50)
        assert not win.error_dialogs
        assert "<name>default</name>" in win.panel.xml.toPlainText()
        row = row_named(win, "default")
        assert cell_text(row, COL_CONN) == f"{URI} (read-only)"
    finally:
        win.close()


class NoNetworkDriver:
    """A real driver implementing no network operation (like a seed driver with NULL entries)."""

    error_domain = libvirt.VIR_FROM_TEST
    schemes = ("nonet",)

    def close(self) -> None:
        pass

    def get_type(self) -> str:
        return "NONET"

    def get_uri(self) -> str:
        return "nonet:///"


def test_driver_without_networks_is_listed_as_such(qtbot: Any, nets: tuple[Any, Any]) -> None:
    from guiapp.backend.connection import virConnect
    from guiapp.models.connections import Connection

    main, win = nets
    entry = Connection("nonet:///", False)
    entry.conn = virConnect(NoNetworkDriver(), "nonet:///", False)
    main.manager.connections["nonet:///"] = entry
    try:
        win.refresh_all(user=True)  # a user refresh: still no error dialog for a driver without networks
        qtbot.waitUntil(lambda: "not supported" in win.status.text(), timeout=5000)
        assert "no virtual networks on nonet:///" in win.status.text()
        assert not win.error_dialogs
        assert [r.name for r in win.model.rows()] == ["default"]
    finally:
        del main.manager.connections["nonet:///"]


def test_removing_the_connection_removes_its_networks(qtbot: Any, nets: tuple[Any, Any]) -> None:
    main, win = nets
    assert win.select_name(URI, "default")
    main.manager.remove(URI)
    assert win.model.rows() == [] and win.selected_row() is None
    assert win.status.text() == "No open connection" and win.panel.xml.toPlainText() == ""
    assert not win.act_create.isEnabled() and win.act_create.toolTip() == "No connection is open"
    assert not win.actions_by_key["delete"].isEnabled()


def test_closing_the_main_window_closes_the_networks_window(qtbot: Any, nets: tuple[Any, Any]) -> None:
    main, win = nets
    assert win.isVisible() and win.timer.isActive()
    main.close()
    assert not win.isVisible() and not win.timer.isActive()


def test_main_window_menu_opens_the_networks_window(qtbot, connected) -> None:
    from guiapp.views.networks import NetworksWindow

    win, _uri = connected
    win.act_networks.trigger()
    first = [w for w in win.findChildren(NetworksWindow)]
    assert len(first) == 1 and first[0].isVisible()
    win.act_networks.trigger()  # raised again, not a second window
    assert len(win.findChildren(NetworksWindow)) == 1
    first[0].close()


def test_ctrl_w_and_escape_close_the_networks_window(qtbot: Any, nets: tuple[Any, Any]) -> None:
    from PySide6.QtGui import QKeySequence, QShortcut

    _main, win = nets
    keys = {s.key().toString() for s in win.findChildren(QShortcut)}
    assert {"Ctrl+W", "Esc"} <= keys, keys  # a QShortcut(StandardKey.Close) alone would give only Ctrl+F4
    for s in win.findChildren(QShortcut):
        if s.key() == QKeySequence("Ctrl+W"):
            s.activated.emit()
    assert not win.isVisible()
