"""The GUI side of ssh prompts: a password dialog on the UI thread for guiapp.askpass."""

from __future__ import annotations

import threading
from typing import Any, Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from ..askpass import AskpassServer


class _Request:
    __slots__ = ("prompt", "answer", "done")

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self.answer: Optional[str] = None
        self.done = threading.Event()


class AskpassBridge(QObject):
    """Runs the askpass server; each ssh prompt opens a dialog (non-blocking for the UI) and waits for it."""

    requested = Signal(object)
    dialog_opened = Signal(object)  # the QInputDialog, for tests

    def __init__(self, parent: Optional[QWidget] = None, timeout: float = 300.0) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.timeout = timeout
        self.requested.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self.server = AskpassServer(self._ask)
        self.dialogs: list[QInputDialog] = []

    def _ask(self, prompt: str) -> Optional[str]:  # askpass server thread
        req = _Request(prompt)
        self.requested.emit(req)
        if not req.done.wait(self.timeout):
            return None
        return req.answer

    def _show(self, req: _Request) -> None:  # UI thread
        dialog = QInputDialog(self.parent_widget)
        dialog.setWindowTitle("SSH authentication")
        dialog.setLabelText(req.prompt)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(result: Any) -> None:
            req.answer = dialog.textValue() if result == QInputDialog.DialogCode.Accepted else None
            req.done.set()
            if dialog in self.dialogs:
                self.dialogs.remove(dialog)

        dialog.finished.connect(finished)
        self.dialogs.append(dialog)
        dialog.open()
        self.dialog_opened.emit(dialog)

    def close(self) -> None:
        self.server.close()
