"""The main window opens the wizard on its connections; a created guest shows up in the domain list."""

from __future__ import annotations

import os
from typing import Any

from wizard_helpers import TITLES, forward

from guiapp.views.wizard import NewVMWizard, open_new_vm_wizard


def test_open_from_main_window(qtbot: Any, connected: tuple[Any, str], files: dict[str, str]) -> None:
    window, uri = connected
    wiz = open_new_vm_wizard(window)
    assert isinstance(wiz, NewVMWizard) and wiz.isVisible()
    qtbot.waitUntil(lambda: wiz.host is not None, timeout=5000)
    assert wiz.uri == uri and wiz.kind_page.connection.currentData() == uri
    wiz.kind_page.select("xen-hvm")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("network")
    for t in TITLES[2:7]:
        forward(wiz, t)
        if t == TITLES[3]:
            wiz.storage_page.set_mode("new")
            wiz.storage_page.new_path.setText(os.path.join(files["dir"], "mw.img"))
            wiz.storage_page.new_format.setCurrentText("raw")
            wiz.storage_page.new_size.setValue(0.01)
    wiz.summary_page.name.setText("from-wizard")
    wiz.finish_button.click()
    # the jobs panel sees the long job; the domain list shows the new guest
    qtbot.waitUntil(lambda: any(j.title == "Create from-wizard" for j in window.runner.history), timeout=5000)
    qtbot.waitUntil(lambda: window.model.domain_count() == 13, timeout=10000)
    names = {r.name for c in window.model.connections for r in c.rows}
    assert "from-wizard" in names


def test_no_open_connection(qtbot: Any, window: Any) -> None:
    wiz = open_new_vm_wizard(window)
    assert not wiz.forward_button.isEnabled()
    assert "No connection is open" in wiz.problem_text()
    wiz.close()
