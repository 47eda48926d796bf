"""Page 5: network — any number of interfaces, each in one of the six modes with its own fields."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from guiapp.backend.xml.builder import NIC_MODELS_HVM, NIC_MODELS_XEN_HVM, NicSpec

from . import checks
from .base import PathField, Problem, WizardPage, note

if TYPE_CHECKING:
    from .wizard import NewVMWizard

MODES = (
    ("user", "Usermode networking (SLIRP, NAT)"),
    ("network", "Virtual network"),
    ("bridge", "Bridge to LAN"),
    ("ethernet", "Generic ethernet (tap device + script)"),
    ("mcast", "Multicast tunnel"),
    ("server", "TCP tunnel — server end"),
    ("client", "TCP tunnel — client end"),
)
MODE_LABELS = dict(MODES)
XEN_MODES = ("network", "bridge", "ethernet")  # what xl can connect (a network: through its bridge)
XEN_REASON = ("Not for Xen guests: xl connects them to a virtual network's bridge, a bridge or a script "
              "(ethernet); user networking, multicast and TCP tunnels are QEMU's own")


def _port_spin() -> QSpinBox:
    s = QSpinBox()
    s.setRange(0, 999999)
    s.setValue(5558)
    return s


class NicEditor(QGroupBox):
    """The fields of one interface; the stacked part follows the mode."""

    changed = Signal()

    def __init__(self, index: int, page: NetworkPage) -> None:
        super().__init__(f"Interface {index}")
        self.page = page
        form = QFormLayout(self)
        top = QHBoxLayout()
        self.mode = QComboBox()
        self.mode.setObjectName("nicMode")
        for key, label in MODES:
            self.mode.addItem(label, key)
        top.addWidget(self.mode, 1)
        self.remove = QPushButton("Remove")
        top.addWidget(self.remove)
        form.addRow("Mode:", top)
        self.form = form
        self.rows: dict[str, list[QWidget]] = {}
        # per-mode fields: rows of the one form, shown for their mode only
        self.network = QComboBox()
        self.network.setEditable(True)
        self.network.setCurrentText("default")
        self.bridge = QLineEdit("br0")
        self.target_dev = QLineEdit()
        self.target_dev.setPlaceholderText("automatic (vnetN)")
        self.script = PathField("default: /etc/qemu-ifup")
        self.mcast_addr = QLineEdit("230.0.0.1")
        self.mcast_port = _port_spin()
        self.tcp_addr = QLineEdit("127.0.0.1")
        self.tcp_port = _port_spin()
        self.tcp_role_note = note("")
        self.network_note = note("")
        for key, rows in (
            ("user", [("", note("The guest gets 10.0.2.15 by DHCP, gateway 10.0.2.2, DNS 10.0.2.3; "
                                "outgoing connections only."))]),
            ("network", [("Network:", self.network), ("", self.network_note)]),
            ("bridge", [("Bridge:", self.bridge)]),
            ("ethernet", [("Target device:", self.target_dev), ("Script:", self.script)]),
            ("mcast", [("Group address:", self.mcast_addr), ("Port:", self.mcast_port),
                       ("", note("Every guest in the same group and port shares one LAN (224.0.0.0/4)."))]),
            ("tcp", [("Address:", self.tcp_addr), ("Port:", self.tcp_port), ("", self.tcp_role_note)]),
        ):
            self.rows[key] = []
            for label, fld in rows:
                form.addRow(label, fld)
                self.rows[key].append(fld)
        mac_row = QHBoxLayout()
        self.mac_auto = QCheckBox("Automatic")
        self.mac_auto.setChecked(True)
        self.mac = QLineEdit()
        self.mac.setPlaceholderText("52:54:00:xx:xx:xx")
        self.mac.setEnabled(False)
        mac_row.addWidget(self.mac_auto)
        mac_row.addWidget(self.mac, 1)
        form.addRow("MAC address:", mac_row)
        self.model = QComboBox()
        form.addRow("Device model:", self.model)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.mac_auto.toggled.connect(lambda on: self.mac.setEnabled(not on))
        for w in (self.network, self.model):
            w.currentIndexChanged.connect(self.changed)
        self.network.editTextChanged.connect(self.changed)
        for w in (self.bridge, self.target_dev, self.mcast_addr, self.tcp_addr, self.mac):
            w.textChanged.connect(self.changed)
        self.script.textChanged.connect(self.changed)
        for w in (self.mcast_port, self.tcp_port):
            w.valueChanged.connect(self.changed)
        self.mac_auto.toggled.connect(self.changed)
        self._mode_changed()

    def current_mode(self) -> str:
        return self.mode.currentData()

    def set_mode(self, key: str) -> None:
        self.mode.setCurrentIndex(self.mode.findData(key))

    def _mode_changed(self, *_a: object) -> None:
        m = self.current_mode()
        shown = "tcp" if m in ("server", "client") else m
        for key, fields in self.rows.items():
            for fld in fields:
                self.form.setRowVisible(fld, key == shown)
        self.tcp_role_note.setText("This guest listens on the address and port; the other guests connect to it."
                                   if m == "server" else "This guest connects to the guest listening there.")
        self.changed.emit()

    def set_allowed_modes(self, allowed: Optional[tuple[str, ...]], reason: str) -> None:
        model = self.mode.model()
        assert isinstance(model, QStandardItemModel)
        for i in range(self.mode.count()):
            item = model.item(i)
            ok = allowed is None or self.mode.itemData(i) in allowed
            item.setEnabled(ok)
            item.setToolTip("" if ok else reason)

    def set_models(self, models: tuple[str, ...]) -> None:
        current = self.model.currentData()
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItem("default", "")
        for m in models:
            self.model.addItem(m, m)
        idx = self.model.findData(current)
        self.model.setCurrentIndex(max(idx, 0))
        self.model.setEnabled(bool(models))
        self.model.blockSignals(False)

    def set_networks(self, names: Optional[list[str]]) -> None:
        text = self.network.currentText()
        self.network.blockSignals(True)
        self.network.clear()
        if names:
            self.network.addItems(names)
        self.network.setCurrentText(text or (names[0] if names else "default"))
        self.network.blockSignals(False)
        self.network_note.setText("Networks of this connection." if names is not None
                                  else "This connection lists no networks: type the network's name.")

    def problems(self, n: int, taken: set[str], allowed: Optional[tuple[str, ...]]) -> list[Problem]:
        out: list[Problem] = []
        m = self.current_mode()
        pre = f"Interface {n}: "

        def add(widget: QWidget, msg: Optional[str]) -> None:
            if msg:
                out.append((widget, pre + msg))

        if allowed is not None and m not in allowed:
            add(self.mode, f"{MODE_LABELS[m]} is not available for this guest on this connection "
                           f"(use {' or '.join(MODE_LABELS[a] for a in allowed)}).")
        if m == "network":
            name = self.network.currentText().strip()
            if not name:
                add(self.network, "Choose or type the virtual network.")
            elif any(c.isspace() or c == "/" for c in name):
                add(self.network, f"'{name}' is not a network name (no spaces or '/').")
        elif m == "bridge":
            add(self.bridge, checks.check_ifname(self.bridge.text().strip(), "bridge name", required=True))
        elif m == "ethernet":
            add(self.target_dev, checks.check_ifname(self.target_dev.text().strip(), "target device",
                                                     required=False))
            script = self.script.text()
            if script:
                msg = checks.check_readable_file(script, "network script")
                if msg is None and not os.access(script, os.X_OK):
                    msg = f"The network script {script} is not executable (chmod +x)."
                add(self.script.edit, msg)
        elif m == "mcast":
            add(self.mcast_addr, checks.check_multicast(self.mcast_addr.text().strip()))
            add(self.mcast_port, checks.check_port(self.mcast_port.value(), "multicast port"))
        elif m in ("server", "client"):
            add(self.tcp_addr, checks.check_host(self.tcp_addr.text().strip(), "TCP tunnel address"))
            add(self.tcp_port, checks.check_port(self.tcp_port.value(), "TCP tunnel port"))
        if not self.mac_auto.isChecked():
            mac = self.mac.text().strip()
            msg = checks.check_mac(mac, taken)
            add(self.mac, msg)
            if msg is None:
                taken.add(mac.lower())
        return out

    def spec(self) -> NicSpec:
        m = self.current_mode()
        s = NicSpec(mode=m, mac="" if self.mac_auto.isChecked() else self.mac.text().strip(),
                    model=self.model.currentData() or "")
        if m == "network":
            s.network = self.network.currentText().strip()
        elif m == "bridge":
            s.bridge = self.bridge.text().strip()
        elif m == "ethernet":
            s.target_dev = self.target_dev.text().strip()
            s.script = self.script.text()
        elif m == "mcast":
            s.address, s.port = self.mcast_addr.text().strip(), self.mcast_port.value()
        elif m in ("server", "client"):
            s.address, s.port = self.tcp_addr.text().strip(), self.tcp_port.value()
        return s

    def describe(self) -> str:
        s = self.spec()
        detail = {"network": s.network, "bridge": s.bridge, "ethernet": s.target_dev or "auto tap",
                  "mcast": f"{s.address}:{s.port}", "server": f"{s.address}:{s.port}",
                  "client": f"{s.address}:{s.port}"}.get(s.mode, "")
        return MODE_LABELS[s.mode] + (f" ({detail})" if detail else "")


class NetworkPage(WizardPage):
    title = "Network"
    subtitle = "Network interfaces: user, virtual network, bridge, ethernet, multicast or TCP tunnel."
    anchor = "<interface"

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__(wizard)
        lay = QVBoxLayout(self)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        inner = QWidget()
        self.list = QVBoxLayout(inner)
        self.list.addStretch(1)
        self.scroll.setWidget(inner)
        lay.addWidget(self.scroll, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add interface")
        self.add_button.setObjectName("addNic")
        self.add_button.clicked.connect(lambda: self.add_nic())
        row.addWidget(self.add_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.nics: list[NicEditor] = []
        self.add_nic()

    def allowed_modes(self) -> Optional[tuple[str, ...]]:
        """The modes the target can run: Xen kinds only what xl connects (also on a test connection)."""
        return XEN_MODES if self.builder.kind.xen else None

    def add_nic(self, mode: Optional[str] = None) -> NicEditor:
        ed = NicEditor(len(self.nics) + 1, self)
        ed.remove.clicked.connect(lambda: self.remove_nic(ed))
        ed.changed.connect(self.emit_changed)
        self.nics.append(ed)
        self.list.insertWidget(self.list.count() - 1, ed)
        self._setup(ed)
        if mode is not None:
            ed.set_mode(mode)
        elif self.builder.kind.xen:
            ed.set_mode("bridge")
            ed.bridge.setText("xenbr0")
        self._renumber()
        self.changed.emit()
        return ed

    def remove_nic(self, ed: NicEditor) -> None:
        self.nics.remove(ed)
        ed.setParent(None)
        ed.deleteLater()
        self._renumber()
        self.changed.emit()

    def _renumber(self) -> None:
        for i, ed in enumerate(self.nics, 1):
            ed.setTitle(f"Interface {i}")

    def _setup(self, ed: NicEditor) -> None:
        kind = self.builder.kind
        ed.set_models(() if kind.pv else (NIC_MODELS_XEN_HVM if kind.xen else NIC_MODELS_HVM))
        allowed = self.allowed_modes()
        ed.set_allowed_modes(allowed, XEN_REASON)
        ed.set_networks(self.host.networks if self.host else None)
        ed.mac.setPlaceholderText("00:16:3e:xx:xx:xx" if kind.xen else "52:54:00:xx:xx:xx")

    def kind_changed(self) -> None:
        self.subtitle = (type(self).subtitle if not self.builder.kind.xen else
                         "Network interfaces: virtual network, bridge or ethernet (a script) — what xl connects "
                         "Xen guests to.")
        for ed in self.nics:
            self._setup(ed)
            allowed = self.allowed_modes()
            if allowed is not None and ed.current_mode() not in allowed:
                ed.set_mode("bridge")
            if ed.bridge.text() in ("br0", "xenbr0"):  # the suggestion follows the hypervisor
                ed.bridge.setText("xenbr0" if self.builder.kind.xen else "br0")

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        taken: set[str] = set()
        allowed = self.allowed_modes()
        for i, ed in enumerate(self.nics, 1):
            out.extend(ed.problems(i, taken, allowed))
        return out

    def apply(self) -> None:
        self.builder.set_interfaces([ed.spec() for ed in self.nics])

    def summary(self) -> list[tuple[str, str]]:
        return [("Network", "; ".join(ed.describe() for ed in self.nics) or "none")]
