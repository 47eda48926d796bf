"""guiapp-virsh screenshot / send-key (vncdotool) on a qemu:///session guest, checked against the GUI console."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from gui_helpers import off_ui
from helpers.tinyguest import CMDLINE, READY_MARKER
from PIL import Image, ImageChops
from PySide6.QtGui import QImage

import guiapp.backend as libvirt
from guiapp.backend.cli_screen import keysym
from guiapp.views.console import Scaling, open_console

ROOT = Path(__file__).resolve().parents[3]
CLI = [sys.executable, "-m", "guiapp.backend.cli", "-c", "qemu:///session"]


def test_key_names_and_codesets() -> None:
    assert keysym("linux", "KEY_A") == ord("a") == keysym("linux", "30") == keysym("xt", "0x1e") == keysym("usb", "4")
    assert keysym("linux", "KEY_LEFTCTRL") == 0xFFE3 and keysym("linux", "KEY_DELETE") == 0xFFFF
    for bad, codeset in (("KEY_NOPE", "linux"), ("KEY_A", "xt"), ("99999", "linux"), ("1;reboot", "linux")):
        with pytest.raises(ValueError):
            keysym(codeset, bad)
    with pytest.raises(ValueError, match="unknown codeset"):
        keysym("ebcdic", "1")


@pytest.fixture
def session_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    (tmp_path / "run").mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    yield dict(os.environ, PYTHONPATH=str(ROOT))


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=env, timeout=120)


def _rgb(img: QImage) -> Image.Image:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    return Image.frombytes("RGB", (img.width(), img.height()), bytes(img.constBits())[: img.sizeInBytes()],
                           "raw", "RGB", img.bytesPerLine())


@pytest.mark.qemu
@pytest.mark.slow
def test_screenshot_matches_the_gui_console_and_send_key_reboots(qtbot: Any, session_env: dict[str, str],
                                                                  tiny_guest: tuple[str, str], tmp_path: Path,
                                                                  ui_guard: None) -> None:
    kernel, initrd = tiny_guest
    xml = f"""<domain type='qemu'><name>screen</name><memory unit='MiB'>128</memory>
      <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
      <cmdline>console=tty0 {CMDLINE}</cmdline></os><features><acpi/></features>
      <devices><serial type='pty'><target port='0'/></serial><graphics type='vnc'/><video><model type='vga'/></video>
      </devices></domain>"""
    conn = off_ui(lambda: libvirt.open("qemu:///session"))
    dom = off_ui(lambda: conn.createXML(xml, 0))
    try:
        log = next(Path(session_env["XDG_RUNTIME_DIR"]).glob("guiapp/qemu/*/console.log"))
        deadline = time.monotonic() + 60
        while READY_MARKER not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the guest did not boot"
            time.sleep(0.2)
        time.sleep(1)  # let the VGA text settle
        shot = tmp_path / "cli.png"
        out = _cli(session_env, "screenshot", "screen", str(shot))
        assert out.returncode == 0, out.stderr
        assert f"Screenshot saved to {shot}, with type of image/png" in out.stdout
        cli_img = Image.open(shot).convert("RGB")
        assert cli_img.getextrema()[0][1] > 0, "the guest's screen has text"

        win = open_console(dom, title="screen")
        try:
            qtbot.waitUntil(lambda: win.state == "connected" and win.client.proto.updates > 0, timeout=15_000)
            win.set_scaling(Scaling.ONE_TO_ONE)

            def differing() -> float:
                gui = _rgb(win.screenshot())
                if gui.size != cli_img.size:
                    return 1.0
                diff = ImageChops.difference(gui, cli_img).convert("L").point(lambda v: 255 if v else 0)
                return sum(diff.histogram()[255:]) / (gui.size[0] * gui.size[1])
            # the same guest screen; only the blinking text cursor may differ
            qtbot.waitUntil(lambda: differing() < 0.002, timeout=10_000)
        finally:
            win.close()

        out = _cli(session_env, "send-key", "screen", "--holdtime", "100", "KEY_LEFTCTRL", "KEY_LEFTALT", "KEY_DELETE")
        assert out.returncode == 0, out.stderr
        deadline = time.monotonic() + 60
        while log.read_text(errors="replace").count(READY_MARKER) < 2:  # ctrl-alt-del: busybox init reboots
            assert time.monotonic() < deadline, "send-key ctrl-alt-delete did not reboot the guest"
            time.sleep(0.2)
        bad = _cli(session_env, "send-key", "screen", "KEY_NOPE")
        assert bad.returncode == 1 and "error: invalid keycode: 'KEY_NOPE'" in bad.stderr
    finally:
        off_ui(dom.destroy)
        off_ui(conn.close)
