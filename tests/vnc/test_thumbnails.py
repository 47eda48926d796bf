"""Thumbnail service (guiapp/models/thumbnails.py) against a real QEMU display; captures run off the UI thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from helpers.vnc_qemu import needs_qemu
from PySide6.QtCore import QSettings, QSize

from guiapp.models.thumbnails import SETTINGS_ENABLED, SETTINGS_MAX_DOMAINS, ThumbnailService
from guiapp.vnc.address import ConsoleTarget, NoConsoleError, VncAddress


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def service(qtbot: Any, settings: QSettings) -> Any:
    svc = ThumbnailService(settings, size=QSize(128, 80))
    yield svc
    svc.close()


@needs_qemu
def test_thumbnail_of_a_running_display(qtbot: Any, qemu_display: Any, service: ThumbnailService) -> None:
    q = qemu_display(paused=True)
    threads: list[int] = []

    def resolve() -> ConsoleTarget:
        threads.append(threading.get_ident())
        return ConsoleTarget(VncAddress(path=q.vnc), False, "g")

    service.set_targets({"g": resolve})
    with qtbot.waitSignal(service.thumbnail_ready, timeout=10_000) as sig:
        service.refresh_now()
    key, img = sig.args
    assert key == "g" and not img.isNull()
    assert img.width() <= 128 and img.height() <= 80 and (img.width() == 128 or img.height() == 80)
    assert threads and threading.get_ident() not in threads  # resolved (driver calls) off the UI thread
    assert service.thumbnail("g") is not None


def test_failures_are_reported_and_limit_turns_it_off(qtbot: Any, service: ThumbnailService,
                                                      settings: QSettings, tmp_path: Path) -> None:
    def not_running() -> ConsoleTarget:
        raise NoConsoleError("domain 'x' is not running")

    service.set_targets({"x": not_running, "y": lambda: ConsoleTarget(VncAddress(path=str(tmp_path / "none")))})
    got: dict[str, str] = {}
    service.thumbnail_failed.connect(lambda k, why: got.__setitem__(k, why))
    service.refresh_now()
    qtbot.waitUntil(lambda: len(got) == 2, timeout=10_000)
    assert "not running" in got["x"] and got["y"]
    settings.setValue(SETTINGS_MAX_DOMAINS, 1)
    assert not service.enabled()  # 2 domains > limit 1: off
    settings.setValue(SETTINGS_MAX_DOMAINS, 5)
    assert service.enabled()
    settings.setValue(SETTINGS_ENABLED, False)
    assert not service.enabled()
    got.clear()
    service.refresh_now()
    qtbot.wait(300)
    assert got == {}  # nothing captured while off


def test_with_a_runner_captures_run_on_its_thumbnail_pool(qtbot: Any, settings: QSettings, tmp_path: Path) -> None:
    from guiapp.jobs import THUMBNAIL_POOL, JobRunner

    runner = JobRunner(max_threads=1)
    svc = ThumbnailService(settings, size=QSize(128, 80), runner=runner)
    started = threading.Event()
    release = threading.Event()

    def slow() -> ConsoleTarget:
        started.set()
        release.wait(30)
        raise NoConsoleError("domain 'x' is not running")
    try:
        svc.set_targets({"x": slow})
        got: dict[str, str] = {}
        svc.thumbnail_failed.connect(lambda k, why: got.__setitem__(k, why))
        svc.refresh_now()
        assert started.wait(10)
        assert runner.pools[THUMBNAIL_POOL].activeThreadCount() == 1 and runner.pool.activeThreadCount() == 0
        svc.refresh_now()  # still capturing "x": not queued twice
        release.set()
        qtbot.waitUntil(lambda: "x" in got, timeout=10_000)
        assert "not running" in got["x"]
    finally:
        release.set()
        svc.close()
        runner.wait(10_000)
