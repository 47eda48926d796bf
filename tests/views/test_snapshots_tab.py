"""The Snapshots tab: take (internal/external choice), tree with the current one marked, revert after a
confirmation saying what is lost, delete; every call through the job runner (the UI-thread guard is on)."""

from __future__ import annotations

from typing import Any

from gui_helpers import off_ui
from PySide6.QtWidgets import QMessageBox

import guiapp.backend as libvirt
from guiapp.views.details.snapshots_tab import EXTERNAL_HELP, snapshot_xml


def open_tab(qtbot: Any, win: Any, uri: str, name: str) -> Any:
    row = next(r for r in win.model.connection(uri).rows if r.name == name)
    details = win.open_details(uri, row.uuid)
    qtbot.waitUntil(lambda: details.loaded, timeout=10000)
    tab = details.snapshots_tab
    qtbot.waitUntil(lambda: tab.message.text() != "", timeout=10000)
    return details, tab


def names_in_tree(tab: Any) -> list[tuple[str, int]]:
    out = []

    def walk(item: Any, depth: int) -> None:
        out.append((item.text(0), depth))
        for i in range(item.childCount()):
            walk(item.child(i), depth + 1)
    for i in range(tab.tree.topLevelItemCount()):
        walk(tab.tree.topLevelItem(i), 0)
    return out


def click(box: QMessageBox, role: QMessageBox.ButtonRole) -> None:
    button = next(b for b in box.buttons() if box.buttonRole(b) == role)
    button.click()


def test_take_revert_delete(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    details, tab = open_tab(qtbot, win, uri, "vm-003")
    assert tab.message.text() == "No snapshots yet."
    tab.take()
    dlg = tab.dialog
    assert dlg is not None and dlg.internal.isChecked()
    dlg.name.setText("first")
    dlg.description.setPlainText("before <risky> change")
    dlg.ok.click()
    qtbot.waitUntil(lambda: [n for n, _ in names_in_tree(tab)] == ["first  (current)"], timeout=10000)
    tab.take_with("second", "", 0)
    qtbot.waitUntil(lambda: names_in_tree(tab) == [("first", 0), ("second  (current)", 1)], timeout=10000)
    assert tab.tree.topLevelItem(0).text(4) == "before <risky> change"
    dom = off_ui(lambda: win.manager.conn(uri).lookupByName("vm-003"))
    inactive = libvirt.VIR_DOMAIN_XML_INACTIVE
    saved = off_ui(lambda: dom.XMLDesc(inactive))
    off_ui(lambda: dom.setMemoryFlags(256 * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG))
    assert off_ui(lambda: dom.XMLDesc(inactive)) != saved
    # revert asks first, saying what is lost; Cancel changes nothing
    tab.tree.setCurrentItem(tab.tree.topLevelItem(0))
    tab.confirm_revert()
    box = tab.confirm_box
    assert box is not None and "is lost" in box.informativeText() + box.text()
    click(box, QMessageBox.ButtonRole.RejectRole)
    qtbot.wait(200)
    assert off_ui(lambda: dom.snapshotCurrent().getName()) == "second"
    tab.confirm_revert()
    click(tab.confirm_box, QMessageBox.ButtonRole.DestructiveRole)
    qtbot.waitUntil(lambda: names_in_tree(tab) == [("first  (current)", 0), ("second", 1)], timeout=10000)
    assert off_ui(lambda: dom.XMLDesc(inactive)) == saved  # the definition came back with the snapshot
    tab.tree.setCurrentItem(tab.tree.topLevelItem(0))
    tab.confirm_delete()
    click(tab.confirm_box, QMessageBox.ButtonRole.DestructiveRole)
    qtbot.waitUntil(lambda: names_in_tree(tab) == [("second", 0)], timeout=10000)


def test_errors_are_shown_and_nothing_changes(qtbot: Any, connected: tuple) -> None:
    win, uri = connected
    details, tab = open_tab(qtbot, win, uri, "vm-004")
    errors: list = []
    win.show_error = lambda exc, **kw: errors.append(exc)
    tab.take_with("bad/name", "", 0)
    qtbot.waitUntil(lambda: "failed" in tab.message.text(), timeout=10000)
    assert "invalid snapshot name" in tab.message.text() and errors
    tab.take_with("ext", "", 16)  # the test driver refuses disk-only snapshots, like libvirt's
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=10000)
    assert names_in_tree(tab) == []
    assert "overlay" in EXTERNAL_HELP
    assert snapshot_xml("a&b", "<x>") == "<domainsnapshot><name>a&amp;b</name><description>&lt;x&gt;</description>" \
                                         "</domainsnapshot>"


def test_thumbnail_shown_for_the_selected_snapshot_and_forgotten_on_delete(qtbot: Any, connected: tuple,
                                                                          tmp_path: Any, monkeypatch: Any) -> None:
    """A test-driver guest has no display: the tab says so; a stored thumbnail shows; delete removes the file."""
    from PySide6.QtGui import QColor, QImage

    from guiapp.models import snapshot_thumbs
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    win, uri = connected
    details, tab = open_tab(qtbot, win, uri, "vm-005")
    tab.take_with("nodisplay", "", 0)
    qtbot.waitUntil(lambda: [n for n, _ in names_in_tree(tab)] == ["nodisplay  (current)"], timeout=10000)
    tab.tree.setCurrentItem(tab.tree.topLevelItem(0))
    assert "No screen thumbnail" in tab.thumbnail.text() and tab.thumbnail.pixmap().isNull()
    path = snapshot_thumbs.thumb_path(uri, details.uuid, "nodisplay")
    assert not path.exists() and path.is_relative_to(tmp_path / "cache")
    assert snapshot_thumbs.thumb_path(uri, details.uuid, "../../x/.png").parent == path.parent  # names are hashed
    img = QImage(64, 40, QImage.Format.Format_RGB32)
    img.fill(QColor("red"))
    assert snapshot_thumbs.save(path, _png(img))
    tab.tree.clearSelection()
    tab.tree.setCurrentItem(tab.tree.topLevelItem(0))
    assert tab.thumbnail.pixmap().toImage().pixelColor(5, 5) == QColor("red")
    tab.delete("nodisplay")
    qtbot.waitUntil(lambda: names_in_tree(tab) == [], timeout=10000)
    assert not path.exists()


def _png(img: Any) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return bytes(data.data())
