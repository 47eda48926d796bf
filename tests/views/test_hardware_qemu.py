"""From the VM window's hardware pages, hotplug a disk into the running tiny guest (QEMU, TCG) and see it inside."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gui_helpers import off_ui
from helpers import load_module
from helpers.tinyguest import tiny_guest  # noqa: F401 - fixture
from lxml import etree

import guiapp.backend as libvirt
from guiapp.views.details.hwapply import MESSAGES, NOW

qt = load_module("backend/drivers/qemu/qemu_testlib.py", "qemu_testlib")
xdg = qt.xdg  # fixture: private XDG dirs; no QEMU may be left running under them


@pytest.fixture
def conn(xdg: Path, ui_guard: None) -> Iterator[Any]:
    """A qemu:///session connection opened and cleaned up off the UI thread (the guard watches it)."""
    c = off_ui(lambda: libvirt.open("qemu:///session"))
    yield c

    def cleanup() -> None:
        for d in c.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                d.destroy()
            except libvirt.libvirtError:
                pass
        c.close()
    off_ui(cleanup)

pytestmark = [pytest.mark.qemu, pytest.mark.slow, qt.needs_qemu]


def ask(dom: Any, xdg_dir: Path, name: str, command: str, tag: str) -> str:
    """``command``'s output in the guest, read back from its serial console log."""
    before = qt.console_text(xdg_dir, name).count(f"{tag}-END")
    qt.type_on_console(dom, f"echo {tag}-BEGIN $({command}) {tag}-END")
    qt.wait_for(lambda: qt.console_text(xdg_dir, name).count(f"{tag}-END") > before + 1, 20, f"{tag} on the console")
    text = qt.console_text(xdg_dir, name)
    return text[text.rindex(f"{tag}-BEGIN") + len(tag) + 6:text.rindex(f"{tag}-END")].strip()


def test_add_disk_from_the_vm_window_hotplugs_it_into_the_guest(qtbot: Any, window: Any, conn: Any, xdg: Path,
                                                                   tiny_guest: tuple[str, str],  # noqa: F811
                                                                   tmp_path: Path) -> None:
    kernel, initrd = tiny_guest
    img = tmp_path / "data.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(img), "4M"], check=True)
    dom = off_ui(lambda: conn.defineXML(qt.guest_xml("gui-hp", kernel, initrd)))
    off_ui(dom.create)
    off_ui(lambda: qt.wait_console(xdg, "gui-hp"))
    window.manager.add("qemu:///session")
    qtbot.waitUntil(lambda: window.model.domain_count() == 1, timeout=10000)
    row = window.model.connection("qemu:///session").rows[0]
    vm = window.open_vm_window("qemu:///session", row.uuid, "details")
    d = vm.details
    qtbot.waitUntil(lambda: d.loaded, timeout=10000)
    d.tabs.setCurrentWidget(d.hardware)
    hw = d.hardware
    hw.add_button.click()
    dlg = hw.add_dialog
    dlg.set_kind("disk")
    qtbot.waitUntil(lambda: not dlg.disk_new.isEnabled() or dlg.pool.count() > 0, timeout=5000)
    dlg.disk_file.setChecked(True)
    dlg.disk_path.setText(str(img))
    dlg.disk_bus.setCurrentText("virtio")
    assert dlg.finish.isEnabled(), dlg.problem_label.text()
    dlg.finish.click()
    qtbot.waitUntil(lambda: MESSAGES[NOW] in hw.note.text() or "not applied" in hw.note.text(), timeout=30000)
    assert MESSAGES[NOW] in hw.note.text(), hw.note.text()
    # the guest sees a virtio disk; the live and persistent definitions both have it
    qt.wait_for(lambda: "vda" in off_ui(lambda: ask(dom, xdg, "gui-hp", "ls /sys/block", "BLK")), 30,
                "the disk in the guest")
    for flags in (0, 2):
        root = etree.fromstring(off_ui(lambda f=flags: dom.XMLDesc(f)).encode())
        assert str(img) in [s.get("file") for s in root.iterfind("devices/disk/source")]
    qtbot.waitUntil(lambda: any(hw.list.item(r).text().startswith("Disk vda") for r in range(hw.list.count())),
                    timeout=10000)
    # Remove (confirmed) unplugs it again
    for r in range(hw.list.count()):
        if hw.list.item(r).text().startswith("Disk vda"):
            hw.list.setCurrentRow(r)
    hw.remove_button.click()
    from PySide6.QtWidgets import QMessageBox
    hw.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: "Remove Disk vda" in hw.note.text() and "…" not in hw.note.text(), timeout=30000)
    assert MESSAGES[NOW] in hw.note.text(), hw.note.text()
    qt.wait_for(lambda: "vda" not in off_ui(lambda: ask(dom, xdg, "gui-hp", "ls /sys/block", "BLK")), 30,
                "the disk gone in the guest")
    vm.close()
    off_ui(dom.destroy)
