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

import guiapp.backend as libvirt

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


def test_network_install_boots_the_fetched_installer_then_the_disk(qemu_conn: Any, tiny_guest: tuple[str, str],
                                                                   tmp_path: Path) -> None:
    """A Debian-like tree on a local HTTP server serves the tiny guest as its installer: the create path of the
    wizard (run_create) fetches it into the images folder, boots it, keeps the disk-boot definition for later
    and removes the fetched files."""
    from helpers.treeserver import TreeServer, make_debian_tree

    from guiapp.backend.osinfo import default_db
    from guiapp.backend.osinfo.netinstall import plan_boot_files
    from guiapp.backend.osinfo.tree import detect_tree
    from guiapp.views.wizard.finish import CreatePlan, run_create

    kernel, initrd = (Path(p).read_bytes() for p in tiny_guest)
    make_debian_tree(tmp_path / "mirror", "bullseye", kernel=kernel, initrd=initrd)
    with TreeServer(tmp_path / "mirror") as srv:
        tree = detect_tree(default_db(), srv.url + "dists/bullseye/", "x86_64")
        files = plan_boot_files("qemu:///session", tree.url, tree.kernel, tree.initrd)
        xml = (f"<domain type='qemu'><name>netinst</name><memory unit='MiB'>128</memory>"
               f"<os><type arch='x86_64' machine='pc'>hvm</type><cmdline>{CMDLINE}</cmdline></os>"
               f"<features><acpi/><apic/></features><devices><serial type='pty'/></devices></domain>")
        t0 = time.monotonic()
        made = off_ui(lambda: run_create(qemu_conn, CreatePlan("qemu:///session", "netinst", xml, boot=files)))
    t1 = time.monotonic()
    assert made.started and files.write
    assert Path(files.kernel_path).parent == Path(os.environ["XDG_DATA_HOME"]) / "guiapp" / "images" / "boot"
    assert not os.path.exists(files.kernel_path) and not os.path.exists(files.initrd_path)  # QEMU has them
    dom = off_ui(lambda: qemu_conn.lookupByName("netinst"))
    log = Path(os.environ["XDG_RUNTIME_DIR"]) / "guiapp" / "qemu" / dom.UUIDString().replace("-", "") / "console.log"
    deadline = time.monotonic() + 60  # a loaded CI machine
    text = ""
    while time.monotonic() < deadline and READY_MARKER not in text:
        time.sleep(0.2)
        text = log.read_text(errors="replace") if log.exists() else ""
    assert READY_MARKER in text, text[-2000:]
    print(f"network install: created and started in {t1 - t0:.1f} s, guest ready {time.monotonic() - t1:.1f} s later")
    live = off_ui(lambda: dom.XMLDesc(0))
    config = off_ui(lambda: dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert files.kernel_path in live and "<on_reboot>destroy</on_reboot>" in live
    assert "<kernel>" not in config and "<cmdline>" not in config
    off_ui(dom.destroy)
    assert "<kernel>" not in off_ui(lambda: dom.XMLDesc(0))  # the next start boots from disk
