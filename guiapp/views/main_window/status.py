"""The main window's status area, jobs panel, saved window layout and Quit (a mixin of MainWindow)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QProgressBar

from ...jobs import Job, JobRunner, JobState
from ...models.domains import COL_SCREEN
from .jobs_panel import JobsView

if TYPE_CHECKING:
    _Base = QMainWindow
else:
    _Base = object


class StatusAndLifecycle(_Base):
    """Status bar labels, the jobs dock and its progress, window geometry, and quitting every window."""

    runner: JobRunner
    settings: Optional[QSettings]
    view: Any
    view_menu: QMenu
    poll_errors: dict[str, str]
    _column_actions: dict[int, QAction]
    quit_box: Any

    def _build_status_and_jobs(self) -> None:
        sb = self.statusBar()
        self.poll_status = QLabel("")
        self.poll_status.setObjectName("pollStatus")
        self.poll_status.setStyleSheet("color: #b00020")
        self.poll_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        sb.addWidget(self.poll_status, 1)
        self.jobs_progress = QProgressBar()
        self.jobs_progress.setObjectName("jobsProgress")
        self.jobs_progress.setMaximumWidth(160)
        self.jobs_progress.setRange(0, 0)
        self.jobs_progress.setFormat("")
        self.jobs_progress.hide()
        sb.addPermanentWidget(self.jobs_progress)
        self.screens_label = QLabel("")
        self.screens_label.setObjectName("thumbnailStatus")
        self.screens_label.hide()
        sb.addPermanentWidget(self.screens_label)
        self.count_label = QLabel("")
        self.count_label.setObjectName("countLabel")
        sb.addPermanentWidget(self.count_label)
        dock = self.jobs_dock = QDockWidget("Jobs", self)
        dock.setObjectName("jobsDock")
        self.jobs_view = JobsView(self.runner, dock)
        dock.setWidget(self.jobs_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [150], Qt.Orientation.Vertical)
        dock.hide()
        toggle = dock.toggleViewAction()
        toggle.setText("&Jobs Panel")
        toggle.setShortcut(QKeySequence("Ctrl+J"))
        toggle.setToolTip("Show long jobs (start, save, restore, delete) and their progress")
        self.view_menu.addAction(toggle)
        self.runner.job_added.connect(self._long_job_changed)
        self.runner.job_changed.connect(self._long_job_changed)

    def _on_poll_failed(self, uri: str, exc: BaseException) -> None:
        self.poll_errors[uri] = f"{uri}: polling failed: {exc}"
        self._show_poll_errors()

    def _show_poll_errors(self) -> None:
        text = "   ".join(self.poll_errors.values())
        self.poll_status.setText(text)
        self.poll_status.setToolTip(text)

    def _long_job_changed(self, job: Job) -> None:
        if job.state is JobState.RUNNING and not getattr(job, "_watched", False):
            job._watched = True  # type: ignore[attr-defined]
            # a job still running after a second gets the jobs panel shown, so it can be watched
            timer = QTimer(self)  # a child: it dies with the window
            timer.setSingleShot(True)
            timer.timeout.connect(lambda j=job, t=timer: self._maybe_show_jobs(j, t))
            timer.start(1000)
        self._update_jobs_progress()

    def _maybe_show_jobs(self, job: Job, timer: QTimer) -> None:
        timer.deleteLater()
        if job.state is JobState.RUNNING and not self.jobs_dock.isVisible():
            self.jobs_dock.show()

    def _update_jobs_progress(self) -> None:
        running = [j for j in self.runner.history[-50:] if j.state in (JobState.QUEUED, JobState.RUNNING)]
        if running:
            self.jobs_progress.setToolTip("\n".join(j.title for j in running))
            self.jobs_progress.setFormat(f"{len(running)} job{'s' if len(running) > 1 else ''}")
            self.jobs_progress.show()
        else:
            self.jobs_progress.hide()

    def _restore_window_state(self) -> None:
        s = self.settings
        if s is None:
            self.resize(980, 620)
            return
        geo = s.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(980, 620)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        header = s.value("window/header2")  # "window/header" held the layout without the State column
        if header is not None:
            self.view.header().restoreState(header)
        for col, a in self._column_actions.items():
            if col != COL_SCREEN:
                a.setChecked(not self.view.isColumnHidden(col))
        wanted = s.value("window/screen_column", True)
        self._column_actions[COL_SCREEN].setChecked(str(wanted).lower() not in ("false", "0"))

    def save_window_state(self) -> None:
        s = self.settings
        if s is None:
            return
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/header2", self.view.header().saveState())
        s.sync()

    def running_long_jobs(self) -> list[Job]:
        return [j for j in self.runner.history if j.state in (JobState.QUEUED, JobState.RUNNING)]

    def customizing_windows(self) -> list[Any]:
        """VM windows customizing a new guest before install (defined, never started), not yet answered."""
        return [vm for vm in getattr(self, "vm_windows", {}).values()
                if vm.customizer is not None and vm.customizer.pending()]

    def quit_app(self) -> None:
        """Quit: close every top-level window (consoles, details, networks, wizards), asking first if jobs run.

        A VM window customizing a new guest asks first, as its own close does (cancel the installation, keep
        the VM, or stay: staying calls Quit off); then Quit goes on with the next one.
        """
        customizing = self.customizing_windows()
        if customizing:
            vm = customizing[0]
            vm.show()
            vm.raise_()
            vm.activateWindow()
            vm.customizer.ask_close(then=self.quit_app)
            return
        running = self.running_long_jobs()
        if not running:
            self._quit_now()
            return
        from PySide6.QtWidgets import QMessageBox
        names = "\n".join(f"• {j.title}" for j in running[:8]) + ("\n…" if len(running) > 8 else "")
        box = QMessageBox(QMessageBox.Icon.Question, "Quit guiapp?",
                          f"{len(running)} job{'s are' if len(running) != 1 else ' is'} still running:\n{names}\n\n"
                          "Quit anyway? Running jobs finish in the background of the hypervisor, "
                          "but guiapp will not report their result.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("quitConfirm")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText("&Quit")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(self._quit_now)
        self.quit_box = box
        box.open()

    def _quit_now(self) -> None:
        from PySide6.QtWidgets import QApplication
        self.close()
        for w in QApplication.topLevelWidgets():
            if w is not self and w.isVisible():
                w.close()
        QApplication.quit()
