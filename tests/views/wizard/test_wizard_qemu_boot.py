"""On QEMU (TCG), a guest made by the wizard (direct kernel boot of the tiny guest) boots."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from gui_helpers import off_ui
from helpers.tinyguest import CMDLINE, READY_MARKER
from wizard_helpers import TITLES, forward, open_wizard, wait_created

pytestmark = pytest.mark.qemu


def test_wizard_guest_boots_under_tcg(qtbot: Any, qemu_conn: Any, runner: Any, tiny_guest: tuple[str, str],
                                      tmp_path: Path) -> None:
    kernel, initrd = tiny_guest
    wiz = open_wizard(qtbot, qemu_conn, runner, uri="qemu:///session")
    assert wiz.host is not None, wiz.host_error
    assert wiz.kind_page.buttons["qemu"].isEnabled()
    assert not wiz.kind_page.buttons["xen-pv"].isEnabled()
    assert "Xen" in wiz.kind_page.reasons["xen-pv"].text()
    wiz.kind_page.select("qemu")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("kernel")
    wiz.install_page.kernel.setText(kernel)
    wiz.install_page.initrd.setText(initrd)
    wiz.install_page.cmdline.setText(CMDLINE)
    forward(wiz, TITLES[2])
    rp = wiz.resources_page
    rp.arch.setCurrentText("x86_64")
    assert rp.machine.findText("pc") >= 0 and rp.machine.findText("q35") >= 0  # from the capabilities
    rp.machine.setCurrentText("pc")
    rp.memory.setValue(128)
    forward(wiz, TITLES[3])
    disk = str(tmp_path / "boot.qcow2")
    wiz.storage_page.set_mode("new")
    wiz.storage_page.new_path.setText(disk)
    wiz.storage_page.new_size.setValue(0.02)
    forward(wiz, TITLES[4])
    forward(wiz, TITLES[5])  # one user-mode NIC by default
    forward(wiz, TITLES[6])
    wiz.summary_page.name.setText("wizboot")
    wiz.summary_page.start.setChecked(True)
    # the preview shows the QEMU driver's exact command line
    qtbot.waitUntil(lambda: "-kernel" in wiz.native_view.toPlainText(), timeout=5000)
    assert "accel=tcg" in wiz.native_view.toPlainText()
    wiz.finish_button.click()
    wait_created(qtbot, wiz, timeout=20000)
    assert wiz.result.started
    uuid = off_ui(lambda: qemu_conn.lookupByName("wizboot").UUIDString()).replace("-", "")
    log = Path(os.environ["XDG_RUNTIME_DIR"]) / "guiapp" / "qemu" / uuid / "console.log"  # per-domain directory
    deadline = time.monotonic() + 25
    text = ""
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if READY_MARKER in text:
            break
        time.sleep(0.2)
    assert READY_MARKER in text, text[-2000:]
    assert os.path.exists(disk)
    off_ui(lambda: qemu_conn.lookupByName("wizboot").destroy())
