"""The serial console terminal: pyte screen in a QWidget, I/O through openConsole off the UI thread."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from gui_helpers import off_ui
from helpers.tinyguest import CMDLINE
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

import guiapp.backend as libvirt
from guiapp.jobs import JobRunner
from guiapp.views.console.terminal import SerialSession, TerminalWidget, color


@pytest.fixture
def runner(qtbot: Any) -> Iterator[JobRunner]:
    r = JobRunner()
    yield r
    r.wait(10_000)


def _session(qtbot: Any, dom: Any, runner: JobRunner) -> tuple[TerminalWidget, SerialSession]:
    term = TerminalWidget()
    qtbot.addWidget(term)
    session = SerialSession(dom, runner, parent=term)
    session.received.connect(term.feed)
    term.key_bytes.connect(session.send)
    with qtbot.waitSignal(session.opened, timeout=10_000):
        session.open()
    term.show()
    term.setFocus()
    return term, session


def test_keys_in_screen_text_out_on_the_echo_console(qtbot: Any, runner: JobRunner, ui_guard: None) -> None:
    conn = off_ui(lambda: libvirt.open("test:///default"))
    dom = off_ui(lambda: conn.lookupByName("test"))
    term, session = _session(qtbot, dom, runner)
    qtbot.keyClicks(term, "hello!")
    qtbot.waitUntil(lambda: term.text_lines()[0].startswith("hello!"), timeout=5000)
    qtbot.keyClick(term, Qt.Key.Key_Return)
    qtbot.keyClicks(term, "world")
    qtbot.waitUntil(lambda: term.text_lines()[0].startswith("world!"), timeout=5000)  # CR: back to column 0
    qtbot.keyClick(term, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)  # ^C reaches the guest as 0x03
    session.close()
    off_ui(conn.close)


def test_colours_scrollback_copy_paste(qtbot: Any) -> None:
    term = TerminalWidget(columns=40, lines=5)
    qtbot.addWidget(term)
    term.feed(b"\x1b[38;5;196mR\x1b[0m\x1b[48;5;21mB\x1b[0m\x1b[32mG\x1b[0m\r\n")
    row = term.vt.buffer[0]
    assert color(row[0].fg, term.palette().text().color()).name() == "#ff0000"  # 256-colour index 196
    assert color(row[1].bg, term.palette().base().color()).name() == "#0000ff"  # index 21
    assert color(row[2].fg, term.palette().text().color()).name() == "#00cd00"
    term.feed(b"".join(b"line %d\r\n" % i for i in range(50)))
    bottom = term.text()
    term.scroll_back()
    assert "line 49" in bottom and "line 49" not in term.text() and "line 43" in term.text()
    term.scroll_forward(10)
    assert term.text() == bottom
    term.select((0, 0), (0, 6))
    term.copy()
    assert QGuiApplication.clipboard().text() == term.text_lines()[0][:7].rstrip()
    sent: list[bytes] = []
    term.key_bytes.connect(sent.append)
    QGuiApplication.clipboard().setText("ls -l\nexit\n")
    term.paste()
    assert sent == [b"ls -l\rexit\r"]
    term.grab()  # paints without error


@pytest.mark.qemu
@pytest.mark.slow
def test_log_into_the_tiny_guest_from_the_widget(qtbot: Any, runner: JobRunner, tiny_guest: tuple[str, str],
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 ui_guard: None) -> None:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    (tmp_path / "run").mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    kernel, initrd = tiny_guest
    conn = off_ui(lambda: libvirt.open("qemu:///session"))
    xml = f"""<domain type='qemu'><name>termguest</name><memory unit='MiB'>128</memory>
      <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
      <cmdline>{CMDLINE}</cmdline></os><features><acpi/></features>
      <devices><serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial'/></console>
      </devices></domain>"""
    dom = off_ui(lambda: conn.createXML(xml, 0))
    try:
        term, session = _session(qtbot, dom, runner)
        deadline = time.monotonic() + 60
        while "W25" not in term.text():
            assert time.monotonic() < deadline, term.text()
            qtbot.keyClicks(term, "echo W$((5*5))")
            qtbot.keyClick(term, Qt.Key.Key_Return)
            end = time.monotonic() + 2  # QEMU notices a new pty reader within about a second
            while "W25" not in term.text() and time.monotonic() < end:
                qtbot.wait(50)
        session.close()
    finally:
        off_ui(dom.destroy)
        off_ui(conn.close)
