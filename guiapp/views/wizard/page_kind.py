"""Page 1: the connection and the guest kind (Xen PV, Xen HVM, KVM, QEMU) from its capabilities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtWidgets import QButtonGroup, QComboBox, QFormLayout, QLabel, QRadioButton, QVBoxLayout, QWidget

from guiapp.backend.xml.guest_kinds import KINDS, GuestKind

from .base import Problem, WizardPage, note

if TYPE_CHECKING:
    from .wizard import NewVMWizard


class KindPage(WizardPage):
    title = "Connection and guest kind"
    subtitle = "Where the new virtual machine is created, and how it is virtualized."

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__(wizard)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.connection = QComboBox()
        self.connection.setObjectName("connectionCombo")
        form.addRow("&Connection:", self.connection)
        self.status = QLabel()
        self.status.setObjectName("hostStatus")
        self.status.setWordWrap(True)
        form.addRow("", self.status)
        lay.addLayout(form)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        self.reasons: dict[str, QLabel] = {}
        for kind in KINDS.values():
            box = QWidget()
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 4, 0, 4)
            bl.setSpacing(1)
            rb = QRadioButton(kind.label)
            rb.setObjectName(f"kind-{kind.key}")
            self.group.addButton(rb)
            self.buttons[kind.key] = rb
            bl.addWidget(rb)
            desc = note(kind.description)
            desc.setContentsMargins(22, 0, 0, 0)
            bl.addWidget(desc)
            reason = QLabel()
            reason.setObjectName(f"reason-{kind.key}")
            reason.setWordWrap(True)
            reason.setContentsMargins(22, 0, 0, 0)
            reason.setStyleSheet("color: #a04000;")
            reason.hide()
            bl.addWidget(reason)
            self.reasons[kind.key] = reason
            lay.addWidget(box)
            rb.toggled.connect(self._toggled)
        lay.addStretch(1)
        self.connection.currentIndexChanged.connect(self._connection_chosen)

    # -- connection --------------------------------------------------------------------
    def set_connections(self, uris: list[str], current: Optional[str]) -> None:
        self.connection.blockSignals(True)
        self.connection.clear()
        for uri in uris:
            self.connection.addItem(uri, uri)
        if current in uris:
            self.connection.setCurrentIndex(uris.index(current))
        self.connection.blockSignals(False)

    def _connection_chosen(self, _index: int) -> None:
        uri = self.connection.currentData()
        if uri:
            self.wizard.load_host(uri)

    def host_loaded(self) -> None:
        """Show the kinds of the loaded connection; keep the choice if still possible."""
        host = self.host
        if host is None:
            return
        test = any(o.emulated for o in host.kinds)
        mem = f"{host.memory_mib} MiB"
        self.status.setText(f"{host.driver_type} on {host.uri}: {host.cpus} CPUs, {mem} of memory"
                            + (" — a test connection: every kind is emulated" if test else ""))
        self.status.setStyleSheet("")
        for opt in host.kinds:
            rb = self.buttons[opt.kind.key]
            rb.setEnabled(opt.available)
            label = self.reasons[opt.kind.key]
            label.setVisible(not opt.available)
            label.setText(f"Not available: {opt.reason}" if not opt.available else "")
            rb.setToolTip(opt.reason)
        current = self.selected_kind()
        if current is None or not self.buttons[current.key].isEnabled():
            first = next((o.kind for o in host.kinds if o.available), None)
            if first is not None:
                self.buttons[first.key].setChecked(True)
        self.changed.emit()

    def host_failed(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #c0392b;")
        for rb in self.buttons.values():
            rb.setEnabled(False)
        self.changed.emit()

    # -- kind ---------------------------------------------------------------------------
    def selected_kind(self) -> Optional[GuestKind]:
        for key, rb in self.buttons.items():
            if rb.isChecked():
                return KINDS[key]
        return None

    def select(self, key: str) -> None:
        self.buttons[key].setChecked(True)

    def _toggled(self, on: bool) -> None:
        if on:
            self.wizard.kind_selected(self.selected_kind())

    def problems(self) -> list[Problem]:
        w = self.wizard
        if w.host_error:
            return [(self.connection, w.host_error)]
        if w.host is None:
            return [(None, "Reading the connection's capabilities…")]
        if w.host.read_only:
            return [(self.connection, f"{w.host.uri} is open read-only: new virtual machines cannot be defined "
                                      f"on it; reopen it read-write")]
        kind = self.selected_kind()
        if kind is None:
            return [(None, "This connection can run none of the four guest kinds.")]
        return []

    def summary(self) -> list[tuple[str, str]]:
        kind = self.selected_kind()
        return [("Connection", self.host.uri if self.host else ""), ("Kind", kind.label if kind else "")]
