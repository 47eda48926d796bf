"""The page protocol of the New-VM wizard and small shared widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

if TYPE_CHECKING:
    from guiapp.backend.xml.builder import DomainBuilder

    from .hostinfo import HostInfo
    from .wizard import NewVMWizard

#: (the widget at fault or None, what to fix)
Problem = tuple[Optional[QWidget], str]

INVALID_STYLE = "border: 1px solid #c0392b;"


class WizardPage(QWidget):
    """One page: its widgets edit one section of the wizard's domain document."""

    changed = Signal()
    title = ""
    subtitle = ""
    #: text the XML preview scrolls to while the page is shown
    anchor = ""

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__()
        self.wizard = wizard

    @property
    def builder(self) -> DomainBuilder:
        return self.wizard.builder

    @property
    def host(self) -> Optional[HostInfo]:
        return self.wizard.host

    def applies(self) -> bool:
        """False: the page is skipped for the current choices."""
        return True

    def kind_changed(self) -> None:
        """The guest kind (or the connection) changed: reset kind-dependent defaults."""

    def enter(self) -> None:
        """The page is about to be shown."""

    def problems(self) -> list[Problem]:
        """What keeps Forward disabled, field by field (empty: the page is complete)."""
        return []

    def apply(self) -> None:
        """Write the page's (valid) values into the document."""

    def summary(self) -> list[tuple[str, str]]:
        """(label, value) lines for the summary page."""
        return []

    def emit_changed(self, *_args: object) -> None:
        self.changed.emit()


class PathField(QWidget):
    """A path line edit with a Browse button (a non-native, non-blocking-friendly file dialog)."""

    textChanged = Signal(str)

    def __init__(self, placeholder: str = "", *, directory: bool = False, save: bool = False,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.directory = directory
        self.save = save
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.textChanged.connect(self.textChanged)
        self.button = QPushButton("Browse…")
        self.button.clicked.connect(self.browse)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def browse(self) -> None:
        opts = QFileDialog.Option.DontUseNativeDialog
        if self.save:
            path, _ = QFileDialog.getSaveFileName(self, "Choose a file", self.text(), options=opts)
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a file", self.text(), options=opts)
        if path:
            self.edit.setText(path)


def note(text: str) -> QLabel:
    """A wrapped, secondary explanatory label."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #5a5a5a;")
    return label
