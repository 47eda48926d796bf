"""One form per device of the hardware list: fields, an as-you-type check, and the device XML they make.

A form never touches the driver: :meth:`DeviceForm.problem` says what is wrong (shown in red, Apply
disabled), :meth:`DeviceForm.new_xml` builds the changed device with ``backend/xml/device_build.py``.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from ...backend.errors import DriverError
from ...backend.xml import device_build as db
from ...backend.xml import device_char as dc
from ..wizard.base import PathField
from ..wizard.page_network import MODE_LABELS

ERROR_STYLE = "border: 1px solid #c62828;"


def mark(widget: QWidget, bad: bool) -> None:
    """Outline a field in red while it holds a refused value."""
    widget.setStyleSheet(f"{type(widget).__name__} {{ {ERROR_STYLE} }}" if bad else "")


class DeviceForm(QWidget):
    """The fields of one device; ``changed`` on every edit."""

    changed = Signal()
    editable = True

    def __init__(self, item: db.DeviceItem) -> None:
        super().__init__()
        self.item = item
        self.form = QFormLayout(self)
        self.form.addRow("Device:", QLabel(item.label))

    def problem(self) -> Optional[str]:
        return None

    def new_xml(self) -> str:
        return self.item.xml

    def is_dirty(self) -> bool:
        try:
            return self.new_xml() != self.item.xml
        except DriverError:
            return True

    def _bad(self, widget: QWidget, msg: Optional[str]) -> Optional[str]:
        mark(widget, bool(msg))
        return msg


class InfoForm(DeviceForm):
    """A device without editable fields here: its XML, read-only (the XML tab edits it)."""

    editable = False

    def __init__(self, item: db.DeviceItem) -> None:
        super().__init__(item)
        text = QPlainTextEdit(item.xml)
        text.setReadOnly(True)
        text.setObjectName("deviceXml")
        self.form.addRow(text)


class DiskForm(DeviceForm):
    """A disk's image path and read-only flag; a CD-ROM's medium (Connect / Eject on the tab)."""

    def __init__(self, item: db.DeviceItem) -> None:
        super().__init__(item)
        self.path0, self.ro0 = db.disk_value(item.xml)
        self.media = item.kind in ("cdrom", "floppy")
        self.path = PathField("no medium" if self.media else "/path/to/image.qcow2")
        self.path.setObjectName("diskPath")
        self.path.setText(self.path0)
        self.path.textChanged.connect(lambda *_: self.changed.emit())
        self.form.addRow("Medium:" if self.media else "Image:", self.path)
        self.readonly = QCheckBox("Read-only")
        self.readonly.setObjectName("diskReadonly")
        self.readonly.setChecked(self.ro0)
        self.readonly.setEnabled(not self.media)
        self.readonly.toggled.connect(lambda *_: self.changed.emit())
        self.form.addRow("", self.readonly)

    def problem(self) -> Optional[str]:
        p = self.path.text()
        if self.media and not p:
            return self._bad(self.path.edit, None)
        return self._bad(self.path.edit, db.path_problem(p, "medium path" if self.media else "disk image path"))

    def new_xml(self) -> str:
        if self.media:
            return db.disk_with_media(self.item.xml, self.path.text() or None)
        return db.edit_disk(self.item.xml, self.path.text(), self.readonly.isChecked())

    def is_dirty(self) -> bool:
        return (self.path.text(), self.readonly.isChecked()) != (self.path0, self.ro0)


class NicForm(DeviceForm):
    """An interface's network or bridge, model and link state (the MAC names it and stays)."""

    def __init__(self, item: db.DeviceItem, models: tuple[str, ...]) -> None:
        super().__init__(item)
        self.kind, src, model, up = db.nic_value(item.xml)
        self.initial = (src, model, up)
        self.form.addRow("Mode:", QLabel(MODE_LABELS.get(self.kind, self.kind)))
        self.source = QLineEdit(src)
        self.source.setObjectName("nicSource")
        self.source.setEnabled(self.kind in ("network", "bridge"))
        self.source.textChanged.connect(lambda *_: self.changed.emit())
        self.form.addRow("Bridge:" if self.kind == "bridge" else "Network:", self.source)
        self.model = QComboBox()
        self.model.setObjectName("nicModel")
        self.model.addItem("default", "")
        for m in dict.fromkeys((*models, model)):
            if m:
                self.model.addItem(m, m)
        self.model.setCurrentIndex(max(0, self.model.findData(model)))
        self.model.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self.form.addRow("Model:", self.model)
        self.link = QCheckBox("Link up (cable plugged in)")
        self.link.setObjectName("nicLink")
        self.link.setChecked(up)
        self.link.toggled.connect(lambda *_: self.changed.emit())
        self.form.addRow("", self.link)

    def values(self) -> tuple[str, str, bool]:
        return self.source.text().strip(), self.model.currentData() or "", self.link.isChecked()

    def problem(self) -> Optional[str]:
        if self.kind not in ("network", "bridge"):
            return None
        try:
            db.edit_nic(self.item.xml, source=self.values()[0], model="", link_up=True)
        except DriverError as exc:
            return self._bad(self.source, exc.detail)
        return self._bad(self.source, None)

    def new_xml(self) -> str:
        source, model, up = self.values()
        return db.edit_nic(self.item.xml, source=source, model=model, link_up=up)

    def is_dirty(self) -> bool:
        return self.values() != self.initial


class GraphicsForm(DeviceForm):
    """A display's listen address and port."""

    def __init__(self, item: db.DeviceItem) -> None:
        super().__init__(item)
        kind, listen, port = db.graphics_value(item.xml)
        self.initial = (listen, port)
        self.form.addRow("Type:", QLabel(kind.upper()))
        self.listen = QLineEdit(listen)
        self.listen.setObjectName("graphicsListen")
        self.listen.textChanged.connect(lambda *_: self.changed.emit())
        self.form.addRow("Listen address:", self.listen)
        self.port = QSpinBox()
        self.port.setObjectName("graphicsPort")
        self.port.setRange(-1, 65535)
        self.port.setSpecialValueText("automatic")
        self.port.setValue(port)
        self.port.valueChanged.connect(lambda *_: self.changed.emit())
        self.form.addRow("Port:", self.port)

    def values(self) -> tuple[str, int]:
        return self.listen.text().strip(), self.port.value()

    def problem(self) -> Optional[str]:
        listen, port = self.values()
        return (self._bad(self.listen, db.listen_problem(listen))
                or self._bad(self.port, db.port_problem(port)))

    def new_xml(self) -> str:
        listen, port = self.values()
        return db.edit_graphics(self.item.xml, listen=listen, port=port)

    def is_dirty(self) -> bool:
        return self.values() != self.initial


class ModelForm(DeviceForm):
    """A video or sound device's model (replaced in the definition: applies at next boot)."""

    def __init__(self, item: db.DeviceItem) -> None:
        super().__init__(item)
        self.initial = db.model_value(item.xml)
        self.model = QComboBox()
        self.model.setObjectName("deviceModel")
        for m in dict.fromkeys((*(db.VIDEO_MODELS if item.kind == "video" else db.SOUND_MODELS), self.initial)):
            self.model.addItem(m, m)
        self.model.setCurrentIndex(max(0, self.model.findData(self.initial)))
        self.model.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self.form.addRow("Model:", self.model)

    def problem(self) -> Optional[str]:
        if self.model.currentData() == self.initial:
            return None
        try:
            db.edit_model(self.item.xml, self.model.currentData())
        except DriverError as exc:
            return self._bad(self.model, exc.detail)
        return self._bad(self.model, None)

    def new_xml(self) -> str:
        return db.edit_model(self.item.xml, self.model.currentData())

    def is_dirty(self) -> bool:
        return self.model.currentData() != self.initial


class CharForm(DeviceForm):
    """A serial port's or console's host side (pty, file, unix socket, TCP) and its guest port."""

    LABELS = {"pty": "Pseudo terminal (pty)", "file": "Output to a file", "unix": "UNIX socket", "tcp": "TCP"}

    def __init__(self, item: db.DeviceItem) -> None:
        super().__init__(item)
        self.initial = dc.char_value(item.xml)
        i = self.initial
        self.kind = QComboBox()
        self.kind.setObjectName("charType")
        for k in dict.fromkeys((*dc.CHAR_TYPES, i.kind)):
            self.kind.addItem(self.LABELS.get(k, k), k)
        self.kind.setCurrentIndex(max(0, self.kind.findData(i.kind)))
        self.form.addRow("Device type:", self.kind)
        self.path = QLineEdit(i.path)
        self.path.setObjectName("charPath")
        self.path.setPlaceholderText("/var/log/guest-serial.log")
        self.form.addRow("Path:", self.path)
        self.host = QLineEdit(i.host or "127.0.0.1")
        self.host.setObjectName("charHost")
        self.form.addRow("Host:", self.host)
        self.service = QSpinBox()
        self.service.setObjectName("charService")
        self.service.setRange(0, 65535)
        self.service.setValue(i.service or 4555)
        self.form.addRow("TCP port:", self.service)
        self.mode = QComboBox()
        self.mode.setObjectName("charMode")
        self.mode.addItem("Server (bind, listen)", "bind")
        self.mode.addItem("Client (connect)", "connect")
        self.mode.setCurrentIndex(max(0, self.mode.findData(i.mode)))
        self.form.addRow("Mode:", self.mode)
        self.target = QSpinBox()
        self.target.setObjectName("charTargetPort")
        self.target.setRange(0, 31)
        self.target.setValue(i.target_port)
        self.form.addRow("Guest port:", self.target)
        for sig in (self.kind.currentIndexChanged, self.path.textChanged, self.host.textChanged,
                    self.service.valueChanged, self.mode.currentIndexChanged, self.target.valueChanged):
            sig.connect(lambda *_: self._changed())
        self._show_fields()

    def _changed(self) -> None:
        self._show_fields()
        self.changed.emit()

    def _show_fields(self) -> None:
        kind = self.kind.currentData()
        for widget, kinds in ((self.path, ("file", "unix")), (self.host, ("tcp",)), (self.service, ("tcp",)),
                              (self.mode, ("unix", "tcp"))):
            self.form.setRowVisible(widget, kind in kinds)

    def spec(self) -> dc.CharSpec:
        kind = self.kind.currentData()
        return dc.CharSpec(kind=kind, path=self.path.text() if kind in ("file", "unix") else "",
                           host=self.host.text().strip() if kind == "tcp" else "",
                           service=self.service.value() if kind == "tcp" else 0,
                           mode=self.mode.currentData() if kind in ("unix", "tcp") else "bind",
                           target_port=self.target.value())

    def problem(self) -> Optional[str]:
        spec = self.spec()
        field: dict[str, QWidget] = {"file": self.path, "unix": self.path, "tcp": self.host}
        for w in (self.path, self.host, self.service):
            mark(w, False)
        if not self.is_dirty():
            return None
        msg = dc.char_problem(spec)
        if msg and spec.kind == "tcp" and "TCP port" in msg:
            return self._bad(self.service, msg)
        return self._bad(field.get(spec.kind, self.kind), msg) if msg else None

    def new_xml(self) -> str:
        return dc.edit_char(self.item.xml, self.spec())

    def is_dirty(self) -> bool:
        return self.spec() != self.initial


class InputForm(DeviceForm):
    """An input device's type (tablet, mouse, keyboard) and bus (usb, ps2, virtio)."""

    def __init__(self, item: db.DeviceItem) -> None:
        super().__init__(item)
        self.initial = dc.input_value(item.xml)
        self.kind = QComboBox()
        self.kind.setObjectName("inputType")
        self.bus = QComboBox()
        self.bus.setObjectName("inputBus")
        for combo, values, now in ((self.kind, ("tablet", "mouse", "keyboard"), self.initial[0]),
                                   (self.bus, ("usb", "ps2", "virtio"), self.initial[1])):
            for v in dict.fromkeys((*values, now)):
                combo.addItem(v, v)
            combo.setCurrentIndex(max(0, combo.findData(now)))
            combo.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self.form.addRow("Type:", self.kind)
        self.form.addRow("Bus:", self.bus)

    def values(self) -> tuple[str, str]:
        return self.kind.currentData(), self.bus.currentData()

    def problem(self) -> Optional[str]:
        if not self.is_dirty():
            return self._bad(self.bus, None)
        try:
            dc.edit_input(self.item.xml, *self.values())
        except DriverError as exc:
            return self._bad(self.bus, exc.detail)
        return self._bad(self.bus, None)

    def new_xml(self) -> str:
        return dc.edit_input(self.item.xml, *self.values())

    def is_dirty(self) -> bool:
        return self.values() != self.initial


def form_for(item: db.DeviceItem, nic_models: tuple[str, ...]) -> DeviceForm:
    """The form of ``item``'s kind."""
    if item.tag == "disk":
        return DiskForm(item)
    if item.kind == "interface":
        return NicForm(item, nic_models)
    if item.kind == "graphics":
        return GraphicsForm(item)
    if item.kind in ("video", "sound"):
        return ModelForm(item)
    if item.kind == "serial" or (item.kind == "console" and not db.is_serial_console(item.xml)):
        return CharForm(item)
    if item.kind == "input":
        return InputForm(item)
    if item.kind == "console":
        form = InfoForm(item)
        hint = QLabel("This console is the first serial port: change it on that port's page.")
        hint.setObjectName("consoleHint")
        form.form.insertRow(1, hint)
        return form
    return InfoForm(item)
