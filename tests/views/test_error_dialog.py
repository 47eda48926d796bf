"""The error dialog: every field of a real libvirtError, selectable text, Copy, non-modal."""

from __future__ import annotations

from typing import Any

import pytest
from gui_helpers import off_ui
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

import guiapp.backend as libvirt
from guiapp.views.errors import ErrorReport, show_error


@pytest.fixture
def no_domain_error(ui_guard: None) -> libvirt.libvirtError:
    conn = off_ui(lambda: libvirt.open("test:///default"))
    try:
        with pytest.raises(libvirt.libvirtError) as info:
            off_ui(lambda: conn.lookupByName("no-such-domain"))
    finally:
        off_ui(conn.close)
    return info.value


def test_dialog_shows_every_field_and_copies(qtbot: Any, no_domain_error: libvirt.libvirtError) -> None:
    dialog = show_error(None, no_domain_error, operation="virDomainLookupByName", uri="test:///default")
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and not dialog.isModal()
    assert dialog.windowModality() == Qt.WindowModality.NonModal
    text = dialog.text.toPlainText()
    assert no_domain_error.get_error_message() in text
    assert "Code: VIR_ERR_NO_DOMAIN (42)" in text
    assert "Error domain: VIR_FROM_TEST (12)" in text
    assert "Connection: test:///default" in text and "Operation: virDomainLookupByName" in text
    assert dialog.text.isReadOnly()
    assert dialog.text.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    QGuiApplication.clipboard().clear()
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == text


def test_report_of_a_plain_exception_keeps_its_traceback() -> None:
    exc = OSError("disk full")
    exc.__traceback_text__ = "Traceback: here"  # type: ignore[attr-defined]
    report = ErrorReport.from_exception(exc, operation="save")
    assert report.code is None and "disk full" in report.as_text() and "Traceback: here" in report.as_text()
    assert "Code:" not in report.as_text()


def test_dialog_shows_what_you_can_do_and_offers_the_safe_action(qtbot: Any, ui_guard: None) -> None:
    """A real 'domain not running' failure: the hint line, and a Start button that reports its action."""
    conn = off_ui(lambda: libvirt.open("test:///default"))
    try:
        dom = off_ui(lambda: conn.lookupByName("test"))
        off_ui(dom.destroy)
        with pytest.raises(libvirt.libvirtError) as info:
            off_ui(dom.shutdown)
    finally:
        off_ui(conn.close)
    asked: list[tuple[str, str]] = []
    plain = show_error(None, info.value, operation="virDomainShutdown")
    qtbot.addWidget(plain)
    assert plain.hint_label is not None and "What you can do:" in plain.hint_label.text()
    assert "Start it first" in plain.hint_label.text() and plain.action_button is None  # no handler: no button
    assert "What you can do: The domain is not running." in plain.text.toPlainText()
    dialog = show_error(None, info.value, operation="virDomainShutdown", on_action=lambda k, n: asked.append((k, n)))
    assert dialog.action_button is not None and dialog.action_button.text() == "Start 'test'"
    dialog.action_button.click()  # runs the action and closes (deletes) the dialog
    assert asked == [("start-domain", "test")]


def test_dialog_without_a_hint_has_no_hint_line(qtbot: Any, ui_guard: None) -> None:
    dialog = show_error(None, RuntimeError("something odd"))
    qtbot.addWidget(dialog)
    assert dialog.hint_label is None and dialog.action_button is None


def test_dialog_kept_in_a_window_list_until_it_is_destroyed(qtbot: Any, ui_guard: None) -> None:
    open_dialogs: list[Any] = []
    dialog = show_error(None, RuntimeError("first"), keep_in=open_dialogs)
    other = show_error(None, RuntimeError("second"), keep_in=open_dialogs)
    assert open_dialogs == [dialog, other]
    dialog.close()  # WA_DeleteOnClose: destroyed on the next event loop turn
    qtbot.waitUntil(lambda: open_dialogs == [other], timeout=5000)
    other.close()
    qtbot.waitUntil(lambda: open_dialogs == [], timeout=5000)


def test_main_window_error_runs_the_hint_action_on_its_connection(qtbot: Any, connected: tuple[Any, str]) -> None:
    """A shutdown of a shut-off domain fails in the manager; the dialog's Start button starts it (a job)."""
    win, uri = connected
    conn = win.manager.conn(uri)
    names = off_ui(lambda: [d.name() for d in conn.listAllDomains() if not d.isActive()])
    dom = off_ui(lambda: conn.lookupByName(names[0]))
    with pytest.raises(libvirt.libvirtError) as info:
        off_ui(dom.shutdown)
    dialog = win.show_error(info.value, operation=f"virDomainShutdown ('{names[0]}')", uri=uri)
    assert dialog.action_button is not None and dialog.action_button.text() == f"Start '{names[0]}'"
    dialog.action_button.click()
    qtbot.waitUntil(lambda: off_ui(dom.isActive) == 1, timeout=10000)
    no_conn = win.show_error(info.value, operation="virDomainShutdown", uri="test:///nowhere")
    assert no_conn.action_button is None  # no open connection to run it on: no button
