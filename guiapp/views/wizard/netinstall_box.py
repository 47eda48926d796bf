"""The install page's network-install box: a tree URL (with history), detection on the job pool, the result.

Detection (``osinfo/tree.py``) reads the tree's metadata only; the installer
kernel and initrd are fetched when the wizard finishes (``finish.run_create``).
The URLs of trees detected successfully are kept in QSettings (most recent first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QWidget

from guiapp.backend.osinfo.netinstall import BootFiles, plan_boot_files
from guiapp.backend.osinfo.tree import InstallTree, detect_tree

from .base import note

if TYPE_CHECKING:
    from .wizard import NewVMWizard

HISTORY_KEY = "wizard/install_urls"
HISTORY_SIZE = 10


def _history(settings: Any) -> list[str]:
    if settings is None:
        return []
    value = settings.value(HISTORY_KEY, [])
    if isinstance(value, str):  # QSettings' INI format gives a one-item list back as a string
        value = [value]
    return [str(v) for v in value or [] if str(v).strip()][:HISTORY_SIZE]


class UrlInstallBox(QWidget):
    """Tree URL, Detect, what was found, and the installer's kernel command line."""

    changed = Signal()
    detected = Signal(object)  # InstallTree

    def __init__(self, wizard: NewVMWizard) -> None:
        super().__init__()
        self.wizard = wizard
        self.settings: Any = getattr(wizard, "settings", None)
        self.tree: Optional[InstallTree] = None
        self.files: Optional[BootFiles] = None
        self.error = ""
        self.mismatch = ""  # the tree's arch is not one the connection offers
        self.busy = False
        self._detected_for = ""  # (url, uri, arch) the result belongs to
        self._gen = 0
        form = QFormLayout(self)
        form.setContentsMargins(22, 0, 0, 0)
        self.url = QComboBox()
        self.url.setObjectName("installUrl")
        self.url.setEditable(True)
        self.url.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        edit = self.url.lineEdit()
        assert edit is not None  # editable
        edit.setPlaceholderText("http://deb.debian.org/debian/dists/bullseye/main/installer-amd64/")
        self.detect_button = QPushButton("&Detect")
        self.detect_button.setObjectName("detectTree")
        row = QHBoxLayout()
        row.addWidget(self.url, 1)
        row.addWidget(self.detect_button)
        form.addRow("URL:", row)
        self.status = note("Enter the URL of an install tree (a Fedora/CentOS/openSUSE tree with .treeinfo, or "
                           "dists/SUITE/ of a Debian or Ubuntu mirror), then Detect.")
        self.status.setObjectName("treeStatus")
        form.addRow("", self.status)
        self.cmdline = QLineEdit()
        self.cmdline.setObjectName("urlCmdline")
        self.cmdline.setPlaceholderText("optional, added to the installer's command line")
        form.addRow("Kernel command line:", self.cmdline)
        self.detect_button.clicked.connect(self.detect)
        edit.returnPressed.connect(self.detect)
        self.url.currentTextChanged.connect(self._url_edited)
        self.cmdline.textChanged.connect(lambda _t: self.changed.emit())

    def load_history(self, settings: Any) -> None:
        """Use ``settings`` for the URL history and fill the list from it."""
        self.settings = settings
        text = self.url.currentText()
        self.url.blockSignals(True)
        self.url.clear()
        self.url.addItems(_history(settings))
        self.url.setCurrentText(text)
        self.url.blockSignals(False)

    def _remember(self, url: str) -> None:
        urls = [url] + [u for u in _history(self.settings) if u != url]
        if self.settings is not None:
            self.settings.setValue(HISTORY_KEY, urls[:HISTORY_SIZE])
        self.load_history(self.settings)

    # -- detection ------------------------------------------------------------------------------
    def arch(self) -> str:
        """The guest architecture chosen for now (the resources page's), which picks the installer's arch."""
        return self.wizard.resources_page.arch.currentText() or self.wizard.builder.arch or "x86_64"

    def _key(self) -> str:
        return f"{self.url.currentText().strip()}|{self.wizard.uri}"

    def current(self) -> bool:
        """Whether the shown result belongs to the URL, connection and arch now chosen."""
        return self.tree is not None and self._detected_for == self._key()

    def _url_edited(self, _text: str) -> None:
        if not self.busy and self._detected_for != self._key():
            self.error = ""
        self.changed.emit()

    def detect(self) -> None:
        """Identify the tree on the job pool (never on the UI thread)."""
        url = self.url.currentText().strip()
        uri = self.wizard.uri or ""
        if not url or not uri:
            return
        arch = self.arch()
        key = self._key()
        db = self.wizard.install_page.os_box.db
        self._gen += 1
        gen = self._gen
        self.busy = True
        self.error = ""
        self.status.setText(f"Reading {url} …")
        self.changed.emit()

        def work() -> tuple[InstallTree, BootFiles]:
            tree = detect_tree(db, url, arch)
            return tree, plan_boot_files(uri, tree.url, tree.kernel, tree.initrd)

        def done(result: tuple[InstallTree, BootFiles]) -> None:
            if gen != self._gen:
                return
            self.busy = False
            self.tree, self.files = result
            self._detected_for = key
            archs = self.wizard.resources_page.arch
            if archs.findText(self.tree.arch) >= 0:
                archs.setCurrentText(self.tree.arch)  # the guest runs the tree's installer
            self.mismatch = "" if archs.currentText() in ("", self.tree.arch) else (
                f" The installer is for {self.tree.arch}, but this connection offers {archs.currentText()} "
                f"guests only.")
            self.cmdline.setText(self.tree.cmdline)
            self._remember(url)
            self.status.setText(self.describe())
            self.detected.emit(self.tree)
            self.changed.emit()

        def failed(exc: BaseException) -> None:
            if gen != self._gen:
                return
            self.busy = False
            self.tree = self.files = None
            self.error = str(exc)
            self.status.setText(f"Cannot use this tree: {exc}")
            self.changed.emit()

        self.wizard.runner.submit("Detect the install tree", work, on_result=done, on_error=failed, uri=uri,
                                  owner=self)

    def describe(self) -> str:
        t = self.tree
        if t is None:
            return ""
        what = f"Detected {t.name} ({t.arch})" if t.os is not None else \
            f"Found {t.label}, which osinfo-db does not know: choose its OS by name below"
        return f"{what}. The installer boots {t.kernel} and {t.initrd} from {t.url}.{self.mismatch}"

    def problem(self) -> str:
        """Why the page cannot go on with a network install ('' when it can)."""
        if not self.url.currentText().strip():
            return "Enter the URL of the install tree."
        if self.busy:
            return "Detecting the install tree…"
        if self.error and not self.current():
            return f"Cannot use this tree: {self.error}"
        if not self.current():
            return "Press Detect to identify the install tree at this URL."
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in self.cmdline.text()):
            return "The kernel command line must not contain control characters."
        return ""

    def boot_files(self) -> Optional[BootFiles]:
        return self.files if self.current() else None
