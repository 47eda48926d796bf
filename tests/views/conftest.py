"""Fixtures for the GUI tests: isolated settings, node files, a main window on the real test driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guiapp.app import make_settings
from guiapp.jobs import clear_ui_thread_violations, install_ui_thread_guard, ui_thread_violations
from guiapp.models.api import silence_default_error_handler
from guiapp.models.demo import write_node


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    return make_settings(str(tmp_path / "settings.ini"))


@pytest.fixture
def ui_guard() -> Iterator[None]:
    """Every GUI test also checks that no driver call ran on the UI thread."""
    silence_default_error_handler()
    install_ui_thread_guard()
    clear_ui_thread_violations()
    yield
    bad = ui_thread_violations()
    clear_ui_thread_violations()
    assert not bad, "driver calls on the UI thread:\n" + "\n".join(f"{v.api}\n{v.stack}" for v in bad)


@pytest.fixture
def node_uri(tmp_path: Path) -> str:
    """A node file with 12 domains: 6 running, 2 paused, 4 shut off."""
    return write_node(tmp_path / "node.xml", 12, running=0.5, paused=2)


@pytest.fixture
def window(qtbot: Any, settings: Any, ui_guard: None) -> Iterator[Any]:
    from gui_helpers import drain

    from guiapp.views.main_window import MainWindow

    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.manager.set_interval(200)
    win.show()
    yield win
    for d in list(win.error_dialogs):
        d.close()
    win.close()
    drain(win.runner)


@pytest.fixture
def connected(qtbot: Any, window: Any, node_uri: str) -> tuple[Any, str]:
    """The window with the node file's connection open and its 12 domains listed."""
    window.manager.add(node_uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 12, timeout=5000)
    return window, node_uri
