"""The Add Hardware dialog: disk (new image, volume or file), CD-ROM, NIC, serial, display, input, video,
sound, shared folder (virtiofs hosts).  Fields are checked as typed; Finish is enabled only without a problem.

The dialog builds nothing on the driver itself: :meth:`AddHardwareDialog.job` returns the function the
hardware tab runs on the pool (creating the new volume through the storage API first when asked).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...backend.errors import DriverError
from ...backend.xml import device_build as db
from ...backend.xml.builder import NIC_MODELS_HVM, NIC_MODELS_XEN_HVM, DiskSpec
from ..storage.rows import PoolRow, fetch_pools, volume_xml
from ..wizard.base import PathField
from ..wizard.page_network import XEN_MODES, NicEditor
from ..wizard.storage_target import PATH_POOLS, preselected, volume_name_problem
from .hardware_forms import mark

GIB = 1024 ** 3
KINDS = (("disk", "Storage"), ("cdrom", "CD-ROM drive"), ("nic", "Network interface"), ("serial", "Serial port"),
         ("graphics", "Display (VNC/SPICE)"), ("input", "Input device"), ("video", "Video"), ("sound", "Sound"),
         ("filesystem", "Shared folder (virtiofs)"))


class AddHardwareDialog(QDialog):
    """Choose a kind on the left, fill its page; ``job(conn, domain_xml)`` makes the device XML on the pool."""

    def __init__(self, parent: QWidget, *, uri: str, conn: Any, runner: Any, hypervisor: str,
                 xen: bool = False, virtiofs: Optional[bool] = None, disk_format: str = "qcow2") -> None:
        super().__init__(parent)
        self.disk_format = disk_format  # of a new volume: the Preferences' default storage format
        self.setObjectName("addHardwareDialog")
        self.setWindowTitle("Add Hardware")
        self.uri, self.conn, self.runner, self.hypervisor, self.xen = uri, conn, runner, hypervisor, xen
        self.pools: list[PoolRow] = []
        lay = QHBoxLayout(self)
        self.kinds = QListWidget()
        self.kinds.setObjectName("hwKinds")
        self.kinds.setFixedWidth(self.kinds.fontMetrics().horizontalAdvance("Shared folder (virtiofs)") + 36)
        self.stack = QStackedWidget()
        self.keys: list[str] = []
        fs_ok = db.virtiofs_available() if virtiofs is None else virtiofs
        for key, label in KINDS:
            page = getattr(self, f"_page_{key}")()  # every page's fields exist; the host decides what is offered
            if key == "filesystem" and not fs_ok:
                page.setParent(self)  # kept (its fields are checked) but never shown
                page.hide()
                continue
            self.kinds.addItem(label)
            self.keys.append(key)
            self.stack.addWidget(page)
        right = QVBoxLayout()
        right.addWidget(self.stack, 1)
        self.problem_label = QLabel("")
        self.problem_label.setObjectName("hwProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #c62828")
        right.addWidget(self.problem_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.finish = buttons.addButton("&Finish", QDialogButtonBox.ButtonRole.AcceptRole)
        self.finish.setObjectName("hwFinish")
        self.finish.clicked.connect(self._finish)
        buttons.rejected.connect(self.reject)
        right.addWidget(buttons)
        lay.addWidget(self.kinds)
        lay.addLayout(right, 1)
        self.kinds.currentRowChanged.connect(self._kind_changed)
        self.kinds.setCurrentRow(0)
        self.resize(720, 460)
        runner.submit(f"List storage pools of {uri}", lambda: fetch_pools(uri, conn, False),
                      on_result=self._pools_loaded, on_error=lambda _e: self._pools_loaded([]), owner=self)
        runner.submit(f"List networks of {uri}", lambda: [n.name() for n in conn.listAllNetworks(0)],
                      on_result=self.nic.set_networks, on_error=lambda _e: self.nic.set_networks(None), owner=self)

    # ------------------------------------------------------------------ pages
    def _page(self) -> tuple[QWidget, QFormLayout]:
        w = QWidget()
        return w, QFormLayout(w)

    def _watch(self, *widgets: Any) -> None:
        for w in widgets:
            for sig in ("textChanged", "currentIndexChanged", "valueChanged", "toggled", "changed"):
                if hasattr(w, sig):
                    getattr(w, sig).connect(self.check)

    def _page_disk(self) -> QWidget:
        w, form = self._page()
        self.disk_new = QRadioButton("&New image in a storage pool")
        self.disk_new.setObjectName("diskNew")
        self.disk_new.setChecked(True)
        self.disk_file = QRadioButton("Existing &volume or file")
        self.disk_file.setObjectName("diskExisting")
        form.addRow(self.disk_new)
        self.pool = QComboBox()
        self.pool.setObjectName("diskPool")
        self.vol_name = QLineEdit("disk1.qcow2" if self.disk_format == "qcow2" else "disk1.img")
        self.vol_name.setObjectName("diskVolName")
        self.vol_size = QDoubleSpinBox()
        self.vol_size.setObjectName("diskSize")
        self.vol_size.setRange(0.001, 65536)
        self.vol_size.setValue(1.0)
        self.vol_size.setSuffix(" GiB")
        self.vol_format = QComboBox()
        self.vol_format.addItems(["qcow2", "raw"])
        self.vol_format.setCurrentText(self.disk_format)
        form.addRow("Pool:", self.pool)
        form.addRow("Name:", self.vol_name)
        form.addRow("Size:", self.vol_size)
        form.addRow("Format:", self.vol_format)
        form.addRow(self.disk_file)
        row = QHBoxLayout()
        self.disk_path = PathField("/path/to/image.qcow2")
        self.disk_path.setObjectName("diskPathNew")
        browse = QPushButton("Browse &volumes…")
        browse.clicked.connect(lambda: self._browse_volume(self.disk_path, isos=False))
        row.addWidget(self.disk_path, 1)
        row.addWidget(browse)
        form.addRow("Path:", row)
        self.disk_bus = QComboBox()
        self.disk_bus.setObjectName("diskBus")
        self.disk_bus.addItems(["xen"] if self.xen else [b for b in db.DISK_BUSES if b != "xen"])
        form.addRow("Bus:", self.disk_bus)
        self._watch(self.disk_new, self.pool, self.vol_name, self.vol_size, self.disk_path, self.disk_bus)
        return w

    def _page_cdrom(self) -> QWidget:
        w, form = self._page()
        row = QHBoxLayout()
        self.cd_path = PathField("empty drive (insert an ISO later)")
        self.cd_path.setObjectName("cdromPath")
        browse = QPushButton("Browse &volumes…")
        browse.clicked.connect(lambda: self._browse_volume(self.cd_path, isos=True))
        row.addWidget(self.cd_path, 1)
        row.addWidget(browse)
        form.addRow("ISO image:", row)
        self.cd_bus = QComboBox()
        self.cd_bus.setObjectName("cdromBus")
        self.cd_bus.addItems(list(db.CDROM_BUSES))
        form.addRow("Bus:", self.cd_bus)
        self._watch(self.cd_path, self.cd_bus)
        return w

    def _page_nic(self) -> QWidget:
        self.nic = NicEditor(1, None)  # type: ignore[arg-type]  # it only keeps the page for the wizard
        self.nic.setTitle("")
        self.nic.remove.hide()
        self.nic.set_models(NIC_MODELS_XEN_HVM if self.xen else NIC_MODELS_HVM)
        self.nic.set_allowed_modes(self.allowed_modes(), "Not on Xen: xl connects interfaces only to a bridge or "
                                                         "a script (ethernet)")
        if self.xen:
            self.nic.set_mode("bridge")
        self._watch(self.nic)
        return self.nic

    def _page_serial(self) -> QWidget:
        w, form = self._page()
        self.serial_type = QComboBox()
        self.serial_type.addItems(list(db.SERIAL_TYPES))
        form.addRow("Type:", self.serial_type)
        return w

    def _page_graphics(self) -> QWidget:
        w, form = self._page()
        self.gfx_type = QComboBox()
        self.gfx_type.addItems(list(db.GRAPHICS_TYPES))
        self.gfx_listen = QLineEdit("127.0.0.1")
        self.gfx_listen.setObjectName("gfxListen")
        self.gfx_port = QSpinBox()
        self.gfx_port.setRange(-1, 65535)
        self.gfx_port.setSpecialValueText("automatic")
        self.gfx_port.setValue(-1)
        form.addRow("Type:", self.gfx_type)
        form.addRow("Listen address:", self.gfx_listen)
        form.addRow("Port:", self.gfx_port)
        self._watch(self.gfx_listen, self.gfx_port)
        return w

    def _page_input(self) -> QWidget:
        w, form = self._page()
        self.input_type = QComboBox()
        for kind, bus in db.INPUT_TYPES:
            self.input_type.addItem(f"{kind.capitalize()} ({bus.upper()})", (kind, bus))
        form.addRow("Device:", self.input_type)
        return w

    def _page_video(self) -> QWidget:
        w, form = self._page()
        self.video_model = QComboBox()
        self.video_model.addItems(list(db.VIDEO_MODELS))
        form.addRow("Model:", self.video_model)
        return w

    def _page_sound(self) -> QWidget:
        w, form = self._page()
        self.sound_model = QComboBox()
        self.sound_model.addItems(list(db.SOUND_MODELS))
        form.addRow("Model:", self.sound_model)
        return w

    def _page_filesystem(self) -> QWidget:
        w, form = self._page()
        self.fs_source = PathField("/host/folder/to/share", directory=True)
        self.fs_source.setObjectName("fsSource")
        self.fs_tag = QLineEdit("share")
        self.fs_tag.setObjectName("fsTag")
        form.addRow("Host folder:", self.fs_source)
        form.addRow("Mount tag:", self.fs_tag)
        form.addRow(QLabel("In the guest: mount -t virtiofs <tag> /mnt. virtiofs needs shared memory "
                           "(<memoryBacking><access mode='shared'/>) in the definition."))
        self._watch(self.fs_source, self.fs_tag)
        return w

    # ---------------------------------------------------------------- helpers
    def allowed_modes(self) -> Optional[tuple[str, ...]]:
        return XEN_MODES if self.xen else None

    def _pools_loaded(self, pools: list[PoolRow]) -> None:
        self.pools = [p for p in pools if p.type in PATH_POOLS and p.active]
        self.pool.clear()
        for p in self.pools:
            self.pool.addItem(p.name, p.name)
        pre = preselected(self.pools)
        if pre is not None:
            self.pool.setCurrentIndex(self.pool.findData(pre.name))
        if not self.pools:
            self.disk_new.setEnabled(False)
            self.disk_new.setToolTip("This connection has no active storage pool")
            self.disk_file.setChecked(True)
        self.check()

    def _browse_volume(self, field: PathField, *, isos: bool) -> None:
        from ..wizard.volume_browser import VolumeBrowser

        dlg = VolumeBrowser(self.conn, self.uri, self.runner, self, isos_only=isos)
        def chosen(path: str, _fmt: str) -> None:
            field.setText(path)
            if field is self.disk_path:
                self.disk_file.setChecked(True)
        dlg.chosen.connect(chosen)
        self.volume_browser = dlg
        dlg.open()

    def kind(self) -> str:
        return self.keys[self.kinds.currentRow()]

    def set_kind(self, key: str) -> None:
        self.kinds.setCurrentRow(self.keys.index(key))

    def _kind_changed(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        self.check()

    # ----------------------------------------------------------------- checks
    def problem(self) -> Optional[str]:
        """What must be fixed before Finish (the field is outlined in red), or None."""
        for w in (self.vol_name, self.disk_path.edit, self.cd_path.edit, self.gfx_listen, self.fs_tag,
                  self.fs_source.edit):
            mark(w, False)
        k = self.kind()
        msg: Optional[str] = None
        bad: Optional[QWidget] = None
        if k == "disk":
            if self.disk_new.isChecked():
                if not self.pools:
                    msg = "No active storage pool on this connection: choose an existing volume or file"
                else:
                    bad, msg = self.vol_name, volume_name_problem(self.vol_name.text().strip())
            else:
                bad, msg = self.disk_path.edit, db.path_problem(self.disk_path.text(), "disk image path")
        elif k == "cdrom" and self.cd_path.text():
            bad, msg = self.cd_path.edit, db.path_problem(self.cd_path.text(), "ISO image path")
        elif k == "nic":
            probs = self.nic.problems(1, set(), self.allowed_modes())
            msg = probs[0][1] if probs else None
        elif k == "graphics":
            bad, msg = self.gfx_listen, db.listen_problem(self.gfx_listen.text().strip())
        elif k == "filesystem":
            bad, msg = self.fs_source.edit, db.path_problem(self.fs_source.text(), "shared folder")
            if msg is None:
                bad, msg = self.fs_tag, db.tag_problem(self.fs_tag.text().strip())
        if msg is not None and bad is not None:
            mark(bad, True)
        return msg

    def check(self, *_a: Any) -> None:
        msg = self.problem()
        self.problem_label.setText(msg or "")
        self.finish.setEnabled(msg is None)

    def _finish(self) -> None:
        if self.problem() is None:
            self.accept()

    # -------------------------------------------------------------------- job
    def job(self, domain_xml: str) -> Callable[[], str]:
        """A function for the pool that returns the new device's XML (creating a new volume first if asked)."""
        k, conn, xen, hv = self.kind(), self.conn, self.xen, self.hypervisor
        if k == "disk":
            bus = self.disk_bus.currentText()
            if self.disk_new.isChecked():
                pool, name = self.pool.currentData(), self.vol_name.text().strip()
                fmt, size = self.vol_format.currentText(), int(self.vol_size.value() * GIB)

                def make_disk() -> str:
                    vol = conn.storagePoolLookupByName(pool).createXML(volume_xml(name, fmt, size), 0)
                    return db.new_disk(domain_xml, DiskSpec("disk", vol.path(), fmt), bus, xen=xen)
                return make_disk
            path = self.disk_path.text()
            fmt = "qcow2" if path.endswith(".qcow2") else "raw"
            return lambda: db.new_disk(domain_xml, DiskSpec("disk", path, fmt), bus, xen=xen)
        if k == "cdrom":
            path, bus = self.cd_path.text(), self.cd_bus.currentText()
            return lambda: db.new_disk(domain_xml, DiskSpec("cdrom", path, "raw" if path else ""), bus, xen=xen)
        if k == "nic":
            spec = self.nic.spec()
            return lambda: db.new_nic(spec, hv)
        xml = self._simple_xml(k)
        return lambda: xml

    def _simple_xml(self, k: str) -> str:
        if k == "serial":
            return db.new_serial(self.serial_type.currentText())
        if k == "graphics":
            return db.new_graphics(self.gfx_type.currentText(), self.gfx_listen.text().strip(), self.gfx_port.value())
        if k == "input":
            kind, bus = self.input_type.currentData()
            return db.new_input(kind, bus)
        if k == "video":
            return db.new_video(self.video_model.currentText())
        if k == "sound":
            return db.new_sound(self.sound_model.currentText())
        if k == "filesystem":
            return db.new_filesystem(self.fs_source.text(), self.fs_tag.text().strip())
        raise DriverError(0, f"unknown hardware kind {k}")

