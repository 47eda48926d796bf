"""The domain list's Screen column (issue 7): live thumbnails of a real QEMU display, the domain limit,
and "Open in External Viewer" — on the real test driver, with the window's own thumbnail service."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from gui_helpers import off_ui
from helpers.vnc_qemu import needs_qemu, qemu_display  # noqa: F401 - fixture
from PySide6.QtGui import QImage

from guiapp.models import thumbnails
from guiapp.models.demo import TEST_NS, domain_xml, node_xml
from guiapp.models.domains import COL_NET, COL_SCREEN, THUMB_ROLE
from guiapp.views.console.external import SETTINGS_VIEWER

AUTOPORT = "<graphics type='vnc' port='-1' autoport='yes'/>"


def with_graphics(xml: str, graphics: str) -> str:
    assert AUTOPORT in xml
    return xml.replace(AUTOPORT, graphics)


def write(tmp_path: Path, *domains: str, count: int = 2) -> str:
    """A node file: ``count`` ordinary domains (vm-000 running, the rest shut off) plus ``domains``."""
    text = node_xml(count, running=0.5).replace("</node>", "".join(domains) + "</node>")
    assert TEST_NS in text
    path = tmp_path / "node.xml"
    path.write_text(text)
    return f"test://{path}"


def rows(win: Any, uri: str) -> dict[str, Any]:
    return {r.name: r for r in win.model.connection(uri).rows}


def select(win: Any, uri: str, name: str) -> None:
    win.view.clearSelection()
    assert win.select_domain(uri, rows(win, uri)[name].uuid)


def cell_ink(win: Any, uri: str, name: str) -> int:
    """How many pixels of a domain's Screen cell differ from the row's background."""
    idx = win.proxy.mapFromSource(win.model.domain_index(uri, rows(win, uri)[name].uuid, COL_SCREEN))
    rect = win.view.visualRect(idx).adjusted(2, 2, -2, -2)  # inside the focus frame
    assert rect.width() > 40 and rect.height() > 30, rect
    image = win.view.viewport().grab(rect).toImage().convertToFormat(QImage.Format.Format_RGB32)
    bg = image.pixel(0, 0)
    return sum(1 for x in range(image.width()) for y in range(image.height()) if image.pixel(x, y) != bg)


@needs_qemu
def test_screen_column_shows_a_running_qemu_display_and_nothing_for_shut_off_domains(
        qtbot: Any, window: Any, settings: Any, qemu_display: Any, tmp_path: Path) -> None:  # noqa: F811
    q = qemu_display()  # SeaBIOS on the std VGA, on a VNC unix socket
    on_screen = f"<graphics type='vnc' socket='{q.vnc}'/>"
    uri = write(tmp_path, with_graphics(domain_xml(7, 1, prefix="shown"), on_screen),
                with_graphics(domain_xml(8, 5, prefix="off"), on_screen))
    settings.setValue(thumbnails.SETTINGS_INTERVAL, 1000)
    window.screens.apply_settings()
    changes: list[tuple[int, int, int, int]] = []
    window.model.dataChanged.connect(lambda tl, br, *_: changes.append((tl.row(), tl.column(), br.row(), br.column())))
    window.manager.add(uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 4, timeout=5000)
    shown = rows(window, uri)["shown-007"]
    key = (uri, shown.uuid)
    qtbot.waitUntil(lambda: key in window.model.thumbnails, timeout=15_000)
    assert not window.view.isColumnHidden(COL_SCREEN)
    sidx = window.model.domain_index(uri, shown.uuid, COL_SCREEN)
    pix = sidx.data(THUMB_ROLE)
    assert pix is not None and 0 < pix.height() <= thumbnails.LIST_SIZE.height()
    assert pix.width() <= thumbnails.LIST_SIZE.width()
    # the thumbnail arrived as one dataChanged for exactly that cell; poll ticks never span the Screen column
    assert (sidx.row(), COL_SCREEN, sidx.row(), COL_SCREEN) in changes
    qtbot.wait(1200)
    assert all(c[3] <= COL_NET or (c[0] == c[2] and c[1] == c[3] == COL_SCREEN) for c in changes[-5:])
    off = rows(window, uri)["off-008"]
    assert window.model.domain_index(uri, off.uuid, COL_SCREEN).data(THUMB_ROLE) is None
    # the ordinary running test domain has VNC without a port: no image, and the reason in its tooltip
    vm0 = rows(window, uri)["vm-000"]
    qtbot.waitUntil(lambda: (uri, vm0.uuid) in window.model.thumbnail_notes, timeout=10_000)
    assert "no port" in window.model.domain_index(uri, vm0.uuid, COL_SCREEN).data(3)  # ToolTipRole
    assert window.screens_label.isVisible() and "1 screen not shown" in window.screens_label.text()
    # painted: the running domain's cell has the screen in it, the shut-off one's is empty
    window.resize(1100, 500)
    qtbot.wait(100)
    assert cell_ink(window, uri, "shown-007") > 200
    assert cell_ink(window, uri, "off-008") == 0
    # once it stops, its thumbnail goes
    conn = window.manager.conn(uri)
    off_ui(lambda: conn.lookupByName("shown-007").destroy())
    qtbot.waitUntil(lambda: key not in window.model.thumbnails, timeout=5000)


def test_more_domains_than_the_limit_turn_thumbnails_off(qtbot: Any, connected: tuple, settings: Any) -> None:
    win, uri = connected  # 12 domains: under the default limit of 16
    failed: list[Any] = []
    win.screens.service.thumbnail_failed.connect(lambda k, _why: failed.append(k))
    settings.setValue(thumbnails.SETTINGS_INTERVAL, 500)
    win.screens.apply_settings()
    qtbot.waitUntil(lambda: len(failed) >= 8, timeout=10_000)  # 8 running/paused VNC domains tried (no port)
    assert win.screens.active and not win.view.isColumnHidden(COL_SCREEN)
    dialog = win.open_preferences()
    dialog.thumbs_max.setValue(11)
    dialog._accept()
    assert not win.screens.active and win.view.isColumnHidden(COL_SCREEN)
    assert "12 domains" in win.screens_label.text() or "12 domains" in win.screens_label.toolTip()
    assert "limit of 11" in win.screens_label.toolTip()
    assert not win.model.thumbnail_notes and not win.screens.service.enabled()
    qtbot.wait(700)
    failed.clear()
    qtbot.wait(1200)  # two intervals: nothing captured while off
    assert failed == []
    dialog = win.open_preferences()
    assert dialog.thumbs_max.value() == 11
    dialog.thumbs_max.setValue(12)
    dialog._accept()
    assert win.screens.active and not win.view.isColumnHidden(COL_SCREEN)
    qtbot.waitUntil(lambda: len(failed) >= 8, timeout=10_000)
    # hidden by the user from the header menu: stays hidden while thumbnails are on
    win._column_actions[COL_SCREEN].setChecked(False)
    assert win.view.isColumnHidden(COL_SCREEN)
    win._column_actions[COL_SCREEN].setChecked(True)
    assert not win.view.isColumnHidden(COL_SCREEN)


def test_preferences_persist_and_apply_live(qtbot: Any, window: Any, settings: Any) -> None:
    from guiapp.views.preferences import PreferencesDialog

    dialog = window.open_preferences()
    assert dialog.thumbs_enabled.isChecked() and dialog.thumbs_max.value() == 16
    assert dialog.thumbs_interval.value() == 5.0 and dialog.viewer.text() == "vncviewer {address}"
    dialog.viewer.setText("myviewer {nosuch}")  # a bad template keeps the dialog open and saves nothing
    dialog._accept()
    assert "{nosuch}" in dialog.message.text() and dialog.isVisible()
    assert settings.value(SETTINGS_VIEWER) is None
    dialog.viewer.setText("'unclosed {address}")
    dialog._accept()
    assert "quotes" in dialog.message.text() and dialog.isVisible()
    dialog.viewer.setText("xtightvncviewer -viewonly {host}::{port}")
    dialog.thumbs_interval.setValue(2.5)
    dialog.thumbs_enabled.setChecked(False)
    dialog._accept()
    assert not dialog.isVisible()
    assert window.screens.service.timer.interval() == 2500  # applied to the running service
    assert not window.screens.active and window.view.isColumnHidden(COL_SCREEN)
    assert "switched off in Preferences" in window._column_actions[COL_SCREEN].toolTip()
    assert not window.screens_label.isVisible()  # the user's own choice: no status note
    settings.sync()
    again = PreferencesDialog(settings)  # persisted
    qtbot.addWidget(again)
    assert not again.thumbs_enabled.isChecked() and again.thumbs_interval.value() == 2.5
    assert again.viewer.text() == "xtightvncviewer -viewonly {host}::{port}"
    assert thumbnails.interval_ms(settings) == 2500 and not thumbnails.switched_on(settings)


@pytest.fixture
def viewer_script(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny "VNC viewer" that writes its argv (JSON) to a file."""
    out = tmp_path / "argv.json"
    script = tmp_path / "fake-viewer"
    script.write_text(f"#!{sys.executable}\nimport json, sys\n"
                      f"open({str(out)!r}, 'w').write(json.dumps(sys.argv[1:]))\n")
    script.chmod(0o755)
    return script, out


def test_external_viewer_action_runs_the_configured_command(qtbot: Any, window: Any, settings: Any,
                                                            tmp_path: Path, viewer_script: tuple) -> None:
    script, out = viewer_script
    tcp = "<graphics type='vnc' port='5907' listen='127.0.0.1'/>"
    uri = write(tmp_path, with_graphics(domain_xml(5, 1, prefix="ext"), tcp),
                with_graphics(domain_xml(6, 5, prefix="ext"), tcp))
    settings.setValue(SETTINGS_VIEWER, f"'{script}' --title {{name}} {{address}} {{display}}")
    window.manager.add(uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 4, timeout=5000)
    action = window.domain_actions.actions["external"]
    select(window, uri, "ext-006")  # shut off: disabled, saying why
    assert not action.isEnabled() and "have a screen" in action.toolTip()
    select(window, uri, "ext-005")
    assert action.isEnabled() and action.shortcut().toString() == "Ctrl+Shift+T"
    action.trigger()
    qtbot.waitUntil(out.exists, timeout=10_000)
    qtbot.waitUntil(lambda: out.read_text().endswith("]"), timeout=5000)
    assert json.loads(out.read_text()) == ["--title", "ext-005", "127.0.0.1::5907", "7"]
    assert window.error_dialogs == []
    # a viewer that is not installed: the error dialog says so
    settings.setValue(SETTINGS_VIEWER, "no-such-vnc-viewer-xyz {address}")
    os.remove(out)
    action.trigger()
    qtbot.waitUntil(lambda: len(window.error_dialogs) == 1, timeout=10_000)
    text = window.error_dialogs[0].text.toPlainText()
    assert "no-such-vnc-viewer-xyz" in text and "not found" in text
    assert not out.exists()
