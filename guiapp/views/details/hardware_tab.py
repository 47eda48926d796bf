"""The Hardware tab: the devices of the definition, a form per device, Apply/Revert, Add Hardware, Remove,
CD-ROM Connect/Eject.  Changes go through the job runner (``hwapply.change_device``: live where possible)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...backend.xml import device_build as db
from ...backend.xml.builder import NIC_MODELS_HVM, NIC_MODELS_XEN_HVM
from .hardware_forms import DeviceForm, form_for
from .hwapply import MESSAGES, change_device

if TYPE_CHECKING:
    from .window import DetailsWindow

KEY_ROLE = Qt.ItemDataRole.UserRole
PAGE = "page:"  # key prefix of the rows above the devices (CPUs, Memory, Boot Options)


class HardwareTab(QWidget):
    """Device list on the left (CPUs, Memory and Boot Options first, as virt-manager has them), the selected
    device's form or page on the right."""

    def __init__(self, details: DetailsWindow) -> None:
        super().__init__()
        self.details = details
        self.setObjectName("hardwareTab")
        self.items: list[db.DeviceItem] = []
        self.form: Optional[DeviceForm] = None
        self.domain_xml = ""
        self.read_only = False
        self.confirm_box: Optional[QMessageBox] = None
        self.add_dialog: Any = None
        self.pages: list[tuple[str, str, QWidget]] = []  # (key, label, widget) of the rows above the devices
        self.on_page: Callable[[str], Any] = lambda key: None  # the window shows a page's fields
        # hook (tests replace it): ask for a CD-ROM medium, call back with the path
        self.ask_media: Callable[[Callable[[str], Any]], Any] = self._ask_media
        lay = QHBoxLayout(self)
        left = QVBoxLayout()
        self.list = QListWidget()
        self.list.setObjectName("hwList")
        self.list.setMaximumWidth(320)
        self.list.currentRowChanged.connect(self._selected)
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("&Add Hardware…")
        self.add_button.setObjectName("hwAdd")
        self.add_button.clicked.connect(self.open_add)
        self.remove_button = QPushButton("Re&move")
        self.remove_button.setObjectName("hwRemove")
        self.remove_button.clicked.connect(self.ask_remove)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        left.addLayout(row)
        lay.addLayout(left, 1)
        self.stack = QStackedWidget()
        self.stack.setObjectName("hwStack")
        device_panel = QWidget()
        self.stack.addWidget(device_panel)
        right = QVBoxLayout(device_panel)
        right.setContentsMargins(0, 0, 0, 0)
        self.form_area = QScrollArea()
        self.form_area.setWidgetResizable(True)
        right.addWidget(self.form_area, 1)
        self.note = QLabel("")
        self.note.setObjectName("hwNote")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right.addWidget(self.note)
        buttons = QHBoxLayout()
        self.connect_button = QPushButton("&Connect…")
        self.connect_button.setObjectName("hwConnectMedia")
        self.connect_button.clicked.connect(lambda: self.ask_media(self.insert_media))
        self.eject_button = QPushButton("&Eject")
        self.eject_button.setObjectName("hwEject")
        self.eject_button.clicked.connect(lambda: self.insert_media(""))
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.eject_button)
        buttons.addStretch(1)
        self.revert_button = QPushButton("Re&vert")
        self.revert_button.setObjectName("hwRevert")
        self.revert_button.clicked.connect(self.revert)
        self.apply_button = QPushButton("A&pply")
        self.apply_button.setObjectName("hwApply")
        self.apply_button.clicked.connect(self.apply)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        right.addLayout(buttons)
        lay.addWidget(self.stack, 3)
        self._sync_buttons()

    def add_page(self, key: str, label: str, widget: QWidget) -> None:
        """A row above the devices showing ``widget`` (its own Apply/notes), e.g. the CPUs page."""
        if self.stack.indexOf(widget) < 0:
            self.stack.addWidget(widget)
        self.pages.append((key, label, widget))
        row = QListWidgetItem(label)
        row.setData(KEY_ROLE, PAGE + key)
        self.list.insertItem(len(self.pages) - 1, row)

    # ---------------------------------------------------------------- content
    def set_definition(self, inactive_xml: str, live_xml: str, active: bool, read_only: bool) -> None:
        """Show the devices of the definition; running domains mark what differs from the live one."""
        keep = self.current_key()
        self.domain_xml, self.read_only = inactive_xml, read_only
        self.items = db.list_devices(inactive_xml)
        live = {i.key: i for i in db.list_devices(live_xml)} if active else {}
        self.list.blockSignals(True)
        while self.list.count() > len(self.pages):
            self.list.takeItem(len(self.pages))
        for it in self.items:
            text = it.label
            if active and it.key not in live:
                text += "  (next boot)"
            elif active and live[it.key].xml != it.xml and it.tag != "graphics":
                text += "  (changed: next boot)"
            row = QListWidgetItem(text)
            row.setData(KEY_ROLE, it.key)
            row.setToolTip(it.summary)
            self.list.addItem(row)
        self.list.blockSignals(False)
        keys = [i.key for i in self.items]
        n = len(self.pages)
        f = self.form
        if keep.startswith(PAGE):  # a page stays shown (the window refills its fields)
            self.list.blockSignals(True)
            self.list.setCurrentRow(self._row_of(keep))
            self.list.blockSignals(False)
            self._selected(self.list.currentRow())
            return
        if f is not None and keep in keys and self.items[keys.index(keep)].xml == f.item.xml and f.is_dirty():
            self.list.blockSignals(True)  # the device did not change: the user's unapplied edits stay
            self.list.setCurrentRow(n + keys.index(keep))
            self.list.blockSignals(False)
            self.check()
            return
        self.list.setCurrentRow(n + keys.index(keep) if keep in keys else (n if keys else -1))
        self._selected(self.list.currentRow())

    def _row_of(self, key: str) -> int:
        return next((r for r in range(self.list.count()) if self.list.item(r).data(KEY_ROLE) == key), -1)

    def current_key(self) -> str:
        row = self.list.currentItem()
        return row.data(KEY_ROLE) if row is not None else ""

    def current_item(self) -> Optional[db.DeviceItem]:
        r = self.list.currentRow() - len(self.pages)
        return self.items[r] if 0 <= r < len(self.items) else None

    def select(self, key: str) -> None:
        """Show the device (or page: ``page:cpu``, ``page:memory``, ``page:boot``) named ``key``."""
        self.list.setCurrentRow(self._row_of(key))

    def _selected(self, row: int) -> None:
        item = self.current_item()
        if self.form is not None:
            self.form.deleteLater()
            self.form = None
        if 0 <= row < len(self.pages):
            key, _label, widget = self.pages[row]
            self.stack.setCurrentWidget(widget)
            self.on_page(key)
            self._sync_buttons()
            return
        self.stack.setCurrentIndex(0)
        if item is not None:
            models = NIC_MODELS_XEN_HVM if self.details.hv_type.lower().startswith("xen") else NIC_MODELS_HVM
            self.form = form_for(item, models)
            self.form.changed.connect(self.check)
            self.form_area.setWidget(self.form)
        self.check()

    # ---------------------------------------------------------------- checks
    def check(self) -> None:
        """As typed: the problem in red under the form, Apply disabled until it is fixed or nothing changed."""
        problem = self.form.problem() if self.form is not None else None
        if problem:
            self.note.setText(problem)
            self.note.setStyleSheet("color: #c62828")
        elif self.note.styleSheet():
            self.note.setText("")
            self.note.setStyleSheet("")
        self._sync_buttons(problem)

    def _sync_buttons(self, problem: Optional[str] = None) -> None:
        f, item = self.form, self.current_item()
        dirty = f is not None and f.editable and f.is_dirty()
        self.apply_button.setEnabled(bool(dirty and not problem and not self.read_only))
        self.revert_button.setEnabled(bool(dirty))
        self.add_button.setEnabled(not self.read_only and bool(self.domain_xml))
        self.remove_button.setEnabled(item is not None and item.removable and not self.read_only)
        media = item is not None and item.kind in ("cdrom", "floppy") and not self.read_only
        self.connect_button.setVisible(media)
        self.eject_button.setVisible(media)
        self.eject_button.setEnabled(media and bool(item and db.disk_value(item.xml)[0]))
        tip = "Read-only connection: changes are not possible" if self.read_only else ""
        for b in (self.apply_button, self.add_button, self.remove_button):
            b.setToolTip(tip)

    # --------------------------------------------------------------- changes
    def _run(self, title: str, op: str, make_xml: Callable[[], str], old_xml: str = "") -> None:
        conn, uuid = self.details._conn(), self.details.uuid
        if conn is None:
            return

        def work() -> str:
            xml = make_xml()
            return change_device(conn.lookupByUUID(uuid), op, xml, old_xml)

        def ok(how: str) -> None:
            self.note.setStyleSheet("")
            self.note.setText(f"{title}: {MESSAGES[how]}")
            self.details.changed()

        def failed(exc: BaseException) -> None:
            self.note.setStyleSheet("color: #c62828")
            self.note.setText(f"{title}: not applied: {exc}")
            self.details.main.show_error(exc, operation=f"{title} ('{self.details.name}')", uri=self.details.uri)

        self.note.setStyleSheet("")
        self.note.setText(f"{title}…")
        self.details.main.runner.submit(f"{title} on {self.details.name}", work, uri=self.details.uri,
                                        operation="virDomainUpdateDeviceFlags", on_result=ok, on_error=failed,
                                        owner=self)

    def apply(self) -> None:
        f, item = self.form, self.current_item()
        if f is None or item is None or f.problem():
            return
        xml = f.new_xml()
        self._run(f"Change {item.label}", "update", lambda: xml, item.xml)

    def revert(self) -> None:
        """Discard the form's edits: the device as the definition has it."""
        self._selected(self.list.currentRow())
        self.note.setStyleSheet("")
        self.note.setText("Reverted.")

    def ask_remove(self) -> None:
        item = self.current_item()
        if item is None or not item.removable:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Remove device?",
                          f"Remove {item.label} ({item.summary}) from '{self.details.name}'?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmRemoveDevice")
        box.button(QMessageBox.StandardButton.Yes).setText("&Remove")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setInformativeText("A disk's image file is kept.")
        box.accepted.connect(lambda x=item.xml, label=item.label: self._run(f"Remove {label}", "detach",
                                                                           lambda: x))
        self.confirm_box = box
        box.open()

    def insert_media(self, path: str) -> None:
        """Put ``path`` in the selected CD-ROM ('' ejects it)."""
        item = self.current_item()
        if item is None or item.kind not in ("cdrom", "floppy"):
            return
        problem = db.path_problem(path, "medium path") if path else None
        if problem:
            self.note.setStyleSheet("color: #c62828")
            self.note.setText(problem)
            return
        xml = db.disk_with_media(item.xml, path or None)
        self._run(f"{'Insert ' + path + ' into' if path else 'Eject'} {item.label}", "update", lambda: xml, item.xml)

    def _ask_media(self, done: Callable[[str], Any]) -> None:
        dlg = QFileDialog(self, "Choose a CD/DVD image", "", "Disk images (*.iso *.img);;All files (*)")
        dlg.setObjectName("mediaDialog")
        dlg.setOption(QFileDialog.Option.DontUseNativeDialog)
        dlg.fileSelected.connect(done)
        self.media_dialog = dlg
        dlg.open()

    def open_add(self) -> None:
        from ...models.preferences import storage_format
        from .add_hardware import AddHardwareDialog

        conn = self.details._conn()
        if conn is None or not self.domain_xml:
            return
        hv = self.details.hv_type
        dlg = AddHardwareDialog(self, uri=self.details.uri, conn=conn, runner=self.details.main.runner,
                                hypervisor=hv, xen=self.details.definition is not None
                                and self.details.definition.type == "xen",
                                disk_format=storage_format(getattr(self.details.main, "settings", None)))
        dlg.accepted.connect(lambda: self._run(f"Add {dlg.kinds.currentItem().text()}", "attach",
                                               dlg.job(self.domain_xml)))
        self.add_dialog = dlg
        dlg.open()
