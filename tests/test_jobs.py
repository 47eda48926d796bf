"""The job runner: results and errors come back on the UI thread as signals; the UI-thread guard."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication

import guiapp.backend as libvirt
from guiapp.jobs import (
    JobRunner,
    JobState,
    clear_ui_thread_violations,
    install_ui_thread_guard,
    ui_thread_violations,
)
from guiapp.models.api import silence_default_error_handler


@pytest.fixture
def runner(qapp: Any) -> Any:
    r = JobRunner(max_threads=4)
    yield r
    r.wait(10_000)
    QCoreApplication.processEvents()


def test_result_arrives_on_the_ui_thread(qtbot: Any, runner: JobRunner) -> None:
    ui = threading.get_ident()
    seen: dict[str, Any] = {}

    def work() -> int:
        seen["worker"] = threading.get_ident()
        return 42

    def done(value: int) -> None:
        seen["value"], seen["slot"] = value, threading.get_ident()

    job = runner.submit("answer", work, on_result=done)
    qtbot.waitUntil(lambda: "value" in seen, timeout=6000)
    assert seen["value"] == 42 and seen["slot"] == ui and seen["worker"] != ui
    assert job.state is JobState.DONE and job.result == 42


def test_errors_arrive_as_signals_with_the_libvirt_error(qtbot: Any, runner: JobRunner) -> None:
    silence_default_error_handler()
    errors: list = []
    runner.submit("open", lambda: libvirt.open("nosuchdriver:///x"), on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=6000)
    assert isinstance(errors[0], libvirt.libvirtError)
    assert errors[0].get_error_code() == libvirt.VIR_ERR_NO_CONNECT


def test_long_jobs_report_progress_and_are_kept_for_the_panel(qtbot: Any, runner: JobRunner) -> None:
    gate = threading.Event()
    progress: list = []

    def work(ctx: Any) -> str:
        ctx.progress(50, "half")
        gate.wait(5)
        return "ok"

    job = runner.submit("disk", work, long=True, takes_context=True)
    job.progressed.connect(lambda p, t: progress.append((p, t)))
    assert runner.history == [job]
    qtbot.waitUntil(lambda: job.state is JobState.RUNNING and job.percent == 50, timeout=6000)
    assert job.progress_text == "half"
    gate.set()
    qtbot.waitUntil(lambda: job.state is JobState.DONE, timeout=6000)
    assert job.percent == 100 and runner.active_count == 0
    short = runner.submit("short", lambda: 1)
    qtbot.waitUntil(lambda: short.state is JobState.DONE, timeout=6000)
    assert runner.history == [job]  # short jobs do not clutter the panel


def test_ui_thread_guard_reports_driver_calls_on_the_ui_thread(qtbot: Any, runner: JobRunner) -> None:
    silence_default_error_handler()
    install_ui_thread_guard()
    clear_ui_thread_violations()
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.setdefault("conn", libvirt.open("test:///default")))
    t.start()
    t.join()
    conn = box["conn"]
    job = runner.submit("list", conn.listAllDomains)
    qtbot.waitUntil(lambda: job.state is JobState.DONE, timeout=6000)
    assert ui_thread_violations() == []
    conn.listAllDomains()  # on the UI thread: reported
    bad = ui_thread_violations()
    assert [v.api for v in bad] == ["virConnect.listAllDomains"]
    assert "test_ui_thread_guard" in bad[0].stack
    clear_ui_thread_violations()
    # the whole public API is guarded, opening a connection included; the handle's own fields are not
    other = libvirt.open("test:///default")
    dom = other.lookupByName("test")
    assert dom.name() == "test" and len(dom.UUIDString()) == 36
    assert [v.api for v in ui_thread_violations()] == ["open", "virConnect.lookupByName"]
    clear_ui_thread_violations()
    other.close()
    clear_ui_thread_violations()
    runner.submit("close", conn.close)


def test_callbacks_of_a_deleted_owner_are_dropped(qtbot) -> None:
    import shiboken6
    from PySide6.QtCore import QObject

    from guiapp.jobs import JobRunner

    runner = JobRunner()
    owner = QObject()
    kept: list = []
    dropped: list = []
    gate = __import__("threading").Event()
    runner.submit("slow", lambda: gate.wait(5) and "late", on_result=dropped.append, owner=owner)
    runner.submit("other", lambda: "fine", on_result=kept.append)
    shiboken6.delete(owner)
    gate.set()
    qtbot.waitUntil(lambda: kept == ["fine"], timeout=5000)
    runner.pool.waitForDone(5000)
    qtbot.wait(50)
    assert dropped == []


def test_a_named_pool_does_not_wait_behind_the_general_pool(qtbot: Any, qapp: Any) -> None:
    """Thumbnails and console look-ups run on pools of their own: a stuck job elsewhere does not hold them."""
    runner = JobRunner(max_threads=1)
    release = threading.Event()
    names: dict[str, str] = {}
    try:
        runner.submit("stuck", lambda: release.wait(30))  # occupies the only general thread
        done: list[str] = []
        runner.submit("console look-up", lambda: names.setdefault("pool", "console") or "ok",
                      on_result=done.append, pool="console")
        qtbot.waitUntil(lambda: done == ["console"], timeout=10_000)
        assert runner.pools["console"].objectName() == "guiapp-console"
        assert runner.named_pool("console") is runner.pools["console"]  # one pool per name
        assert not release.is_set()  # it ran while the general pool was still busy
    finally:
        release.set()
        assert runner.wait(10_000)
        QCoreApplication.processEvents()


def test_a_pacer_waits_while_the_ui_thread_runs_a_marked_stretch() -> None:
    """Pool loops make way for marked UI work (their GIL competition tripled a paint's time); unmarked: no wait."""
    import threading

    from guiapp.jobs import PACE_WAIT, UI_WORK, Pacer

    passed = threading.Event()

    def loop() -> None:
        Pacer()()
        passed.set()
    with UI_WORK:
        with UI_WORK:  # nested stretches: idle only when the outer one ends
            worker = threading.Thread(target=loop)
            worker.start()
        assert not passed.wait(PACE_WAIT / 4)
    assert passed.wait(10)
    worker.join()
    passed.clear()
    Pacer()()  # nothing marked: returns at once (a wait would block this test's thread for PACE_WAIT)
    assert UI_WORK.wait_idle(0)
