"""Page 6: display (VNC: port, listen address, password) and lifecycle actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QLineEdit, QSpinBox, QVBoxLayout

from guiapp.backend.xml.builder import Lifecycle, VncSpec
from guiapp.backend.xml.domain import CRASH_ACTIONS, LIFECYCLE_ACTIONS

from . import checks
from .base import Problem, WizardPage

if TYPE_CHECKING:
    from .wizard import NewVMWizard


class DisplayPage(WizardPage):
    title = "Display and lifecycle"
    subtitle = "The guest's VNC console, and what happens when it powers off, reboots or crashes."
    anchor = "<graphics"

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__(wizard)
        lay = QVBoxLayout(self)
        self.vnc_box = QGroupBox("VNC display")
        self.vnc_box.setCheckable(True)
        self.vnc_box.setChecked(True)
        form = QFormLayout(self.vnc_box)
        self.port_auto = QCheckBox("Choose a free port automatically")
        self.port_auto.setChecked(True)
        self.port = QSpinBox()
        self.port.setObjectName("vncPort")
        self.port.setRange(0, 999999)
        self.port.setValue(5900)
        self.port.setEnabled(False)
        self.listen = QLineEdit("127.0.0.1")
        self.passwd = QLineEdit()
        self.passwd.setEchoMode(QLineEdit.EchoMode.Password)
        self.passwd.setPlaceholderText("no password")
        form.addRow("", self.port_auto)
        form.addRow("&Port:", self.port)
        form.addRow("&Listen address:", self.listen)
        form.addRow("Pass&word:", self.passwd)
        lay.addWidget(self.vnc_box)
        life = QGroupBox("Lifecycle")
        lf = QFormLayout(life)
        self.actions: dict[str, QComboBox] = {}
        for tag, label, choices, default in (
            ("on_poweroff", "On power &off:", LIFECYCLE_ACTIONS, "destroy"),
            ("on_reboot", "On &reboot:", LIFECYCLE_ACTIONS, "restart"),
            ("on_crash", "On &crash:", CRASH_ACTIONS, "destroy"),
        ):
            combo = QComboBox()
            combo.setObjectName(tag)
            combo.addItems(list(choices))
            combo.setCurrentText(default)
            combo.currentIndexChanged.connect(self.emit_changed)
            lf.addRow(label, combo)
            self.actions[tag] = combo
        lay.addWidget(life)
        lay.addStretch(1)
        self.port_auto.toggled.connect(lambda on: self.port.setEnabled(not on))
        self.port_auto.toggled.connect(self.emit_changed)
        self.vnc_box.toggled.connect(self.emit_changed)
        self.port.valueChanged.connect(self.emit_changed)
        self.listen.textChanged.connect(self.emit_changed)
        self.passwd.textChanged.connect(self.emit_changed)

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        if not self.vnc_box.isChecked():
            return out
        if not self.port_auto.isChecked():
            msg = checks.check_port(self.port.value(), "VNC port", 5900, 65535)
            if msg:
                out.append((self.port, msg))
        msg = checks.check_listen(self.listen.text().strip())
        if msg:
            out.append((self.listen, msg))
        msg = checks.check_vnc_password(self.passwd.text())
        if msg:
            out.append((self.passwd, msg))
        return out

    def vnc_spec(self) -> Optional[VncSpec]:
        if not self.vnc_box.isChecked():
            return None
        return VncSpec(port=-1 if self.port_auto.isChecked() else self.port.value(),
                       listen=self.listen.text().strip(), passwd=self.passwd.text())

    def apply(self) -> None:
        self.builder.set_graphics(self.vnc_spec())
        self.builder.set_lifecycle(Lifecycle(**{k: c.currentText() for k, c in self.actions.items()}))

    def summary(self) -> list[tuple[str, str]]:
        v = self.vnc_spec()
        if v is None:
            vnc = "none"
        else:
            vnc = ("automatic port" if v.port < 0 else f"port {v.port}") + (f" on {v.listen}" if v.listen else "") \
                + (", password set" if v.passwd else "")
        life = ", ".join(f"{k[3:]}: {c.currentText()}" for k, c in self.actions.items())
        return [("VNC", vnc), ("Lifecycle", life)]
