"""Page 3: architecture and machine type (from the capabilities), memory and vCPUs (bounded by the host)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QFormLayout, QSpinBox, QVBoxLayout

from guiapp.backend.xml.guest_kinds import emulator_for, machines_for

from . import checks
from .base import Problem, WizardPage, note

if TYPE_CHECKING:
    from .wizard import NewVMWizard

PREFERRED_MACHINES = ("pc", "q35")


class ResourcesPage(WizardPage):
    title = "Architecture, memory and CPUs"
    subtitle = "The emulated platform and the resources the guest gets."
    anchor = "<memory"

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__(wizard)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.arch = QComboBox()
        self.arch.setObjectName("archCombo")
        self.machine = QComboBox()
        self.machine.setObjectName("machineCombo")
        self.memory = QSpinBox()
        self.memory.setObjectName("memorySpin")
        self.memory.setRange(0, 1 << 30)
        self.memory.setSuffix(" MiB")
        self.memory.setValue(512)
        self.memory.setSingleStep(128)
        self.vcpus = QSpinBox()
        self.vcpus.setObjectName("vcpuSpin")
        self.vcpus.setRange(0, 1 << 16)
        self.vcpus.setValue(1)
        form.addRow("&Architecture:", self.arch)
        form.addRow("&Machine type:", self.machine)
        self.machine_note = note("")
        form.addRow("", self.machine_note)
        form.addRow("M&emory:", self.memory)
        self.memory_note = note("")
        form.addRow("", self.memory_note)
        form.addRow("&vCPUs:", self.vcpus)
        self.vcpu_note = note("")
        form.addRow("", self.vcpu_note)
        self.defaults_note = note("")  # where memory and vCPUs came from (prefs_defaults.py)
        self.defaults_note.setObjectName("resourcesDefaultsNote")
        form.addRow("", self.defaults_note)
        lay.addLayout(form)
        lay.addStretch(1)
        self.arch.currentIndexChanged.connect(self._arch_changed)
        self.machine.currentIndexChanged.connect(self.emit_changed)
        self.memory.valueChanged.connect(self.emit_changed)
        self.vcpus.valueChanged.connect(self.emit_changed)

    def _emulated(self) -> bool:
        opt = self.host.option(self.builder.kind.key) if self.host else None
        return bool(opt and opt.emulated)

    def kind_changed(self) -> None:
        host = self.host
        self.arch.blockSignals(True)
        self.arch.clear()
        if host is not None:
            opt = host.option(self.builder.kind.key)
            arches = list(opt.arches) if opt else []
            self.arch.addItems(arches)
            if host.caps.host.cpu.arch in arches:
                self.arch.setCurrentText(host.caps.host.cpu.arch)
            self.memory_note.setText(f"The host has {host.memory_mib} MiB.")
            self.vcpu_note.setText(f"The host has {host.cpus} CPUs; at most {self.vcpu_limit() or host.cpus} "
                                   f"per guest.")
        self.arch.blockSignals(False)
        self._arch_changed()

    def _arch_changed(self, *_a: object) -> None:
        host = self.host
        kind = self.builder.kind
        self.machine.blockSignals(True)
        self.machine.clear()
        machines = machines_for(host.caps, kind, self.arch.currentText() or None, self._emulated()) if host else []
        if kind.hvm and not kind.xen:
            self.machine.addItems(machines)
            for m in PREFERRED_MACHINES:
                if m in machines:
                    self.machine.setCurrentText(m)
                    break
        self.machine.setEnabled(bool(machines) and kind.hvm and not kind.xen)
        if kind.pv:
            why = "Paravirtualized guests have no emulated machine."
        elif kind.xen:
            why = "Xen chooses the HVM machine (xenfv) itself."
        elif not machines:
            why = "The connection's capabilities list no machine types for this architecture."
        else:
            why = ""
        self.machine_note.setText(why)
        self.machine_note.setVisible(bool(why))
        self.machine.blockSignals(False)
        self.changed.emit()

    def vcpu_limit(self) -> int | None:
        host = self.host
        return host.max_vcpus.get(self.builder.kind.domain_type) if host else None

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        host = self.host
        msg = checks.check_memory(self.memory.value(), host.memory_mib if host else None)
        if msg:
            out.append((self.memory, msg))
        msg = checks.check_vcpus(self.vcpus.value(), self.vcpu_limit(), host.cpus if host else None)
        if msg:
            out.append((self.vcpus, msg))
        return out

    def apply(self) -> None:
        b = self.builder
        arch = self.arch.currentText() or None
        machine = self.machine.currentText() if self.machine.isEnabled() else None
        emulator = emulator_for(self.host.caps, b.kind, arch, self._emulated()) if self.host else None
        b.set_platform(arch, machine, emulator)
        b.set_memory(self.memory.value())
        b.set_vcpus(self.vcpus.value())

    def summary(self) -> list[tuple[str, str]]:
        plat = self.arch.currentText() + (f", machine {self.machine.currentText()}" if self.machine.isEnabled() else "")
        return [("Platform", plat), ("Memory", f"{self.memory.value()} MiB"), ("vCPUs", str(self.vcpus.value()))]
