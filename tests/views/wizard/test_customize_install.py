"""Customize configuration before install (issue 16): the wizard defines, the VM window's hardware pages edit,
Begin Installation starts, Cancel Installation deletes the domain and the storage the wizard made."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gui_helpers import off_ui
from helpers import real_libvirt
from PySide6.QtWidgets import QMessageBox
from shiboken6 import isValid
from wizard_helpers import TITLES, forward

import guiapp.backend as libvirt
from guiapp.backend.osinfo.netinstall import start_domain
from guiapp.models.api import STATE_RUNNING
from guiapp.views.wizard import open_new_vm_wizard
from guiapp.views.wizard.finish import Created, DiskPlan, cancel_install

URI = "test:///default"


@pytest.fixture
def main(qtbot: Any, window: Any) -> Iterator[Any]:
    """The main window with test:///default open (its default-pool takes the wizard's disk)."""
    window.manager.add(URI)
    qtbot.waitUntil(lambda: window.model.domain_count() == 1, timeout=5000)
    yield window
    for vm in list(getattr(window, "vm_windows", {}).values()):
        if vm.customizer is not None:
            vm.customizer.outcome = "kept"  # the test is over: no question at close
        vm.close()


def create_customized(qtbot: Any, main: Any, name: str) -> Any:
    """Walk the wizard with "Customize configuration before install" checked; returns the VM window."""
    wiz = open_new_vm_wizard(main)
    qtbot.waitUntil(lambda: wiz.host is not None, timeout=5000)
    wiz.kind_page.select("qemu")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("network")
    forward(wiz, TITLES[2])
    forward(wiz, TITLES[3])
    assert wiz.storage_page.chosen_pool() is not None
    wiz.storage_page.new_size.setValue(0.01)
    for t in TITLES[4:7]:
        forward(wiz, t)
    wiz.summary_page.name.setText(name)
    wiz.summary_page.start.setChecked(True)
    wiz.summary_page.customize.setChecked(True)
    assert not wiz.summary_page.start.isEnabled()  # Begin Installation starts it, not Create
    wiz.finish_button.click()
    qtbot.waitUntil(lambda: getattr(main, "customize_window", None) is not None, timeout=10000)
    return main.customize_window


def dom_of(main: Any, name: str) -> Any:
    conn = main.manager.conn(URI)
    return off_ui(lambda: conn.lookupByName(name))


def volumes(main: Any) -> list[str]:
    conn = main.manager.conn(URI)
    return off_ui(lambda: conn.storagePoolLookupByName("default-pool").listVolumes())


def test_customize_edit_then_begin(qtbot: Any, main: Any) -> None:
    vm = create_customized(qtbot, main, "custom1")
    dom = dom_of(main, "custom1")
    assert off_ui(dom.isActive) == 0  # defined, not started
    assert volumes(main) == ["custom1.qcow2"]
    # the VM window, on the Details › Hardware pages, with the Installation bar
    assert vm.isVisible() and vm.current_page() == "details"
    assert vm.details.tabs.currentWidget() is vm.details.hardware
    assert vm.customizer is not None and vm.customizer.bar.isVisible()
    assert "customize before install" in vm.windowTitle()
    # a hardware edit through the same pages (a defineXML job)
    qtbot.waitUntil(lambda: vm.details.loaded, timeout=10000)
    hw = vm.details.hardware
    hw.list.setCurrentRow(next(r for r in range(hw.list.count()) if hw.list.item(r).text() == "CPUs"))
    vm.details.vcpus.setValue(2)
    vm.details.resources_apply.click()
    qtbot.waitUntil(lambda: vm.details.resources_note.text() != "", timeout=10000)
    assert ">2</vcpu>" in off_ui(lambda: dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert off_ui(dom.isActive) == 0
    # a device form edited but not applied: Begin says so and starts nothing
    hw.list.setCurrentRow(next(r for r in range(hw.list.count()) if hw.list.item(r).text().startswith("Disk")))
    hw.form.path.setText("/default-pool/other.img")
    assert hw.apply_button.isEnabled()
    vm.customizer.begin_button.click()
    assert "Apply or revert" in vm.customizer.text.text() and off_ui(dom.isActive) == 0
    hw.revert_button.click()
    # Begin Installation: running, with the edit; the window shows the console
    vm.customizer.begin_button.click()
    qtbot.waitUntil(lambda: vm.customizer is None, timeout=10000)
    assert off_ui(lambda: dom.state()[0]) == STATE_RUNNING
    assert ">2</vcpu>" in off_ui(lambda: dom.XMLDesc(0))  # started with the edit
    assert vm.current_page() == "console" and "customize" not in vm.windowTitle()
    qtbot.waitUntil(lambda: vm.console.console is not None, timeout=10000)  # the console follows the state
    vm.close()  # begun: no question
    qtbot.waitUntil(lambda: not main.vm_windows, timeout=5000)


def test_cancel_installation_asks_then_deletes_domain_and_volume(qtbot: Any, main: Any) -> None:
    vm = create_customized(qtbot, main, "custom2")
    assert volumes(main) == ["custom2.qcow2"]
    c = vm.customizer
    c.cancel_button.click()
    box = c.box
    assert isinstance(box, QMessageBox) and box.isVisible() and "/default-pool/custom2.qcow2" in box.text()
    box.button(QMessageBox.StandardButton.No).click()  # keep customizing: nothing removed
    assert dom_of(main, "custom2") is not None and vm.isVisible()
    c.cancel_button.click()
    c.box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not main.vm_windows, timeout=10000)  # the window closes
    with pytest.raises(libvirt.libvirtError) as e:
        dom_of(main, "custom2")
    assert e.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    assert volumes(main) == []
    assert not main.error_dialogs


def test_closing_before_begin_asks(qtbot: Any, main: Any) -> None:
    vm = create_customized(qtbot, main, "custom3")
    vm.close()
    box = vm.customizer.box
    assert isinstance(box, QMessageBox) and box.isVisible() and "custom3" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()  # stay
    assert vm.isVisible() and vm.customizer is not None
    vm.close()
    keep = next(b for b in vm.customizer.box.buttons() if "Keep" in b.text())
    keep.click()
    qtbot.waitUntil(lambda: not main.vm_windows, timeout=5000)
    assert off_ui(dom_of(main, "custom3").isActive) == 0  # kept, defined and not started
    assert volumes(main) == ["custom3.qcow2"]
    vm = main.open_vm_window(URI, off_ui(dom_of(main, "custom3").UUID))
    assert vm.customizer is None  # kept: an ordinary VM window from now on


def test_quit_while_customizing_asks_like_closing_the_window(qtbot: Any, main: Any) -> None:
    """Ctrl+Q with a new guest still being customized asks (cancel installation / keep it / stay) before quitting."""
    vm = create_customized(qtbot, main, "custom6")
    keeper = off_ui(lambda: libvirt.open(URI))  # test:///default is shared while a connection holds it open
    main.act_quit.trigger()
    box = vm.customizer.box
    assert isinstance(box, QMessageBox) and box.isVisible() and "custom6" in box.text()
    assert main.isVisible() and vm.isVisible()  # nothing closed before the answer
    box.button(QMessageBox.StandardButton.Cancel).click()  # stay: Quit is called off
    qtbot.wait(50)
    assert main.isVisible() and vm.isVisible() and vm.customizer is not None
    main.close()  # closing the manager is a Quit too: it asks the same
    assert main.isVisible() and vm.customizer.box is not box and vm.customizer.box.isVisible()
    keep = next(b for b in vm.customizer.box.buttons() if "Keep" in b.text())
    keep.click()  # kept: the VM window closes and Quit goes on
    qtbot.waitUntil(lambda: not main.isVisible(), timeout=5000)
    assert not isValid(vm) or not vm.isVisible()  # closed (and deleted once events ran)
    try:
        assert "custom6" in off_ui(lambda: [d.name() for d in keeper.listAllDomains(0)])  # kept, defined
    finally:
        off_ui(keeper.close)


def test_quit_while_customizing_can_cancel_the_installation_then_quits(qtbot: Any, main: Any) -> None:
    vm = create_customized(qtbot, main, "custom7")
    keeper = off_ui(lambda: libvirt.open(URI))
    assert "custom7" in off_ui(lambda: [d.name() for d in keeper.listAllDomains(0)])
    main.act_quit.trigger()
    delete = next(b for b in vm.customizer.box.buttons() if "Cancel Installation" in b.text().replace("&", ""))
    delete.click()
    qtbot.waitUntil(lambda: not main.isVisible(), timeout=10000)
    assert not isValid(vm) or not vm.isVisible()
    try:
        assert "custom7" not in off_ui(lambda: [d.name() for d in keeper.listAllDomains(0)])  # deleted
    finally:
        off_ui(keeper.close)


def test_run_while_customizing_is_begin_installation(qtbot: Any, main: Any) -> None:
    vm = create_customized(qtbot, main, "custom5")
    qtbot.waitUntil(lambda: vm.power["start"].isEnabled(), timeout=5000)  # listed, shut off
    vm.power["start"].trigger()
    qtbot.waitUntil(lambda: vm.customizer is None, timeout=10000)
    assert off_ui(lambda: dom_of(main, "custom5").state()[0]) == STATE_RUNNING
    assert vm.current_page() == "console"


def test_closing_and_cancelling_deletes(qtbot: Any, main: Any) -> None:
    vm = create_customized(qtbot, main, "custom4")
    vm.close()
    delete = next(b for b in vm.customizer.box.buttons() if "Cancel Installation" in b.text().replace("&", ""))
    delete.click()
    qtbot.waitUntil(lambda: not main.vm_windows, timeout=10000)
    assert volumes(main) == []
    assert "custom4" not in off_ui(lambda: [d.name() for d in main.manager.conn(URI).listAllDomains(0)])


INSTALL_OS = ("<os><type>hvm</type><kernel>/srv/tree/linux</kernel><initrd>/srv/tree/initrd.gz</initrd>"
              "<cmdline>auto=true</cmdline><boot dev='cdrom'/></os><on_reboot>destroy</on_reboot>")
FINAL = ("<domain type='test'><name>{}</name><memory unit='MiB'>64</memory><os><type>hvm</type>"
         "<boot dev='hd'/></os><devices/></domain>")


def _run_install(lv: Any, conn: Any, name: str) -> tuple[Any, str, str]:
    dom = conn.defineXML(FINAL.format(name))
    install = FINAL.format(name).replace("<os><type>hvm</type><boot dev='hd'/></os>", INSTALL_OS)
    start_domain(conn, dom, install)
    return dom.isActive(), dom.XMLDesc(0), dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)


def test_begin_with_an_install_config_boots_it_once_like_libvirt() -> None:
    """The install run boots the kernel; the definition stays the final one — same on Debian's libvirt."""
    real = real_libvirt()
    rconn = real.open("test:///default")
    gconn = libvirt.open("test:///default")
    try:
        for lv, conn in ((real, rconn), (libvirt, gconn)):
            active, live, inactive = _run_install(lv, conn, "inst")
            assert active == 1, lv
            assert "<kernel>/srv/tree/linux</kernel>" in live and "<on_reboot>destroy" in live, lv
            assert "<kernel>" not in inactive and "<boot dev='hd'/>" in inactive, lv
    finally:
        rconn.close()
        gconn.close()


def test_cancel_install_removes_only_what_the_wizard_made(test_conn: Any) -> None:
    pool = off_ui(lambda: test_conn.storagePoolLookupByName("default-pool"))
    vol = "<volume><name>{}</name><capacity unit='M'>1</capacity></volume>"
    off_ui(lambda: pool.createXML(vol.format("made.img"), 0))
    off_ui(lambda: pool.createXML(vol.format("theirs.img"), 0))
    dom = off_ui(lambda: test_conn.defineXML(FINAL.format("cx")))
    created = Created("cx", off_ui(dom.UUID), False, [DiskPlan("/default-pool/made.img", "raw", 1 << 20,
                                                               pool="default-pool")])
    cleaned = off_ui(lambda: cancel_install(test_conn, URI, created))
    assert any("removed" in c for c in cleaned) and any("made.img" in c for c in cleaned)
    assert off_ui(pool.listVolumes) == ["theirs.img"]
    assert "cx" not in off_ui(lambda: [d.name() for d in test_conn.listAllDomains(0)])
