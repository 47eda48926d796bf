"""Customize configuration before install: the VM window of a domain the wizard defined but did not start.

As virt-manager's customize dialog: the window opens on the Details › Hardware pages with an Installation bar
(Begin Installation, Cancel Installation).  Edits go through the same hardware pages (defineXML jobs).  Begin
starts the domain (as the wizard's install run when it has one: ``netinstall.start_domain``) and shows the console;
Cancel asks, then undefines the domain and deletes the storage the wizard made (``finish.cancel_install``).
Closing the window before beginning asks whether to cancel the installation or keep the virtual machine;
so does Quit (``ask_close`` with what to do next), for each window still customizing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QSizePolicy, QToolBar, QWidget

from guiapp.backend.osinfo.netinstall import remove_files, start_domain

from ..icons import icon, state_icon
from ..wizard.finish import Created, cancel_install
from .window import VmWindow, open_vm_window

if TYPE_CHECKING:
    from ..main_window.window import MainWindow

BEGUN, CANCELLED, KEPT = "begun", "cancelled", "kept"


class Customizer(QObject):
    """The Installation bar of one VM window and what its buttons do; ``done`` says how customizing ended."""

    done = Signal(str)  # BEGUN | CANCELLED | KEPT

    def __init__(self, vm: VmWindow, created: Created) -> None:
        super().__init__(vm)
        self.vm, self.created = vm, created
        self.busy = False
        self.outcome = ""
        self.box: Optional[QMessageBox] = None
        self._then: Optional[Callable[[], None]] = None  # what waits for the window to close (Quit)
        bar = self.bar = QToolBar("Installation", vm)
        bar.setObjectName("customizeToolbar")
        bar.setMovable(False)
        self.text = QLabel(f"  Customize '{created.name}' before it first starts, then begin the installation.  ")
        self.text.setObjectName("customizeText")
        bar.addWidget(self.text)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.begin_button = QPushButton(state_icon(1), "&Begin Installation")
        self.begin_button.setObjectName("beginInstall")
        self.begin_button.setToolTip("Start the virtual machine" + (" with its install configuration"
                                                                   if created.install_xml else ""))
        self.begin_button.clicked.connect(self.begin)
        self.cancel_button = QPushButton(icon("action-delete"), "&Cancel Installation")
        self.cancel_button.setObjectName("cancelInstall")
        self.cancel_button.setToolTip("Delete the virtual machine and the storage made for it (asks first)")
        self.cancel_button.clicked.connect(self.ask_cancel)
        bar.addWidget(self.begin_button)
        bar.addWidget(self.cancel_button)
        vm.insertToolBar(vm.toolbar, bar)
        vm.insertToolBarBreak(vm.toolbar)
        bar.show()  # a tool bar added to a window already shown stays hidden otherwise

    # ------------------------------------------------------------------ begin
    def begin(self) -> None:
        """Start the domain on the pool; then the window shows its console."""
        if self.busy or self.outcome:
            return
        if self.vm.details.hardware.apply_button.isEnabled():  # an edited device form not applied yet
            self._say("Apply or revert the change on the hardware page first, then begin the installation.")
            return
        conn = self.vm.main.manager.conn(self.vm.uri)
        if conn is None:
            self._say("The connection is closed: reconnect it in the main window first.")
            return
        uuid, install_xml, boot_files = self.created.uuid, self.created.install_xml, list(self.created.boot_files)
        self._set_busy(True, f"Starting {self.created.name}…")

        def work() -> None:
            start_domain(conn, conn.lookupByUUID(uuid), install_xml)
            remove_files(boot_files)  # a network install's kernel and initrd: QEMU has read them

        self.vm.main.runner.submit(f"Begin installation of {self.created.name}", work, uri=self.vm.uri,
                                   operation="virDomainCreate", on_result=lambda _r: self._begun(),
                                   on_error=self._failed, owner=self)

    def _begun(self) -> None:
        self._finish(BEGUN)
        self.vm.show_page("console")
        self.vm.main.manager.poll_now(self.vm.uri)

    # ----------------------------------------------------------------- cancel
    def ask_cancel(self) -> None:
        """Ask, then delete the domain and the storage the wizard made."""
        if self.busy or self.outcome:
            return
        paths = [d.path for d in self.created.disks]
        storage = ("\n\nThe storage made for it is deleted too:\n" + "\n".join(paths)) if paths else ""
        box = QMessageBox(QMessageBox.Icon.Warning, "Cancel installation",
                          f"Cancel the installation of '{self.created.name}'? The virtual machine is deleted."
                          + storage, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.vm)
        box.setObjectName("cancelInstallBox")
        box.button(QMessageBox.StandardButton.Yes).setText("Cancel &Installation")
        box.button(QMessageBox.StandardButton.No).setText("&Keep Customizing")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.buttonClicked.connect(lambda b: self.cancel() if box.buttonRole(b) == QMessageBox.ButtonRole.YesRole
                                  else None)
        self.box = box
        box.open()

    def cancel(self) -> None:
        """Undefine the domain and delete its new storage on the pool (no question: see ask_cancel)."""
        if self.busy or self.outcome:
            return
        conn = self.vm.main.manager.conn(self.vm.uri)
        if conn is None:
            self._say("The connection is closed: reconnect it in the main window first.")
            return
        created, uri = self.created, self.vm.uri
        self._set_busy(True, f"Deleting {created.name}…")
        self.vm.main.runner.submit(f"Cancel installation of {created.name}", lambda: cancel_install(conn, uri, created),
                                   uri=uri, operation="virDomainUndefine", on_result=lambda _r: self._cancelled(),
                                   on_error=self._failed, owner=self)

    def _cancelled(self) -> None:
        self._finish(CANCELLED)
        self.vm.main.manager.poll_now(self.vm.uri)
        self.vm.close()
        self._run_then()

    def _run_then(self) -> None:
        then, self._then = self._then, None
        if then is not None:
            then()

    # ------------------------------------------------------------------ close
    def may_close(self, event: QCloseEvent) -> bool:
        """The window is closing before Begin: ask (cancel the installation, keep the VM, or stay)."""
        if self.outcome:
            return True
        event.ignore()
        if not self.busy:
            self.ask_close()
        return False

    def pending(self) -> bool:
        """Still customizing: neither begun, cancelled nor kept, and no Begin or Cancel running."""
        return not self.outcome and not self.busy

    def ask_close(self, then: Optional[Callable[[], None]] = None) -> None:
        """Ask whether to cancel the installation (delete), keep the VM, or stay; ``then`` runs once the window
        has closed either way (Quit goes on), never when the user stays or deleting fails."""
        self._then = then
        box = QMessageBox(QMessageBox.Icon.Question, "Close without installing",
                          f"'{self.created.name}' has not been started yet. Cancel the installation (delete it and "
                          f"its new storage) or keep it defined to start later?", QMessageBox.StandardButton.NoButton,
                          self.vm)
        box.setObjectName("closeCustomizeBox")
        delete = box.addButton("Cancel &Installation", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("&Keep It", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(button: Any) -> None:
            if button is delete:
                self.cancel()
            elif button is keep:
                self._finish(KEPT)
                self.vm.close()
                self._run_then()
            else:
                self._then = None  # stay: Quit is called off

        box.buttonClicked.connect(answered)
        self.box = box
        box.open()

    # ----------------------------------------------------------------- helpers
    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.busy = busy
        self.begin_button.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)
        if text:
            self._say(text)

    def _say(self, text: str) -> None:
        self.text.setText(f"  {text}  ")

    def _failed(self, exc: BaseException) -> None:
        self._then = None  # a Quit waiting for this is called off: the error is shown
        self._set_busy(False, f"Failed: {exc}".splitlines()[0])
        self.vm.main.show_error(exc, operation="Customize before install", uri=self.vm.uri)

    def _finish(self, outcome: str) -> None:
        self.busy = False
        self.outcome = outcome
        self.bar.hide()
        self.vm.customizer = None
        self.vm.title_suffix = ""
        self.vm._title()
        self.done.emit(outcome)


def open_customize(main: MainWindow, uri: str, created: Created) -> VmWindow:
    """The VM window of the just-defined ``created`` on its hardware pages, with the Installation bar."""
    vm = open_vm_window(main, uri, created.uuid, page="details")
    vm.details.tabs.setCurrentWidget(vm.details.hardware)
    if vm.name == created.uuid.hex():  # not listed yet: the name the wizard gave it
        vm.name = created.name
    if vm.customizer is None:
        vm.customizer = Customizer(vm, created)
        vm.title_suffix = "customize before install"
    vm._title()
    return vm
