"""Invalid input on each page keeps Forward disabled with the right inline message (no popups)."""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

import pytest
from gui_helpers import off_ui
from wizard_helpers import TITLES, forward, open_wizard, set_nic

import guiapp.backend as libvirt
from guiapp.views.wizard import NewVMWizard


def blocked(wiz: NewVMWizard, text: str) -> None:
    """Forward (or Create) is disabled and the inline message says ``text``."""
    assert not wiz.forward_button.isEnabled() and not wiz.finish_button.isEnabled()
    assert text in wiz.problem_text(), wiz.problem_text()


def open_ok(wiz: NewVMWizard) -> None:
    assert wiz.forward_button.isEnabled() or wiz.finish_button.isEnabled(), wiz.problem_text()
    assert wiz.problem_text() == ""


def to_page(wiz: NewVMWizard, files: dict[str, str], title: str, kind: str = "qemu") -> None:
    """Walk to page ``title`` with valid input everywhere before it."""
    wiz.kind_page.select(kind)
    forward(wiz, TITLES[1])
    if title == TITLES[1]:
        return
    if kind == "xen-pv":
        wiz.install_page.kernel.setText(files["kernel"])
    else:
        wiz.install_page.set_method("network")
    for t in TITLES[2:]:
        forward(wiz, t)
        if t == TITLES[3]:
            wiz.storage_page.set_mode("none")
        if t == title:
            return


def test_read_only_connection_cannot_create(qtbot: Any, runner: Any, ui_guard: None) -> None:
    conn = off_ui(lambda: libvirt.openReadOnly("test:///default"))
    try:
        wiz = open_wizard(qtbot, conn, runner)
        blocked(wiz, "open read-only")
    finally:
        off_ui(conn.close)


def test_install_page_files(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[1])
    ip = wiz.install_page
    blocked(wiz, "Choose the installation ISO.")
    ip.iso.setText(files["iso"] + ".missing")
    blocked(wiz, f"The installation ISO {files['iso']}.missing does not exist.")
    ip.iso.setText(files["dir"])
    blocked(wiz, "is a directory")
    ip.iso.setText("relative.iso")
    blocked(wiz, "must be absolute")
    ip.iso.setText(files["iso"])
    open_ok(wiz)
    ip.set_method("import")
    blocked(wiz, "Choose the disk image.")
    ip.set_method("kernel")
    ip.kernel.setText(files["kernel"])
    ip.initrd.setText("/nonexistent/initrd")
    blocked(wiz, "The initrd /nonexistent/initrd does not exist.")
    ip.initrd.setText("")
    open_ok(wiz)
    ip.loader.setText("/nonexistent/OVMF.fd")
    blocked(wiz, "The firmware loader /nonexistent/OVMF.fd does not exist.")
    ip.loader.setText("")
    open_ok(wiz)


def test_install_page_xen(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[1], kind="xen-pv")
    blocked(wiz, "Choose the kernel.")
    assert not wiz.install_page.method_box.isVisibleTo(wiz)
    wiz.back_button.click()
    wiz.kind_page.select("xen-hvm")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("network")
    open_ok(wiz)
    wiz.install_page.loader.setText("")
    blocked(wiz, "Xen HVM guests need a firmware loader")


def test_resources_bounded_by_host(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[2])
    rp = wiz.resources_page
    rp.memory.setValue(4096)  # the test node has 3072 MiB
    blocked(wiz, "4096 MiB is more than the host's 3072 MiB of memory.")
    rp.memory.setValue(0)
    blocked(wiz, "at least 1 MiB")
    rp.memory.setValue(1024)
    open_ok(wiz)
    rp.vcpus.setValue(17)  # 16 host CPUs
    blocked(wiz, "17 vCPUs is more than the host's 16 CPUs.")
    rp.vcpus.setValue(16)
    open_ok(wiz)
    # nothing invalid reached the document
    assert wiz.builder.defn.memory_kib == 1024 * 1024 and wiz.builder.defn.vcpus == 16


def test_storage_page(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[3])
    sp = wiz.storage_page
    sp.set_mode("new")
    sp.new_path.setText(files["image"])
    blocked(wiz, "already exists; choose another file name")
    sp.new_path.setText("/nonexistent-dir/disk.qcow2")
    blocked(wiz, "The folder /nonexistent-dir does not exist.")
    sp.new_path.setText(os.path.join(files["dir"], "new.qcow2"))
    sp.new_size.setValue(0)
    blocked(wiz, "The disk size must be greater than 0.")
    sp.new_size.setValue(1)
    open_ok(wiz)
    sp.set_mode("existing")
    sp.existing_path.setText("/nonexistent.img")
    blocked(wiz, "The disk /nonexistent.img does not exist.")
    sp.existing_path.setText(files["image"])
    open_ok(wiz)
    row = sp.add_extra("cdrom", "/nonexistent.iso")
    blocked(wiz, "extra CD-ROM drive 1 /nonexistent.iso does not exist")
    sp.remove_extra(row)
    open_ok(wiz)


@pytest.mark.parametrize("setup, message", [
    (dict(mode="user", mac="52:54:00:zz:00:01"), "'52:54:00:zz:00:01' is not a MAC address"),
    (dict(mode="user", mac="01:54:00:00:00:01"), "01:54:00:00:00:01 is a multicast MAC address"),
    (dict(mode="mcast", address="10.0.0.1"), "10.0.0.1 is outside the multicast range 224.0.0.0/4"),
    (dict(mode="mcast", address="230.0.0.1", port=70000), "The multicast port 70000 is out of range: use 1-65535."),
    (dict(mode="server", address="bad host!", port=5558), "'bad host!' is neither an IP address nor a valid host name"),
    (dict(mode="client", address="10.0.0.2", port=0), "The TCP tunnel port 0 is out of range"),
    (dict(mode="bridge", bridge="br 0"), "'br 0' is not a valid bridge name"),
    (dict(mode="bridge", bridge=""), "Enter the bridge name."),
    (dict(mode="ethernet", script="/nonexistent/ifup"), "The network script /nonexistent/ifup does not exist."),
    (dict(mode="network", network=""), "Choose or type the virtual network."),
])
def test_network_page(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str], setup: dict[str, Any],
                      message: str) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[4])
    ed = wiz.network_page.nics[0]
    set_nic(ed, **setup)
    blocked(wiz, "Interface 1: " + message)
    set_nic(ed, mode="user")
    ed.mac_auto.setChecked(True)
    open_ok(wiz)


def test_network_duplicate_mac(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[4])
    np_ = wiz.network_page
    set_nic(np_.nics[0], "user", mac="52:54:00:00:00:01")
    set_nic(np_.add_nic(), "user", mac="52:54:00:00:00:01")
    blocked(wiz, "Interface 2: The MAC address 52:54:00:00:00:01 is used twice")
    np_.remove_nic(np_.nics[1])
    open_ok(wiz)
    assert len(wiz.builder.defn.interfaces) == 1


def test_display_page(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[5])
    dp = wiz.display_page
    dp.port_auto.setChecked(False)
    dp.port.setValue(5000)
    blocked(wiz, "The VNC port 5000 is out of range: use 5900-65535.")
    dp.port.setValue(5901)
    dp.listen.setText("localhost:1")
    blocked(wiz, "is not an IP address")
    dp.listen.setText("0.0.0.0")
    dp.passwd.setText("123456789")
    blocked(wiz, "at most 8")
    dp.passwd.setText("12345678")
    open_ok(wiz)


def test_summary_name_and_uuid(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[6])
    sp = wiz.summary_page
    sp.name.setText("test")  # test:///default's own domain
    blocked(wiz, "A virtual machine named 'test' already exists on this connection")
    sp.name.setText("my vm")
    blocked(wiz, "(not ' ')")
    sp.name.setText("")
    blocked(wiz, "Enter a name")
    sp.name.setText("-vm")
    blocked(wiz, "must start with a letter or a digit")
    sp.name.setText("vm-ok")
    sp.uuid.setText("not-a-uuid")
    blocked(wiz, "'not-a-uuid' is not a UUID")
    sp.uuid.setText("4dea24b31d52d8f32516782e98a23fa0")
    open_ok(wiz)
    assert wiz.builder.defn.uuid_str == "4dea24b3-1d52-d8f3-2516-782e98a23fa0"
    assert wiz.builder.name == "vm-ok"


def test_edit_xml_page(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[6])
    wiz.summary_page.name.setText("edited")
    assert wiz.finish_button.isVisible() and not wiz.forward_button.isVisible()
    wiz.summary_page.edit_xml.setChecked(True)
    assert wiz.forward_button.isVisible() and not wiz.finish_button.isVisible()
    forward(wiz, TITLES[7])
    ed = wiz.xml_page.editor
    good = ed.toPlainText()
    assert "<name>edited</name>" in good
    ed.setPlainText(good.replace("</name>", "</nam>"))
    blocked(wiz, "The XML is not a valid definition")
    ed.setPlainText(good.replace("<name>edited</name>", "<name>test</name>"))
    blocked(wiz, "named 'test' already exists")
    assert re.search(r"<vcpu[^>]*>1</vcpu>", good)  # placement='static' is filled in as libvirt does
    ed.setPlainText(re.sub(r"<vcpu([^>]*)>1</vcpu>", r"<vcpu\1>3</vcpu>", good))
    open_ok(wiz)
    wiz.finish_button.click()
    qtbot.waitUntil(lambda: wiz.result is not None, timeout=5000)
    xml = off_ui(lambda: test_conn.lookupByName("edited").XMLDesc(0))
    assert re.search(r"<vcpu[^>]*>3</vcpu>", xml)


def test_no_popups_for_typos(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    from PySide6.QtWidgets import QApplication, QDialog
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[4])
    set_nic(wiz.network_page.nics[0], "mcast", address="1.2.3.4")
    wiz.forward_button.click()  # disabled: nothing happens
    assert wiz.current_page().title == TITLES[4]
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible() and w is not wiz]
    assert dialogs == []
    # the offending field is marked, with the message as its tooltip
    assert "outside the multicast range" in wiz.network_page.nics[0].mcast_addr.toolTip()


def test_create_rechecks_every_page(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    """A file that vanished since its page was checked sends the user back there instead of failing later."""
    wiz = open_wizard(qtbot, test_conn, runner)
    wiz.kind_page.select("qemu")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("kernel")
    wiz.install_page.kernel.setText(files["kernel"])
    for t in TITLES[2:7]:
        forward(wiz, t)
        if t == TITLES[3]:
            wiz.storage_page.set_mode("none")
    wiz.summary_page.name.setText("recheck")
    os.unlink(files["kernel"])
    wiz.finish_button.click()
    assert wiz.current_page().title == TITLES[1]
    blocked(wiz, "does not exist")
    assert wiz.result is None and wiz.last_error is None


def test_networks_come_from_the_connection_and_disk_follows_name(qtbot: Any, test_conn: Any, runner: Any,
                                                                 files: dict[str, str], tmp_path: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    wiz = open_wizard(qtbot, test_conn, runner)
    assert wiz.host is not None and wiz.host.networks == ["default"]
    wiz.kind_page.select("kvm")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("network")
    forward(wiz, TITLES[2])
    forward(wiz, TITLES[3])
    from guiapp.views.wizard.page_storage import test_image_dir
    # a test connection keeps nothing in the user's folders: the new disk is a volume of the test driver's
    # default-pool (in memory, preselected), or with a custom path an image in a temporary folder (issue 16/18)
    sp = wiz.storage_page
    assert sp.location.currentData() == "default-pool"
    suggested = "/default-pool/kvm-vm1.qcow2"
    assert sp.new_path.text() == suggested
    sp.location.setCurrentIndex(sp.location.findData(""))  # a file path of my choice
    assert sp.new_path.text() == os.path.join(test_image_dir(), "kvm-vm1.qcow2")
    assert test_image_dir().startswith(tempfile.gettempdir()) and str(os.getpid()) in test_image_dir()
    sp.location.setCurrentIndex(sp.location.findData("default-pool"))
    assert sp.new_path.text() == suggested
    open_ok(wiz)
    forward(wiz, TITLES[4])
    ed = wiz.network_page.nics[0]
    ed.set_mode("network")
    assert [ed.network.itemText(i) for i in range(ed.network.count())] == ["default"]
    assert "Networks of this connection" in ed.network_note.text()
    for t in TITLES[5:7]:
        forward(wiz, t)
    wiz.summary_page.name.setText("renamed")
    renamed = suggested.replace("kvm-vm1", "renamed")
    assert sp.new_path.text() == renamed
    assert any(d.source == renamed for d in wiz.builder.defn.disks)
    assert "volume renamed.qcow2 in pool default-pool" in wiz.summary_page.table.text()
    wiz.finish_button.click()
    qtbot.waitUntil(lambda: wiz.result is not None, timeout=5000)
    vol = off_ui(lambda: test_conn.storageVolLookupByPath(renamed))
    assert off_ui(lambda: (vol.name(), vol.info()[1])) == ("renamed.qcow2", 10 << 30)
    assert not os.path.exists(renamed)  # in memory: nothing on disk
    assert not (tmp_path / "data").exists()


def test_create_is_disabled_while_the_native_preview_cannot_be_produced(qtbot: Any, test_conn: Any, runner: Any,
                                                                       files: dict[str, str]) -> None:
    """Issue 16: the xl.cfg tab saying 'cannot run as it is' keeps Create disabled, with the reason."""
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[6], kind="xen-hvm")
    wiz.summary_page.name.setText("xen-user-net")
    wiz.summary_page.edit_xml.setChecked(True)
    forward(wiz, TITLES[7])
    ed = wiz.xml_page.editor
    good = ed.toPlainText()
    assert "type=\"bridge\"" in good or "type='bridge'" in good
    open_ok(wiz)
    assert wiz.preview_problem == ""
    ed.setPlainText(good.replace("type=\"bridge\"", "type=\"user\"").replace("type='bridge'", "type='user'"))
    qtbot.waitUntil(lambda: not wiz.finish_button.isEnabled(), timeout=3000)
    assert "cannot run as it is" in wiz.native_view.toPlainText()
    assert "Create is disabled: the xl.cfg cannot be produced" in wiz.problem_text()
    assert "user" in wiz.preview_problem
    ed.setPlainText(good)
    qtbot.waitUntil(lambda: wiz.finish_button.isEnabled(), timeout=3000)
    assert wiz.problem_text() == "" and wiz.preview_problem == ""


def test_summary_follows_a_rename(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    """Issue 16 item 8: the summary showed the old disk file name after the guest was renamed."""
    wiz = open_wizard(qtbot, test_conn, runner)
    to_page(wiz, files, TITLES[3])
    wiz.storage_page.set_mode("new")
    wiz.storage_page.new_size.setValue(0.01)
    for t in TITLES[4:7]:
        forward(wiz, t)
    old = os.path.basename(wiz.storage_page.new_path.text())
    assert old in wiz.summary_page.table.text()
    wiz.summary_page.name.setText("renamed-guest")
    assert "renamed-guest" in wiz.storage_page.new_path.text()
    assert old not in wiz.summary_page.table.text()
    assert "renamed-guest" in wiz.summary_page.table.text()
