"""The Clone dialog: name, what happens to the disks (copy / linked / share), progress on the job runner.

The clone itself is ``guiapp.backend.clone.clone`` (public API only), run as a long job; the dialog checks
the name as it is typed (a file-safe name no domain of the connection has) and says why Clone is disabled
(a running source must be paused or shut off unless the disks are shared, as virt-clone asks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QWidget,
)

from ...backend.clone import check_clone_name
from ...models.api import STATE_PAUSED, STATE_SHUTOFF

if TYPE_CHECKING:
    from .window import MainWindow

MODES = (
    ("copy", "&Copy the disks", "Each disk is copied in full (in its storage pool when it is a volume). "
                                "The clone is independent of the original."),
    ("linked", "&Linked clone (qcow2 on top of the original)",
     "Fast and small: the clone's disks are qcow2 overlays reading the original's images. The original must "
     "not run while the clone runs, and must never change, or the clone breaks."),
    ("share", "&Share the disks", "The clone uses the same disk images: only for read-only or shareable "
                                  "data; two guests writing one disk corrupt it."),
)
_STOPPED = (STATE_SHUTOFF, STATE_PAUSED, 0, 6)  # no state, crashed: nothing runs


def name_problem(name: str, taken: set[str]) -> str:
    """Why ``name`` cannot be the clone's ('' when it can)."""
    if name in taken:
        return f"a domain named '{name}' already exists on this connection"
    try:
        check_clone_name(name)
    except Exception as exc:  # DriverError carries the message
        return str(getattr(exc, "detail", exc))
    return ""


class _Relay(QObject):
    """Progress from the pool thread to the dialog (queued; connected before the job starts)."""

    moved = Signal(int, str)


class CloneDialog(QDialog):
    """Ask for the clone's name and disk handling, then run the clone with progress."""

    def __init__(self, main: MainWindow, uri: str, uuid: bytes, name: str, state: int, taken: set[str],
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent or main)
        self.main = main
        self.uri = uri
        self.uuid = uuid
        self.source = name
        self.state = state
        self.taken = taken
        self.job: Any = None
        self.relay = _Relay(self)
        self.relay.moved.connect(self._progressed)
        self.setObjectName("cloneDialog")
        self.setWindowTitle(f"Clone '{name}'")
        form = QFormLayout(self)
        self.name = QLineEdit(self._free_name(f"{name}-clone"))
        self.name.setObjectName("cloneName")
        self.name.textChanged.connect(self.check)
        form.addRow("&Name:", self.name)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, label, help_text in MODES:
            button = QRadioButton(label)
            button.setObjectName(f"clone_{key}")
            self.group.addButton(button)
            self.buttons[key] = button
            form.addRow(button)
            note = QLabel(help_text)
            note.setWordWrap(True)
            note.setStyleSheet("color: #555; margin-left: 22px")
            form.addRow(note)
        self.buttons["copy"].setChecked(True)
        self.problem = QLabel("")
        self.problem.setObjectName("cloneProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #a00")
        form.addRow(self.problem)
        self.progress = QProgressBar()
        self.progress.setObjectName("cloneProgress")
        self.progress.setVisible(False)
        form.addRow(self.progress)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok: QPushButton = box.addButton("C&lone", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("cloneOk")
        box.accepted.connect(self.start)
        box.rejected.connect(self.reject)
        form.addRow(box)
        self.resize(520, self.sizeHint().height())
        for button in self.buttons.values():
            button.toggled.connect(self.check)
        self.check()

    def _free_name(self, base: str) -> str:
        name, n = base, 2
        while name in self.taken:
            name, n = f"{base}{n}", n + 1
        return name

    def mode(self) -> str:
        return next(k for k, b in self.buttons.items() if b.isChecked())

    def problem_text(self) -> str:
        """Why Clone is disabled ('' when it is enabled)."""
        text = self.name.text()
        problem = name_problem(text, self.taken)
        if problem:
            return f"Name: {problem}."
        if self.mode() != "share" and self.state not in _STOPPED:
            return (f"'{self.source}' is running: pause or shut it down first so its disks are consistent, or "
                    f"share the disks.")
        return ""

    def check(self, *_a: Any) -> None:
        problem = self.problem_text()
        self.problem.setText(problem)
        self.ok.setEnabled(not problem and self.job is None)
        self.ok.setToolTip(problem)

    def start(self) -> None:
        """Run the clone as a long job; progress shows here and in the jobs panel."""
        if self.problem_text() or self.job is not None:
            return
        conn = self.main.manager.conn(self.uri)
        if conn is None:
            self.problem.setText("The connection is not open.")
            return
        name, mode, uuid, source, relay = self.name.text(), self.mode(), self.uuid, self.source, self.relay

        def work(ctx: Any) -> str:
            from ...backend.clone import clone

            def progress(done: int, total: int, what: str) -> None:
                percent = int(100 * done / total) if total else 100
                ctx.progress(percent, what)  # the jobs panel
                relay.moved.emit(percent, what)
            return str(clone(conn, conn.lookupByUUID(uuid), name, mode, progress).name())

        def done(new_name: str) -> None:
            self.main.manager.poll_now(self.uri)
            self.main.statusBar().showMessage(f"Cloned '{source}' as '{new_name}'.", 5000)
            self.accept()

        def failed(exc: BaseException) -> None:
            self.job = None
            self.progress.setVisible(False)
            self.name.setEnabled(True)
            self.check()
            self.problem.setText(f"Clone failed: {exc}")
            self.main.show_error(exc, operation=f"clone ('{source}')", uri=self.uri)

        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.name.setEnabled(False)
        self.job = self.main.runner.submit(f"Clone {source} as {name}", work, uri=self.uri, operation="clone",
                                           long=True, takes_context=True, on_result=done, on_error=failed,
                                           owner=self)
        self.check()

    def _progressed(self, percent: int, text: str) -> None:
        self.progress.setValue(max(0, percent))
        self.progress.setFormat(f"{text} (%p%)" if text else "%p%")


def open_clone_dialog(main: MainWindow, uri: str, row: Any) -> Optional[CloneDialog]:
    """The Clone dialog for the selected domain ``row`` of connection ``uri`` (None on a read-only one)."""
    entry = main.manager.connections.get(uri)
    if entry is not None and entry.read_only:
        main.statusBar().showMessage("Clone is not possible on a read-only connection.", 5000)
        return None
    node = main.model.connection(uri)
    taken = {r.name for r in node.rows} if node is not None else set()
    dialog = CloneDialog(main, uri, row.uuid, row.name, row.state, taken)
    dialog.open()
    return dialog


__all__ = ["CloneDialog", "MODES", "name_problem", "open_clone_dialog"]
