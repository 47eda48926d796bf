"""The console window against real QEMU guests: screen, keys, Send Key, resize, reconnect, password, viewer."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.vnc_qemu import VNCDO, needs_qemu, vncdo_capture
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from guiapp.views.console import ConsoleWindow, Scaling, open_console
from guiapp.views.console.external import SETTINGS_VIEWER, ViewerError, build_argv
from guiapp.views.console.widget import RELEASE_SHORTCUT
from guiapp.vnc.address import ConsoleTarget, VncAddress

qemu = needs_qemu  # decorator: marker "qemu" + skip without qemu-system-x86_64


def qimage_rgb(img: QImage) -> Image.Image:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    return Image.frombytes("RGB", (img.width(), img.height()), bytes(img.constBits())[: img.sizeInBytes()],
                           "raw", "RGB", img.bytesPerLine())


def console_for(qtbot: Any, vnc: str, **kw: Any) -> ConsoleWindow:
    win = ConsoleWindow(lambda: ConsoleTarget(VncAddress(path=vnc), False, "g"), title="g", **kw)
    qtbot.addWidget(win)
    win.show()
    win.start()
    return win


def wait_connected(qtbot: Any, win: ConsoleWindow, timeout: int = 10_000) -> None:
    qtbot.waitUntil(lambda: win.state == "connected" and win.client.proto.updates > 0, timeout=timeout)


@qemu
@pytest.mark.skipif(VNCDO is None, reason="vncdotool's vncdo command is not installed")
def test_widget_shows_what_vncdotool_captures(qtbot: Any, qemu_display: Any, tmp_path: Path) -> None:
    q = qemu_display(paused=True)
    win = console_for(qtbot, q.vnc)
    wait_connected(qtbot, win)
    win.set_scaling(Scaling.ONE_TO_ONE)
    fb = win.view.framebuffer_size()
    qtbot.waitUntil(lambda: win.view.width() >= fb.width() and win.view.height() >= fb.height(), timeout=3000)
    ref = Image.open(vncdo_capture(q.vnc, tmp_path / "ref.png")).convert("RGB")
    assert ref.getextrema()[0][1] > 0, "vncdotool should see QEMU's 'not initialized' text"

    def shown() -> Image.Image:
        return qimage_rgb(win.view.grab(win.view.target_rect().toRect()).toImage())

    qtbot.waitUntil(lambda: shown().tobytes() == ref.tobytes(), timeout=5000)
    assert shown().size == ref.size
    # fit: the whole guest screen scaled into the widget, aspect kept
    win.set_scaling(Scaling.FIT)
    win.resize(400, 400)
    qtbot.waitUntil(lambda: win.view.width() < 640, timeout=3000)
    t = win.view.target_rect()
    assert t.width() <= win.view.width() + 0.5 and abs(t.width() / t.height() - ref.size[0] / ref.size[1]) < 0.01
    gx, gy = win.view.to_guest(t.center())  # the pointer maps back to guest pixels
    assert abs(gx - ref.size[0] / 2) <= 2 and abs(gy - ref.size[1] / 2) <= 2
    assert win.view.to_guest(t.topLeft() - QPointF(50, 50)) == (0, 0)  # clamped


@qemu
def test_keys_reach_the_guest_and_grab_releases(qtbot: Any, qemu_display: Any, tiny_guest: tuple[str, str]) -> None:
    q = qemu_display(kernel=tiny_guest)
    q.serial.wait("GUIAPP-GUEST-READY")
    q.serial.write("(while read l; do echo \"GOT:$l\"; done) < /dev/tty1 &")
    win = console_for(qtbot, q.vnc)
    wait_connected(qtbot, win)
    view = win.view
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    assert view.grabbed and RELEASE_SHORTCUT in win.hint.text()
    QTest.keyClicks(view, "echo Hi-42")
    QTest.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "GOT:echo Hi-42" in q.serial.text, timeout=20_000)
    # Ctrl+Alt alone releases the grab
    QTest.keyPress(view, Qt.Key.Key_Control, Qt.KeyboardModifier.ControlModifier)
    QTest.keyPress(view, Qt.Key.Key_Alt, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    QTest.keyRelease(view, Qt.Key.Key_Alt, Qt.KeyboardModifier.ControlModifier)  # modifiers after the release
    assert not view.grabbed
    QTest.keyRelease(view, Qt.Key.Key_Control, Qt.KeyboardModifier.NoModifier)
    assert "Click" in win.hint.text()


@qemu
def test_send_key_ctrl_alt_del_reboots_and_console_follows(qtbot: Any, qemu_display: Any,
                                                           tiny_guest: tuple[str, str]) -> None:
    q = qemu_display(kernel=tiny_guest)
    q.serial.wait("GUIAPP-GUEST-READY")
    win = console_for(qtbot, q.vnc)
    wait_connected(qtbot, win)
    updates = win.client.proto.updates
    assert set(win.send_key_actions) >= {"Ctrl+Alt+Del", "Ctrl+Alt+Backspace", "Ctrl+Alt+F1", "Ctrl+Alt+F12",
                                         "PrintScreen"}
    win.send_key_actions["Ctrl+Alt+Del"].trigger()
    # busybox init reboots the guest; the console keeps processing its screens meanwhile
    qtbot.waitUntil(lambda: q.serial.text.count("GUIAPP-GUEST-READY") >= 2, timeout=40_000)
    qtbot.waitUntil(lambda: win.state == "connected" and win.view.framebuffer_size().width() == 720, timeout=10_000)
    assert win.client.proto.updates > updates  # the reboot's screens (firmware, then the guest) arrived
    assert win.connects == 1  # followed through the reboot on the same connection


@qemu
def test_resize_then_reconnect_after_qemu_restart(qtbot: Any, qemu_display: Any) -> None:
    q = qemu_display(paused=True)
    win = console_for(qtbot, q.vnc)
    wait_connected(qtbot, win)
    first = win.view.framebuffer_size()
    q.qmp.cmd("cont")
    qtbot.waitUntil(lambda: win.view.framebuffer_size() != first, timeout=10_000)
    assert (win.view.framebuffer_size().width(), win.view.framebuffer_size().height()) == (720, 400)
    q.stop()
    qtbot.waitUntil(lambda: win.state in ("disconnected", "resolving", "connecting"), timeout=5000)
    assert win.view.message
    qemu_display(paused=True)  # a new QEMU on the same socket path
    qtbot.waitUntil(lambda: win.connects == 2 and win.state == "connected", timeout=15_000)
    assert win.view.message == ""


@qemu
def test_password_prompt(qtbot: Any, qemu_display: Any) -> None:
    q = qemu_display(paused=True, password="pw123")
    win = console_for(qtbot, q.vnc)
    qtbot.waitUntil(lambda: win.password_dialog is not None, timeout=10_000)
    win.password_dialog.setTextValue("bad")
    win.password_dialog.accept()
    qtbot.waitUntil(lambda: win.password_dialog is not None, timeout=10_000)  # asked again after the failure
    win.password_dialog.setTextValue("pw123")
    win.password_dialog.accept()
    wait_connected(qtbot, win)
    assert win.client.image.width() > 0


@qemu
def test_open_close_many_times(qtbot: Any, qemu_display: Any) -> None:
    q = qemu_display(paused=True)
    fds_before = len(os.listdir("/proc/self/fd"))
    for _ in range(8):
        win = console_for(qtbot, q.vnc)
        wait_connected(qtbot, win)
        win.close()
        qtbot.wait(10)
    qtbot.waitUntil(lambda: len(os.listdir("/proc/self/fd")) <= fds_before + 2, timeout=5000)


@qemu
def test_screenshot_png(qtbot: Any, qemu_display: Any, tmp_path: Path) -> None:
    q = qemu_display(paused=True)
    win = console_for(qtbot, q.vnc)
    wait_connected(qtbot, win)
    out = tmp_path / "shot.png"
    win.save_screenshot(str(out))
    saved = Image.open(out).convert("RGB")
    assert saved.tobytes() == qimage_rgb(win.client.image).tobytes()
    with pytest.raises(OSError, match="writable"):
        win.save_screenshot(str(tmp_path / "missing" / "x.png"))


@qemu
def test_external_viewer_gets_the_address(qtbot: Any, qemu_display: Any, tmp_path: Path, settings: Any) -> None:
    q = qemu_display(paused=True)
    out = tmp_path / "argv.txt"
    script = tmp_path / "viewer.py"
    script.write_text(f"import sys\nopen({str(out)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n")
    settings.setValue(SETTINGS_VIEWER, f"{sys.executable} {script} --via {{address}}")
    win = console_for(qtbot, q.vnc, settings=settings)
    wait_connected(qtbot, win)
    assert win.open_external()
    qtbot.waitUntil(out.exists, timeout=10_000)
    qtbot.waitUntil(lambda: out.read_text() == f"--via\n{q.vnc}", timeout=5000)


def test_external_viewer_errors() -> None:
    with pytest.raises(ViewerError, match="has no host/port"):
        build_argv("vncviewer {host}:{port}", VncAddress(path="/s"))
    with pytest.raises(ViewerError, match="unknown placeholder"):
        build_argv("vncviewer {hots}", VncAddress(host="h", port=5900))
    with pytest.raises(ViewerError, match="not found"):
        build_argv("no-such-viewer-xyz {address}", VncAddress(host="h", port=5901))
    assert build_argv(f"{sys.executable} {{address}} {{display}}", VncAddress(host="h", port=5901))[1:] == ["h::5901",
                                                                                                          "1"]


@qemu
def test_open_console_through_the_qemu_driver(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              tiny_guest: tuple[str, str], ui_guard: None) -> None:
    """The main window's way: a JobRunner does the lookups; no driver call on the UI thread (ui_guard)."""
    from gui_helpers import drain, off_ui

    import guiapp.backend as libvirt
    from guiapp.jobs import JobRunner

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    (tmp_path / "run").mkdir()
    conn = off_ui(lambda: libvirt.open("qemu:///session"))
    xml = f"""<domain type='qemu'><name>con1</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{tiny_guest[0]}</kernel>
      <initrd>{tiny_guest[1]}</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
      <devices><serial type='pty'/><graphics type='vnc' port='-1'/></devices></domain>"""
    dom = off_ui(lambda: conn.createXML(xml, 0))
    uuid = dom.UUID()
    runner = JobRunner()
    try:
        key = ("qemu:///session", uuid)
        win = open_console(lambda: conn.lookupByUUID(uuid), runner=runner, key=key, title="con1")  # deletes on close
        wait_connected(qtbot, win)
        assert win.target is not None and win.target.address.is_unix  # local QEMU: the unix socket
        assert win.windowTitle().startswith("con1")
        assert open_console(lambda: conn.lookupByUUID(uuid), key=key) is win  # the same domain: same window
        win.close()
        off_ui(dom.destroy)
        win2 = open_console(lambda: conn.lookupByUUID(uuid), runner=runner, key=key, title="con1")
        # a transient domain is gone once destroyed: the console says so and stops retrying
        qtbot.waitUntil(lambda: win2.state == "gone" and "no longer exists" in win2.view.message, timeout=5000)
        assert win2.connects == 0 and win2.last_error and not win2.retry_timer.isActive()
        win2.close()
    finally:
        drain(runner)
        off_ui(lambda: [d.destroy() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)])
        off_ui(conn.close)


def test_no_vnc_graphics_is_explained_and_retried(qtbot: Any) -> None:
    from guiapp.vnc.address import NoConsoleError

    calls: list[int] = []

    def resolve() -> ConsoleTarget:
        calls.append(1)
        raise NoConsoleError("domain 'x' has no <graphics type='vnc'>; add one to get a graphical console")

    win = ConsoleWindow(resolve, title="x")
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: len(calls) >= 2, timeout=5000)  # keeps retrying (the guest may get one)
    assert "add one" in win.view.message and win.state in ("disconnected", "resolving")
    assert not win.act_send_key.isEnabled() and not win.act_screenshot.isEnabled()
    win.close()
    n = len(calls)
    qtbot.wait(600)
    assert len(calls) == n  # closed: no more retries


def test_full_screen_toggle(qtbot: Any) -> None:
    win = ConsoleWindow(lambda: ConsoleTarget(VncAddress(path="/nonexistent/x.vnc")), title="x")
    qtbot.addWidget(win)
    win.show()
    win.act_fullscreen.trigger()
    qtbot.waitUntil(win.isFullScreen, timeout=3000)
    win.act_fullscreen.trigger()
    qtbot.waitUntil(lambda: not win.isFullScreen(), timeout=3000)
