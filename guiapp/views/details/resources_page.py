"""The CPUs & Memory page of the details window's Hardware tab: vCPUs (the current count), current and
maximum memory, an inline check, and Apply (a mixin of :class:`.window.DetailsWindow`; what Apply does
on the job pool is :func:`.resources_apply.apply_resources`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from .resources_apply import ResourcesOutcome, apply_resources

if TYPE_CHECKING:
    from ..main_window.window import MainWindow

    _Base = QWidget
else:
    _Base = object


def selectable(label: QLabel) -> QLabel:
    """``label`` with its text selectable by mouse (to copy a message)."""
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ResourcesPage(_Base):
    """Builds the page and applies it; the window provides the connection, the definition and ``changed``."""

    main: MainWindow
    uri: str
    uuid: bytes
    name: str
    definition: Any

    if TYPE_CHECKING:
        def _conn(self) -> Any: ...
        def changed(self) -> None: ...

    def _build_resources(self) -> None:
        w = QWidget()
        form = QFormLayout(w)
        self.vcpus = QSpinBox()
        self.vcpus.setObjectName("vcpusSpin")
        self.vcpus.setRange(1, 4096)
        self.memory = QSpinBox()
        self.memory.setObjectName("memorySpin")
        self.memory.setRange(1, 16 * 1024 * 1024)
        self.memory.setSuffix(" MiB")
        self.max_memory = QSpinBox()
        self.max_memory.setObjectName("maxMemorySpin")
        self.max_memory.setRange(1, 16 * 1024 * 1024)
        self.max_memory.setSuffix(" MiB")
        form.addRow("&vCPUs:", self.vcpus)
        form.addRow("Current &memory:", self.memory)
        form.addRow("Ma&ximum memory:", self.max_memory)
        self.resources_note = selectable(QLabel(""))
        self.resources_note.setObjectName("resourcesNote")
        self.resources_note.setWordWrap(True)
        form.addRow(self.resources_note)
        self.resources_apply = QPushButton("&Apply")
        self.resources_apply.setObjectName("resourcesApply")
        self.resources_apply.setToolTip("Change them live where the driver allows it, else in the definition")
        self.resources_apply.clicked.connect(self.apply_resources)
        for spin in (self.vcpus, self.memory, self.max_memory):
            spin.setMaximumWidth(180)
            spin.valueChanged.connect(self._check_resources)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.resources_apply)
        form.addRow(buttons)
        self.resources_page, self.resources_form = w, form  # the CPUs and Memory rows of the Hardware list

    def _show_page(self, key: str) -> None:
        """CPUs and Memory share one page (one Apply): show the rows of the one selected."""
        for spin, page in ((self.vcpus, "cpu"), (self.memory, "memory"), (self.max_memory, "memory")):
            self.resources_form.setRowVisible(spin, key == page)

    def resources_problem(self) -> str:
        if self.memory.value() > self.max_memory.value():
            return "Current memory cannot exceed the maximum memory: lower it or raise the maximum."
        return ""

    def _check_resources(self, *_a: Any) -> None:
        """Inline check: the problem in red next to the fields, Apply disabled until it is fixed."""
        problem = self.resources_problem()
        self.memory.setStyleSheet("QSpinBox { border: 1px solid #c62828; }" if problem else "")
        self.resources_note.setStyleSheet("color: #c62828" if problem else "")
        if problem or self.resources_note.text().startswith("Current memory cannot"):
            self.resources_note.setText(problem)
        read_only = self.resources_apply.toolTip().startswith("Read-only")
        self.resources_apply.setEnabled(not problem and not read_only)

    def apply_resources(self) -> None:
        if self.definition is None:
            return
        vcpus, mem_kib, max_kib = self.vcpus.value(), self.memory.value() * 1024, self.max_memory.value() * 1024
        if mem_kib > max_kib:
            self.resources_note.setText("Current memory cannot exceed the maximum memory: lower it or raise the "
                                        "maximum.")
            return
        conn, uuid = self._conn(), self.uuid
        operation = f"virDomainSetVcpus/SetMemory ('{self.name}')"

        def work() -> ResourcesOutcome:
            return apply_resources(conn.lookupByUUID(uuid), vcpus, mem_kib, max_kib)

        def ok(outcome: ResourcesOutcome) -> None:
            self.resources_note.setText(outcome.note())
            self.changed()
            if outcome.errors:  # a part applied, another failed: say both, show the failure
                self.main.show_error(outcome.errors[0][1], operation=operation, uri=self.uri)

        def failed(exc: BaseException) -> None:
            self.resources_note.setText(f"Not applied: {exc}")
            self.changed()
            self.main.show_error(exc, operation=operation, uri=self.uri)

        self.main.runner.submit(f"Resources of {self.name}", work, uri=self.uri, operation="virDomainSetMemory",
                                on_result=ok, on_error=failed)
