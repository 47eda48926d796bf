"""Upload/download of one volume on the job runner, with a progress bar and a Cancel button."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Optional

import shiboken6
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from ...backend import storage as api
from ...jobs import JobContext, JobRunner

#: (kind, volume name, ok, error or None) -> None, on the UI thread when the transfer ends.
Ended = Callable[[str, str, bool, Optional[BaseException]], None]


class TransferBar(QWidget):
    """Hidden until a transfer runs; Cancel stops it between chunks (nothing half-written is kept)."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.progress = QProgressBar()
        self.progress.setObjectName("transferProgress")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("transferCancel")
        self.cancel_button.clicked.connect(self.cancel)
        lay.addWidget(self.progress)
        lay.addWidget(self.cancel_button)
        self.cancel_event: Optional[threading.Event] = None
        self.setVisible(False)
        app = QCoreApplication.instance()
        if app is not None:
            # the data flows through this process: quitting cancels, so the transfer removes what it half-wrote
            # (the entry point waits a few seconds for running jobs) instead of being cut off mid-chunk
            app.aboutToQuit.connect(self.cancel)

    @property
    def running(self) -> bool:
        return self.cancel_event is not None

    def cancel(self) -> None:
        if self.cancel_event is not None:
            self.cancel_event.set()
            self.cancel_button.setEnabled(False)

    def start(self, runner: JobRunner, kind: str, conn: Any, vol_key: str, vol_name: str, path: str, uri: str,
              ended: Ended) -> None:
        """Run ``upload_file``/``download_file`` of the volume with key ``vol_key`` on the pool."""
        cancel = self.cancel_event = threading.Event()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self.setVisible(True)
        move = api.upload_file if kind == "upload" else api.download_file

        def run(ctx: JobContext) -> bool:
            vol = conn.storageVolLookupByKey(vol_key)
            return move(vol, path, lambda done, total: ctx.progress(int(100 * done / total) if total else -1),
                        cancel.is_set)

        def end(ok: bool, exc: Optional[BaseException]) -> None:
            self.cancel_event = None
            self.setVisible(False)
            ended(kind, vol_name, ok, exc)

        job = runner.submit(f"{kind.capitalize()} {vol_name}", run, uri=uri, owner=self, takes_context=True,
                            long=True, operation="virStorageVolUpload" if kind == "upload" else "virStorageVolDownload",
                            on_result=lambda ok: end(bool(ok), None), on_error=lambda exc: end(False, exc))
        job.progressed.connect(self._progressed)

    def _progressed(self, percent: int, _text: str) -> None:
        if shiboken6.isValid(self) and percent >= 0:
            self.progress.setValue(percent)


__all__ = ["TransferBar"]
