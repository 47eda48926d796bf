"""The snapshot thumbnail is the real screen of a qemu:///session guest with a VNC display (TCG)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from gui_helpers import off_ui
from helpers.tinyguest import CMDLINE, READY_MARKER, build_tiny_guest
from PySide6.QtGui import QImage

import guiapp.backend as libvirt
from guiapp.models import snapshot_thumbs


@pytest.mark.qemu
def test_capture_png_of_a_running_guest_and_none_when_off(qtbot: Any, tmp_path: Path,
                                                          monkeypatch: Any) -> None:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    (tmp_path / "run").mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    kernel, initrd = build_tiny_guest()
    xml = f"""<domain type='qemu'><name>thumb</name><memory unit='MiB'>128</memory>
      <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
      <cmdline>console=tty0 {CMDLINE}</cmdline></os><features><acpi/></features>
      <devices><serial type='pty'><target port='0'/></serial><graphics type='vnc'/><video><model type='vga'/></video>
      </devices></domain>"""
    conn = off_ui(lambda: libvirt.open("qemu:///session"))
    dom = off_ui(lambda: conn.defineXML(xml))
    try:
        off_ui(dom.create)
        log = next(Path(tmp_path / "run").glob("guiapp/qemu/*/console.log"))
        deadline = time.monotonic() + 60
        while READY_MARKER not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the guest did not boot"
            time.sleep(0.2)
        time.sleep(1)
        png = off_ui(lambda: snapshot_thumbs.capture_png(dom))
        assert png is not None and png.startswith(b"\x89PNG")
        img = QImage.fromData(png, "PNG")
        assert 0 < img.width() <= snapshot_thumbs.SIZE.width() and 0 < img.height() <= snapshot_thumbs.SIZE.height()
        assert any(img.pixelColor(x, y).lightness() > 60 for x in range(img.width()) for y in range(img.height())), \
            "the guest's text is on the thumbnail"
        off_ui(dom.destroy)
        assert off_ui(lambda: snapshot_thumbs.capture_png(dom)) is None  # no screen to show: no thumbnail
    finally:
        try:
            off_ui(dom.destroy)
        except libvirt.libvirtError:
            pass
        off_ui(dom.undefine)
        conn.close()
