"""The New-VM wizard's preview pane: the domain XML as built so far and its native form (the QEMU command
line, exact from the connection when it can give it, or xl.cfg), scrolled to what the current page edits;
a native form the driver refuses keeps Create disabled (a mixin of :class:`.wizard.NewVMWizard`)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QPushButton, QTabWidget

from guiapp.backend.errors import DriverError
from guiapp.backend.xml.builder import DomainBuilder
from guiapp.backend.xml.domain import parse_domain

from ...backend.preview import format_argv, native_text, native_title
from .base import Problem, WizardPage
from .hostinfo import HostInfo

if TYPE_CHECKING:
    from .page_summary import XmlPage

    _Base = QDialog
else:
    _Base = object


def _mono() -> QFont:
    f = QFont("monospace")
    f.setStyleHint(QFont.StyleHint.Monospace)
    return f


class WizardPreview(_Base):
    """Builds and refreshes the preview tabs; the wizard provides the pages, the builder and the host."""

    pages: list[WizardPage]
    index: int
    xml_page: XmlPage
    builder: DomainBuilder
    host: Optional[HostInfo]
    runner: Any
    uri: Optional[str]
    busy: bool
    preview_problem: str
    _preview_gen: int
    finish_button: QPushButton
    problem_label: QLabel

    if TYPE_CHECKING:
        @property
        def conn(self) -> Any: ...
        def _next_index(self) -> Optional[int]: ...
        def page_problems(self, page: Optional[WizardPage] = None) -> list[Problem]: ...

    def _build_preview(self) -> None:
        self.preview = QTabWidget()
        self.preview.setObjectName("preview")
        self.xml_view = QPlainTextEdit()
        self.xml_view.setObjectName("xmlPreview")
        self.native_view = QPlainTextEdit()
        self.native_view.setObjectName("nativePreview")
        for v in (self.xml_view, self.native_view):
            v.setReadOnly(True)
            v.setFont(_mono())
        self.xml_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.preview.addTab(self.xml_view, "Domain XML")
        self.preview.addTab(self.native_view, "QEMU command line")
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(200)
        self._preview_timer.timeout.connect(self._exact_command_line)

    def _set_preview(self, text: str) -> None:
        """Show the native preview; one that says the definition cannot run keeps Create disabled."""
        self.native_view.setPlainText(text)
        marker = "# This definition cannot run as it is:\n# "
        problem = text[len(marker):].strip() if text.startswith(marker) else ""
        if problem != self.preview_problem:
            self.preview_problem = problem
            self._apply_preview_problem()

    def _apply_preview_problem(self) -> None:
        if not self.preview_problem or self.busy or self._next_index() is not None:
            return
        if self.page_problems(self.pages[self.index]):
            return  # the page's own problems are shown already
        self.finish_button.setEnabled(False)
        title = self.preview.tabText(1).split(" (")[0]
        self.problem_label.setText(f"Create is disabled: the {title} cannot be produced — {self.preview_problem}")

    def _update_preview(self) -> None:
        page = self.pages[self.index]
        if page is self.xml_page:
            text = self.xml_page.text()
            try:
                defn = parse_domain(text, hypervisor=self.builder.kind.domain_type)
            except DriverError:
                defn = None
        else:
            defn = self.builder.defn
            text = self.builder.xml(secure=True)
        if self.xml_view.toPlainText() != text:
            self.xml_view.setPlainText(text)
            self._scroll_preview(page.anchor)
        if defn is None:
            self.native_view.setPlainText("# fix the XML first")
            self.preview_problem = ""
            return
        title = native_title(defn) or "Native configuration"
        emulated = self.host is not None and any(o.emulated for o in self.host.kinds)
        if emulated:
            title += " (as its driver would run it)"
        self.preview.setTabText(1, title)
        if self.host is not None and self.host.qemu_argv and defn.type in ("qemu", "kvm"):
            self._pending_xml = defn.to_xml(secure=False)
            self._preview_timer.start()
        else:
            self._set_preview(native_text(defn, self.host.bridges if self.host is not None else None))

    def _scroll_preview(self, anchor: str) -> None:
        """Show the part of the document the current page edits."""
        if not anchor:
            return
        pos = self.xml_view.toPlainText().find(anchor)
        if pos < 0:
            return
        bar = self.xml_view.verticalScrollBar()
        bar.setValue(bar.maximum())  # so that the anchor ends up near the top
        cursor = self.xml_view.textCursor()
        cursor.setPosition(pos)
        self.xml_view.setTextCursor(cursor)
        self.xml_view.ensureCursorVisible()

    def _exact_command_line(self) -> None:
        """Ask the QEMU connection for the exact argv (real paths) on the pool: virConnectDomainXMLToNative."""
        conn = self.conn
        if conn is None or self.host is None or not self.host.qemu_argv:
            return
        xml = self._pending_xml
        self._preview_gen += 1
        gen = self._preview_gen

        def shown(argv: list[str]) -> None:
            if gen == self._preview_gen:
                self._set_preview(format_argv(argv))

        def failed(exc: BaseException) -> None:
            if gen == self._preview_gen:
                self._set_preview(f"# This definition cannot run as it is:\n# {exc}\n")

        self.runner.submit("QEMU command line", lambda: shlex.split(conn.domainXMLToNative("qemu-argv", xml, 0)),
                           on_result=shown, on_error=failed, uri=self.uri or "",
                           owner=self)
