"""The wizard's OS box: search by name, detect a real ISO's OS, apply osinfo-db's recommended settings."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.isomaker import make_iso
from wizard_helpers import forward, open_wizard

from guiapp.backend.osinfo import OsInfoDb, os_defaults

pytestmark = pytest.mark.skipif(not os.path.isdir("/usr/share/osinfo/os"), reason="osinfo-db not installed")


def qemu_wizard(qtbot: Any, conn: Any, runner: Any) -> Any:
    wiz = open_wizard(qtbot, conn, runner)
    wiz.kind_page.select("qemu")
    forward(wiz, "Install source")
    return wiz


def test_search_lists_matching_systems_and_choosing_one_shows_defaults(qtbot: Any, test_conn: Any,
                                                                       runner: Any) -> None:
    wiz = qemu_wizard(qtbot, test_conn, runner)
    box = wiz.install_page.os_box
    box.search.setText("debian 11")
    qtbot.waitUntil(lambda: box.results.count() > 0, timeout=20000)
    first = box.results.item(0)
    assert "Debian 11" in first.text()
    box.results.setCurrentItem(first)
    d = os_defaults(box.db, "debian11")
    assert f"{d.memory_mib} MiB" in box.recommended.text() and "virtio" in box.recommended.text()
    box.search.setText("zzz no such os")
    qtbot.waitUntil(lambda: box.results.count() == 0)
    assert "No OS matches" in box.status.text()


def test_iso_is_detected_and_defaults_applied(qtbot: Any, test_conn: Any, runner: Any, tmp_path: Path) -> None:
    iso = make_iso(tmp_path / "ubuntu.iso", "Ubuntu 22.04.1 LTS amd64", files={"casper/vmlinuz": b"k"})
    wiz = qemu_wizard(qtbot, test_conn, runner)
    box = wiz.install_page.os_box
    wiz.install_page.iso.setText(str(iso))
    qtbot.waitUntil(lambda: box.apply_button.isEnabled(), timeout=20000)
    assert box.status.text().startswith("Detected Ubuntu 22.04")
    assert box.recommended.text().startswith("Ubuntu 22.04")
    d = box.defaults
    assert d is not None and d.memory_mib > wiz.resources_page.memory.value()
    box.apply_button.click()
    host_mib = wiz.host.memory_mib
    memory = min(d.memory_mib, host_mib) if host_mib else d.memory_mib
    assert wiz.resources_page.memory.value() == memory
    assert ("limited to the host" in box.recommended.text()) == (memory < d.memory_mib)
    assert wiz.storage_page.new_size.value() == d.disk_gib
    assert wiz.storage_page.bus.currentText() == d.disk_bus == "virtio"
    assert ("Operating system", "Ubuntu 22.04 LTS") in wiz.install_page.summary()
    forward(wiz, "Architecture, memory and CPUs")
    qtbot.waitUntil(lambda: f">{memory * 1024}</memory>" in wiz.xml_view.toPlainText())


def test_unknown_and_broken_isos_say_so(qtbot: Any, test_conn: Any, runner: Any, tmp_path: Path) -> None:
    wiz = qemu_wizard(qtbot, test_conn, runner)
    box = wiz.install_page.os_box
    iso = make_iso(tmp_path / "mine.iso", "HOLIDAY PHOTOS")
    wiz.install_page.iso.setText(str(iso))
    qtbot.waitUntil(lambda: "not in osinfo-db" in box.status.text(), timeout=20000)
    bad = tmp_path / "bad.iso"
    bad.write_bytes(b"x" * 70000)
    wiz.install_page.iso.setText(str(bad))
    qtbot.waitUntil(lambda: "Cannot identify" in box.status.text(), timeout=20000)
    assert "not an ISO 9660 image" in box.status.text()
    assert not box.apply_button.isEnabled()


def test_opening_the_wizard_does_not_load_the_os_list(qtbot: Any, test_conn: Any, runner: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import guiapp.backend.osinfo.db as dbmod
    fresh = OsInfoDb()
    monkeypatch.setattr(dbmod, "_default", fresh)
    t0 = time.perf_counter()
    wiz = qemu_wizard(qtbot, test_conn, runner)
    assert wiz.install_page.os_box.db is fresh
    assert not fresh.loaded, "the OS list must load on demand, on a worker thread"
    print(f"wizard open + kind + forward: {time.perf_counter() - t0:.3f}s without osinfo-db")
