"""The create-network dialog: a small form checked as you type, its XML previewed live (or edited by hand)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from guiapp.backend.errors import DriverError
from guiapp.backend.xml.network import parse_network

from ...models.api import error_code_name
from .form import FIELDS, FormCheck, FormValues, build_xml, check_form
from .xml_panel import mono_font

FORWARD_CHOICES = (("nat", "NAT (to the host's default route or a device)"), ("route", "Routed (no NAT)"),
                   ("isolated", "Isolated (guests and host only)"))
_INVALID_STYLE = "border: 1px solid #c0392b;"


def suggest_subnet(used: Sequence[str]) -> ipaddress.IPv4Network:
    """The first 192.168.N.0/24 (N from 100) overlapping none of the ``used`` subnets."""
    taken = []
    for text in used:
        try:
            taken.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            continue
    for n in list(range(100, 256)) + list(range(0, 100)):
        net = ipaddress.IPv4Network(f"192.168.{n}.0/24")
        if not any(net.version == t.version and net.overlaps(t) for t in taken):
            return net
    return ipaddress.IPv4Network("10.200.0.0/24")


class CreateNetworkDialog(QDialog):
    """Emits ``create_requested(uri, xml, start, autostart)``; the window defines it on the pool."""

    create_requested = Signal(str, str, bool, bool)

    def __init__(self, uris: Sequence[str], names_of: Callable[[str], list[str]],
                 subnets_of: Callable[[str], list[str]], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("createNetworkDialog")
        self.setWindowTitle("Create a Virtual Network")
        self.names_of = names_of
        self.subnets_of = subnets_of
        self.check = FormCheck()
        self._busy = False
        self._hand_xml: Optional[str] = None
        self.resize(920, 500)
        outer = QVBoxLayout(self)
        split = QHBoxLayout()
        outer.addLayout(split, 1)

        form_box = QGroupBox("Network")
        form = self.form_layout = QFormLayout(form_box)
        self.connection = QComboBox()
        self.connection.setObjectName("netConnection")
        for uri in uris:
            self.connection.addItem(uri, uri)
        self.connection.setToolTip("The (writable) connection the network is defined on")
        form.addRow("&Connection:", self.connection)
        self.name = self._line("netName", "e.g. isolated1")
        form.addRow("&Name:", self.name)
        self.bridge = self._line("netBridge", "automatic (virbr0, virbr1, …)")
        form.addRow("&Bridge:", self.bridge)
        self.forward = QComboBox()
        self.forward.setObjectName("netForward")
        for mode, text in FORWARD_CHOICES:
            self.forward.addItem(text, mode)
        form.addRow("&Forwarding:", self.forward)
        self.device = self._line("netDevice", "any (the default route)")
        form.addRow("&Device:", self.device)
        addr_row = QHBoxLayout()
        self.address = self._line("netAddress", "e.g. 192.168.100.1")
        self.prefix = QSpinBox()
        self.prefix.setObjectName("netPrefix")
        self.prefix.setRange(8, 30)
        self.prefix.setValue(24)
        self.prefix.setPrefix("/")
        self.prefix.setToolTip("Prefix length of the subnet (/24 = 255.255.255.0)")
        addr_row.addWidget(self.address, 1)
        addr_row.addWidget(self.prefix)
        addr_label = QLabel("IPv4 &address:")
        addr_label.setBuddy(self.address)
        form.addRow(addr_label, addr_row)
        self.dhcp_start = self._line("netDhcpStart", "e.g. 192.168.100.2 (empty: no DHCP)")
        form.addRow("DHCP &start:", self.dhcp_start)
        self.dhcp_end = self._line("netDhcpEnd", "e.g. 192.168.100.254")
        form.addRow("DHCP &end:", self.dhcp_end)
        self.domain = self._line("netDomain", "optional, e.g. example.lan")
        form.addRow("D&omain name:", self.domain)
        self.start = QCheckBox("Start the network now")
        self.start.setObjectName("netStart")
        self.start.setChecked(True)
        self.autostart = QCheckBox("Start it when the host boots (autostart)")
        self.autostart.setObjectName("netAutostart")
        form.addRow("", self.start)
        form.addRow("", self.autostart)
        self.errors = QLabel("")
        self.errors.setObjectName("netErrors")
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet("color: #c0392b;")
        self.errors.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.errors)
        form_box.setMinimumWidth(440)
        split.addWidget(form_box, 0)

        preview_box = QGroupBox("XML")
        pv = QVBoxLayout(preview_box)
        self.edit_xml = QCheckBox("Edit the XML by hand (the form is then ignored)")
        self.edit_xml.setObjectName("netEditXml")
        pv.addWidget(self.edit_xml)
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("netPreview")
        self.preview.setReadOnly(True)
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.preview.setFont(mono_font())
        pv.addWidget(self.preview, 1)
        split.addWidget(preview_box, 1)

        buttons = QDialogButtonBox()
        self.create_button = QPushButton("C&reate")
        self.create_button.setObjectName("netCreateButton")
        self.create_button.setDefault(True)
        buttons.addButton(self.create_button, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setObjectName("netCancelButton")
        self.create_button.clicked.connect(self._create)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)

        self._fields: dict[str, QWidget] = {
            "name": self.name, "bridge": self.bridge, "forward": self.forward, "device": self.device,
            "address": self.address, "prefix": self.prefix, "dhcp_start": self.dhcp_start,
            "dhcp_end": self.dhcp_end, "domain": self.domain}
        self._tips = {key: w.toolTip() for key, w in self._fields.items()}
        for w in (self.name, self.bridge, self.device, self.address, self.dhcp_start, self.dhcp_end, self.domain):
            w.textChanged.connect(self.revalidate)
        self.prefix.valueChanged.connect(self.revalidate)
        self.forward.currentIndexChanged.connect(self.revalidate)
        self.connection.currentIndexChanged.connect(self._connection_changed)
        self.edit_xml.toggled.connect(self._edit_mode)
        self.preview.textChanged.connect(self._xml_edited)
        self._fill_suggestion()
        self.revalidate()

    def _line(self, name: str, placeholder: str) -> QLineEdit:
        w = QLineEdit()
        w.setObjectName(name)
        w.setPlaceholderText(placeholder)
        return w

    # ---------------------------------------------------------------- state
    @property
    def uri(self) -> str:
        return str(self.connection.currentData() or "")

    def values(self) -> FormValues:
        return FormValues(name=self.name.text(), bridge=self.bridge.text(), forward=self.forward.currentData(),
                          device=self.device.text(), address=self.address.text(), prefix=self.prefix.value(),
                          dhcp_start=self.dhcp_start.text(), dhcp_end=self.dhcp_end.text(),
                          domain=self.domain.text())

    def set_forward(self, mode: str) -> None:
        self.forward.setCurrentIndex(max(0, self.forward.findData(mode)))

    def _fill_suggestion(self) -> None:
        """A free 192.168.N.0/24 for the chosen connection, with the usual .1 and .2-.254 range."""
        net = suggest_subnet(self.subnets_of(self.uri) if self.uri else [])
        hosts = list(net.hosts())
        self.address.setText(str(hosts[0]))
        self.prefix.setValue(net.prefixlen)
        self.dhcp_start.setText(str(hosts[1]))
        self.dhcp_end.setText(str(hosts[-1]))

    def _connection_changed(self) -> None:
        self.revalidate()

    # ----------------------------------------------------------- validation
    def revalidate(self) -> None:
        """Check the form (or the hand-written XML) and update the preview, the messages and Create."""
        if self.edit_xml.isChecked():
            self._xml_edited()
            return
        self.device.setEnabled(self.forward.currentData() != "isolated")
        if not self.device.isEnabled():
            self.device.setToolTip("An isolated network forwards to no device")
        check = self.check = check_form(self.values(), self.names_of(self.uri) if self.uri else [])
        text = check.xml if check.ok else build_xml(self.values())
        if self.preview.toPlainText() != text:
            self.preview.blockSignals(True)
            self.preview.setPlainText(text)
            self.preview.blockSignals(False)
        for key, w in self._fields.items():
            msg = check.errors.get(key)
            w.setStyleSheet(_INVALID_STYLE if msg else "")
            if key != "device" or self.device.isEnabled():
                w.setToolTip(msg or self._tips[key])
        self.errors.setText("\n".join(f"• {check.errors[k]}" for k in FIELDS if k in check.errors))
        self._update_create()

    def _xml_edited(self) -> None:
        if not self.edit_xml.isChecked():
            return
        text = self.preview.toPlainText()
        if not text.strip():
            self.check = FormCheck(None, {"xml": "Write the <network> document (or untick 'Edit the XML by hand')"})
            self.errors.setText(self.check.errors["xml"])
        else:
            self.check = FormCheck(text, {})
            try:
                parse_network(text)
            except DriverError as exc:
                # shown, not blocking: the driver has the last word and reports it in the error dialog
                self.errors.setText(f"The driver will likely refuse this XML: {exc.detail} "
                                    f"[{error_code_name(exc.code)} ({exc.code})]")
            else:
                self.errors.setText("")
        self._update_create()

    def _edit_mode(self, on: bool) -> None:
        if on and self._hand_xml is not None:
            self.preview.blockSignals(True)
            self.preview.setPlainText(self._hand_xml)  # the hand edits of last time are kept
            self.preview.blockSignals(False)
        elif not on:
            self._hand_xml = self.preview.toPlainText()
        self.preview.setReadOnly(not on)
        for w in self._fields.values():
            w.setEnabled(not on)
            if on:
                w.setStyleSheet("")
        if on:
            self._xml_edited()
        else:
            self.revalidate()

    def _update_create(self) -> None:
        reason = ""
        if not self.uri:
            reason = "No writable connection is open: open one (not read-only) to create a network"
        elif self._busy:
            reason = "Creating the network…"
        elif not self.check.ok:
            reason = self.check.first_error() or "Fix the form first"
        self.create_button.setEnabled(not reason)
        self.create_button.setToolTip(reason or "Define the network on the connection")

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_create()

    def _create(self) -> None:
        if not self.create_button.isEnabled() or self.check.xml is None:
            return
        self.set_busy(True)
        self.create_requested.emit(self.uri, self.check.xml, self.start.isChecked(), self.autostart.isChecked())

    def error_for(self, key: str) -> str:
        """The inline message shown for ``key`` ('' when the field is fine)."""
        return self.check.errors.get(key, "")
