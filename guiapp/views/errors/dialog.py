"""The error dialog: every field of a libvirt error, selectable, with a Copy button; opened non-modal.

When the backend's hints table (:mod:`guiapp.backend.hints`) knows the failure, a "What you can do" line
sits under the message, and a button for the hint's action where it is safe (starting a network or a
domain): pressing it emits :attr:`ErrorDialog.action_requested` ``(kind, name)`` for the caller to run
through the job runner (``show_error(..., on_action=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from PySide6.QtCore import Signal
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

from ...backend.hints import hint_for
from ...models.api import error_code_name, error_domain_name

#: Hint actions the dialog offers as a button (safe: they start something, never stop or delete).
SAFE_ACTIONS = {"start-network": "Start network '{}'", "start-domain": "Start '{}'"}


@dataclass
class ErrorReport:
    """What the dialog shows, built from any exception (libvirtError fields when present)."""

    message: str
    operation: str = ""
    uri: str = ""
    code: Optional[int] = None
    domain: Optional[int] = None
    details: str = ""
    hint: str = ""
    action: Optional[tuple[str, str]] = None

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
        hint = hint_for(exc)
        return cls(message=message, operation=operation, uri=uri, code=code, domain=domain, details=details,
                   hint=hint.text if hint else "", action=hint.action if hint else None)

    def as_text(self) -> str:
        lines = [f"Error: {self.message}"]
        if self.hint:
            lines.append(f"What you can do: {self.hint}")
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

    #: (kind, name) of the hint's safe action, when its button is pressed
    action_requested = Signal(str, str)

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
        self.hint_label: Optional[QLabel] = None
        if report.hint:
            self.hint_label = QLabel(f"<b>What you can do:</b> {_escape(report.hint)}")
            self.hint_label.setObjectName("errorHint")
            self.hint_label.setWordWrap(True)
            self.hint_label.setTextInteractionFlags(self.hint_label.textInteractionFlags() | _selectable())
            layout.addWidget(self.hint_label)
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
        self.action_button: Optional[QPushButton] = None
        if report.action and report.action[0] in SAFE_ACTIONS and report.action[1]:
            kind, name = report.action
            self.action_button = QPushButton(SAFE_ACTIONS[kind].format(name))
            self.action_button.setObjectName("errorHintAction")
            self.action_button.clicked.connect(lambda: self._act(kind, name))
            buttons.addButton(self.action_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _act(self, kind: str, name: str) -> None:
        self.action_requested.emit(kind, name)
        self.accept()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.report.as_text())


def _escape(text: str) -> str:
    import html
    return html.escape(text)


def _selectable() -> Any:
    from PySide6.QtCore import Qt
    return Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard


def show_error(parent: Optional[QWidget], exc: BaseException, *, operation: str = "", uri: str = "",
               title: str = "", on_action: Optional[Callable[[str, str], Any]] = None,
               keep_in: Optional[list[ErrorDialog]] = None) -> ErrorDialog:
    """Show a non-modal error dialog (the main window stays usable); it deletes itself when closed.

    ``on_action(kind, name)``: run the hint's safe action (its button shows only when this is given).
    ``keep_in``: a window's list of its open error dialogs; the dialog is in it until it is destroyed."""
    from PySide6.QtCore import Qt
    report = ErrorReport.from_exception(exc, operation=operation, uri=uri)
    if on_action is None:
        report.action = None
    dialog = ErrorDialog(report, parent, title)
    if on_action is not None:
        dialog.action_requested.connect(on_action)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setModal(False)
    dialog.show()  # QDialog.open() would be window-modal and block the main window
    if keep_in is not None:
        keep_in.append(dialog)
        dialog.destroyed.connect(lambda *_a: keep_in.remove(dialog) if dialog in keep_in else None)
    return dialog
