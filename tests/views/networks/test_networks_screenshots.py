"""Screenshots of the networks window (git-ignored ``artifacts/``), for people to look at.

``test_screenshots`` runs in the suite's offscreen platform (``artifacts/networks/offscreen/``);
``test_screenshots_under_xvfb`` runs it again in a child pytest under ``xvfb-run`` with Qt's real X11
plugin (``artifacts/networks/``), as people see the window.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from gui_helpers import rerun_under_xvfb
from networks_helpers import URI, wait_rows

ROOT = Path(__file__).resolve().parents[3]
UNDER_XVFB = os.environ.get("GUIAPP_NETWORKS_XVFB") == "1"
ARTIFACTS = ROOT / "artifacts" / "networks" / ("" if UNDER_XVFB else "offscreen")


def shoot(qtbot: Any, widget: Any, name: str, min_size: tuple[int, int] = (900, 450)) -> Path:
    qtbot.wait(40)
    image = widget.grab().toImage()
    assert image.width() >= min_size[0] and image.height() >= min_size[1]
    colors = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 17)}
    assert len(colors) > 5  # not a blank image
    path = ARTIFACTS / f"{name}.png"
    assert image.save(str(path))
    return path


def test_screenshots(qtbot: Any, nets: tuple[Any, Any]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    main, win = nets
    win.resize(1100, 640)
    main.manager.add("test:///default?ro", read_only=True, remember=False)
    wait_rows(qtbot, win, lambda rows: len(rows) == 2, timeout=8000)
    assert win.select_name(URI, "default")
    qtbot.waitUntil(lambda: win.panel.leases.rowCount() == 1, timeout=5000)
    shots = [shoot(qtbot, win, "01-list-xml")]
    win.panel.setCurrentIndex(1)
    shots.append(shoot(qtbot, win, "02-list-leases"))
    win.panel.setCurrentIndex(0)
    dlg = win.open_create_dialog()
    dlg.name.setText("lab")
    dlg.bridge.setText("virbr7")
    dlg.domain.setText("lab.lan")
    shots.append(shoot(qtbot, dlg, "03-create-valid", (800, 400)))
    dlg.name.setText("bad name")
    dlg.address.setText("10.0.0.1")
    shots.append(shoot(qtbot, dlg, "04-create-invalid", (800, 400)))
    dlg.name.setText("clash")
    dlg.address.setText("192.168.100.1")
    dlg.bridge.setText("virbr0")
    dlg.create_button.click()
    qtbot.waitUntil(lambda: bool(win.error_dialogs), timeout=5000)
    shots.append(shoot(qtbot, win.error_dialogs[-1], "05-create-error", (500, 150)))
    win.error_dialogs[-1].close()
    dlg.edit_xml.setChecked(True)
    dlg.preview.setPlainText("<network>\n  <name>outside</name>\n  <ip address='10.1.0.1' prefix='24'>\n    <dhcp>\n"
                             "      <range start='10.2.0.2' end='10.2.0.9'/>\n    </dhcp>\n  </ip>\n</network>\n")
    shots.append(shoot(qtbot, dlg, "07-create-edit-xml", (800, 400)))
    dlg.close()
    assert win.select_name("test:///default?ro", "default")
    shots.append(shoot(qtbot, win, "06-read-only-selected"))
    assert all(p.stat().st_size > 5_000 for p in shots)


@pytest.mark.slow  # a child pytest under xvfb-run (the same tests already ran offscreen)
@pytest.mark.skipif(UNDER_XVFB, reason="already the child run under Xvfb")
@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (apt-get install xvfb)")
def test_screenshots_under_xvfb() -> None:
    shots = rerun_under_xvfb(__file__, "test_screenshots", "GUIAPP_NETWORKS_XVFB", "networks")
    assert len(shots) >= 7, shots
