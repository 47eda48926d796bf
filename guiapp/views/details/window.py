"""The details window of one domain: overview, performance, hardware (CPUs, memory, boot, devices), XML,
snapshots."""

from __future__ import annotations

import uuid as uuid_mod
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...models.api import ACTIVE_STATES, libvirt, state_name
from ...models.domains import format_bytes, format_rate
from ..close_keys import close_on_keys
from ..icons import app_icon
from .graphs import GraphWidget
from .hardware_tab import HardwareTab
from .history_tab import HistoryTab
from .hwapply import read_identity
from .overview_edit import IdentityBox
from .resources_page import ResourcesPage, selectable
from .snapshots_tab import SnapshotsTab
from .xml_tab import XmlTab

if TYPE_CHECKING:
    from ..main_window.window import MainWindow

BOOT_DEVICES = (("hd", "Hard disk"), ("cdrom", "CD-ROM"), ("network", "Network (PXE)"), ("fd", "Floppy"))
_XML_INACTIVE = getattr(libvirt, "VIR_DOMAIN_XML_INACTIVE", 2)
_XML_SECURE = getattr(libvirt, "VIR_DOMAIN_XML_SECURE", 1)


class DetailsWindow(ResourcesPage, QWidget):
    """Loads the definition on the pool; every change goes through the job runner."""

    def __init__(self, main: MainWindow, uri: str, uuid: bytes, *, embedded: bool = False) -> None:
        super().__init__(None, Qt.WindowType.Widget if embedded else Qt.WindowType.Window)
        self.main = main
        self.uri = uri
        self.uuid = uuid
        self.setObjectName("detailsWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowIcon(app_icon())
        self.definition: Any = None  # DomainDef of the inactive definition
        self.live_xml = ""
        self.hv_type = ""
        self.autostart: Optional[bool] = None
        self.loaded = False
        self.reloading = False  # a reload job is on the pool
        row = main.model.domain_row(uri, uuid)
        self.name = row.name if row else uuid.hex()
        self.setWindowTitle(f"{self.name} — details")
        self.resize(760, 560)
        layout = QVBoxLayout(self)
        self.status = QLabel("Loading…")
        self.status.setObjectName("detailsStatus")
        self.status.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("detailsTabs")
        layout.addWidget(self.tabs)
        layout.addWidget(self.status)
        self._build_overview()
        self._build_performance()
        self._build_resources()
        self._build_boot()
        self._build_devices()
        self.xml_tab = XmlTab(self, hypervisor=lambda: self.definition.type if self.definition else None,
                              settings=lambda: getattr(self.main, "settings", None))
        self.xml_tab.apply_requested.connect(self.apply_xml)
        self.tabs.addTab(self.xml_tab, "&XML")
        self.snapshots_tab = SnapshotsTab(self)
        self.tabs.addTab(self.snapshots_tab, "&Snapshots")
        self.snapshots_tab.reload()
        self.history_tab = HistoryTab(self)  # config versions (guiapp extension)
        self.tabs.addTab(self.history_tab, "&History")
        if not embedded:  # a page of the VM window closes with it
            close_on_keys(self)
        main.manager.polled.connect(self._on_polled)
        self.reload()

    def add_tab(self, widget: QWidget, label: str) -> int:
        """The hook for more tabs (history, …): added before XML and Snapshots' place."""
        return self.tabs.insertTab(self.tabs.indexOf(self.xml_tab), widget, label)

    def take_snapshots_tab(self) -> SnapshotsTab:
        """Remove the Snapshots tab (the VM window shows it as a page of its own) and return it."""
        self.tabs.removeTab(self.tabs.indexOf(self.snapshots_tab))
        return self.snapshots_tab

    # ------------------------------------------------------------------- tabs
    def _build_overview(self) -> None:
        w = QWidget()
        form = QFormLayout(w)
        self.ov: dict[str, QLabel] = {}
        for key, label in (("name", "Name"), ("uuid", "UUID"), ("state", "State"), ("hypervisor", "Hypervisor"),
                           ("arch", "Architecture"), ("emulator", "Emulator"), ("os_type", "OS type"),
                           ("memory", "Memory"), ("vcpus", "vCPUs"), ("uri", "Connection")):
            lab = selectable(QLabel("–"))
            lab.setObjectName(f"overview_{key}")
            self.ov[key] = lab
            form.addRow(f"{label}:", lab)
        self.ov["uri"].setText(self.uri)
        self.ov["uuid"].setText(str(uuid_mod.UUID(bytes=self.uuid)))
        self.pending_note = QLabel("")
        self.pending_note.setObjectName("pendingNote")
        self.pending_note.setStyleSheet("color: #8a5a00")
        self.pending_note.hide()
        form.addRow(self.pending_note)
        self.identity = IdentityBox(self)
        form.addRow(self.identity)
        self.tabs.addTab(w, "&Overview")

    def _build_performance(self) -> None:
        w = QWidget()
        grid = QGridLayout(w)
        self.graph_cpu = GraphWidget("CPU", "#3f8fd2", lambda v: f"{v:.0f} %", scale=100.0)
        self.graph_mem = GraphWidget("Memory", "#5fb35f", lambda v: format_bytes(v * 1024))
        self.graph_disk = GraphWidget("Disk I/O", "#d9822b", format_rate)
        self.graph_net = GraphWidget("Network I/O", "#8e5ac8", format_rate)
        for i, g in enumerate((self.graph_cpu, self.graph_mem, self.graph_disk, self.graph_net)):
            grid.addWidget(g, i // 2, i % 2)
        self.tabs.addTab(w, "&Performance")

    def _build_boot(self) -> None:
        w = QWidget()
        layout = QVBoxLayout(w)
        self.autostart_box = QCheckBox("Start this domain when the host boots (&autostart)")
        self.autostart_box.setObjectName("autostartBox")
        layout.addWidget(self.autostart_box)
        layout.addWidget(QLabel("Boot order (checked devices, top first; drag to reorder):"))
        row = QHBoxLayout()
        self.boot_list = QListWidget()
        self.boot_list.setObjectName("bootList")
        self.boot_list.setMaximumHeight(110)
        self.boot_list.setDragDropMode(QListWidget.DragDropMode.InternalMove)  # boot order by drag
        self.boot_list.setToolTip("Drag the devices into the order to boot from (or use Up/Down)")
        row.addWidget(self.boot_list)
        col = QVBoxLayout()
        up = QPushButton("&Up")
        up.clicked.connect(lambda: self._move_boot(-1))
        down = QPushButton("Do&wn")
        down.clicked.connect(lambda: self._move_boot(1))
        col.addWidget(up)
        col.addWidget(down)
        col.addStretch(1)
        row.addLayout(col)
        layout.addLayout(row)
        form = QFormLayout()
        self.kernel = QLineEdit()
        self.kernel.setObjectName("kernelEdit")
        self.kernel.setPlaceholderText("none: boot from the devices above")
        self.initrd = QLineEdit()
        self.cmdline = QLineEdit()
        form.addRow("&Kernel:", self.kernel)
        form.addRow("&Initrd:", self.initrd)
        form.addRow("Kernel &arguments:", self.cmdline)
        layout.addLayout(form)
        self.boot_note = selectable(QLabel(""))
        self.boot_note.setWordWrap(True)
        layout.addWidget(self.boot_note)
        self.boot_apply = QPushButton("A&pply")
        self.boot_apply.setObjectName("bootApply")
        self.boot_apply.clicked.connect(self.apply_boot)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.boot_apply)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.boot_page = w  # the Boot Options row of the Hardware list

    def _build_devices(self) -> None:
        self.hardware = HardwareTab(self)
        self.hardware.add_page("cpu", "CPUs", self.resources_page)
        self.hardware.add_page("memory", "Memory", self.resources_page)
        self.hardware.add_page("boot", "Boot Options", self.boot_page)
        self.hardware.on_page = self._show_page
        self.tabs.addTab(self.hardware, "&Hardware")

    def _move_boot(self, delta: int) -> None:
        r = self.boot_list.currentRow()
        if r < 0 or not 0 <= r + delta < self.boot_list.count():
            return
        item = self.boot_list.takeItem(r)
        self.boot_list.insertItem(r + delta, item)
        self.boot_list.setCurrentRow(r + delta)

    # ---------------------------------------------------------------- loading
    def _conn(self) -> Any:
        return self.main.manager.conn(self.uri)

    def reload(self) -> None:
        conn = self._conn()
        if conn is None:
            self.status.setText("The connection is not open.")
            return
        uuid = self.uuid
        self.reloading = True

        def work() -> tuple[str, str, Optional[bool], str, tuple[str, str]]:
            dom = conn.lookupByUUID(uuid)
            live = dom.XMLDesc(0)
            # the definition the tabs edit and apply: with its secrets (a VNC password) on a read-write
            # connection, so applying a change keeps them; a read-only connection never asks for them
            secure = 0 if conn.isReadOnly() else _XML_SECURE
            try:
                inactive = dom.XMLDesc(_XML_INACTIVE | secure)
            except libvirt.libvirtError:
                inactive = live
            try:
                auto: Optional[bool] = bool(dom.autostart())
            except libvirt.libvirtError:
                auto = None
            return live, inactive, auto, conn.getType(), read_identity(dom)

        self.main.runner.submit(f"Load {self.name}", work, uri=self.uri, operation="virDomainGetXMLDesc",
                                on_result=self._loaded, on_error=self._load_failed, owner=self)

    def _load_failed(self, exc: BaseException) -> None:
        self.reloading = False
        self.status.setText(f"Could not read the definition: {exc}")
        self.main.show_error(exc, operation=f"virDomainGetXMLDesc ('{self.name}')", uri=self.uri)

    def _loaded(self, res: tuple[str, str, Optional[bool], str, tuple[str, str]]) -> None:
        from guiapp.backend.xml.domain import parse_domain

        live, inactive, auto, hv, (title, description) = res
        self.reloading = False
        self.live_xml, self.autostart, self.hv_type = live, auto, hv
        try:
            self.definition = parse_domain(inactive)
            live_def = parse_domain(live)
        except Exception as exc:
            self.status.setText(f"The driver returned a definition the XML model refuses: {exc}")
            self.xml_tab.set_original(inactive)
            return
        self.loaded = True
        self.status.setText("")
        d = self.definition
        self.name = d.name
        self.setWindowTitle(f"{d.name} — details")
        self.ov["name"].setText(d.name)
        self.ov["hypervisor"].setText(f"{hv} (domain type {d.type})")
        self.ov["arch"].setText(d.arch or "–")
        self.ov["emulator"].setText(d.emulator or "–")
        self.ov["os_type"].setText(d.os_type)
        self._fill_live_values(d, live_def)
        self.vcpus.setValue(live_def.vcpus_current)  # what runs (off: what starts), not the maximum
        self.memory.setValue(max(1, live_def.current_memory_kib // 1024))
        self.max_memory.setValue(max(1, d.memory_kib // 1024))
        self.graph_mem.scale = float(live_def.memory_kib)
        self._fill_boot(d, auto)
        entry = self.main.manager.connections.get(self.uri)
        read_only = bool(entry is not None and entry.read_only)
        self.hardware.set_definition(inactive, live, self._is_active(), read_only)
        self.identity.set_values(d.name, title, description, active=self._is_active(), read_only=read_only)
        self.xml_tab.set_original(inactive, keep_edits=True)
        self._update_state()
        if read_only:
            tip = "Read-only connection: changes are not possible"
            for button in (self.resources_apply, self.boot_apply, self.xml_tab.apply_button):
                button.setEnabled(False)
                button.setToolTip(tip)
            self.xml_tab.editor.setReadOnly(True)
            self.status.setText(tip)

    def _fill_live_values(self, d: Any, live_def: Any) -> None:
        """Memory and vCPUs as they are now (running: the live values), with pending changes marked."""
        active = self._is_active()
        now = live_def if active else d

        def mem(x: Any) -> str:
            return f"{format_bytes(x.current_memory_kib * 1024)} of {format_bytes(x.memory_kib * 1024)}"
        def cpus(x: Any) -> str:
            return str(x.vcpus_current) + (f" (maximum {x.vcpus})" if x.vcpus != x.vcpus_current else "")
        mem_text, cpu_text = mem(now), cpus(now)
        pending = []
        if active and (d.current_memory_kib, d.memory_kib) != (live_def.current_memory_kib, live_def.memory_kib):
            mem_text += f"  — {mem(d)} applies at next boot"
            pending.append("memory")
        if active and (d.vcpus_current, d.vcpus) != (live_def.vcpus_current, live_def.vcpus):
            cpu_text += f"  — {cpus(d)} applies at next boot"
            pending.append("vCPUs")
        self.ov["memory"].setText(mem_text)
        self.ov["vcpus"].setText(cpu_text)
        tip = ("The running domain's value; the definition holds a change that takes effect when the domain "
               "next starts")
        self.ov["memory"].setToolTip(tip if "memory" in pending else "")
        self.ov["vcpus"].setToolTip(tip if "vCPUs" in pending else "")
        self.pending_note.setText(("Pending (applies at next boot): " + ", ".join(pending)) if pending else "")
        self.pending_note.setVisible(bool(pending))

    def _fill_boot(self, d: Any, auto: Optional[bool]) -> None:
        self.autostart_box.setEnabled(auto is not None)
        self.autostart_box.setToolTip("" if auto is not None else "This driver does not report autostart")
        self.autostart_box.setChecked(bool(auto))
        self.boot_list.clear()
        order = list(d.boot_devs) + [dev for dev, _l in BOOT_DEVICES if dev not in d.boot_devs]
        labels = dict(BOOT_DEVICES)
        for dev in order:
            item = QListWidgetItem(labels.get(dev, dev))
            item.setData(Qt.ItemDataRole.UserRole, dev)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if dev in d.boot_devs else Qt.CheckState.Unchecked)
            self.boot_list.addItem(item)
        self.kernel.setText(d.kernel or "")
        self.initrd.setText(d.initrd or "")
        self.cmdline.setText(d.cmdline or "")

    def _update_state(self) -> None:
        row = self.main.model.domain_row(self.uri, self.uuid)
        self.ov["state"].setText(state_name(row.state) if row else "not listed")

    def _on_polled(self, uri: str, _result: Any) -> None:
        if uri != self.uri:
            return
        self._update_state()
        h = self.main.manager.history(self.uri, self.uuid)
        if h is not None and self.tabs.currentIndex() == 1:
            self.graph_cpu.set_values(h.cpu)
            self.graph_mem.set_values(h.mem)
            self.graph_disk.set_values(h.disk)
            self.graph_net.set_values(h.net)

    # --------------------------------------------------------------- changes
    def _is_active(self) -> bool:
        row = self.main.model.domain_row(self.uri, self.uuid)
        return row is not None and row.state in ACTIVE_STATES

    def changed(self) -> None:
        """After a change was applied: read the definition again (the XML editor takes the new text) and
        poll the connection now (the list and the overview show the result)."""
        self.xml_tab.set_original("")  # force the reload to replace the editor text
        self.reload()
        self.main.manager.poll_now(self.uri)

    def _define(self, xml: str, done_text: str, note: Optional[QLabel] = None) -> None:
        conn = self._conn()
        if conn is None:
            return

        def ok(_r: Any) -> None:
            if note is not None:
                note.setText(done_text)
            self.changed()

        def failed(exc: BaseException) -> None:
            if note is not None:
                note.setText(f"Not applied: {exc}")
            self.xml_tab.show_apply_error(str(exc))
            self.main.show_error(exc, operation=f"virDomainDefineXML ('{self.name}')", uri=self.uri)

        self.main.runner.submit(f"Define {self.name}", lambda: conn.defineXML(xml), uri=self.uri,
                                operation="virDomainDefineXML", on_result=ok, on_error=failed)

    def apply_xml(self, text: str) -> None:
        self._define(text, "Applied.")

    def boot_order(self) -> list[str]:
        out = []
        for i in range(self.boot_list.count()):
            item = self.boot_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def apply_boot(self) -> None:
        if self.definition is None:
            return
        d = self.definition.copy()
        d.kernel = self.kernel.text().strip() or None
        d.initrd = self.initrd.text().strip() or None
        d.cmdline = self.cmdline.text().strip() or None
        d.boot_devs = self.boot_order()
        xml = d.to_xml(inactive=True, secure=False)
        want_auto = self.autostart_box.isChecked() if self.autostart_box.isEnabled() else None
        conn, uuid, changed_auto = self._conn(), self.uuid, want_auto is not None and want_auto != self.autostart

        def work() -> None:
            conn.defineXML(xml)
            if changed_auto:
                conn.lookupByUUID(uuid).setAutostart(1 if want_auto else 0)

        def ok(_r: Any) -> None:
            self.boot_note.setText("Saved in the definition; boot options take effect at the next start.")
            self.xml_tab.set_original("")
            self.reload()

        def failed(exc: BaseException) -> None:
            self.boot_note.setText(f"Not applied: {exc}")
            self.main.show_error(exc, operation=f"virDomainDefineXML ('{self.name}')", uri=self.uri)

        self.main.runner.submit(f"Boot options of {self.name}", work, uri=self.uri, operation="virDomainDefineXML",
                                on_result=ok, on_error=failed)

    def closeEvent(self, event: QCloseEvent) -> None:
        try:
            self.main.manager.polled.disconnect(self._on_polled)
        except (RuntimeError, TypeError):
            pass
        super().closeEvent(event)
