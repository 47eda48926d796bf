"""The Add Connection dialog, virt-manager-like: hypervisor, optional ssh host, the URI shown and editable."""

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
    QLineEdit,
    QWidget,
)

from ...backend.validate import host_problem, user_problem

EXAMPLES = (
    "test:///default",
    "qemu:///system",
    "qemu:///session",
    "xen:///",
    "qemu+ssh://user@host/system",
)

#: (label, local URI) of the hypervisor choices
HYPERVISORS = (
    ("QEMU/KVM", "qemu:///system"),
    ("QEMU/KVM user session", "qemu:///session"),
    ("Xen", "xen:///"),
    ("Test (libvirt's default test node)", "test:///default"),
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


def build_uri(local_uri: str, ssh: bool, user: str, host: str) -> str:
    """``qemu:///system`` + ssh user/host -> ``qemu+ssh://user@host/system`` (as virt-manager writes it)."""
    if not ssh:
        return local_uri
    scheme, _, rest = local_uri.partition("://")
    path = rest[rest.find("/"):] if "/" in rest else "/"
    login = f"{user}@" if user else ""
    return f"{scheme}+ssh://{login}{host}{path}"


class AddConnectionDialog(QDialog):
    """Emits ``add_requested(uri, read_only)`` when accepted with a well-formed URI.

    ``autoconnect`` tells whether the connection is remembered and opened at start-up.
    """

    add_requested = Signal(str, bool)

    def __init__(self, parent: Optional[QWidget] = None, recent: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add Connection")
        form = QFormLayout(self)
        self.hypervisor = QComboBox()
        self.hypervisor.setObjectName("hypervisorCombo")
        for label, uri in HYPERVISORS:
            self.hypervisor.addItem(label, uri)
        form.addRow("&Hypervisor:", self.hypervisor)
        self.ssh = QCheckBox("Connect to &remote host over SSH")
        form.addRow("", self.ssh)
        self.user = QLineEdit("root")
        self.user.setObjectName("sshUser")
        form.addRow("&Username:", self.user)
        self.host = QLineEdit()
        self.host.setObjectName("sshHost")
        self.host.setPlaceholderText("host name or address")
        form.addRow("H&ostname:", self.host)
        self.autoconnect = QCheckBox("&Autoconnect (remember and open at start-up)")
        self.autoconnect.setChecked(True)
        form.addRow("", self.autoconnect)
        self.uri = QComboBox()
        self.uri.setObjectName("uriCombo")
        self.uri.setEditable(True)
        seen: list[str] = []
        for u in (*recent, *EXAMPLES):
            if u not in seen:
                seen.append(u)
        self.uri.addItems(seen)
        self.uri.setToolTip("driver[+transport]://[user@host]/path — e.g. test:///default, qemu:///system, "
                            "qemu+ssh://root@host/system, test:///path/to/node.xml; edit it freely")
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
        self.hypervisor.currentIndexChanged.connect(self._fields_changed)
        self.ssh.toggled.connect(self._fields_changed)
        self.user.textChanged.connect(self._fields_changed)
        self.host.textChanged.connect(self._fields_changed)
        self._fields_changed()

    def set_uri(self, uri: str) -> None:
        self.uri.setEditText(uri)

    def _field_problem(self) -> str:
        if not self.ssh.isChecked():
            return ""
        return host_problem(self.host.text().strip()) or user_problem(self.user.text().strip())

    def _fields_changed(self) -> None:
        ssh = self.ssh.isChecked()
        self.user.setEnabled(ssh)
        self.host.setEnabled(ssh)
        problem = self._field_problem()
        self.message.setText(problem)
        if not problem:
            self.set_uri(build_uri(self.hypervisor.currentData(), ssh, self.user.text().strip(),
                                   self.host.text().strip()))

    def _accept(self) -> None:
        text = self.uri.currentText().strip()
        problem = check_uri(text) or self._field_problem()
        if problem:
            self.message.setText(problem)
            return
        self.add_requested.emit(text, self.read_only.isChecked())
        self.accept()
