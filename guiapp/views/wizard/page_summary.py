"""Page 7: summary — name, UUID, start when created, edit the XML first; page 8: the XML editor."""

from __future__ import annotations

import html
import uuid as _uuid
from typing import TYPE_CHECKING

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import parse_domain

from . import checks
from .base import Problem, WizardPage, note

if TYPE_CHECKING:
    from .wizard import NewVMWizard


class SummaryPage(WizardPage):
    title = "Summary"
    subtitle = "Name the virtual machine and check the choices."
    anchor = "<name>"

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__(wizard)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName("vmName")
        form.addRow("&Name:", self.name)
        urow = QHBoxLayout()
        self.uuid = QLineEdit()
        self.uuid.setObjectName("vmUuid")
        self.uuid.setPlaceholderText("generated")
        self.new_uuid = QPushButton("Generate")
        self.new_uuid.clicked.connect(lambda: self.uuid.setText(str(_uuid.uuid4())))
        urow.addWidget(self.uuid, 1)
        urow.addWidget(self.new_uuid)
        form.addRow("UUID:", urow)
        lay.addLayout(form)
        self.table = QLabel()
        self.table.setObjectName("summaryTable")
        self.table.setWordWrap(True)
        lay.addWidget(self.table)
        self.start = QCheckBox("&Start the virtual machine when it is created")
        self.start.setObjectName("startCheck")
        self.customize = QCheckBox("C&ustomize configuration before install")
        self.customize.setObjectName("customizeCheck")
        self.customize.setToolTip("Create defines the virtual machine without starting it and opens its window on "
                                  "the hardware pages; Begin Installation there starts it")
        self.edit_xml = QCheckBox("&Edit the XML before creating")
        self.edit_xml.setObjectName("editXmlCheck")
        lay.addWidget(self.start)
        lay.addWidget(self.customize)
        lay.addWidget(self.edit_xml)
        self.customize.toggled.connect(self._customize_toggled)
        lay.addStretch(1)
        self.name.textChanged.connect(self.emit_changed)
        self.uuid.textChanged.connect(self.emit_changed)
        self.edit_xml.toggled.connect(self.emit_changed)

    def _customize_toggled(self, on: bool) -> None:
        """Customizing starts the VM from its window (Begin Installation), not on Create."""
        self.start.setEnabled(not on)
        self.start.setToolTip("Begin Installation in the VM window starts it" if on else "")
        self.emit_changed()

    def starts_now(self) -> bool:
        """Whether Create also starts the virtual machine."""
        return self.start.isChecked() and not self.customize.isChecked()

    def default_name(self) -> str:
        taken = self.host.domain_names if self.host else set()
        base = self.builder.kind.key.replace("xen-", "xen")
        n = 1
        while f"{base}-vm{n}" in taken:
            n += 1
        return f"{base}-vm{n}"

    def enter(self) -> None:
        self.fill_table()

    def fill_table(self) -> None:
        """The other pages' choices (rebuilt after a rename: the suggested disk file follows the name)."""
        rows = []
        for page in self.wizard.pages:
            if page is self or not page.applies():
                continue
            rows.extend(page.summary())
        self.table.setText("<table cellspacing='4'>" + "".join(
            f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows) + "</table>")

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        taken = self.host.domain_names if self.host else set()
        msg = checks.check_name(self.name.text(), taken)
        if msg:
            out.append((self.name, msg))
        msg = checks.check_uuid(self.uuid.text())
        if msg:
            out.append((self.uuid, msg))
        return out

    def apply(self) -> None:
        self.builder.set_name(self.name.text())
        if self.uuid.text().strip():
            self.builder.set_uuid(self.uuid.text())
        self.wizard.storage_page.follow_name()
        self.fill_table()


class XmlPage(WizardPage):
    title = "Edit the XML"
    subtitle = "The definition that will be created; it is checked as you type."

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__(wizard)
        lay = QVBoxLayout(self)
        lay.addWidget(note("Changes made here are used as they are; going Back discards them."))
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("xmlEditor")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.editor.setFont(mono)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        lay.addWidget(self.editor, 1)
        self.editor.textChanged.connect(self.emit_changed)

    def applies(self) -> bool:
        return self.wizard.summary_page.edit_xml.isChecked()

    def enter(self) -> None:
        self.editor.setPlainText(self.builder.xml(secure=False))

    def problems(self) -> list[Problem]:
        text = self.editor.toPlainText()
        try:
            d = parse_domain(text, hypervisor=self.builder.kind.domain_type)
        except DriverError as exc:
            return [(self.editor, f"The XML is not a valid definition: {exc}")]
        taken = self.host.domain_names if self.host else set()
        msg = checks.check_name(d.name, taken)
        if msg:
            return [(self.editor, msg)]
        return []

    def text(self) -> str:
        return self.editor.toPlainText()
