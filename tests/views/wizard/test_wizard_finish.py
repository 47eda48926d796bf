"""Finishing runs on the job pool with progress; a failing finish leaves nothing behind and says so."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from gui_helpers import off_ui
from wizard_helpers import TITLES, forward, open_wizard

import guiapp.backend as libvirt
from guiapp.views.wizard import NewVMWizard
from guiapp.views.wizard.finish import CreateError

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed")


def walk_to_summary(wiz: NewVMWizard, files: dict[str, str], disk: str, kind: str = "qemu") -> None:
    wiz.kind_page.select(kind)
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("kernel")
    wiz.install_page.kernel.setText(files["kernel"])
    wiz.install_page.initrd.setText(files["initrd"])
    forward(wiz, TITLES[2])
    wiz.resources_page.memory.setValue(128)
    forward(wiz, TITLES[3])
    wiz.storage_page.set_mode("new")
    wiz.storage_page.new_path.setText(disk)
    wiz.storage_page.new_size.setValue(0.01)
    for t in TITLES[4:7]:
        forward(wiz, t)


def names(conn: Any) -> set[str]:
    return off_ui(lambda: {d.name() for d in conn.listAllDomains(0)})


def wait_failed(qtbot: Any, wiz: NewVMWizard) -> CreateError:
    qtbot.waitUntil(lambda: wiz.last_error is not None or wiz.result is not None, timeout=10000)
    assert wiz.result is None
    exc = wiz.last_error
    assert isinstance(exc, CreateError)
    # the error dialog explains it; the wizard stays open for a fix
    assert wiz.error_dialog is not None and wiz.error_dialog.isVisible()
    assert str(exc) in wiz.error_dialog.text.toPlainText()
    assert wiz.isVisible() and not wiz.busy and wiz.finish_button.isEnabled()
    wiz.error_dialog.close()
    return exc


def test_success_reports_progress_on_the_pool(qtbot: Any, test_conn: Any, runner: Any,
                                              files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    disk = os.path.join(files["dir"], "ok.qcow2")
    walk_to_summary(wiz, files, disk)
    wiz.summary_page.name.setText("ok")
    wiz.summary_page.start.setChecked(True)
    seen: list[tuple[int, str]] = []
    runner.job_added.connect(lambda job: job.progressed.connect(lambda p, t: seen.append((p, t))))
    with qtbot.waitSignal(wiz.created, timeout=10000) as sig:
        wiz.finish_button.click()
    uri, uuid = sig.args
    assert uri == "test:///default" and len(uuid) == 16
    texts = [t for _p, t in seen]
    assert texts[0].startswith("Creating disk image") and "Defining ok" in texts and "Starting ok" in texts
    assert [p for p, _t in seen] == sorted(p for p, _t in seen) and seen[-1][0] == 100
    assert runner.history and runner.history[-1].title == "Create ok"
    assert os.path.exists(disk)
    assert off_ui(lambda: test_conn.lookupByName("ok").isActive()) == 1
    assert [v["op"] for v in off_ui(lambda: test_conn.lookupByName("ok").guiappConfigVersions())] == ["wizard"]
    assert not wiz.isVisible()


def test_define_failure_removes_the_new_disk(qtbot: Any, test_conn: Any, runner: Any,
                                             files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    disk = os.path.join(files["dir"], "clash.qcow2")
    walk_to_summary(wiz, files, disk)
    wiz.summary_page.name.setText("clash")
    assert wiz.finish_button.isEnabled()
    # someone else defines a guest with that name while the wizard is open
    other = "<domain type='test'><name>clash</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    off_ui(lambda: test_conn.defineXML(other))
    before = names(test_conn)
    wiz.finish_button.click()
    exc = wait_failed(qtbot, wiz)
    assert exc.step == "Defining clash"
    assert "already exists" in str(exc) and "Nothing was left behind" in str(exc) and f"{disk} deleted" in str(exc)
    assert exc.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
    assert not os.path.exists(disk)
    assert names(test_conn) == before
    assert off_ui(lambda: test_conn.lookupByName("clash").XMLDesc(0)).count("<disk") == 0  # still the other one


def test_disk_failure_defines_nothing(qtbot: Any, test_conn: Any, runner: Any, files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    sub = os.path.join(files["dir"], "gone")
    os.mkdir(sub)
    disk = os.path.join(sub, "d.qcow2")
    walk_to_summary(wiz, files, disk)
    wiz.summary_page.name.setText("nodisk")
    before = names(test_conn)
    # the folder vanishes after the wizard's last check, just before qemu-img runs
    runner.job_submitted.connect(lambda job: os.rmdir(sub) if job.title == "Create nodisk" else None)
    wiz.finish_button.click()
    exc = wait_failed(qtbot, wiz)
    assert exc.step.startswith("Creating disk image") and "cannot create disk image" in str(exc)
    assert "Nothing was left behind" in str(exc)
    assert not os.path.exists(disk)
    assert names(test_conn) == before


def test_file_appearing_meanwhile_is_not_touched(qtbot: Any, test_conn: Any, runner: Any,
                                                 files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    disk = os.path.join(files["dir"], "theirs.qcow2")
    walk_to_summary(wiz, files, disk)
    wiz.summary_page.name.setText("theirs")

    def someone_else(job: Any) -> None:
        if job.title == "Create theirs":
            with open(disk, "wb") as f:
                f.write(b"not ours")
    runner.job_submitted.connect(someone_else)
    wiz.finish_button.click()
    exc = wait_failed(qtbot, wiz)
    assert "already exists; it was not overwritten" in str(exc) and "Nothing was left behind" in str(exc)
    with open(disk, "rb") as f:
        assert f.read() == b"not ours"
    assert "theirs" not in names(test_conn)


def test_start_failure_undefines_and_removes_disk(qtbot: Any, qemu_conn: Any, runner: Any,
                                                  files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, qemu_conn, runner, uri="qemu:///session")
    assert wiz.host is not None and wiz.host.driver_type == "QEMU"
    disk = os.path.join(files["dir"], "nostart.qcow2")
    walk_to_summary(wiz, files, disk)
    wiz.summary_page.name.setText("nostart")
    wiz.summary_page.start.setChecked(True)
    # the kernel disappears after the wizard's last check
    runner.job_submitted.connect(lambda job: os.unlink(files["kernel"]) if job.title == "Create nostart" else None)
    wiz.finish_button.click()
    exc = wait_failed(qtbot, wiz)
    assert exc.step == "Starting nostart"
    assert "definition of 'nostart' removed" in str(exc) and f"{disk} deleted" in str(exc)
    assert not os.path.exists(disk)
    assert "nostart" not in names(qemu_conn)
    cfg = os.path.join(os.environ["XDG_CONFIG_HOME"], "guiapp", "qemu", "nostart.xml")
    assert not os.path.exists(cfg)


def test_create_error_names_what_remains() -> None:
    err = CreateError(RuntimeError("boom"), "Starting x", ["the disk image /x.img (Permission denied)"], [])
    assert str(err) == ("Starting x failed: boom\nThese were left behind and must be removed by hand: "
                        "the disk image /x.img (Permission denied).")
    assert err.get_error_code() is None
