"""The error dialog: every field of a libvirt error, selectable, with a Copy button; opened non-modal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...models.api import error_code_name, error_domain_name


@dataclass
class ErrorReport:
    """What the dialog shows, built from any exception (libvirtError fields when present)."""

    message: str
    operation: str = ""
    uri: str = ""
    code: Optional[int] = None
    domain: Optional[int] = None
    details: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException, *, operation: str = "", uri: str = "") -> ErrorReport:
        code = domain = None
        getc = getattr(exc, "get_error_code", None)
        if getc is not None:
            try:
                code, domain = getc(), exc.get_error_domain()  # type: ignore[attr-defined]
            except Exception:
                code = domain = None
        message = str(exc) or type(exc).__name__
        details = getattr(exc, "__traceback_text__", "") if code is None else ""
        return cls(message=message, operation=operation, uri=uri, code=code, domain=domain, details=details)

    def as_text(self) -> str:
        lines = [f"Error: {self.message}"]
        if self.operation:
            lines.append(f"Operation: {self.operation}")
        if self.uri:
            lines.append(f"Connection: {self.uri}")
        if self.code is not None:
            lines.append(f"Code: {error_code_name(self.code)} ({self.code})")
        if self.domain is not None:
            lines.append(f"Error domain: {error_domain_name(self.domain)} ({self.domain})")
        if self.details:
            lines.append("")
            lines.append(self.details.rstrip())
        return "\n".join(lines)


class ErrorDialog(QDialog):
    """Readable and copyable; shown non-modal by :func:`show_error` (never exec)."""

    def __init__(self, report: ErrorReport, parent: Optional[QWidget] = None, title: str = "") -> None:
        super().__init__(parent)
        self.report = report
        self.setWindowTitle(title or (f"{report.operation} failed" if report.operation else "Error"))
        self.setObjectName("errorDialog")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        headline = QLabel(report.message)
        headline.setObjectName("errorMessage")
        headline.setWordWrap(True)
        f = headline.font()
        f.setBold(True)
        headline.setFont(f)
        headline.setTextInteractionFlags(headline.textInteractionFlags() | _selectable())
        layout.addWidget(headline)
        self.text = QPlainTextEdit(report.as_text())
        self.text.setObjectName("errorText")
        self.text.setReadOnly(True)  # read-only keeps it selectable and copyable
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(mono)
        self.text.setMinimumHeight(120)
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setToolTip("Copy the whole error text to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.report.as_text())


def _selectable() -> Any:
    from PySide6.QtCore import Qt
    return Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard


def show_error(parent: Optional[QWidget], exc: BaseException, *, operation: str = "", uri: str = "",
               title: str = "") -> ErrorDialog:
    """Show a non-modal error dialog (the main window stays usable); it deletes itself when closed."""
    from PySide6.QtCore import Qt
    dialog = ErrorDialog(ErrorReport.from_exception(exc, operation=operation, uri=uri), parent, title)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setModal(False)
    dialog.show()  # QDialog.open() would be window-modal and block the main window
    return dialog
