#!/usr/bin/env python3
"""Render the main window (100 domains), the New-VM wizard, the details window, the VM window (console,
hardware, Add Hardware, customize before install; 1280×800) and a console to PNGs in artifacts/.

Run ``python3 tools/screenshots.py``: without a $DISPLAY it re-runs itself under
``xvfb-run`` (Debian packages xvfb, libxcb-icccm4, libxcb-keysyms1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _wait(app: object, cond: object, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def main() -> int:
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        if shutil.which("xvfb-run") is None:
            print("no $DISPLAY and no xvfb-run: apt-get install xvfb libxcb-icccm4 libxcb-keysyms1", file=sys.stderr)
            return 2
        return subprocess.call(["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", sys.executable, *sys.argv])
    out = ROOT / "artifacts"
    out.mkdir(exist_ok=True)
    from PySide6.QtWidgets import QApplication

    from guiapp.jobs import install_ui_thread_guard, ui_thread_violations
    from guiapp.models.api import silence_default_error_handler
    from guiapp.models.demo import write_node
    from guiapp.views.main_window import MainWindow

    app = QApplication.instance() or QApplication(["guiapp"])
    silence_default_error_handler()
    install_ui_thread_guard()
    tmp = Path(tempfile.mkdtemp(prefix="guiapp-shots-"))
    from guiapp.app import make_settings
    settings = make_settings(str(tmp / "settings.ini"))
    uri = write_node(tmp / "node.xml", 100, running=0.5, paused=5)
    win = MainWindow(settings)
    win.manager.set_interval(250)
    win.resize(1280, 800)
    win.show()
    win.manager.add(uri)
    _wait(app, lambda: win.model.domain_count() == 100)
    time.sleep(0.1)
    _wait(app, lambda: False, 3.0)  # a few ticks so the sparklines have points
    win.select_domain(uri, win.model.connections[0].rows[0].uuid)
    _wait(app, lambda: False, 0.3)
    win.grab().save(str(out / "main_window.png"))
    win.jobs_dock.show()
    win.filter_edit.setText("vm-00")
    _wait(app, lambda: False, 0.5)
    win.grab().save(str(out / "main_window_filtered.png"))
    win.filter_edit.setText("")
    win.jobs_dock.hide()
    shoot_preferences(app, win, out)
    shoot_top_levels(app, win, out)
    # a connection that fails, and one that drops under the poller: both show in their rows
    win.manager.add(f"test://{tmp / 'missing.xml'}")
    dropped = write_node(tmp / "dropped.xml", 3, prefix="gone")
    win.manager.add(dropped)
    _wait(app, lambda: win.model.domain_count() == 103)
    gone = win.manager.conn(dropped)
    win.runner.submit("drop", gone.close)
    _wait(app, lambda: "polling failed" in win.poll_status.text())
    for d in list(win.error_dialogs):
        d.close()
    win.view.scrollToTop()
    _wait(app, lambda: False, 0.3)
    win.grab().save(str(out / "main_window_errors.png"))
    win.view.setCurrentIndex(win.proxy.mapFromSource(win.model.connection_index(uri)))
    from guiapp.views.wizard import open_new_vm_wizard
    wiz = open_new_vm_wizard(win)
    wiz.resize(1280, 800)
    _wait(app, lambda: wiz.host is not None)
    _wait(app, lambda: False, 0.3)
    wiz.grab().save(str(out / "wizard_kind.png"))
    wiz.kind_page.select("xen-hvm")
    wiz.forward_button.click()
    wiz.install_page.set_method("network")
    for _ in range(3):
        wiz.forward_button.click()
        _wait(app, lambda: False, 0.2)
    wiz.grab().save(str(out / "wizard_network_xen.png"))
    wiz.close()
    row = win.model.connections[0].rows[0]
    details = win.open_details(uri, row.uuid)
    details.resize(1280, 800)
    _wait(app, lambda: details.loaded)
    _wait(app, lambda: False, 0.3)
    hw = details.hardware
    for name, tab, page in (("overview", 0, ""), ("performance", 1, ""), ("cpus", hw, "page:cpu"),
                            ("memory", hw, "page:memory"), ("boot", hw, "page:boot"),
                            ("hardware", hw, "first device"), ("xml", details.xml_tab, "")):
        if isinstance(tab, int):
            details.tabs.setCurrentIndex(tab)
        else:
            details.tabs.setCurrentWidget(tab)
        if page == "first device":
            hw.list.setCurrentRow(len(hw.pages))
        elif page:
            hw.select(page)
        _wait(app, lambda: False, 1.2 if name == "performance" else 0.2)
        details.grab().save(str(out / f"details_{name}.png"))
    details.xml_tab.editor.setPlainText(details.xml_tab.original.replace("</name>", "</nam>"))
    details.xml_tab.validate()
    _wait(app, lambda: False, 0.2)
    details.grab().save(str(out / "details_xml_invalid.png"))
    details.close()
    shoot_vm_window(app, out, win, uri)
    shoot_customize(app, out, win)
    from guiapp.views.errors import show_error
    conn = win.manager.conn(uri)
    errors: list = []
    win.runner.submit("lookup", lambda: conn.lookupByName("no-such-domain"), on_error=errors.append)
    _wait(app, lambda: bool(errors))
    dialog = show_error(win, errors[0], operation="virDomainLookupByName", uri=uri)
    _wait(app, lambda: False, 0.3)
    dialog.grab().save(str(out / "error_dialog.png"))
    dialog.close()
    # the console of a domain deleted meanwhile, at its default size (the whole toolbar fits)
    from guiapp.views.console import open_console
    gone_dom: list = []

    def define_and_delete() -> object:
        d = conn.defineXML("<domain type='test'><name>deleted-vm</name><memory unit='MiB'>64</memory>"
                           "<os><type>hvm</type></os></domain>")
        d.undefine()
        return d

    win.runner.submit("define and delete", define_and_delete, on_result=gone_dom.append)
    _wait(app, lambda: bool(gone_dom))
    short = gone_dom[0]
    console = open_console(short, title="deleted-vm")
    _wait(app, lambda: console.state == "gone")
    _wait(app, lambda: False, 0.3)
    console.grab().save(str(out / "console_deleted_domain.png"))
    console.close()
    win.close()
    shoot_thumbnails(app, out, tmp)
    print("wrote", ", ".join(sorted(p.name for p in out.glob("*.png"))))
    if ui_thread_violations():
        print("driver calls on the UI thread:", ui_thread_violations(), file=sys.stderr)
    return 0


def shoot_vm_window(app: object, out: Path, win: object, uri: str) -> None:
    """The VM window of a shut-off domain: details page on the Hardware tab, the Add Hardware dialog, snapshots."""
    row = next(r for r in win.model.connections[0].rows if r.state == 5)  # type: ignore[attr-defined]
    conn = win.manager.conn(uri)  # type: ignore[attr-defined]
    added: list = []
    win.runner.submit("add a serial port", lambda: conn.lookupByUUID(row.uuid).attachDeviceFlags(  # type: ignore
        "<serial type='pty'><target port='0'/></serial>", 2), on_result=added.append, on_error=added.append)
    _wait(app, lambda: bool(added))
    vm = win.open_vm_window(uri, row.uuid, "details")  # type: ignore[attr-defined]
    vm.resize(1280, 800)
    _wait(app, lambda: vm.details.loaded)
    vm.details.tabs.setCurrentWidget(vm.details.hardware)
    hw = vm.details.hardware
    hw.list.setCurrentRow(len(hw.pages))  # the first device, below CPUs, Memory, Boot Options
    hw.form.path.setText("relative/disk.img")  # the as-you-type check, Apply disabled
    _wait(app, lambda: False, 0.3)
    vm.grab().save(str(out / "vm_window_hardware.png"))
    hw.revert()
    serial = next((r for r in range(hw.list.count()) if hw.list.item(r).text().startswith("Serial")), -1)
    if serial >= 0:  # the serial form with a refused host name
        hw.list.setCurrentRow(serial)
        hw.form.kind.setCurrentIndex(hw.form.kind.findData("tcp"))
        hw.form.host.setText("host;reboot")
        _wait(app, lambda: False, 0.3)
        vm.grab().save(str(out / "vm_window_serial.png"))
        hw.revert()
    hw.open_add()
    dlg = hw.add_dialog
    _wait(app, lambda: dlg.pool.count() > 0 or not dlg.disk_new.isEnabled(), 5.0)
    _wait(app, lambda: False, 0.3)
    dlg.grab().save(str(out / "vm_window_add_hardware.png"))
    dlg.set_kind("nic")
    _wait(app, lambda: False, 0.2)
    dlg.grab().save(str(out / "vm_window_add_nic.png"))
    dlg.reject()
    vm.show_page("console")
    _wait(app, lambda: False, 0.3)
    vm.grab().save(str(out / "vm_window_console_off.png"))
    vm.close()


def shoot_customize(app: object, out: Path, win: object) -> None:
    """Customize configuration before install: the VM window of a new test:///default guest, then cancelled."""
    from guiapp.views.wizard import open_new_vm_wizard

    win.manager.add("test:///default")  # type: ignore[attr-defined]
    _wait(app, lambda: win.model.domain_count() == 101)  # type: ignore[attr-defined]
    wiz = open_new_vm_wizard(win)
    wiz.kind_page.connection.setCurrentIndex(max(0, wiz.kind_page.connection.findData("test:///default")))
    _wait(app, lambda: wiz.host is not None and wiz.uri == "test:///default")
    wiz.kind_page.select("qemu")
    wiz.forward_button.click()
    wiz.install_page.set_method("network")
    while wiz.forward_button.isVisible():
        if not wiz.forward_button.isEnabled():
            print("customize screenshot: wizard stuck:", wiz.problem_text(), file=sys.stderr)
            wiz.close()
            return
        wiz.forward_button.click()
        if wiz.current_page() is wiz.storage_page:
            wiz.storage_page.new_size.setValue(0.01)
    wiz.summary_page.name.setText("new-guest")
    wiz.summary_page.customize.setChecked(True)
    wiz.finish_button.click()
    _wait(app, lambda: getattr(win, "customize_window", None) is not None)
    vm = win.customize_window  # type: ignore[attr-defined]
    vm.resize(1280, 800)
    _wait(app, lambda: vm.details.loaded)
    _wait(app, lambda: False, 0.4)
    vm.grab().save(str(out / "vm_window_customize.png"))
    vm.customizer.cancel()  # undefine it and delete its volume (the question is answered)
    _wait(app, lambda: not vm.isVisible())


def shoot_preferences(app: object, win: object, out: Path) -> None:
    """Every tab of the Preferences dialog (closed without saving)."""
    dialog = win.open_preferences()  # type: ignore[attr-defined]
    dialog.resize(640, 480)
    for i in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(i)
        _wait(app, lambda: False, 0.2)
        name = dialog.tabs.tabText(i).replace("&", "").lower().replace(" ", "_")
        dialog.grab().save(str(out / f"preferences_{name}.png"))
    dialog.reject()


def shoot_top_levels(app: object, win: object, out: Path) -> None:
    """The Networks and Storage windows at 1280×800 (each closed afterwards)."""
    from PySide6.QtWidgets import QApplication

    for name, opener in (("networks", win.open_networks_window),  # type: ignore[attr-defined]
                         ("storage", win.open_storage_window)):  # type: ignore[attr-defined]
        before = set(QApplication.topLevelWidgets())
        opener()
        _wait(app, lambda: False, 1.0)
        for w in QApplication.topLevelWidgets():
            if w not in before and w.isVisible():
                w.resize(1280, 800)
                _wait(app, lambda: False, 0.5)
                w.grab().save(str(out / f"{name}_window.png"))
                w.close()


def shoot_thumbnails(app: object, out: Path, tmp: Path) -> None:
    """The Screen column: three running domains on real QEMU displays (firmware screens), one shut off."""
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        print("qemu-system-x86_64 not installed: no main_window_thumbnails.png", file=sys.stderr)
        return
    from guiapp.app import make_settings
    from guiapp.models.demo import domain_xml, node_xml
    from guiapp.views.main_window import MainWindow

    procs = []
    try:
        doms = []
        for i in range(3):
            sock = tmp / f"screen{i}.vnc"
            argv = [qemu, "-accel", "tcg", "-m", "32", "-nodefaults", "-no-user-config", "-vga", "std",
                    "-display", "none", "-vnc", f"unix:{sock}"] + (["-S"] if i == 2 else [])
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            doms.append(domain_xml(i, 1, prefix="guest").replace(
                "<graphics type='vnc' port='-1' autoport='yes'/>", f"<graphics type='vnc' socket='{sock}'/>"))
        doms.append(domain_xml(3, 5, prefix="guest"))
        doms.append(domain_xml(4, 1, prefix="guest"))  # test-driver VNC without a port: no screen to show
        node = tmp / "screens.xml"
        node.write_text(node_xml(0).replace("</node>", "".join(doms) + "</node>"))
        settings = make_settings(str(tmp / "screens.ini"))
        settings.setValue("thumbnails/interval_ms", 1000)
        win = MainWindow(settings)
        win.resize(1100, 420)
        win.show()
        win.manager.add(f"test://{node}")
        _wait(app, lambda: len(win.model.thumbnails) == 3, 20.0)
        _wait(app, lambda: False, 4.0)  # SeaBIOS has printed its messages; recaptured since
        win.grab().save(str(out / "main_window_thumbnails.png"))
        # the VM window of a guest with a real screen: its console page
        guest = next(r for r in win.model.connections[0].rows if r.name == "guest-000")
        vm = win.open_vm_window(f"test://{node}", guest.uuid)
        vm.resize(1280, 800)
        _wait(app, lambda: vm.console.console is not None and vm.console.console.state == "connected", 15.0)
        _wait(app, lambda: False, 1.0)
        vm.grab().save(str(out / "vm_window_console.png"))
        vm.close()
        win.close()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
