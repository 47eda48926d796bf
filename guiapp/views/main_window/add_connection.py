"""The Add Connection dialog: a URI (local or remote) and read-only access."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QWidget,
)

EXAMPLES = (
    "test:///default",
    "qemu:///system",
    "qemu:///session",
    "xen:///",
    "qemu+ssh://user@host/system",
)


def check_uri(text: str) -> str:
    """'' when ``text`` looks like a connection URI, else what to fix."""
    text = text.strip()
    if not text:
        return "Enter a connection URI, e.g. test:///default or qemu:///system"
    scheme, sep, _rest = text.partition(":")
    if not sep or not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
        return f"'{text}' is not a URI: write driver[+transport]://[user@host]/path, e.g. qemu+ssh://root@host/system"
    return ""


class AddConnectionDialog(QDialog):
    """Emits ``add_requested(uri, read_only)`` when accepted with a well-formed URI."""

    add_requested = Signal(str, bool)

    def __init__(self, parent: Optional[QWidget] = None, recent: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add Connection")
        form = QFormLayout(self)
        self.uri = QComboBox()
        self.uri.setObjectName("uriCombo")
        self.uri.setEditable(True)
        seen = []
        for u in (*recent, *EXAMPLES):
            if u not in seen:
                seen.append(u)
        self.uri.addItems(seen)
        self.uri.setToolTip("driver[+transport]://[user@host]/path — e.g. test:///default, qemu:///system, "
                            "qemu+ssh://root@host/system, test:///path/to/node.xml")
        form.addRow("&URI:", self.uri)
        self.read_only = QCheckBox("&Read-only (monitoring only)")
        form.addRow("", self.read_only)
        self.message = QLabel("")
        self.message.setObjectName("uriMessage")
        self.message.setStyleSheet("color: #b00020")
        self.message.setWordWrap(True)
        form.addRow(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Connect")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def set_uri(self, uri: str) -> None:
        self.uri.setEditText(uri)

    def _accept(self) -> None:
        text = self.uri.currentText().strip()
        problem = check_uri(text)
        if problem:
            self.message.setText(problem)
            return
        self.add_requested.emit(text, self.read_only.isChecked())
        self.accept()
