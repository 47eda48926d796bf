"""The Storage window's forms: new pool, new volume, resize.  They only build XML and check input;
the window runs the driver calls on the job runner."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QWidget,
)

from ...backend.xml.storage import CREATE_FORMATS
from .rows import VolRow, pool_xml, volume_xml

MIB = 1024 * 1024


def name_problem(name: str, what: str) -> str:
    """Why ``name`` cannot name a pool or volume ('' when it can)."""
    if not name:
        return f"Enter a {what} name"
    if "/" in name or name in (".", "..") or any(ord(c) < 32 for c in name):
        return f"A {what} name must not contain '/' or control characters and must not be '.' or '..'"
    return ""


class _Form(QDialog):
    def __init__(self, title: str, parent: Optional[QWidget]) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = QFormLayout(self)
        self.problem = QLabel("")
        self.problem.setObjectName("formProblem")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def finish_layout(self) -> None:
        self.form.addRow(self.problem)
        self.form.addRow(self.buttons)
        self.check()

    def problem_text(self) -> str:
        return ""

    def check(self) -> None:
        why = self.problem_text()
        self.problem.setText(why)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not why)
        ok.setToolTip(why)


class NewVolumeDialog(_Form):
    """Name, format, capacity (MiB) and an optional backing volume of the same pool."""

    def __init__(self, pool: str, volumes: list[VolRow], available: int, parent: Optional[QWidget] = None,
                 default_format: str = "qcow2") -> None:
        super().__init__(f"New volume in {pool}", parent)
        self.volumes = volumes
        self.available = available
        self.name = QLineEdit()
        self.name.setObjectName("volName")
        self.format = QComboBox()
        self.format.addItems(list(CREATE_FORMATS))
        self.format.setCurrentText(default_format)  # the Preferences' default storage format
        self.capacity = QSpinBox()
        self.capacity.setObjectName("volCapacity")
        self.capacity.setRange(0, 2 ** 31 - 1)
        self.capacity.setSuffix(" MiB")
        self.capacity.setValue(1024)
        self.backing = QComboBox()
        self.backing.addItem("(none)", None)
        for v in volumes:
            self.backing.addItem(v.name, v)
        self.form.addRow("Name:", self.name)
        self.form.addRow("Format:", self.format)
        self.form.addRow("Capacity:", self.capacity)
        self.form.addRow("Backing volume:", self.backing)
        for w in (self.name.textChanged, self.capacity.valueChanged, self.format.currentTextChanged,
                  self.backing.currentIndexChanged):
            w.connect(lambda *_: self.check())
        self.finish_layout()

    def problem_text(self) -> str:
        name = self.name.text().strip()
        why = name_problem(name, "volume")
        if why:
            return why
        if any(v.name == name for v in self.volumes):
            return f"The pool already has a volume named '{name}'"
        if self.capacity.value() <= 0:
            return "The capacity must be at least 1 MiB"
        if self.capacity.value() * MIB > self.available:
            return f"The pool has only {self.available // MIB} MiB free"
        if self.backing.currentData() is not None and self.format.currentText() != "qcow2":
            return "Only qcow2 volumes can have a backing volume"
        return ""

    def xml(self) -> str:
        return volume_xml(self.name.text().strip(), self.format.currentText(), self.capacity.value() * MIB,
                          self.backing.currentData())


class NewPoolDialog(_Form):
    """A dir pool (target directory) or a logical pool (volume group on source devices)."""

    def __init__(self, uris: list[str], parent: Optional[QWidget] = None) -> None:
        super().__init__("New storage pool", parent)
        self.conn = QComboBox()
        self.conn.addItems(uris)
        self.name = QLineEdit()
        self.name.setObjectName("poolName")
        self.type = QComboBox()
        self.type.addItems(["dir", "logical"])
        self.target = QLineEdit()
        self.target.setObjectName("poolTarget")
        self.target.setPlaceholderText("/var/lib/guiapp/images2")
        self.devices = QListWidget()
        self.devices.setObjectName("poolDevices")
        self.devices_note = QLabel("")
        self.form.addRow("Connection:", self.conn)
        self.form.addRow("Name:", self.name)
        self.form.addRow("Type:", self.type)
        self.form.addRow("Target directory:", self.target)
        self.form.addRow("Source devices:", self.devices)
        self.form.addRow(self.devices_note)
        for sig in (self.name.textChanged, self.target.textChanged, self.type.currentTextChanged,
                    self.conn.currentTextChanged):
            sig.connect(lambda *_: self.check())
        self.devices.itemChanged.connect(lambda *_: self.check())
        self.type.currentTextChanged.connect(lambda *_: self._type_changed())
        self.finish_layout()
        self._type_changed()

    def _type_changed(self) -> None:
        logical = self.type.currentText() == "logical"
        self.target.setEnabled(not logical)
        self.devices.setEnabled(logical)

    def set_devices(self, devices: list[str], note: str = "") -> None:
        """Fill the device list (from findStoragePoolSources, run by the window on the job runner)."""
        self.devices.clear()
        for d in devices:
            item = QListWidgetItem(d)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.devices.addItem(item)
        self.devices_note.setText(note or ("" if devices else "No LVM physical volumes found on this host"))
        self.check()

    def chosen_devices(self) -> tuple[str, ...]:
        return tuple(self.devices.item(i).text() for i in range(self.devices.count())
                     if self.devices.item(i).checkState() == Qt.CheckState.Checked)

    def problem_text(self) -> str:
        if not self.conn.currentText():
            return "No writable connection is open"
        why = name_problem(self.name.text().strip(), "pool")
        if why:
            return why
        if self.type.currentText() == "dir":
            t = self.target.text().strip()
            if not t.startswith("/"):
                return "Enter the target directory as an absolute path (it is created when the pool starts)"
        elif not self.chosen_devices():
            return "Tick at least one source device for the volume group"
        return ""

    def xml(self) -> str:
        if self.type.currentText() == "dir":
            return pool_xml(self.name.text().strip(), "dir", self.target.text().strip())
        return pool_xml(self.name.text().strip(), "logical", devices=self.chosen_devices())


class ResizeDialog(_Form):
    """A new capacity in MiB (shrinking asks for confirmation in the text)."""

    def __init__(self, vol: VolRow, parent: Optional[QWidget] = None) -> None:
        super().__init__(f"Resize {vol.name}", parent)
        self.vol = vol
        self.capacity = QSpinBox()
        self.capacity.setObjectName("resizeCapacity")
        self.capacity.setRange(1, 2 ** 31 - 1)
        self.capacity.setSuffix(" MiB")
        self.capacity.setValue(max(1, vol.capacity // MIB))
        self.form.addRow("New capacity:", self.capacity)
        self.capacity.valueChanged.connect(lambda *_: self.check())
        self.finish_layout()

    def problem_text(self) -> str:
        if self.capacity.value() * MIB == self.vol.capacity:
            return "Choose a capacity different from the current one"
        return ""

    def new_capacity(self) -> int:
        return self.capacity.value() * MIB

    def shrinks(self) -> bool:
        return self.new_capacity() < self.vol.capacity


def confirm_delete_text(vol: VolRow) -> str:
    """The confirmation text, naming the domains whose disks use the volume."""
    text = f"Delete the volume '{vol.name}' ({vol.path})? Its data is lost."
    if vol.running_users:
        text += f"\n\nIt is in use by running domain(s): {', '.join(vol.running_users)}. Shut them down first."
    elif vol.used_by:
        text += f"\n\nThe disks of these domains use it: {', '.join(d for d, _ in vol.used_by)}."
    return text


__all__ = ["NewVolumeDialog", "NewPoolDialog", "ResizeDialog", "confirm_delete_text", "name_problem"]
