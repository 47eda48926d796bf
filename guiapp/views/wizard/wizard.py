"""The New-VM wizard dialog: pages on the left, the live XML and native-config preview on the right."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from guiapp.backend.errors import DriverError
from guiapp.backend.xml.builder import DomainBuilder
from guiapp.backend.xml.domain import parse_domain
from guiapp.backend.xml.guest_kinds import QEMU, GuestKind

from .base import INVALID_STYLE, Problem, WizardPage
from .finish import Created, CreatePlan, run_create
from .hostinfo import HostInfo, load_host_info
from .page_display import DisplayPage
from .page_install import InstallPage
from .page_kind import KindPage
from .page_network import NetworkPage
from .page_resources import ResourcesPage
from .page_storage import StoragePage
from .page_summary import SummaryPage, XmlPage
from .prefs_defaults import apply_preferences
from .preview import WizardPreview

ShowError = Callable[..., Any]


class NewVMWizard(WizardPreview, QDialog):
    """Build a guest's domain XML page by page, then create disks, define and optionally start it."""

    created = Signal(str, bytes)  # uri, uuid of the new domain
    customize_requested = Signal(str, object)  # uri, Created: defined, not started; customize before install

    def __init__(self, connections: Any, runner: Any, parent: Optional[QWidget] = None, *,
                 uri: Optional[str] = None, show_error: Optional[ShowError] = None,
                 settings: Optional[Any] = None) -> None:
        super().__init__(parent)
        self.setObjectName("newVmWizard")
        self.setWindowTitle("New virtual machine")
        self.resize(1080, 680)
        if not isinstance(connections, Mapping):
            connections = {uri or "connection": connections}
        self.connections: dict[str, Any] = dict(connections)
        self.runner = runner
        self._show_error = show_error
        self.uri: Optional[str] = None
        self.host: Optional[HostInfo] = None
        self.host_error: Optional[str] = None
        self._gen = 0
        self._preview_gen = 0
        self.preview_problem = ""  # why the native preview cannot be produced ('' when it can)
        self.busy = False
        self.result: Optional[Created] = None
        self.error_dialog: Any = None
        self.last_error: Optional[BaseException] = None
        self.builder = DomainBuilder(QEMU, "new-vm")
        self._apply_errors: dict[int, str] = {}
        self._marked: list[QWidget] = []
        self._build()
        apply_preferences(self, settings)  # the user's new-VM defaults (osinfo-db's recommendation wins later)
        self.index = 0
        self.stack.setCurrentIndex(0)
        uris = list(self.connections)
        self.kind_page.set_connections(uris, uri if uri in self.connections else (uris[0] if uris else None))
        if uris:
            self.load_host(self.kind_page.connection.currentData())
        else:
            self.host_error = "No connection is open: add or reconnect one in the main window first."
        self._refresh()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.kind_page = KindPage(self)
        self.install_page = InstallPage(self)
        self.resources_page = ResourcesPage(self)
        self.storage_page = StoragePage(self)
        self.network_page = NetworkPage(self)
        self.display_page = DisplayPage(self)
        self.summary_page = SummaryPage(self)
        self.xml_page = XmlPage(self)
        self.pages: list[WizardPage] = [self.kind_page, self.install_page, self.resources_page, self.storage_page,
                                        self.network_page, self.display_page, self.summary_page, self.xml_page]
        outer = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        self.step_label = QLabel()
        self.step_label.setObjectName("stepLabel")
        self.title_label = QLabel()
        self.title_label.setObjectName("pageTitle")
        f = self.title_label.font()
        f.setPointSizeF(f.pointSizeF() * 1.3)
        f.setBold(True)
        self.title_label.setFont(f)
        self.subtitle_label = QLabel()
        self.subtitle_label.setWordWrap(True)
        ll.addWidget(self.step_label)
        ll.addWidget(self.title_label)
        ll.addWidget(self.subtitle_label)
        self.stack = QStackedWidget()
        for p in self.pages:
            self.stack.addWidget(p)
            p.changed.connect(lambda p=p: self._page_changed(p))
        ll.addWidget(self.stack, 1)
        split.addWidget(left)
        self._build_preview()
        split.addWidget(self.preview)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 460])
        outer.addWidget(split, 1)
        self.problem_label = QLabel()
        self.problem_label.setObjectName("problemLabel")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #c0392b;")
        outer.addWidget(self.problem_label)
        self.progress = QProgressBar()
        self.progress.setObjectName("createProgress")
        self.progress.hide()
        outer.addWidget(self.progress)
        row = QHBoxLayout()
        row.addStretch(1)
        self.back_button = QPushButton("< &Back")
        self.forward_button = QPushButton("&Forward >")
        self.forward_button.setObjectName("forwardButton")
        self.finish_button = QPushButton("&Create")
        self.finish_button.setObjectName("finishButton")
        self.cancel_button = QPushButton("Cancel")
        for b in (self.back_button, self.forward_button, self.finish_button, self.cancel_button):
            b.setAutoDefault(False)
            row.addWidget(b)
        self.forward_button.setDefault(True)
        outer.addLayout(row)
        self.back_button.clicked.connect(self.back)
        self.forward_button.clicked.connect(self.forward)
        self.finish_button.clicked.connect(self.finish)
        self.cancel_button.clicked.connect(self.reject)

    # ------------------------------------------------------------------ connection
    @property
    def conn(self) -> Any:
        return self.connections.get(self.uri) if self.uri is not None else None

    def load_host(self, uri: str) -> None:
        """Read the connection's capabilities and limits on the pool."""
        self.uri = uri
        self.host = None
        self.host_error = None
        self._gen += 1
        gen = self._gen
        conn = self.connections[uri]
        self.kind_page.status.setText(f"Reading the capabilities of {uri}…")
        self.runner.submit(f"Read capabilities of {uri}", lambda: load_host_info(conn),
                           on_result=lambda info: self._host_loaded(gen, info),
                           on_error=lambda exc: self._host_failed(gen, exc), uri=uri,
                           operation="virConnectGetCapabilities", owner=self)
        self._refresh()

    def _host_loaded(self, gen: int, info: HostInfo) -> None:
        if gen != self._gen:
            return
        self.host = info
        idx = self.kind_page.connection.currentIndex()
        if idx >= 0 and self.kind_page.connection.itemText(idx) != info.uri:
            self.kind_page.connection.setItemText(idx, info.uri)
        self.kind_page.host_loaded()
        kind = self.kind_page.selected_kind()
        if kind is not None:
            self.kind_selected(kind, force=True)
        self._refresh()

    def _host_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._gen:
            return
        self.host_error = f"Cannot read the connection's capabilities: {exc}"
        self.kind_page.host_failed(self.host_error)
        self._refresh()

    def kind_selected(self, kind: Optional[GuestKind], *, force: bool = False) -> None:
        """A kind was chosen: the document and every page follow it."""
        if kind is None or self.host is None or (kind == self.builder.kind and not force):
            self._refresh()
            return
        old_default = self.summary_page.default_name() if self.host else ""
        try:
            self.builder.set_kind(kind)
            self._apply_errors.pop(0, None)
        except DriverError as exc:  # the document keeps the previous kind
            self._apply_errors[0] = f"Cannot switch to {kind.label}: {exc}"
            self._refresh()
            return
        for p in self.pages:
            p.kind_changed()
        name = self.summary_page.name.text()
        if not name or name == old_default or name.startswith(("qemu-vm", "kvm-vm", "xenpv-vm", "xenhvm-vm")):
            self.summary_page.name.setText(self.summary_page.default_name())
        self._apply_all()
        self._refresh()

    def _apply_all(self) -> None:
        """Write every page that is complete into the document (after a kind change)."""
        for i, p in enumerate(self.pages):
            if p is self.xml_page or p is self.kind_page:
                continue
            if not p.problems():
                self._apply(i, p)

    def _apply(self, i: int, page: WizardPage) -> None:
        try:
            page.apply()
            self._apply_errors.pop(i, None)
        except DriverError as exc:
            self._apply_errors[i] = str(exc)

    # ------------------------------------------------------------------ state changes
    def _page_changed(self, page: WizardPage) -> None:
        if self.host is None and page is not self.kind_page:
            return
        i = self.pages.index(page)
        if page is not self.kind_page and page is not self.xml_page and not page.problems():
            self._apply(i, page)
        self._refresh()

    def page_problems(self, page: Optional[WizardPage] = None) -> list[Problem]:
        page = page or self.pages[self.index]
        out = list(page.problems())
        err = self._apply_errors.get(self.pages.index(page))
        if err and not out:
            out.append((None, err))
        return out

    def _mark(self, problems: list[Problem]) -> None:
        for w in self._marked:
            try:
                w.setStyleSheet("")
                w.setToolTip("")
            except RuntimeError:  # deleted with its row
                pass
        self._marked = []
        for w, msg in problems:
            if w is not None and w not in self._marked:
                w.setStyleSheet(INVALID_STYLE)
                w.setToolTip(msg)
                self._marked.append(w)

    def _next_index(self) -> Optional[int]:
        for i in range(self.index + 1, len(self.pages)):
            if self.pages[i].applies():
                return i
        return None

    def _prev_index(self) -> Optional[int]:
        for i in range(self.index - 1, -1, -1):
            if self.pages[i].applies():
                return i
        return None

    def _refresh(self) -> None:
        page = self.pages[self.index]
        problems = self.page_problems(page)
        self._mark(problems)
        shown = [i for i, p in enumerate(self.pages) if p.applies()]
        step = shown.index(self.index) + 1 if self.index in shown else self.index + 1
        self.step_label.setText(f"Step {step} of {len(shown)}")
        self.title_label.setText(page.title)
        self.subtitle_label.setText(page.subtitle)
        nxt = self._next_index()
        ok = not problems and not self.busy
        self.forward_button.setEnabled(ok and nxt is not None)
        self.finish_button.setEnabled(ok and nxt is None)
        self.forward_button.setVisible(nxt is not None)
        self.finish_button.setVisible(nxt is None)
        self.back_button.setEnabled(self._prev_index() is not None and not self.busy)
        if problems:
            verb = "Create" if nxt is None else "Forward"
            self.problem_label.setText(f"{verb} is disabled: " + "\n".join(m for _w, m in problems))
        elif not self.busy:
            self.problem_label.setText("")
        self._update_preview()
        self._apply_preview_problem()

    def problem_text(self) -> str:
        return self.problem_label.text()

    # ------------------------------------------------------------------ navigation
    def forward(self) -> None:
        if self.page_problems():
            self._refresh()
            return
        nxt = self._next_index()
        if nxt is None:
            return
        self.go_to(nxt)

    def back(self) -> None:
        prev = self._prev_index()
        if prev is not None:
            self.go_to(prev)

    def go_to(self, index: int) -> None:
        self.index = index
        page = self.pages[index]
        page.enter()
        self.stack.setCurrentIndex(index)
        if page is not self.kind_page and page is not self.xml_page and not page.problems():
            self._apply(index, page)
        self._refresh()
        self._scroll_preview(page.anchor)

    def current_page(self) -> WizardPage:
        return self.pages[self.index]

    # ------------------------------------------------------------------ finish
    def final_xml(self) -> str:
        if self.xml_page.applies():
            return self.xml_page.text()
        return self.builder.xml(secure=False)

    def finish(self) -> None:
        if self.busy:
            return
        for i, p in enumerate(self.pages):
            if p.applies() and self.page_problems(p):
                self.go_to(i)
                return
        if self._next_index() is not None:
            return
        xml = self.final_xml()
        defn = parse_domain(xml, hypervisor=self.builder.kind.domain_type)
        sources = {d.source for d in defn.disks}
        disks = [d for d in self.storage_page.disk_plans() if d.path in sources]
        uri = self.uri or ""
        plan = CreatePlan(uri=uri, name=defn.name, xml=xml, disks=disks, start=self.summary_page.starts_now(),
                          boot=self.install_page.boot_files(),
                          customize=self.summary_page.customize.isChecked())
        conn = self.conn
        self._set_busy(True)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.show()
        job = self.runner.submit(f"Create {defn.name}", lambda ctx: run_create(conn, plan, ctx.progress),
                                 on_result=self._created, on_error=self._create_failed, uri=uri,
                                 operation="virDomainDefineXML", long=True, takes_context=True)
        job.progressed.connect(self._progressed)

    def _progressed(self, percent: int, text: str) -> None:
        self.progress.setValue(max(0, percent))
        self.problem_label.setStyleSheet("")
        self.problem_label.setText(text)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.stack.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)
        self._refresh()

    def _created(self, result: Created) -> None:
        self.result = result
        self.progress.setValue(100)
        self._set_busy(False)
        self.created.emit(self.uri or "", result.uuid)
        self.accept()
        if self.summary_page.customize.isChecked():
            self.customize_requested.emit(self.uri or "", result)

    def _create_failed(self, exc: BaseException) -> None:
        self.last_error = exc
        self.progress.hide()
        self._set_busy(False)
        self.problem_label.setStyleSheet("color: #c0392b;")
        self.problem_label.setText(str(exc))
        if self._show_error is not None:
            self.error_dialog = self._show_error(exc, operation="Create virtual machine", uri=self.uri or "")
        else:
            from ..errors import show_error
            self.error_dialog = show_error(self, exc, operation="Create virtual machine", uri=self.uri or "")

    # ------------------------------------------------------------------ closing
    def reject(self) -> None:
        if self.busy:
            self.problem_label.setText("Please wait: the virtual machine is being created.")
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.busy:
            event.ignore()
            return
        super().closeEvent(event)


def open_new_vm_wizard(window: Any) -> NewVMWizard:
    """Open the wizard from the main window on its open connections (non-modal); returns it."""
    manager = window.manager
    conns = {uri: e.conn for uri, e in manager.connections.items() if e.is_open}
    uri = window.selected_connection() if hasattr(window, "selected_connection") else None
    wiz = NewVMWizard(conns, window.runner, window, uri=uri, show_error=getattr(window, "show_error", None),
                      settings=getattr(window, "settings", None))
    wiz.install_page.url_box.load_history(getattr(window, "settings", None))
    wiz.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wiz.created.connect(lambda u, _uuid: manager.poll_now(u))
    wiz.customize_requested.connect(lambda u, created: _customize(window, u, created))
    wiz.show()
    return wiz


def _customize(window: Any, uri: str, created: Created) -> None:
    from ..vmwin.customize import open_customize

    window.customize_window = open_customize(window, uri, created)
