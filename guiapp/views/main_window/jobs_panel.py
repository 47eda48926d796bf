"""The jobs panel: long jobs (start, save, restore, delete, disk work) with their state and progress."""

from __future__ import annotations

import time
from typing import Any, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QHeaderView, QTableView, QWidget

from ...jobs import Job, JobRunner, JobState

_COLUMNS = ("Job", "Connection", "State", "Progress", "Time")


class JobsModel(QAbstractTableModel):
    """Rows of ``runner.history``, newest last."""

    def __init__(self, runner: JobRunner, parent: Any = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._row: dict[int, int] = {}
        runner.job_added.connect(self._added)
        runner.job_changed.connect(self._changed)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.runner.history)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return len(_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section]
        return None

    def job(self, row: int) -> Optional[Job]:
        hist = self.runner.history
        return hist[row] if 0 <= row < len(hist) else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        job = self.job(index.row())
        if job is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return job.title
            if col == 1:
                return job.uri
            if col == 2:
                if job.state is JobState.FAILED:
                    return f"failed: {job.error}"
                return job.state.value
            if col == 3:
                if job.state is JobState.DONE:
                    return "100 %"
                if job.percent >= 0:
                    return f"{job.percent} % {job.progress_text}".strip()
                return job.progress_text or ("…" if job.state is JobState.RUNNING else "")
            end = job.ended if job.ended is not None else time.monotonic()
            return f"{end - job.created:.1f} s"
        if role == Qt.ItemDataRole.ToolTipRole and col == 2 and job.error is not None:
            return str(job.error)
        return None

    def _added(self, _job: Job) -> None:
        self.beginResetModel()  # history may also have been trimmed at the front
        self.endResetModel()

    def _changed(self, job: Job) -> None:
        try:
            row = self.runner.history.index(job)
        except ValueError:
            return
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(_COLUMNS) - 1))


class JobsView(QTableView):
    def __init__(self, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobsView")
        self.jobs_model = JobsModel(runner, self)
        self.setModel(self.jobs_model)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
