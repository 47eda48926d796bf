"""The wizard's operating-system box: search osinfo-db by name, detect an ISO's OS, apply its recommended settings.

The database (~800 files, about a second to parse) is read on a worker thread the
first time the box needs it, never while the wizard opens; the parsed list is
shared by every later wizard (``default_db()`` keeps it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout

from guiapp.backend.osinfo import OsDefaults, OsInfoDb, default_db, detect_iso, os_defaults
from guiapp.backend.osinfo.defaults import describe

from .base import note

if TYPE_CHECKING:
    from .wizard import NewVMWizard

MAX_RESULTS = 50


class OsChooser(QGroupBox):
    """Pick the guest OS: typed search or ISO detection; emits the OS's defaults when applied."""

    applied = Signal(object)  # OsDefaults

    def __init__(self, wizard: NewVMWizard, db: Optional[OsInfoDb] = None) -> None:
        super().__init__("Operating system")
        self.wizard = wizard
        self.db = db or default_db()
        self.defaults: Optional[OsDefaults] = None
        self._pending_iso = ""
        lay = QVBoxLayout(self)
        self.search = QLineEdit()
        self.search.setObjectName("osSearch")
        self.search.setPlaceholderText("Search, e.g. \"debian 12\" or \"windows\"")
        self.results = QListWidget()
        self.results.setObjectName("osList")
        self.results.setMaximumHeight(120)
        self.status = note("Type to search the OS list, or choose an ISO to detect it.")
        self.status.setObjectName("osStatus")
        self.recommended = note("")
        self.recommended.setObjectName("osRecommended")
        self.apply_button = QPushButton("Use recommended settings")
        self.apply_button.setObjectName("osApply")
        self.apply_button.setEnabled(False)
        for w in (self.search, self.results, self.status, self.recommended, self.apply_button):
            lay.addWidget(w)
        self.search.textChanged.connect(self._search_changed)
        self.results.currentItemChanged.connect(self._item_chosen)
        self.apply_button.clicked.connect(self.apply)

    # -- loading --------------------------------------------------------------------------------
    def _with_db(self, then: Any) -> None:
        """Run ``then()`` on the UI thread once the database is loaded (loading it on a worker if needed)."""
        if self.db.loaded:
            then()
            return
        self.status.setText("Reading the OS list (osinfo-db)…")
        self.wizard.runner.submit("Read the OS list", self.db.oses, on_result=lambda _r: then(),
                                  on_error=self._failed, owner=self)

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(f"OS list unavailable: {exc}")

    # -- search ---------------------------------------------------------------------------------
    def _search_changed(self, text: str) -> None:
        self._with_db(lambda: self._fill(text))

    def _fill(self, text: str) -> None:
        if text != self.search.text():
            return  # a newer search is on its way
        self.results.blockSignals(True)
        self.results.clear()
        hits = self.db.search(text, MAX_RESULTS) if text.strip() else []
        for entry in hits:
            item = QListWidgetItem(f"{entry.name}  ({entry.short_id})")
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            self.results.addItem(item)
        self.results.blockSignals(False)
        if text.strip():
            self.status.setText(f"{len(hits)} matching systems" if hits else f"No OS matches \"{text}\".")

    def _item_chosen(self, item: Optional[QListWidgetItem], _prev: object = None) -> None:
        if item is not None:
            self.choose(str(item.data(Qt.ItemDataRole.UserRole)))

    def choose(self, os_id: str, how: str = "") -> None:
        """Make ``os_id`` the guest's OS and show what osinfo-db recommends for it."""
        self.defaults = os_defaults(self.db, os_id, self.wizard.builder.arch or "x86_64")
        name = self.db.get(os_id).name
        if how:
            self.status.setText(f"{how}{name}.")
        self.recommended.setText(f"{name}: recommended {describe(self.defaults)}.")
        self.apply_button.setEnabled(True)

    # -- detection ------------------------------------------------------------------------------
    def detect(self, path: str) -> None:
        """Identify the ISO at ``path`` on a worker thread; choose its OS when osinfo-db knows it."""
        if not path or not os.path.isfile(path):
            return
        self._pending_iso = path

        def work() -> Optional[str]:
            found = detect_iso(self.db, path)
            return found[0].id if found else None

        def done(os_id: Optional[str]) -> None:
            if path != self._pending_iso:
                return
            if os_id is None:
                self.status.setText("The ISO is not in osinfo-db: search for its OS by name.")
            else:
                self.choose(os_id, "Detected ")

        def failed(exc: BaseException) -> None:
            if path == self._pending_iso:
                self.status.setText(f"Cannot identify the ISO: {exc}")

        self.wizard.runner.submit("Identify the install media", work, on_result=done, on_error=failed, owner=self)

    def apply(self) -> None:
        """Put the recommended memory, vCPUs, disk size and bus, NIC model and firmware into the wizard's pages."""
        if self.defaults is not None:
            clamped = apply_defaults(self.wizard, self.defaults)
            if clamped:
                self.recommended.setText(self.recommended.text() + " " + clamped)
            self.applied.emit(self.defaults)


def apply_defaults(wizard: NewVMWizard, d: OsDefaults) -> str:
    """Set the pages' fields from ``d``, within the host's memory and CPUs; returns a note when it had to cut
    or could not follow a recommendation.

    Memory, vCPUs, disk size and bus, the NIC model of every interface left at
    "default", and UEFI when the OS needs it and the connection can give it.
    """
    host = wizard.host
    host_mib = host.memory_mib if host is not None else None
    host_cpus = host.cpus if host is not None else None
    memory = min(d.memory_mib, host_mib) if host_mib else d.memory_mib
    vcpus = min(d.vcpus, host_cpus) if host_cpus else d.vcpus
    res = wizard.resources_page
    res.memory.setValue(memory)
    res.vcpus.setValue(max(res.vcpus.value(), vcpus))
    st = wizard.storage_page
    st.new_size.setValue(float(d.disk_gib))
    if st.bus.findText(d.disk_bus) >= 0:
        st.bus.setCurrentText(d.disk_bus)
    notes = [f"Memory limited to the host's {host_mib} MiB."] if memory < d.memory_mib else []
    for ed in wizard.network_page.nics:
        if ed.model.currentData():
            continue  # the user chose one
        for model in (d.nic_model, "e1000") if d.nic_model == "e1000e" else (d.nic_model,):
            idx = ed.model.findData(model)
            if idx >= 0:
                ed.model.setCurrentIndex(idx)
                break
    page = wizard.install_page
    ok, why = page.uefi_available()
    if d.firmware == "efi" and not ok:
        notes.append(f"This OS needs UEFI, but {why}.")
    page.set_firmware(d.firmware)
    return " ".join(notes)
