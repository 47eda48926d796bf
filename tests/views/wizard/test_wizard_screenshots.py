"""Screenshots of every wizard page (git-ignored ``artifacts/``), for people to look at.

``test_screenshots_of_every_page`` runs in the suite's offscreen platform (``artifacts/wizard/offscreen/``);
``test_screenshots_under_xvfb`` runs it again in a child pytest under ``xvfb-run`` with Qt's real X11 plugin
(``artifacts/wizard/``), as people see the wizard.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from gui_helpers import off_ui, rerun_under_xvfb
from wizard_helpers import TITLES, forward, open_wizard, set_nic

ROOT = Path(__file__).resolve().parents[3]
UNDER_XVFB = os.environ.get("GUIAPP_WIZARD_XVFB") == "1"
ARTIFACTS = ROOT / "artifacts" / "wizard" / ("" if UNDER_XVFB else "offscreen")


def shoot(qtbot: Any, wiz: Any, name: str) -> Path:
    qtbot.wait(30)
    path = ARTIFACTS / f"{name}.png"
    image = wiz.grab().toImage()
    assert image.width() >= 900 and image.height() >= 500
    # not a blank image: the page and the preview drew something
    colors = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 17)}
    assert len(colors) > 5
    assert image.save(str(path))
    return path


def test_screenshots_of_every_page(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    wiz = open_wizard(qtbot, test_conn, runner)
    wiz.resize(1100, 700)
    wiz.kind_page.select("qemu")
    shots = [shoot(qtbot, wiz, "01-kind")]
    forward(wiz, TITLES[1])
    shots.append(shoot(qtbot, wiz, "02-install-invalid"))
    wiz.install_page.iso.setText(files["iso"])
    shots.append(shoot(qtbot, wiz, "02-install"))
    forward(wiz, TITLES[2])
    wiz.resources_page.memory.setValue(1024)
    wiz.resources_page.vcpus.setValue(2)
    shots.append(shoot(qtbot, wiz, "03-resources"))
    forward(wiz, TITLES[3])
    wiz.storage_page.new_path.setText(files["dir"] + "/disk.qcow2")
    wiz.storage_page.add_extra("cdrom")
    wiz.storage_page.add_extra("floppy", files["floppy"])
    shots.append(shoot(qtbot, wiz, "04-storage"))
    forward(wiz, TITLES[4])
    np_ = wiz.network_page
    set_nic(np_.nics[0], "network", network="default", model="virtio")
    set_nic(np_.add_nic(), "mcast", address="230.0.0.1", port=5558)
    set_nic(np_.add_nic(), "server", address="127.0.0.1", port=5560, mac="52:54:00:12:34:56")
    shots.append(shoot(qtbot, wiz, "05-network"))
    set_nic(np_.nics[1], "mcast", address="10.1.2.3")
    shots.append(shoot(qtbot, wiz, "05-network-invalid"))
    set_nic(np_.nics[1], "mcast", address="230.0.0.1")
    forward(wiz, TITLES[5])
    wiz.display_page.passwd.setText("secret")
    shots.append(shoot(qtbot, wiz, "06-display"))
    forward(wiz, TITLES[6])
    wiz.summary_page.name.setText("shot-vm")
    wiz.summary_page.start.setChecked(True)
    wiz.preview.setCurrentIndex(1)
    shots.append(shoot(qtbot, wiz, "07-summary"))
    wiz.summary_page.edit_xml.setChecked(True)
    forward(wiz, TITLES[7])
    shots.append(shoot(qtbot, wiz, "08-edit-xml"))
    # the Xen kinds: PV install page and the xl.cfg preview; a disabled kind on the first page
    for _ in range(7):
        wiz.back_button.click()
    wiz.kind_page.select("xen-pv")
    forward(wiz, TITLES[1])
    wiz.install_page.kernel.setText(files["kernel"])
    wiz.install_page.root_dev.setText("/dev/xvda1")
    wiz.preview.setCurrentIndex(1)
    shots.append(shoot(qtbot, wiz, "09-xen-pv-install"))
    # a failing create: the error dialog over the wizard
    for t in TITLES[2:7]:
        forward(wiz, t)
    wiz.summary_page.name.setText("clash")
    wiz.summary_page.edit_xml.setChecked(False)
    other = "<domain type='test'><name>clash</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    off_ui(lambda: test_conn.defineXML(other))
    wiz.finish_button.click()
    qtbot.waitUntil(lambda: wiz.error_dialog is not None, timeout=5000)
    dialog = wiz.error_dialog
    qtbot.wait(30)
    image = dialog.grab().toImage()
    path = ARTIFACTS / "10-create-failed-dialog.png"
    assert image.save(str(path))
    shots.append(shoot(qtbot, wiz, "10-create-failed"))
    dialog.close()
    assert all(p.stat().st_size > 10_000 for p in shots)


@pytest.mark.slow  # a child pytest under xvfb-run (the same tests already ran offscreen)
@pytest.mark.skipif(UNDER_XVFB, reason="already the child run under Xvfb")
@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (apt-get install xvfb)")
def test_screenshots_under_xvfb() -> None:
    shots = rerun_under_xvfb(__file__, "test_screenshots_of_every_page", "GUIAPP_WIZARD_XVFB", "wizard")
    assert len(shots) >= 12, shots
