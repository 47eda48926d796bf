"""The domain list's thumbnails: one dataChanged per new image, targets picked from the model (real test driver)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QImage

from guiapp.app import make_settings
from guiapp.jobs import JobRunner
from guiapp.models import thumbnails
from guiapp.models.api import silence_default_error_handler
from guiapp.models.connections import ConnectionManager
from guiapp.models.demo import write_node
from guiapp.models.domains import COL_NET, COL_SCREEN, SORT_ROLE, THUMB_ROLE, DomainTreeModel


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    return make_settings(str(tmp_path / "s.ini"))


@pytest.fixture
def manager(qapp: Any, settings: Any) -> Any:
    silence_default_error_handler()
    runner = JobRunner(max_threads=2)
    m = ConnectionManager(runner, DomainTreeModel(), settings, interval_ms=100)
    yield m
    m.shutdown()
    runner.wait(10_000)
    QCoreApplication.processEvents()


@pytest.fixture
def listed(qtbot: Any, manager: Any, tmp_path: Path) -> tuple[Any, str]:
    """12 domains: vm-000..005 running, 006..007 paused, the rest shut off; every fifth has no VNC."""
    uri = write_node(tmp_path / "node.xml", 12, running=0.5, paused=2)
    manager.add(uri)
    qtbot.waitUntil(lambda: manager.model.domain_count() == 12, timeout=10_000)
    return manager, uri


def by_name(model: Any, uri: str) -> dict[str, Any]:
    return {r.name: r for r in model.connection(uri).rows}


def test_a_new_thumbnail_changes_exactly_its_cell(qtbot: Any, listed: tuple) -> None:
    manager, uri = listed
    model = manager.model
    row = by_name(model, uri)["vm-001"]
    events: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda tl, br, *_: events.append((tl.row(), tl.column(), br.row(), br.column())))
    image = QImage(72, 40, QImage.Format.Format_RGB32)
    image.fill(0x336699)
    model.set_thumbnail(uri, row.uuid, image)
    r = model.domain_index(uri, row.uuid).row()
    screen_events = [e for e in events if e[3] == COL_SCREEN]
    assert screen_events == [(r, COL_SCREEN, r, COL_SCREEN)]
    idx = model.domain_index(uri, row.uuid, COL_SCREEN)
    assert idx.data(THUMB_ROLE).size() == image.size() and idx.data(SORT_ROLE) == 1
    model.set_thumbnail(uri, row.uuid, None, note="the display is password protected")
    assert idx.data(THUMB_ROLE) is None and idx.data(SORT_ROLE) == 0
    assert "password protected" in idx.data(Qt.ItemDataRole.ToolTipRole)
    events.clear()
    model.set_thumbnail(uri, row.uuid, None, note="the display is password protected")
    assert [e for e in events if e[3] == COL_SCREEN] == []  # nothing changed: no repaint
    # poll ticks repaint the statistics columns only, never the Screen column
    qtbot.wait(400)
    assert events and all(e[3] <= COL_NET for e in events)


def test_targets_are_running_vnc_domains_and_the_limit_turns_them_off(qtbot: Any, listed: tuple,
                                                                     settings: Any) -> None:
    manager, uri = listed
    screens = thumbnails.DomainListThumbnails(manager.model, manager, settings)
    try:
        screens.update()
        rows = by_name(manager.model, uri)
        names = {k: n for n, r in rows.items() for k in [(uri, r.uuid)]}
        # the real resolver finds out that vm-004 has no VNC graphics; the others have no port (test driver)
        qtbot.waitUntil(lambda: screens.has_vnc.get((uri, rows["vm-004"].uuid)) is False, timeout=10_000)
        qtbot.waitUntil(lambda: len(screens.failures) == 7, timeout=10_000)
        screens.update()
        assert sorted(names[k] for k in screens._targets) == [f"vm-00{i}" for i in (0, 1, 2, 3, 5, 6, 7)]
        assert all("no port" in why for why in screens.failures.values())
        assert screens.active and screens.off_reason == ""
        settings.setValue(thumbnails.SETTINGS_MAX_DOMAINS, 11)
        screens.update()
        assert not screens.active and "12 domains" in screens.off_reason and "11" in screens.off_reason
        assert screens._targets == {} and not screens.service.enabled() and not manager.model.thumbnail_notes
        settings.setValue(thumbnails.SETTINGS_MAX_DOMAINS, 12)
        screens.update()
        assert screens.active and len(screens._targets) == 7
    finally:
        screens.close()
