"""Page 2: install source — PV kernel boot; HVM: ISO, existing image, network install from a tree URL,
network boot or direct kernel boot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from guiapp.backend.osinfo.defaults import host_ovmf
from guiapp.backend.osinfo.netinstall import BootFiles
from guiapp.backend.xml.builder import DISK_FORMATS, InstallSpec
from guiapp.backend.xml.guest_kinds import default_loader

from . import checks
from .base import PathField, Problem, WizardPage, note
from .netinstall_box import UrlInstallBox
from .os_choice import OsChooser

if TYPE_CHECKING:
    from .wizard import NewVMWizard

METHOD_LABELS = {
    "cdrom": "Installation media (ISO image or CD-ROM device)",
    "import": "Import an existing disk image",
    "url": "Network install (HTTP, HTTPS, or a local file:// tree)",
    "network": "Network boot (PXE)",
    "kernel": "Direct kernel boot (kernel, initrd, command line)",
}


class InstallPage(WizardPage):
    title = "Install source"
    subtitle = "How the guest starts the first time."
    anchor = "<os>"

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__(wizard)
        lay = QVBoxLayout(self)
        self.method_box = QGroupBox("Boot the guest from")
        ml = QVBoxLayout(self.method_box)
        self.methods = QButtonGroup(self)
        self.method_buttons: dict[str, QRadioButton] = {}
        self.method_widgets: dict[str, QWidget] = {}
        self.iso = PathField("/path/to/install.iso")
        self.image = PathField("/path/to/disk.img")
        self.image_format = QComboBox()
        self.image_format.addItems(list(DISK_FORMATS))
        self.image_format.setCurrentText("raw")
        img = QWidget()
        il = QFormLayout(img)
        il.setContentsMargins(22, 0, 0, 0)
        il.addRow("Image:", self.image)
        il.addRow("Format:", self.image_format)
        iso = QWidget()
        isl = QFormLayout(iso)
        isl.setContentsMargins(22, 0, 0, 0)
        isl.addRow("ISO:", self.iso)
        self.url_box = UrlInstallBox(wizard)
        for key, label in METHOD_LABELS.items():
            rb = QRadioButton(label)
            rb.setObjectName(f"method-{key}")
            self.methods.addButton(rb)
            self.method_buttons[key] = rb
            ml.addWidget(rb)
            if key == "cdrom":
                ml.addWidget(iso)
                self.method_widgets[key] = iso
            elif key == "import":
                ml.addWidget(img)
                self.method_widgets[key] = img
            elif key == "url":
                ml.addWidget(self.url_box)
                self.method_widgets[key] = self.url_box
            rb.toggled.connect(self._method_toggled)
        lay.addWidget(self.method_box)
        self.os_box = OsChooser(wizard)
        lay.addWidget(self.os_box)
        self.iso.textChanged.connect(self.os_box.detect)
        self.url_box.changed.connect(self.emit_changed)
        self.url_box.detected.connect(self._tree_detected)

        self.kernel_box = QGroupBox("Kernel")
        kl = QFormLayout(self.kernel_box)
        self.kernel = PathField("/boot/vmlinuz")
        self.initrd = PathField("optional: /boot/initrd.img")
        self.root_dev = QLineEdit()
        self.root_dev.setPlaceholderText("optional, e.g. /dev/xvda1")
        self.cmdline = QLineEdit()
        self.cmdline.setPlaceholderText("optional, e.g. console=hvc0 ro")
        kl.addRow("&Kernel:", self.kernel)
        kl.addRow("&Initrd:", self.initrd)
        kl.addRow("&Root device:", self.root_dev)
        kl.addRow("Kernel command &line:", self.cmdline)
        lay.addWidget(self.kernel_box)

        self.firmware_box = QGroupBox("Firmware")
        fl = QFormLayout(self.firmware_box)
        self.loader = PathField("default firmware")
        fl.addRow("&Loader:", self.loader)
        self.loader_note = note("")
        fl.addRow("", self.loader_note)
        self.firmware_choice = QComboBox()
        self.firmware_choice.setObjectName("firmwareChoice")
        self.firmware_choice.addItem("BIOS", "bios")
        self.firmware_choice.addItem("UEFI", "efi")
        fl.addRow("&Firmware:", self.firmware_choice)
        self.firmware_choice.currentIndexChanged.connect(self._firmware_changed)
        lay.addWidget(self.firmware_box)
        lay.addStretch(1)
        for w in (self.iso, self.image, self.kernel, self.initrd, self.loader):
            w.textChanged.connect(self.emit_changed)
        for w in (self.root_dev, self.cmdline):
            w.textChanged.connect(self.emit_changed)
        self.image_format.currentIndexChanged.connect(self.emit_changed)
        self.method_buttons["cdrom"].setChecked(True)
        self._sync_visibility()

    # -- state ----------------------------------------------------------------------------
    def method(self) -> str:
        if self.builder.kind.pv:
            return "kernel"
        for key, rb in self.method_buttons.items():
            if rb.isChecked():
                return key
        return "cdrom"

    def set_method(self, key: str) -> None:
        self.method_buttons[key].setChecked(True)

    # -- firmware -------------------------------------------------------------------------------
    @property
    def firmware(self) -> str:
        """``<os firmware>``: 'efi' on connections that pick the file themselves (test), else '' (loader path)."""
        host = self.host
        opt = host.option(self.builder.kind.key) if host is not None else None
        if self.firmware_choice.currentData() == "efi" and opt is not None and opt.emulated:
            return "efi"
        return ""

    def uefi_available(self) -> tuple[bool, str]:
        """Whether this connection can give the guest UEFI, and why not."""
        kind, host = self.builder.kind, self.host
        opt = host.option(kind.key) if host is not None else None
        if not kind.hvm or kind.xen:
            return False, "UEFI is offered for QEMU/KVM guests"
        if opt is not None and opt.emulated:
            return True, ""
        if host_ovmf() is None:
            return False, "no OVMF firmware on this host (apt-get install ovmf)"
        return True, ""

    def set_firmware(self, firmware: str) -> None:
        """Choose BIOS or UEFI (when the host offers it)."""
        ok, _why = self.uefi_available()
        self.firmware_choice.setCurrentIndex(1 if firmware == "efi" and ok else 0)

    def _firmware_changed(self, _i: int = 0) -> None:
        efi = self.firmware_choice.currentData() == "efi"
        ovmf = host_ovmf()
        if efi and not self.firmware and ovmf is not None:
            self.loader.setText(ovmf)  # QEMU loads the OVMF image with -bios
        elif not efi and ovmf is not None and self.loader.text() == ovmf:
            self.loader.setText(self.default_loader())
        self.emit_changed()

    def _sync_firmware(self) -> None:
        ok, why = self.uefi_available()
        item = self.firmware_choice.model().item(1)  # type: ignore[attr-defined]
        item.setEnabled(ok)
        item.setToolTip(why)
        if not ok and self.firmware_choice.currentIndex() == 1:
            self.firmware_choice.setCurrentIndex(0)

    def _tree_detected(self, tree: object) -> None:
        """A detected tree's OS becomes the guest's OS, with its recommended settings."""
        os_entry = getattr(tree, "os", None)
        if os_entry is not None:
            self.os_box.choose(os_entry.id, "Detected ")
            self.os_box.apply()

    def _method_toggled(self, on: bool) -> None:
        if on:
            self._sync_visibility()
            self.changed.emit()

    def _sync_visibility(self) -> None:
        kind = self.builder.kind
        m = self.method()
        self.method_box.setVisible(kind.hvm)
        for key, w in self.method_widgets.items():
            w.setEnabled(m == key)
        self.url_box.setVisible(m == "url")
        self.kernel_box.setVisible(kind.pv or m == "kernel")
        self.kernel_box.setTitle("Paravirtualized kernel" if kind.pv else "Direct kernel boot")
        self.firmware_box.setVisible(kind.hvm)

    def default_loader(self) -> str:
        host = self.host
        if host is None:
            return ""
        opt = host.option(self.builder.kind.key)
        return default_loader(host.caps, self.builder.kind, self.builder.arch, bool(opt and opt.emulated)) or ""

    def kind_changed(self) -> None:
        kind = self.builder.kind
        loader = self.default_loader()
        self.loader.setText(loader if kind.xen else "")
        self.loader_note.setText("Xen HVM guests need hvmloader (from the connection's capabilities)." if kind.xen
                                 else "Leave empty for QEMU's default BIOS (SeaBIOS); set an OVMF file for UEFI.")
        self.root_dev.setPlaceholderText("optional, e.g. /dev/xvda1" if kind.pv else "optional, e.g. /dev/vda1")
        self._sync_firmware()
        self._sync_visibility()

    def enter(self) -> None:
        self._sync_visibility()

    # -- validation -------------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        kind = self.builder.kind
        m = self.method()

        def add(widget: QWidget, msg: object) -> None:
            if msg:
                out.append((widget, str(msg)))

        if kind.pv or m == "kernel":
            add(self.kernel.edit, checks.check_readable_file(self.kernel.text(), "kernel"))
            if self.initrd.text():
                add(self.initrd.edit, checks.check_readable_file(self.initrd.text(), "initrd"))
            if any(c.isspace() for c in self.root_dev.text().strip()):
                add(self.root_dev, "The root device must not contain spaces (e.g. /dev/xvda1).")
        if kind.hvm:
            if m == "cdrom":
                add(self.iso.edit, checks.check_readable_file(self.iso.text(), "installation ISO", allow_block=True))
            elif m == "import":
                add(self.image.edit, checks.check_readable_file(self.image.text(), "disk image", allow_block=True))
            elif m == "url":
                add(self.url_box.url, self.url_box.problem())
            loader = self.loader.text()
            if kind.xen and not loader:
                add(self.loader.edit, "Xen HVM guests need a firmware loader (hvmloader).")
            elif loader and loader != self.default_loader():
                add(self.loader.edit, checks.check_readable_file(loader, "firmware loader"))
        return out

    def spec(self) -> InstallSpec:
        kind = self.builder.kind
        m = self.method()
        kernel_boot = kind.pv or m == "kernel"
        if m == "url" and not kind.pv:
            files = self.url_box.boot_files()
            return InstallSpec(method="url", url=files.tree_url if files else "",
                               kernel=files.kernel_path if files else "", initrd=files.initrd_path if files else "",
                               cmdline=self.url_box.cmdline.text().strip() if files else "",
                               loader=self.loader.text(), firmware=self.firmware)
        return InstallSpec(
            method=m, iso=self.iso.text() if m == "cdrom" else "",
            image=self.image.text() if m == "import" else "", image_format=self.image_format.currentText(),
            kernel=self.kernel.text() if kernel_boot else "", initrd=self.initrd.text() if kernel_boot else "",
            cmdline=self.cmdline.text().strip() if kernel_boot else "",
            root_dev=self.root_dev.text().strip() if kernel_boot else "",
            loader=self.loader.text() if kind.hvm else "", firmware=self.firmware if kind.hvm else "")

    def apply(self) -> None:
        self.builder.set_install(self.spec())

    def boot_files(self) -> Optional[BootFiles]:
        """The installer kernel and initrd a network install fetches when the wizard finishes."""
        return self.url_box.boot_files() if self.method() == "url" and not self.builder.kind.pv else None

    def summary(self) -> list[tuple[str, str]]:
        s = self.spec()
        if self.builder.kind.pv or s.method == "kernel":
            text = f"kernel {s.kernel}" + (f", initrd {s.initrd}" if s.initrd else "")
        else:
            text = {"cdrom": f"ISO {s.iso}", "import": f"imported image {s.image}",
                    "network": "network boot (PXE)",
                    "url": f"install tree {s.url} (installer kernel fetched when created; "
                           f"the guest boots from its disk afterwards)"}.get(s.method, s.method)
        out = [("Install from", text)]
        if self.os_box.defaults is not None:
            out.append(("Operating system", self.os_box.db.get(self.os_box.defaults.os_id).name))
        return out
