"""Network install in the wizard: a tree URL detected on the pool, its OS's defaults applied, the install XML
previewed, errors readable, URL history kept; finishing fetches nothing to disk on a test connection and leaves
the final (disk-boot) definition for the next start."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gui_helpers import off_ui
from helpers.treeserver import TreeServer, make_debian_tree, make_treeinfo_tree
from wizard_helpers import TITLES, forward, open_wizard

from guiapp.backend import constants as C
from guiapp.backend.osinfo import default_db, os_defaults
from guiapp.views.wizard.netinstall_box import HISTORY_KEY

pytestmark = pytest.mark.skipif(not os.path.isdir("/usr/share/osinfo/os"), reason="osinfo-db not installed")


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeServer]:
    root = tmp_path_factory.mktemp("wiztrees")
    make_debian_tree(root / "debian", "bullseye", kernel=b"K" * 5000, initrd=b"I" * 3000)
    make_treeinfo_tree(root / "win", "Nosuch", "1", images=None)  # a tree of no known OS
    (root / "empty").mkdir()
    with TreeServer(root) as srv:
        yield srv


def url_wizard(qtbot: Any, conn: Any, runner: Any, **kw: Any) -> Any:
    wiz = open_wizard(qtbot, conn, runner, **kw)
    wiz.kind_page.select("qemu")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("url")
    return wiz


def detect(qtbot: Any, wiz: Any, url: str) -> Any:
    box = wiz.install_page.url_box
    box.url.setCurrentText(url)
    assert "Press Detect" in wiz.problem_text()
    box.detect_button.click()
    qtbot.waitUntil(lambda: not box.busy, timeout=30000)
    return box


def test_detected_tree_sets_os_defaults_and_install_xml(qtbot: Any, test_conn: Any, runner: Any,
                                                        trees: TreeServer, settings: Any) -> None:
    wiz = url_wizard(qtbot, test_conn, runner)
    wiz.install_page.url_box.load_history(settings)
    box = detect(qtbot, wiz, trees.url + "debian/dists/bullseye/main/installer-amd64/")
    assert box.status.text().startswith("Detected Debian 11 (x86_64)"), box.status.text()
    assert "offers i686 guests only" in box.status.text()  # the test driver's capabilities
    assert wiz.install_page.os_box.status.text() == "Detected Debian 11."
    d = os_defaults(default_db(), "debian11")
    host_mib = wiz.host.memory_mib
    assert wiz.resources_page.memory.value() == (min(d.memory_mib, host_mib) if host_mib else d.memory_mib)
    assert [ed.model.currentData() for ed in wiz.network_page.nics] == [d.nic_model] == ["virtio"]
    box.cmdline.setText("priority=critical auto=true")
    qtbot.waitUntil(lambda: "<cmdline>priority=critical auto=true</cmdline>" in wiz.xml_view.toPlainText())
    xml = wiz.xml_view.toPlainText()
    files = box.boot_files()
    assert files is not None and not files.write
    assert f"<kernel>{files.kernel_path}</kernel>" in xml and f"<initrd>{files.initrd_path}</initrd>" in xml
    assert "<boot dev='hd'/>" in xml and "<disk type='file' device='cdrom'>" not in xml
    assert wiz.problem_text() == ""
    box.cmdline.setText("quiet\n-kernel /etc/shadow")  # one QEMU argument, but no control characters in it
    assert "must not contain control characters" in wiz.problem_text() and not wiz.forward_button.isEnabled()
    box.cmdline.setText("priority=critical auto=true")
    assert wiz.problem_text() == ""
    assert settings.value(HISTORY_KEY) in ([box.url.currentText()], box.url.currentText())
    assert box.url.itemText(0) == trees.url + "debian/dists/bullseye/main/installer-amd64/"
    summary = dict(wiz.install_page.summary())
    assert "install tree " + trees.url + "debian/dists/bullseye/main/installer-amd64/" in summary["Install from"]
    box.url.setCurrentText(trees.url + "debian/dists/bullseye/")  # edited: the result is stale
    assert "Press Detect" in wiz.problem_text() and not wiz.forward_button.isEnabled()


@pytest.mark.parametrize(("path", "words"), [
    ("empty/", "is not an install tree"),
    ("ftp-is-not-http", "must start with http://, https:// or file://"),
])
def test_errors_are_readable_and_block_forward(qtbot: Any, test_conn: Any, runner: Any, trees: TreeServer,
                                               path: str, words: str) -> None:
    wiz = url_wizard(qtbot, test_conn, runner)
    box = detect(qtbot, wiz, trees.url + path if path.endswith("/") else path)
    assert words in box.status.text() and words in wiz.problem_text()
    assert box.status.text().startswith("Cannot use this tree:")
    assert not wiz.forward_button.isEnabled()


def test_unknown_os_still_installs_and_says_choose_by_name(qtbot: Any, test_conn: Any, runner: Any,
                                                           trees: TreeServer) -> None:
    wiz = url_wizard(qtbot, test_conn, runner)
    box = detect(qtbot, wiz, trees.url + "win/")
    assert "osinfo-db does not know" in box.status.text() and wiz.problem_text() == ""


def test_finish_on_a_test_connection_writes_nothing_and_defines_the_final_xml(
        qtbot: Any, test_conn: Any, runner: Any, trees: TreeServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    wiz = url_wizard(qtbot, test_conn, runner)
    detect(qtbot, wiz, trees.url + "debian/dists/bullseye/main/installer-amd64/")
    forward(wiz, TITLES[2])
    wiz.resources_page.memory.setValue(128)
    forward(wiz, TITLES[3])
    wiz.storage_page.set_mode("none")
    for t in TITLES[4:7]:
        forward(wiz, t)
    wiz.summary_page.name.setText("netinst")
    wiz.summary_page.start.setChecked(False)  # a network install runs its installer anyway
    with qtbot.waitSignal(wiz.created, timeout=20000):
        wiz.finish_button.click()
    assert wiz.result is not None and wiz.result.started
    dom = off_ui(lambda: test_conn.lookupByName("netinst"))
    live, config = off_ui(lambda: (dom.XMLDesc(0), dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)))
    assert "<kernel>" in live and "<on_reboot>destroy</on_reboot>" in live
    assert "<kernel>" not in config and "<on_reboot>restart</on_reboot>" in config
    assert list(tmp_path.iterdir()) == []  # nothing fetched to disk
    assert any(r.endswith("/amd64/initrd.gz") for r in trees.requests)  # but both files were read through


def choose_os(qtbot: Any, wiz: Any, short_id: str) -> Any:
    box = wiz.install_page.os_box
    qtbot.waitUntil(lambda: box.db.loaded or box.db.oses() is not None, timeout=30000)
    box.choose(default_db().get(short_id).id)
    box.apply()
    return box


def test_os_defaults_set_nic_model_and_uefi_on_a_test_connection(qtbot: Any, test_conn: Any,
                                                                 runner: Any) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    wiz.kind_page.select("qemu")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("network")  # PXE: a page without problems, so it is applied at once
    wiz.builder.set_platform("x86_64", None)  # osinfo-db: Windows 11 needs UEFI on x86_64 (the test host is i686)
    choose_os(qtbot, wiz, "win11")  # needs UEFI, e1000e (offered here as e1000)
    assert wiz.install_page.firmware_choice.currentData() == "efi"
    assert [ed.model.currentData() for ed in wiz.network_page.nics] == ["e1000"]
    qtbot.waitUntil(lambda: "<os firmware='efi'>" in wiz.xml_view.toPlainText())
    choose_os(qtbot, wiz, "debian11")
    assert wiz.install_page.firmware_choice.currentData() == "bios"
    assert [ed.model.currentData() for ed in wiz.network_page.nics] == ["e1000"]  # the user's choice stays
    qtbot.waitUntil(lambda: "<os>" in wiz.xml_view.toPlainText())


def test_uefi_on_qemu_needs_ovmf(qtbot: Any, qemu_conn: Any, runner: Any, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import guiapp.views.wizard.page_install as page_install
    monkeypatch.setattr(page_install, "host_ovmf", lambda: None)
    wiz = open_wizard(qtbot, qemu_conn, runner, uri="qemu:///session")
    wiz.kind_page.select("qemu")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("network")
    box = choose_os(qtbot, wiz, "win11")
    assert "This OS needs UEFI, but no OVMF firmware on this host (apt-get install ovmf)." in box.recommended.text()
    assert wiz.install_page.firmware_choice.currentData() == "bios"
    ovmf = tmp_path / "OVMF.fd"
    ovmf.write_bytes(b"\0" * 4096)
    monkeypatch.setattr(page_install, "host_ovmf", lambda: str(ovmf))
    wiz.install_page.kind_changed()
    choose_os(qtbot, wiz, "win11")
    assert wiz.install_page.firmware_choice.currentData() == "efi"
    assert wiz.install_page.loader.text() == str(ovmf)  # QEMU: -bios OVMF.fd, no firmware autoselection
    qtbot.waitUntil(lambda: f">{ovmf}</loader>" in wiz.xml_view.toPlainText())
    assert "firmware='efi'" not in wiz.xml_view.toPlainText()


def test_network_install_with_customize_keeps_the_install_run_for_begin(test_conn: Any, trees: TreeServer) -> None:
    """Customize before install with a network install: finishing defines the final XML and starts nothing; the
    install XML waits in Created for Begin Installation, which boots the installer once."""
    from guiapp.backend.osinfo.netinstall import plan_boot_files, start_domain
    from guiapp.backend.osinfo.tree import detect_tree
    from guiapp.views.wizard.finish import CreatePlan, run_create

    tree = detect_tree(default_db(), trees.url + "debian/dists/bullseye/", "x86_64")
    files = plan_boot_files("test:///default", tree.url, tree.kernel, tree.initrd)
    xml = ("<domain type='test'><name>netcust</name><memory unit='MiB'>128</memory>"
           "<os><type arch='i686'>hvm</type></os></domain>")
    made = off_ui(lambda: run_create(test_conn, CreatePlan("test:///default", "netcust", xml, start=True,
                                                           boot=files, customize=True)))
    assert not made.started and made.install_xml is not None
    assert f"<kernel>{files.kernel_path}</kernel>" in made.install_xml
    dom = off_ui(lambda: test_conn.lookupByName("netcust"))
    assert off_ui(dom.isActive) == 0
    assert "<kernel>" not in off_ui(lambda: dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE))
    off_ui(lambda: start_domain(test_conn, dom, made.install_xml))  # what Begin Installation does
    assert "<kernel>" in off_ui(lambda: dom.XMLDesc(0))
    assert "<kernel>" not in off_ui(lambda: dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE))  # next boot: the disk
