"""The selected network's XML (read-only, selectable, copyable) and its DHCP leases."""

from __future__ import annotations

import datetime
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .rows import NetworkRow

LEASE_COLUMNS = ("MAC address", "IP address", "Hostname", "Expires")


def mono_font() -> QFont:
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


def lease_cells(lease: dict[str, Any]) -> tuple[str, str, str, str]:
    """A lease dict (libvirt's DHCPLeases keys) as the table shows it."""
    ip = str(lease.get("ipaddr") or "")
    if ip and lease.get("prefix") is not None:
        ip = f"{ip}/{lease['prefix']}"
    expiry = lease.get("expirytime")
    when = ""
    if isinstance(expiry, int) and expiry > 0:
        when = datetime.datetime.fromtimestamp(expiry).strftime("%Y-%m-%d %H:%M:%S")
    return str(lease.get("mac") or ""), ip, str(lease.get("hostname") or ""), when


class XmlPanel(QTabWidget):
    """Two tabs: the XML of the selected network and the leases of an active one."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("networkXmlPanel")
        xml_page = QWidget()
        box = QVBoxLayout(xml_page)
        box.setContentsMargins(4, 4, 4, 4)
        self.xml = QPlainTextEdit()
        self.xml.setObjectName("networkXml")
        self.xml.setReadOnly(True)  # read-only keeps it selectable and copyable
        self.xml.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.xml.setFont(mono_font())
        self.xml.setPlaceholderText("Select a network to see its XML")
        box.addWidget(self.xml)
        bar = QHBoxLayout()
        bar.addStretch(1)
        self.copy_button = QPushButton("&Copy XML")
        self.copy_button.setObjectName("copyXmlButton")
        self.copy_button.setToolTip("Copy the whole XML document to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        bar.addWidget(self.copy_button)
        box.addLayout(bar)
        self.addTab(xml_page, "XML")

        lease_page = QWidget()
        lbox = QVBoxLayout(lease_page)
        lbox.setContentsMargins(4, 4, 4, 4)
        self.lease_note = QLabel("")
        self.lease_note.setObjectName("leaseNote")
        self.lease_note.setWordWrap(True)
        lbox.addWidget(self.lease_note)
        self.leases = QTableWidget(0, len(LEASE_COLUMNS))
        self.leases.setObjectName("leaseTable")
        self.leases.setHorizontalHeaderLabels(LEASE_COLUMNS)
        self.leases.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.leases.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.leases.verticalHeader().hide()
        self.leases.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        lbox.addWidget(self.leases)
        self.addTab(lease_page, "DHCP leases")
        self._row: Optional[NetworkRow] = None
        self.show_row(None)

    def show_row(self, row: Optional[NetworkRow]) -> None:
        """Show ``row``'s XML; the leases are cleared until :meth:`set_leases` brings them."""
        text = row.xml if row is not None else ""
        if self.xml.toPlainText() != text:
            self.xml.setPlainText(text)
        self.copy_button.setEnabled(bool(text))
        same = row is not None and self._row is not None and row.key == self._row.key and row.active
        self._row = row
        if same and self._row.dhcp:
            return  # the same running network: its leases stay until the next read replaces them
        self.leases.setRowCount(0)
        if row is None:
            self.lease_note.setText("Select a network to see its DHCP leases.")
        elif not row.active:
            self.lease_note.setText(f"'{row.name}' is not running: start it to hand out DHCP leases.")
        elif not row.dhcp:
            self.lease_note.setText(f"'{row.name}' has no DHCP range.")
        else:
            self.lease_note.setText("Reading the leases…")

    def set_leases(self, leases: list[dict[str, Any]]) -> None:
        self.leases.setRowCount(len(leases))
        for r, lease in enumerate(leases):
            for c, text in enumerate(lease_cells(lease)):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.leases.setItem(r, c, item)
        self.lease_note.setText(f"{len(leases)} lease{'s' if len(leases) != 1 else ''}")

    def set_lease_error(self, message: str) -> None:
        self.leases.setRowCount(0)
        self.lease_note.setText(f"Could not read the leases: {message}")

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.xml.toPlainText())
