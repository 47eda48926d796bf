"""Page 4: storage — a new volume in a pool (or an image file made with qemu-img), an existing volume, file or
block device (a volume browser lists the pools' volumes); extra drives.  Pools are read with the host info and
changed only when the user asks (Define the default pool)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from guiapp.backend.cli_storage import pretty
from guiapp.backend.xml.builder import DISK_FORMATS, DiskSpec

from ..storage.rows import PoolRow
from . import checks
from .base import PathField, Problem, WizardPage, note
from .finish import DiskPlan
from .hostinfo import load_pools
from .storage_target import default_pool_xml, pool_for_path, preselected, volume_name_problem, volume_path
from .volume_browser import VolumeBrowser

if TYPE_CHECKING:
    from .wizard import NewVMWizard

BUSES_KVM = ("virtio", "ide", "sata", "scsi")


def default_image_dir(uri: Optional[str] = None) -> str:
    """Where new disk images go: the user's data folder, or for test connections a temporary folder.

    The test driver keeps everything in memory, so its guests' images go to a per-process folder under the
    temporary directory that is removed when guiapp exits (nothing is left in the user's home).
    """
    if uri is not None and uri.split(":", 1)[0].split("+", 1)[0] == "test":
        return test_image_dir()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "guiapp", "images")


_TEST_DIR: list[str] = []


def test_image_dir() -> str:
    """The per-process folder for test connections' images (made on first use, removed at exit)."""
    if not _TEST_DIR:
        _TEST_DIR.append(os.path.join(tempfile.gettempdir(), f"guiapp-test-images-{os.getpid()}"))
        atexit.register(shutil.rmtree, _TEST_DIR[0], True)
    return _TEST_DIR[0]


def _is_block(path: str) -> bool:
    import stat
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


class ExtraDrive(QWidget):
    """One extra cdrom or floppy drive (empty path: an empty drive)."""

    def __init__(self, device: str, page: StoragePage) -> None:
        super().__init__()
        self.device = device
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("CD-ROM:" if device == "cdrom" else "Floppy:"))
        self.path = PathField("empty drive" if device == "cdrom" else "empty floppy drive")
        self.path.textChanged.connect(page.emit_changed)
        lay.addWidget(self.path, 1)
        self.volumes = QPushButton("Volumes…")
        self.volumes.setToolTip("Choose an ISO image or other volume from the connection's storage pools")
        self.volumes.clicked.connect(lambda: page.browse_volumes(self))
        lay.addWidget(self.volumes)
        self.remove = QPushButton("Remove")
        self.remove.clicked.connect(lambda: page.remove_extra(self))
        lay.addWidget(self.remove)


class StoragePage(WizardPage):
    title = "Storage"
    subtitle = "The guest's disk and any extra CD-ROM or floppy drives."
    anchor = "<disk"

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__(wizard)
        lay = QVBoxLayout(self)
        self.main_box = QGroupBox("Main disk")
        ml = QVBoxLayout(self.main_box)
        self.modes = QButtonGroup(self)
        self.mode_buttons: dict[str, QRadioButton] = {}
        for key, label in (("new", "Create a new disk image"), ("existing", "Use an existing file or block device"),
                           ("none", "No disk")):
            rb = QRadioButton(label)
            rb.setObjectName(f"disk-{key}")
            self.modes.addButton(rb)
            self.mode_buttons[key] = rb
            ml.addWidget(rb)
            if key == "new":
                self.new_box = QWidget()
                nl = QFormLayout(self.new_box)
                nl.setContentsMargins(22, 0, 0, 0)
                self.location = QComboBox()
                self.location.setObjectName("diskLocation")
                self.pool_button = QPushButton("Define the default pool")
                self.pool_button.setObjectName("definePool")
                self.pool_button.clicked.connect(self.define_default_pool)
                loc_row = QHBoxLayout()
                loc_row.addWidget(self.location, 1)
                loc_row.addWidget(self.pool_button)
                self.new_path = PathField("/path/to/new.qcow2", save=True)
                self.new_format = QComboBox()
                self.new_format.addItems(list(DISK_FORMATS))
                self.new_size = QDoubleSpinBox()
                self.new_size.setObjectName("diskSize")
                self.new_size.setRange(0, 1 << 20)
                self.new_size.setDecimals(2)
                self.new_size.setSuffix(" GiB")
                self.new_size.setValue(10)
                nl.addRow("Location:", loc_row)
                self.location_note = note("")
                nl.addRow("", self.location_note)
                nl.addRow("File:", self.new_path)
                nl.addRow("Format:", self.new_format)
                nl.addRow("Size:", self.new_size)
                self.defaults_note = note("")  # where size and format came from (prefs_defaults.py)
                self.defaults_note.setObjectName("storageDefaultsNote")
                nl.addRow("", self.defaults_note)
                ml.addWidget(self.new_box)
            elif key == "existing":
                self.existing_box = QWidget()
                el = QFormLayout(self.existing_box)
                el.setContentsMargins(22, 0, 0, 0)
                self.existing_path = PathField("/path/to/disk.img or /dev/sdX")
                self.existing_format = QComboBox()
                self.existing_format.addItems(list(DISK_FORMATS))
                self.existing_format.setCurrentText("raw")
                self.browse_button = QPushButton("Browse volumes…")
                self.browse_button.setObjectName("browseVolumes")
                self.browse_button.clicked.connect(lambda: self.browse_volumes(None))
                el.addRow("File or device:", self.existing_path)
                el.addRow("", self.browse_button)
                el.addRow("Format:", self.existing_format)
                ml.addWidget(self.existing_box)
            rb.toggled.connect(self._mode_toggled)
        bus_row = QFormLayout()
        self.bus = QComboBox()
        self.bus.setObjectName("diskBus")
        bus_row.addRow("Disk bus:", self.bus)
        ml.addLayout(bus_row)
        self.import_note = note("")
        ml.addWidget(self.import_note)
        lay.addWidget(self.main_box)

        self.extra_box = QGroupBox("Extra drives")
        xl = QVBoxLayout(self.extra_box)
        self.extra_list = QVBoxLayout()
        xl.addLayout(self.extra_list)
        row = QHBoxLayout()
        self.add_cdrom = QPushButton("Add CD-ROM")
        self.add_floppy = QPushButton("Add floppy")
        self.add_cdrom.clicked.connect(lambda: self.add_extra("cdrom"))
        self.add_floppy.clicked.connect(lambda: self.add_extra("floppy"))
        row.addWidget(self.add_cdrom)
        row.addWidget(self.add_floppy)
        row.addStretch(1)
        xl.addLayout(row)
        lay.addWidget(self.extra_box)
        lay.addStretch(1)
        self.extras: list[ExtraDrive] = []
        self._auto_path = ""
        self.pools: Optional[list[PoolRow]] = None  # None: no storage API on this connection
        self._pools_uri: Optional[str] = None
        self.browser: Optional[VolumeBrowser] = None
        self.location.currentIndexChanged.connect(self._location_chosen)
        self.new_path.textChanged.connect(self._path_edited)
        self.new_path.textChanged.connect(self.emit_changed)
        self.existing_path.textChanged.connect(self.emit_changed)
        for combo in (self.new_format, self.existing_format, self.bus):
            combo.currentIndexChanged.connect(self.emit_changed)
        self.new_format.currentIndexChanged.connect(self._format_changed)
        self.new_size.valueChanged.connect(self.emit_changed)
        self.mode_buttons["new"].setChecked(True)

    # -- state -------------------------------------------------------------------------------
    def mode(self) -> str:
        if self.importing():
            return "import"
        for key, rb in self.mode_buttons.items():
            if rb.isChecked():
                return key
        return "none"

    def set_mode(self, key: str) -> None:
        self.mode_buttons[key].setChecked(True)

    def importing(self) -> bool:
        return self.builder.kind.hvm and self.wizard.install_page.method() == "import"

    def _mode_toggled(self, on: bool) -> None:
        if on:
            self._sync()
            self.changed.emit()

    def _sync(self) -> None:
        imp = self.importing()
        m = self.mode()
        for rb in self.mode_buttons.values():
            rb.setEnabled(not imp)
        self.new_box.setEnabled(m == "new")
        self.existing_box.setEnabled(m == "existing")
        self.import_note.setVisible(imp)
        if imp:
            self.import_note.setText(f"The imported image {self.wizard.install_page.image.text()} is the main disk "
                                     f"(chosen on the install page).")
        self.bus.setEnabled(m != "none" and self.bus.count() > 1)

    def add_extra(self, device: str, path: str = "") -> ExtraDrive:
        row = ExtraDrive(device, self)
        row.path.setText(path)
        row.volumes.setVisible(self.pools is not None)
        self.extras.append(row)
        self.extra_list.addWidget(row)
        self.changed.emit()
        return row

    def remove_extra(self, row: ExtraDrive) -> None:
        self.extras.remove(row)
        row.setParent(None)
        row.deleteLater()
        self.changed.emit()

    def _suggested_path(self) -> str:
        ext = "qcow2" if self.new_format.currentText() == "qcow2" else "img"
        pool = self.chosen_pool()
        if pool is not None:
            return volume_path(pool, f"{self.builder.name}.{ext}")
        return os.path.join(default_image_dir(self.wizard.uri), f"{self.builder.name}.{ext}")

    # -- pools -------------------------------------------------------------------------------
    def chosen_pool(self) -> Optional[PoolRow]:
        name = self.location.currentData()
        return next((p for p in self.pools or [] if p.name == name), None)

    def set_pools(self, pools: Optional[list[PoolRow]], select: Optional[str] = None) -> None:
        """Fill the Location list (pools, then a custom path); ``select`` a pool, else keep or preselect."""
        keep = select or (self.location.currentData() if self._pools_uri == self.wizard.uri else None)
        first = self._pools_uri != self.wizard.uri
        self.pools, self._pools_uri = pools, self.wizard.uri
        self.location.blockSignals(True)
        self.location.clear()
        for p in pools or []:
            state = f"{pretty(p.available)} free" if p.active else "inactive: started on Create"
            self.location.addItem(f"Pool {p.name} ({p.type}, {state})", p.name)
        self.location.addItem("A file path of my choice (no pool)", "")
        default = preselected(pools or [])
        wanted = keep if keep is not None and not first else (default.name if default is not None else "")
        idx = self.location.findData(wanted)
        self.location.setCurrentIndex(idx if idx >= 0 else self.location.count() - 1)
        self.location.blockSignals(False)
        self.pool_button.setVisible(pools is not None and not pools and not self.wizard.host.read_only
                                    if self.wizard.host else False)
        self.browse_button.setVisible(pools is not None)
        for row in self.extras:
            row.volumes.setVisible(pools is not None)
        self._location_chosen()

    def _location_chosen(self, *_args: object) -> None:
        pool = self.chosen_pool()
        if not self.new_path.text() or self.new_path.text() == self._auto_path or pool is not None:
            self._auto_path = self._suggested_path()
            self.new_path.setText(self._auto_path)
        if pool is None:
            self.location_note.setText("The image file is made with qemu-img, outside any storage pool."
                                       if self.pools is not None else "")
        else:
            self.location_note.setText(f"A new volume of pool {pool.name}, in {pool.target}"
                                       + ("" if pool.active else f" (pool {pool.name} is started on Create)"))
        self.changed.emit()

    def _path_edited(self, text: str) -> None:
        """A path typed by hand: the Location follows the pool whose folder holds it."""
        if self.pools is None:
            return
        pool = pool_for_path(self.pools, text.strip())
        name = pool.name if pool is not None else ""
        if self.location.currentData() != name:
            self.location.blockSignals(True)
            self.location.setCurrentIndex(self.location.findData(name))
            self.location.blockSignals(False)
            self.location_note.setText(f"A new volume of pool {name}" if name else
                                       "The image file is made with qemu-img, outside any storage pool.")

    def define_default_pool(self) -> None:
        """Define, build and start a ``default`` dir pool (only on this click; never as a side effect)."""
        conn, uri = self.wizard.conn, self.wizard.uri or ""
        xml = default_pool_xml(uri, default_image_dir(uri))
        self.pool_button.setEnabled(False)
        self.location_note.setText("Defining the default pool…")

        def work() -> Optional[list[PoolRow]]:
            pool = conn.storagePoolDefineXML(xml, 0)
            pool.build(0)
            pool.create(0)
            pool.setAutostart(1)
            return load_pools(conn)

        def done(pools: Optional[list[PoolRow]]) -> None:
            self.pool_button.setEnabled(True)
            if self.wizard.host is not None:
                self.wizard.host.pools = pools
            self.set_pools(pools, select="default")

        def failed(exc: BaseException) -> None:
            self.pool_button.setEnabled(True)
            self.location_note.setText(f"Cannot define the default pool: {exc}")

        self.wizard.runner.submit("Define the default storage pool", work, on_result=done, on_error=failed,
                                  uri=uri, operation="virStoragePoolDefineXML", owner=self)

    def browse_volumes(self, row: Optional[ExtraDrive]) -> VolumeBrowser:
        """Pick an existing volume for the main disk (``row`` None) or an extra drive."""
        iso = row is not None and row.device == "cdrom"
        dialog = VolumeBrowser(self.wizard.conn, self.wizard.uri or "", self.wizard.runner, self,
                               title="Choose an ISO image" if iso else "Choose a disk volume", isos_only=iso)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if row is None:
            def use(path: str, fmt: str) -> None:
                self.set_mode("existing")
                self.existing_path.setText(path)
                if self.existing_format.findText(fmt) >= 0:
                    self.existing_format.setCurrentText(fmt)
            dialog.chosen.connect(use)
        else:
            dialog.chosen.connect(lambda path, _fmt: row.path.setText(path))
        self.browser = dialog
        dialog.open()
        return dialog

    def _format_changed(self) -> None:
        if self.new_path.text() == self._auto_path:
            self._auto_path = self._suggested_path()
            self.new_path.setText(self._auto_path)

    def follow_name(self) -> None:
        """The guest was renamed: a suggested (untouched) image path follows the new name."""
        if self.new_path.text() and self.new_path.text() == self._auto_path:
            self._auto_path = self._suggested_path()
            self.new_path.setText(self._auto_path)

    def kind_changed(self) -> None:
        kind = self.builder.kind
        current = self.bus.currentText()
        self.bus.blockSignals(True)
        self.bus.clear()
        buses = ["xen"] if kind.pv else (["ide"] if kind.xen else list(BUSES_KVM))
        self.bus.addItems(buses)
        if current in buses:
            self.bus.setCurrentText(current)
        self.bus.blockSignals(False)
        self._sync()

    def enter(self) -> None:
        host = self.wizard.host
        if self._pools_uri != self.wizard.uri or (host is not None and host.pools is not self.pools):
            self.set_pools(host.pools if host is not None else None)
        if not self.new_path.text() or self.new_path.text() == self._auto_path:
            self._auto_path = self._suggested_path()
            self.new_path.setText(self._auto_path)
        self._sync()

    # -- validation ------------------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        m = self.mode()
        pool = self.chosen_pool() if m == "new" else None
        if pool is not None:
            name = os.path.basename(self.new_path.text())
            msg = volume_name_problem(name)
            if msg:
                out.append((self.new_path.edit, msg))
            size = int(round(self.new_size.value() * 1024)) * 1024 * 1024
            if size <= 0:
                out.append((self.new_size, "The disk size must be above 0"))
            elif pool.active and size > pool.available:
                out.append((self.new_size, f"Pool {pool.name} has only {pretty(pool.available)} free; "
                                           f"choose a smaller size or another pool"))
        elif m == "new":
            path = self.new_path.text()
            in_default = os.path.dirname(path) == default_image_dir(self.wizard.uri)
            msg = checks.check_new_file(path, create_parent=in_default)
            if msg:
                out.append((self.new_path.edit, msg))
            msg = checks.check_disk_size(self.new_size.value(), path if not msg else "")
            if msg:
                out.append((self.new_size, msg))
        elif m == "existing":
            msg = checks.check_readable_file(self.existing_path.text(), "disk", allow_block=True)
            if msg:
                out.append((self.existing_path.edit, msg))
        for i, row in enumerate(self.extras, 1):
            if row.path.text():
                what = f"image for extra {'CD-ROM' if row.device == 'cdrom' else 'floppy'} drive {i}"
                msg = checks.check_readable_file(row.path.text(), what, allow_block=True)
                if msg:
                    out.append((row.path.edit, msg))
        return out

    def specs(self) -> list[DiskSpec]:
        out: list[DiskSpec] = []
        m = self.mode()
        bus = self.bus.currentText() if not self.builder.kind.pv else ""
        if m == "new":
            out.append(DiskSpec("disk", self.new_path.text(), self.new_format.currentText(), bus=bus))
        elif m == "existing":
            path = self.existing_path.text()
            out.append(DiskSpec("disk", path, self.existing_format.currentText(), block=_is_block(path), bus=bus))
        for row in self.extras:
            path = row.path.text()
            out.append(DiskSpec(row.device, path, "raw" if path else "", block=bool(path) and _is_block(path)))
        return out

    def disk_plans(self) -> list[DiskPlan]:
        if self.mode() != "new":
            return []
        size = int(round(self.new_size.value() * 1024)) * 1024 * 1024
        path = self.new_path.text()
        pool = self.chosen_pool()
        if pool is not None:
            return [DiskPlan(path, self.new_format.currentText(), size, pool=pool.name, start_pool=not pool.active)]
        return [DiskPlan(path, self.new_format.currentText(), size,
                         create_parent=os.path.dirname(path) == default_image_dir(self.wizard.uri))]

    def apply(self) -> None:
        self.builder.set_storage(self.specs())

    def summary(self) -> list[tuple[str, str]]:
        m = self.mode()
        pool = self.chosen_pool()
        where = f"volume {os.path.basename(self.new_path.text())} in pool {pool.name}" if pool else \
            f"image {self.new_path.text()}"
        text = {"new": f"new {self.new_format.currentText()} {where} ({self.new_size.value():g} GiB)",
                "existing": f"{self.existing_path.text()}", "none": "no disk",
                "import": "the imported image"}[m]
        extra = ", ".join(f"{r.device} {r.path.text() or '(empty)'}" for r in self.extras)
        return [("Disk", text)] + ([("Extra drives", extra)] if extra else [])
