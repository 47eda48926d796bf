"""The XML tab: edit the definition, validate (error line shown inline), show the diff, apply via defineXML."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Optional

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ...models.api import error_code_name
from ..confirm import confirm

_LINE = re.compile(r"\((?:[a-z_]+)\):(\d+):|line (\d+)")


def validate_xml(text: str, hypervisor: Optional[str] = None) -> tuple[bool, str, Optional[int]]:
    """(ok, message, line) for a domain definition, with the XML model's checks (no driver call)."""
    from guiapp.backend.errors import DriverError
    from guiapp.backend.xml.domain import parse_domain

    try:
        parse_domain(text, hypervisor=hypervisor)
    except DriverError as exc:
        message = str(exc)
        m = _LINE.search(message)
        line = int(m.group(1) or m.group(2)) if m else None
        if m and m.start() == 0 and m.group(1):
            message = message[m.end():].lstrip()  # "(domain_definition):2: ..." -> shown as "Line 2: ..."
        return False, f"{message}\n[{error_code_name(exc.code)} ({exc.code})]", line
    except Exception as exc:  # the model should only raise DriverError; still never crash the tab
        return False, f"{type(exc).__name__}: {exc}", getattr(exc, "lineno", None)
    return True, "", None


def unified_diff(old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 "current definition", "edited definition")
    return "".join(lines)


class DiffDialog(QDialog):
    """Shows what an XML change does before it is applied; emits ``confirmed``."""

    confirmed = Signal()

    def __init__(self, diff: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("diffDialog")
        self.setWindowTitle("Apply these changes?")
        self.resize(640, 420)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The definition will change as follows:"))
        self.text = QPlainTextEdit()
        self.text.setObjectName("diffText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(mono)
        self.text.setPlainText(diff or "(no changes)")
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = buttons.addButton("&Apply", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply_button.setObjectName("applyButton")
        self.apply_button.setEnabled(bool(diff))
        buttons.accepted.connect(self._confirm)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _confirm(self) -> None:
        self.confirmed.emit()
        self.accept()


class XmlTab(QWidget):
    """Edits ``original``; ``apply_requested(text)`` fires after validation and the diff were accepted."""

    apply_requested = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None,
                 hypervisor: Callable[[], Optional[str]] = lambda: None,
                 settings: Callable[[], Optional[QSettings]] = lambda: None) -> None:
        super().__init__(parent)
        self.original = ""
        self.hypervisor = hypervisor
        self.settings = settings  # where "Don't ask again" is kept (Preferences › Confirmations)
        self.confirm_box: Optional[QMessageBox] = None
        self.diff_dialog: Optional[DiffDialog] = None
        layout = QVBoxLayout(self)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("xmlEditor")
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.editor.setFont(mono)
        self.editor.textChanged.connect(self._edited)
        layout.addWidget(self.editor)
        self.message = QLabel("")
        self.message.setObjectName("xmlMessage")
        self.message.setWordWrap(True)
        self.message.setFont(mono)  # libvirt's context line puts a caret under the column
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        self.validate_button = QPushButton("&Validate")
        self.validate_button.setObjectName("validateButton")
        self.validate_button.setToolTip("Check the XML without applying it")
        self.validate_button.clicked.connect(self.validate)
        self.apply_button = QPushButton("&Apply…")
        self.apply_button.setObjectName("xmlApplyButton")
        self.apply_button.setToolTip("Validate, show the changes, then define the domain with this XML")
        self.apply_button.clicked.connect(self.request_apply)
        self.revert_button = QPushButton("&Revert")
        self.revert_button.setObjectName("revertButton")
        self.revert_button.setToolTip("Discard the edits")
        self.revert_button.clicked.connect(self.request_revert)
        row.addWidget(self.validate_button)
        row.addStretch(1)
        row.addWidget(self.revert_button)
        row.addWidget(self.apply_button)
        layout.addLayout(row)
        self._edited()

    def set_original(self, text: str, *, keep_edits: bool = False) -> None:
        dirty = self.is_dirty()
        self.original = text
        if not (keep_edits and dirty):
            self.editor.setPlainText(text)
            self._set_message("", ok=True)

    def is_dirty(self) -> bool:
        return self.editor.toPlainText() != self.original

    def request_revert(self) -> None:
        """The Revert button: discard the edits after asking (unless switched off in Preferences)."""
        if not self.is_dirty():
            return
        ops = difflib.SequenceMatcher(None, self.original.splitlines(), self.editor.toPlainText().splitlines(),
                                      autojunk=False).get_opcodes()
        changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")
        lines = f"{changed} changed line{'s' if changed != 1 else ''}"
        self.confirm_box = confirm(self, self.settings(), "revert", f"Discard your edits of the XML ({lines})?",
                                   self.revert, "The XML goes back to the domain's current definition.")

    def revert(self) -> None:
        self.editor.setPlainText(self.original)
        self._set_message("", ok=True)

    def _edited(self) -> None:
        dirty = self.is_dirty()
        self.apply_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)
        if not dirty:
            self.apply_button.setToolTip("Nothing to apply: the XML is unchanged")
        else:
            self.apply_button.setToolTip("Validate, show the changes, then define the domain with this XML")

    def _set_message(self, text: str, ok: bool, line: Optional[int] = None) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("" if ok else "color: #b00020")
        selections = []
        if line is not None and line > 0:
            block = self.editor.document().findBlockByLineNumber(line - 1)
            if block.isValid():
                sel = QTextEdit.ExtraSelection()
                sel.format.setBackground(QColor("#ffd7d7"))
                sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                cursor = QTextCursor(block)
                sel.cursor = cursor
                selections.append(sel)
                self.editor.setTextCursor(cursor)
        self.editor.setExtraSelections(selections)

    def validate(self) -> bool:
        ok, message, line = validate_xml(self.editor.toPlainText(), self.hypervisor())
        if ok:
            self._set_message("The XML is valid.", ok=True)
        else:
            where = f"Line {line}: " if line else ""
            self._set_message(f"{where}{message}", ok=False, line=line)
        return ok

    def request_apply(self) -> Optional[DiffDialog]:
        """Validate; if valid, show the diff (non-modal) and emit ``apply_requested`` when confirmed."""
        if not self.validate():
            return None
        text = self.editor.toPlainText()
        dialog = DiffDialog(unified_diff(self.original, text), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.confirmed.connect(lambda: self.apply_requested.emit(text))
        self.diff_dialog = dialog
        dialog.open()
        return dialog

    def show_apply_error(self, message: str) -> None:
        m = _LINE.search(message)
        self._set_message(f"Not applied: {message}", ok=False, line=int(m.group(1) or m.group(2)) if m else None)
