"""The Overview's editable part: name (rename while shut off), title and description, with Apply/Revert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
)

from ..wizard.checks import check_name
from .hardware_forms import mark
from .hwapply import set_identity

if TYPE_CHECKING:
    from .window import DetailsWindow


class IdentityBox(QGroupBox):
    """Name, title, description; checked as typed (a name with '/' or a newline in the title is refused)."""

    def __init__(self, details: DetailsWindow) -> None:
        super().__init__("Name and description")
        self.details = details
        self.setObjectName("identityBox")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.initial = ("", "", "")
        self.active = False
        self.read_only = False
        form = QFormLayout(self)
        self.name = QLineEdit()
        self.name.setObjectName("identityName")
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("identityTitle")
        self.title_edit.setPlaceholderText("a short line shown beside the name")
        self.description = QPlainTextEdit()
        self.description.setObjectName("identityDescription")
        self.description.setMaximumHeight(70)
        form.addRow("&Name:", self.name)
        form.addRow("&Title:", self.title_edit)
        form.addRow("&Description:", self.description)
        self.note = QLabel("")
        self.note.setObjectName("identityNote")
        self.note.setWordWrap(True)
        form.addRow(self.note)
        row = QHBoxLayout()
        row.addStretch(1)
        self.revert_button = QPushButton("Re&vert")
        self.revert_button.setObjectName("identityRevert")
        self.revert_button.clicked.connect(self.revert)
        self.apply_button = QPushButton("Appl&y")
        self.apply_button.setObjectName("identityApply")
        self.apply_button.clicked.connect(self.apply)
        row.addWidget(self.revert_button)
        row.addWidget(self.apply_button)
        form.addRow(row)
        self.name.textChanged.connect(self.check)
        self.title_edit.textChanged.connect(self.check)
        self.description.textChanged.connect(self.check)
        self.check()

    def values(self) -> tuple[str, str, str]:
        return self.name.text().strip(), self.title_edit.text(), self.description.toPlainText()

    def set_values(self, name: str, title: str, description: str, *, active: bool, read_only: bool) -> None:
        self.initial, self.active, self.read_only = (name, title, description), active, read_only
        self.name.setText(name)
        self.title_edit.setText(title)
        self.description.setPlainText(description)
        self.name.setToolTip("Shut the domain down to rename it" if active else "")
        self.check()

    def problem(self) -> Optional[str]:
        name, title, _d = self.values()
        msg = None
        if name != self.initial[0]:
            msg = check_name(name) or ("A running domain cannot be renamed: shut it down first"
                                       if self.active else None)
        mark(self.name, msg is not None)
        if msg is None and "\n" in title:
            msg = "The title is one line"
        mark(self.title_edit, msg is not None and "title" in msg)
        return msg

    def check(self, *_a: object) -> None:
        msg = self.problem()
        dirty = self.values() != self.initial
        if msg:
            self.note.setText(msg)
            self.note.setStyleSheet("color: #c62828")
        elif self.note.styleSheet():  # the problem is fixed: its text goes; a result text stays
            self.note.setText("")
            self.note.setStyleSheet("")
        self.apply_button.setEnabled(dirty and msg is None and not self.read_only)
        self.revert_button.setEnabled(dirty)

    def revert(self) -> None:
        name, title, description = self.initial
        self.set_values(name, title, description, active=self.active, read_only=self.read_only)

    def apply(self) -> None:
        if self.problem() is not None:
            return
        conn, uuid = self.details._conn(), self.details.uuid
        name, title, description = self.values()
        if conn is None:
            return

        def ok(done: list[str]) -> None:
            self.note.setStyleSheet("")
            self.note.setText(("Changed: " + ", ".join(done) + ".") if done else "Nothing changed.")
            self.details.changed()

        def failed(exc: BaseException) -> None:
            self.note.setStyleSheet("color: #c62828")
            self.note.setText(f"Not applied: {exc}")
            self.details.main.show_error(exc, operation=f"virDomainRename/SetMetadata ('{self.details.name}')",
                                         uri=self.details.uri)

        self.details.main.runner.submit(
            f"Name and description of {self.details.name}",
            lambda: set_identity(conn.lookupByUUID(uuid), name=name, title=title, description=description),
            uri=self.details.uri, operation="virDomainSetMetadata", on_result=ok, on_error=failed, owner=self)
